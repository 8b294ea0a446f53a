#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail_internal.h"

/* One lock file per uid, <dir>/<uid>, held with flock(LOCK_EX). An flock
 * lives as long as any fd to its open file description, so a lease ends by
 * itself when the supervisor and the VMM (if it kept the fd) are gone, even
 * after a crash: no stale state to clean, no pid to check. */

#define LOCK_RETRIES 8

/* mkdir -p, then insist that the last directory is ours alone: a lock
 * directory others can write to would let them lease uids away, or plant
 * symlinks. */
static int ensure_dir(const char *dir)
{
	char path[JAIL_PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path) || dir[0] != '/')
		return -EINVAL;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(path, saved ? 0755 : 0700) < 0 && errno != EEXIST)
				return -errno;
			*p = saved;
			if (!saved)
				break;
		}
	}
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

static int uid_path(char *out, const char *dir, uint32_t uid)
{
	int n = snprintf(out, JAIL_PATH_MAX, "%s/%u", dir, uid);

	return n < 0 || n >= JAIL_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* 1: leased (*fd_out set), 0: someone else holds it, <0: error. */
static int try_lease(const char *path, int *fd_out)
{
	for (int attempt = 0; attempt < LOCK_RETRIES; attempt++) {
		struct stat held, named;
		int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(fd);
			return e == EWOULDBLOCK ? 0 : -e;
		}
		/* A releaser unlinks the file while holding its lock; if that
		 * happened between our open and our flock, we hold a lock on
		 * a file nobody else will ever see: try again. */
		if (fstat(fd, &held) == 0 && lstat(path, &named) == 0 && held.st_dev == named.st_dev &&
		    held.st_ino == named.st_ino) {
			*fd_out = fd;
			return 1;
		}
		close(fd);
	}
	return -EAGAIN;
}

int jail_alloc_uid_at(const char *dir, uint32_t base, uint32_t range, uid_t *out)
{
	char path[JAIL_PATH_MAX];
	int ret;

	if (!dir)
		dir = JAIL_UID_DIR;
	/* uid 0 is root and (uid_t)-1 means "unchanged" to setresuid. */
	if (base == 0 || range == 0 || (uint64_t)base + range > (uint64_t)UINT32_MAX)
		return -EINVAL;
	ret = ensure_dir(dir);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < range; i++) {
		int fd = -1;

		ret = uid_path(path, dir, base + i);
		if (!ret)
			ret = try_lease(path, &fd);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			*out = (uid_t)(base + i);
			return fd;
		}
	}
	return -EAGAIN;
}

int jail_alloc_uid(uint32_t base, uint32_t range, uid_t *out)
{
	return jail_alloc_uid_at(JAIL_UID_DIR, base, range, out);
}

void jail_release_uid(const char *dir, uid_t uid, int lock_fd)
{
	char path[JAIL_PATH_MAX];

	if (lock_fd < 0)
		return;
	/* Unlink first, lock still held: see try_lease(). */
	if (uid_path(path, dir ? dir : JAIL_UID_DIR, uid) == 0)
		unlink(path);
	close(lock_fd);
}
