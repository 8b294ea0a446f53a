/* guard-target: the integrity guard against a stand-in VMM, on a host
 * without KVM. It plays kfv's supervisor: creates the guest RAM memfd, the
 * challenge channel and the key, forks a target process that does what the
 * VMM does for the guard (maps its RAM, runs the responder; with --jail it
 * locks itself down through the same jail and seccomp code as kfv), starts
 * the guard with guard_start(), and prints every line the guard writes.
 * Actions injected at given times are the compromise simulation's guard
 * hooks, plus a one-byte write into the target's code through
 * /proc/PID/mem. Used by tests/integration/host/guard.sh and
 * bench/guard-cost.sh.
 *
 * Output, one event a line, t= in ms since the target started:
 *   target pid=N ram_ino=N jailed=0|1
 *   t=N guard <line the guard wrote>
 *   t=N action NAME [detail]
 *   t=N policy kill check=NAME
 *   workload passes=N ns=N
 *   end target=exit:N|signal:N ram=released|<why>
 *
 * guard-target --answer-cost N: what the responder computes per challenge
 * (hashing this binary's code and read-only data from memory, then the
 * keyed hash), timed over N answers on this thread's CPU clock:
 *   answer cost ns=N bytes=N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices/compromise_sim.h"
#include "guard/guard.h"
#include "guard/responder.h"
#include "sandbox/jail.h"
#include "sandbox/lockdown.h"
#include "vmm/guest_mem.h"

#define POKE_CODE 100 /* the harness's own action: not a hook in the target */
#define MAX_ACTIONS 8

struct action {
	unsigned at_ms, what;
	bool done;
};

struct opts {
	unsigned period, jitter, deadline, duration, ram_mib, stats_every, sharing_every;
	bool jail, kill_on_alarm, no_guard, workload;
	int share_pid; /* map this process's guest RAM instead of a new memfd */
	struct action act[MAX_ACTIONS];
	unsigned nact;
};

/* What the target process needs; inherited across the fork. */
struct target {
	const struct opts *o;
	const struct jail *jail;
	int chan, ctl, ramfd;
	size_t ram_size;
	uint8_t key[GUARD_KEY_BYTES], digest[GUARD_DIGEST_BYTES];
};

/* Never called: the byte the poke action changes is in here. */
__attribute__((noinline, used)) int guard_target_unused(int x);
__attribute__((noinline, used)) int guard_target_unused(int x)
{
	return x * 7 + 3;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const struct {
	const char *name;
	unsigned what;
} action_names[] = {
	{ "stop-responder", GUARD_SIM_STOP_RESPONDER }, { "replay", GUARD_SIM_REPLAY },
	{ "exec-page", GUARD_SIM_EXEC_PAGE },           { "extra-fd", GUARD_SIM_EXTRA_FD },
	{ "poke-code", POKE_CODE },
};

static const char *action_name(unsigned what)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++)
		if (action_names[i].what == what)
			return action_names[i].name;
	return "?";
}

/* The stand-in VMM: RAM touched, responder up, then it waits for the
 * harness's commands (a hook number, or 'q'), running the workload if
 * asked. */
static int target_main(void *arg)
{
	const struct target *t = arg;
	struct jail_error jerr = { 0 };
	uint64_t passes = 0, t0;
	volatile uint8_t *ram;
	char msg[96];
	int n;

	if (t->jail && jail_child_start(t->jail, &jerr)) {
		fprintf(stderr, "guard-target: jail: %s\n", jerr.msg);
		return 120;
	}
	ram = mmap(NULL, t->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, t->ramfd, 0);
	if (ram == MAP_FAILED)
		return 121;
	for (size_t off = 0; off < t->ram_size; off += 4096)
		ram[off] = 1; /* every page present: frames to check */
	if (guard_responder_prepare(t->chan, t->key, t->digest))
		return 122;
	if (t->jail && sandbox_lockdown(t->jail, STDERR_FILENO, &jerr)) {
		fprintf(stderr, "guard-target: lock-down: %s\n", jerr.msg);
		return 123;
	}
	if (guard_responder_start() || sandbox_thread_role(ROLE_VMM_MAIN))
		return 124;
	t0 = now_ns();
	for (;;) {
		struct pollfd p = { t->ctl, POLLIN, 0 };
		char c;

		if (t->o->workload) {
			/* A guest's worth of memory traffic: one pass over its RAM. */
			for (size_t off = 0; off < t->ram_size; off += 64)
				ram[off]++;
			passes++;
		}
		if (poll(&p, 1, t->o->workload ? 0 : -1) <= 0)
			continue;
		if (read(t->ctl, &c, 1) != 1 || c == 'q')
			break;
		(void)guard_responder_sim((unsigned char)c);
	}
	n = snprintf(msg, sizeof(msg), "workload passes=%" PRIu64 " ns=%" PRIu64 "\n", passes, now_ns() - t0);
	if (t->o->workload && write(t->ctl, msg, (size_t)n) < 0)
		return 125;
	return 0;
}

