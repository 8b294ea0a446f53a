/* The jail one VMM process locks itself into before the first guest
 * instruction (HyperLock's "one confined VMM per guest"): fresh mount, IPC,
 * UTS, network, cgroup and PID namespaces, an empty read-only root, a uid no
 * other VM uses, no capabilities, no_new_privs, not dumpable, rlimits, and a
 * cgroup that caps memory, tasks and CPU. docs/jail.md gives each step and
 * its reason.
 *
 * Supervisor: jail_alloc_uid() → jail_prepare() → jail_spawn(child) →
 *             ho_supervise() (src/defense/orchestrator.h) → jail_cleanup() →
 *             jail_release_uid().
 * Child:      jail_child_start() first, then open every fd it will need,
 *             then jail_enter(); after that it opens nothing by path. */
#ifndef KFV_SANDBOX_JAIL_H
#define KFV_SANDBOX_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_DEFAULT_BASE   "/run/kfv"
#define JAIL_UID_DIR        "/run/kfv/uids"
#define JAIL_UID_BASE       900000u
#define JAIL_UID_RANGE      65536u
#define JAIL_CGROUP_ROOT    "/sys/fs/cgroup"
#define JAIL_CGROUP_PARENT  "kfv"
#define JAIL_VM_ID_MAX      64
#define JAIL_PATH_MAX       512
#define JAIL_KEEP_FDS_MAX   64

/* Allowance on top of guest RAM for the cgroup memory limit: the VMM's own
 * heap, stacks and the kernel's per-VM objects (page tables, rmaps, vCPU
 * state), which are charged to the same cgroup. See docs/jail.md. */
#define JAIL_OVERHEAD_BASE     (64ull << 20)
#define JAIL_OVERHEAD_PER_VCPU (8ull << 20)
#define JAIL_OVERHEAD_RAM_DIV  64 /* plus guest RAM / 64 for KVM's page tables */
/* Sanitizer builds need room for shadow memory and the allocator's quarantine. */
#define JAIL_OVERHEAD_SANITIZER (512ull << 20)
/* RLIMIT_MEMLOCK = guest RAM + this (or the current hard limit, if lower
 * and kfv cannot raise it): enough to lock guest memory and a few small
 * buffers, never the whole host. */
#define JAIL_MEMLOCK_SLACK     (4ull << 20)
/* Tasks beyond the vCPUs: main, console, one worker per device, the
 * kernel's io_uring workers (io-wq, up to 3 per disk) and spares. */
#define JAIL_EXTRA_TASKS       32u
/* CPU bandwidth beyond the vCPUs': device workers and io_uring's, in CPUs. */
#define JAIL_IO_CPUS           1u

struct jail_config {
	uid_t uid;                      /* from jail_alloc_uid(); never 0 */
	gid_t gid;                      /* never 0; by convention the same number as uid */
	const char *chroot_base;        /* NULL: JAIL_DEFAULT_BASE */
	const char *vm_id;              /* [A-Za-z0-9_.-], 1 to JAIL_VM_ID_MAX chars, no leading '.' */
	uint64_t guest_memory_bytes;
	unsigned ncpus;                 /* at least 1 */
	unsigned max_fds;               /* RLIMIT_NOFILE, at least 4: above every fd number the VMM
					 * reaches after jail_enter() (new fds take the lowest free number) */
	unsigned max_tasks;             /* RLIMIT_NPROC and pids.max; 0: ncpus + JAIL_EXTRA_TASKS */
	uint64_t memory_overhead_bytes; /* 0: jail_default_overhead() */
	const char *cgroup_root;        /* NULL: JAIL_CGROUP_ROOT */
	const char *cgroup_parent;      /* NULL: JAIL_CGROUP_PARENT; one path component */
	const int *keep_fds;            /* inherited fds besides 0-2 the child keeps (report pipe, uid lease) */
	size_t nkeep_fds;               /* at most JAIL_KEEP_FDS_MAX */
	bool keep_other_fds;            /* jail_child_start() closes no inherited fd (debugging only) */
	bool allow_degraded;            /* run without what the host cannot give (see enum jail_degraded) */
	const unsigned *cpuset;         /* host CPUs the VMM's tasks may run on, as a cpuset cgroup (each
					 * below CPU_SETSIZE), e.g. from jail_cpuset_for_dedicated();
					 * NULL or ncpuset 0: no cpuset. Read by jail_prepare() alone,
					 * which clears the pointer in its copy: it need not outlive it */
	unsigned ncpuset;
	uint64_t max_file_size;         /* RLIMIT_FSIZE: the largest writable disk image's size, so that no
					 * VMM thread grows an image past it (pwrite, fallocate, io_uring);
					 * 0: no limit (no writable image to protect) */
};

