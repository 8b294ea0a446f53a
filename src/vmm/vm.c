#define _GNU_SOURCE
#include "vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../boot/boot.h"
#include "../boot/entry_state.h"
#include "../boot/layout.h"
#include "../defense/telemetry.h"
#include "../sandbox/lockdown.h"
#include "../util/log.h"
#include "exit_status.h"
#include "cpuid_profile.h"
#include "kvm.h"
#include "lapic.h"
#include "vcpu.h"

#define KICK_SIGNAL SIGUSR1

static int vm_stop_efd = -1; /* wakes vm_run()'s wait when a vCPU stops the VM */

int vm_set_memory_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	if (!vm->memmap_agent)
		vm->memmap_agent = agent_register(AGENT_KIND_MEMMAP, "memmap", 0);
	agent_count(vm->memmap_agent, 0);
	if (vm->frozen) {
		agent_reject(vm->memmap_agent);
		return -EPERM;
	}
	return kvm_set_memory(vm->vm_fd, slot, gpa, size, host);
}

void vm_freeze(struct vm *vm)
{
	vm->frozen = true;
	bus_freeze(&vm->pio);
	bus_freeze(&vm->mmio);
}

static int map_guest_memory(struct vm *vm)
{
	int ret = vm_set_memory_slot(vm, 0, 0, vm->mem.low_size, vm->mem.host);

	if (ret == 0 && vm->mem.high_size)
		ret = vm_set_memory_slot(vm, 1, KFV_MMIO_HOLE_END, vm->mem.high_size,
					 vm->mem.host + vm->mem.low_size);
	return ret;
}

static int create_vcpus(struct vm *vm, const char **what)
{
	struct kvm_cpuid2 *cpuid;
	unsigned i;
	int ret;

	ret = kvm_supported_cpuid(vm->kvm_fd, &cpuid);
	if (ret) {
		*what = "KVM_GET_SUPPORTED_CPUID";
		return ret;
	}
	cpuid_profile_apply(cpuid, vm->surface.cfg.cpuid_profile);
	for (i = 0; i < vm->ncpus; i++) {
		ret = vcpu_init(&vm->vcpus[i], vm, i, cpuid);
		if (ret) {
			*what = "creating a vCPU";
			break;
		}
		ret = lapic_init_lints(vm->vcpus[i].fd);
		if (ret) {
			*what = "setting up the local APIC";
			break;
		}
	}
	free(cpuid);
	return ret; /* on failure vm_destroy() releases the vCPUs created so far */
}

int vm_create(struct vm *vm, int kvm_fd, struct guest_mem *mem, unsigned ncpus, const char **what)
{
	return vm_create_ex(vm, kvm_fd, mem, ncpus, NULL, what);
}

int vm_create_ex(struct vm *vm, int kvm_fd, struct guest_mem *mem, unsigned ncpus,
		 const struct surface_config *cfg, const char **what)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	if (cfg)
		vm->surface.cfg = *cfg;
	vm->vm_fd = -1;
	vm->kvm_fd = kvm_fd;
	atomic_init(&vm->stop_status, -1);
	pthread_mutex_init(&vm->stop_lock, NULL);
	bus_init(&vm->pio, BUS_PIO);
	bus_init(&vm->mmio, BUS_MMIO);

	ret = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < (int)sizeof(struct kvm_run)) {
		*what = "KVM_GET_VCPU_MMAP_SIZE";
		return ret < 0 ? -errno : -EINVAL;
	}
	vm->run_size = (size_t)ret;

	vm->vcpus = calloc(ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		*what = "allocating vCPUs";
		return -ENOMEM;
	}
	for (unsigned i = 0; i < ncpus; i++)
		vm->vcpus[i].fd = -1;

	ret = kvm_create_vm(kvm_fd);
	if (ret < 0) {
		*what = "creating the VM (irqchip, PIT)";
		goto err;
	}
	vm->vm_fd = ret;
	vm->mem = *mem;
	ret = map_guest_memory(vm);
	if (ret) {
		*what = "mapping guest memory";
		memset(&vm->mem, 0, sizeof(vm->mem)); /* still the caller's */
		vm->mem.memfd = -1;
		goto err;
	}
	vm->ncpus = ncpus;
	ret = surface_setup_vm(vm, what);
	if (ret)
		goto err_mem_owned;
	ret = create_vcpus(vm, what);
	if (ret)
		goto err_mem_owned;
	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	return 0;

err_mem_owned:
	memset(&vm->mem, 0, sizeof(vm->mem));
	vm->mem.memfd = -1;
err:
	vm_destroy(vm);
	return ret;
}

