/* The event log: every security event as one JSON object per line (the
 * `--events FILE`), counted in memory for the Prometheus metrics file
 * (`--metrics FILE`, rewritten whole each time) and for the short security
 * summary printed when the run ends. docs/events.md describes the formats.
 *
 * One orchestrator thread owns a log: nothing here locks. */
#ifndef KFV_DEFENSE_EVENT_LOG_H
#define KFV_DEFENSE_EVENT_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "event.h"
#include "telemetry.h"

struct event_log;

/* What the metrics report beside the events and the telemetry page: the
 * orchestrator's own view, which does not rest on what the VMM says. */
struct metrics_extra {
	int up;                /* 1 while a VMM process runs, else 0 */
	int vmm_pid;           /* 0: none */
	uint64_t vmm_restarts; /* VMMs started after the first */
	uint64_t guard_checks; /* integrity checks the guard ran */
	uint64_t guard_alarms; /* ... and those that failed */
	unsigned nr_kvm_vcpus; /* entries of kvm_exits read from the kernel's statistics; 0: not read */
	uint64_t kvm_exits[TELEMETRY_MAX_VCPUS];
};

/* Opens a log for VM `vm_name`. events_path (appended to, created 0640)
 * and metrics_path (checked writable now: a temporary file beside it is
 * created and removed) may each be NULL. Returns 0 or -errno. */
int event_log_open(struct event_log **out, const char *events_path, const char *metrics_path,
		   const char *vm_name) __attribute__((warn_unused_result));

/* Writes ev as one line of the events file with a single write(2), so a
 * crash never leaves half a line, and counts it by kind, severity and
 * action. An empty ev->vm stands for the log's VM; ev->time_ns 0 for now.
 * Strings are bounded by their arrays and made valid UTF-8 ('?' for bad
 * bytes). A failed write is counted (kfv_event_write_errors_total), not
 * returned: losing the file must not stop the defence. l may be NULL. */
void event_log_emit(struct event_log *l, const struct event *ev);

/* Rewrites the metrics file (Prometheus text format 0.0.4) from the
 * counts, the telemetry page t and x: written to a temporary file in the
 * same directory, then renamed over the old one, so a reader sees the old
 * file or the new one, never a part. t or x may be NULL (nothing from
 * them: no agents, up 0). Returns 0 (also without a metrics file) or
 * -errno. */
int event_log_write_metrics(struct event_log *l, const struct telemetry *t, const struct metrics_extra *x)
	__attribute__((warn_unused_result));

/* Prints the end-of-run security summary: lines starting "kfv: security: ". */
void event_log_print_summary(const struct event_log *l, FILE *out);

/* Events counted so far of one kind (records, not occurrences). */
uint64_t event_log_count(const struct event_log *l, enum event_kind kind);

/* Closes the files and frees l (NULL is fine). */
void event_log_close(struct event_log *l);

#endif