/* What the jail runs without when allow_degraded let it. Never silent: the
 * supervisor must report jail.degraded_msg. */
enum jail_degraded {
	JAIL_DEGRADED_CGROUP = 1u << 0, /* no cgroup: no memory, task or CPU limit, no freeze */
	JAIL_DEGRADED_CPUSET = 1u << 1, /* cfg.cpuset asked for, no cpuset controller: the VMM's CPUs are
					 * kept by its own sched_setaffinity() alone. Recorded whatever
					 * allow_degraded says: never a failure */
};

enum jail_cgroup_kind { JAIL_CGROUP_NONE, JAIL_CGROUP_V1, JAIL_CGROUP_V2 };

/* Indexes into jail_cgroup.path. On v2 all four name the same directory. */
enum jail_controller { JAIL_CG_MEMORY, JAIL_CG_PIDS, JAIL_CG_CPU, JAIL_CG_FREEZER, JAIL_CG_COUNT };

struct jail_cgroup {
	enum jail_cgroup_kind kind;
	char path[JAIL_CG_COUNT][JAIL_PATH_MAX]; /* the VM's cgroup directory per controller */
	char cpuset[JAIL_PATH_MAX]; /* the VM's cpuset directory, "" without one: on v2 the same as
				     * path[], else <root>/cpuset/<parent>/<vm_id> (v1 or hybrid) */
};

/* What jail_prepare() made. The child inherits a copy across jail_spawn();
 * the strings in cfg must outlive it. */
struct jail {
	struct jail_config cfg;
	char dir[JAIL_PATH_MAX];  /* <chroot_base>/<vm_id>, mode 0700 */
	char root[JAIL_PATH_MAX]; /* <dir>/root, mode 0755, empty: becomes the VMM's "/" */
	struct jail_cgroup cg;
	uint64_t memory_limit;    /* cgroup memory limit in bytes */
	uint64_t memlock_limit;   /* RLIMIT_MEMLOCK the child will set */
	unsigned max_tasks;
	unsigned degraded;        /* enum jail_degraded bits */
	char degraded_msg[256];   /* why, one line, when degraded != 0 */
};

/* One failure, one line: msg reads "<step>: <what>[: <strerror>]". */
struct jail_error {
	const char *step; /* static string naming the step that failed */
	int err;          /* negative errno */
	char msg[320];
};

/* Leases the lowest free uid in [base, base + range) by holding an flock on
 * JAIL_UID_DIR/<uid>; returns the lock fd (the lease lives while any copy of
 * it is open) and stores the uid in *out, or a negative errno: -EAGAIN when
 * every uid in the range is leased. */
int jail_alloc_uid(uint32_t base, uint32_t range, uid_t *out) __attribute__((warn_unused_result));

/* The same with the lock files in `dir` (created 0700 if missing). */
int jail_alloc_uid_at(const char *dir, uint32_t base, uint32_t range, uid_t *out)
	__attribute__((warn_unused_result));

/* Ends the lease: removes the lock file while still holding the lock, then
 * closes lock_fd. dir NULL means JAIL_UID_DIR. */
void jail_release_uid(const char *dir, uid_t uid, int lock_fd);

/* The cpuset for a VMM whose vCPUs have dedicated host CPUs: the dedicated
 * CPUs plus every CPU in the caller's affinity mask, which is where
 * pinning_keep_off() leaves the VMM's other threads (the VMM child inherits
 * the mask). Sorted, without duplicates, into out[max]; returns how many,
 * or -EINVAL (a CPU at or above CPU_SETSIZE, or more than max), or the
 * error of sched_getaffinity(). See docs/jail.md, "cpuset". */
