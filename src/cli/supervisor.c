#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "../defense/event_log.h"
#include "../defense/orchestrator.h"
#include "../defense/policy.h"
#include "../defense/telemetry.h"
#include "../guard/guard.h"
#include "options_digest.h"
#include "../sandbox/jail.h"
#include "../sandbox/seccomp.h"
#include "../util/log.h"
#include "../vmm/exit_status.h"
#include "../vmm/guest_mem.h"

/* Everything one VMM process is handed. */
struct vmm_child {
	const struct run_options *opts;
	const struct jail *jail; /* NULL: unjailed */
	struct run_lockdown lock;
};

/* What lives for the whole run, across restarts. */
struct run_state {
	const struct run_options *o;
	char name[EVENT_VM_MAX];
	struct policy *policy;
	struct event_log *log;
	struct telemetry *tel;
	struct ho ho;
	uint8_t config_digest[GUARD_DIGEST_BYTES];
	uid_t uid;
	int lease;
	bool guest_ran; /* some VMM of this run got as far as the guest's first instruction */
	bool guarded;   /* an integrity guard watches each VMM */
};

/* The VMM process (PID 1 of its namespace when jailed). It prints its own
 * errors and returns its status; the supervisor adds nothing to a normal
 * exit. */
static int vmm_main(void *arg)
{
	struct vmm_child *c = arg;
	struct jail_error jerr = { 0 };
	struct run_error err = { 0 };
	int status;

	if (c->jail && jail_child_start(c->jail, &jerr)) {
		fprintf(stderr, "kfv: jail: %s\n", jerr.msg);
		return KFV_EXIT_JAIL;
	}
	status = run_vm_locked(c->opts, &c->lock, &err);
	if (err.msg[0])
		fprintf(stderr, "kfv: %s\n", err.msg);
	fflush(NULL);
	/* Nothing of the supervisor's is left open when the VMM ends (the
	 * guest memfd went with the VM). */
	close(c->lock.report_fd);
	close(c->lock.ctl_fd);
	if (c->lock.guard_fd >= 0)
		close(c->lock.guard_fd);
	return status;
}

static int fail(struct run_error *err, int status, const char *what, const char *msg)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %s", what, msg);
	err->status = status;
	return status;
}

static int interpret(struct run_state *rs, int ws, const char *report, struct run_error *err)
{
	struct ho *ho = &rs->ho;
	char line[256];

	if (seccomp_violation_describe(ws, report, line, sizeof(line))) {
		ho_event(ho, EV_SECCOMP, SEV_CRITICAL, "vmm", 1, "%s", line);
		return fail(err, KFV_EXIT_SECCOMP, "VMM killed by seccomp", line);
	}
	if (ho->killed_by_policy && WIFSIGNALED(ws))
		return fail(err, KFV_EXIT_POLICY_KILL, "VM killed by policy", ho->kill_reason);
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws)) {
		snprintf(line, sizeof(line), "died from signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
		ho_event(ho, EV_VMM_DIED, SEV_CRITICAL, "vmm", 1, "%s", line);
		return fail(err, KFV_EXIT_VMM_DIED, "VMM", line);
	}
	return fail(err, KFV_EXIT_INTERNAL, "VMM", "unexpected wait status");
}

static void print_sandbox_summary(const struct jail *j)
{
	static const char *const kinds[] = { "none", "v1", "v2" };

	fprintf(stderr,
		"kfv: sandbox: VMM jailed as uid %u in its own pid/mount/net/ipc/uts namespaces, empty read-only "
		"root, no capabilities, no_new_privs, seccomp per thread role (vcpu, device-io, console, main), "
		"cgroup %s (memory %llu MiB, %u tasks)\n",
		(unsigned)j->cfg.uid, kinds[j->cg.kind], (unsigned long long)(j->memory_limit >> 20), j->max_tasks);
	if (j->degraded)
		fprintf(stderr, "kfv: sandbox degraded: %s\n", j->degraded_msg);
}

