#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jail.h"

#define SPAWN_NS_FLAGS (CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP)
#define SPAWN_FAILED 127 /* the child could not set itself up */

/* Why unshare + fork rather than clone(CLONE_NEWPID): glibc's fork() runs
 * its atfork handlers and resets malloc's and stdio's locks in the child,
 * so the child is safe even if another supervisor thread held one of them;
 * a raw clone() child inherits those locks held forever, and glibc's cached
 * tid of the new process would be the parent's. unshare(CLONE_NEWPID) only
 * changes the namespace of the calling thread's future children, and setns
 * back to our own namespace undoes it right after the fork. */
pid_t jail_spawn(int (*fn)(void *), void *arg, int flags_extra)
{
	sigset_t stop, old;
	int own_ns, ret;
	pid_t pid;

	if (!fn || (flags_extra & ~SPAWN_NS_FLAGS))
		return -EINVAL;
	own_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own_ns < 0)
		return -errno;
	if (unshare(CLONE_NEWPID) < 0) {
		ret = -errno;
		close(own_ns);
		return ret;
	}
	/* PID 1 drops a signal it has no handler for, but a blocked one
	 * waits: the child is born with the stop signals blocked, so one
	 * relayed before its signalfd exists is not lost. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGPWR);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	pid = fork();
	if (pid == 0) {
		close(own_ns);
		/* The VMM must not outlive the thread that supervises it;
		 * jail_enter() sets this again after the uid change clears it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || (flags_extra && unshare(flags_extra) < 0))
			_exit(SPAWN_FAILED);
		/* _exit: the supervisor's atexit handlers and stdio buffers
		 * are not the child's to run or flush. */
		_exit(fn(arg) & 0xff);
	}
	ret = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (setns(own_ns, CLONE_NEWPID) < 0) {
		/* Left like this, every later fork would land in the VM's
		 * namespace and die with it: give up the child rather. */
		int e = -errno;

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(own_ns);
		return e;
	}
	close(own_ns);
	return ret ? ret : pid;
}
