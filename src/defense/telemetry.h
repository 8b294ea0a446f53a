/* The telemetry page: every agent of one VM and the VMM's own exit counts,
 * in memory the supervisor shares with its VMM (a MAP_SHARED mapping made
 * before the VMM is forked). The VMM's hot paths write counters here with
 * relaxed atomics; the orchestrator reads them and writes action words.
 * A compromised VMM can write anything here, so nothing that decides its
 * fate rests on this page alone: the kernel's KVM statistics are read
 * beside it (stats.h) and a mismatch is an alarm. */
#ifndef KFV_DEFENSE_TELEMETRY_H
#define KFV_DEFENSE_TELEMETRY_H

#include <stdatomic.h>
#include <stdint.h>

#include "../vmm/agent.h"

#define TELEMETRY_MAGIC      0x6b66762d74656c31ull /* "kfv-tel1" */
#define TELEMETRY_MAX_AGENTS 64
#define TELEMETRY_MAX_VCPUS  64 /* vCPUs past this share the last slot */

/* Per vCPU, written by that vCPU's thread only. */
struct telemetry_vcpu {
	_Atomic uint64_t exits;      /* KVM_RUN returns that reached kfv */
	_Atomic uint64_t io_exits;   /* KVM_EXIT_IO */
	_Atomic uint64_t mmio_exits; /* KVM_EXIT_MMIO */
	_Atomic uint64_t msr_exits;  /* KVM_EXIT_X86_RDMSR/WRMSR */
	_Atomic uint64_t hlt_exits;  /* KVM_EXIT_HLT */
};

struct telemetry {
	uint64_t magic;
	_Atomic uint32_t nr_agents;
	_Atomic uint32_t nr_vcpus;
	_Atomic uint64_t heartbeat_ns; /* the VMM's last sign of life (CLOCK_MONOTONIC) */
	_Atomic uint32_t under_report; /* test builds: the compromise hook that lies about counts */
	struct agent agents[TELEMETRY_MAX_AGENTS];
	struct telemetry_vcpu vcpu[TELEMETRY_MAX_VCPUS];
};

/* Maps a fresh zeroed page set shared with every process forked after it
 * and makes it this process's current telemetry. Returns it or NULL
 * (errno set). */
struct telemetry *telemetry_create_shared(void);

/* The current telemetry: the shared one once created, else a private one
 * (unit tests, `kfv surface`, a VMM run without a supervisor). Never NULL. */
struct telemetry *telemetry_current(void);

/* Zeroes every agent and counter: before a (re)started VMM registers its own. */
void telemetry_reset(struct telemetry *t);

/* Unmaps a shared telemetry (the supervisor, when the run is over). */
void telemetry_destroy(struct telemetry *t);

/* Claims the next agent slot of the current telemetry. When all slots are
 * taken, returns the last one (named "overflow"), so callers never get NULL. */
struct agent *agent_register(enum agent_kind kind, const char *name, unsigned flags);

/* The agent called `name`, or NULL. */
struct agent *telemetry_find_agent(struct telemetry *t, const char *name);

/* The lower-case name of an agent kind ("pio", "virtq", ...), "unknown" for
 * a value out of range (the kind word is in the shared page). */
const char *agent_kind_name(enum agent_kind kind);

/* --- reading the page from the trusted side (telemetry_read.c) ---------
 * Everything in the page is the VMM's word: a name may lack its NUL, a
 * kind or a count may be any 32-bit value. The supervisor reads agent
 * slots only through these, never through t->agents[i] directly, and
 * counts of slots only clamped. */

/* One agent slot as the supervisor may use it: copied out of the page in
 * one pass (the VMM may be rewriting it meanwhile, so every later check
 * and use sees the same values), the name NUL-terminated within
 * AGENT_NAME_MAX bytes, the kind in range. */
struct agent_view {
	char name[AGENT_NAME_MAX + 1];
	enum agent_kind kind; /* AGENT_KIND_COUNT when the page's word is not a kind */
	uint32_t flags;
	uint32_t action;      /* as written: compare it, never index with it */
	uint32_t resets;
	uint64_t accesses, bytes, rejects, anomalies, throttled;
};

/* The agent slots in use: the page's nr_agents, at most TELEMETRY_MAX_AGENTS. */
unsigned telemetry_nr_agents(const struct telemetry *t);

/* The vCPU slots in use: the page's nr_vcpus, at most TELEMETRY_MAX_VCPUS. */
unsigned telemetry_nr_vcpus(const struct telemetry *t);

/* Copies the name of a into out: at most AGENT_NAME_MAX bytes of a->name
 * (never a byte past it, terminator or not), then a NUL. Returns out. */
const char *telemetry_agent_name(const struct agent *a, char out[AGENT_NAME_MAX + 1]);

/* Copies slot i of t into v. Returns 0, or -ERANGE (v zeroed, kind
 * AGENT_KIND_COUNT) for i past the slot array. */
int telemetry_agent_view(const struct telemetry *t, unsigned i, struct agent_view *v)
	__attribute__((warn_unused_result));

/* The slot of vCPU `id`. */
static inline struct telemetry_vcpu *telemetry_vcpu(struct telemetry *t, unsigned id)
{
	return &t->vcpu[id < TELEMETRY_MAX_VCPUS ? id : TELEMETRY_MAX_VCPUS - 1];
}

/* A single writer's increment: a load and a store, no locked instruction. */
static inline void telemetry_bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

#endif
