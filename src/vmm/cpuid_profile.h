/* CPUID profiles: system discovery answered once. The table every vCPU
 * sees is computed at start from KVM_GET_SUPPORTED_CPUID through a
 * profile, then fixed for the VM's life (KVM answers CPUID in the kernel;
 * kfv never sees a CPUID exit). The "nohype" profile hides what a cloud
 * guest does not need and what would widen the surface it can reach:
 * each rule below says why (docs/nohype.md has the same table). */
#ifndef KFV_VMM_CPUID_PROFILE_H
#define KFV_VMM_CPUID_PROFILE_H

#include <stdint.h>
#include <stdio.h>

struct kvm_cpuid2;

enum cpuid_profile {
	CPUID_PROFILE_HOST = 0, /* what KVM supports, topology fixed up (the default) */
	CPUID_PROFILE_NOHYPE,   /* --nohype: the masks below */
};

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* Clears `mask` in one register of one leaf (every sub-leaf); a mask of
 * all ones with reg CPUID_EAX..EDX all listed hides a whole leaf. */
struct cpuid_rule {
	uint32_t leaf;
	enum cpuid_reg reg;
	uint32_t mask;
	const char *what;
	const char *why;
};

extern const struct cpuid_rule cpuid_nohype_rules[];
extern const unsigned cpuid_nohype_rule_count;

/* Leaves the nohype profile zeroes entirely (every register, sub-leaf). */
extern const uint32_t cpuid_nohype_hidden_leaves[];
extern const unsigned cpuid_nohype_hidden_leaf_count;

/* Applies the profile to `table` in place. Pure, for tests. */
void cpuid_profile_apply(struct kvm_cpuid2 *table, enum cpuid_profile profile);

const char *cpuid_profile_name(enum cpuid_profile profile);

/* Prints `table` (one line per leaf/sub-leaf) as `kfv cpuid` shows it. */
void cpuid_print_table(FILE *out, const struct kvm_cpuid2 *table);

#endif
