#define _GNU_SOURCE
#include "orchestrator.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../guard/guard.h"
#include "../util/log.h"
#include "../vmm/surface.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull
#define HO_MAX_DECISIONS 8
#define SENSOR_PERIOD_MS 200

static void read_guard(struct ho *ho, int fd, char *buf, size_t *have, size_t cap);

uint64_t ho_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void ho_init(struct ho *ho, const struct ho_config *cfg)
{
	memset(ho, 0, sizeof(*ho));
	ho->cfg = *cfg;
}

/* Puts the event on record; returns whether the policy should see it. */
static bool record(struct ho *ho, struct event *ev, const char *resource, const char *fmt, va_list ap)
{
	snprintf(ev->vm, sizeof(ev->vm), "%s", ho->cfg.vm);
	snprintf(ev->resource, sizeof(ev->resource), "%s", resource);
	vsnprintf(ev->detail, sizeof(ev->detail), fmt, ap);
	event_log_emit(ho->cfg.log, ev);
	return ho->cfg.policy && ev->kind != EV_POLICY_ACTION;
}

/* On record only: what a VMM the policy has already killed still reports
 * on its way out is evidence, not a second strike against the VM. */
static void ho_event_on_record(struct ho *ho, enum event_kind kind, enum event_severity sev, const char *resource,
			       const char *fmt, ...)
{
	struct event ev = { .kind = kind, .severity = sev, .count = 1 };
	va_list ap;

	va_start(ap, fmt);
	record(ho, &ev, resource, fmt, ap);
	va_end(ap);
}

void ho_event(struct ho *ho, enum event_kind kind, enum event_severity sev, const char *resource, uint64_t count,
	      const char *fmt, ...)
{
	struct policy_decision d[HO_MAX_DECISIONS];
	struct event ev = { .kind = kind, .severity = sev, .count = count ? count : 1 };
	va_list ap;
	unsigned n;
	bool to_policy;

	va_start(ap, fmt);
	to_policy = record(ho, &ev, resource, fmt, ap);
	va_end(ap);
	if (!to_policy)
		return;
	n = policy_observe(ho->cfg.policy, &ev, ho_now_ns(), d, HO_MAX_DECISIONS);
	for (unsigned i = 0; i < n; i++)
		ho_execute(ho, &d[i]);
}

/* --- sensors: the telemetry page --------------------------------------- */

/* The sensor's reports become events; resource is already a bounded,
 * terminated copy of the agent's name (telemetry_read.c). */
static void telemetry_report(void *ctx, enum event_kind kind, enum event_severity sev, const char *resource,
			     uint64_t count, const char *detail)
{
	ho_event(ctx, kind, sev, resource, count, "%s", detail);
}

static void telemetry_events(struct ho *ho)
{
	telemetry_sense(ho->cfg.tel, &ho->last, telemetry_report, ho);
}

/* --- sensors: the kernel's KVM statistics ------------------------------ */

static int kernel_stats(struct ho *ho, struct surface_kvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!ho->nr_stats)
		return -ENODATA;
	for (unsigned i = 0; i < ho->nr_stats; i++) {
		struct surface_kvm_stats one = { 0 };

		if (surface_read_stats_fd(ho->stats_fds[i], &one))
			return -EIO;
		if (i < TELEMETRY_MAX_VCPUS)
			ho->kvm_exits[i] = one.exits;
		st->exits += one.exits;
		st->io_exits += one.io_exits;
		st->mmio_exits += one.mmio_exits;
		st->halt_exits += one.halt_exits;
		st->irq_exits += one.irq_exits;
	}
	return 0;
}

/* The exit rate over the last second, from the kernel's counts at each
 * tick; 0 until a second of samples exists. */
static uint64_t sliding_rate(struct ho *ho, uint64_t exits, uint64_t now)
{
	unsigned oldest;

	ho->rate_t[ho->rate_head] = now;
	ho->rate_n[ho->rate_head] = exits;
	ho->rate_head = (ho->rate_head + 1) % HO_RATE_SAMPLES;
	if (ho->rate_len < HO_RATE_SAMPLES)
		ho->rate_len++;
	/* the oldest sample still inside the last second (or just before it) */
	for (unsigned k = ho->rate_len; k > 1; k--) {
		oldest = (ho->rate_head + HO_RATE_SAMPLES - k) % HO_RATE_SAMPLES;
		if (now - ho->rate_t[oldest] <= NS_PER_S + NS_PER_S / 10) {
			if (now - ho->rate_t[oldest] < NS_PER_S * 9 / 10)
				return 0;
			return (exits - ho->rate_n[oldest]) * NS_PER_S / (now - ho->rate_t[oldest]);
		}
	}
	return 0;
}

