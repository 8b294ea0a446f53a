/* The CPUID table each vCPU sees: what KVM supports, with the topology
 * fields made to agree with the MP table and MADT (APIC id = vCPU index). */
#ifndef KFV_VMM_CPUID_H
#define KFV_VMM_CPUID_H

#include <linux/kvm.h>

/* Adjusts `table` in place for vCPU `id` of `ncpus`. Pure, for tests. */
void cpuid_for_vcpu(struct kvm_cpuid2 *table, unsigned id, unsigned ncpus);

/* Copies `supported`, adjusts it for vCPU `id` and installs it. */
int cpuid_install(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus)
	__attribute__((warn_unused_result));

#endif
