#include "cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_EDX_HTT        (1U << 28)

void cpuid_for_vcpu(struct kvm_cpuid2 *table, unsigned id, unsigned ncpus)
{
	unsigned i;

	for (i = 0; i < table->nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->entries[i];

		switch (e->function) {
		case 1:
			/* initial APIC id in EBX[31:24], logical processors in EBX[23:16] */
			e->ebx = (e->ebx & 0x0000ffffU) | (id << 24) | ((ncpus & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			break;
		case 0xb:
		case 0x1f:
			/* the x2APIC id, the same for every sub-leaf */
			e->edx = id;
			break;
		default:
			break;
		}
	}
}

int cpuid_install(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id, unsigned ncpus)
{
	size_t bytes = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *table = malloc(bytes);
	int ret = 0;

	if (!table)
		return -ENOMEM;
	memcpy(table, supported, bytes);
	cpuid_for_vcpu(table, id, ncpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, table) < 0)
		ret = -errno;
	free(table);
	return ret;
}
