/* The exit surface (NoHype mode, docs/nohype.md): what a guest can reach in
 * a given configuration, and the accounting of what it did reach.
 *
 *  - the list of exit reasons kfv handles (anything else stops the VM with
 *    status 83: vcpu_handle_exit() fails closed, a unit test keeps the two
 *    in step);
 *  - the MSR agent: denied MSR accesses counted per index, answered #GP;
 *  - exit-rate accounting: peak exits per second, and the exit budget;
 *  - the VM-level pieces of --nohype: MSR filter, KVM_CAP_X86_DISABLE_EXITS,
 *    locked pre-faulted memory. */
#ifndef KFV_VMM_SURFACE_H
#define KFV_VMM_SURFACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpuid_profile.h"
#include "msr_filter.h"

struct vm;
struct vcpu;

#define SURFACE_MAX_CPUS 255

/* What the command line chose; all zero means kfv's default configuration. */
struct surface_config {
	bool nohype;                     /* the umbrella (for reports) */
	bool msr_filter;                 /* install the MSR allow-list */
	bool disable_exits;              /* ask KVM not to exit on HLT and PAUSE */
	enum cpuid_profile cpuid_profile;
	uint64_t exit_budget;            /* exits to kfv per second; 0 = unlimited */
	unsigned ndedicated;             /* host CPUs, one per vCPU (0 = not pinned) */
	unsigned dedicated[SURFACE_MAX_CPUS];
};

/* Lives in struct vm; zero-initialised means "nothing installed". */
struct vm_surface {
	struct surface_config cfg;
	bool msr_filter_on;          /* the filter is installed */
	uint32_t disabled_exits;     /* KVM_X86_DISABLE_EXITS_* KVM granted */
	struct msr_denials msr;      /* the MSR agent's counters, per index */
	struct agent *msr_agent;     /* ... and its totals in the telemetry page */
	_Atomic uint64_t window_start_ns;
	_Atomic uint64_t window_exits;
	_Atomic uint64_t peak_rate;  /* most exits seen in one one-second window */
};

/* One exit reason a guest can cause, and what kfv does with it. */
struct surface_exit {
	unsigned reason; /* KVM_EXIT_* */
	const char *verdict;
	bool needs_msr_filter; /* only reachable when the MSR filter is on */
};
extern const struct surface_exit surface_exits[];
extern const unsigned surface_exit_count;

/* Whether `reason` is on the list (for the configuration in vm). */
bool surface_exit_listed(const struct vm *vm, unsigned reason);

/* VM-level setup, after the VM exists and before its vCPUs: the MSR filter
 * and KVM_CAP_X86_DISABLE_EXITS, as cfg asks. A filter KVM cannot install
 * is an error (-ENOTSUP, *what names it); exits KVM will not disable are
 * only not disabled (surface.disabled_exits says what was granted). */
int surface_setup_vm(struct vm *vm, const char **what) __attribute__((warn_unused_result));

/* The MSR agent: handles a KVM_EXIT_X86_RDMSR/WRMSR. Counts it per index
 * and answers with an error, so the guest takes #GP. Never fails. */
void surface_handle_msr(struct vcpu *vcpu);

/* Counts one exit to kfv in the VM's one-second window. Returns true when
 * the exit budget is set and this exit is over it. Lock-free. */
bool surface_account_exit(struct vm *vm);

/* The peak exit rate, including the window still open. */
uint64_t surface_peak_rate(const struct vm *vm);

/* Pre-faults and locks [host, host + size): MADV_POPULATE_WRITE (touching
 * every page where the kernel lacks it) and mlock(). -ENOMEM, -EPERM or
 * -EAGAIN when the host refuses. */
int surface_lock_memory(void *host, size_t size) __attribute__((warn_unused_result));

/* KVM's own exit counters for the VM (all vCPUs), read from each vCPU's
 * KVM_GET_STATS_FD: exits (every exit from the guest, including those the
 * kernel handles), halt_exits, io_exits, mmio_exits. -ENOTSUP on kernels
 * without binary stats. */
struct surface_kvm_stats {
	uint64_t exits, halt_exits, io_exits, mmio_exits, irq_exits;
};
int surface_kvm_stats(const struct vm *vm, struct surface_kvm_stats *st) __attribute__((warn_unused_result));

/* Adds the counters of one KVM binary statistics fd (KVM_GET_STATS_FD of a
 * vCPU) to st. The supervisor reads the fds its VMM handed over this way. */
int surface_read_stats_fd(int fd, struct surface_kvm_stats *st) __attribute__((warn_unused_result));

/* `kfv surface`: every exit reason, port and MMIO range, the MSR
 * allow-list and the CPUID profile for the configuration in vm (which
 * need not have KVM behind it: only its buses and surface.cfg are read). */
void surface_print(FILE *out, const struct vm *vm);

/* The end-of-run section: exits by reason against the list, denied MSRs,
 * peak exits per second, KVM's own counters. */
void surface_print_summary(FILE *out, const struct vm *vm);

#endif
