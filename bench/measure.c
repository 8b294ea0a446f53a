/* measure: runs one command and reports timings or memory, for the
 * benchmark scripts (a shell measuring itself would add fork/exec noise).
 *
 *   measure time [OPTIONS] -- COMMAND [ARG...]
 *       prints "FROM_NS LINE_NS EXIT_NS STATUS": nanoseconds from just
 *       before fork until the last complete output line starting with
 *       --from PREFIX that came before the --line one (-1 when none did),
 *       until the first complete line starting with --line PREFIX arrived
 *       (-1 when none did), until the command was reaped, and its exit
 *       status (128+N for signal N, 124 when --timeout killed it).
 *
 *   measure rss [OPTIONS] -- COMMAND [ARG...]
 *       waits for the --line PREFIX, then reads /proc/PID/status of the
 *       command and of all its descendants every --interval-ms for
 *       --samples samples, sends SIGTERM to the command and reaps it.
 *       Prints "SAMPLES OWN ANON FILE SHMEM HWM THREADS PROCS ROOT_OWN
 *       STATUS" (sizes in KiB) where OWN = max over samples of RssAnon +
 *       RssFile summed over the processes, the other fields sums from the
 *       sample that had it (HWM: VmHWM at the last sample) and ROOT_OWN the
 *       command's own share in that sample.
 *
 * OPTIONS: --line PREFIX, --from PREFIX, --log FILE (everything the command wrote to stdout
 * and stderr), --timeout SECONDS (default 300), --interval-ms N (20),
 * --samples N (25). The command's stdin is /dev/null. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX (1 << 20)

struct child {
	pid_t pid;
	int out_fd;          /* read end of the command's stdout+stderr */
	uint64_t start_ns;
	const char *prefix;
	const char *from_prefix;
	int64_t line_ns;     /* -1 until the prefix line is complete */
	int64_t from_ns;     /* last from_prefix line before it, or -1 */
	char *log;
	size_t log_len;
	size_t line_start;   /* offset in log of the current (incomplete) line */
	int status;
	int reaped;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: measure time|rss [--line PREFIX] [--from PREFIX] [--log FILE] [--timeout S] "
			"[--interval-ms N] [--samples N] -- COMMAND [ARG...]\n");
	exit(64);
}

static int start(struct child *c, char **argv)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	c->start_ns = now_ns();
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "measure: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	c->out_fd = p[0];
	return 0;
}

/* Whether the line just completed in the log starts with prefix. */
static int starts_with(const struct child *c, const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	return n && c->log_len - c->line_start > n && memcmp(c->log + c->line_start, prefix, n) == 0;
}

/* Reads what is there; notes the time a line with the prefix completes.
 * Returns 0 at end of file, 1 otherwise. */
static int drain(struct child *c)
{
	char buf[4096];
	ssize_t n = read(c->out_fd, buf, sizeof(buf));
	uint64_t t = now_ns();

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		if (c->log_len < LOG_MAX)
			c->log[c->log_len++] = buf[i];
		if (buf[i] != '\n')
			continue;
		if (c->line_ns < 0 && c->log_len < LOG_MAX) {
			if (starts_with(c, c->prefix))
				c->line_ns = (int64_t)(t - c->start_ns);
			else if (starts_with(c, c->from_prefix))
				c->from_ns = (int64_t)(t - c->start_ns);
		}
		c->line_start = c->log_len;
	}
	return 1;
}

static int reap(struct child *c, int options)
{
	int st;
	pid_t r = waitpid(c->pid, &st, options);

	if (r != c->pid)
		return 0;
	c->reaped = 1;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 1;
}

/* Waits for output until the prefix line (when stop_at_line) or end of
 * output, or the deadline. Returns 0, or -1 at the deadline. */
static int pump(struct child *c, uint64_t deadline, int stop_at_line)
{
	struct pollfd pfd = { .fd = c->out_fd, .events = POLLIN };

	while (c->out_fd >= 0) {
		uint64_t t = now_ns();
		int ms;

		if (stop_at_line && c->line_ns >= 0)
			return 0;
		if (t >= deadline)
			return -1;
		ms = (int)((deadline - t) / 1000000) + 1;
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
			return -1;
		if (pfd.revents && !drain(c)) {
			close(c->out_fd);
			c->out_fd = -1;
		}
	}
	return 0;
}

/* Kills the command and reaps it, giving up after 10 s: a process stuck
 * in the kernel (a wedged KVM_RUN) must not hang the benchmark too. */
static void kill_and_reap(struct child *c)
{
	kill(c->pid, SIGKILL);
	for (int i = 0; i < 1000 && !reap(c, WNOHANG); i++) {
		struct timespec ts = { 0, 10000000L };

		nanosleep(&ts, NULL);
	}
	if (!c->reaped)
		fprintf(stderr, "measure: pid %d did not die after SIGKILL\n", (int)c->pid);
	c->status = 124;
	c->reaped = 1;
}

