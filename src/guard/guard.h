/* The integrity guard: a small process, one per VM, outside the jail, that
 * checks the VMM without relying on what the VMM says about itself
 * (docs/guard.md). Each period (with random jitter) it
 *   - sends the VMM's responder a fresh nonce and checks the keyed hash it
 *     answers within the deadline (src/guard/answer.h);
 *   - reads the VMM from outside: its code pages through /proc/PID/mem
 *     against the binary on disk, /proc/PID/task/N/status of each thread,
 *     /proc/PID/maps, /proc/PID/fd, namespaces, and guest RAM ownership
 *     through /proc/PID/pagemap.
 * It writes one line per event to alarm_fd:
 *   alarm <check> <detail>
 *   stats checks=N challenges=N alarms=N cpu_ns=N
 *   info <text>
 *
 * The supervisor, in this order:
 *   sodium_init(); randombytes_buf(key); the config digest;
 *   guard_channel(sv);                 sv[0] guard's end, sv[1] VMM's end
 *   fork the VMM; it keeps sv[1] (jail keep_fds), closes sv[0], and calls
 *     guard_responder_prepare(sv[1], key, digest) before its lock-down and
 *     guard_responder_start() after it (src/guard/responder.h);
 *   close(sv[1]); guard_start(&cfg) with cfg.chan_fd = sv[0]; close(sv[0]);
 *   read alarm lines until the VMM exits; guard_stop(); read what is left;
 *   guard_check_ram_released(memfd).
 */
#ifndef KFV_GUARD_GUARD_H
#define KFV_GUARD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "answer.h"

enum guard_check {
	GUARD_CODE_MODIFIED, /* wrong answer to a challenge */
	GUARD_UNRESPONSIVE,  /* no hello, or an answer late or missing */
	GUARD_REPLAYED,      /* an answer to an earlier challenge */
	GUARD_CODE_PAGES,    /* executable pages differ from the file they map */
	GUARD_STATUS,        /* seccomp, no_new_privs, capabilities, uid/gid of a thread */
	GUARD_MAPS,          /* executable mappings, W+X, new file mappings */
	GUARD_FDS,           /* an fd that was not there at the baseline */
	GUARD_THREADS,       /* a new thread, or a thread renamed */
	GUARD_NAMESPACES,    /* a namespace changed, or not the jail's */
	GUARD_PAGE_SHARING,  /* a guest RAM frame mapped twice or by another VM */
	GUARD_KSM,           /* guest RAM open to same-page merging */
	GUARD_SELF,          /* the guard cannot watch this VMM (it failed to start) */
	GUARD_CHECK_COUNT
};

/* "code_modified", "unresponsive", ... as they appear in alarm lines. */
const char *guard_check_name(enum guard_check c);

struct guard_config {
	pid_t vmm_pid;       /* a child of the caller, not yet waited for */
	int alarm_fd;        /* where the guard writes its lines (a pipe the supervisor reads) */
	int chan_fd;         /* the guard's end of guard_channel() */
	int exe_fd;          /* the binary on disk (the VMM's); -1: the guard opens /proc/self/exe */
	uint8_t key[GUARD_KEY_BYTES];
	uint8_t config_digest[GUARD_DIGEST_BYTES];
	unsigned period_ms;        /* between challenges, on average */
	unsigned jitter_ms;        /* each period is period_ms +- a random amount up to this (0: period/10) */
	unsigned deadline_ms;      /* for an answer (0: GUARD_DEFAULT_DEADLINE_MS) */
	unsigned start_timeout_ms; /* for the hello, and for the VMM to settle after it */
	unsigned stats_every;      /* periods between stats lines (0: only at the end) */
	unsigned sharing_every;    /* periods between the scans of other VMs' RAM and the KSM check */
	bool sandboxed;            /* the VMM is jailed: seccomp 2, no_new_privs, no capabilities, uid != 0, own namespaces */
	bool frame_checks;         /* keep CAP_SYS_ADMIN to read page frame numbers of other VMs */
	dev_t ram_dev;             /* fstat() of the guest RAM memfd; ram_ino 0: the guard finds */
	ino_t ram_ino;             /*   the VMM's "kfv-guest-ram" mapping itself */
	uid_t uid;                 /* what the guard runs as, with only its capabilities (0: 65534) */
	gid_t gid;
};

#define GUARD_DEFAULT_PERIOD_MS 100
/* An answer takes the responder well under a millisecond; the deadline is
 * for a loaded host, where a thread can wait that long for a CPU. The next
 * challenge waits for the verdict on this one, so a deadline longer than
 * the period only slows the challenges of a VMM that is late. */
#define GUARD_DEFAULT_DEADLINE_MS 500

/* Zeroes c and fills in every default: fds -1, period 100 ms, jitter a
 * tenth of the period, deadline 500 ms, start timeout 20 s, stats every 10 periods,
 * sharing every 10, frame checks on. The caller sets the pid, fds, key,
 * digest, sandboxed and the RAM identity, and may change the period. */
void guard_config_defaults(struct guard_config *c);

/* The challenge channel: a SOCK_SEQPACKET socketpair, close-on-exec.
 * sv[0] for the guard, sv[1] for the VMM's responder. 0 or -errno. */
int guard_channel(int sv[2]) __attribute__((warn_unused_result));

/* Forks the guard. The child keeps only alarm_fd, chan_fd and the exe fd,
 * opens what it needs of /proc/PID while still privileged, becomes
 * cfg->uid with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (and CAP_SYS_ADMIN
 * when frame_checks) and nothing else, sets no_new_privs, and loops until
 * the VMM exits or it is stopped. Returns the guard's pid or -errno. Call it
 * right after forking the VMM and before any waitpid() on it. */
pid_t guard_start(const struct guard_config *c) __attribute__((warn_unused_result));

/* Stops the guard (SIGTERM: it writes a last stats line and exits; SIGKILL
 * after a second) and reaps it. Returns its wait status or -errno. */
int guard_stop(pid_t guard);

/* After the VMM exited: punches the whole guest RAM memfd, then checks that
 * it holds no block and that no process but the caller maps it or holds an
 * fd of it. 0 when released; 1 with detail filled when not; -errno when it
 * could not check. */
int guard_check_ram_released(int memfd, char *detail, size_t len);

/* One line the guard wrote, decoded for the supervisor. */
enum guard_line_kind { GUARD_LINE_ALARM, GUARD_LINE_STATS, GUARD_LINE_INFO };

struct guard_line {
	enum guard_line_kind kind;
	int check;        /* alarms: enum guard_check, or -1 for a name this build does not know */
	char name[24];    /* alarms: the check's name */
	char detail[200]; /* alarms and info */
	uint64_t checks, challenges, alarms, cpu_ns; /* stats */
};

/* Decodes one line (without its newline). 0 or -EINVAL. */
int guard_parse_line(const char *line, struct guard_line *out) __attribute__((warn_unused_result));

#endif
