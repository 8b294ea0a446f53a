#define _GNU_SOURCE
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sandbox/jail.h"
#include "../sandbox/seccomp.h"
#include "../vmm/exit_status.h"

struct vmm_child {
	const struct run_options *opts;
	const struct jail *jail;
	int report_fd;
};

/* The VMM process: PID 1 of its namespace. It prints its own errors and
 * returns its status; the supervisor adds nothing to a normal exit. */
static int vmm_main(void *arg)
{
	const struct vmm_child *c = arg;
	struct run_lockdown lock = { .jail = c->jail, .report_fd = c->report_fd };
	struct jail_error jerr = { 0 };
	struct run_error err = { 0 };
	int status;

	if (jail_child_start(c->jail, &jerr)) {
		fprintf(stderr, "kfv: jail: %s\n", jerr.msg);
		return KFV_EXIT_JAIL;
	}
	status = run_vm_locked(c->opts, &lock, &err);
	if (err.msg[0])
		fprintf(stderr, "kfv: %s\n", err.msg);
	fflush(NULL);
	return status;
}

static int fail(struct run_error *err, int status, const char *what, const char *msg)
{
	snprintf(err->msg, sizeof(err->msg), "%s: %.250s", what, msg);
	err->status = status;
	return status;
}

static int interpret(int ws, const char *report, struct run_error *err)
{
	char line[256];

	if (seccomp_violation_describe(ws, report, line, sizeof(line)))
		return fail(err, KFV_EXIT_SECCOMP, "VMM killed by seccomp", line);
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws)) {
		snprintf(line, sizeof(line), "died from signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
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

static int run_unjailed(const struct run_options *o, struct run_error *err)
{
	fprintf(stderr, "kfv: warning: --no-sandbox: the VMM runs unjailed, with all of kfv's privileges "
			"and no seccomp filter (for debugging only)\n");
	return run_vm(o, err);
}

int supervise_run(const struct run_options *o, struct run_error *err)
{
	struct jail_config cfg = { 0 };
	struct jail_error jerr = { 0 };
	struct jail j;
	struct vmm_child child;
	char vm_id[32], report[512] = "";
	int keep[2], pipefd[2] = { -1, -1 }, lease, ws = 0, status, ret;
	pid_t pid;

	err->msg[0] = '\0';
	if (o->no_sandbox)
		return run_unjailed(o, err);
	/* Bad input is reported before any jail state exists. */
	status = run_validate(o, err);
	if (status)
		return status;
	if (geteuid() != 0)
		return fail(err, KFV_EXIT_JAIL, "jail", "needs root to build the VMM's jail (or --no-sandbox, for debugging)");

	lease = jail_alloc_uid(JAIL_UID_BASE, JAIL_UID_RANGE, &cfg.uid);
	if (lease < 0)
		return fail(err, KFV_EXIT_JAIL, "jail: allocating a uid", strerror(-lease));
	cfg.gid = (gid_t)cfg.uid;
	snprintf(vm_id, sizeof(vm_id), "vm-%d", (int)getpid());
	cfg.vm_id = vm_id;
	cfg.guest_memory_bytes = o->memory;
	cfg.ncpus = o->cpus;
	cfg.max_fds = 64 + 2 * o->cpus; /* vCPU fds and their run mappings' neighbours */
	/* A host that cannot give a cgroup or the memlock limit still gets the
	 * rest of the jail; what is missing is printed in the summary. */
	cfg.allow_degraded = true;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		status = fail(err, KFV_EXIT_OS_ERROR, "report pipe", strerror(errno));
		goto out_lease;
	}
	keep[0] = pipefd[1];
	keep[1] = lease;
	cfg.keep_fds = keep;
	cfg.nkeep_fds = 2;
	ret = jail_prepare(&cfg, &j, &jerr);
	if (ret) {
		status = fail(err, KFV_EXIT_JAIL, "jail", jerr.msg);
		goto out_pipe;
	}

	child = (struct vmm_child){ .opts = o, .jail = &j, .report_fd = pipefd[1] };
	/* The network namespace is left for jail_enter(): the VMM must open its
	 * TAPs in the host's namespace first, then lose it. */
	pid = jail_spawn(vmm_main, &child, CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (pid < 0) {
		status = fail(err, KFV_EXIT_JAIL, "jail: starting the VMM", strerror(-pid));
		goto out_jail;
	}
	ret = jail_supervise(pid, pipefd[0], report, sizeof(report), &ws);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, &ws, 0);
		status = fail(err, KFV_EXIT_OS_ERROR, "supervising the VMM", strerror(-ret));
		goto out_jail;
	}
	status = interpret(ws, report, err);
	/* Only a VM that got as far as running has a sandbox worth reporting;
	 * a refused start stays one line. */
	if (!o->quiet && strstr(report, RUN_LOCKED_MARKER))
		print_sandbox_summary(&j);
out_jail:
	if (jail_cleanup(&j, &jerr))
		fprintf(stderr, "kfv: jail cleanup: %s\n", jerr.msg);
out_pipe:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
out_lease:
	jail_release_uid(NULL, cfg.uid, lease);
	return status;
}