/* RLIMIT_FSIZE for the jail: the size of the largest disk image the guest
 * may write (a block device cannot grow; a read-only image is never
 * written). With several images, a smaller one could still be grown up
 * to the largest one's size: docs/jail.md. */
static uint64_t largest_writable_image(const struct run_options *o)
{
	uint64_t max = 0;

	for (unsigned i = 0; i < o->nr_disks; i++) {
		struct stat st;

		if (o->disks[i].read_only || stat(o->disks[i].path, &st) || !S_ISREG(st.st_mode))
			continue;
		if ((uint64_t)st.st_size > max)
			max = (uint64_t)st.st_size;
	}
	return max;
}

/* The unjailed VMM: its own process all the same, so the orchestrator
 * watches it and can stop or kill it the same way. */
static pid_t spawn_unjailed(struct vmm_child *child)
{
	pid_t pid = fork();

	if (pid == 0) {
		const struct run_lockdown *l = &child->lock;
		long max = sysconf(_SC_OPEN_MAX);

		/* Only what a jailed VMM would keep (the events file, the
		 * policy and the guard's fds are the supervisor's). */
		for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			if (fd != l->report_fd && fd != l->guest_memfd && fd != l->ctl_fd && fd != l->guard_fd)
				close(fd);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			_exit(KFV_EXIT_OS_ERROR);
		_exit(vmm_main(child) & 0xff);
	}
	return pid < 0 ? -errno : pid;
}

/* The guard for one VMM (docs/guard.md): forked right after the VMM, with
 * the challenge channel's other end and the key the VMM got. */
static pid_t start_guard(struct run_state *rs, pid_t vmm, int chan_fd, int alarm_fd, int memfd, const uint8_t *key)
{
	struct guard_config gc;
	struct stat st;

	guard_config_defaults(&gc);
	gc.vmm_pid = vmm;
	gc.alarm_fd = alarm_fd;
	gc.chan_fd = chan_fd;
	memcpy(gc.key, key, sizeof(gc.key));
	memcpy(gc.config_digest, rs->config_digest, sizeof(gc.config_digest));
	gc.period_ms = rs->o->guard_period_ms;
	gc.sandboxed = !rs->o->no_sandbox;
	if (fstat(memfd, &st) == 0) {
		gc.ram_dev = st.st_dev;
		gc.ram_ino = st.st_ino;
	}
	pid_t pid = guard_start(&gc);

	sodium_memzero(gc.key, sizeof(gc.key));
	return pid;
}

/* After the VMM: the guard's last lines. */
static void finish_guard(struct run_state *rs, pid_t guard, int alarm_fd)
{
	int flags = fcntl(alarm_fd, F_GETFL);

	if (guard > 0)
		(void)guard_stop(guard);
	if (flags >= 0)
		(void)fcntl(alarm_fd, F_SETFL, flags | O_NONBLOCK);
	for (int i = 0; i < 64; i++) {
		size_t before = rs->ho.guard_have;
		uint64_t checks = rs->ho.guard_checks, alarms = rs->ho.guard_alarms;

		ho_read_guard(&rs->ho, alarm_fd);
		if (before == rs->ho.guard_have && checks == rs->ho.guard_checks && alarms == rs->ho.guard_alarms)
			break;
	}
}

/* Once the VMM is gone and the policy had its say (a dump reads this
 * memory): guest RAM scrubbed, and held by nobody else. */
static void check_ram_released(struct run_state *rs, int memfd)
{
	char detail[200];

	if (guard_check_ram_released(memfd, detail, sizeof(detail)) == 1)
		ho_event(&rs->ho, EV_GUARD_ALARM, SEV_CRITICAL, "ram_released", 1, "%s", detail);
}

/* One VMM process from start to end: its guest RAM, its jail, its
 * channels; supervised by the orchestrator. Returns the exit status. */
