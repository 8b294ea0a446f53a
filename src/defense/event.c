#include "event.h"

#include <string.h>

static const char *const kind_names[EV_KIND_COUNT] = {
	[EV_VM_START] = "vm_start",
	[EV_VM_END] = "vm_end",
	[EV_UNCLAIMED_PIO] = "unclaimed_pio",
	[EV_UNCLAIMED_MMIO] = "unclaimed_mmio",
	[EV_ACCESS_DENIED] = "access_denied",
	[EV_MALFORMED_DESC] = "malformed_descriptor",
	[EV_RATE_LIMIT] = "rate_limit",
	[EV_EXIT_STORM] = "exit_storm",
	[EV_MSR_DENIED] = "msr_denied",
	[EV_SECCOMP] = "seccomp_violation",
	[EV_GUARD_ALARM] = "guard_alarm",
	[EV_VMM_DIED] = "vmm_died",
	[EV_REPORTS_DIVERGE] = "reports_diverge",
	[EV_POLICY_ACTION] = "policy_action",
};

static const char *const severity_names[SEV_COUNT] = {
	[SEV_INFO] = "info",
	[SEV_NOTICE] = "notice",
	[SEV_WARNING] = "warning",
	[SEV_CRITICAL] = "critical",
};

const char *event_kind_name(enum event_kind kind)
{
	return (unsigned)kind < EV_KIND_COUNT ? kind_names[kind] : "unknown";
}

const char *event_severity_name(enum event_severity sev)
{
	return (unsigned)sev < SEV_COUNT ? severity_names[sev] : "unknown";
}

int event_kind_parse(const char *name)
{
	for (int i = 0; i < EV_KIND_COUNT; i++)
		if (!strcmp(kind_names[i], name))
			return i;
	return -1;
}

int event_severity_parse(const char *name)
{
	for (int i = 0; i < SEV_COUNT; i++)
		if (!strcmp(severity_names[i], name))
			return i;
	return -1;
}
