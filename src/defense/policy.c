/* The policy engine: runs the rules read by policy_parse.c over a stream of
 * events. It only decides; the orchestrator carries decisions out. Event
 * fields may come from counters the VMM wrote, so counts saturate and the
 * strings are read within their arrays. */
#include "policy_internal.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[ACT_COUNT] = {
	[ACT_LOG] = "log",
	[ACT_THROTTLE] = "throttle",
	[ACT_DENY] = "deny",
	[ACT_RESET_DEVICE] = "reset_device",
	[ACT_PAUSE] = "pause",
	[ACT_KILL] = "kill",
	[ACT_RESTART] = "restart",
	[ACT_QUARANTINE] = "quarantine",
	[ACT_DUMP] = "dump",
	[ACT_CUT_NET] = "cut_net",
};

const char *policy_action_name(enum policy_action a)
{
	return (unsigned)a < ACT_COUNT ? action_names[a] : "unknown";
}

int policy_action_parse(const char *name)
{
	for (int i = 0; name && i < ACT_COUNT; i++)
		if (!strcmp(action_names[i], name))
			return i;
	return -1;
}

const struct policy_settings *policy_settings(const struct policy *p)
{
	return &p->settings;
}

unsigned policy_nr_rules(const struct policy *p)
{
	return p ? p->nr_rules : 0;
}

void policy_free(struct policy *p)
{
	free(p);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A string field of an event, which need not be NUL-terminated. */
static void copy_field(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool glob_matches(const char *pattern, const char *s)
{
	return !pattern[0] || fnmatch(pattern, s, 0) == 0;
}

static bool rule_matches(const struct policy_rule *r, const struct event *ev, const char *resource, const char *vm)
{
	return ev->kind == r->kind && (unsigned)ev->severity >= (unsigned)r->min_severity &&
	       glob_matches(r->resource, resource) && glob_matches(r->vm, vm);
}

static void window_add(struct policy_rule *r, uint64_t now, uint64_t count)
{
	uint64_t epoch = now / r->bucket_ns;
	unsigned slot = (unsigned)(epoch % POLICY_BUCKETS);

	if (r->bucket_epoch[slot] != epoch) {
		r->bucket_epoch[slot] = epoch;
		r->bucket_count[slot] = 0;
	}
	r->bucket_count[slot] = sat_add(r->bucket_count[slot], count);
}

static uint64_t window_sum(const struct policy_rule *r, uint64_t now)
{
	uint64_t epoch = now / r->bucket_ns, sum = 0;

	for (unsigned i = 0; i < POLICY_BUCKETS; i++)
		if (r->bucket_count[i] && epoch - r->bucket_epoch[i] < POLICY_BUCKETS)
			sum = sat_add(sum, r->bucket_count[i]);
	return sum;
}

static bool condition_holds(const struct policy_rule *r, uint64_t sum)
{
	uint64_t window_ms = r->window_ns / 1000000;

	switch (r->cond) {
	case COND_COUNT:
		return sum >= r->threshold;
	case COND_RATE: /* sum / window >= rate, without dividing (rate <= 1e9, window <= 3.6e6 ms) */
		return sum >= (r->threshold * window_ms + 999) / 1000;
	case COND_EVERY:
	default:
		return true;
	}
}

static void fire(struct policy_rule *r, const struct event *ev, const char *resource, uint64_t now, uint64_t sum,
		 struct policy_decision *d)
{
	const struct policy_step *step = &r->steps[r->step];

	memset(d, 0, sizeof(*d));
	memcpy(d->rule, r->name, sizeof(d->rule));
	d->step = r->step;
	d->nr_actions = step->nr;
	memcpy(d->actions, step->actions, sizeof(d->actions));
	d->kind = ev->kind;
	memcpy(d->resource, resource, sizeof(d->resource));
	d->count = sum;
	d->pause_ms = r->pause_ms;

	if (r->step + 1 < r->nr_steps)
		r->step++;
	memset(r->bucket_count, 0, sizeof(r->bucket_count));
	r->since_fire = 0;
	r->hold_until_ns = sat_add(now, r->hold_down_ns);
}

/* Accounts ev against one rule; writes a decision to d (when not NULL) and
 * returns 1 if the rule fires. */
static unsigned observe_rule(struct policy_rule *r, const struct event *ev, const char *resource, const char *vm,
			     uint64_t now, struct policy_decision *d)
{
	uint64_t count = ev->count ? ev->count : 1, sum;

	if (!rule_matches(r, ev, resource, vm))
		return 0;
	if (r->reset_after_ns && r->seen && now - r->last_match_ns >= r->reset_after_ns)
		r->step = 0;
	r->seen = true;
	r->last_match_ns = now;
	if (r->cond == COND_EVERY) {
		r->since_fire = sat_add(r->since_fire, count);
		sum = r->since_fire;
	} else {
		window_add(r, now, count);
		sum = window_sum(r, now);
	}
	if (!condition_holds(r, sum) || now < r->hold_until_ns || !d)
		return 0;
	fire(r, ev, resource, now, sum, d);
	return 1;
}

unsigned policy_observe(struct policy *p, const struct event *ev, uint64_t now_ns, struct policy_decision *out,
			unsigned max)
{
	char resource[EVENT_RESOURCE_MAX], vm[EVENT_VM_MAX];
	unsigned n = 0;

	if (!p || !ev)
		return 0;
	/* a clock that steps back must not reopen windows or end hold-downs early */
	if (now_ns < p->last_now_ns)
		now_ns = p->last_now_ns;
	p->last_now_ns = now_ns;
	copy_field(resource, ev->resource, sizeof(resource));
	copy_field(vm, ev->vm, sizeof(vm));
	for (unsigned i = 0; i < p->nr_rules; i++)
		n += observe_rule(&p->rules[i], ev, resource, vm, now_ns, out && n < max ? &out[n] : NULL);
	return n;
}