static int run_once(struct run_state *rs, struct run_error *err)
{
	const struct run_options *o = rs->o;
	struct jail_config cfg = { 0 };
	struct jail_error jerr = { 0 };
	struct jail j;
	struct vmm_child child;
	struct ho_config hc;
	char vm_id[32], report[512] = "";
	int keep[5], pipefd[2] = { -1, -1 }, ctl[2] = { -1, -1 }, gsv[2] = { -1, -1 }, galarm[2] = { -1, -1 };
	int memfd, ws = 0, status, ret;
	bool jailed = !o->no_sandbox, jail_made = false;
	uint8_t key[GUARD_KEY_BYTES];
	pid_t pid, guard = -1;

	memfd = gm_memfd_create(o->memory, o->hugepages ? GM_HUGEPAGES : 0);
	if (memfd < 0)
		return fail(err, KFV_EXIT_UNAVAILABLE, "guest memory", strerror(-memfd));
	if (pipe2(pipefd, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		status = fail(err, KFV_EXIT_OS_ERROR, "report channels", strerror(errno));
		goto out;
	}
	child = (struct vmm_child){
		.opts = o,
		.lock = { .report_fd = pipefd[1], .guest_memfd = memfd, .ctl_fd = ctl[1], .guard_fd = -1 },
	};
	if (rs->guarded) {
		/* A fresh key for each VMM: one that leaked from an earlier,
		 * corrupted VMM answers nothing. */
		randombytes_buf(key, sizeof(key));
		if (guard_channel(gsv) < 0 || pipe2(galarm, O_CLOEXEC) < 0) {
			status = fail(err, KFV_EXIT_OS_ERROR, "guard channels", strerror(errno));
			goto out;
		}
		child.lock.guard_fd = gsv[1];
		child.lock.guard_key = key;
		child.lock.config_digest = rs->config_digest;
	}
	telemetry_reset(rs->tel);
	hc = (struct ho_config){
		.vm = rs->name, .policy = rs->policy, .log = rs->log, .tel = rs->tel, .guest_memfd = memfd,
		.guest_size = o->memory, .forensics_dir = o->forensics, .metrics = o->metrics != NULL,
	};
	for (unsigned i = 0; i < o->nr_nets && i < HO_MAX_TAPS; i++)
		hc.taps[hc.ntaps++] = o->nets[i].tap;

	if (jailed) {
		snprintf(vm_id, sizeof(vm_id), "vm-%d", (int)getpid());
		cfg.uid = rs->uid;
		cfg.gid = (gid_t)rs->uid;
		cfg.vm_id = vm_id;
		cfg.guest_memory_bytes = o->memory;
		cfg.ncpus = o->cpus;
		/* --dedicated-cpus: a cpuset of those CPUs plus the ones kfv's other threads keep (docs/jail.md) */
		unsigned vmm_cpus[CPU_SETSIZE];
		int nvmm_cpus = o->ndedicated ? jail_cpuset_for_dedicated(o->dedicated, o->ndedicated, vmm_cpus,
									   CPU_SETSIZE)
					      : 0;
		cfg.cpuset = nvmm_cpus > 0 ? vmm_cpus : NULL;
		cfg.ncpuset = nvmm_cpus > 0 ? (unsigned)nvmm_cpus : 0;
		cfg.max_fds = 64 + 2 * o->cpus; /* vCPU fds and their run mappings' neighbours */
		cfg.max_file_size = largest_writable_image(o);
		/* A host that cannot give a cgroup or the memlock limit still gets
		 * the rest of the jail; what is missing is printed in the summary. */
		cfg.allow_degraded = true;
		keep[0] = pipefd[1];
		keep[1] = rs->lease;
		keep[2] = memfd;
		keep[3] = ctl[1];
		keep[4] = gsv[1];
		cfg.keep_fds = keep;
		cfg.nkeep_fds = gsv[1] >= 0 ? 5 : 4;
		/* A supervisor killed with SIGKILL left its VM's directories; one
		 * of them may even bear our PID. */
		if (jail_sweep_stale(&cfg) > 0)
			log_debug("jail: removed what dead supervisors left behind");
		ret = jail_prepare(&cfg, &j, &jerr);
		if (ret) {
			status = fail(err, KFV_EXIT_JAIL, "jail", jerr.msg);
			goto out;
		}
		jail_made = true;
		hc.jail = &j;
		child.jail = &j;
		child.lock.jail = &j;
		/* The network namespace is left for jail_enter(): the VMM must
		 * open its TAPs in the host's namespace first, then lose it. */
		pid = jail_spawn(vmm_main, &child, CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS);
	} else {
		pid = spawn_unjailed(&child);
	}
	close(pipefd[1]);
	close(ctl[1]);
	pipefd[1] = ctl[1] = -1;
	if (gsv[1] >= 0) {
		close(gsv[1]);
		gsv[1] = -1;
	}
	if (pid < 0) {
		status = fail(err, KFV_EXIT_JAIL, "starting the VMM", strerror(-pid));
		goto out;
	}
	if (gsv[0] >= 0) {
		guard = start_guard(rs, pid, gsv[0], galarm[1], memfd, key);
		close(galarm[1]);
		close(gsv[0]);
		galarm[1] = gsv[0] = -1;
		if (guard < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			status = fail(err, KFV_EXIT_OS_ERROR, "starting the guard", strerror(-guard));
			goto out;
		}
	}
	sodium_memzero(key, sizeof(key));
	/* The orchestrator's config names this incarnation's jail and RAM. */
	rs->ho.cfg = hc;
	rs->ho.restart_requested = rs->ho.killed_by_policy = false;
	rs->ho.guard_pid = guard;
	ho_event(&rs->ho, EV_VM_START, SEV_INFO, "vmm", 1, "VMM %d started%s (%s)", (int)pid,
		 rs->ho.restarts ? " again" : "", jailed ? "jailed" : "unjailed: --no-sandbox");
	ret = ho_supervise(&rs->ho, pid, pipefd[0], ctl[0], galarm[0], report, sizeof(report), &ws);
	ho_vmm_gone(&rs->ho);
	if (galarm[0] >= 0)
		finish_guard(rs, guard, galarm[0]);
	if (ret) {
		status = fail(err, KFV_EXIT_OS_ERROR, "supervising the VMM", strerror(-ret));
		goto out;
	}
	status = interpret(rs, ws, report, err);
	if (rs->guarded)
		check_ram_released(rs, memfd);
	/* Only a VM that got as far as running has a sandbox worth reporting;
	 * a refused start stays one line. */
	if (jailed && !o->quiet && strstr(report, RUN_LOCKED_MARKER))
		print_sandbox_summary(&j);
	if (strstr(report, RUN_STARTED_MARKER))
		rs->guest_ran = true;
out:
	if (jail_made && jail_cleanup(&j, &jerr))
		fprintf(stderr, "kfv: jail cleanup: %s\n", jerr.msg);
	rs->ho.cfg.jail = NULL;
	for (int i = 0; i < 2; i++) {
		if (pipefd[i] >= 0)
			close(pipefd[i]);
		if (ctl[i] >= 0)
			close(ctl[i]);
		if (gsv[i] >= 0)
			close(gsv[i]);
		if (galarm[i] >= 0)
			close(galarm[i]);
	}
	sodium_memzero(key, sizeof(key));
	close(memfd);
	rs->ho.cfg.guest_memfd = -1;
	return status;
}

static int load_policy(struct run_state *rs, struct run_error *err)
{
	char msg[sizeof(err->msg) - 16];
	int ret;

	if (rs->o->policy)
		ret = policy_load_file(rs->o->policy, &rs->policy, msg, sizeof(msg));
	else
		ret = policy_load_default(&rs->policy, msg, sizeof(msg));
	if (ret)
		return fail(err, rs->o->policy ? KFV_EXIT_USAGE : KFV_EXIT_INTERNAL, "--policy", msg);
	return 0;
}

int supervise_run(const struct run_options *o, struct run_error *err)
{
	struct run_state rs = { .o = o, .lease = -1 };
	struct ho_config hc = { 0 };
	int status, ret;

	err->msg[0] = '\0';
	if (o->no_sandbox)
		fprintf(stderr, "kfv: warning: --no-sandbox: the VMM runs unjailed, with all of kfv's privileges "
				"and no seccomp filter (for debugging only)\n");
	/* Bad input is reported before any state exists. */
	status = run_validate(o, err);
	if (status)
		return status;
	if (!o->no_sandbox && geteuid() != 0)
		return fail(err, KFV_EXIT_JAIL, "jail", "needs root to build the VMM's jail (or --no-sandbox, for debugging)");
	/* The guard reads the VMM through ptrace access and pagemap, which an
	 * unprivileged kfv cannot give it: without root it would only ever
	 * raise alarms about itself. */
	rs.guarded = !o->no_guard && geteuid() == 0;
	if (!o->no_guard && !rs.guarded)
		fprintf(stderr, "kfv: warning: not root: no integrity guard watches the VMM (as with --no-guard)\n");
	status = load_policy(&rs, err);
	if (status)
		return status;
	if (sodium_init() < 0) {
		status = fail(err, KFV_EXIT_OS_ERROR, "libsodium", "cannot initialise");
		goto out_policy;
	}
	options_digest(o, rs.config_digest);
	snprintf(rs.name, sizeof(rs.name), "%s", o->name ? o->name : "");
	if (!o->name)
		snprintf(rs.name, sizeof(rs.name), "vm-%d", (int)getpid());
	ret = event_log_open(&rs.log, o->events, o->metrics, rs.name);
	if (ret) {
		status = fail(err, KFV_EXIT_NO_INPUT, o->events ? "--events/--metrics" : "--metrics", strerror(-ret));
		goto out_policy;
	}
	rs.tel = telemetry_create_shared();
	if (!rs.tel) {
		status = fail(err, KFV_EXIT_OS_ERROR, "telemetry page", strerror(errno));
		goto out_log;
	}
	if (!o->no_sandbox) {
		rs.lease = jail_alloc_uid(JAIL_UID_BASE, JAIL_UID_RANGE, &rs.uid);
		if (rs.lease < 0) {
			status = fail(err, KFV_EXIT_JAIL, "jail: allocating a uid", strerror(-rs.lease));
			goto out_tel;
		}
	}
	hc = (struct ho_config){ .vm = rs.name, .policy = rs.policy, .log = rs.log, .tel = rs.tel, .guest_memfd = -1 };
	ho_init(&rs.ho, &hc);
	for (;;) {
		status = run_once(&rs, err);
		if (!rs.ho.restart_requested || rs.ho.quarantined ||
		    rs.ho.restarts >= policy_settings(rs.policy)->restart_budget)
			break;
		rs.ho.restarts++;
		if (err->msg[0])
			fprintf(stderr, "kfv: %s\n", err->msg);
		fprintf(stderr, "kfv: restarting the VM from its original configuration (restart %u of %u)\n",
			rs.ho.restarts, policy_settings(rs.policy)->restart_budget);
		err->msg[0] = '\0';
	}
	ho_event(&rs.ho, EV_VM_END, SEV_INFO, "vm", 1, "run ended with status %d%s%s", status,
		 err->msg[0] ? ": " : "", err->msg);
	ho_write_metrics(&rs.ho); /* the final metrics: up 0 */
	if (!o->quiet && rs.guest_ran) {
		event_log_print_summary(rs.log, stderr);
		ho_print_summary(&rs.ho, stderr);
	}
	if (rs.lease >= 0)
		jail_release_uid(NULL, rs.uid, rs.lease);
out_tel:
	telemetry_destroy(rs.tel);
out_log:
	event_log_close(rs.log);
out_policy:
	policy_free(rs.policy);
	return status;
}
