/* Running code in ring 3.
 *
 * user_run(fn, arg) calls fn(arg) in ring 3 (CS 0x23, SS 0x2b) on a 16 KiB
 * user stack and returns its result in ring 0. RFLAGS.IOPL is 3, so fn may
 * do port I/O (printf and guest_exit work), and all memory is
 * user-accessible (the identity map sets U/S everywhere), so fn can use
 * the guest's data directly. Privileged instructions (hlt, lgdt, moves to
 * control registers, wrmsr) fault, and a fault in ring 3 is fatal like any
 * other (GUEST_EXIT_EXCEPTION).
 *
 * BSP only, one call at a time, interrupts stay off in ring 3. */
#ifndef GUEST_RUNTIME_USER_H
#define GUEST_RUNTIME_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/idt.h"

typedef uint64_t (*user_fn)(uint64_t arg);

/* Runs fn(arg) in ring 3 and returns what it returned. */
uint64_t user_run(user_fn fn, uint64_t arg);

/* For trap_dispatch(): where ring 3's return int is not delivered (see
 * user.S), the #UD raised in its place ends the excursion; does not
 * return then. Returns false for any other trap. */
bool user_return_trap(struct trap_frame *frame);

#endif