static void finish(struct child *c, uint64_t deadline, const char *log_path)
{
	if (pump(c, deadline, 0) < 0 && !c->reaped)
		kill_and_reap(c);
	if (!c->reaped) {
		/* its output ended: wait for the exit itself, up to the deadline */
		int pfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
		uint64_t t = now_ns();

		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			int ms = t < deadline ? (int)((deadline - t) / 1000000) + 1 : 0;

			while (poll(&p, 1, ms) < 0 && errno == EINTR)
				;
			close(pfd);
			if (!reap(c, WNOHANG))
				kill_and_reap(c);
		} else {
			reap(c, 0);
		}
	}
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (log_path) {
		FILE *f = fopen(log_path, "w");

		if (f) {
			fwrite(c->log, 1, c->log_len, f);
			fclose(f);
		}
	}
}

struct mem {
	long anon, file, shmem, hwm, threads, procs;
};

static int read_status(pid_t pid, struct mem *m)
{
	char path[64], line[256];
	long anon = 0, file = 0, shmem = 0, hwm = 0, threads = 0;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "RssAnon: %ld", &anon) == 1 || sscanf(line, "RssFile: %ld", &file) == 1 ||
		    sscanf(line, "RssShmem: %ld", &shmem) == 1 || sscanf(line, "VmHWM: %ld", &hwm) == 1 ||
		    sscanf(line, "Threads: %ld", &threads) == 1)
			found++;
	}
	fclose(f);
	if (found != 5)
		return -1;
	m->anon += anon;
	m->file += file;
	m->shmem += shmem;
	m->hwm += hwm;
	m->threads += threads;
	m->procs++;
	return 0;
}

/* Adds pid and, through /proc/PID/task/TID/children, all its descendants
 * (a supervisor's VMM child, in a PID namespace or not). */
static int read_tree(pid_t pid, struct mem *m, int depth)
{
	char path[96];
	DIR *d;
	struct dirent *e;

	if (read_status(pid, m) < 0)
		return -1;
	if (depth > 8)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char cpath[320];
		FILE *f;
		int child;

		if (e->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", (int)pid, e->d_name);
		f = fopen(cpath, "r");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1)
			(void)read_tree(child, m, depth + 1);
		fclose(f);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	struct child c = { .line_ns = -1, .from_ns = -1 };
	const char *log_path = NULL;
	long timeout_s = 300, interval_ms = 20, samples = 25;
	int rss_mode, i;
	uint64_t deadline, exit_ns;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "rss"))
		rss_mode = 1;
	else if (!strcmp(argv[1], "time"))
		rss_mode = 0;
	else
		usage();
	for (i = 2; i < argc && strcmp(argv[i], "--"); i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--line"))
			c.prefix = argv[i + 1];
		else if (!strcmp(argv[i], "--from"))
			c.from_prefix = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			log_path = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			timeout_s = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--interval-ms"))
			interval_ms = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--samples"))
			samples = atol(argv[i + 1]);
		else
			usage();
	}
	if (i + 1 >= argc || timeout_s <= 0 || interval_ms <= 0 || samples <= 0 || (rss_mode && !c.prefix))
		usage();
	c.log = malloc(LOG_MAX);
	if (!c.log || start(&c, argv + i + 1) < 0) {
		perror("measure");
		return 70;
	}
	deadline = c.start_ns + (uint64_t)timeout_s * 1000000000ULL;

	if (!rss_mode) {
		finish(&c, deadline, log_path);
		exit_ns = now_ns() - c.start_ns;
		printf("%lld %lld %llu %d\n", (long long)c.from_ns, (long long)c.line_ns,
		       (unsigned long long)exit_ns, c.status);
		return 0;
	}

	long n = 0;
	struct mem best = { 0 }, root_best = { 0 }, last = { 0 };

	if (pump(&c, deadline, 1) == 0 && c.line_ns >= 0) {
		for (long s = 0; s < samples; s++) {
			struct mem m = { 0 }, root = { 0 };
			struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };

			if (reap(&c, WNOHANG) || read_status(c.pid, &root) < 0 || read_tree(c.pid, &m, 0) < 0)
				break;
			n++;
			last = m;
			if (m.anon + m.file > best.anon + best.file) {
				best = m;
				root_best = root;
			}
			/* keep the pipe drained so the command never blocks on it */
			struct pollfd pfd = { .fd = c.out_fd, .events = POLLIN };

			if (c.out_fd >= 0 && poll(&pfd, 1, 0) > 0 && !drain(&c)) {
				close(c.out_fd);
				c.out_fd = -1;
			}
			nanosleep(&ts, NULL);
		}
	}
	if (!c.reaped)
		kill(c.pid, SIGTERM);
	finish(&c, now_ns() + 30ULL * 1000000000ULL, log_path);
	printf("%ld %ld %ld %ld %ld %ld %ld %ld %ld %d\n", n, best.anon + best.file, best.anon, best.file,
	       best.shmem, last.hwm, best.threads, best.procs, root_best.anon + root_best.file, c.status);
	return 0;
}
