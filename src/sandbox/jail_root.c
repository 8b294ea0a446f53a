#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail_internal.h"

/* The base holds every VM's root: it must be a real directory that only its
 * owner (us) can change, or another local user could swap a VM's root for a
 * symlink between our mkdir and the child's bind mount. */
static int check_base(const char *base, struct jail_error *err)
{
	struct stat st;

	if (mkdir(base, 0755) < 0 && errno != EEXIST)
		return jail_fail(err, "root directory", -errno, "creating %s", base);
	if (lstat(base, &st) < 0)
		return jail_fail(err, "root directory", -errno, "%s", base);
	if (!S_ISDIR(st.st_mode))
		return jail_fail(err, "root directory", -ENOTDIR, "%s is not a directory", base);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return jail_fail(err, "root directory", -EPERM, "%s must be owned by uid %u and writable by no one else",
				 base, (unsigned)geteuid());
	return 0;
}

int jail_root_create(struct jail *j, struct jail_error *err)
{
	const char *base = j->cfg.chroot_base;
	int ret = check_base(base, err);

	if (ret)
		return ret;
	if (jail_path(j->dir, base, j->cfg.vm_id) || jail_path(j->root, j->dir, "root"))
		return jail_fail(err, "root directory", -ENAMETOOLONG, "%s/%s/root", base, j->cfg.vm_id);
	if (mkdir(j->dir, 0700) < 0) {
		ret = -errno;
		j->dir[0] = j->root[0] = '\0'; /* not ours: cleanup must not remove it */
		if (ret == -EEXIST)
			return jail_fail(err, "root directory", ret,
					 "%s/%s: VM id in use, or left by a crash (jail_cleanup removes it)", base,
					 j->cfg.vm_id);
		return jail_fail(err, "root directory", ret, "creating %s/%s", base, j->cfg.vm_id);
	}
	/* 0755 whatever the umask: the VMM, no longer root, must be able to
	 * look at its "/" (and find nothing). */
	if (mkdir(j->root, 0755) < 0 || chmod(j->root, 0755) < 0) {
		ret = jail_fail(err, "root directory", -errno, "creating %s", j->root);
		rmdir(j->root);
		rmdir(j->dir);
		j->dir[0] = j->root[0] = '\0';
		return ret;
	}
	return 0;
}

int jail_root_remove(struct jail *j, struct jail_error *err)
{
	int ret = 0;

	if (j->root[0] && rmdir(j->root) < 0 && errno != ENOENT)
		ret = jail_fail(err, "cleanup", -errno, "removing %s", j->root);
	if (!ret && j->dir[0] && rmdir(j->dir) < 0 && errno != ENOENT)
		ret = jail_fail(err, "cleanup", -errno, "removing %s", j->dir);
	if (!ret)
		j->dir[0] = j->root[0] = '\0';
	return ret;
}

int jail_root_pivot(const struct jail *j, struct jail_error *err)
{
	struct statvfs sv;

	/* Nothing we mount from here on may leak back to the host, and no
	 * host mount event may reach us. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return jail_fail(err, "mounts private", -errno, "making / private (MS_REC|MS_PRIVATE)");
	/* pivot_root wants the new root to be a mount point. */
	if (mount(j->root, j->root, NULL, MS_BIND, NULL) < 0)
		return jail_fail(err, "bind root", -errno, "bind-mounting %s onto itself", j->root);
	if (chdir(j->root) < 0)
		return jail_fail(err, "pivot_root", -errno, "entering %s", j->root);
	/* pivot_root(".", ".") stacks the old root on top of the new one; the
	 * lazy unmount then drops it, with no put_old directory to create or
	 * remove inside a root that must stay empty. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return jail_fail(err, "pivot_root", -errno, "pivot_root into %s", j->root);
	if (umount2(".", MNT_DETACH) < 0)
		return jail_fail(err, "pivot_root", -errno, "detaching the old root");
	if (chdir("/") < 0)
		return jail_fail(err, "pivot_root", -errno, "chdir(\"/\")");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return jail_fail(err, "remount read-only", -errno, "remounting / read-only, nosuid, nodev, noexec");
	if (statvfs("/", &sv) < 0 || !(sv.f_flag & ST_RDONLY) || !(sv.f_flag & ST_NOEXEC))
		return jail_fail(err, "remount read-only", -EPERM, "the new root is still writable or executable");
	return 0;
}