/* Changes one byte of the target's code, as a debugger or an attacker with
 * ptrace rights would, through /proc/PID/mem. */
static void poke_code(pid_t pid, uint64_t ms)
{
	uint64_t addr = (uint64_t)(uintptr_t)guard_target_unused + 1; /* same address in the fork */
	char path[32];
	uint8_t b;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &b, 1, (off_t)addr) != 1) {
		printf("t=%" PRIu64 " action poke-code failed: %s\n", ms, strerror(errno));
	} else {
		b ^= 0xff;
		printf("t=%" PRIu64 " action poke-code addr=%#" PRIx64 " %s\n", ms, addr,
		       pwrite(fd, &b, 1, (off_t)addr) == 1 ? "written" : strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

/* Another process's guest RAM, reopened through its fd link: the same
 * memfd, as a compromised supervisor or VMM might hand it out. */
static int open_ram_of(int pid)
{
	for (int fd = 0; fd < 1024; fd++) {
		char path[48], link[128];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, GM_MEMFD_NAME))
			return open(path, O_RDWR | O_CLOEXEC);
	}
	return -ENOENT;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .period = 100, .duration = 2000, .ram_mib = 16,
			    .stats_every = 10, .sharing_every = 10 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--jail")) {
			o->jail = true;
		} else if (!strcmp(a, "--kill-on-alarm")) {
			o->kill_on_alarm = true;
		} else if (!strcmp(a, "--no-guard")) {
			o->no_guard = true;
		} else if (!strcmp(a, "--workload")) {
			o->workload = true;
		} else if (!v) {
			return -1;
		} else if (!strcmp(a, "--at")) {
			char name[32];
			unsigned ms;
			bool found = false;

			if (o->nact == MAX_ACTIONS || sscanf(v, "%u:%31s", &ms, name) != 2)
				return -1;
			for (size_t k = 0; k < sizeof(action_names) / sizeof(action_names[0]); k++) {
				if (!strcmp(name, action_names[k].name)) {
					o->act[o->nact++] = (struct action){ ms, action_names[k].what, false };
					found = true;
				}
			}
			if (!found)
				return -1;
			i++;
		} else {
			unsigned *dst = !strcmp(a, "--period") ? &o->period : !strcmp(a, "--jitter") ? &o->jitter
				      : !strcmp(a, "--deadline") ? &o->deadline : !strcmp(a, "--duration") ? &o->duration
				      : !strcmp(a, "--ram-mib") ? &o->ram_mib : !strcmp(a, "--stats-every") ? &o->stats_every
				      : !strcmp(a, "--sharing-every") ? &o->sharing_every : NULL;

			if (!strcmp(a, "--map-ram-of"))
				o->share_pid = atoi(v);
			else if (!dst)
				return -1;
			else
				*dst = (unsigned)strtoul(v, NULL, 10);
			i++;
		}
	}
	return 0;
}

struct run {
	struct opts *o;
	pid_t target, guard;
	int alarm_rd, ctl;
	uint64_t t0;
	bool killed, target_done;
	int ws;
	char pending[512];
	size_t npending;
};

static uint64_t ms_since(const struct run *r)
{
	return (now_ns() - r->t0) / 1000000u;
}

/* Prints the guard's complete lines; applies the kill policy to alarms. */
static bool drain_guard(struct run *r)
{
	ssize_t n = read(r->alarm_rd, r->pending + r->npending, sizeof(r->pending) - 1 - r->npending);
	char *nl;

	if (n <= 0)
		return false;
	r->npending += (size_t)n;
	r->pending[r->npending] = '\0';
	while ((nl = strchr(r->pending, '\n'))) {
		struct guard_line gl;

		*nl = '\0';
		printf("t=%" PRIu64 " guard %s\n", ms_since(r), r->pending);
		if (!guard_parse_line(r->pending, &gl) && gl.kind == GUARD_LINE_ALARM && r->o->kill_on_alarm &&
		    !r->killed && !r->target_done) {
			kill(r->target, SIGKILL);
			r->killed = true;
			printf("t=%" PRIu64 " policy kill check=%s\n", ms_since(r), gl.name);
		}
		r->npending -= (size_t)(nl + 1 - r->pending);
		memmove(r->pending, nl + 1, r->npending + 1);
	}
	fflush(stdout);
	return true;
}

