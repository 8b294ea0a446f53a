/* The event log's state, shared by the writer (event_log.c), the metrics
 * (metrics.c) and the unit tests. */
#ifndef KFV_DEFENSE_EVENT_LOG_INTERNAL_H
#define KFV_DEFENSE_EVENT_LOG_INTERNAL_H

#include <stdint.h>

#include "event_log.h"

/* Distinct action names counted; past this they add up under "other". The
 * policy has a dozen actions, so this is never reached in earnest. */
#define EVENT_LOG_MAX_ACTIONS 32

struct event_log_action {
	char name[EVENT_ACTION_MAX + 1];
	uint64_t count;
};

struct event_log {
	int events_fd;      /* -1: no events file */
	char *events_path;
	char *metrics_path; /* NULL: no metrics file */
	char vm[EVENT_VM_MAX]; /* valid UTF-8 */
	/* Index EV_KIND_COUNT holds events whose kind is out of range. */
	uint64_t events[EV_KIND_COUNT + 1];      /* event records */
	uint64_t occurrences[EV_KIND_COUNT + 1]; /* the sum of their counts */
	uint64_t severities[SEV_COUNT];
	int worst; /* the highest severity seen among summary kinds; -1: none */
	struct event_log_action actions[EVENT_LOG_MAX_ACTIONS];
	unsigned nr_actions;
	uint64_t actions_other;
	uint64_t write_errors; /* event lines not (wholly) written */
	int last_error;        /* the errno of the last one */
};

/* Whether a kind counts in the summary's "security events": the run's own
 * start and end do not. */
static inline int event_log_kind_is_security(unsigned kind)
{
	return kind != EV_VM_START && kind != EV_VM_END;
}

#endif
