#ifdef KFV_COMPROMISE_SIM
#define _GNU_SOURCE
#include "compromise_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../defense/telemetry.h"
#include "../guard/responder.h"
#include "../sandbox/lockdown.h"
#include "../util/log.h"
#include "../vmm/bus.h"
#include "../vmm/vcpu.h"
#include "../vmm/vm.h"

/* A slot and an address no VM of kfv uses (slots 0-1, RAM below 1 TiB). */
#define SIM_SLOT 7
#define SIM_GPA  (1ull << 40)

static uint8_t sim_page[4096] __attribute__((aligned(4096)));

/* The memory slot the attacker would add: a page of the VMM's own. */
static void sim_region(struct kvm_userspace_memory_region *r)
{
	*r = (struct kvm_userspace_memory_region){
		.slot = SIM_SLOT, .guest_phys_addr = SIM_GPA, .memory_size = sizeof(sim_page),
		.userspace_addr = (uint64_t)(uintptr_t)sim_page,
	};
}

static void disk_attempt(unsigned action);

/* Each attempt is made from the vCPU thread that took the exit, exactly
 * where an attacker who owns device emulation would stand. */
static void attempt(struct vm *vm, unsigned action)
{
	static char *const argv[] = { "/bin/sh", NULL };
	struct kvm_userspace_memory_region region;
	long r = 0;

	switch (action) {
	case ESCAPE_OPEN_SHADOW: r = open("/etc/shadow", O_RDONLY); break;
	case ESCAPE_EXECVE: r = execve("/bin/sh", argv, argv + 1); break;
	case ESCAPE_SOCKET: r = socket(AF_INET, SOCK_STREAM, 0); break;
	case ESCAPE_PTRACE: r = ptrace(PTRACE_ATTACH, 1, NULL, NULL); break;
	case ESCAPE_KILL: r = kill(1, SIGKILL); break;
	case ESCAPE_MMAP_EXEC:
		r = (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case ESCAPE_MOUNT: r = mount("none", "/", "tmpfs", 0, NULL); break;
	case ESCAPE_OTHER_VM_MEMORY: r = open("/proc/1/mem", O_RDWR); break;
	case ESCAPE_FORK: r = fork(); if (r == 0) _exit(0); break;
	/* Straight at KVM, past vm_set_memory_slot() and vcpu_init(), as
	 * code that owns the process would: only seccomp stands there. */
	case ESCAPE_NEW_MEMORY_SLOT:
		sim_region(&region);
		r = ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		break;
	case ESCAPE_NEW_VCPU: r = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)vm->ncpus); break;
	case DISK_PWRITE_FAR:
	case DISK_FALLOC_KEEP_SIZE:
	case DISK_FALLOC_GROW:
	case DISK_URING_FALLOC:
		disk_attempt(action); /* on a device thread, which reports the outcome */
		return;
	default: return;
	}
	log_error("compromise simulation: escape %u was not stopped (result %ld)", action, r);
}

/* Unjailed, the frozen configuration is the VMM's own refusal: what the
 * VMM's code would do if asked for a new slot or vCPU after boot. */
static void attempt_unjailed(struct vm *vm, unsigned action)
{
	struct vcpu scratch;
	const char *what;
	int ret;

	if (action == ESCAPE_NEW_MEMORY_SLOT) {
		what = "vm_set_memory_slot()";
		ret = vm_set_memory_slot(vm, SIM_SLOT, SIM_GPA, sizeof(sim_page), sim_page);
	} else {
		what = "vcpu_init()";
		ret = vcpu_init(&scratch, vm, vm->ncpus, NULL);
		if (ret == 0)
			vcpu_destroy(&scratch);
	}
	if (ret == -EPERM)
		log_warn("compromise simulation, unjailed: %s after boot: %s (the configuration is frozen)", what,
			 strerror(-ret));
	else
		log_error("compromise simulation, unjailed: %s after boot was not refused (%d)", what, ret);
}

/* A VMM that crashes or lies about its counters. Neither is a system
 * call, so seccomp has nothing to stop: the supervisor must notice the
 * dead process, or the counts that disagree with the kernel's. */
static void misbehave(unsigned action)
{
	if (action == COMPROMISE_CRASH) {
		volatile int *volatile nowhere = NULL;

		log_warn("compromise simulation: crashing the VMM (a write through NULL)");
		*nowhere = 1;
		return;
	}
	atomic_store_explicit(&telemetry_current()->under_report, 1, memory_order_relaxed);
	log_warn("compromise simulation: the VMM now under-reports its exits");
}

