/* The policy: declarative rules (docs/policy.md) that turn events into
 * actions. A rule matches events by kind, resource and VM, counts them in
 * a sliding window, and when its condition holds takes the next step of its
 * escalation ladder, then waits out its hold-down time. The engine only
 * decides; the orchestrator carries the decisions out. */
#ifndef KFV_DEFENSE_POLICY_H
#define KFV_DEFENSE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

enum policy_action {
	ACT_LOG,          /* the event is recorded; nothing else */
	ACT_THROTTLE,     /* cap the VM's CPU (cgroup cpu bandwidth) */
	ACT_DENY,         /* set the resource's agent to deny */
	ACT_RESET_DEVICE, /* ask the VMM to reset the resource's device */
	ACT_PAUSE,        /* freeze the VM for the rule's pause time */
	ACT_KILL,         /* SIGKILL the VMM; the run ends */
	ACT_RESTART,      /* start a fresh VMM from the original configuration (within the restart budget) */
	ACT_QUARANTINE,   /* kill, and never restart this VM */
	ACT_DUMP,         /* forensic dump of guest memory through the supervisor's own handle */
	ACT_CUT_NET,      /* take the VM's TAP devices down */
	ACT_COUNT
};

struct policy_settings {
	uint64_t exit_storm_per_s;   /* kernel-counted exits per second that make an exit_storm event; 0 = never */
	unsigned restart_budget;     /* restarts allowed per run */
	unsigned throttle_percent;   /* CPU share left to a throttled VM (1..100) */
	unsigned pause_ms;           /* how long a pause lasts */
	unsigned tick_ms;            /* the orchestrator's loop period */
	unsigned diverge_percent;    /* tolerated shortfall of agent counts against the kernel's */
	uint64_t diverge_slack;      /* ... plus this many exits */
};

#define POLICY_MAX_ACTIONS_PER_STEP 4
#define POLICY_NAME_MAX 48
#define POLICY_MAX_RULES 64  /* rules in one policy */
#define POLICY_MAX_STEPS 8   /* steps in one escalation ladder */
#define POLICY_GLOB_MAX  64  /* a match.resource or match.vm pattern, with its NUL */

/* One decision: take `actions` on `resource` because rule `rule` fired at
 * escalation step `step` (0-based). */
struct policy_decision {
	char rule[POLICY_NAME_MAX];
	unsigned step;
	unsigned nr_actions;
	enum policy_action actions[POLICY_MAX_ACTIONS_PER_STEP];
	enum event_kind kind;
	char resource[EVENT_RESOURCE_MAX];
	uint64_t count; /* matching occurrences in the window when it fired */
	unsigned pause_ms; /* for ACT_PAUSE: the rule's pause_ms, else settings.pause_ms */
};

struct policy;

/* Parses a policy. On error returns -EINVAL (or -errno for I/O) and writes
 * one line to err: "<name>: line N: <reason>". */
int policy_load_file(const char *path, struct policy **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int policy_load_string(const char *text, const char *name, struct policy **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The policy shipped with kfv (policy/default.json, compiled in). */
int policy_load_default(struct policy **out, char *err, size_t errlen) __attribute__((warn_unused_result));

const struct policy_settings *policy_settings(const struct policy *p);

/* Accounts one event at time now_ns (monotonic) and returns how many
 * decisions it wrote to out (at most max). A policy holds the rule state
 * (windows, ladder steps, hold-downs) of one VM. A rule whose condition
 * holds when out is already full does not fire and stays armed. */
unsigned policy_observe(struct policy *p, const struct event *ev, uint64_t now_ns,
			struct policy_decision *out, unsigned max);

const char *policy_action_name(enum policy_action a);

/* The action a name ("log", "reset_device", ...) stands for, or -1. */
int policy_action_parse(const char *name);

/* How many rules the policy has. */
unsigned policy_nr_rules(const struct policy *p);

void policy_free(struct policy *p);

#endif
