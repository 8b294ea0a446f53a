/* Names of agent kinds, as the metrics label them. */
#include "telemetry.h"

static const char *const agent_kind_names[AGENT_KIND_COUNT] = {
	[AGENT_KIND_PIO] = "pio",
	[AGENT_KIND_MMIO] = "mmio",
	[AGENT_KIND_UNCLAIMED] = "unclaimed",
	[AGENT_KIND_VIRTQ] = "virtq",
	[AGENT_KIND_MSR] = "msr",
	[AGENT_KIND_CPUID] = "cpuid",
	[AGENT_KIND_VCPU] = "vcpu",
	[AGENT_KIND_MEMMAP] = "memmap",
};

const char *agent_kind_name(enum agent_kind kind)
{
	/* The kind word sits in the telemetry page a compromised VMM can write. */
	return (unsigned)kind < AGENT_KIND_COUNT && agent_kind_names[kind] ? agent_kind_names[kind] : "unknown";
}
