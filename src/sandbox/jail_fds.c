#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail_internal.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* An fd inherited by accident (the supervisor's files, sockets, a
 * directory) would be a way out that seccomp cannot see: only 0-2 and the
 * ones the supervisor named cross into the child. */
int jail_fds_close_inherited(const struct jail_config *c, struct jail_error *err)
{
	int keep[JAIL_KEEP_FDS_MAX];
	unsigned next = 3;
	size_t i;

	if (c->keep_other_fds)
		return 0;
	for (i = 0; i < c->nkeep_fds; i++) {
		keep[i] = c->keep_fds[i];
		if (keep[i] < 0)
			return jail_fail(err, "close fds", -EBADF, "keep_fds[%zu] is %d", i, keep[i]);
	}
	qsort(keep, c->nkeep_fds, sizeof(keep[0]), cmp_int);
	for (i = 0; i < c->nkeep_fds; i++) {
		unsigned k = (unsigned)keep[i];

		if (k > next && close_range(next, k - 1, 0) < 0)
			return jail_fail(err, "close fds", -errno, "close_range(%u, %u)", next, k - 1);
		if (k >= next)
			next = k + 1;
	}
	if (close_range(next, ~0u, 0) < 0)
		return jail_fail(err, "close fds", -errno, "close_range(%u, ~0)", next);
	return 0;
}

/* A directory fd defeats any root: openat() or fchdir() through it reaches
 * the host's tree. Seccomp refuses both later, but the jail must hold on
 * its own, so none may be open when it closes. */
int jail_fds_check(struct jail_error *err)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self, ret = 0;

	if (!d)
		return jail_fail(err, "fds", -errno, "listing /proc/self/fd");
	self = dirfd(d);
	while (!ret && (e = readdir(d)) != NULL) {
		struct stat st;
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name || fd == self)
			continue;
		if (fstat((int)fd, &st) == 0 && S_ISDIR(st.st_mode))
			ret = jail_fail(err, "fds", -EISDIR, "fd %ld is a directory, a way out of the jail", fd);
	}
	closedir(d);
	return ret;
}
