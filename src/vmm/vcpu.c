#define _GNU_SOURCE
#include "vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../defense/telemetry.h"
#include "../sandbox/lockdown.h"
#include "../util/log.h"
#include "cpuid.h"
#include "exit_status.h"
#include "pinning.h"
#include "surface.h"

int vcpu_init(struct vcpu *vcpu, struct vm *vm, unsigned id, const struct kvm_cpuid2 *cpuid)
{
	void *run;
	int ret;

	if (vm->frozen)
		return -EPERM; /* no vCPU is added once the guest runs */
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = -errno;
		vcpu->fd = -1;
		return ret;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	vcpu->run = run;
	ret = cpuid_install(vcpu->fd, cpuid, id, vm->ncpus);
	if (ret)
		goto err_unmap;
	return 0;

err_unmap:
	munmap(vcpu->run, vm->run_size);
	vcpu->run = NULL;
err_close:
	close(vcpu->fd);
	vcpu->fd = -1;
	return ret;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

int vcpu_run_once(struct vcpu *vcpu)
{
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0)
		return -errno;
	return 0;
}

static enum vcpu_verdict handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t offset = run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *data;
	uint32_t i;

	/* The kernel fills these, but a wrong one would make us write outside
	 * the kvm_run mapping: check rather than trust. */
	if ((size != 1 && size != 2 && size != 4) || count == 0 ||
	    offset > vcpu->vm->run_size || (uint64_t)size * count > vcpu->vm->run_size - offset) {
		vm_request_stop(vcpu->vm, KFV_EXIT_KVM_ERROR, "vcpu %u: malformed port I/O exit", vcpu->id);
		return VCPU_STOP;
	}
	data = (uint8_t *)run + offset;
	for (i = 0; i < count; i++)
		bus_dispatch(&vcpu->vm->pio, is_write, run->io.port, data + (size_t)i * size, size);
	return VCPU_CONTINUE;
}

static enum vcpu_verdict handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	bus_dispatch(&vcpu->vm->mmio, run->mmio.is_write, run->mmio.phys_addr, run->mmio.data,
		     run->mmio.len > sizeof(run->mmio.data) ? 0 : run->mmio.len);
	return VCPU_CONTINUE;
}

static enum vcpu_verdict stop_with_dump(struct vcpu *vcpu, int status, const char *what)
{
	/* Only the first vCPU to stop the VM prints its registers. */
	if (!vm_stopping(vcpu->vm))
		vcpu_dump_registers(vcpu);
	vm_request_stop(vcpu->vm, status, "vcpu %u: %s", vcpu->id, what);
	return VCPU_STOP;
}

static enum vcpu_verdict handle_internal_error(struct vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;
	char what[96];

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
		snprintf(what, sizeof(what), "KVM emulation failure");
	else
		snprintf(what, sizeof(what), "KVM internal error, suberror %u", run->internal.suberror);
	return stop_with_dump(vcpu, KFV_EXIT_KVM_ERROR, what);
}

static enum vcpu_verdict handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vcpu->vm, KFV_EXIT_OK, "vcpu %u: guest powered off", vcpu->id);
		return VCPU_STOP;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vcpu->vm, KFV_EXIT_GUEST_RESET, "vcpu %u: guest requested a reset", vcpu->id);
		return VCPU_STOP;
	default:
		return stop_with_dump(vcpu, KFV_EXIT_GUEST_CRASH, "guest crash event");
	}
}

/* The vCPU agent: what the orchestrator compares with the kernel's own KVM
 * statistics. Single writer per slot: no locked instruction. */
#ifdef KFV_NO_AGENTS
static void vcpu_account_exit(struct vcpu *vcpu, unsigned reason)
{
	(void)vcpu;
	(void)reason;
}
#else
static void vcpu_account_exit(struct vcpu *vcpu, unsigned reason)
{
	struct telemetry *t = telemetry_current();
	struct telemetry_vcpu *s = telemetry_vcpu(t, vcpu->id);
	uint64_t seen = vcpu->exit_counts[reason < VCPU_EXIT_REASONS ? reason : VCPU_EXIT_REASONS - 1];

	/* Set only by the compromise simulation of test builds: a VMM that
	 * hides half of what its guest does, for the orchestrator to catch. */
	if (atomic_load_explicit(&t->under_report, memory_order_relaxed) && (seen & 1))
		return;
	telemetry_bump(&s->exits);
	switch (reason) {
	case KVM_EXIT_IO: telemetry_bump(&s->io_exits); break;
	case KVM_EXIT_MMIO: telemetry_bump(&s->mmio_exits); break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR: telemetry_bump(&s->msr_exits); break;
	case KVM_EXIT_HLT: telemetry_bump(&s->hlt_exits); break;
	default: break;
	}
}
#endif

