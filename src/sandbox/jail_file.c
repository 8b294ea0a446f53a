#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jail_internal.h"

int jail_path(char *out, const char *a, const char *b)
{
	int n = snprintf(out, JAIL_PATH_MAX, "%s/%s", a, b);

	return n < 0 || n >= JAIL_PATH_MAX ? -ENAMETOOLONG : 0;
}

int jail_write_file(const char *dir, const char *name, const char *value)
{
	char path[JAIL_PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;
	int fd, ret = jail_path(path, dir, name);

	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* cgroupfs takes each write(2) as one request: never split a value. */
	n = write(fd, value, len);
	ret = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return ret;
}

int jail_read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[JAIL_PATH_MAX];
	size_t got = 0;
	int fd, ret = jail_path(path, dir, name);

	if (ret)
		return ret;
	if (len == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return ret;
}
