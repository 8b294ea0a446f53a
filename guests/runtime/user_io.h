/* Ring-3 port I/O where the hypervisor does not honour IOPL.
 *
 * user_run() gives ring 3 IOPL 3, so in/out there run without a trap on
 * hardware KVM. A software KVM that runs guest ring 3 as host user code
 * (PVM) keeps the host's IOPL 0 instead, and every in/out in ring 3 raises
 * #GP(0). trap_dispatch() hands such a #GP here: the access is made from
 * ring 0 and rip steps over the instruction, so the guest does what it
 * asked by a slower road (an exception round trip on top of the exit).
 * Only a #GP(0) from ring 3 (which user_run() always enters with IOPL 3)
 * on an in/out qualifies; any other protection fault stays fatal. */
#ifndef GUEST_RUNTIME_USER_IO_H
#define GUEST_RUNTIME_USER_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/idt.h"

/* Returns true when frame was such a #GP and the access has been made. */
bool user_io_emulate(struct trap_frame *frame);

/* How many ring-3 accesses went this way (0 on hardware KVM). */
extern uint64_t user_io_emulated;

#endif
