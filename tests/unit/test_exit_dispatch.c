#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "devices/i8042.h"
#include "devices/legacy.h"
#include "offline_vm.h"
#include "vmm/exit_status.h"
#include "vmm/vcpu.h"

static struct offline_vm o;

static int setup(void **state)
{
	(void)state;
	offline_vm_init(&o);
	return 0;
}

static void debug_exit_byte_is_status(void **state)
{
	unsigned char *data;

	(void)state;
	assert_int_equal(debug_exit_register(&o.vm), 0);
	data = offline_io_exit(&o, 1, 0xf4, 1, 1);
	data[0] = 42;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_true(vm_stopping(&o.vm));
	assert_int_equal(o.vm.stop_status, 42);
	assert_non_null(strstr(o.vm.stop_reason, "debug-exit"));
}

static void first_stop_wins(void **state)
{
	(void)state;
	offline_vm_init(&o);
	vm_request_stop(&o.vm, 7, "first");
	vm_request_stop(&o.vm, 9, "second");
	assert_int_equal(o.vm.stop_status, 7);
	assert_string_equal(o.vm.stop_reason, "first");
}

static void unclaimed_in_reads_all_ones_for_every_item(void **state)
{
	unsigned char *data;

	(void)state;
	data = offline_io_exit(&o, 0, 0x1234, 2, 3); /* rep insw, 3 items */
	memset(data, 0, 6);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	for (int i = 0; i < 6; i++)
		assert_int_equal(data[i], 0xff);
	assert_int_equal(o.vm.pio.unclaimed_total, 3);
	assert_false(vm_stopping(&o.vm));
	assert_int_equal(o.vcpu.exit_counts[KVM_EXIT_IO], 1);
}

static void malformed_io_exit_stops(void **state)
{
	(void)state;
	offline_io_exit(&o, 1, 0x80, 4, 2000); /* 8000 bytes: past the run page */
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_KVM_ERROR);

	offline_vm_init(&o);
	offline_io_exit(&o, 1, 0x80, 3, 1); /* no 3-byte port access exists */
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
}

static void mmio_unclaimed(void **state)
{
	struct kvm_run *run = o.vcpu.run;

	(void)state;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000000;
	run->mmio.len = 4;
	run->mmio.is_write = 0;
	memset(run->mmio.data, 0, 8);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_int_equal(run->mmio.data[3], 0xff);
	assert_int_equal(o.vm.mmio.unclaimed_total, 1);

	run->mmio.len = 200; /* never trust a length */
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_int_equal(o.vm.mmio.unclaimed_total, 2);
}

static void expect_stop(unsigned reason, int status, const char *words)
{
	offline_vm_init(&o);
	o.vcpu.run->exit_reason = reason;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, status);
	assert_non_null(strstr(o.vm.stop_reason, words));
}

static void crashes_and_unknown_exits_stop(void **state)
{
	(void)state;
	expect_stop(KVM_EXIT_SHUTDOWN, KFV_EXIT_GUEST_CRASH, "triple fault");
	expect_stop(KVM_EXIT_FAIL_ENTRY, KFV_EXIT_KVM_ERROR, "entry failed");
	expect_stop(KVM_EXIT_HLT, KFV_EXIT_GUEST_CRASH, "halted");
	expect_stop(KVM_EXIT_DEBUG, KFV_EXIT_UNKNOWN_EXIT, "DEBUG");
	expect_stop(KVM_EXIT_HYPERCALL, KFV_EXIT_UNKNOWN_EXIT, "HYPERCALL");
	expect_stop(12345, KFV_EXIT_UNKNOWN_EXIT, "12345");
	assert_int_equal(o.vcpu.exit_counts[VCPU_EXIT_REASONS - 1], 1);

	offline_vm_init(&o);
	o.vcpu.run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	o.vcpu.run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_KVM_ERROR);
	assert_non_null(strstr(o.vm.stop_reason, "emulation failure"));
}

static void system_events(void **state)
{
	(void)state;
	offline_vm_init(&o);
	o.vcpu.run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	o.vcpu.run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_OK);

	offline_vm_init(&o);
	o.vcpu.run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	o.vcpu.run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_GUEST_RESET);
}

