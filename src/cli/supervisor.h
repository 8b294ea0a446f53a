#ifndef KFV_CLI_SUPERVISOR_H
#define KFV_CLI_SUPERVISOR_H

#include "run.h"

/* `kfv run`: the supervisor. Prepares the VM's jail (uid lease, empty root,
 * cgroup), starts the VMM in its own process and namespaces, passes stop
 * signals on, tells a seccomp kill or a crash apart from a normal exit, and
 * removes the jail whatever happened. With --no-sandbox it runs the VMM in
 * its own process, unjailed, after a warning. Returns the exit status. */
int supervise_run(const struct run_options *o, struct run_error *err);

#endif
