#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"

/* The supervisor's part of a run. The VMM is PID 1 of its namespace, and
 * such a process ignores every signal it has no handler for: a SIGTERM the
 * operator sends to the supervisor would die with the supervisor (and the
 * VMM by its parent death signal, with no summary). So the supervisor takes
 * the stop signals itself and passes them on; the VMM blocks them and reads
 * them from its signalfd, where blocked signals wait even for PID 1. */

static void keep(char *buf, size_t len, size_t *got, const char *data, size_t n)
{
	if (!buf || *got + 1 >= len)
		return;
	if (n > len - 1 - *got)
		n = len - 1 - *got;
	memcpy(buf + *got, data, n);
	*got += n;
	buf[*got] = '\0';
}

int jail_supervise(pid_t pid, int report_fd, char *report, size_t len, int *wait_status)
{
	sigset_t stop, old;
	struct pollfd fds[2];
	size_t got = 0;
	int sfd, ret = 0;

	if (report && len)
		report[0] = '\0';
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &stop, &old))
		return -EINVAL;
	sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (sfd < 0) {
		ret = -errno;
		goto out;
	}
	fds[0] = (struct pollfd){ .fd = report_fd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	/* The report pipe's write end lives only in the VMM: EOF means it is
	 * gone (or closed it, which it has no reason to do). */
	while (fds[0].fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				kill(pid, (int)si.ssi_signo);
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[256];
			ssize_t n = read(report_fd, buf, sizeof(buf));

			if (n > 0)
				keep(report, len, &got, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				fds[0].fd = -1;
		}
	}
	while (waitpid(pid, wait_status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			break;
		}
	}
out:
	if (sfd >= 0)
		close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}
