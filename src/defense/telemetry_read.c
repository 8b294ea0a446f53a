/* The supervisor's reading of the telemetry page (telemetry.h,
 * telemetry_read.h). The page is shared with a VMM that may be
 * compromised: every slot is copied into a struct agent_view first, with
 * its name cut at AGENT_NAME_MAX bytes and its kind checked, and every
 * count is clamped to the arrays it counts. */
#define _GNU_SOURCE
#include "telemetry_read.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(((struct agent *)0)->name) == AGENT_NAME_MAX, "agent names are AGENT_NAME_MAX bytes");

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

unsigned telemetry_nr_agents(const struct telemetry *t)
{
	uint32_t n = LOAD(t->nr_agents);

	return n < TELEMETRY_MAX_AGENTS ? n : TELEMETRY_MAX_AGENTS;
}

unsigned telemetry_nr_vcpus(const struct telemetry *t)
{
	uint32_t n = LOAD(t->nr_vcpus);

	return n < TELEMETRY_MAX_VCPUS ? n : TELEMETRY_MAX_VCPUS;
}

const char *telemetry_agent_name(const struct agent *a, char out[AGENT_NAME_MAX + 1])
{
	/* The whole array, then our own NUL: a name that fills it has none,
	 * and the bytes after it are the next field, or an unmapped page. */
	memcpy(out, a->name, AGENT_NAME_MAX);
	out[AGENT_NAME_MAX] = '\0';
	return out;
}

int telemetry_agent_view(const struct telemetry *t, unsigned i, struct agent_view *v)
{
	const struct agent *a;
	uint32_t kind;

	memset(v, 0, sizeof(*v));
	if (i >= TELEMETRY_MAX_AGENTS) {
		v->kind = AGENT_KIND_COUNT;
		return -ERANGE;
	}
	a = &t->agents[i];
	telemetry_agent_name(a, v->name);
	/* Loaded once: a plain read could be repeated by the compiler after
	 * the range check, and the VMM may have changed the word in between. */
	kind = __atomic_load_n(&a->kind, __ATOMIC_RELAXED);
	v->kind = kind < AGENT_KIND_COUNT ? (enum agent_kind)kind : AGENT_KIND_COUNT;
	v->flags = __atomic_load_n(&a->flags, __ATOMIC_RELAXED);
	v->action = LOAD(a->action);
	v->resets = LOAD(a->resets);
	v->accesses = LOAD(a->accesses);
	v->bytes = LOAD(a->bytes);
	v->rejects = LOAD(a->rejects);
	v->anomalies = LOAD(a->anomalies);
	v->throttled = LOAD(a->throttled);
	return 0;
}

static void report_delta(telemetry_report_fn *report, void *ctx, enum event_kind kind, enum event_severity sev,
			 const char *resource, uint64_t count, const char *what)
{
	char detail[EVENT_DETAIL_MAX];

	snprintf(detail, sizeof(detail), "%llu %s", (unsigned long long)count, what);
	report(ctx, kind, sev, resource, count, detail);
}

void telemetry_sense(const struct telemetry *t, struct telemetry_last *last, telemetry_report_fn *report, void *ctx)
{
	unsigned n = telemetry_nr_agents(t);

	for (unsigned i = 0; i < n; i++) {
		struct agent_view v;
		uint64_t d_acc, d_rej, d_anom, d_thr;

		if (telemetry_agent_view(t, i, &v))
			break;
		/* Wrapping deltas are what they are: a VMM that lowers a total
		 * reports a huge count, which is its own alarm. */
		d_acc = v.accesses - last->accesses[i];
		d_rej = v.rejects - last->rejects[i];
		d_anom = v.anomalies - last->anomalies[i];
		d_thr = v.throttled - last->throttled[i];
		last->accesses[i] = v.accesses;
		last->rejects[i] = v.rejects;
		last->anomalies[i] = v.anomalies;
		last->throttled[i] = v.throttled;
		if (v.kind == AGENT_KIND_UNCLAIMED && d_acc)
			report_delta(report, ctx, v.name[0] == 'p' ? EV_UNCLAIMED_PIO : EV_UNCLAIMED_MMIO, SEV_NOTICE,
				     v.name, d_acc, "accesses no device claimed");
		if (v.kind == AGENT_KIND_MSR) {
			if (d_rej)
				report_delta(report, ctx, EV_MSR_DENIED, SEV_NOTICE, v.name, d_rej,
					     "MSR accesses denied (#GP)");
		} else if (d_rej && v.action == AGENT_DENY) {
			report_delta(report, ctx, EV_ACCESS_DENIED, SEV_NOTICE, v.name, d_rej,
				     "accesses refused (action deny)");
		}
		if (d_anom)
			report_delta(report, ctx, EV_MALFORMED_DESC, SEV_WARNING, v.name, d_anom,
				     "malformed requests refused");
		if (d_thr)
			report_delta(report, ctx, EV_RATE_LIMIT, SEV_INFO, v.name, d_thr,
				     "requests held back by the rate limiter");
	}
}

unsigned telemetry_set_action(struct telemetry *t, const char *resource, enum agent_action act)
{
	unsigned n = telemetry_nr_agents(t);
	enum agent_kind bus = !strcmp(resource, "pio") ? AGENT_KIND_PIO
			      : !strcmp(resource, "mmio") ? AGENT_KIND_MMIO : AGENT_KIND_COUNT;
	unsigned hit = 0;

	for (unsigned i = 0; i < n; i++) {
		struct agent_view v;
		bool match;

		if (telemetry_agent_view(t, i, &v))
			break;
		if (bus != AGENT_KIND_COUNT)
			match = (v.kind == bus && !(v.flags & AGENT_ESSENTIAL) && act == AGENT_DENY) ||
				(v.kind == AGENT_KIND_UNCLAIMED && !strcmp(v.name, resource));
		else
			match = !strcmp(v.name, resource) && !(v.flags & AGENT_ESSENTIAL);
		/* Only changes count: a ladder that stays on deny does not
		 * deny again. */
		if (match && atomic_exchange(&t->agents[i].action, act) != act)
			hit++;
	}
	return hit;
}
