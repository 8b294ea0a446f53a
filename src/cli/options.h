/* `kfv run` options: parsed and range-checked here, before anything is
 * opened, so a bad command line never leaves state behind. */
#ifndef KFV_CLI_OPTIONS_H
#define KFV_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KFV_DEFAULT_MEMORY (128ULL << 20)
#define KFV_MIN_MEMORY     (2ULL << 20)   /* the boot structures and a kernel at 1 MiB */
#define KFV_MAX_MEMORY     (1ULL << 40)   /* 1 TiB: far above what any host here gives */
#define KFV_MAX_CPUS       255            /* xAPIC ids and the MP table stop here */

struct run_options {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t memory;
	unsigned cpus;
	bool debug_exit;
	bool quiet;
	int verbosity;
};

/* Parses argv (argv[0] is "run"). Returns 0, 1 when --help was printed, or
 * -EINVAL with msg holding the one-line reason. */
int parse_run_options(int argc, char **argv, struct run_options *o, char *msg, unsigned msglen)
	__attribute__((warn_unused_result));

void print_usage(FILE *out);

#endif
