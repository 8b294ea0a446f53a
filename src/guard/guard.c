#define _GNU_SOURCE
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard_internal.h"

#define GUARD_NOBODY 65534

static const char *const check_names[GUARD_CHECK_COUNT] = {
	[GUARD_CODE_MODIFIED] = "code_modified", [GUARD_UNRESPONSIVE] = "unresponsive",
	[GUARD_REPLAYED] = "replayed_answer",    [GUARD_CODE_PAGES] = "code_pages",
	[GUARD_STATUS] = "status",               [GUARD_MAPS] = "maps",
	[GUARD_FDS] = "fds",                     [GUARD_THREADS] = "threads",
	[GUARD_NAMESPACES] = "namespaces",       [GUARD_PAGE_SHARING] = "page_sharing",
	[GUARD_KSM] = "ksm",                     [GUARD_SELF] = "guard",
};

const char *guard_check_name(enum guard_check c)
{
	return (unsigned)c < GUARD_CHECK_COUNT ? check_names[c] : "?";
}

void guard_config_defaults(struct guard_config *c)
{
	memset(c, 0, sizeof(*c));
	c->alarm_fd = c->chan_fd = c->exe_fd = -1;
	c->period_ms = GUARD_DEFAULT_PERIOD_MS;
	c->start_timeout_ms = 20000;
	c->stats_every = 10;
	c->sharing_every = 10;
	c->frame_checks = true;
}

int guard_channel(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ? -errno : 0;
}

int vec_push(struct vec *v, const void *e)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *p = realloc(v->p, cap * v->elem);

		if (!p)
			return -ENOMEM;
		v->p = p;
		v->cap = cap;
	}
	memcpy((char *)v->p + v->n++ * v->elem, e, v->elem);
	return 0;
}

void vec_free(struct vec *v)
{
	free(v->p);
	v->p = NULL;
	v->n = v->cap = 0;
}

void guard_random(struct guard *g, void *buf, size_t len)
{
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = { 0 };

	memcpy(nonce, &g->rng_ctr, sizeof(g->rng_ctr) < sizeof(nonce) ? sizeof(g->rng_ctr) : sizeof(nonce));
	g->rng_ctr++;
	crypto_stream_chacha20(buf, len, nonce, g->rng_key);
}

uint32_t guard_random_below(struct guard *g, uint32_t n)
{
	uint64_t r;

	guard_random(g, &r, sizeof(r));
	return n ? (uint32_t)(r % n) : 0; /* 64 random bits: the bias is negligible */
}

uint64_t guard_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One line, written whole; a supervisor that stopped reading stalls the
 * guard rather than lose an alarm. */
static void emit(struct guard *g, const char *line, size_t len)
{
	while (len) {
		ssize_t n = write(g->c.alarm_fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3); /* nobody listens: a guard that cannot report is no guard */
		line += n;
		len -= (size_t)n;
	}
}

static void vline(struct guard *g, const char *prefix, const char *fmt, va_list ap)
{
	char msg[200], line[256];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	guard_sanitize(msg, sizeof(msg), msg, sizeof(msg));
	n = snprintf(line, sizeof(line), "%s %s\n", prefix, msg);
	emit(g, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void guard_alarm(struct guard *g, enum guard_check c, const char *fmt, ...)
{
	char prefix[40];
	va_list ap;

	if (g->latched & (1u << c))
		return;
	g->latched |= 1u << c;
	g->alarms++;
	snprintf(prefix, sizeof(prefix), "alarm %s", guard_check_name(c));
	va_start(ap, fmt);
	vline(g, prefix, fmt, ap);
	va_end(ap);
}

void guard_info(struct guard *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(g, "info", fmt, ap);
	va_end(ap);
}

void guard_stats(struct guard *g)
{
	struct timespec ts;
	char line[160];
	int n;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	n = snprintf(line, sizeof(line), "stats checks=%" PRIu64 " challenges=%" PRIu64 " alarms=%" PRIu64 " cpu_ns=%" PRIu64 "\n",
		     g->checks, g->challenges, g->alarms, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	emit(g, line, (size_t)n);
}

int guard_parse_line(const char *line, struct guard_line *out)
{
	const char *sp;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->check = -1;
	if (!strncmp(line, "stats ", 6)) {
		out->kind = GUARD_LINE_STATS;
		return sscanf(line, "stats checks=%" SCNu64 " challenges=%" SCNu64 " alarms=%" SCNu64 " cpu_ns=%" SCNu64,
			      &out->checks, &out->challenges, &out->alarms, &out->cpu_ns) == 4 ? 0 : -EINVAL;
	}
	if (!strncmp(line, "info ", 5)) {
		out->kind = GUARD_LINE_INFO;
		guard_sanitize(out->detail, sizeof(out->detail), line + 5, strlen(line + 5));
		return 0;
	}
	if (strncmp(line, "alarm ", 6))
		return -EINVAL;
	out->kind = GUARD_LINE_ALARM;
	line += 6;
	sp = strchr(line, ' ');
	n = sp ? (size_t)(sp - line) : strlen(line);
	if (!n || n >= sizeof(out->name))
		return -EINVAL;
	memcpy(out->name, line, n);
	for (int c = 0; c < GUARD_CHECK_COUNT; c++)
		if (!strcmp(out->name, check_names[c]))
			out->check = c;
	if (sp)
		guard_sanitize(out->detail, sizeof(out->detail), sp + 1, strlen(sp + 1));
	return 0;
}

static void close_between(int lo, int hi)
{
	if (lo > hi)
		return;
	if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0) == 0)
		return;
	for (int fd = lo; fd <= hi && fd < 4096; fd++) /* before 5.9 */
		close(fd);
}

/* Everything but the three fds the guard works with, and stderr. */
static void close_others(int *keep, int nkeep)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), next = STDERR_FILENO + 1;

	/* Stray prints go nowhere, not into a /proc fd opened later. */
	for (int fd = STDIN_FILENO; devnull >= 0 && fd <= STDOUT_FILENO; fd++) {
		bool k = false;

		for (int i = 0; i < nkeep; i++)
			k |= keep[i] == fd;
		if (!k)
			dup2(devnull, fd);
	}
	/* Ascending, -1s first: close what lies between. */
	for (int i = 1; i < nkeep; i++)
		for (int j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (int i = 0; i < nkeep; i++) {
		if (keep[i] < next)
			continue;
		close_between(next, keep[i] - 1);
		next = keep[i] + 1;
	}
	close_between(next, INT_MAX);
}