int jail_cpuset_for_dedicated(const unsigned *dedicated, unsigned n, unsigned *out, unsigned max)
	__attribute__((warn_unused_result));

/* The default memory overhead for a VM of this size. */
uint64_t jail_default_overhead(uint64_t guest_memory_bytes, unsigned ncpus);

/* Supervisor side, before spawning: validates c, creates the empty root
 * directory and the VM's cgroup with its limits, and decides the rlimits.
 * On failure nothing is left behind and err names the step. When
 * c->allow_degraded let it go on without something, j->degraded says what. */
int jail_prepare(const struct jail_config *c, struct jail *j, struct jail_error *err)
	__attribute__((warn_unused_result));

/* Forks a child in a new PID namespace (it is PID 1 there) that returns
 * fn(arg) as its exit status through _exit(). The child starts with SIGINT,
 * SIGTERM and SIGHUP blocked and a parent death signal of SIGKILL tied to
 * the calling thread: as PID 1 it would ignore a stop signal it has no
 * handler for, so it reads them from a signalfd, and the supervisor takes
 * the ones sent to it and relays them (ho_supervise()). flags_extra may add
 * CLONE_NEWNS/IPC/UTS/NET/CGROUP, unshared in the child before fn. Returns
 * the child's pid or a negative errno. The supervisor's own PID namespace
 * for later children is restored before returning. */
pid_t jail_spawn(int (*fn)(void *), void *arg, int flags_extra) __attribute__((warn_unused_result));

/* Child side, first thing after the fork: moves the process into the VM's
 * cgroup, so that everything it allocates from here on (guest RAM, KVM's
 * objects) is charged there, and closes every fd it inherited except 0-2
 * and cfg.keep_fds. */
int jail_child_start(const struct jail *j, struct jail_error *err) __attribute__((warn_unused_result));

/* Child side, after every fd the VMM needs is open and before the first
 * guest instruction: all the steps of docs/jail.md in order. On return 0 the
 * process is uid j->cfg.uid with no capabilities, no_new_privs, in its own
 * namespaces with an empty read-only root. Refuses to start if any open fd
 * is a directory. On failure the process is half jailed and must exit; err
 * names the step. Needs root (CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID,
 * CAP_SETPCAP) and PID 1 of a namespace of its own (jail_spawn()). */
int jail_enter(const struct jail *j, struct jail_error *err) __attribute__((warn_unused_result));

/* Supervisor side, once the child is gone: kills anything left in the
 * cgroup, removes the cgroup and the root directory. Idempotent; safe after
 * a failed or partial jail_prepare(). Returns the first error. */
int jail_cleanup(struct jail *j, struct jail_error *err);

/* For a supervisor restarting after a crash, with no struct jail left:
 * removes the cgroup and root directory jail_prepare() would make for c,
 * unless the cgroup still has tasks (-EBUSY: that VM is running). Kills
 * nothing. Idempotent. */
int jail_remove_stale(const struct jail_config *c, struct jail_error *err) __attribute__((warn_unused_result));

/* Before jail_prepare(): removes, as jail_remove_stale() does, the state
 * of every VM under c's base directory named "vm-PID" whose supervisor PID
 * no longer exists (one killed with SIGKILL leaves its directories behind)
 * or is this very process (a PID reused: that state cannot be ours yet).
 * A VM whose cgroup still has tasks is left alone. Returns how many were
 * removed; errors are not fatal to the caller's own start and are not
 * reported. */
int jail_sweep_stale(const struct jail_config *c);

/* Out-of-band responses for an orchestrator. Freezes or thaws every task of
 * the VM (cgroup.freeze on v2, freezer.state on v1). */
int jail_freeze(const struct jail *j, bool frozen) __attribute__((warn_unused_result));

/* Sets the VM's CPU bandwidth to quota_us per period_us (quota 0: no limit). */
int jail_set_cpu_limit(const struct jail *j, uint64_t quota_us, uint64_t period_us)
	__attribute__((warn_unused_result));

/* SIGKILLs every task in the VM's cgroup (cgroup.kill where the kernel has
 * it) and waits up to a second for the cgroup to empty. */
int jail_kill_all(const struct jail *j) __attribute__((warn_unused_result));

#endif
