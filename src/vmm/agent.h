/* The agent seam: every guest-reachable resource has an agent that counts
 * what the guest does to it and holds the action currently applied. The
 * hot path reads the action and bumps counters with relaxed atomics only:
 * no locks and no syscalls. Agents live in the telemetry page
 * (defense/telemetry.h), which the supervisor maps too: it reads the
 * counters and writes the action words. */
#ifndef KFV_VMM_AGENT_H
#define KFV_VMM_AGENT_H

#include <stdatomic.h>
#include <stdint.h>

enum agent_action {
	AGENT_ALLOW = 0, /* pass the access to the device */
	AGENT_DENY = 1,  /* refuse: reads return all-ones, writes are dropped */
	AGENT_RESET = 2, /* reset the device behind it, then back to allow (the VMM acknowledges) */
};

enum agent_kind {
	AGENT_KIND_PIO,        /* a claimed port range */
	AGENT_KIND_MMIO,       /* a claimed MMIO range (a virtio transport is one) */
	AGENT_KIND_UNCLAIMED,  /* accesses no device claimed, one per address space */
	AGENT_KIND_VIRTQ,      /* a virtio device's queues: chains walked, refused, rate-limited */
	AGENT_KIND_MSR,        /* MSR exits */
	AGENT_KIND_CPUID,      /* CPUID (answered by KVM from the fixed table: counted by the kernel) */
	AGENT_KIND_VCPU,       /* the vCPU run loop: every exit */
	AGENT_KIND_MEMMAP,     /* memory slot changes */
	AGENT_KIND_COUNT
};

/* Agent flags */
#define AGENT_ESSENTIAL 0x1u /* the console and the exit port: a blanket deny leaves them alone */

#define AGENT_NAME_MAX 24

struct agent {
	char name[AGENT_NAME_MAX];
	uint32_t kind;     /* enum agent_kind */
	uint32_t flags;
	_Atomic uint32_t action;   /* enum agent_action; written by the orchestrator */
	_Atomic uint32_t resets;   /* resets the VMM carried out for AGENT_RESET */
	_Atomic uint64_t accesses;
	_Atomic uint64_t bytes;
	_Atomic uint64_t rejects;   /* refused: denied, or not valid for the device */
	_Atomic uint64_t anomalies; /* malformed input: bad chains, bad lengths */
	_Atomic uint64_t throttled; /* held back by a rate limiter */
};

/* KFV_NO_AGENTS (the agent-cost benchmark's build, never shipped): every
 * hot-path hook compiles to nothing, the floor agents are measured against. */
#ifdef KFV_NO_AGENTS
static inline void agent_count(struct agent *a, uint32_t len) { (void)a; (void)len; }
static inline enum agent_action agent_action(const struct agent *a) { (void)a; return AGENT_ALLOW; }
static inline void agent_reject(struct agent *a) { (void)a; }
static inline void agent_anomaly(struct agent *a) { (void)a; }
static inline void agent_throttled(struct agent *a) { (void)a; }
static inline int agent_take_reset(struct agent *a) { (void)a; return 0; }
#else
static inline void agent_count(struct agent *a, uint32_t len)
{
	atomic_fetch_add_explicit(&a->accesses, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->bytes, len, memory_order_relaxed);
}

static inline enum agent_action agent_action(const struct agent *a)
{
	return (enum agent_action)atomic_load_explicit(&a->action, memory_order_relaxed);
}

static inline void agent_reject(struct agent *a)
{
	atomic_fetch_add_explicit(&a->rejects, 1, memory_order_relaxed);
}

static inline void agent_anomaly(struct agent *a)
{
	atomic_fetch_add_explicit(&a->anomalies, 1, memory_order_relaxed);
}

static inline void agent_throttled(struct agent *a)
{
	atomic_fetch_add_explicit(&a->throttled, 1, memory_order_relaxed);
}

/* The VMM's side of AGENT_RESET: true once when a reset was asked for; the
 * caller resets its device. */
static inline int agent_take_reset(struct agent *a)
{
	uint32_t want = AGENT_RESET;

	if (atomic_load_explicit(&a->action, memory_order_relaxed) != AGENT_RESET)
		return 0;
	if (!atomic_compare_exchange_strong(&a->action, &want, AGENT_ALLOW))
		return 0;
	atomic_fetch_add_explicit(&a->resets, 1, memory_order_relaxed);
	return 1;
}

#endif /* KFV_NO_AGENTS */

#endif