enum vcpu_verdict vcpu_handle_exit(struct vcpu *vcpu)
{
	unsigned reason = vcpu->run->exit_reason;
	char what[96];

	vcpu->exit_counts[reason < VCPU_EXIT_REASONS ? reason : VCPU_EXIT_REASONS - 1]++;
	vcpu_account_exit(vcpu, reason);
	if (surface_account_exit(vcpu->vm)) {
		vm_request_stop(vcpu->vm, KFV_EXIT_BUDGET, "vcpu %u: over the exit budget of %llu exits/s", vcpu->id,
				(unsigned long long)vcpu->vm->surface.cfg.exit_budget);
		return VCPU_STOP;
	}
	switch (reason) {
	case KVM_EXIT_IO:
		return handle_io(vcpu);
	case KVM_EXIT_MMIO:
		return handle_mmio(vcpu);
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return VCPU_CONTINUE;
	case KVM_EXIT_HLT:
		/* With the in-kernel LAPIC, HLT stays in the kernel; seeing it
		 * here means the vCPU has nothing left to wait for. */
		return stop_with_dump(vcpu, KFV_EXIT_GUEST_CRASH, "halted with no way to wake");
	case KVM_EXIT_SHUTDOWN:
		return stop_with_dump(vcpu, KFV_EXIT_GUEST_CRASH, "triple fault (shutdown)");
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason %#llx",
			 (unsigned long long)vcpu->run->fail_entry.hardware_entry_failure_reason);
		return stop_with_dump(vcpu, KFV_EXIT_KVM_ERROR, what);
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_internal_error(vcpu);
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(vcpu);
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		/* Only the MSR filter makes these; without it they are unplanned. */
		if (!vcpu->vm->surface.msr_filter_on)
			goto unexpected;
		surface_handle_msr(vcpu); /* the guest gets #GP; no device sees it */
		return VCPU_CONTINUE;
	default:
	unexpected:
		/* Fail closed: an exit we did not plan for is not guessed at. */
		snprintf(what, sizeof(what), "unexpected exit %s (%u)", kvm_exit_reason_name(reason), reason);
		return stop_with_dump(vcpu, KFV_EXIT_UNKNOWN_EXIT, what);
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;

	if (vm->surface.cfg.ndedicated) {
		int ret = pinning_pin_self(vm->surface.cfg.dedicated[vcpu->id]);

		if (ret) {
			vm_request_stop(vm, KFV_EXIT_OS_ERROR, "vcpu %u: pinning to host CPU %u: %s", vcpu->id,
					vm->surface.cfg.dedicated[vcpu->id], strerror(-ret));
			return NULL;
		}
	}
	/* Pinned while still under the union filter: the vCPU role cannot change
	 * its affinity. Narrowed before the first guest instruction it runs. */
	if (sandbox_thread_role(ROLE_VCPU)) {
		vm_request_stop(vm, KFV_EXIT_JAIL, "vcpu %u: cannot install its seccomp filter", vcpu->id);
		return NULL;
	}
	atomic_store(&vcpu->in_guest_loop, true);
	while (!vm_stopping(vm)) {
		int ret = vcpu_run_once(vcpu);

		if (ret == -EINTR || ret == -EAGAIN) {
			vcpu->run->immediate_exit = 0;
			continue;
		}
		if (ret < 0) {
			vm_request_stop(vm, KFV_EXIT_KVM_ERROR, "vcpu %u: KVM_RUN failed: %s", vcpu->id,
					strerror(-ret));
			break;
		}
		if (vcpu_handle_exit(vcpu) == VCPU_STOP)
			break;
	}
	atomic_store(&vcpu->in_guest_loop, false);
	return NULL;
}
