#ifndef KFV_CLI_RUN_H
#define KFV_CLI_RUN_H

#include <stdio.h>

#include "options.h"

/* Why a run could not start: the status to exit with and one line. */
struct run_error {
	int status;
	char msg[320];
};

/* Boots and runs one VM. Returns the exit status; when the VM could not be
 * started, err->msg says why (err->msg is empty otherwise). */
int run_vm(const struct run_options *o, struct run_error *err);

/* Checks everything the user gave (options, host memory, kernel, initrd)
 * the way run_vm() will, without KVM and without leaving anything behind:
 * the supervisor calls it before it builds a jail. */
int run_validate(const struct run_options *o, struct run_error *err);

struct jail;

/* What the VMM writes on its report fd once it is locked down. */
#define RUN_LOCKED_MARKER "kfv-vmm: locked down"

/* Where and how the VMM locks itself down: set in the jailed child. */
struct run_lockdown {
	const struct jail *jail;
	int report_fd; /* seccomp violation reports go here */
};

/* run_vm() that, when lock is not NULL, enters the jail and installs the
 * seccomp allow-lists once every fd is open and before any thread that
 * touches the guest starts. */
int run_vm_locked(const struct run_options *o, const struct run_lockdown *lock, struct run_error *err);

/* Registers the devices `o` asks for on buses with no KVM behind them and
 * prints the exit surface (`kfv surface`). Returns the exit status. */
int run_describe_surface(const struct run_options *o, FILE *out, struct run_error *err);

#endif
