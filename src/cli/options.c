#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "../util/parse.h"

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_DEBUG_EXIT };

static const struct option long_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_memory(const char *arg, uint64_t *out, char *msg, unsigned msglen)
{
	int ret = parse_size(arg, out);

	if (ret) {
		snprintf(msg, msglen, "--memory %s: not a size (examples: 128M, 1G, 512K)", arg);
		return -EINVAL;
	}
	if (*out < KFV_MIN_MEMORY || *out > KFV_MAX_MEMORY) {
		snprintf(msg, msglen, "--memory %s: must be between 2M and 1T", arg);
		return -EINVAL;
	}
	if (*out & 0xfff) {
		snprintf(msg, msglen, "--memory %s: must be a multiple of 4K", arg);
		return -EINVAL;
	}
	return 0;
}

int parse_run_options(int argc, char **argv, struct run_options *o, char *msg, unsigned msglen)
{
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->memory = KFV_DEFAULT_MEMORY;
	o->cpus = 1;
	o->cmdline = "";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":qvh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_CMDLINE: o->cmdline = optarg; break;
		case OPT_DEBUG_EXIT: o->debug_exit = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbosity++; break;
		case 'h': print_usage(stdout); return 1;
		case OPT_MEMORY:
			if (parse_memory(optarg, &o->memory, msg, msglen))
				return -EINVAL;
			break;
		case OPT_CPUS:
			if (parse_uint(optarg, 1, KFV_MAX_CPUS, &v)) {
				snprintf(msg, msglen, "--cpus %s: must be a whole number from 1 to %d", optarg,
					 KFV_MAX_CPUS);
				return -EINVAL;
			}
			o->cpus = (unsigned)v;
			break;
		case ':':
			snprintf(msg, msglen, "option %s needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(msg, msglen, "unknown option %s (see kfv --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(msg, msglen, "unexpected argument %s (see kfv --help)", argv[optind]);
		return -EINVAL;
	}
	if (!o->kernel) {
		snprintf(msg, msglen, "--kernel PATH is required (see kfv --help)");
		return -EINVAL;
	}
	if (strlen(o->cmdline) >= 4096) {
		snprintf(msg, msglen, "--cmdline: %zu bytes, at most 4095", strlen(o->cmdline));
		return -EINVAL;
	}
	return 0;
}
