/* A virtual machine: the KVM fds, guest RAM, the two I/O buses and the
 * vCPUs. Bring-up is vm_create() → devices register on the buses →
 * vm_load_boot_state() → vm_run(); teardown is vm_destroy() in reverse. */
#ifndef KFV_VMM_VM_H
#define KFV_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "guest_mem.h"
#include "surface.h"

struct kvm_run;
struct boot_entry;

#define VCPU_EXIT_REASONS 64 /* KVM_EXIT_* values are small; the rest land in the last slot */

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	_Atomic bool in_guest_loop;
	uint64_t exit_counts[VCPU_EXIT_REASONS]; /* written by this vCPU's thread only */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	unsigned ncpus;
	struct vcpu *vcpus;
	bool debug_exit; /* the guest may end the run through port 0xf4 */
	_Atomic int stop_status; /* -1 while running */
	pthread_mutex_t stop_lock;
	char stop_reason[192];
	bool frozen; /* set by vm_run(): no memory slot or vCPU can be added after (-EPERM) */
	struct vm_surface surface; /* NoHype mode: MSR agent, exit budget, pinning (surface.h) */
	struct agent *memmap_agent; /* memory slot changes (refused once frozen) */
	/* The operator's graceful-shutdown request (SIGPWR, docs/boot.md): a
	 * device that passes it to the guest, and how long the guest then has
	 * to power off or reset before the VM is stopped (0: no limit). */
	int (*shutdown_request)(void *opaque);
	void *shutdown_opaque;
	unsigned shutdown_timeout_ms;
};

/* Opens KVM, creates the VM with its irqchip and PIT, maps `mem` into it
 * (taking ownership) and creates `ncpus` vCPUs with their CPUID. On failure
 * returns a negative errno, leaves `vm` destroyed and `mem` still the
 * caller's; *what names the step that failed. */
int vm_create(struct vm *vm, int kvm_fd, struct guest_mem *mem, unsigned ncpus,
	      const char **what) __attribute__((warn_unused_result));

/* vm_create() with the NoHype settings in cfg (NULL: kfv's defaults): the
 * CPUID profile, MSR filter and disabled exits are set up before the vCPUs
 * exist (surface.h). */
int vm_create_ex(struct vm *vm, int kvm_fd, struct guest_mem *mem, unsigned ncpus,
		 const struct surface_config *cfg, const char **what) __attribute__((warn_unused_result));

/* Maps [gpa, gpa + size) of guest memory at host in KVM slot `slot`.
 * -EPERM once the VM is frozen: the memory map is fixed after boot. */
int vm_set_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
	__attribute__((warn_unused_result));

/* Fixes the configuration: from now on no memory slot, vCPU or bus range
 * can be added, moved or removed. vm_run() calls it before the first
 * guest instruction. */
void vm_freeze(struct vm *vm);

/* Sets the boot vCPU's registers for the loader's entry point. */
int vm_load_boot_state(struct vm *vm, const struct boot_entry *entry) __attribute__((warn_unused_result));

/* Freezes the buses, runs every vCPU on its own thread until one of them or
 * a signal stops the VM, joins them all and returns the exit status. */
int vm_run(struct vm *vm);

/* Asks every vCPU to stop; the first status given wins. Safe from any
 * thread, not from a signal handler. */
void vm_request_stop(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline bool vm_stopping(const struct vm *vm)
{
	return atomic_load_explicit(&vm->stop_status, memory_order_acquire) >= 0;
}

/* Releases everything vm_create() took; safe on a partly created VM. */
void vm_destroy(struct vm *vm);

/* Total exits of one reason over all vCPUs. */
uint64_t vm_exit_count(const struct vm *vm, unsigned reason);

#endif
