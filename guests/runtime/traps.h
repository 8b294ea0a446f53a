/* Exception hook: lets a guest survive an exception it provoked on
 * purpose (a scanner probing MSRs, say). trap_dispatch() asks the hook
 * before treating an exception (vectors 0-31) as fatal; with no hook set
 * every exception stays fatal, as before. */
#ifndef GUEST_RUNTIME_TRAPS_H
#define GUEST_RUNTIME_TRAPS_H

#include <stdbool.h>

#include "runtime/idt.h"

/* Returns true when it handled the exception (it may change the frame,
 * e.g. move rip past the faulting instruction); false leaves it fatal. */
typedef bool (*trap_exception_hook_fn)(struct trap_frame *frame);

/* Installs fn (NULL removes it). Any CPU; one hook for the whole guest. */
void trap_set_exception_hook(trap_exception_hook_fn fn);

/* Called by trap_dispatch() for vectors 0-31. */
bool trap_try_exception_hook(struct trap_frame *frame);

#endif
