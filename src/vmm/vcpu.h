/* One vCPU: the KVM_RUN call and the decision about its exit, kept apart so
 * tests can hand vcpu_handle_exit() fabricated exits. */
#ifndef KFV_VMM_VCPU_H
#define KFV_VMM_VCPU_H

#include "vm.h"

struct kvm_cpuid2;

enum vcpu_verdict { VCPU_CONTINUE, VCPU_STOP };

/* Creates the vCPU fd, maps its kvm_run page and installs its CPUID. */
int vcpu_init(struct vcpu *vcpu, struct vm *vm, unsigned id, const struct kvm_cpuid2 *cpuid)
	__attribute__((warn_unused_result));
void vcpu_destroy(struct vcpu *vcpu);

/* Enters the guest once. Returns 0 with an exit to handle, -EINTR when a
 * kick interrupted it, or a negative errno KVM gave. */
int vcpu_run_once(struct vcpu *vcpu);

/* Decides what the exit in vcpu->run means. Port and MMIO accesses go to the
 * VM's buses; crashes and unknown exits stop the VM with their status. */
enum vcpu_verdict vcpu_handle_exit(struct vcpu *vcpu);

/* The vCPU thread: run_once + handle_exit until the VM stops. */
void *vcpu_thread(void *arg);

/* Prints the general, segment and control registers to stderr. */
void vcpu_dump_registers(const struct vcpu *vcpu);

const char *kvm_exit_reason_name(unsigned reason);

#endif