int vm_load_boot_state(struct vm *vm, const struct boot_entry *entry)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct vcpu *bsp = &vm->vcpus[0];
	int ret;

	if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	ret = boot_vcpu_state(entry, &regs, &sregs);
	if (ret)
		return ret;
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(bsp->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(bsp->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	int expected = -1;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_compare_exchange_strong(&vm->stop_status, &expected, status)) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	/* A vCPU about to enter the guest sees immediate_exit; one inside it
	 * is knocked out by the signal. */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			v->run->immediate_exit = 1;
		if (v->thread_started)
			pthread_kill(v->thread, KICK_SIGNAL);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (vm_stop_efd >= 0) {
		uint64_t one = 1;

		if (write(vm_stop_efd, &one, sizeof(one)) < 0)
			log_debug("stop eventfd: %s", strerror(errno));
	}
}

static void kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return -EINTR */
}

/* SIGPWR: ask the guest to shut down, and give it shutdown_timeout_ms. */
static void request_shutdown(struct vm *vm, uint64_t *deadline_ms)
{
	int ret = vm->shutdown_request ? vm->shutdown_request(vm->shutdown_opaque) : -ENOTSUP;

	if (ret)
		log_warn("shutdown request: the guest cannot be asked (%s); it is stopped when the timeout ends",
			 strerror(-ret));
	else
		log_info("shutdown request: Ctrl-Alt-Del sent to the guest");
	if (vm->shutdown_timeout_ms && !*deadline_ms)
		*deadline_ms = monotonic_ns() / 1000000u + vm->shutdown_timeout_ms;
}

static int wait_for_stop(struct vm *vm, int sfd)
{
	struct pollfd fds[2] = { { .fd = vm_stop_efd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
	uint64_t deadline_ms = 0;

	while (!vm_stopping(vm)) {
		int timeout = -1;

		if (deadline_ms) {
			uint64_t now = monotonic_ns() / 1000000u;

			if (now >= deadline_ms) {
				vm_request_stop(vm, KFV_EXIT_INTERRUPTED,
						"the guest did not shut down within %u ms of the shutdown request",
						vm->shutdown_timeout_ms);
				break;
			}
			timeout = (int)(deadline_ms - now);
		}
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			return -errno;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGPWR)
				request_shutdown(vm, &deadline_ms);
			else
				vm_request_stop(vm, KFV_EXIT_INTERRUPTED, "received %s", strsignal((int)si.ssi_signo));
		}
	}
	return 0;
}

int vm_run(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t stop_signals, old_mask;
	unsigned i;
	int sfd, ret = 0;

	vm_freeze(vm);

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGPWR); /* the graceful-shutdown request */
	/* vCPU threads inherit this mask: only the main thread takes these. */
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);
	sfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
	vm_stop_efd = eventfd(0, EFD_CLOEXEC);
	if (sfd < 0 || vm_stop_efd < 0) {
		vm_request_stop(vm, KFV_EXIT_OS_ERROR, "signalfd/eventfd: %s", strerror(errno));
		goto out;
	}

	for (i = 0; i < vm->ncpus; i++) {
		ret = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (ret) {
			vm_request_stop(vm, KFV_EXIT_OS_ERROR, "starting vCPU thread %u: %s", i, strerror(ret));
			break;
		}
		pthread_mutex_lock(&vm->stop_lock);
		vm->vcpus[i].thread_started = true;
		if (vm_stopping(vm)) {
			vm->vcpus[i].run->immediate_exit = 1;
			pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
		}
		pthread_mutex_unlock(&vm->stop_lock);
	}
	/* Every other thread exists now: the main thread needs only its own list. */
	if (!vm_stopping(vm) && sandbox_thread_role(ROLE_VMM_MAIN))
		vm_request_stop(vm, KFV_EXIT_JAIL, "main thread: cannot install its seccomp filter");
	ret = wait_for_stop(vm, sfd);
	if (ret)
		vm_request_stop(vm, KFV_EXIT_OS_ERROR, "waiting for the VM: %s", strerror(-ret));

	for (i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (vm_stop_efd >= 0)
		close(vm_stop_efd);
	vm_stop_efd = -1;
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	return atomic_load(&vm->stop_status);
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			if (vm->vcpus[i].vm)
				vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
	gm_destroy(&vm->mem);
	pthread_mutex_destroy(&vm->stop_lock);
}

uint64_t vm_exit_count(const struct vm *vm, unsigned reason)
{
	uint64_t total = 0;

	if (reason >= VCPU_EXIT_REASONS)
		reason = VCPU_EXIT_REASONS - 1;
	for (unsigned i = 0; i < vm->ncpus; i++)
		total += vm->vcpus[i].exit_counts[reason];
	return total;
}
