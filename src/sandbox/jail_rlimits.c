#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/resource.h>

#include "jail_internal.h"

/* 1 if the child may set resource to want, 0 if not, <0 on error; *hard
 * gets the current hard limit. */
static int can_have(__rlimit_resource_t resource, uint64_t want, bool can_raise, uint64_t *hard)
{
	struct rlimit cur;

	*hard = 0;
	if (getrlimit(resource, &cur) < 0)
		return -errno;
	*hard = cur.rlim_max;
	return can_raise || cur.rlim_max == RLIM_INFINITY || want <= cur.rlim_max;
}

static int check(__rlimit_resource_t resource, const char *name, uint64_t want, bool can_raise, struct jail_error *err)
{
	uint64_t hard;
	int ok = can_have(resource, want, can_raise, &hard);

	if (ok < 0)
		return jail_fail(err, "rlimits", ok, "reading %s", name);
	if (!ok)
		return jail_fail(err, "rlimits", -EPERM, "%s %llu is above the hard limit %llu", name,
				 (unsigned long long)want, (unsigned long long)hard);
	return 0;
}

int jail_rlimits_plan(struct jail *j, struct jail_error *err)
{
	bool can_raise = jail_has_cap(CAP_SYS_RESOURCE);
	uint64_t want = j->cfg.guest_memory_bytes + JAIL_MEMLOCK_SLACK, hard;
	int ok;

	ok = check(RLIMIT_NOFILE, "RLIMIT_NOFILE", j->cfg.max_fds, can_raise, err);
	if (!ok)
		ok = check(RLIMIT_NPROC, "RLIMIT_NPROC", j->max_tasks, can_raise, err);
	if (ok)
		return ok;

	/* Where the hard limit is lower and cannot be raised, it stays: that
	 * is stricter, and nothing needs more. Guest RAM is locked, if at all,
	 * before the jail by root, whose CAP_IPC_LOCK ignores the limit, and
	 * no seccomp list has mlock. */
	ok = can_have(RLIMIT_MEMLOCK, want, can_raise, &hard);
	if (ok < 0)
		return jail_fail(err, "rlimits", ok, "reading RLIMIT_MEMLOCK");
	j->memlock_limit = ok ? want : hard;
	return 0;
}

static int set_limit(__rlimit_resource_t resource, const char *name, uint64_t value, struct jail_error *err)
{
	struct rlimit r = { .rlim_cur = value, .rlim_max = value };

	/* Soft and hard alike: the VMM cannot raise its own soft limit later. */
	if (setrlimit(resource, &r) < 0)
		return jail_fail(err, "rlimits", -errno, "setting %s to %llu", name, (unsigned long long)value);
	return 0;
}

int jail_rlimits_apply(const struct jail *j, struct jail_error *err)
{
	int ret = set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", j->cfg.max_fds, err);

	/* Per uid, and the uid is this VM's alone: a cap on its threads. */
	if (!ret)
		ret = set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", j->max_tasks, err);
	/* No core file: it would hold guest memory, and there is nowhere
	 * to write it anyway. */
	if (!ret)
		ret = set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, err);
	if (!ret)
		ret = set_limit(RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", j->memlock_limit, err);
	/* Writes and size changes past the largest disk image's end fail
	 * (EFBIG) whoever makes them: the limit holds for fds opened before
	 * the jail and for io_uring's workers, which share it. SIGXFSZ is
	 * ignored so that such a write fails instead of killing the VMM. */
	if (!ret && j->cfg.max_file_size) {
		signal(SIGXFSZ, SIG_IGN);
		ret = set_limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", j->cfg.max_file_size, err);
	}
	return ret;
}
