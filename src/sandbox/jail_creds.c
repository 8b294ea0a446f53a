#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail_internal.h"

#define CAP_PROBE_MAX 63 /* capability sets are 64 bits wide */

/* Raw capget/capset with version 3 (two 32-bit words per set): no libcap. */
static int cap_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	return syscall(SYS_capget, &h, d) < 0 ? -errno : 0;
}

static int cap_clear_all(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int jail_has_cap(int cap)
{
	struct __user_cap_data_struct d[2];

	if (cap < 0 || cap > CAP_PROBE_MAX || cap_get(d))
		return 0;
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

/* Walks capabilities until the kernel says EINVAL: that is the same bound as
 * /proc/sys/kernel/cap_last_cap, which is out of reach after the pivot. */
static int drop_bounding_set(struct jail_error *err)
{
	for (int cap = 0; cap <= CAP_PROBE_MAX; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0 && errno == EINVAL)
			return 0;
		if (in < 0)
			return jail_fail(err, "bounding set", -errno, "reading capability %d", cap);
		if (in && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return jail_fail(err, "bounding set", -errno, "dropping capability %d", cap);
	}
	return 0;
}

static int check_dropped(const struct jail *j, struct jail_error *err)
{
	struct __user_cap_data_struct d[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int ret = cap_get(d);

	if (ret)
		return jail_fail(err, "verify", ret, "capget");
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return jail_fail(err, "verify", -EPERM, "capabilities remain after the drop");
	for (int cap = 0; cap <= CAP_PROBE_MAX; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			return jail_fail(err, "verify", -EPERM, "capability %d is still in the bounding set", cap);
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return jail_fail(err, "verify", -errno, "reading the ids");
	if (ru != j->cfg.uid || eu != j->cfg.uid || su != j->cfg.uid || rg != j->cfg.gid || eg != j->cfg.gid ||
	    sg != j->cfg.gid || getgroups(0, NULL) != 0)
		return jail_fail(err, "verify", -EPERM, "uids, gids or groups differ from %u/%u", (unsigned)j->cfg.uid,
				 (unsigned)j->cfg.gid);
	/* The proof that matters: root is out of reach. */
	if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0)
		return jail_fail(err, "verify", -EPERM, "could become root again");
	return 0;
}

int jail_creds_drop(const struct jail *j, struct jail_error *err)
{
	const struct jail_config *c = &j->cfg;
	/* Locked bits: even a regained uid 0 gets no capabilities, no
	 * capability survives a uid change, ambient ones cannot be raised. */
	const unsigned long secbits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
				      SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
				      SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	int ret;

	/* Needs CAP_SETPCAP, so before the uid change that ends it. */
	ret = drop_bounding_set(err);
	if (ret)
		return ret;
	if (prctl(PR_SET_SECUREBITS, secbits, 0, 0, 0) < 0)
		return jail_fail(err, "securebits", -errno, "PR_SET_SECUREBITS");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return jail_fail(err, "ambient capabilities", -errno, "PR_CAP_AMBIENT_CLEAR_ALL");
	if (setgroups(0, NULL) < 0)
		return jail_fail(err, "groups", -errno, "setgroups(0)");
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return jail_fail(err, "gid", -errno, "setresgid(%u)", (unsigned)c->gid);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return jail_fail(err, "uid", -errno, "setresuid(%u)", (unsigned)c->uid);
	/* Leaving uid 0 already emptied the permitted and effective sets;
	 * say so explicitly, inheritable included. */
	ret = cap_clear_all();
	if (ret)
		return jail_fail(err, "capabilities", ret, "capset to empty");
	ret = check_dropped(j, err);
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail(err, "no_new_privs", -errno, "PR_SET_NO_NEW_PRIVS");
	/* After the uid change, which resets both: not dumpable keeps other
	 * processes of this uid (there are none) and core dumps out, and the
	 * VMM must not outlive its supervisor. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return jail_fail(err, "dumpable", -errno, "PR_SET_DUMPABLE 0");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return jail_fail(err, "parent death signal", -errno, "PR_SET_PDEATHSIG");
	return 0;
}
