#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "seccomp_internal.h"

/* The allow-lists. Every entry is explained in docs/seccomp.md: a change
 * here is a change there. */

enum cond {
	ANY,
	NO_EXEC,      /* arg2 (prot) lacks PROT_EXEC: mmap, mprotect */
	OWN_PROCESS,  /* arg0 (tgid) is this process: tgkill */
	THREAD_CLONE, /* arg0 (flags) is exactly what pthread_create passes: clone */
	NOT_SIGSYS,   /* arg0 (signal) is not SIGSYS: the violation handler stays */
	FILTER_LOAD,  /* seccomp(SECCOMP_SET_MODE_FILTER, 0 or FLAG_LOG, ...): stacking a narrower filter */
	FUTEX_PLAIN,  /* arg1 (op): WAIT, WAKE, WAIT_BITSET or WAKE_BITSET, nothing PI or requeue */
	ENOSYS_FAIL,  /* refused with ENOSYS, not trapped: clone3, so glibc falls back to clone */
	IOCTL_LIST,   /* arg1 (request) from the role's ioctl list */
	SELF,         /* arg0 (pid) is 0, the calling thread: sched_setaffinity */
	FD_FLAGS,     /* flags (arg `arg`) no more than O_CLOEXEC|O_NONBLOCK: eventfd2, signalfd4, timerfd_create */
	FALLOC_DWZ,   /* arg1 (mode) PUNCH_HOLE|KEEP_SIZE or ZERO_RANGE: virtio-blk discard, write zeroes */
	PRCTL_OP,     /* arg0 (option) is exactly `arg`: prctl */
	ARG1_IS,      /* arg1 is exactly `arg`: fcntl's command */
};

struct rule {
	int nr;
	enum cond cond;
	unsigned arg; /* FD_FLAGS: which argument holds the flags; PRCTL_OP: the option; ARG1_IS: the value */
};

#define R(nr, cond)     { nr, cond, 0 }
#define FLAGS(nr, arg)  { nr, FD_FLAGS, arg }
#define PRCTL(op)       { SYS_prctl, PRCTL_OP, op }

/* glibc's pthread_create (sysdeps/unix/sysv/linux/createthread.c). Anything
 * else, fork's SIGCHLD included, is not a thread of ours. */
#define PTHREAD_CLONE_FLAGS                                                                  \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

/* Every role: returning from signal handlers, exiting, locks, writing logs,
 * memory management without execute permission, and what glibc and the
 * sanitizer runtimes do on their own (pthread_kill, thread exit, malloc). */
static const struct rule base_rules[] = {
	R(SYS_exit, ANY),               R(SYS_exit_group, ANY),         R(SYS_rt_sigreturn, ANY),
	R(SYS_restart_syscall, ANY),    R(SYS_futex, FUTEX_PLAIN),      R(SYS_write, ANY),
	R(SYS_sched_yield, ANY),        R(SYS_clock_gettime, ANY),      R(SYS_gettid, ANY),
	R(SYS_getpid, ANY),             R(SYS_rt_sigprocmask, ANY),     R(SYS_tgkill, OWN_PROCESS),
	R(SYS_mmap, NO_EXEC),           R(SYS_mprotect, NO_EXEC),       R(SYS_munmap, ANY),
	R(SYS_mremap, ANY),             R(SYS_madvise, ANY),            R(SYS_brk, ANY),
	R(SYS_sigaltstack, ANY),        R(SYS_sched_getaffinity, ANY),
};

static const struct rule main_rules[] = {
	R(SYS_read, ANY),                 R(SYS_poll, ANY),                 R(SYS_ppoll, ANY),
	R(SYS_close, ANY),                R(SYS_pread64, ANY),              R(SYS_rt_sigaction, NOT_SIGSYS),
	R(SYS_ioctl, IOCTL_LIST),         { SYS_fcntl, ARG1_IS, F_OFD_SETLK },
};

static const struct rule vcpu_rules[] = {
	R(SYS_timerfd_settime, ANY),  R(SYS_ioctl, IOCTL_LIST),
};

