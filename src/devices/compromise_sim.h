/* Compromise simulation, in test builds only (KFV_COMPROMISE_SIM): a port
 * through which a guest makes the VMM itself try what an attacker would
 * after taking over device emulation. Release builds have no trace of it;
 * tests/integration/host/release_clean.sh checks that. */
#ifndef KFV_DEVICES_COMPROMISE_SIM_H
#define KFV_DEVICES_COMPROMISE_SIM_H

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
};

struct vm;

#ifdef KFV_COMPROMISE_SIM
int compromise_sim_register(struct vm *vm) __attribute__((warn_unused_result));
#else
static inline int compromise_sim_register(struct vm *vm)
{
	(void)vm;
	return 0;
}
#endif

#endif
