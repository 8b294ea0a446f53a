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
/* Every vCPU is accounted on its own: one telemetry slot
 * (TELEMETRY_MAX_VCPUS) and one KVM statistics fd handed to the
 * supervisor (HANDOFF_MAX_FDS) each; more would share a slot and hide
 * from the exit-storm rule, so --cpus refuses them (xAPIC ids and the MP
 * table would stop at 255). */
#define KFV_MAX_CPUS       64

#define KFV_MAX_DISKS      8
#define KFV_DISK_ID_MAX    20             /* virtio-blk GET_ID answers 20 bytes */

#define KFV_NAME_MAX       31             /* --name: also the jail's directory name */
#define KFV_DEFAULT_GUARD_PERIOD_MS 500
#define KFV_DEFAULT_SHUTDOWN_TIMEOUT_S 30   /* how long a guest has to act on SIGPWR */
#define KFV_MAX_SHUTDOWN_TIMEOUT_S 86400

#define KFV_MAX_NETS       4
#define KFV_TAP_NAME_MAX   15             /* IFNAMSIZ - 1 */

struct disk_option {
	char path[1024];
	char id[KFV_DISK_ID_MAX + 1]; /* "" when not given */
	bool read_only;
	uint64_t bw[3];   /* bytes bucket: size, one_time_burst, refill_time_ms; size 0 = unlimited */
	uint64_t iops[3]; /* requests bucket, the same shape */
};

struct net_option {
	char tap[KFV_TAP_NAME_MAX + 1];
	uint8_t mac[6];
	bool has_mac;     /* else 02:4b:46:56:00:<device index> */
	unsigned mtu;     /* 68..65535, default 1500 */
	uint64_t rx_bw[3], rx_ops[3], tx_bw[3], tx_ops[3]; /* buckets, as for disks */
};

struct run_options {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t memory;
	unsigned cpus;
	bool debug_exit;
	bool nohype;            /* --nohype: docs/nohype.md */
	bool no_sandbox;        /* --no-sandbox: the VMM runs unjailed (debugging only) */
	bool hugepages;         /* --hugepages: guest RAM in 2 MiB huge pages */
	unsigned ndedicated;    /* --dedicated-cpus: host CPU of vCPU i is dedicated[i] */
	unsigned dedicated[KFV_MAX_CPUS];
	uint64_t exit_budget;   /* --exit-budget: exits to kfv per second, 0 = none */
	unsigned shutdown_timeout_s; /* --shutdown-timeout: after a SIGPWR request; 0 = no limit */
	bool quiet;
	int verbosity;
	/* self-defense (docs/policy.md, docs/events.md, docs/guard.md) */
	const char *name;       /* --name: the VM's name in events and metrics (default vm-<supervisor pid>) */
	const char *policy;     /* --policy FILE; NULL: the compiled-in default policy */
	const char *events;     /* --events FILE: JSON lines */
	const char *metrics;    /* --metrics FILE: Prometheus text, rewritten periodically */
	const char *forensics;  /* --forensics DIR: where dumps go (default: the current directory) */
	bool no_guard;          /* --no-guard: no integrity guard process */
	unsigned guard_period_ms;
	/* virtio devices (docs/virtio.md) */
	bool rng;
	uint64_t rng_rate[3]; /* bytes bucket: size, one_time_burst, refill_time_ms; size 0 = unlimited */
	struct disk_option disks[KFV_MAX_DISKS];
	unsigned nr_disks;
	struct net_option nets[KFV_MAX_NETS];
	unsigned nr_nets;
};

/* Parses argv (argv[0] is "run"). Returns 0, 1 when --help was printed, or
 * -EINVAL with msg holding the one-line reason. */
int parse_run_options(int argc, char **argv, struct run_options *o, char *msg, unsigned msglen)
	__attribute__((warn_unused_result));

/* Like parse_run_options(); with need_kernel false --kernel is optional
 * (`kfv surface`, `kfv cpuid`). */
int parse_options(int argc, char **argv, struct run_options *o, bool need_kernel, char *msg, unsigned msglen)
	__attribute__((warn_unused_result));

void print_usage(FILE *out);

#endif