static void i8042_reset_line(void **state)
{
	static struct i8042 k;
	unsigned char *data;

	(void)state;
	offline_vm_init(&o);
	assert_int_equal(i8042_register(&k, &o.vm), 0);
	data = offline_io_exit(&o, 0, 0x64, 1, 1);
	data[0] = 0xaa;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_int_equal(data[0] & 0x03, 0); /* idle controller: both buffers empty */
	data = offline_io_exit(&o, 1, 0x64, 1, 1);
	data[0] = 0xd1; /* write the output port: the next data byte */
	vcpu_handle_exit(&o.vcpu);
	assert_false(vm_stopping(&o.vm));
	data[0] = 0xfe;
	vcpu_handle_exit(&o.vcpu);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_GUEST_RESET);
	i8042_destroy(&k);
}

/* FADT SLEEP_CONTROL_REG: SLP_TYP 5 | SLP_EN powers off with status 0. */
static void acpi_sleep_register_powers_off(void **state)
{
	unsigned char *data;

	(void)state;
	offline_vm_init(&o);
	assert_int_equal(acpi_pm_register(&o.vm), 0);
	data = offline_io_exit(&o, 1, KFV_ACPI_SLEEP_CTL_PORT, 1, 1);
	data[0] = (uint8_t)(KFV_ACPI_S5_TYPE << 2); /* no SLP_EN: nothing */
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_false(vm_stopping(&o.vm));
	data[0] = (uint8_t)(3 << 2 | 0x20); /* S3 is not offered */
	vcpu_handle_exit(&o.vcpu);
	assert_false(vm_stopping(&o.vm));
	data[0] = (uint8_t)(KFV_ACPI_S5_TYPE << 2 | 0x20);
	vcpu_handle_exit(&o.vcpu);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_OK);
	assert_non_null(strstr(o.vm.stop_reason, "guest powered off"));
}

static void acpi_reset_register_resets(void **state)
{
	unsigned char *data;

	(void)state;
	offline_vm_init(&o);
	assert_int_equal(acpi_pm_register(&o.vm), 0);
	data = offline_io_exit(&o, 1, KFV_ACPI_RESET_PORT, 1, 1);
	data[0] = KFV_ACPI_RESET_VALUE ^ 1;
	vcpu_handle_exit(&o.vcpu);
	assert_false(vm_stopping(&o.vm));
	data[0] = KFV_ACPI_RESET_VALUE;
	vcpu_handle_exit(&o.vcpu);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_GUEST_RESET);
}

/* The absent host bridge: Linux's type-1 probe reads back all-ones, and
 * none of it is an unclaimed access. */
static void pci_config_ports_are_an_absent_bridge(void **state)
{
	unsigned char *data;

	(void)state;
	offline_vm_init(&o);
	assert_int_equal(pci_absent_register(&o.vm), 0);
	data = offline_io_exit(&o, 1, 0xcf8, 4, 1);
	memcpy(data, "\x00\x00\x00\x80", 4);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	data = offline_io_exit(&o, 0, 0xcf8, 4, 1);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_memory_equal(data, "\xff\xff\xff\xff", 4);
	data = offline_io_exit(&o, 0, 0xcfe, 2, 1);
	vcpu_handle_exit(&o.vcpu);
	assert_memory_equal(data, "\xff\xff", 2);
	assert_int_equal(o.vm.pio.unclaimed_total, 0);
}

static void post_code_claimed(void **state)
{
	static struct post_code pc;
	unsigned char *data;

	(void)state;
	offline_vm_init(&o);
	assert_int_equal(post_code_register(&o.vm, &pc), 0);
	data = offline_io_exit(&o, 1, 0x80, 1, 1);
	data[0] = 0x3c;
	vcpu_handle_exit(&o.vcpu);
	data = offline_io_exit(&o, 0, 0x80, 1, 1);
	vcpu_handle_exit(&o.vcpu);
	assert_int_equal(data[0], 0x3c);
	assert_int_equal(o.vm.pio.unclaimed_total, 0);
	assert_int_equal(o.vm.pio.ranges[0].agent->accesses, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(debug_exit_byte_is_status, setup),
		cmocka_unit_test(first_stop_wins),
		cmocka_unit_test_setup(unclaimed_in_reads_all_ones_for_every_item, setup),
		cmocka_unit_test_setup(malformed_io_exit_stops, setup),
		cmocka_unit_test_setup(mmio_unclaimed, setup),
		cmocka_unit_test(crashes_and_unknown_exits_stop),
		cmocka_unit_test(system_events),
		cmocka_unit_test(i8042_reset_line),
		cmocka_unit_test(acpi_sleep_register_powers_off),
		cmocka_unit_test(acpi_reset_register_resets),
		cmocka_unit_test(pci_config_ports_are_an_absent_bridge),
		cmocka_unit_test(post_code_claimed),
	};

	return cmocka_run_group_tests_name("exit_dispatch", tests, NULL, NULL);
}
