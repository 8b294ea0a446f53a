/* Shared between the guard process's files: its state and helpers. */
#ifndef KFV_GUARD_GUARD_INTERNAL_H
#define KFV_GUARD_GUARD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "answer.h"
#include "guard.h"
#include "proc_parse.h"

/* A growable array of fixed-size elements. */
struct vec {
	void *p;
	size_t n, cap, elem;
};

int vec_push(struct vec *v, const void *e) __attribute__((warn_unused_result));
void vec_free(struct vec *v);
#define VEC(type) { NULL, 0, 0, sizeof(type) }
#define VEC_AT(v, type, i) (&((type *)(v)->p)[i])

/* Whole-file reads from /proc. */
struct gbuf {
	char *p;
	size_t len, cap;
};

/* Reads fd from offset 0 to its end into b (NUL-terminated). Length or -errno. */
ssize_t gbuf_read_fd(struct gbuf *b, int fd);
/* The same for a path under dirfd; small: a file the kernel writes in one
 * piece (status, stat), read in one call. -ESRCH when the process is gone. */
ssize_t gbuf_read_at(struct gbuf *b, int dirfd, const char *path, bool small);

/* What the guard records of one fd, thread or mapping. */
struct fd_entry {
	int fd;
	char target[112];
};

struct thread_entry {
	pid_t tid;
	int fd; /* its status file, kept open while it lives; -1 after */
	struct guard_status st;
};

struct file_id {
	uint64_t inode;
	unsigned major, minor;
};

enum { NS_PID, NS_MNT, NS_NET, NS_IPC, NS_UTS, NS_CGROUP, NS_USER, NS_COUNT };

#define GUARD_PAST_ANSWERS 16

struct guard {
	struct guard_config c;
	pid_t supervisor;

	/* The VMM, opened once while privileged: a /proc/PID directory fd
	 * names that process for good, even after its pid is reused. */
	int procdir, memfd, pagemap, mapsfd, smapsfd, fddir, taskdir, pidfd;

	struct guard_image img;   /* the binary on disk */
	struct file_id exe_id;    /* how the kernel names it in maps */
	struct vec own_exec;      /* the guard's own executable mappings (struct guard_map) */
	char own_ns[NS_COUNT][48];

	/* Challenges. */
	bool hello;
	uint64_t hello_ms, seq, deadline;
	bool outstanding;
	uint8_t expect[GUARD_MAC_BYTES];
	uint8_t past[GUARD_PAST_ANSWERS][GUARD_MAC_BYTES];
	unsigned npast;
	uint32_t expect_mode;

	/* Environment: baselines are taken once the VMM has settled. */
	bool armed, exiting;
	unsigned stable;
	struct vec fds, fds_prev, fds_base;       /* struct fd_entry */
	struct vec threads, threads_base;         /* struct thread_entry */
	struct vec exec_now, exec_base;           /* struct guard_map */
	struct vec files_now, files_base;         /* struct file_id */
	struct vec tids, tids_prev;               /* pid_t */
	char ns_base[NS_COUNT][48];
	uint64_t exe_base;
	bool exe_mapped;
	struct guard_map ram;
	bool ram_found;
	uint64_t lib_cursor;
	struct gbuf maps, scratch;

	/* Guest RAM frames seen in samples, for the cross-VM scan. */
	uint64_t frames[1024];
	unsigned nframes, frame_pos;
	int others_seen[8]; /* other VMs whose RAM was compared: told once each */
	unsigned nothers;

	uint8_t code_hash[GUARD_MAC_BYTES]; /* of img, for every expected answer */
	uint8_t rng_key[32];                /* nonces and jitter: ChaCha20, seeded once */
	uint64_t rng_ctr;

	/* Counters for the stats line. */
	uint64_t cycle, checks, challenges, alarms;
	unsigned latched; /* one alarm per check */
};

uint64_t guard_now_ms(void);

/* Unpredictable bytes without a system call each (ChaCha20 keyed once
 * from the kernel's generator), and a number below n. */
void guard_random(struct guard *g, void *buf, size_t len);
uint32_t guard_random_below(struct guard *g, uint32_t n);

/* Writes "alarm <check> <detail>" once per check and VM. */
void guard_alarm(struct guard *g, enum guard_check c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void guard_info(struct guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void guard_stats(struct guard *g);

/* guard_env.c: the process seen from outside. */
int env_open(struct guard *g) __attribute__((warn_unused_result)); /* privileged, before the drop */
void env_hello(struct guard *g);
/* One period's checks; full: also the slower ones (every fd's target,
 * namespaces), every sharing_every periods. */
void env_check(struct guard *g, bool full);
/* The VMM's state letter from /proc/PID/stat ('R', 'S', 'T', ...), or 0
 * once it is exiting, a zombie or gone. */
char env_vmm_state(struct guard *g);

/* guard_mem.c: guest RAM ownership, after env_check() found the mapping. */
void mem_sample(struct guard *g);
void mem_scan_others(struct guard *g);
void mem_check_ksm(struct guard *g);

/* guard_loop.c */
int guard_run(struct guard *g);

#endif
