/* Parsers for the /proc text the guard reads. Pure functions over text, so
 * the unit tests feed them fixtures. Names and paths in that text can come
 * from the VMM (thread names, file names): they are bounded and copied,
 * never trusted for anything but comparison and messages. */
#ifndef KFV_GUARD_PROC_PARSE_H
#define KFV_GUARD_PROC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* /proc/PID/task/TID/status, the fields the guard checks. */
struct guard_status {
	char name[16];
	char state;
	long uid[4], gid[4];  /* real, effective, saved, filesystem */
	uint64_t cap[5];      /* CapInh, CapPrm, CapEff, CapBnd, CapAmb */
	int nnp;              /* NoNewPrivs */
	int seccomp;          /* Seccomp: 0 none, 1 strict, 2 filter */
	int filters;          /* Seccomp_filters; -1 on kernels before 5.9 */
};

enum { CAP_I_INH, CAP_I_PRM, CAP_I_EFF, CAP_I_BND, CAP_I_AMB };

/* 0, or -EINVAL when a field the checks need is missing or malformed
 * (CapAmb and Seccomp_filters may be absent: they read as 0 and -1). */
int guard_parse_status(const char *text, struct guard_status *st) __attribute__((warn_unused_result));

/* The state letter and the kernel's task flags (PF_*) from
 * /proc/PID/task/TID/stat. 0 or -EINVAL. */
int guard_parse_stat(const char *text, char *state, unsigned long *flags) __attribute__((warn_unused_result));
#define GUARD_PF_IO_WORKER 0x00000010ul /* an io_uring worker: kernel code only, started on demand */

/* One line of /proc/PID/maps (or a mapping header of smaps). */
struct guard_map {
	uint64_t start, end, offset, inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	char path[96]; /* truncated; "" for an anonymous mapping */
};

/* line need not be NUL-terminated: len bytes, without the newline.
 * 0 or -EINVAL. */
int guard_parse_map_line(const char *line, size_t len, struct guard_map *m) __attribute__((warn_unused_result));

static inline bool guard_map_exec(const struct guard_map *m) { return m->perms[2] == 'x'; }
static inline bool guard_map_write(const struct guard_map *m) { return m->perms[1] == 'w'; }

/* Walks text line by line: returns the next line and its length (without
 * the newline), or NULL at the end. *pos starts at 0. */
const char *guard_next_line(const char *text, size_t textlen, size_t *pos, size_t *len);

/* In smaps text: copies the VmFlags value of the mapping that starts at
 * start into out. 0, or -ENOENT when there is no such mapping or line. */
int guard_smaps_vmflags(const char *text, size_t textlen, uint64_t start, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/* Whether a VmFlags value holds the two-letter flag (e.g. "mg"). */
bool guard_vmflags_has(const char *flags, const char *flag);

/* A /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst). */
#define GUARD_PM_PRESENT   (1ULL << 63)
#define GUARD_PM_EXCLUSIVE (1ULL << 56) /* mapped by exactly one page table entry */
#define GUARD_PM_PFN_MASK  ((1ULL << 55) - 1)

static inline bool guard_pm_present(uint64_t e) { return e & GUARD_PM_PRESENT; }
static inline uint64_t guard_pm_pfn(uint64_t e) { return e & GUARD_PM_PFN_MASK; }

/* Copies src into dst (size n) with anything but printable ASCII replaced
 * by '?': text from /proc can hold what a process chose. */
void guard_sanitize(char *dst, size_t n, const char *src, size_t srclen);

#endif
