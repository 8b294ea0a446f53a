/* The orchestrator's sensor over the telemetry page: counter deltas of
 * every agent turned into reports, and the deny/reset matching of agents
 * by name and kind. Both read the page only through struct agent_view
 * (telemetry.h), so what a compromised VMM wrote there is bounded and
 * range-checked before it reaches a format, a comparison or an index.
 * Kept apart from the orchestrator so that tests and the fuzz harness
 * (fuzz/fuzz_telemetry.c) drive exactly the code a tick runs. */
#ifndef KFV_DEFENSE_TELEMETRY_READ_H
#define KFV_DEFENSE_TELEMETRY_READ_H

#include <stdint.h>

#include "event.h"
#include "telemetry.h"

/* Counter values at the last reading, in the supervisor's own memory:
 * totals become per-reading deltas. */
struct telemetry_last {
	uint64_t accesses[TELEMETRY_MAX_AGENTS], rejects[TELEMETRY_MAX_AGENTS], anomalies[TELEMETRY_MAX_AGENTS],
		throttled[TELEMETRY_MAX_AGENTS];
};

/* One report of the sensor: resource is the agent's name, NUL-terminated
 * and at most AGENT_NAME_MAX bytes; detail is a short sentence. */
typedef void telemetry_report_fn(void *ctx, enum event_kind kind, enum event_severity sev, const char *resource,
				 uint64_t count, const char *detail);

/* Reads every slot in use once, reports what moved since *last (unclaimed
 * accesses, MSR refusals, refusals under deny, malformed input, rate
 * limiting) and remembers the new totals in *last. */
void telemetry_sense(const struct telemetry *t, struct telemetry_last *last, telemetry_report_fn *report, void *ctx);

/* Writes act into the action word of the agents resource names: "pio" and
 * "mmio" stand for every range of that bus that is not essential (for
 * deny) and the bus's unclaimed path; any other name is the one agent of
 * that name, unless essential. Returns how many action words changed. */
unsigned telemetry_set_action(struct telemetry *t, const char *resource, enum agent_action act);

#endif