static int compromise_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;

	(void)offset;
	(void)len;
	if (data[0] == COMPROMISE_CRASH || data[0] == COMPROMISE_UNDER_REPORT) {
		misbehave(data[0]);
		return IO_HANDLED;
	}
	if (data[0] >= GUARD_SIM_STOP_RESPONDER && data[0] <= GUARD_SIM_EXTRA_FD) {
		(void)guard_responder_sim(data[0]); /* the guard must notice; jailed, seccomp may first */
		return IO_HANDLED;
	}
	if (!sandbox_locked_down()) {
		if (data[0] == ESCAPE_NEW_MEMORY_SLOT || data[0] == ESCAPE_NEW_VCPU) {
			attempt_unjailed(vm, data[0]);
			return IO_HANDLED;
		}
		/* Unjailed, the other attempts would succeed for real: only
		 * ever run them where the jail and seccomp are there to stop
		 * them. */
		LOG_RATELIMITED(LOG_ERROR, "compromise simulation refused: the VMM is not jailed");
		return IO_HANDLED;
	}
	attempt(vm, data[0]);
	return IO_HANDLED;
}

static struct {
	int image_fd;
	const int *wake_fd; /* the worker's kick eventfd, made when the device starts */
	uint64_t size;
	struct blk_uring *ring;
	_Atomic unsigned pending; /* a DISK_* action for the next device thread to wake */
	_Atomic int done;
} sim_disk = { .image_fd = -1 };

void compromise_sim_disk(int image_fd, uint64_t size, const int *wake_fd, struct blk_uring *ring)
{
	if (sim_disk.image_fd >= 0)
		return; /* the first disk */
	sim_disk.image_fd = image_fd;
	sim_disk.size = size;
	sim_disk.wake_fd = wake_fd;
	sim_disk.ring = ring;
}

#define SIM_FAR_OFFSET  (1ull << 40)
#define SIM_GROW_BYTES  (512ull << 20)

void compromise_sim_device_thread(void)
{
	unsigned action = atomic_exchange(&sim_disk.pending, 0);
	off_t end = (off_t)sim_disk.size;
	long r = -1;
	int err = 0;

	if (!action)
		return;
	errno = 0;
	switch (action) {
	case DISK_PWRITE_FAR: r = pwrite(sim_disk.image_fd, "x", 1, (off_t)SIM_FAR_OFFSET); break;
	case DISK_FALLOC_KEEP_SIZE:
		r = fallocate(sim_disk.image_fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, end,
			      (off_t)SIM_GROW_BYTES);
		break;
	case DISK_FALLOC_GROW: r = fallocate(sim_disk.image_fd, 0, end, (off_t)SIM_GROW_BYTES); break;
	case DISK_URING_FALLOC:
		if (!sim_disk.ring) {
			log_error("compromise simulation: disk attack %u: the image has no ring", action);
			break;
		}
		r = blk_uring_sim_fallocate(sim_disk.ring, 0, sim_disk.size, SIM_GROW_BYTES);
		if (r < 0) {
			errno = (int)-r;
			r = -1;
		}
		break;
	default: break;
	}
	err = errno;
	if (r < 0)
		log_warn("compromise simulation: disk attack %u from a device thread refused: %s", action,
			 strerror(err));
	else
		log_error("compromise simulation: disk attack %u from a device thread was not stopped (result %ld)",
			  action, r);
	atomic_store(&sim_disk.done, 1);
}

/* On the vCPU thread: hands the attempt to a device thread and waits for
 * it (at most 5 s), so the guest's next line comes after its outcome. */
static void disk_attempt(unsigned action)
{
	uint64_t one = 1, until = monotonic_ns() + 5000000000ull;

	if (sim_disk.image_fd < 0 || !sim_disk.wake_fd || *sim_disk.wake_fd < 0) {
		log_error("compromise simulation: disk attack %u: no disk (give --disk)", action);
		return;
	}
	atomic_store(&sim_disk.done, 0);
	atomic_store(&sim_disk.pending, action);
	if (write(*sim_disk.wake_fd, &one, sizeof(one)) < 0)
		log_error("compromise simulation: cannot wake the disk's worker: %s", strerror(errno));
	while (!atomic_load(&sim_disk.done) && monotonic_ns() < until)
		__builtin_ia32_pause();
}

static const struct io_ops compromise_ops = { .write = compromise_write };

int compromise_sim_register(struct vm *vm)
{
	log_warn("compromise simulation port 0x%x is present: this is a test build", COMPROMISE_SIM_PORT);
	return bus_register(&vm->pio, COMPROMISE_SIM_PORT, 1, "compromise-sim", &compromise_ops, vm);
}
#else
/* Release builds: this translation unit is empty on purpose. */
typedef int compromise_sim_not_built;
#endif
