#define _GNU_SOURCE
#include <errno.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail_internal.h"

/* The VM's cpuset (cfg.cpuset): the host CPUs every task of the VMM may
 * run on, enforced by the kernel from outside the process. It backs up the
 * VMM's own sched_setaffinity() calls (--dedicated-cpus), which a
 * compromised VMM could try to undo, and gives the orchestrator a lever it
 * can narrow later. It is optional: a host without a cpuset controller gets
 * JAIL_DEGRADED_CPUSET, never a failure. docs/jail.md, "cpuset". */

int jail_cpuset_format(const unsigned *cpus, unsigned n, char *out, size_t len)
{
	cpu_set_t set;
	size_t used = 0;

	if (len == 0)
		return -EINVAL;
	CPU_ZERO(&set);
	for (unsigned i = 0; i < n; i++) {
		if (cpus[i] >= CPU_SETSIZE)
			return -EINVAL;
		CPU_SET(cpus[i], &set);
	}
	out[0] = '\0';
	for (unsigned c = 0; c < CPU_SETSIZE; c++) {
		unsigned last = c;
		int w;

		if (!CPU_ISSET(c, &set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
			last++;
		if (last == c)
			w = snprintf(out + used, len - used, "%s%u", used ? "," : "", c);
		else
			w = snprintf(out + used, len - used, "%s%u-%u", used ? "," : "", c, last);
		if (w < 0 || (size_t)w >= len - used)
			return -ENOSPC;
		used += (size_t)w;
		c = last;
	}
	return 0;
}

int jail_cpuset_parse(const char *list, cpu_set_t *set)
{
	const char *p = list;

	CPU_ZERO(set);
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != '\n') {
		unsigned long first, last;
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		first = last = strtoul(p, &end, 10);
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			last = strtoul(p, &end, 10);
			p = end;
		}
		if (last < first || last >= CPU_SETSIZE)
			return -EINVAL;
		for (unsigned long c = first; c <= last; c++)
			CPU_SET(c, set);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

int jail_cpuset_for_dedicated(const unsigned *dedicated, unsigned n, unsigned *out, unsigned max)
{
	cpu_set_t set;
	unsigned count = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		if (dedicated[i] >= CPU_SETSIZE)
			return -EINVAL;
		CPU_SET(dedicated[i], &set);
	}
	for (unsigned c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (count == max)
			return -EINVAL;
		out[count++] = c;
	}
	return (int)count;
}

int jail_cpuset_enable_v2(const char *dir)
{
	char on[256];

	if (jail_read_file(dir, "cgroup.subtree_control", on, sizeof(on)))
		on[0] = '\0';
	if (jail_has_word(on, "cpuset"))
		return 0;
	return jail_write_file(dir, "cgroup.subtree_control", "+cpuset");
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t\n")] == '\0';
}

int jail_cpuset_copy_if_empty(const char *dir, const char *from, const char *file)
{
	char cur[JAIL_CPUSET_LIST_MAX], want[JAIL_CPUSET_LIST_MAX];
	int ret = jail_read_file(dir, file, cur, sizeof(cur));

	if (ret)
		return ret;
	if (!blank(cur))
		return 0;
	ret = jail_read_file(from, file, want, sizeof(want));
	if (ret)
		return ret;
	want[strcspn(want, "\n")] = '\0';
	if (blank(want))
		return -ENOSPC; /* the parent has none to give either */
	return jail_write_file(dir, file, want);
}

int jail_cpuset_apply(const char *dir, const char *list, const char *effective_file, const char **file)
{
	char eff[JAIL_CPUSET_LIST_MAX];
	cpu_set_t want, got, both;
	int ret;

	*file = "cpuset.cpus";
	ret = jail_cpuset_parse(list, &want);
	if (!ret)
		ret = jail_write_file(dir, "cpuset.cpus", list);
	if (ret)
		return ret;
	/* v2 takes any list and grants what the parent has of it: a vCPU
	 * pinned to a CPU outside the grant would fail later, so it is
	 * checked now. A kernel without the file has nothing to tell. */
	*file = effective_file;
	ret = jail_read_file(dir, effective_file, eff, sizeof(eff));
	if (ret == -ENOENT)
		return 0;
	if (!ret)
		ret = jail_cpuset_parse(eff, &got);
	if (ret)
		return ret;
	CPU_AND(&both, &want, &got);
	return CPU_EQUAL(&both, &want) ? 0 : -ERANGE;
}

static int make_dir(const char *path, bool exclusive)
{
	if (mkdir(path, 0755) == 0)
		return 0;
	return errno == EEXIST && !exclusive ? 0 : -errno;
}

/* v2: the controller passed down to the VM's directory, then its CPUs. */
static int setup_v2(struct jail *j, const char *top, const char *list, const char **what, char *where)
{
	char parent[JAIL_PATH_MAX];
	const char *file;
	int ret;

	if (jail_path(parent, top, j->cfg.cgroup_parent))
		return -ENAMETOOLONG;
	*what = "enabling cpuset in";
	snprintf(where, JAIL_PATH_MAX, "%s", top);
	ret = jail_cpuset_enable_v2(top);
	if (!ret) {
		snprintf(where, JAIL_PATH_MAX, "%s", parent);
		ret = jail_cpuset_enable_v2(parent);
	}
	if (ret)
		return ret;
	*what = "setting the CPUs in";
	snprintf(where, JAIL_PATH_MAX, "%s", j->cg.path[0]);
	ret = jail_cpuset_apply(j->cg.path[0], list, "cpuset.cpus.effective", &file);
	if (ret == -ERANGE || ret == -EINVAL)
		(void)!jail_write_file(j->cg.path[0], "cpuset.cpus", "\n"); /* back to the parent's */
	if (!ret)
		snprintf(j->cg.cpuset, JAIL_PATH_MAX, "%s", j->cg.path[0]);
	return ret;
}

/* v1: a hierarchy of its own, where a new cpuset starts with no CPU and no
 * memory node, and no task may join it until it has both. */
static int setup_v1(struct jail *j, const char *top, const char *list, const char **what, char *where)
{
	char parent[JAIL_PATH_MAX], dir[JAIL_PATH_MAX];
	const char *file;
	int ret;

	if (jail_path(parent, top, j->cfg.cgroup_parent) || jail_path(dir, parent, j->cfg.vm_id))
		return -ENAMETOOLONG;
	*what = "creating";
	snprintf(where, JAIL_PATH_MAX, "%s", parent);
	ret = make_dir(parent, false);
	if (ret)
		return ret;
	*what = "copying cpuset.cpus and cpuset.mems from its parent into";
	ret = jail_cpuset_copy_if_empty(parent, top, "cpuset.cpus");
	if (!ret)
		ret = jail_cpuset_copy_if_empty(parent, top, "cpuset.mems");
	if (ret)
		return ret;
	*what = "creating";
	snprintf(where, JAIL_PATH_MAX, "%s", dir);
	ret = make_dir(dir, true);
	if (ret)
		return ret;
	*what = "setting the CPUs and memory nodes in";
	ret = jail_cpuset_copy_if_empty(dir, parent, "cpuset.mems");
	if (!ret)
		ret = jail_cpuset_apply(dir, list, "cpuset.effective_cpus", &file);
	if (ret) {
		rmdir(dir);
		return ret;
	}
	snprintf(j->cg.cpuset, JAIL_PATH_MAX, "%s", dir);
	return 0;
}

static bool v2_has_cpuset(const char *dir)
{
	char list[512];

	return jail_read_file(dir, "cgroup.controllers", list, sizeof(list)) == 0 && jail_has_word(list, "cpuset");
}

int jail_cg_cpuset_setup(struct jail *j, const char *v2_dir, char *where)
{
	char list[JAIL_CPUSET_LIST_MAX], v1_top[JAIL_PATH_MAX];
	const unsigned *cpus = j->cfg.cpuset;
	const char *what = "";
	int ret;

	/* The caller's array need not outlive jail_prepare(): no copy of the
	 * jail (the child's included) keeps a pointer to it. */
	j->cfg.cpuset = NULL;
	j->cg.cpuset[0] = '\0';
	if (!cpus || !j->cfg.ncpuset)
		return 0;
	if (jail_cpuset_format(cpus, j->cfg.ncpuset, list, sizeof(list))) {
		jail_degrade(j, JAIL_DEGRADED_CPUSET, "no cpuset: a CPU list kfv cannot write");
		return 0;
	}
	if (j->cg.kind == JAIL_CGROUP_NONE) {
		jail_degrade(j, JAIL_DEGRADED_CPUSET, "no cpuset (CPUs %s): no cgroup", list);
		return 0;
	}
	if (v2_dir && v2_has_cpuset(v2_dir)) {
		ret = setup_v2(j, v2_dir, list, &what, where);
	} else if (!jail_path(v1_top, j->cfg.cgroup_root, "cpuset") && jail_fs_is(v1_top, CGROUP_SUPER_MAGIC)) {
		/* v1, or a hybrid host whose v2 hierarchy lacks cpuset. */
		ret = setup_v1(j, v1_top, list, &what, where);
		if (ret == -EEXIST)
			return ret; /* the id belongs to someone: never degraded over */
	} else {
		jail_degrade(j, JAIL_DEGRADED_CPUSET, "no cpuset (CPUs %s): %s%s%s%s is no cgroup v1 cpuset hierarchy",
			     list, v2_dir ? "cgroup v2 at " : "", v2_dir ? v2_dir : "",
			     v2_dir ? " lacks the cpuset controller and " : "", v1_top);
		return 0;
	}
	if (ret)
		jail_degrade(j, JAIL_DEGRADED_CPUSET, "no cpuset (CPUs %s): %s %s: %s", list, what, where,
			     ret == -ERANGE ? "the parent does not grant them all" : strerror(-ret));
	return 0;
}