static const struct rule device_rules[] = {
	R(SYS_read, ANY),             R(SYS_readv, ANY),            R(SYS_writev, ANY),
	R(SYS_pread64, ANY),          R(SYS_pwrite64, ANY),         R(SYS_preadv, ANY),
	R(SYS_pwritev, ANY),          R(SYS_fdatasync, ANY),        R(SYS_poll, ANY),
	R(SYS_ppoll, ANY),            R(SYS_getrandom, ANY),        R(SYS_timerfd_settime, ANY),
	R(SYS_io_uring_enter, ANY),   R(SYS_ioctl, IOCTL_LIST),     R(SYS_fallocate, FALLOC_DWZ),
};

static const struct rule console_rules[] = {
	R(SYS_read, ANY),          R(SYS_poll, ANY),          R(SYS_ppoll, ANY),
	R(SYS_ioctl, IOCTL_LIST),
};

/* The guard's responder: reads a challenge, answers it (write is common),
 * and reports its own seccomp mode in the answer. */
static const struct rule responder_rules[] = {
	R(SYS_read, ANY),             PRCTL(PR_GET_SECCOMP),
};

/* The union only: what starting a thread takes, in the creator and in the
 * new thread before it narrows itself (a vCPU pins itself first), and the
 * anonymous fds the start-up code still makes once the jail is closed (the
 * console's and vm_run()'s eventfds and signalfd, virtio's eventfds and
 * timerfd). No role keeps any of them. */
static const struct rule spawn_rules[] = {
	R(SYS_clone, THREAD_CLONE),      R(SYS_clone3, ENOSYS_FAIL),      R(SYS_set_robust_list, ANY),
	R(SYS_rseq, ANY),                R(SYS_seccomp, FILTER_LOAD),     R(SYS_sched_setaffinity, SELF),
	FLAGS(SYS_eventfd2, 1),          FLAGS(SYS_signalfd4, 3),         FLAGS(SYS_timerfd_create, 1),
};

/* Main: the console's terminal mode at exit, the summary's KVM statistics
 * fds, undoing ioeventfds and irqfds at teardown, and the keyboard
 * interrupt that carries the operator's shutdown request to the guest. */
static const unsigned long main_ioctls[] = { TCGETS, TCSETS, KVM_GET_STATS_FD, KVM_IOEVENTFD, KVM_IRQFD,
					     KVM_IRQ_LINE /* Ctrl-Alt-Del for a shutdown request */ };
static const unsigned long vcpu_ioctls[] = { KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE };
static const unsigned long device_ioctls[] = { KVM_IRQ_LINE };
static const unsigned long console_ioctls[] = { KVM_IRQ_LINE };

struct role_policy {
	const struct rule *rules;
	size_t nrules;
	const unsigned long *ioctls;
	size_t nioctls;
};

#define LIST(a) a, sizeof(a) / sizeof(a[0])

/* Indexed by role; the union is made of all of them. */
static const struct role_policy policies[ROLE_UNION] = {
	[ROLE_VMM_MAIN] = { LIST(main_rules), LIST(main_ioctls) },
	[ROLE_VCPU] = { LIST(vcpu_rules), LIST(vcpu_ioctls) },
	[ROLE_DEVICE_IO] = { LIST(device_rules), LIST(device_ioctls) },
	[ROLE_CONSOLE] = { LIST(console_rules), LIST(console_ioctls) },
	[ROLE_RESPONDER] = { LIST(responder_rules), NULL, 0 },
};

