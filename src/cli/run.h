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

/* Registers the devices `o` asks for on buses with no KVM behind them and
 * prints the exit surface (`kfv surface`). Returns the exit status. */
int run_describe_surface(const struct run_options *o, FILE *out, struct run_error *err);

#endif
