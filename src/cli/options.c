#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "../devices/virtio/rate_limiter.h"
#include "../util/parse.h"
#include "../vmm/pinning.h"

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_DEBUG_EXIT, OPT_NOHYPE,
       OPT_DEDICATED_CPUS, OPT_EXIT_BUDGET, OPT_HUGEPAGES, OPT_NO_SANDBOX, OPT_SHUTDOWN_TIMEOUT };
enum { OPT_RNG = 400, OPT_RNG_RATE, OPT_DISK, OPT_NET }; /* virtio devices */
enum { OPT_POLICY = 500, OPT_EVENTS, OPT_METRICS, OPT_FORENSICS, OPT_NO_GUARD, OPT_GUARD_PERIOD, OPT_NAME };

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
	{ "net", required_argument, NULL, OPT_NET },
	{ "nohype", no_argument, NULL, OPT_NOHYPE },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "dedicated-cpus", required_argument, NULL, OPT_DEDICATED_CPUS },
	{ "exit-budget", required_argument, NULL, OPT_EXIT_BUDGET },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "forensics", required_argument, NULL, OPT_FORENSICS },
	{ "no-guard", no_argument, NULL, OPT_NO_GUARD },
	{ "guard-period", required_argument, NULL, OPT_GUARD_PERIOD },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > KFV_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

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

/* A byte count: a bare number is bytes here; K/M/G/T suffixes as in
 * parse_size(). */
static int parse_bytes(const char *s, uint64_t *out)
{
	size_t n = strlen(s);

	if (n && s[n - 1] >= '0' && s[n - 1] <= '9')
		return parse_uint(s, 0, UINT64_MAX, out);
	return parse_size(s, out);
}

/* One key of a token bucket in a device option: PREFIX=SIZE,
 * PREFIX_burst=SIZE, PREFIX_refill_ms=MS (rl[]: size, one_time_burst,
 * refill_time_ms; the refill time defaults to 1000 ms). SIZEs are bytes
 * (suffixes allowed) when `bytes`, else counts. Returns 1 when the key
 * was one of them and the value good, 0 when it was none of them, -1 for
 * a bad value. */
static int parse_rate_key(const char *key, size_t keylen, const char *val, const char *prefix, bool bytes,
			  uint64_t rl[3])
{
	size_t pl = strlen(prefix);
	uint64_t v;
	int slot;

	if (keylen < pl || strncmp(key, prefix, pl) != 0)
		return 0;
	if (keylen == pl)
		slot = 0;
	else if (keylen == pl + 6 && strncmp(key + pl, "_burst", 6) == 0)
		slot = 1;
	else if (keylen == pl + 10 && strncmp(key + pl, "_refill_ms", 10) == 0)
		slot = 2;
	else
		return 0;
	if (slot == 2 ? parse_uint(val, 1, 3600000ULL * 24, &v)
		      : bytes ? parse_bytes(val, &v) : parse_uint(val, 0, UINT64_MAX, &v))
		return -1;
	rl[slot] = v;
	if (!rl[2])
		rl[2] = 1000;
	return 1;
}

/* Splits "key=value" (at most 63 bytes of value) out of a device option. */
static bool split_kv(const char *opt, size_t len, size_t *keylen, char *val, size_t valsize)
{
	const char *eq = memchr(opt, '=', len);

	if (!eq || (size_t)(opt + len - eq - 1) >= valsize)
		return false;
	*keylen = (size_t)(eq - opt);
	memcpy(val, eq + 1, (size_t)(opt + len - eq - 1));
	val[opt + len - eq - 1] = '\0';
	return true;
}

/* --net tap=NAME[,mac=MAC][,mtu=N][,rx_bw=..][,tx_iops=..]... */
static int parse_net(const char *arg, struct run_options *o, char *msg, unsigned msglen)
{
	struct net_option *n = &o->nets[o->nr_nets];
	const char *opt = arg;

	if (o->nr_nets == KFV_MAX_NETS) {
		snprintf(msg, msglen, "--net: at most %d network devices", KFV_MAX_NETS);
		return -EINVAL;
	}
	memset(n, 0, sizeof(*n));
	n->mtu = 1500;
	while (*opt) {
		const char *end = strchr(opt, ',');
		size_t len = end ? (size_t)(end - opt) : strlen(opt), keylen;
		char val[64];
		uint64_t v;
		unsigned m[6];
		int r = 0, used = 0;

		if (!split_kv(opt, len, &keylen, val, sizeof(val)))
			goto bad;
		if (keylen == 3 && strncmp(opt, "tap", 3) == 0) {
			if (!*val || strlen(val) > KFV_TAP_NAME_MAX || strchr(val, '/') || strchr(val, ' '))
				goto bad;
			memcpy(n->tap, val, strlen(val) + 1);
		} else if (keylen == 3 && strncmp(opt, "mac", 3) == 0) {
			if (strlen(val) != 17 || sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3],
							&m[4], &m[5], &used) != 6 || used != 17 || (m[0] & 1))
				goto bad;
			for (int i = 0; i < 6; i++)
				n->mac[i] = (uint8_t)m[i];
			n->has_mac = true;
		} else if (keylen == 3 && strncmp(opt, "mtu", 3) == 0) {
			if (parse_uint(val, 68, 65535, &v))
				goto bad;
			n->mtu = (unsigned)v;
		} else if ((r = parse_rate_key(opt, keylen, val, "rx_bw", true, n->rx_bw)) ||
			   (r = parse_rate_key(opt, keylen, val, "rx_ops", false, n->rx_ops)) ||
			   (r = parse_rate_key(opt, keylen, val, "tx_bw", true, n->tx_bw)) ||
			   (r = parse_rate_key(opt, keylen, val, "tx_ops", false, n->tx_ops))) {
			if (r < 0)
				goto bad;
		} else {
			goto bad;
		}
		opt += len + (end ? 1 : 0);
		continue;
