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
	ESCAPE_COUNT
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
