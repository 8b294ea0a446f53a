#ifndef KFV_CLI_RUN_H
#define KFV_CLI_RUN_H

#include <stdio.h>

#include "options.h"

/* Why a run could not start: the status to exit with and one line. */
struct run_error {
	int status;
	char msg[640];
};

/* Boots and runs one VM. Returns the exit status; when the VM could not be
 * started, err->msg says why (err->msg is empty otherwise). */
int run_vm(const struct run_options *o, struct run_error *err);

/* Checks everything the user gave (options, host memory, kernel, initrd)
 * the way run_vm() will, without KVM and without leaving anything behind:
 * the supervisor calls it before it builds a jail. */
int run_validate(const struct run_options *o, struct run_error *err);

struct jail;

/* What the VMM writes on its report fd once it is locked down, and (jailed
 * or not) just before the guest's first instruction. */
#define RUN_LOCKED_MARKER  "kfv-vmm: locked down"
#define RUN_STARTED_MARKER "kfv-vmm: running"

/* What the supervisor hands its VMM child, and where and how the VMM locks
 * itself down. */
struct run_lockdown {
	const struct jail *jail; /* NULL: unjailed (--no-sandbox): no lock-down */
	int report_fd;           /* seccomp violation reports go here */
	int guest_memfd;         /* guest RAM made by the supervisor (gm_memfd_create()), or -1 */
	int ctl_fd;              /* control socket to the supervisor, or -1 (defense/handoff.h) */
	int guard_fd;            /* the guard's challenge channel, or -1 (guard/responder.h) */
	const unsigned char *guard_key;     /* 32 bytes, with guard_fd */
	const unsigned char *config_digest; /* 32 bytes, with guard_fd */
};

/* run_vm() as the supervisor's child: guest RAM from lock->guest_memfd,
 * the KVM statistics fds handed over on lock->ctl_fd, then (when jailed)
 * the jail and the seccomp allow-lists once every fd is open and before any
 * thread that touches the guest starts. lock NULL is run_vm(). */
int run_vm_locked(const struct run_options *o, const struct run_lockdown *lock, struct run_error *err);

/* Registers the devices `o` asks for on buses with no KVM behind them and
 * prints the exit surface (`kfv surface`). Returns the exit status. */
int run_describe_surface(const struct run_options *o, FILE *out, struct run_error *err);

#endif
