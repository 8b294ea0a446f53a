#include "lockdown.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static atomic_bool locked_down;

int sandbox_lockdown(const struct jail *j, int report_fd, struct jail_error *err)
{
	int ret = jail_enter(j, err);

	if (ret)
		return ret;
	seccomp_set_report_fd(report_fd);
	/* Built while still unfiltered: building needs allocation and libseccomp. */
	ret = seccomp_roles_prepare();
	if (!ret)
		ret = seccomp_install_role(ROLE_UNION);
	if (ret) {
		err->step = "seccomp";
		err->err = ret;
		snprintf(err->msg, sizeof(err->msg), "seccomp: installing the allow-lists: %s", strerror(-ret));
		return ret;
	}
	atomic_store(&locked_down, true);
	return 0;
}

bool sandbox_locked_down(void)
{
	return atomic_load(&locked_down);
}

int sandbox_thread_role(enum thread_role role)
{
	if (!atomic_load(&locked_down))
		return 0;
	return seccomp_install_role(role);
}
