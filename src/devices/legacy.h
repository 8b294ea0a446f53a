/* The small legacy port devices: the debug-exit port, the POST-code port,
 * the absent PCI host bridge and the ACPI power registers. Each one registers on the port bus in one
 * call and keeps no state a guest could corrupt. */
#ifndef KFV_DEVICES_LEGACY_H
#define KFV_DEVICES_LEGACY_H

#include <stdatomic.h>
#include <stdint.h>

struct vm;

/* PCI configuration mechanism #1 (0xcf8-0xcff) with no host bridge behind
 * it: every read is all-ones, writes are dropped. A booting kernel's PCI
 * probe then finds nothing at once, and its thousands of accesses are a
 * device's, not the unclaimed ones a port scan makes. */
int pci_absent_register(struct vm *vm) __attribute__((warn_unused_result));

/* The FADT's hardware-reduced sleep control, sleep status and reset
 * registers (ports 0x600-0x602). SLP_EN with the DSDT's S5 type ends the
 * run with status 0 ("guest powered off"); the reset value ends it with
 * KFV_EXIT_GUEST_RESET. Essential: a deny never takes a guest's power
 * switch away. */
int acpi_pm_register(struct vm *vm) __attribute__((warn_unused_result));

/* Port 0xf4 (4 ports, like QEMU's isa-debug-exit): a write ends the run with
 * the low byte as kfv's exit status. */
int debug_exit_register(struct vm *vm) __attribute__((warn_unused_result));

/* Port 0x80: firmware and guests write progress codes there; it keeps the
 * last one so they are not reported as unclaimed accesses. */
struct post_code {
	_Atomic uint8_t last;
};
int post_code_register(struct vm *vm, struct post_code *pc) __attribute__((warn_unused_result));

#endif
