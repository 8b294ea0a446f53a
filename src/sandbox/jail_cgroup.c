#define _GNU_SOURCE
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "jail_internal.h"

/* The VM's cgroup: <root>/<parent>/<vm_id> on cgroup v2 (at <root>, or at
 * <root>/unified on a hybrid host whose v2 hierarchy has the controllers),
 * else one such directory per v1 controller under <root>/<controller>. */

#define CPU_PERIOD_US 100000ull

static const char *const controller_names[JAIL_CG_COUNT] = { "memory", "pids", "cpu", "freezer" };
/* v2 has no freezer controller: cgroup.freeze is in every cgroup. */
static const char *const v2_needed[] = { "memory", "pids", "cpu" };

bool jail_fs_is(const char *path, unsigned long magic)
{
	struct statfs s;

	return statfs(path, &s) == 0 && (unsigned long)s.f_type == magic;
}

bool jail_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* The first controller of v2_needed missing from dir/file, or NULL. */
static const char *v2_missing(const char *dir, const char *file)
{
	char list[512];

	if (jail_read_file(dir, file, list, sizeof(list)))
		return "cgroup.controllers";
	for (size_t i = 0; i < sizeof(v2_needed) / sizeof(v2_needed[0]); i++)
		if (!jail_has_word(list, v2_needed[i]))
			return v2_needed[i];
	return NULL;
}

/* Finds the hierarchy to use; on failure explains why in why[]. */
static enum jail_cgroup_kind detect(const char *root, char *v2_dir, char *why, size_t why_len)
{
	char unified[JAIL_PATH_MAX], ctrl[JAIL_PATH_MAX];
	const char *missing;

	if (jail_fs_is(root, CGROUP2_SUPER_MAGIC)) {
		missing = v2_missing(root, "cgroup.controllers");
		if (missing) {
			snprintf(why, why_len, "cgroup v2 at %s lacks the %s controller", root, missing);
			return JAIL_CGROUP_NONE;
		}
		snprintf(v2_dir, JAIL_PATH_MAX, "%s", root);
		return JAIL_CGROUP_V2;
	}
	if (!jail_path(unified, root, "unified") && jail_fs_is(unified, CGROUP2_SUPER_MAGIC) &&
	    !v2_missing(unified, "cgroup.controllers")) {
		snprintf(v2_dir, JAIL_PATH_MAX, "%s", unified);
		return JAIL_CGROUP_V2;
	}
	for (int c = 0; c < JAIL_CG_COUNT; c++) {
		if (jail_path(ctrl, root, controller_names[c]) || !jail_fs_is(ctrl, CGROUP_SUPER_MAGIC)) {
			snprintf(why, why_len, "no cgroup v2 with memory, pids and cpu, and no cgroup v1 %s controller at %s",
				 controller_names[c], ctrl);
			return JAIL_CGROUP_NONE;
		}
	}
	return JAIL_CGROUP_V1;
}

static int make_dir(const char *path, bool exclusive)
{
	if (mkdir(path, 0755) == 0)
		return 0;
	return errno == EEXIST && !exclusive ? 0 : -errno;
}

static int v2_enable(const char *dir)
{
	char on[256], req[16];

	if (jail_read_file(dir, "cgroup.subtree_control", on, sizeof(on)))
		on[0] = '\0';
	for (size_t i = 0; i < sizeof(v2_needed) / sizeof(v2_needed[0]); i++) {
		int ret;

		if (jail_has_word(on, v2_needed[i]))
			continue;
		snprintf(req, sizeof(req), "+%s", v2_needed[i]);
		ret = jail_write_file(dir, "cgroup.subtree_control", req);
		if (ret)
			return ret;
	}
	return 0;
}

/* Creates <top>/<parent>/<vm_id> into out; on v2 enables the controllers
 * on the way down, since a cgroup only gets those its parent passes on.
 * *what and where[] say what failed. */
static int make_one(const struct jail_config *c, const char *top, bool v2, char *out, const char **what,
		    char *where)
{
	char parent[JAIL_PATH_MAX];
	int ret;

	if (jail_path(parent, top, c->cgroup_parent) || jail_path(out, parent, c->vm_id))
		return -ENAMETOOLONG;
	*what = "enabling memory, pids and cpu in";
	snprintf(where, JAIL_PATH_MAX, "%s", top);
	if (v2 && (ret = v2_enable(top)) != 0)
		return ret;
	*what = "creating";
	snprintf(where, JAIL_PATH_MAX, "%s", parent);
	if ((ret = make_dir(parent, false)) != 0)
		return ret;
	*what = "enabling memory, pids and cpu in";
	if (v2 && (ret = v2_enable(parent)) != 0)
		return ret;
	*what = "creating";
	snprintf(where, JAIL_PATH_MAX, "%s", out);
	return make_dir(out, true);
}

