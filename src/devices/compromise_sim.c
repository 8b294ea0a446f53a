#ifdef KFV_COMPROMISE_SIM
#define _GNU_SOURCE
#include "compromise_sim.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../sandbox/lockdown.h"
#include "../util/log.h"
#include "../vmm/bus.h"
#include "../vmm/vm.h"

/* Each attempt is made from the vCPU thread that took the exit, exactly
 * where an attacker who owns device emulation would stand. */
static void attempt(unsigned action)
{
	static char *const argv[] = { "/bin/sh", NULL };
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
	default: return;
	}
	log_error("compromise simulation: escape %u was not stopped (result %ld)", action, r);
}

static int compromise_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	(void)len;
	/* Unjailed, these attempts would succeed for real: only ever run them
	 * where the jail and seccomp are there to stop them. */
	if (!sandbox_locked_down()) {
		LOG_RATELIMITED(LOG_ERROR, "compromise simulation refused: the VMM is not jailed");
		return IO_HANDLED;
	}
	attempt(data[0]);
	return IO_HANDLED;
}

static const struct io_ops compromise_ops = { .write = compromise_write };

int compromise_sim_register(struct vm *vm)
{
	log_warn("compromise simulation port 0x%x is present: this is a test build", COMPROMISE_SIM_PORT);
	return bus_register(&vm->pio, COMPROMISE_SIM_PORT, 1, "compromise-sim", &compromise_ops, NULL);
}
#else
/* Release builds: this translation unit is empty on purpose. */
typedef int compromise_sim_not_built;
#endif
