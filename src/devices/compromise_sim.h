/* Compromise simulation, in test builds only (KFV_COMPROMISE_SIM): a port
 * through which a guest makes the VMM itself try what an attacker would
 * after taking over device emulation. Release builds have no trace of it;
 * tests/integration/host/release_clean.sh checks that. */
#ifndef KFV_DEVICES_COMPROMISE_SIM_H
#define KFV_DEVICES_COMPROMISE_SIM_H

#include <stdint.h>

#define COMPROMISE_SIM_PORT 0xf8

enum compromise_action {
	ESCAPE_OPEN_SHADOW = 1, /* open("/etc/shadow") */
	ESCAPE_EXECVE,          /* execve("/bin/sh") */
	ESCAPE_SOCKET,          /* socket(AF_INET) */
	ESCAPE_PTRACE,          /* ptrace(PTRACE_ATTACH, another process) */
	ESCAPE_KILL,            /* kill(another process) */
	ESCAPE_MMAP_EXEC,       /* mmap(PROT_EXEC) */
	ESCAPE_MOUNT,           /* mount a tmpfs */
	ESCAPE_OTHER_VM_MEMORY, /* open another process's /proc/PID/mem */
	ESCAPE_FORK,            /* fork() */
	/* The frozen configuration: the VM's memory map and vCPU set after boot. */
	ESCAPE_NEW_MEMORY_SLOT = 10, /* ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, a new slot) */
	ESCAPE_NEW_VCPU = 11,        /* ioctl(vm_fd, KVM_CREATE_VCPU, the next id) */
	ESCAPE_COUNT,
	/* Not escapes: a VMM that fails or lies, for the supervisor to notice
	 * without its help. Harmless, so they run unjailed too. */
	COMPROMISE_CRASH = 20,        /* a write through NULL on the vCPU thread: SIGSEGV */
	COMPROMISE_UNDER_REPORT = 21, /* telemetry's under_report set: exits under-counted */
	/* The integrity guard's view of the VMM (src/guard/responder.c); harmless,
	 * so they run unjailed too. Jailed, seccomp stops 32 and 33 first. */
	GUARD_SIM_STOP_RESPONDER = 30, /* the responder reads challenges and answers none */
	GUARD_SIM_REPLAY = 31,         /* the responder answers with its previous answer */
	GUARD_SIM_EXEC_PAGE = 32,      /* mmap(PROT_READ|PROT_EXEC) an anonymous page, kept */
	GUARD_SIM_EXTRA_FD = 33,       /* eventfd(): one fd more than at the lock-down */
	/* Growing the first disk image past its end, from a device thread
	 * (the one role whose allow-list has pwrite64 and fallocate): jailed
	 * only. RLIMIT_FSIZE, seccomp's fallocate modes and the ring's
	 * opcodes must each hold. */
	DISK_PWRITE_FAR = 40,      /* pwrite64 of one byte at 1 TiB */
	DISK_FALLOC_KEEP_SIZE = 41, /* fallocate(ZERO_RANGE | KEEP_SIZE) of 512 MiB past the end */
	DISK_FALLOC_GROW = 42,     /* fallocate(mode 0) of 512 MiB past the end */
	DISK_URING_FALLOC = 43,    /* IORING_OP_FALLOCATE (mode 0) past the end, through the image's ring */
};

struct vm;
struct blk_uring;

#ifdef KFV_COMPROMISE_SIM
int compromise_sim_register(struct vm *vm) __attribute__((warn_unused_result));
/* virtio-blk names its image and its size, where the eventfd that wakes
 * its worker will be, and its ring (NULL: none), for the DISK_* attempts. */
void compromise_sim_disk(int image_fd, uint64_t size, const int *wake_fd, struct blk_uring *ring);
/* Every device worker calls this when it wakes: a pending DISK_* attempt
 * runs there, under the device thread's own allow-list. */
void compromise_sim_device_thread(void);
/* Test builds: an IORING_OP_FALLOCATE submitted straight to the ring, as
 * code that owns the VMM could; returns its completion's result. */
int blk_uring_sim_fallocate(struct blk_uring *u, int mode, uint64_t off, uint64_t len);
#else
static inline int compromise_sim_register(struct vm *vm)
{
	(void)vm;
	return 0;
}
static inline void compromise_sim_disk(int image_fd, uint64_t size, const int *wake_fd, struct blk_uring *ring)
{
	(void)image_fd;
	(void)size;
	(void)wake_fd;
	(void)ring;
}
static inline void compromise_sim_device_thread(void)
{
}
#endif

#endif