static void exit_rate(struct ho *ho, const struct surface_kvm_stats *st, uint64_t now)
{
	uint64_t limit = policy_settings(ho->cfg.policy)->exit_storm_per_s;
	uint64_t rate = sliding_rate(ho, st->exits, now);

	if (!rate && ho->rate_len < 2)
		return;
	ho->last_rate = rate;
	if (rate > ho->peak_rate)
		ho->peak_rate = rate;
	if (ho->measure_after_throttle && ho->measure_from_ns && now - ho->measure_from_ns >= NS_PER_S + NS_PER_S / 10) {
		/* A full second after the throttle: what it achieved. */
		ho->rate_after_throttle = rate;
		ho->measure_after_throttle = false;
		ho_event(ho, EV_POLICY_ACTION, SEV_INFO, "vcpu", 1,
			 "throttle effect: %llu exits/s before, %llu exits/s after (kernel counts)",
			 (unsigned long long)ho->rate_before_throttle, (unsigned long long)rate);
	}
	/* One event per sensor period while the storm lasts. */
	if (limit && rate > limit && !ho->frozen && !ho->stopped && now >= ho->next_storm_ns) {
		ho->next_storm_ns = now + SENSOR_PERIOD_MS * NS_PER_MS;
		ho_event(ho, EV_EXIT_STORM, SEV_WARNING, "vcpu", 1, "%llu exits/s over the last second (kernel count; limit %llu/s)",
			 (unsigned long long)rate, (unsigned long long)limit);
	}
}

/* The kernel counts every MMIO exit it sends to user space; the agents
 * must have seen each of them. (Its io_exits also count the ports KVM
 * handles itself, so only MMIO is held to account exactly.) */
static void check_divergence(struct ho *ho, const struct surface_kvm_stats *st, uint64_t now)
{
#ifdef KFV_NO_AGENTS
	return; /* agent-cost's floor build: nothing reports, so nothing can diverge */
#endif
	const struct policy_settings *ps = policy_settings(ho->cfg.policy);
	struct telemetry *t = ho->cfg.tel;
	uint64_t agents = 0, want;

	if (now - ho->diverge_check_ns < NS_PER_S)
		return;
	ho->diverge_check_ns = now;
	for (unsigned i = 0; i < TELEMETRY_MAX_VCPUS; i++)
		agents += atomic_load(&t->vcpu[i].mmio_exits);
	want = st->mmio_exits * (100 - (ps->diverge_percent < 100 ? ps->diverge_percent : 100)) / 100;
	if (agents + ps->diverge_slack < want)
		ho_event(ho, EV_REPORTS_DIVERGE, SEV_CRITICAL, "vmm", 1,
			 "agents report %llu MMIO exits, the kernel counted %llu",
			 (unsigned long long)agents, (unsigned long long)st->mmio_exits);
}

/* --- timed actions ---------------------------------------------------- */

static void timed_actions(struct ho *ho, uint64_t now)
{
	if ((ho->frozen || ho->stopped) && ho->thaw_at_ns && now >= ho->thaw_at_ns)
		ho_resume(ho);
	/* Without a cgroup a throttle is a duty cycle: run one tick in ten
	 * (for 10%), stopped the others. */
	if (ho->throttle_percent && ho->throttle_by_signal && !ho->frozen && !ho->thaw_at_ns && ho->pid > 0) {
		unsigned on = ho->throttle_percent / 10 ? ho->throttle_percent / 10 : 1;

		ho->duty_tick = (ho->duty_tick + 1) % 10;
		kill(ho->pid, ho->duty_tick < on ? SIGCONT : SIGSTOP);
	}
}

void ho_tick(struct ho *ho, uint64_t now)
{
	struct surface_kvm_stats st;

	/* A VMM the policy has killed is past deciding about: one alarm,
	 * one dump, one kill. */
	if (ho->killed_by_policy) {
		timed_actions(ho, now);
		return;
	}
	/* Counter deltas become events at most SENSOR_PERIOD_MS apart: an
	 * attack at full speed is a few records a second per agent, not one
	 * per access. */
	if (now >= ho->next_sensor_ns) {
		telemetry_events(ho);
		ho->next_sensor_ns = now + SENSOR_PERIOD_MS * NS_PER_MS;
	}
	if (kernel_stats(ho, &st) == 0) {
		exit_rate(ho, &st, now);
		check_divergence(ho, &st, now);
	}
	timed_actions(ho, now);
	if (now >= ho->next_metrics_ns)
		ho_write_metrics(ho);
}

