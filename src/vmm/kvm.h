/* Thin wrappers over the /dev/kvm system and VM ioctls. They turn the
 * kernel's answers into negative errno values and the names of what is
 * missing, so the caller can print one clear line. */
#ifndef KFV_VMM_KVM_H
#define KFV_VMM_KVM_H

#include <stdint.h>

struct kvm_cpuid2;

/* Opens the KVM device and checks the API version and the capabilities kfv
 * cannot run without. On -ENOTSUP *missing names the capability. */
int kvm_open(const char *path, const char **missing) __attribute__((warn_unused_result));

/* The most vCPUs one VM may have on this host (and in kfv: the xAPIC and MP
 * table limit of 255). */
unsigned kvm_max_vcpus(int kvm_fd);

/* Creates a VM with the in-kernel irqchip (LAPIC, IOAPIC, PIC) and PIT. */
int kvm_create_vm(int kvm_fd) __attribute__((warn_unused_result));

int kvm_set_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
	__attribute__((warn_unused_result));

/* KVM_GET_SUPPORTED_CPUID into a freshly allocated table (free() it). */
int kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out) __attribute__((warn_unused_result));

#endif
