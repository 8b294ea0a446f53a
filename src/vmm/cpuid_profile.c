#include "cpuid_profile.h"

#include <linux/kvm.h>
#include <stdbool.h>

/* Keep in step with docs/nohype.md. */
const struct cpuid_rule cpuid_nohype_rules[] = {
	{ 1, CPUID_ECX, 1U << 5, "VMX", "no nested virtualisation: the largest emulation surface KVM has" },
	{ 1, CPUID_ECX, 1U << 6, "SMX", "no TXT/GETSEC" },
	{ 1, CPUID_ECX, 1U << 3, "MONITOR", "no MONITOR/MWAIT: idle through HLT, one well-understood exit" },
	{ 1, CPUID_ECX, (1U << 2) | (1U << 4) | (1U << 7) | (1U << 8) | (1U << 14), "DTES64 DS_CPL EST TM2 xTPR",
	  "debug store, power and thermal management: host features, denied MSRs" },
	{ 1, CPUID_ECX, 1U << 15, "PDCM", "no PERF_CAPABILITIES MSR (the PMU is hidden)" },
	{ 1, CPUID_EDX, (1U << 7) | (1U << 14), "MCE MCA", "machine checks are the host's business; MCG/MCi MSRs denied" },
	{ 1, CPUID_EDX, (1U << 21) | (1U << 22) | (1U << 29) | (1U << 31), "DS ACPI TM PBE",
	  "debug store, thermal monitor, pending break: denied MSRs" },
	{ 7, CPUID_EBX, 1U << 2, "SGX", "no enclaves" },
	{ 7, CPUID_EBX, (1U << 4) | (1U << 11), "HLE RTM", "no TSX: a side-channel source (TAA)" },
	{ 7, CPUID_EBX, 1U << 25, "INTEL_PT", "no processor trace: its MSRs are denied" },
	{ 7, CPUID_ECX, 1U << 5, "WAITPKG", "no UMWAIT/TPAUSE: idle through HLT" },
	{ 7, CPUID_ECX, 1U << 30, "SGX_LC", "no enclaves" },
	{ 0x40000001, CPUID_EAX, 0x3fef4U, "KVM PV features but kvm-clock and NOP_IO_DELAY",
	  "no async page faults, steal time, PV EOI, PV unhalt/IPI/TLB flush/sched-yield hypercalls, poll control, "
	  "MSI extended ids, map-GPA hypercall, migration control: fewer MSRs and hypercalls" },
	{ 0x80000001, CPUID_ECX, 1U << 2, "SVM", "no nested virtualisation" },
	{ 0x80000001, CPUID_ECX, (1U << 10) | (1U << 23) | (1U << 24), "IBS PERFCTR_CORE PERFCTR_NB",
	  "no AMD performance counters or sampling: their MSRs are denied" },
	{ 0x80000001, CPUID_ECX, (1U << 12) | (1U << 13), "SKINIT WDT", "no secure init, no watchdog" },
	{ 0x80000001, CPUID_ECX, 1U << 29, "MONITORX", "no MWAITX: idle through HLT" },
};
const unsigned cpuid_nohype_rule_count = sizeof(cpuid_nohype_rules) / sizeof(cpuid_nohype_rules[0]);

const uint32_t cpuid_nohype_hidden_leaves[] = {
	0x5,        /* MONITOR/MWAIT parameters: MONITOR is hidden */
	0x6,        /* thermal and power management */
	0xa,        /* architectural PMU: version 0, no counters, all PMU MSRs #GP */
	0x12,       /* SGX */
	0x14,       /* processor trace */
	0x8000000a, /* SVM parameters */
	0x80000022, /* AMD extended PMU */
};
const unsigned cpuid_nohype_hidden_leaf_count =
	sizeof(cpuid_nohype_hidden_leaves) / sizeof(cpuid_nohype_hidden_leaves[0]);

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case CPUID_EAX: return &e->eax;
	case CPUID_EBX: return &e->ebx;
	case CPUID_ECX: return &e->ecx;
	default: return &e->edx;
	}
}

static bool leaf_hidden(uint32_t leaf)
{
	for (unsigned i = 0; i < cpuid_nohype_hidden_leaf_count; i++)
		if (cpuid_nohype_hidden_leaves[i] == leaf)
			return true;
	return false;
}

void cpuid_profile_apply(struct kvm_cpuid2 *table, enum cpuid_profile profile)
{
	if (profile != CPUID_PROFILE_NOHYPE)
		return;
	for (unsigned i = 0; i < table->nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->entries[i];

		if (leaf_hidden(e->function)) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
			continue;
		}
		for (unsigned r = 0; r < cpuid_nohype_rule_count; r++)
			if (cpuid_nohype_rules[r].leaf == e->function)
				*reg_of(e, cpuid_nohype_rules[r].reg) &= ~cpuid_nohype_rules[r].mask;
	}
}

const char *cpuid_profile_name(enum cpuid_profile profile)
{
	return profile == CPUID_PROFILE_NOHYPE ? "nohype" : "host";
}

void cpuid_print_table(FILE *out, const struct kvm_cpuid2 *table)
{
	fprintf(out, "%-10s %-8s %-10s %-10s %-10s %-10s\n", "leaf", "subleaf", "eax", "ebx", "ecx", "edx");
	for (unsigned i = 0; i < table->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &table->entries[i];
		char sub[12] = "-";

		if (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
			snprintf(sub, sizeof(sub), "%u", e->index);
		fprintf(out, "0x%08x %-8s 0x%08x 0x%08x 0x%08x 0x%08x\n", e->function, sub, e->eax, e->ebx,
			e->ecx, e->edx);
	}
}