void ho_write_metrics(struct ho *ho)
{
	if (ho->cfg.metrics) {
		struct metrics_extra x = {
			.up = ho->pid > 0, .vmm_pid = ho->pid, .vmm_restarts = ho->restarts,
			.guard_checks = ho->guard_checks, .guard_alarms = ho->guard_alarms,
			.nr_kvm_vcpus = ho->nr_stats < TELEMETRY_MAX_VCPUS ? ho->nr_stats : TELEMETRY_MAX_VCPUS,
		};

		memcpy(x.kvm_exits, ho->kvm_exits, sizeof(x.kvm_exits));
		if (event_log_write_metrics(ho->cfg.log, ho->cfg.tel, &x))
			LOG_RATELIMITED(LOG_WARN, "metrics file: cannot rewrite it");
		ho->next_metrics_ns = ho_now_ns() + NS_PER_S;
	}
}

/* --- the loop -------------------------------------------------------- */

static void guard_line(struct ho *ho, char *line)
{
	struct guard_line gl;

	if (guard_parse_line(line, &gl))
		return;
	if (gl.kind == GUARD_LINE_ALARM) {
		ho->guard_alarms++;
		/* One corruption is often seen by two checks (a changed code
		 * byte: the page check, then the challenge); once the policy has
		 * killed this VMM, the second must not climb the ladder and turn
		 * the restart into a quarantine. */
		if (ho->killed_by_policy)
			ho_event_on_record(ho, EV_GUARD_ALARM, SEV_CRITICAL, gl.name,
					   "%s (after the policy killed this VMM: on record only)", gl.detail);
		else
			ho_event(ho, EV_GUARD_ALARM, SEV_CRITICAL, gl.name, 1, "%s", gl.detail);
	} else if (gl.kind == GUARD_LINE_STATS) {
		ho->guard_checks = gl.checks;
		ho->guard_challenges = gl.challenges;
		ho->guard_cpu_ns = gl.cpu_ns;
	}
}

void ho_read_guard(struct ho *ho, int fd)
{
	read_guard(ho, fd, ho->guard_buf, &ho->guard_have, sizeof(ho->guard_buf));
}

static void read_guard(struct ho *ho, int fd, char *buf, size_t *have, size_t cap)
{
	ssize_t n = read(fd, buf + *have, cap - 1 - *have);
	char *nl;

	if (n <= 0)
		return;
	*have += (size_t)n;
	buf[*have] = '\0';
	while ((nl = strchr(buf, '\n'))) {
		*nl = '\0';
		guard_line(ho, buf);
		*have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *have + 1);
	}
	if (*have == cap - 1) /* a line too long to be ours: drop it */
		*have = 0;
}

static void read_ctl(struct ho *ho, int ctl_fd, int *ctl_slot)
{
	char tag[HANDOFF_TAG_MAX];
	int fds[HANDOFF_MAX_FDS];
	int n = handoff_recv(ctl_fd, tag, sizeof(tag), fds, HANDOFF_MAX_FDS);

	if (n == -EAGAIN)
		return;
	if (n < 0) {
		*ctl_slot = -1; /* the VMM closed it, or sent garbage: stop listening */
		return;
	}
	if (!strcmp(tag, "kvm-stats") && !ho->nr_stats) {
		memcpy(ho->stats_fds, fds, sizeof(int) * (unsigned)n);
		ho->nr_stats = (unsigned)n;
		return;
	}
	while (n > 0)
		close(fds[--n]);
}

static void keep_report(char *buf, size_t len, size_t *got, const char *data, size_t n)
{
	if (!buf || *got + 1 >= len)
		return;
	if (n > len - 1 - *got)
		n = len - 1 - *got;
	memcpy(buf + *got, data, n);
	*got += n;
	buf[*got] = '\0';
}