static int make_dirs(struct jail *j, const char *v2_dir, const char **what, char *where)
{
	char top[JAIL_PATH_MAX];
	int ret;

	if (v2_dir) {
		ret = make_one(&j->cfg, v2_dir, true, j->cg.path[0], what, where);
		if (ret) {
			j->cg.path[0][0] = '\0'; /* not ours to remove */
			return ret;
		}
		for (int i = 1; i < JAIL_CG_COUNT; i++)
			memcpy(j->cg.path[i], j->cg.path[0], JAIL_PATH_MAX);
		return 0;
	}
	for (int i = 0; i < JAIL_CG_COUNT; i++) {
		ret = jail_path(top, j->cfg.cgroup_root, controller_names[i]);
		if (!ret)
			ret = make_one(&j->cfg, top, false, j->cg.path[i], what, where);
		if (ret) {
			j->cg.path[i][0] = '\0';
			return ret;
		}
	}
	return 0;
}

static int write_u64(const char *dir, const char *file, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return jail_write_file(dir, file, buf);
}

static int set_limits(struct jail *j, const char **file)
{
	const char *mem = j->cg.path[JAIL_CG_MEMORY], *pids = j->cg.path[JAIL_CG_PIDS];
	int ret;

	if (j->cg.kind == JAIL_CGROUP_V2) {
		*file = "memory.max";
		ret = write_u64(mem, "memory.max", j->memory_limit);
		/* Guest RAM never reaches swap, where it would outlive the VM.
		 * The file is missing without swap accounting: nothing to do. */
		if (!ret) {
			*file = "memory.swap.max";
			ret = jail_write_file(mem, "memory.swap.max", "0");
			if (ret == -ENOENT)
				ret = 0;
		}
	} else {
		*file = "memory.limit_in_bytes";
		ret = write_u64(mem, "memory.limit_in_bytes", j->memory_limit);
		if (!ret) {
			*file = "memory.memsw.limit_in_bytes";
			ret = write_u64(mem, "memory.memsw.limit_in_bytes", j->memory_limit);
			if (ret == -ENOENT)
				ret = 0;
		}
	}
	if (!ret) {
		*file = "pids.max";
		ret = write_u64(pids, "pids.max", j->max_tasks);
	}
	if (!ret) {
		*file = "cpu bandwidth";
		/* The vCPUs' share and one CPU more for the device workers and
		 * io_uring's: the vCPUs' share alone left an I/O-bound guest
		 * waiting on its own throttled worker (docs/jail.md). */
		ret = jail_set_cpu_limit(j, CPU_PERIOD_US * (j->cfg.ncpus + JAIL_IO_CPUS), CPU_PERIOD_US);
	}
	return ret;
}

/* The cpuset's directory when it is not one of path[] (v1, hybrid), or NULL. */
static const char *own_cpuset_dir(const struct jail *j)
{
	if (!j->cg.cpuset[0])
		return NULL;
	for (int i = 0; i < JAIL_CG_COUNT; i++)
		if (!strcmp(j->cg.cpuset, j->cg.path[i]))
			return NULL;
	return j->cg.cpuset;
}

static void remove_dirs(struct jail *j)
{
	const char *cpuset = own_cpuset_dir(j);

	if (cpuset)
		rmdir(cpuset);
	for (int i = 0; i < JAIL_CG_COUNT; i++)
		if (j->cg.path[i][0] && (i == 0 || strcmp(j->cg.path[i], j->cg.path[i - 1])))
			rmdir(j->cg.path[i]);
	memset(&j->cg, 0, sizeof(j->cg));
}

int jail_cg_setup(struct jail *j, struct jail_error *err)
{
	char v2_dir[JAIL_PATH_MAX], why[JAIL_PATH_MAX + 128], where[JAIL_PATH_MAX] = "";
	const char *what = "", *file = "";
	enum jail_cgroup_kind kind = detect(j->cfg.cgroup_root, v2_dir, why, sizeof(why));
	int ret;

	if (kind == JAIL_CGROUP_NONE) {
		if (!j->cfg.allow_degraded)
			return jail_fail(err, "cgroup", -ENOENT, "%s (allow degraded mode to run without one)", why);
		jail_degrade(j, JAIL_DEGRADED_CGROUP, "no cgroup: %s", why);
		return jail_cg_cpuset_setup(j, NULL, where); /* only records that there is none */
	}
	j->cg.kind = kind;
	ret = make_dirs(j, kind == JAIL_CGROUP_V2 ? v2_dir : NULL, &what, where);
	if (ret == -EEXIST) {
		/* Never degrade over this: the id belongs to someone. */
		remove_dirs(j);
		return jail_fail(err, "cgroup", ret, "%s: VM id in use, or left by a crash (jail_cleanup removes it)",
				 where);
	}
	if (!ret) {
		ret = set_limits(j, &file);
		what = "setting the limits in";
		snprintf(where, sizeof(where), "%s", j->cg.path[JAIL_CG_MEMORY]);
	}
	if (!ret && jail_cg_cpuset_setup(j, kind == JAIL_CGROUP_V2 ? v2_dir : NULL, where) == -EEXIST) {
		remove_dirs(j);
		return jail_fail(err, "cgroup", -EEXIST, "%s: VM id in use, or left by a crash (jail_cleanup removes it)",
				 where);
	}
	if (!ret)
		return 0;
	remove_dirs(j);
	if (!j->cfg.allow_degraded)
		return jail_fail(err, "cgroup", ret, "%s %s%s%s", what, where, file[0] ? ", file " : "", file);
	jail_degrade(j, JAIL_DEGRADED_CGROUP, "no cgroup: %s %s%s%s: %s", what, where, file[0] ? ", file " : "",
		     file, strerror(-ret));
	return jail_cg_cpuset_setup(j, NULL, where); /* remove_dirs() left no cgroup: records that */
}

