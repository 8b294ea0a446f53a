#define _GNU_SOURCE
#include "telemetry.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static struct telemetry private_telemetry = { .magic = TELEMETRY_MAGIC };
static struct telemetry *current = &private_telemetry;
/* Without a supervisor (unit tests, `kfv surface`) agents come from here:
 * tests build many short-lived buses, more than one VM's worth of slots. */
#define PRIVATE_AGENTS 4096
static struct agent private_agents[PRIVATE_AGENTS];
static unsigned private_next;

struct telemetry *telemetry_create_shared(void)
{
	struct telemetry *t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (t == MAP_FAILED)
		return NULL;
	/* Never in a core dump or a forked child's copy-on-write set: it is shared state. */
	(void)madvise(t, sizeof(*t), MADV_DONTDUMP);
	t->magic = TELEMETRY_MAGIC;
	current = t;
	return t;
}

struct telemetry *telemetry_current(void)
{
	return current;
}

void telemetry_reset(struct telemetry *t)
{
	memset(t, 0, sizeof(*t));
	t->magic = TELEMETRY_MAGIC;
}

void telemetry_destroy(struct telemetry *t)
{
	if (!t || t == &private_telemetry)
		return;
	if (current == t)
		current = &private_telemetry;
	munmap(t, sizeof(*t));
}

struct agent *agent_register(enum agent_kind kind, const char *name, unsigned flags)
{
	struct telemetry *t = current;
	uint32_t i;
	struct agent *a;

	if (t == &private_telemetry) {
		a = &private_agents[__atomic_fetch_add(&private_next, 1, __ATOMIC_RELAXED) % PRIVATE_AGENTS];
		goto fill;
	}
	i = atomic_fetch_add(&t->nr_agents, 1);
	if (i >= TELEMETRY_MAX_AGENTS - 1) {
		atomic_store(&t->nr_agents, TELEMETRY_MAX_AGENTS);
		a = &t->agents[TELEMETRY_MAX_AGENTS - 1];
		snprintf(a->name, sizeof(a->name), "overflow");
		return a;
	}
	a = &t->agents[i];
fill:
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->kind = kind;
	a->flags = flags;
	return a;
}

struct agent *telemetry_find_agent(struct telemetry *t, const char *name)
{
	uint32_t n = atomic_load(&t->nr_agents);

	if (n > TELEMETRY_MAX_AGENTS)
		n = TELEMETRY_MAX_AGENTS;
	for (uint32_t i = 0; i < n; i++)
		if (!strncmp(t->agents[i].name, name, sizeof(t->agents[i].name)))
			return &t->agents[i];
	return NULL;
}