/* Becomes cfg->uid with CAP_SYS_PTRACE (read /proc/PID/mem, maps, fd links,
 * namespaces of a process of another uid), CAP_DAC_READ_SEARCH (its 0500
 * fd directory, 0400 pagemap), and CAP_SYS_ADMIN only for page frame
 * numbers; no_new_privs. Unprivileged callers (tests) keep what they have. */
static int drop_privileges(const struct guard_config *c)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint32_t keep = 1u << CAP_SYS_PTRACE | 1u << CAP_DAC_READ_SEARCH | (c->frame_checks ? 1u << CAP_SYS_ADMIN : 0);
	uid_t uid = c->uid ? c->uid : GUARD_NOBODY;
	gid_t gid = c->gid ? c->gid : GUARD_NOBODY;

	if (geteuid() == 0) {
		for (int cap = 0; cap < 64; cap++)
			if (cap >= 32 || !(keep & (1u << cap)))
				if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
					return -errno;
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return -errno;
		data[0].effective = data[0].permitted = keep;
		if (syscall(SYS_capset, &hdr, data) < 0)
			return -errno;
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* A credential change clears these: set them last. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ? -errno : 0;
}

static void guard_child(const struct guard_config *cfg, pid_t supervisor)
{
	static struct guard g;
	int keep[3], ret, exe;
	sigset_t none;

	g.c = *cfg;
	g.supervisor = supervisor;
	if (!g.c.jitter_ms)
		g.c.jitter_ms = g.c.period_ms / 10;
	if (!g.c.deadline_ms)
		g.c.deadline_ms = GUARD_DEFAULT_DEADLINE_MS;
	prctl(PR_SET_NAME, "kfv-guard", 0, 0, 0);
	/* Terminal signals are for the supervisor to pass on, not for us. */
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exe = cfg->exe_fd >= 0 ? cfg->exe_fd : open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ret = exe < 0 ? -errno : 0;
	keep[0] = cfg->alarm_fd;
	keep[1] = cfg->chan_fd;
	keep[2] = exe;
	close_others(keep, 3);
	randombytes_buf(g.rng_key, sizeof(g.rng_key));
	if (!ret)
		ret = guard_image_load(exe, &g.img);
	if (!ret) {
		guard_code_hash(&g.img, g.code_hash); /* the file does not change: once */
		ret = env_open(&g);
	}
	if (!ret)
		ret = drop_privileges(cfg);
	if (ret || getppid() != supervisor) {
		/* Fail closed: an unwatched VMM is the policy's to decide on,
		 * unless it is already gone. */
		if (!ret || ret == -ESRCH || (kill(cfg->vmm_pid, 0) < 0 && errno == ESRCH))
			guard_info(&g, "cannot start: %s", strerror(ret ? -ret : ESRCH));
		else
			guard_alarm(&g, GUARD_SELF, "cannot watch pid %d: %s", (int)cfg->vmm_pid, strerror(-ret));
		_exit(2);
	}
	close(exe);
	_exit(guard_run(&g));
}

pid_t guard_start(const struct guard_config *c)
{
	pid_t supervisor = getpid(), pid;

	if (c->vmm_pid <= 0 || c->alarm_fd < 0 || c->chan_fd < 0 || !c->period_ms || c->jitter_ms >= c->period_ms)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOSYS;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		guard_child(c, supervisor);
	return pid;
}

int guard_stop(pid_t guard)
{
	int ws;

	if (guard <= 0)
		return -EINVAL;
	kill(guard, SIGTERM);
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(guard, &ws, WNOHANG);

		if (r == guard)
			return ws;
		if (r < 0)
			return -errno;
		usleep(10000);
	}
	kill(guard, SIGKILL);
	return waitpid(guard, &ws, 0) == guard ? ws : -errno;
}