int jail_cg_join(const struct jail *j, struct jail_error *err)
{
	if (j->cg.kind == JAIL_CGROUP_NONE)
		return 0;
	for (int i = 0; i < JAIL_CG_COUNT; i++) {
		int ret;

		if (i > 0 && !strcmp(j->cg.path[i], j->cg.path[i - 1]))
			continue;
		/* "0" is the writing process itself, whatever its pid
		 * namespace: the whole thread group moves. */
		ret = jail_write_file(j->cg.path[i], "cgroup.procs", "0");
		if (ret)
			return jail_fail(err, "cgroup", ret, "joining %s", j->cg.path[i]);
	}
	/* Joining a cpuset sets the process's affinity to all its CPUs: this
	 * comes before the VMM narrows its threads (pinning_keep_off()). */
	if (own_cpuset_dir(j)) {
		int ret = jail_write_file(j->cg.cpuset, "cgroup.procs", "0");

		if (ret)
			return jail_fail(err, "cgroup", ret, "joining %s", j->cg.cpuset);
	}
	return 0;
}

int jail_cg_remove(struct jail *j, struct jail_error *err)
{
	if (j->cg.kind == JAIL_CGROUP_NONE)
		return 0;
	/* Whatever is left dies first: a cgroup with tasks cannot go. */
	if (jail_kill_all(j) == -ETIMEDOUT)
		return jail_fail(err, "cleanup", -EBUSY, "tasks in %s outlive SIGKILL", j->cg.path[JAIL_CG_MEMORY]);
	for (int i = -1; i < JAIL_CG_COUNT; i++) {
		const char *dir = i < 0 ? own_cpuset_dir(j) : j->cg.path[i];

		if (!dir || (i > 0 && !strcmp(j->cg.path[i], j->cg.path[i - 1])))
			continue;
		/* A task that just died may still be leaving: retry a while. */
		for (int tries = 0; rmdir(dir) < 0; tries++) {
			if (errno == ENOENT)
				break;
			if (errno != EBUSY || tries == 100)
				return jail_fail(err, "cleanup", -errno, "removing %s", dir);
			usleep(10000);
		}
	}
	/* The shared parent stays: another VM may be creating its cgroup in it. */
	memset(&j->cg, 0, sizeof(j->cg));
	return 0;
}

int jail_cg_remove_stale(struct jail *j, struct jail_error *err)
{
	char v2_dir[JAIL_PATH_MAX], why[JAIL_PATH_MAX + 128], top[JAIL_PATH_MAX], parent[JAIL_PATH_MAX],
		path[JAIL_PATH_MAX];
	enum jail_cgroup_kind kind = detect(j->cfg.cgroup_root, v2_dir, why, sizeof(why));
	int n = kind == JAIL_CGROUP_V2 ? 1 : kind == JAIL_CGROUP_V1 ? JAIL_CG_COUNT : 0;

	for (int i = 0; i < n; i++) {
		int ret = kind == JAIL_CGROUP_V2 ? (snprintf(top, sizeof(top), "%s", v2_dir), 0)
						 : jail_path(top, j->cfg.cgroup_root, controller_names[i]);

		if (!ret)
			ret = jail_path(parent, top, j->cfg.cgroup_parent);
		if (!ret)
			ret = jail_path(path, parent, j->cfg.vm_id);
		if (ret)
			return jail_fail(err, "cleanup", ret, "cgroup path of %s", j->cfg.vm_id);
		if (rmdir(path) < 0 && errno != ENOENT)
			return jail_fail(err, "cleanup", -errno, "removing %s%s", path,
					 errno == EBUSY ? " (it has tasks: is the VM still running?)" : "");
	}
	/* A v1 cpuset hierarchy holds one more (jail_cg_cpuset_setup()). */
	if (kind != JAIL_CGROUP_NONE && !jail_path(top, j->cfg.cgroup_root, "cpuset") &&
	    jail_fs_is(top, CGROUP_SUPER_MAGIC) && !jail_path(parent, top, j->cfg.cgroup_parent) &&
	    !jail_path(path, parent, j->cfg.vm_id) && rmdir(path) < 0 && errno != ENOENT)
		return jail_fail(err, "cleanup", -errno, "removing %s%s", path,
				 errno == EBUSY ? " (it has tasks: is the VM still running?)" : "");
	return 0;
}
