/* Security events: what the orchestrator saw, on which VM and resource, and
 * what it did about it. Written as JSON lines (event_log.h), counted in the
 * metrics and the end-of-run summary, and fed to the policy (policy.h). */
#ifndef KFV_DEFENSE_EVENT_H
#define KFV_DEFENSE_EVENT_H

#include <stdint.h>

enum event_kind {
	EV_VM_START,          /* a VMM process started (first boot or a restart) */
	EV_VM_END,            /* the run ended; detail gives the status */
	EV_UNCLAIMED_PIO,     /* port accesses no device claimed */
	EV_UNCLAIMED_MMIO,    /* MMIO accesses no device claimed */
	EV_ACCESS_DENIED,     /* accesses an agent refused because its action is deny */
	EV_MALFORMED_DESC,    /* virtqueue chains the validator refused */
	EV_RATE_LIMIT,        /* requests a device's rate limiter held back */
	EV_EXIT_STORM,        /* the kernel's exit count rose faster than the policy's exit_storm_per_s */
	EV_MSR_DENIED,        /* MSR accesses refused by the MSR filter (#GP in the guest) */
	EV_SECCOMP,           /* the VMM was killed by its seccomp filter */
	EV_GUARD_ALARM,       /* the integrity guard found a check failing */
	EV_VMM_DIED,          /* the VMM died by a signal (crashed, or was killed) */
	EV_REPORTS_DIVERGE,   /* the agents' counts disagree with the kernel's KVM statistics */
	EV_POLICY_ACTION,     /* the orchestrator acted; action names what */
	EV_KIND_COUNT
};

enum event_severity { SEV_INFO, SEV_NOTICE, SEV_WARNING, SEV_CRITICAL, SEV_COUNT };

#define EVENT_VM_MAX       32
#define EVENT_RESOURCE_MAX 32
#define EVENT_DETAIL_MAX   192
#define EVENT_ACTION_MAX   48

struct event {
	uint64_t time_ns;                  /* CLOCK_REALTIME */
	char vm[EVENT_VM_MAX];
	char resource[EVENT_RESOURCE_MAX]; /* an agent's name ("i8042", "virtio-blk0"), "pio", "vmm", ... */
	enum event_kind kind;
	enum event_severity severity;
	uint64_t count;                    /* how many occurrences this event stands for (>= 1) */
	char detail[EVENT_DETAIL_MAX];
	char action[EVENT_ACTION_MAX];     /* what was done: "" for none */
};

/* Stable lower-case names used in the events file, metrics and policy
 * ("unclaimed_pio", "exit_storm", ...). */
const char *event_kind_name(enum event_kind kind);
const char *event_severity_name(enum event_severity sev);

/* The kind or severity a name stands for, or -1. */
int event_kind_parse(const char *name);
int event_severity_parse(const char *name);

#endif
