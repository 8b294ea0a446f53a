/* The agent seam: every guest-reachable resource has an agent that counts
 * what the guest does to it and holds the action currently applied. The
 * hot path reads the action and bumps counters with relaxed atomics only:
 * no locks and no syscalls. Whoever decides (today the VMM's own checks,
 * later the orchestrator) writes the action word. */
#ifndef KFV_VMM_AGENT_H
#define KFV_VMM_AGENT_H

#include <stdatomic.h>
#include <stdint.h>

enum agent_action {
	AGENT_ALLOW = 0, /* pass the access to the device */
	AGENT_DENY = 1,  /* refuse: reads return all-ones, writes are dropped */
};

struct agent {
	char name[24];
	_Atomic uint32_t action;
	_Atomic uint64_t accesses;
	_Atomic uint64_t bytes;
	_Atomic uint64_t rejects;
};

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

#endif
