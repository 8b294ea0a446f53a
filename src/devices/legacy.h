/* The small legacy port devices: the i8042's reset line, the debug-exit
 * port and the POST-code port. Each one registers on the port bus in one
 * call and keeps no state a guest could corrupt. */
#ifndef KFV_DEVICES_LEGACY_H
#define KFV_DEVICES_LEGACY_H

#include <stdatomic.h>
#include <stdint.h>

struct vm;

/* i8042 at 0x60/0x64: command 0xfe on 0x64 (pulse reset) ends the run with
 * KFV_EXIT_GUEST_RESET; everything else reads as an idle controller. */
int i8042_register(struct vm *vm) __attribute__((warn_unused_result));

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