static void watch(struct run *r)
{
	struct opts *o = r->o;

	while (ms_since(r) < o->duration && !r->target_done) {
		struct pollfd p = { r->alarm_rd, POLLIN, 0 };
		uint64_t now = ms_since(r);
		int wait = 20;

		for (unsigned i = 0; i < o->nact; i++) {
			struct action *a = &o->act[i];
			char c = (char)a->what;

			if (a->done || now < a->at_ms)
				continue;
			a->done = true;
			if (a->what == POKE_CODE) {
				poke_code(r->target, now);
				continue;
			}
			printf("t=%" PRIu64 " action %s\n", now, action_name(a->what));
			if (write(r->ctl, &c, 1) != 1)
				printf("t=%" PRIu64 " action %s: cannot reach the target\n", now, action_name(a->what));
		}
		fflush(stdout);
		if (poll(&p, 1, r->alarm_rd >= 0 ? wait : 0) > 0 && !drain_guard(r))
			r->alarm_rd = -1;
		if (r->alarm_rd < 0)
			usleep(20000);
		if (waitpid(r->target, &r->ws, WNOHANG) == r->target)
			r->target_done = true;
	}
}

static void finish_target(struct run *r)
{
	char buf[128];
	ssize_t n;

	if (r->target_done)
		return;
	if (write(r->ctl, "q", 1) == 1) {
		struct pollfd p = { r->ctl, POLLIN, 0 };

		if (r->o->workload && poll(&p, 1, 5000) > 0 && (n = read(r->ctl, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			fputs(buf, stdout);
		}
	}
	for (int i = 0; i < 300 && waitpid(r->target, &r->ws, WNOHANG) != r->target; i++)
		usleep(10000);
	if (kill(r->target, 0) == 0) {
		kill(r->target, SIGKILL);
		waitpid(r->target, &r->ws, 0);
	}
	r->target_done = true;
}

static int setup_jail(struct jail *j, struct jail_config *cfg, int *keep, size_t nkeep, int *lease, char *vm_id)
{
	struct jail_error jerr = { 0 };

	*lease = jail_alloc_uid(JAIL_UID_BASE, JAIL_UID_RANGE, &cfg->uid);
	if (*lease < 0)
		return *lease;
	cfg->gid = (gid_t)cfg->uid;
	cfg->vm_id = vm_id;
	cfg->ncpus = 1;
	cfg->max_fds = 64;
	cfg->keep_fds = keep;
	cfg->nkeep_fds = nkeep;
	cfg->allow_degraded = true;
	keep[nkeep - 1] = *lease;
	if (jail_prepare(cfg, j, &jerr)) {
		fprintf(stderr, "guard-target: jail: %s\n", jerr.msg);
		jail_release_uid(NULL, cfg->uid, *lease);
		return -1;
	}
	return 0;
}

/* The responder's work per challenge, in thread CPU time. */
static int answer_cost(unsigned n)
{
	uint8_t key[GUARD_KEY_BYTES] = { 1 }, nonce[GUARD_NONCE_BYTES] = { 2 }, digest[GUARD_DIGEST_BYTES] = { 3 };
	uint8_t mac[GUARD_MAC_BYTES];
	struct guard_image img;
	struct timespec a, b;
	uint64_t bytes = 0;

	if (sodium_init() < 0 || guard_image_self(&img) || !n)
		return 1;
	for (unsigned i = 0; i < img.n; i++)
		bytes += img.seg[i].size;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (unsigned i = 0; i < n; i++) {
		nonce[0] = (uint8_t)i;
		guard_answer(key, nonce, &img, digest, 2, mac);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	printf("answer cost ns=%" PRIu64 " bytes=%" PRIu64 "\n",
	       ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec) / n, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct target t = { 0 };
	struct run r = { 0 };
	struct guard_config gc;
	struct jail j;
	struct jail_config jcfg = { 0 };
	struct stat st;
	int sv[2], ctl[2], ap[2], keep[4], lease = -1;
	char vm_id[32], detail[200] = "";
	const char *ram_state;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--answer-cost"))
		return answer_cost((unsigned)strtoul(argv[2], NULL, 10));
	if (parse_args(argc, argv, &o) || !o.period || o.jitter >= o.period) {
		fprintf(stderr, "usage: guard-target [--period MS] [--jitter MS] [--deadline MS] [--duration MS] "
				"[--ram-mib N] [--jail] [--kill-on-alarm] [--no-guard] [--workload] [--stats-every N] "
				"[--sharing-every N] [--map-ram-of PID] [--at MS:ACTION]...\n"
				"ACTION: stop-responder, replay, exec-page, extra-fd, poke-code\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	t.o = &o;
	t.ram_size = (size_t)o.ram_mib << 20;
	t.ramfd = o.share_pid ? open_ram_of(o.share_pid) : gm_memfd_create(t.ram_size, 0);
	if (t.ramfd < 0 || fstat(t.ramfd, &st) < 0) {
		fprintf(stderr, "guard-target: guest RAM: %s\n", strerror(t.ramfd < 0 ? -t.ramfd : errno));
		return 1;
	}
	t.ram_size = (size_t)st.st_size;
	randombytes_buf(t.key, sizeof(t.key));
	crypto_generichash(t.digest, sizeof(t.digest), (const uint8_t *)"guard-target", 12, NULL, 0);
	if (guard_channel(sv) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) || pipe2(ap, O_CLOEXEC))
		return 1;
	t.chan = sv[1];
	t.ctl = ctl[1];
	keep[0] = sv[1];
	keep[1] = ctl[1];
	keep[2] = t.ramfd;
	snprintf(vm_id, sizeof(vm_id), "guard-target-%d", (int)getpid());
	jcfg.guest_memory_bytes = t.ram_size;
	if (o.jail && setup_jail(&j, &jcfg, keep, 4, &lease, vm_id))
		return 1;
	t.jail = o.jail ? &j : NULL;
	r.t0 = now_ns();
	r.target = o.jail ? jail_spawn(target_main, &t, CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) : fork();
	if (r.target == 0)
		_exit(target_main(&t));
	if (r.target < 0)
		return 1;
	close(sv[1]);
	close(ctl[1]);
	printf("target pid=%d ram_ino=%lu jailed=%d\n", (int)r.target, (unsigned long)st.st_ino, o.jail);

	guard_config_defaults(&gc);
	gc.vmm_pid = r.target;
	gc.alarm_fd = ap[1];
	gc.chan_fd = sv[0];
	memcpy(gc.key, t.key, sizeof(gc.key));
	memcpy(gc.config_digest, t.digest, sizeof(gc.config_digest));
	gc.period_ms = o.period;
	gc.jitter_ms = o.jitter;
	gc.deadline_ms = o.deadline;
	gc.stats_every = o.stats_every;
	gc.sharing_every = o.sharing_every;
	gc.sandboxed = o.jail;
	gc.ram_dev = st.st_dev;
	gc.ram_ino = st.st_ino;
	r.guard = o.no_guard ? 0 : guard_start(&gc);
	close(ap[1]);
	close(sv[0]);
	if (r.guard < 0) {
		fprintf(stderr, "guard-target: guard: %s\n", strerror(-r.guard));
		kill(r.target, SIGKILL);
		return 1;
	}
	r.o = &o;
	r.ctl = ctl[0];
	r.alarm_rd = o.no_guard ? -1 : ap[0];

	watch(&r);
	finish_target(&r);
	if (r.guard > 0)
		guard_stop(r.guard);
	while (r.alarm_rd >= 0 && drain_guard(&r))
		;
	/* The VM is gone: its RAM must be too. */
	ram_state = "released";
	if (o.share_pid)
		ram_state = "not-owned";
	else if (guard_check_ram_released(t.ramfd, detail, sizeof(detail)))
		ram_state = detail[0] ? detail : "unchecked";
	printf("end target=%s:%d ram=%s\n", WIFSIGNALED(r.ws) ? "signal" : "exit",
	       WIFSIGNALED(r.ws) ? WTERMSIG(r.ws) : WEXITSTATUS(r.ws), ram_state);
	if (o.jail) {
		struct jail_error jerr = { 0 };

		if (jail_cleanup(&j, &jerr))
			fprintf(stderr, "guard-target: jail cleanup: %s\n", jerr.msg);
		jail_release_uid(NULL, jcfg.uid, lease);
	}
	return 0;
}
