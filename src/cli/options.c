#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "../devices/virtio/rate_limiter.h"
#include "../util/parse.h"
#include "../vmm/pinning.h"

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_DEBUG_EXIT, OPT_NOHYPE,
       OPT_DEDICATED_CPUS, OPT_EXIT_BUDGET };
enum { OPT_RNG = 400, OPT_RNG_RATE, OPT_DISK }; /* virtio devices */

static const struct option long_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "rng-rate", required_argument, NULL, OPT_RNG_RATE },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "nohype", no_argument, NULL, OPT_NOHYPE },
	{ "dedicated-cpus", required_argument, NULL, OPT_DEDICATED_CPUS },
	{ "exit-budget", required_argument, NULL, OPT_EXIT_BUDGET },
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

/* --disk PATH[,ro][,id=NAME]: the path may not contain a comma. */
static int parse_disk(const char *arg, struct run_options *o, char *msg, unsigned msglen)
{
	struct disk_option *d = &o->disks[o->nr_disks];
	const char *p = strchr(arg, ','), *opt;
	size_t n = p ? (size_t)(p - arg) : strlen(arg);

	if (o->nr_disks == KFV_MAX_DISKS) {
		snprintf(msg, msglen, "--disk: at most %d disks", KFV_MAX_DISKS);
		return -EINVAL;
	}
	if (n == 0 || n >= sizeof(d->path)) {
		snprintf(msg, msglen, "--disk %s: the path must be 1 to %zu bytes", arg, sizeof(d->path) - 1);
		return -EINVAL;
	}
	memset(d, 0, sizeof(*d));
	memcpy(d->path, arg, n);
	for (opt = p; opt; opt = strchr(opt + 1, ',')) {
		const char *end = strchr(opt + 1, ',');
		size_t len = end ? (size_t)(end - opt - 1) : strlen(opt + 1);

		if (len == 2 && strncmp(opt + 1, "ro", 2) == 0) {
			d->read_only = true;
		} else if (len > 3 && len - 3 <= KFV_DISK_ID_MAX && strncmp(opt + 1, "id=", 3) == 0) {
			memcpy(d->id, opt + 4, len - 3);
		} else {
			snprintf(msg, msglen, "--disk %s: unknown option %.*s (want ro or id=NAME, NAME up to %d bytes)",
				 arg, (int)len, opt + 1, KFV_DISK_ID_MAX);
			return -EINVAL;
		}
	}
	o->nr_disks++;
	return 0;
}

int parse_run_options(int argc, char **argv, struct run_options *o, char *msg, unsigned msglen)
{
	return parse_options(argc, argv, o, true, msg, msglen);
}

int parse_options(int argc, char **argv, struct run_options *o, bool need_kernel, char *msg, unsigned msglen)
{
	uint64_t v;
	unsigned bad = 0;
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
		case OPT_RNG: o->rng = true; break;
		case OPT_RNG_RATE:
			if (tb_parse(optarg, &o->rng_rate[0], &o->rng_rate[1], &o->rng_rate[2])) {
				snprintf(msg, msglen, "--rng-rate %s: want SIZE,ONE_TIME_BURST,REFILL_MS (bytes, ms)",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_DISK:
			if (parse_disk(optarg, o, msg, msglen))
				return -EINVAL;
			break;
		case OPT_NOHYPE: o->nohype = true; break;
		case OPT_DEDICATED_CPUS:
			if (pinning_parse(optarg, o->dedicated, KFV_MAX_CPUS, &o->ndedicated, msg, msglen))
				return -EINVAL;
			break;
		case OPT_EXIT_BUDGET:
			if (parse_uint(optarg, 1, UINT64_MAX / 2, &o->exit_budget)) {
				snprintf(msg, msglen, "--exit-budget %s: must be a whole number of exits per second, at least 1",
					 optarg);
				return -EINVAL;
			}
			break;
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
	if (o->ndedicated && o->ndedicated < o->cpus) {
		snprintf(msg, msglen, "--dedicated-cpus: %u CPUs listed for %u vCPUs (one host CPU per vCPU)",
			 o->ndedicated, o->cpus);
		return -EINVAL;
	}
	if (o->ndedicated && pinning_check_online(o->dedicated, o->ndedicated, &bad)) {
		snprintf(msg, msglen, "--dedicated-cpus: CPU %u is not online (or not in kfv's affinity mask)", bad);
		return -EINVAL;
	}
	if (need_kernel && !o->kernel) {
		snprintf(msg, msglen, "--kernel PATH is required (see kfv --help)");
		return -EINVAL;
	}
	if (strlen(o->cmdline) >= 4096) {
		snprintf(msg, msglen, "--cmdline: %zu bytes, at most 4095", strlen(o->cmdline));
		return -EINVAL;
	}
	return 0;
}