bad:
		snprintf(msg, msglen,
			 "--net %s: bad option %.*s (want tap=NAME, mac=XX:XX:XX:XX:XX:XX unicast, mtu=68..65535, "
			 "{rx,tx}_{bw,ops}[_burst|_refill_ms]=N)",
			 arg, (int)len, opt);
		return -EINVAL;
	}
	if (!n->tap[0]) {
		snprintf(msg, msglen, "--net %s: tap=NAME is required", arg);
		return -EINVAL;
	}
	o->nr_nets++;
	return 0;
}

/* --disk PATH[,ro][,id=NAME][,bw=..][,iops=..]: the path may not contain a comma. */
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

		size_t keylen;
		char val[64];
		int r = 0;

		if (len == 2 && strncmp(opt + 1, "ro", 2) == 0) {
			d->read_only = true;
		} else if (len > 3 && len - 3 <= KFV_DISK_ID_MAX && strncmp(opt + 1, "id=", 3) == 0) {
			memcpy(d->id, opt + 4, len - 3);
		} else if (split_kv(opt + 1, len, &keylen, val, sizeof(val)) &&
			   ((r = parse_rate_key(opt + 1, keylen, val, "bw", true, d->bw)) ||
			    (r = parse_rate_key(opt + 1, keylen, val, "iops", false, d->iops))) && r > 0) {
			/* a rate limit */
		} else {
			snprintf(msg, msglen,
				 "--disk %s: bad option %.*s (want ro, id=NAME with NAME up to %d bytes, "
				 "bw[_burst|_refill_ms]=N or iops[_burst|_refill_ms]=N)",
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
	o->guard_period_ms = KFV_DEFAULT_GUARD_PERIOD_MS;
	o->shutdown_timeout_s = KFV_DEFAULT_SHUTDOWN_TIMEOUT_S;
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
		case OPT_NET:
			if (parse_net(optarg, o, msg, msglen))
				return -EINVAL;
			break;
		case OPT_NOHYPE: o->nohype = true; break;
		case OPT_HUGEPAGES: o->hugepages = true; break;
		case OPT_NO_SANDBOX: o->no_sandbox = true; break;
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
		case OPT_SHUTDOWN_TIMEOUT:
			if (parse_uint(optarg, 0, KFV_MAX_SHUTDOWN_TIMEOUT_S, &v)) {
				snprintf(msg, msglen, "--shutdown-timeout %s: must be a whole number of seconds from 0 (no limit) to %u",
					 optarg, KFV_MAX_SHUTDOWN_TIMEOUT_S);
				return -EINVAL;
			}
			o->shutdown_timeout_s = (unsigned)v;
			break;
		case OPT_POLICY: o->policy = optarg; break;
		case OPT_EVENTS: o->events = optarg; break;
		case OPT_METRICS: o->metrics = optarg; break;
		case OPT_FORENSICS: o->forensics = optarg; break;
		case OPT_NO_GUARD: o->no_guard = true; break;
		case OPT_GUARD_PERIOD:
			if (parse_uint(optarg, 10, 3600 * 1000, &v)) {
				snprintf(msg, msglen, "--guard-period %s: must be a whole number of milliseconds from 10 to 3600000",
					 optarg);
				return -EINVAL;
			}
			o->guard_period_ms = (unsigned)v;
			break;
		case OPT_NAME:
			if (!valid_name(optarg)) {
				snprintf(msg, msglen, "--name %s: want 1 to %d of A-Z a-z 0-9 _ . -, not starting with '.'",
					 optarg, KFV_NAME_MAX);
				return -EINVAL;
			}
			o->name = optarg;
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
	if (o->hugepages && (o->memory & ((2ULL << 20) - 1))) {
		snprintf(msg, msglen, "--hugepages: --memory must be a multiple of 2M");
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
