/* PCI configuration mechanism #1 with no host bridge behind it (see
 * legacy.h). Linux's type-1 check reads the address register back and
 * finds all-ones instead of what it wrote, so it gives up on PCI after a
 * handful of accesses; the early quirk scans that do not ask first read
 * all-ones for every function, which means "no device". */
#include <string.h>

#include "../boot/layout.h"
#include "../vmm/bus.h"
#include "../vmm/vm.h"
#include "legacy.h"

static int pci_absent_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0xff, len);
	return IO_HANDLED;
}

static int pci_absent_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	(void)data;
	(void)len;
	return IO_HANDLED;
}

static const struct io_ops pci_absent_ops = { .read = pci_absent_read, .write = pci_absent_write };

int pci_absent_register(struct vm *vm)
{
	return bus_register(&vm->pio, KFV_PCI_CONFIG_PORT, KFV_PCI_CONFIG_PORTS, "pci-config (no host bridge)",
			    &pci_absent_ops, NULL);
}
