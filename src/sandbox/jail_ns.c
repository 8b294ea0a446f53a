#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "jail_internal.h"

#define JAIL_HOSTNAME "kfv"

int jail_ns_unshare(struct jail_error *err)
{
	/* Mount: the pivot into the empty root happens here only. IPC: no
	 * SysV or POSIX queue shared with the host. UTS: the host's name
	 * stays unknown. Network: only a down loopback; TAP fds opened before
	 * keep working, since a fd does not belong to a namespace. Cgroup:
	 * after jail_cg_join(), so /proc/self/cgroup would show "/" only. The
	 * PID namespace came from jail_spawn(): it only applies to children. */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP) < 0)
		return jail_fail(err, "namespaces", -errno, "unshare(NEWNS|NEWIPC|NEWUTS|NEWNET|NEWCGROUP)");
	if (sethostname(JAIL_HOSTNAME, sizeof(JAIL_HOSTNAME) - 1) < 0)
		return jail_fail(err, "namespaces", -errno, "setting the hostname");
	return 0;
}