int ho_supervise(struct ho *ho, pid_t pid, int report_fd, int ctl_fd, int guard_fd, char *report, size_t len,
		 int *wait_status)
{
	unsigned tick_ms = policy_settings(ho->cfg.policy)->tick_ms;
	struct itimerspec its = { { tick_ms / 1000, (long)(tick_ms % 1000) * (long)NS_PER_MS },
				  { tick_ms / 1000, (long)(tick_ms % 1000) * (long)NS_PER_MS } };
	size_t got = 0;
	sigset_t stop, old;
	struct pollfd fds[5];
	int sfd = -1, tfd = -1, ret = 0;

	ho->pid = pid;
	if (report && len)
		report[0] = '\0';
	/* The guard's lines are read as they come, never waited for. */
	if (guard_fd >= 0)
		(void)fcntl(guard_fd, F_SETFL, fcntl(guard_fd, F_GETFL) | O_NONBLOCK);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGPWR); /* relayed: the graceful-shutdown request */
	if (pthread_sigmask(SIG_BLOCK, &stop, &old))
		return -EINVAL;
	sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		ret = -errno;
		goto out;
	}
	fds[0] = (struct pollfd){ .fd = report_fd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	fds[2] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	fds[3] = (struct pollfd){ .fd = ctl_fd, .events = POLLIN };
	fds[4] = (struct pollfd){ .fd = guard_fd, .events = POLLIN };
	/* The report pipe's write end lives only in the VMM: EOF means it is gone. */
	while (fds[0].fd >= 0) {
		if (poll(fds, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (ho->frozen || ho->stopped)
					ho_resume(ho); /* a paused VMM cannot act on a stop request */
				ho->throttle_percent = ho->throttle_by_signal ? 0 : ho->throttle_percent;
				kill(pid, SIGCONT);
				kill(pid, (int)si.ssi_signo);
			}
		}
		if (fds[3].revents & (POLLIN | POLLHUP | POLLERR))
			read_ctl(ho, ctl_fd, &fds[3].fd);
		if (fds[4].revents & POLLIN)
			ho_read_guard(ho, guard_fd);
		else if (fds[4].revents & (POLLHUP | POLLERR))
			fds[4].fd = -1;
		if (fds[2].revents & POLLIN) {
			uint64_t expirations;

			if (read(tfd, &expirations, sizeof(expirations)) > 0)
				ho_tick(ho, ho_now_ns());
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[256];
			ssize_t n = read(report_fd, buf, sizeof(buf));

			if (n > 0)
				keep_report(report, len, &got, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				fds[0].fd = -1;
		}
	}
	if (ret) {
		kill(pid, SIGKILL);
	}
	/* A VMM stopped by SIGSTOP would never be reaped. */
	if (ho->stopped || ho->throttle_by_signal)
		kill(pid, SIGCONT);
	while (waitpid(pid, wait_status, 0) < 0) {
		if (errno != EINTR) {
			ret = ret ? ret : -errno;
			break;
		}
	}
	/* Reaped: its pid may be anyone's now; nothing may signal it. */
	ho->pid = 0;
	/* Last counts, so a short run's events are not lost. */
	ho->next_sensor_ns = 0;
	ho_tick(ho, ho_now_ns());
	if (fds[4].fd >= 0)
		ho_read_guard(ho, guard_fd);
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

void ho_vmm_gone(struct ho *ho)
{
	for (unsigned i = 0; i < ho->nr_stats; i++)
		close(ho->stats_fds[i]);
	ho->nr_stats = 0;
	ho->pid = 0;
	ho->guard_pid = 0;
	ho->frozen = ho->stopped = false;
	ho->thaw_at_ns = 0;
	ho->throttle_percent = 0;
	ho->throttle_by_signal = false;
	ho->rate_len = ho->rate_head = 0;
	ho->next_sensor_ns = ho->next_storm_ns = 0;
	memset(&ho->last, 0, sizeof(ho->last));
}

void ho_print_summary(const struct ho *ho, FILE *out)
{
	fprintf(out, "kfv: security: orchestrator: peak %llu exits/s (kernel count)",
		(unsigned long long)ho->peak_rate);
	if (ho->rate_before_throttle)
		fprintf(out, "; throttled from %llu to %llu exits/s", (unsigned long long)ho->rate_before_throttle,
			(unsigned long long)ho->rate_after_throttle);
	fprintf(out, "; restarts %u", ho->restarts);
	if (ho->guard_checks || ho->guard_alarms)
		fprintf(out, "; guard checks %llu, alarms %llu", (unsigned long long)ho->guard_checks,
			(unsigned long long)ho->guard_alarms);
	fprintf(out, "\n");
	if (ho->dumps)
		fprintf(out, "kfv: security: forensic dump: %s\n", ho->last_dump);
}
