/* The policy's in-memory form, shared by the parser (policy_parse.c), which
 * fills it, and the engine (policy.c), which runs it. */
#ifndef KFV_DEFENSE_POLICY_INTERNAL_H
#define KFV_DEFENSE_POLICY_INTERNAL_H

#include <stdbool.h>

#include "policy.h"

/* A window is kept as this many buckets, each window/POLICY_BUCKETS wide:
 * an event is forgotten between window*(B-1)/B and window after it. */
#define POLICY_BUCKETS 32

enum policy_cond {
	COND_EVERY,  /* no "when": every matching event fires */
	COND_COUNT,  /* sum of counts in the window >= threshold */
	COND_RATE,   /* sum of counts in the window >= rate_per_s * window */
};

struct policy_step {
	unsigned nr;
	enum policy_action actions[POLICY_MAX_ACTIONS_PER_STEP];
};

struct policy_rule {
	/* from the file */
	char name[POLICY_NAME_MAX];
	enum event_kind kind;
	char resource[POLICY_GLOB_MAX]; /* "" = any */
	char vm[POLICY_GLOB_MAX];       /* "" = any */
	enum event_severity min_severity;
	enum policy_cond cond;
	uint64_t threshold;             /* COND_COUNT: count; COND_RATE: rate_per_s */
	uint64_t window_ns;
	unsigned nr_steps;
	struct policy_step steps[POLICY_MAX_STEPS];
	uint64_t hold_down_ns;
	uint64_t reset_after_ns;        /* 0 = the ladder never goes back */
	unsigned pause_ms;

	/* state */
	uint64_t bucket_ns;             /* window_ns / POLICY_BUCKETS, at least 1 */
	uint64_t bucket_count[POLICY_BUCKETS];
	uint64_t bucket_epoch[POLICY_BUCKETS]; /* now / bucket_ns of what the slot holds */
	uint64_t since_fire;            /* COND_EVERY: counts since the last firing */
	unsigned step;                  /* the next step to take */
	bool seen;                      /* a matching event was seen: last_match_ns is valid */
	uint64_t last_match_ns;
	uint64_t hold_until_ns;
};

struct policy {
	struct policy_settings settings;
	uint64_t last_now_ns;           /* time never runs backwards for the rules */
	unsigned nr_rules;
	struct policy_rule rules[];
};

#endif
