/* What the orchestrator does about a decision. Out-of-band first: the
 * cgroup, signals, the supervisor's own memfd and the host's TAPs work
 * whatever state the VMM is in; only deny and reset go through the
 * agents' action words, which a healthy VMM obeys. */
#define _GNU_SOURCE
#include "orchestrator.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../sandbox/jail.h"

#define CPU_PERIOD_US 100000u

static bool have_cgroup(const struct ho *ho)
{
	return ho->cfg.jail && ho->cfg.jail->cg.kind != JAIL_CGROUP_NONE;
}

static void done(struct ho *ho, const struct policy_decision *d, enum policy_action a, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void done(struct ho *ho, const struct policy_decision *d, enum policy_action a, const char *fmt, ...)
{
	struct event ev = { .kind = EV_POLICY_ACTION, .severity = SEV_WARNING, .count = 1 };
	va_list ap;

	snprintf(ev.vm, sizeof(ev.vm), "%s", ho->cfg.vm);
	snprintf(ev.resource, sizeof(ev.resource), "%s", d->resource);
	/* A refused action is on record, but not as taken. */
	if (a != ACT_COUNT) {
		ho->actions[a]++;
		snprintf(ev.action, sizeof(ev.action), "%s", policy_action_name(a));
	}
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (a == ACT_KILL || a == ACT_QUARANTINE)
		ev.severity = SEV_CRITICAL;
	event_log_emit(ho->cfg.log, &ev);
}

static void pause_vm(struct ho *ho, unsigned ms)
{
	if (ho->pid <= 0)
		return;
	if (have_cgroup(ho) && jail_freeze(ho->cfg.jail, true) == 0) {
		ho->frozen = true;
	} else {
		kill(ho->pid, SIGSTOP);
		ho->stopped = true;
	}
	if (ho->guard_pid > 0)
		kill(ho->guard_pid, SIGSTOP);
	ho->thaw_at_ns = ho_now_ns() + (uint64_t)ms * 1000000ull;
}

void ho_resume(struct ho *ho)
{
	if (ho->frozen && jail_freeze(ho->cfg.jail, false) == 0)
		ho->frozen = false;
	if (ho->stopped && ho->pid > 0) {
		kill(ho->pid, SIGCONT);
		ho->stopped = false;
	}
	if (ho->guard_pid > 0)
		kill(ho->guard_pid, SIGCONT);
	ho->thaw_at_ns = 0;
}

static void kill_vmm(struct ho *ho, const struct policy_decision *d)
{
	if (ho->pid <= 0)
		return;
	ho->killed_by_policy = true;
	snprintf(ho->kill_reason, sizeof(ho->kill_reason), "rule %s on %s %s", d->rule, event_kind_name(d->kind),
		 d->resource);
	/* A frozen task dies only once thawed; failures here leave SIGKILL
	 * to do the work alone. */
	if (ho->frozen && jail_freeze(ho->cfg.jail, false) == 0)
		ho->frozen = false;
	kill(ho->pid, SIGKILL);
	if (have_cgroup(ho) && jail_kill_all(ho->cfg.jail))
		kill(ho->pid, SIGKILL);
}

/* Guest RAM as the supervisor sees it through its own memfd: no VMM
 * cooperation, so a compromised or frozen VMM cannot hide or alter it. */
static int dump_memory(struct ho *ho, char *path, size_t pathlen)
{
	static char buf[1 << 20];
	uint64_t off = 0;
	int fd, ret = 0;

	snprintf(path, pathlen, "%s/kfv-%s-%d-%u.mem", ho->cfg.forensics_dir, ho->cfg.vm, (int)getpid(),
		 ho->dumps + 1);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (off < ho->cfg.guest_size) {
		size_t want = ho->cfg.guest_size - off < sizeof(buf) ? (size_t)(ho->cfg.guest_size - off) : sizeof(buf);
		ssize_t n = pread(ho->cfg.guest_memfd, buf, want, (off_t)off);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		if (write(fd, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
		off += (uint64_t)n;
	}
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

static int tap_down(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags &= (short)~IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

static void execute_one(struct ho *ho, const struct policy_decision *d, enum policy_action a)
{
	const struct policy_settings *ps = policy_settings(ho->cfg.policy);
	char path[512];
	unsigned n;
	int ret;

	switch (a) {
	case ACT_LOG:
		done(ho, d, a, "rule %s: %llu %s in the window", d->rule, (unsigned long long)d->count,
		     event_kind_name(d->kind));
		break;
	case ACT_THROTTLE:
		if (ho->throttle_percent)
			break; /* already */
		ho->throttle_percent = ps->throttle_percent;
		ho->rate_before_throttle = ho->last_rate;
		ho->measure_after_throttle = true;
		ho->measure_from_ns = ho_now_ns();
		if (have_cgroup(ho) && jail_set_cpu_limit(ho->cfg.jail, CPU_PERIOD_US * ps->throttle_percent / 100,
							  CPU_PERIOD_US) == 0) {
			done(ho, d, a, "rule %s: CPU capped at %u%% (cgroup)", d->rule, ps->throttle_percent);
		} else {
			ho->throttle_by_signal = true;
			done(ho, d, a, "rule %s: CPU duty-cycled to %u%% (SIGSTOP/SIGCONT; no cgroup)", d->rule,
			     ps->throttle_percent);
		}
		break;
	case ACT_DENY:
		n = telemetry_set_action(ho->cfg.tel, d->resource, AGENT_DENY);
		if (n)
			done(ho, d, a, "rule %s: %u agent(s) of %s set to deny", d->rule, n, d->resource);
		break;
	case ACT_RESET_DEVICE:
		n = telemetry_set_action(ho->cfg.tel, d->resource, AGENT_RESET);
		done(ho, d, n ? a : ACT_COUNT, "rule %s: reset asked of %u device(s) (%s)", d->rule, n, d->resource);
		break;
	case ACT_PAUSE:
		if (ho->pid <= 0)
			break; /* nothing runs to pause */
		pause_vm(ho, d->pause_ms ? d->pause_ms : ps->pause_ms);
		done(ho, d, a, "rule %s: VM paused for %u ms (%s)", d->rule, d->pause_ms ? d->pause_ms : ps->pause_ms,
		     ho->frozen ? "cgroup freezer" : "SIGSTOP");
		break;
	case ACT_KILL:
		if (ho->pid <= 0)
			break; /* already gone */
		kill_vmm(ho, d);
		done(ho, d, a, "rule %s: VMM %d killed", d->rule, (int)ho->pid);
		break;
	case ACT_QUARANTINE:
		ho->quarantined = true;
		kill_vmm(ho, d);
		done(ho, d, a, "rule %s: VMM %d killed; the VM will not be restarted", d->rule, (int)ho->pid);
		break;
	case ACT_RESTART:
		if (ho->quarantined) {
			done(ho, d, ACT_COUNT, "rule %s: restart refused: the VM is quarantined", d->rule);
			break;
		}
		if (ho->restarts >= ps->restart_budget) {
			done(ho, d, ACT_COUNT, "rule %s: restart refused: restart budget of %u used", d->rule,
			     ps->restart_budget);
			break;
		}
		ho->restart_requested = true;
		if (ho->pid > 0)
			kill_vmm(ho, d);
		done(ho, d, a, "rule %s: a fresh VMM will start from the original configuration", d->rule);
		break;
	case ACT_DUMP:
		/* Guest RAM is the guest owner's data: it goes only where the
		 * operator said, never into whatever directory kfv started in. */
		if (!ho->cfg.forensics_dir) {
			done(ho, d, ACT_COUNT, "rule %s: no dump: no --forensics directory given", d->rule);
			break;
		}
		ret = dump_memory(ho, path, sizeof(path));
		if (ret) {
			done(ho, d, ACT_COUNT, "rule %s: dump failed: %s", d->rule, strerror(-ret));
			break;
		}
		ho->dumps++;
		snprintf(ho->last_dump, sizeof(ho->last_dump), "%s", path);
		done(ho, d, a, "rule %s: guest memory (%llu MiB) dumped to %s", d->rule,
		     (unsigned long long)(ho->cfg.guest_size >> 20), path);
		break;
	case ACT_CUT_NET:
		for (unsigned i = 0; i < ho->cfg.ntaps; i++) {
			ret = tap_down(ho->cfg.taps[i]);
			done(ho, d, ret ? ACT_COUNT : a, "rule %s: TAP %s %s", d->rule, ho->cfg.taps[i],
			     ret ? strerror(-ret) : "set down");
		}
		if (!ho->cfg.ntaps)
			done(ho, d, ACT_COUNT, "rule %s: the VM has no network", d->rule);
		break;
	case ACT_COUNT:
		break;
	}
}

void ho_execute(struct ho *ho, const struct policy_decision *d)
{
	for (unsigned i = 0; i < d->nr_actions && i < POLICY_MAX_ACTIONS_PER_STEP; i++)
		execute_one(ho, d, d->actions[i]);
}
