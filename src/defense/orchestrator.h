/* The horizontal orchestrator (HO): the supervisor's monitor-analyse-plan-
 * execute loop over one VM. It watches the VMM's telemetry page (what the
 * agents count), the kernel's KVM statistics (what really happened), the
 * guard's alarms and the VMM process itself; turns what it sees into
 * events (event.h); runs them through the policy (policy.h); and carries
 * out the decisions, out-of-band wherever it can: cgroup throttle and
 * freeze, SIGKILL, restart, forensic dump through its own handle on guest
 * RAM, TAPs set down. In-band decisions (deny, reset a device) go through
 * the agents' action words. */
#ifndef KFV_DEFENSE_ORCHESTRATOR_H
#define KFV_DEFENSE_ORCHESTRATOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "event_log.h"
#include "handoff.h"
#include "policy.h"
#include "telemetry.h"
#include "telemetry_read.h"

struct jail;

#define HO_MAX_TAPS 4
#define HO_RATE_SAMPLES 128

struct ho_config {
	const char *vm;             /* the VM's name in events */
	struct policy *policy;
	struct event_log *log;
	struct telemetry *tel;
	const struct jail *jail;    /* NULL: unjailed (no cgroup: SIGSTOP-based throttle and pause) */
	int guest_memfd;            /* the supervisor's own handle on guest RAM (dumps) */
	uint64_t guest_size;
	const char *forensics_dir;  /* where dumps go */
	const char *taps[HO_MAX_TAPS];
	unsigned ntaps;
	bool metrics;               /* rewrite the metrics file every second */
};

struct ho {
	struct ho_config cfg;
	/* the current VMM */
	pid_t pid;
	pid_t guard_pid; /* the VMM's guard, stopped with it during a pause (else it sees "unresponsive") */
	int stats_fds[HANDOFF_MAX_FDS];
	unsigned nr_stats;
	struct telemetry_last last; /* counter values at the last tick: totals to per-tick events */
	/* the kernel's exit count at recent ticks: the rate over the last second */
	uint64_t rate_t[HO_RATE_SAMPLES], rate_n[HO_RATE_SAMPLES];
	unsigned rate_head, rate_len;
	uint64_t next_storm_ns;
	uint64_t last_rate;                      /* exits/s in the last full window */
	uint64_t diverge_check_ns;
	uint64_t next_metrics_ns;
	uint64_t next_sensor_ns;
	bool frozen, stopped;                    /* paused: by cgroup freeze or SIGSTOP */
	uint64_t thaw_at_ns;
	unsigned throttle_percent;               /* 0: not throttled */
	bool throttle_by_signal;                 /* no cgroup: duty-cycled with SIGSTOP/SIGCONT */
	unsigned duty_tick;
	/* the whole run */
	unsigned restarts;
	bool restart_requested, quarantined, killed_by_policy;
	char kill_reason[128];
	uint64_t actions[ACT_COUNT];
	uint64_t peak_rate, rate_before_throttle, rate_after_throttle;
	bool measure_after_throttle;
	uint64_t measure_from_ns;
	uint64_t guard_checks, guard_alarms, guard_challenges, guard_cpu_ns;
	char guard_buf[512]; /* a partial line from the guard */
	size_t guard_have;
	unsigned dumps;
	char last_dump[512];
	uint64_t kvm_exits[TELEMETRY_MAX_VCPUS];
};

void ho_init(struct ho *ho, const struct ho_config *cfg);

/* Records one event: into the log, then through the policy, carrying out
 * what it decides. */
void ho_event(struct ho *ho, enum event_kind kind, enum event_severity sev, const char *resource, uint64_t count,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Runs one VMM process until it ends: relays SIGINT/SIGTERM/SIGHUP to it,
 * keeps what it writes on report_fd (NUL-terminated, up to len - 1 bytes),
 * receives its KVM statistics fds on ctl_fd, reads guard lines from
 * guard_fd (-1: none) and ticks the loop. Returns 0 with the VMM reaped
 * and *wait_status set, or a negative errno. */
int ho_supervise(struct ho *ho, pid_t pid, int report_fd, int ctl_fd, int guard_fd, char *report, size_t len,
		 int *wait_status) __attribute__((warn_unused_result));

/* One pass of the loop at now_ns (monotonic): telemetry and KVM statistics
 * to events, timed actions (thaw, throttle duty cycle), metrics. */
void ho_tick(struct ho *ho, uint64_t now_ns);

/* Reads what the guard wrote on fd (its alarm pipe) and turns its lines
 * into events and counts. */
void ho_read_guard(struct ho *ho, int fd);

/* Rewrites the metrics file now (when there is one). */
void ho_write_metrics(struct ho *ho);

/* Carries out one decision (responses.c). */
void ho_execute(struct ho *ho, const struct policy_decision *d);

/* Ends a pause (thaws the cgroup or sends SIGCONT). */
void ho_resume(struct ho *ho);

/* Prints the orchestrator's part of the end-of-run summary. */
void ho_print_summary(const struct ho *ho, FILE *out);

/* Forgets the ended VMM (closes its statistics fds, thaws nothing). */
void ho_vmm_gone(struct ho *ho);

uint64_t ho_now_ns(void);

#endif
