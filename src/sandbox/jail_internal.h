/* The jail's steps, one file each; jail.c runs them in order. */
#ifndef KFV_SANDBOX_JAIL_INTERNAL_H
#define KFV_SANDBOX_JAIL_INTERNAL_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "jail.h"

#define WUR __attribute__((warn_unused_result))

/* Fills err with "<step>: <fmt>[: strerror(-e)]" and returns e (negative). */
int jail_fail(struct jail_error *err, const char *step, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records that the jail goes without something (enum jail_degraded) and why,
 * appended to j->degraded_msg. */
void jail_degrade(struct jail *j, unsigned what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Small file I/O for cgroupfs and friends: one write(2) of the whole value,
 * so the kernel sees it as one request. */
int jail_write_file(const char *dir, const char *name, const char *value) WUR;
int jail_read_file(const char *dir, const char *name, char *buf, size_t len) WUR;
int jail_path(char *out, const char *a, const char *b) WUR; /* out = a "/" b, JAIL_PATH_MAX */

/* jail_cgroup.c: create, join, remove. */
int jail_cg_setup(struct jail *j, struct jail_error *err) WUR;
int jail_cg_join(const struct jail *j, struct jail_error *err) WUR;
int jail_cg_remove(struct jail *j, struct jail_error *err);
int jail_cg_remove_stale(struct jail *j, struct jail_error *err) WUR;
bool jail_fs_is(const char *path, unsigned long magic);
bool jail_has_word(const char *list, const char *word); /* word in a space- or line-separated list */

/* jail_cpuset.c: the VM's cpuset, when cfg.cpuset asks for one. */
#define JAIL_CPUSET_LIST_MAX 5120 /* "0,2,4,...,1022" and then some */
/* After jail_cg_setup() made the other directories: the cpuset in v2_dir
 * (NULL on v1) if it has the controller, else in a v1 cpuset hierarchy at
 * <root>/cpuset, else none. Sets j->cg.cpuset; whatever fails is recorded
 * as JAIL_DEGRADED_CPUSET. Returns 0, or -EEXIST (where names the
 * directory) when the VM's v1 cpuset directory exists already. */
int jail_cg_cpuset_setup(struct jail *j, const char *v2_dir, char *where) WUR;
/* "0-3,8" from a list in any order; -EINVAL for a CPU >= CPU_SETSIZE,
 * -ENOSPC when len is short. Parsing the kernel's lists back: -EINVAL on
 * anything else than numbers, ranges and commas. */
int jail_cpuset_format(const unsigned *cpus, unsigned n, char *out, size_t len) WUR;
int jail_cpuset_parse(const char *list, cpu_set_t *set) WUR;
/* The file-level steps, each on one directory (tests use plain ones):
 * "+cpuset" into cgroup.subtree_control unless it is on already; `file`
 * copied from `from` when empty in dir (-ENOSPC when both are); the list
 * into cpuset.cpus, then -ERANGE unless effective_file (when the kernel
 * has it) grants every CPU of it, *file naming the file that failed. */
int jail_cpuset_enable_v2(const char *dir) WUR;
int jail_cpuset_copy_if_empty(const char *dir, const char *from, const char *file) WUR;
int jail_cpuset_apply(const char *dir, const char *list, const char *effective_file, const char **file) WUR;

/* jail_root.c: the empty root directory and the switch into it. */
int jail_root_create(struct jail *j, struct jail_error *err) WUR;
int jail_root_remove(struct jail *j, struct jail_error *err);
int jail_root_pivot(const struct jail *j, struct jail_error *err) WUR;

/* jail_ns.c: the namespaces a jailed child gets. */
int jail_ns_unshare(struct jail_error *err) WUR;

/* jail_rlimits.c: decided by the supervisor, applied by the child. */
int jail_rlimits_plan(struct jail *j, struct jail_error *err) WUR;
int jail_rlimits_apply(const struct jail *j, struct jail_error *err) WUR;

/* jail_creds.c: uid/gid, capabilities, no_new_privs, dumpable. */
int jail_creds_drop(const struct jail *j, struct jail_error *err) WUR;
int jail_has_cap(int cap);

/* jail_fds.c: inherited fds go at the child's start; no directory fd may
 * cross into the jail. */
int jail_fds_close_inherited(const struct jail_config *c, struct jail_error *err) WUR;
int jail_fds_check(struct jail_error *err) WUR;

#endif
