#define _GNU_SOURCE
#include "jail.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jail_internal.h"

int jail_fail(struct jail_error *err, const char *step, int e, const char *fmt, ...)
{
	char what[224];
	va_list ap;

	if (e >= 0)
		e = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	err->step = step;
	err->err = e;
	snprintf(err->msg, sizeof(err->msg), "%s: %s: %s", step, what, strerror(-e));
	return e;
}

void jail_degrade(struct jail *j, unsigned what, const char *fmt, ...)
{
	size_t used = strlen(j->degraded_msg);
	va_list ap;

	j->degraded |= what;
	if (used && used + 2 < sizeof(j->degraded_msg)) {
		memcpy(j->degraded_msg + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof(j->degraded_msg))
		return;
	va_start(ap, fmt);
	vsnprintf(j->degraded_msg + used, sizeof(j->degraded_msg) - used, fmt, ap);
	va_end(ap);
}

static bool vm_id_valid(const char *id)
{
	size_t n = 0;

	if (!id || !id[0] || id[0] == '.')
		return false;
	for (; id[n]; n++) {
		char ch = id[n];

		if (n >= JAIL_VM_ID_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

static int validate(const struct jail_config *c, struct jail_error *err)
{
	const char *parent = c->cgroup_parent ? c->cgroup_parent : JAIL_CGROUP_PARENT;

	if (!vm_id_valid(c->vm_id))
		return jail_fail(err, "config", -EINVAL, "vm id \"%s\": use 1-%d of [A-Za-z0-9_.-], not starting with '.'",
				 c->vm_id ? c->vm_id : "", JAIL_VM_ID_MAX);
	/* uid 0 would make every later step pointless; so would a gid of root. */
	if (c->uid == 0 || c->gid == 0 || c->uid == (uid_t)-1 || c->gid == (gid_t)-1)
		return jail_fail(err, "config", -EINVAL, "uid %u / gid %u: the jail never runs as root",
				 (unsigned)c->uid, (unsigned)c->gid);
	if (c->ncpus == 0 || c->max_fds < 4)
		return jail_fail(err, "config", -EINVAL, "ncpus %u, max_fds %u: need at least 1 and 4", c->ncpus,
				 c->max_fds);
	if (c->nkeep_fds > JAIL_KEEP_FDS_MAX || (c->nkeep_fds && !c->keep_fds))
		return jail_fail(err, "config", -EINVAL, "keep_fds: at most %d fds", JAIL_KEEP_FDS_MAX);
	if (c->chroot_base && c->chroot_base[0] != '/')
		return jail_fail(err, "config", -EINVAL, "chroot base %s: not an absolute path", c->chroot_base);
	if (!vm_id_valid(parent))
		return jail_fail(err, "config", -EINVAL, "cgroup parent \"%s\": one plain path component", parent);
	return 0;
}

uint64_t jail_default_overhead(uint64_t guest_memory_bytes, unsigned ncpus)
{
	uint64_t o = JAIL_OVERHEAD_BASE + JAIL_OVERHEAD_PER_VCPU * ncpus + guest_memory_bytes / JAIL_OVERHEAD_RAM_DIV;

#if defined(__SANITIZE_ADDRESS__)
	/* ASan shadows every byte it checks, guest RAM included, at 1/8. */
	o += JAIL_OVERHEAD_SANITIZER + guest_memory_bytes / 8;
#endif
	return o;
}

/* Validates c and fills what follows from it alone. */
static int init_jail(const struct jail_config *c, struct jail *j, struct jail_error *err)
{
	int ret;

	memset(j, 0, sizeof(*j));
	memset(err, 0, sizeof(*err));
	ret = validate(c, err);
	if (ret)
		return ret;
	j->cfg = *c;
	if (!j->cfg.chroot_base)
		j->cfg.chroot_base = JAIL_DEFAULT_BASE;
	if (!j->cfg.cgroup_root)
		j->cfg.cgroup_root = JAIL_CGROUP_ROOT;
	if (!j->cfg.cgroup_parent)
		j->cfg.cgroup_parent = JAIL_CGROUP_PARENT;
	j->max_tasks = c->max_tasks ? c->max_tasks : c->ncpus + JAIL_EXTRA_TASKS;
	j->memory_limit = c->guest_memory_bytes +
			  (c->memory_overhead_bytes ? c->memory_overhead_bytes
						    : jail_default_overhead(c->guest_memory_bytes, c->ncpus));
	/* cgroupfs keeps whole pages: round so the file reads back the same. */
	j->memory_limit = (j->memory_limit + 4095) & ~4095ull;
	return 0;
}

int jail_prepare(const struct jail_config *c, struct jail *j, struct jail_error *err)
{
	int ret = init_jail(c, j, err);

	if (ret)
		return ret;
	/* Limits first: they touch nothing, so a refusal leaves nothing to undo. */
	ret = jail_rlimits_plan(j, err);
	if (ret)
		return ret;
	ret = jail_root_create(j, err);
	if (ret)
		return ret;
	ret = jail_cg_setup(j, err);
	if (ret) {
		struct jail_error ignored;

		jail_root_remove(j, &ignored);
		return ret;
	}
	return 0;
}

int jail_child_start(const struct jail *j, struct jail_error *err)
{
	int ret;

	memset(err, 0, sizeof(*err));
	ret = jail_cg_join(j, err);
	return ret ? ret : jail_fds_close_inherited(&j->cfg, err);
}

int jail_enter(const struct jail *j, struct jail_error *err)
{
	int ret;

	memset(err, 0, sizeof(*err));
	/* PID 1 of a fresh namespace is what jail_spawn() gives; anything else
	 * would leave the host's processes visible and signalable. */
	if (getpid() != 1)
		return jail_fail(err, "pid namespace", -EINVAL, "pid %d: not started by jail_spawn()", (int)getpid());
	ret = jail_cg_join(j, err); /* again: harmless if done, vital if forgotten */
	if (!ret)
		ret = jail_fds_check(err);
	if (!ret)
		ret = jail_ns_unshare(err);
	if (!ret)
		ret = jail_root_pivot(j, err);
	/* Raising RLIMIT_MEMLOCK needs CAP_SYS_RESOURCE: before the drop. */
	if (!ret)
		ret = jail_rlimits_apply(j, err);
	if (!ret)
		ret = jail_creds_drop(j, err);
	return ret;
}

int jail_cleanup(struct jail *j, struct jail_error *err)
{
	struct jail_error second;
	int ret, ret2;

	memset(err, 0, sizeof(*err));
	/* The cgroup first: removing it kills whatever is left of the VM,
	 * and only then is nobody using the root directory. */
	ret = jail_cg_remove(j, err);
	ret2 = jail_root_remove(j, ret ? &second : err);
	return ret ? ret : ret2;
}

int jail_remove_stale(const struct jail_config *c, struct jail_error *err)
{
	struct jail j;
	int ret = init_jail(c, &j, err);

	if (ret)
		return ret;
	/* The cgroup decides: rmdir fails on one that still has tasks, so a
	 * running VM's directories are never touched. */
	ret = jail_cg_remove_stale(&j, err);
	if (ret)
		return ret;
	if (jail_path(j.dir, j.cfg.chroot_base, j.cfg.vm_id) || jail_path(j.root, j.dir, "root"))
		return jail_fail(err, "cleanup", -ENAMETOOLONG, "%s/%s/root", j.cfg.chroot_base, j.cfg.vm_id);
	return jail_root_remove(&j, err);
}

/* "vm-PID" with PID a positive decimal number, nothing else. */
static pid_t supervisor_of(const char *name)
{
	char *end;
	long v;

	if (strncmp(name, "vm-", 3) || name[3] < '1' || name[3] > '9')
		return 0;
	errno = 0;
	v = strtol(name + 3, &end, 10);
	return *end || errno || v > INT_MAX ? 0 : (pid_t)v;
}

int jail_sweep_stale(const struct jail_config *c)
{
	const char *base = c->chroot_base ? c->chroot_base : JAIL_DEFAULT_BASE;
	struct jail_config stale = *c;
	struct jail_error err;
	struct dirent *de;
	int removed = 0;
	DIR *d = opendir(base);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		pid_t pid = supervisor_of(de->d_name);

		if (!pid || (pid != getpid() && (kill(pid, 0) == 0 || errno != ESRCH)))
			continue;
		stale.vm_id = de->d_name;
		if (jail_remove_stale(&stale, &err) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
