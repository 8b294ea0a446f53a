/* The VMM's lock-down point and the per-thread seccomp step. Outside a jail
 * (--no-sandbox, unit tests) sandbox_thread_role() does nothing, so device
 * and vCPU code call it unconditionally. */
#ifndef KFV_SANDBOX_LOCKDOWN_H
#define KFV_SANDBOX_LOCKDOWN_H

#include <stdbool.h>

#include "jail.h"
#include "seccomp.h"

/* Child side, once every fd is open and before any thread that runs guest
 * work exists: enters the jail, builds every role's filter, and puts the
 * calling (main) thread under the union filter. From here on every thread
 * must call sandbox_thread_role() first. */
int sandbox_lockdown(const struct jail *j, int report_fd, struct jail_error *err)
	__attribute__((warn_unused_result));

/* Whether this process has locked itself down. */
bool sandbox_locked_down(void);

/* Installs `role`'s allow-list on the calling thread after a lock-down;
 * 0 and nothing done otherwise. */
int sandbox_thread_role(enum thread_role role) __attribute__((warn_unused_result));

#endif