/* An identical rule met twice (the union adds `read` three times) is fine. */
static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int ret = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	return ret == -EEXIST ? 0 : ret;
}

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *req, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* The kernel reads the request as a 32-bit int: compare the
		 * bits it will act on, whatever the caller left above them. */
		struct scmp_arg_cmp c = { 1, SCMP_CMP_MASKED_EQ, 0xffffffffu, req[i] };
		int ret = add(ctx, SCMP_ACT_ALLOW, SYS_ioctl, 1, &c);

		if (ret)
			return ret;
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct rule *r, pid_t pid)
{
	static const unsigned futex_ops[] = { FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET };
	const uint64_t futex_mask = 0xffffffffu & ~(uint64_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
	struct scmp_arg_cmp c[2];
	int ret;

	switch (r->cond) {
	case ANY:
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 0, NULL);
	case NO_EXEC:
		c[0] = (struct scmp_arg_cmp){ 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case OWN_PROCESS:
		c[0] = (struct scmp_arg_cmp){ 0, SCMP_CMP_EQ, (uint64_t)pid, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case THREAD_CLONE:
		c[0] = (struct scmp_arg_cmp){ 0, SCMP_CMP_EQ, PTHREAD_CLONE_FLAGS, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case FD_FLAGS:
		c[0] = (struct scmp_arg_cmp){ r->arg, SCMP_CMP_MASKED_EQ, ~(uint64_t)(O_CLOEXEC | O_NONBLOCK), 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case SELF:
		c[0] = (struct scmp_arg_cmp){ 0, SCMP_CMP_EQ, 0, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case PRCTL_OP:
		c[0] = (struct scmp_arg_cmp){ 0, SCMP_CMP_EQ, r->arg, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case ARG1_IS:
		c[0] = (struct scmp_arg_cmp){ 1, SCMP_CMP_EQ, r->arg, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case NOT_SIGSYS:
		c[0] = (struct scmp_arg_cmp){ 0, SCMP_CMP_NE, SIGSYS, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
	case FILTER_LOAD:
		c[0] = (struct scmp_arg_cmp){ 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0 };
		c[1] = (struct scmp_arg_cmp){ 1, SCMP_CMP_MASKED_EQ, ~(uint64_t)SECCOMP_FILTER_FLAG_LOG, 0 };
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 2, c);
	case FUTEX_PLAIN:
		for (size_t i = 0; i < sizeof(futex_ops) / sizeof(futex_ops[0]); i++) {
			c[0] = (struct scmp_arg_cmp){ 1, SCMP_CMP_MASKED_EQ, futex_mask, futex_ops[i] };
			ret = add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
			if (ret)
				return ret;
		}
		return 0;
	case FALLOC_DWZ:
		/* Nothing that shifts data or allocates past the end of the
		 * file: KEEP_SIZE only with PUNCH_HOLE, which frees. A
		 * ZERO_RANGE past the end grows the file, so RLIMIT_FSIZE
		 * (jail_rlimits.c) bounds it; with KEEP_SIZE it would allocate
		 * blocks no limit counts. */
		for (size_t i = 0; i < 2; i++) {
			c[0] = (struct scmp_arg_cmp){ 1, SCMP_CMP_MASKED_EQ, 0xffffffffu,
						      i ? FALLOC_FL_ZERO_RANGE
							: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE };
			ret = add(ctx, SCMP_ACT_ALLOW, r->nr, 1, c);
			if (ret)
				return ret;
		}
		return 0;
	case ENOSYS_FAIL:
		return add(ctx, SCMP_ACT_ERRNO(ENOSYS), r->nr, 0, NULL);
	case IOCTL_LIST:
		return 0; /* added from the role's ioctl list */
	}
	return -EINVAL;
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *rules, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++) {
		int ret = add_rule(ctx, &rules[i], pid);

		if (ret)
			return ret;
	}
	return 0;
}

static int add_role(scmp_filter_ctx ctx, enum thread_role role, pid_t pid)
{
	const struct role_policy *p = &policies[role];
	int ret = add_rules(ctx, p->rules, p->nrules, pid);

	return ret ? ret : add_ioctls(ctx, p->ioctls, p->nioctls);
}

scmp_filter_ctx seccomp_policy_build(enum thread_role role, uint32_t default_action, pid_t pid, int *err)
{
	scmp_filter_ctx ctx;
	int ret;

	if ((unsigned)role >= THREAD_ROLE_COUNT) {
		*err = -EINVAL;
		return NULL;
	}
	ctx = seccomp_init(default_action);
	if (!ctx) {
		*err = -ENOMEM;
		return NULL;
	}
	/* A 32-bit (int 0x80) or x32 syscall is a violation like any other. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, default_action);
	/* KVM_RUN is the hot path: test ioctl first. */
	if (!ret && (role == ROLE_VCPU || role == ROLE_UNION))
		ret = seccomp_syscall_priority(ctx, SYS_ioctl, 255);
	if (!ret)
		ret = add_rules(ctx, base_rules, sizeof(base_rules) / sizeof(base_rules[0]), pid);
	if (role == ROLE_UNION) {
		for (int r = 0; !ret && r < ROLE_UNION; r++)
			ret = add_role(ctx, (enum thread_role)r, pid);
		if (!ret)
			ret = add_rules(ctx, spawn_rules, sizeof(spawn_rules) / sizeof(spawn_rules[0]), pid);
	} else if (!ret) {
		ret = add_role(ctx, role, pid);
	}
	if (ret) {
		seccomp_release(ctx);
		*err = ret;
		return NULL;
	}
	return ctx;
}
