/* The jail's steps, one file each; jail.c runs them in order. */
#ifndef KFV_SANDBOX_JAIL_INTERNAL_H
#define KFV_SANDBOX_JAIL_INTERNAL_H

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
