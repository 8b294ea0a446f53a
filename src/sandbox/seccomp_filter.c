#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_internal.h"

/* Filters are compiled once, before the lock-down, into plain BPF: a thread
 * installing its role then needs one syscall and no allocation, so it can do
 * it first thing under the union filter. */

struct compiled {
	struct sock_filter *insns;
	unsigned short len;
};

static struct compiled filters[THREAD_ROLE_COUNT];
static pid_t filters_pid; /* the process they were built for; 0: none */
static enum seccomp_violation_action violation_action = SECCOMP_VIOLATION_REPORT;

void seccomp_set_violation_action(enum seccomp_violation_action action)
{
	violation_action = action;
}

enum seccomp_violation_action seccomp_violation_action(void)
{
	return violation_action;
}

static int action_from_env(void)
{
	const char *v = getenv(SECCOMP_ENV);

	if (!v)
		return 0;
	if (!strcmp(v, "report") || !strcmp(v, "trap"))
		violation_action = SECCOMP_VIOLATION_REPORT;
	else if (!strcmp(v, "kill"))
		violation_action = SECCOMP_VIOLATION_KILL;
	else if (!strcmp(v, "log"))
		violation_action = SECCOMP_VIOLATION_LOG;
	else
		return -EINVAL; /* a typo must not weaken or change the policy */
	return 0;
}

static uint32_t default_action(void)
{
	switch (violation_action) {
	case SECCOMP_VIOLATION_KILL:
		return SCMP_ACT_KILL_PROCESS;
	case SECCOMP_VIOLATION_LOG:
		return SCMP_ACT_LOG;
	default:
		return SCMP_ACT_TRAP;
	}
}

/* libseccomp 2.5 exports BPF to a fd only: through a memfd and back. */
static int export_bpf(scmp_filter_ctx ctx, struct compiled *out)
{
	struct stat st;
	void *buf;
	int ret, fd = memfd_create("kfv-seccomp", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (!ret && fstat(fd, &st) < 0)
		ret = -errno;
	if (!ret && (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
		     st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS))
		ret = -E2BIG;
	if (ret) {
		close(fd);
		return ret;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		ret = -EIO;
		free(buf);
	} else {
		out->insns = buf;
		out->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	}
	close(fd);
	return ret;
}

/* libseccomp's TRAP carries no data; put the role in it. The kernel hands
 * SECCOMP_RET_DATA to the SIGSYS handler as si_errno, so the role in a
 * report comes from the filter that fired (the newest one, when several
 * trap), not from memory the faulting thread could have overwritten. */
static void tag_traps(struct compiled *f, enum thread_role role)
{
	for (unsigned i = 0; i < f->len; i++) {
		struct sock_filter *in = &f->insns[i];

		if (in->code == (BPF_RET | BPF_K) && (in->k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_TRAP)
			in->k = SECCOMP_RET_TRAP | ((uint32_t)role & SECCOMP_RET_DATA);
	}
}

static void free_filters(void)
{
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		free(filters[r].insns);
		filters[r].insns = NULL;
		filters[r].len = 0;
	}
	filters_pid = 0;
}

int seccomp_roles_prepare(void)
{
	pid_t pid = getpid();
	int ret = action_from_env();

	if (ret)
		return ret;
	free_filters();
	ret = seccomp_report_prepare();
	for (int r = 0; !ret && r < THREAD_ROLE_COUNT; r++) {
		scmp_filter_ctx ctx = seccomp_policy_build((enum thread_role)r, default_action(), pid, &ret);

		if (!ctx)
			break;
		ret = export_bpf(ctx, &filters[r]);
		seccomp_release(ctx);
		if (!ret)
			tag_traps(&filters[r], (enum thread_role)r);
	}
	if (ret) {
		free_filters();
		return ret;
	}
	/* Without CAP_SYS_ADMIN a filter needs no_new_privs; every thread
	 * created from here on inherits it. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		free_filters();
		return ret;
	}
	filters_pid = pid;
	return 0;
}

int seccomp_install_role(enum thread_role role)
{
	struct sock_fprog prog;
	/* Traps logged by the kernel too (audit, else dmesg): the one record
	 * left when a trap fires with SIGSYS blocked and the handler cannot
	 * run. Not for the union, whose clone3 refusals are routine. */
	unsigned flags = role == ROLE_UNION ? 0 : SECCOMP_FILTER_FLAG_LOG;

	if ((unsigned)role >= THREAD_ROLE_COUNT)
		return -EINVAL;
	/* After a fork the pid inside the filters would be the parent's. */
	if (!filters_pid || filters_pid != getpid() || !filters[role].insns)
		return -ENOENT;
	prog.len = filters[role].len;
	prog.filter = filters[role].insns;
	/* No SECCOMP_FILTER_FLAG_TSYNC: this thread only, by design. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) == 0)
		return 0;
	/* A kernel older than 4.14 lacks the flag: the filter matters more. */
	if (errno == EINVAL && flags && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	return -errno;
}

int seccomp_role_export_pfc(enum thread_role role, int fd)
{
	int ret = 0;
	scmp_filter_ctx ctx = seccomp_policy_build(role, default_action(), getpid(), &ret);

	if (!ctx)
		return ret;
	ret = seccomp_export_pfc(ctx, fd);
	seccomp_release(ctx);
	return ret;
}
