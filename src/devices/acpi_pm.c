/* The ACPI hardware-reduced power registers the FADT points at (ACPI 6.5,
 * 4.8.3.7 and 4.8.3.6; see legacy.h). Linux's acpi_power_off() writes
 * SLP_TYP (from \_S5_) | SLP_EN to the sleep control register; its default
 * reboot method, acpi_reboot(), writes RESET_VALUE to the reset register.
 * No other sleep state is offered (the DSDT has only \_S5_), so any other
 * write is ignored, and the status register never reports a wake. */
#include "../boot/layout.h"
#include "../vmm/bus.h"
#include "../vmm/exit_status.h"
#include "../vmm/vm.h"
#include "legacy.h"

#define SLP_EN          0x20
#define SLP_TYP_SHIFT   2
#define SLP_TYP_MASK    0x07

static int acpi_pm_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0; /* no wake status, nothing pending */
	return IO_HANDLED;
}

static int acpi_pm_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint8_t v = data[0];

	if (len != 1)
		return IO_HANDLED;
	switch (offset + KFV_ACPI_SLEEP_CTL_PORT) {
	case KFV_ACPI_SLEEP_CTL_PORT:
		if ((v & SLP_EN) && ((v >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == KFV_ACPI_S5_TYPE)
			vm_request_stop(vm, KFV_EXIT_OK, "guest powered off");
		break;
	case KFV_ACPI_RESET_PORT:
		if (v == KFV_ACPI_RESET_VALUE)
			vm_request_stop(vm, KFV_EXIT_GUEST_RESET,
					"guest requested a reset through the ACPI reset register");
		break;
	default: /* the sleep status register: writing 1s clears nothing here */
		break;
	}
	return IO_HANDLED;
}

static const struct io_ops acpi_pm_ops = { .read = acpi_pm_read, .write = acpi_pm_write };

int acpi_pm_register(struct vm *vm)
{
	return bus_register_ex(&vm->pio, KFV_ACPI_SLEEP_CTL_PORT, KFV_ACPI_PM_PORTS, "acpi-pm", &acpi_pm_ops, vm,
			       AGENT_ESSENTIAL);
}
