#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jail_internal.h"

/* The out-of-band levers an orchestrator pulls on a VM: they act on the
 * cgroup from outside, so a compromised VMM cannot refuse them. */

#define WAIT_STEP_US 10000
#define WAIT_STEPS   100 /* one second */

static const char *cg(const struct jail *j, enum jail_controller c)
{
	return j->cg.path[c];
}

/* Reads "key value" lines (cgroup.events) and returns value, or -1. */
static long long event_value(const char *dir, const char *key)
{
	char buf[256];
	size_t n = strlen(key);

	if (jail_read_file(dir, "cgroup.events", buf, sizeof(buf)))
		return -1;
	for (const char *p = buf; *p; p++) {
		if (!strncmp(p, key, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p = strchr(p, '\n');
		if (!p)
			break;
	}
	return -1;
}

int jail_freeze(const struct jail *j, bool frozen)
{
	char state[32];
	int ret;

	switch (j->cg.kind) {
	case JAIL_CGROUP_V2:
		ret = jail_write_file(cg(j, JAIL_CG_FREEZER), "cgroup.freeze", frozen ? "1" : "0");
		/* Freezing completes asynchronously: wait until it has. */
		for (int i = 0; !ret && i < WAIT_STEPS; i++) {
			if (event_value(cg(j, JAIL_CG_FREEZER), "frozen") == (frozen ? 1 : 0))
				return 0;
			usleep(WAIT_STEP_US);
		}
		return ret ? ret : -ETIMEDOUT;
	case JAIL_CGROUP_V1:
		ret = jail_write_file(cg(j, JAIL_CG_FREEZER), "freezer.state", frozen ? "FROZEN" : "THAWED");
		for (int i = 0; !ret && i < WAIT_STEPS; i++) {
			if (jail_read_file(cg(j, JAIL_CG_FREEZER), "freezer.state", state, sizeof(state)))
				break;
			if (!strncmp(state, frozen ? "FROZEN" : "THAWED", 6))
				return 0;
			usleep(WAIT_STEP_US);
		}
		return ret ? ret : -ETIMEDOUT;
	default:
		return -EOPNOTSUPP;
	}
}

int jail_set_cpu_limit(const struct jail *j, uint64_t quota_us, uint64_t period_us)
{
	char buf[64];
	int ret;

	if (period_us == 0)
		return -EINVAL;
	switch (j->cg.kind) {
	case JAIL_CGROUP_V2:
		if (quota_us)
			snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)quota_us,
				 (unsigned long long)period_us);
		else
			snprintf(buf, sizeof(buf), "max %llu", (unsigned long long)period_us);
		return jail_write_file(cg(j, JAIL_CG_CPU), "cpu.max", buf);
	case JAIL_CGROUP_V1:
		/* Unlimited first: the kernel checks each value against the
		 * other, and the old quota may not fit the new period. */
		ret = jail_write_file(cg(j, JAIL_CG_CPU), "cpu.cfs_quota_us", "-1");
		if (!ret) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)period_us);
			ret = jail_write_file(cg(j, JAIL_CG_CPU), "cpu.cfs_period_us", buf);
		}
		if (!ret && quota_us) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)quota_us);
			ret = jail_write_file(cg(j, JAIL_CG_CPU), "cpu.cfs_quota_us", buf);
		}
		return ret;
	default:
		return -EOPNOTSUPP;
	}
}

/* Sends SIGKILL to every pid in dir/cgroup.procs; returns how many it saw. */
static int kill_listed(const char *dir)
{
	char buf[4096];
	int seen = 0;

	if (jail_read_file(dir, "cgroup.procs", buf, sizeof(buf)))
		return 0;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0) {
			kill((pid_t)pid, SIGKILL);
			seen++;
		}
	}
	return seen;
}

static bool empty(const struct jail *j)
{
	char buf[16];

	if (j->cg.kind == JAIL_CGROUP_V2)
		return event_value(cg(j, JAIL_CG_MEMORY), "populated") == 0;
	return jail_read_file(cg(j, JAIL_CG_MEMORY), "cgroup.procs", buf, sizeof(buf)) != 0 || buf[0] == '\0';
}

int jail_kill_all(const struct jail *j)
{
	bool use_kill_file = false;
	int thawed = 0;

	if (j->cg.kind == JAIL_CGROUP_NONE)
		return -EOPNOTSUPP;
	if (j->cg.kind == JAIL_CGROUP_V2)
		use_kill_file = jail_write_file(cg(j, JAIL_CG_MEMORY), "cgroup.kill", "1") == 0;
	/* A frozen v1 task cannot act on SIGKILL until thawed; if thawing
	 * fails, try anyway and let the wait tell. */
	if (j->cg.kind == JAIL_CGROUP_V1)
		thawed = jail_freeze(j, false);
	for (int i = 0; i < WAIT_STEPS; i++) {
		/* Without cgroup.kill, a task forked while we read the list
		 * escapes one round, not the next. */
		if (!use_kill_file)
			kill_listed(cg(j, JAIL_CG_MEMORY));
		if (empty(j))
			return 0;
		usleep(WAIT_STEP_US);
	}
	return thawed < 0 ? thawed : -ETIMEDOUT;
}
