#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox/seccomp.h"

/* Each case runs in a forked child: a seccomp filter cannot be taken off
 * again, and a violation ends the process. Children leave with _exit() so
 * that no atexit handler or leak check runs under a filter. */

enum { CHILD_OK = 0, CHILD_PREPARE_FAILED = 101, CHILD_INSTALL_FAILED = 102, CHILD_CHECK_FAILED = 103 };

struct outcome {
	int status;
	char report[512];
};

typedef void (*child_fn)(enum thread_role role);

static pid_t parent_pid; /* getppid() is on no list */

static void run_child(enum thread_role role, child_fn body, const char *env_action, struct outcome *out)
{
	int p[2];
	size_t got = 0;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	parent_pid = getpid();
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (env_action)
			setenv(SECCOMP_ENV, env_action, 1);
		seccomp_set_report_fd(p[1]);
		if (seccomp_roles_prepare())
			_exit(CHILD_PREPARE_FAILED);
		if (role != THREAD_ROLE_COUNT && seccomp_install_role(role))
			_exit(CHILD_INSTALL_FAILED);
		body(role);
		_exit(CHILD_OK);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out->report + got, sizeof(out->report) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &out->status, 0), pid);
}

/* Like run_child, but the body installs its filters itself. */
static void run_child_unfiltered(child_fn body, struct outcome *out)
{
	run_child(THREAD_ROLE_COUNT, body, NULL, out);
}

static void expect_ok(const struct outcome *o)
{
	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != CHILD_OK || o->report[0])
		fail_msg("child status %#x, report \"%s\"", o->status, o->report);
}

static void expect_violation(const struct outcome *o, const char *name, enum thread_role role)
{
	struct seccomp_violation v;
	char line[256];

	if (!WIFEXITED(o->status) || WEXITSTATUS(o->status) != SECCOMP_VIOLATION_STATUS)
		fail_msg("expected a violation of %s, got status %#x, report \"%s\"", name, o->status, o->report);
	assert_int_equal(seccomp_violation_parse(o->report, &v), 0);
	assert_string_equal(v.name, name);
	assert_int_equal(v.role, role);
	assert_true(seccomp_violation_describe(o->status, o->report, line, sizeof(line)));
	assert_non_null(strstr(line, name));
	assert_non_null(strstr(line, thread_role_name(role)));
}

/* --- what every role may do --- */

/* In a filtered child: no cmocka, just an exit status and the line. */
static void check_at(bool ok, int line)
{
	char msg[48];
	int n;

	if (ok)
		return;
	n = snprintf(msg, sizeof(msg), "child check failed at line %d\n", line);
	(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(CHILD_CHECK_FAILED);
}
#define check(ok) check_at((ok), __LINE__)

static void common_allowed(enum thread_role role)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct timespec ts;
	void *p;

	(void)role;
	check(getpid() > 0 && syscall(SYS_gettid) > 0);
	check(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	check(sched_yield() == 0);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(p != MAP_FAILED);
	memset(p, 1, 1 << 20);
	check(mprotect(p, 4096, PROT_READ) == 0 && madvise(p, 1 << 20, MADV_DONTNEED) == 0);
	check(munmap(p, 1 << 20) == 0);
	free(malloc(1 << 22)); /* big enough for its own mapping */
	check(pthread_mutex_lock(&m) == 0 && pthread_mutex_unlock(&m) == 0);
	/* Signals within the process: glibc's pthread_kill and raise. */
	check(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) == 0);
	check(pthread_kill(pthread_self(), 0) == 0);
	check(write(STDERR_FILENO, "", 0) == 0);
}

static void main_allowed(enum thread_role role)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	char c;

	common_allowed(role);
	check(sigaction(SIGUSR2, &sa, NULL) == 0);
	check(ioctl(STDERR_FILENO, TCGETS, &c) == 0 || errno == ENOTTY);
	check(ioctl(STDERR_FILENO, KVM_GET_STATS_FD, 0) == -1); /* the summary's statistics */
	check(ioctl(STDERR_FILENO, KVM_IOEVENTFD, NULL) == -1); /* teardown */
	check(pread(99, &c, 1, 0) == -1 && errno == EBADF);
	check(close(99) == -1 && errno == EBADF);
}

static void vcpu_allowed(enum thread_role role)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };

	common_allowed(role);
	/* Allowed requests on a fd that is not KVM's just fail. */
	check(ioctl(STDERR_FILENO, KVM_RUN, 0) == -1);
	check(ioctl(STDERR_FILENO, KVM_GET_REGS, NULL) == -1);
	check(ioctl(STDERR_FILENO, KVM_IRQ_LINE, NULL) == -1);
	check(timerfd_settime(99, 0, &off, NULL) == -1 && errno == EBADF); /* a virtio reset */
}

static void device_allowed(enum thread_role role)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	struct iovec iov = { .iov_base = &off, .iov_len = 1 };
	char c;

	common_allowed(role);
	check(pread(STDERR_FILENO, &c, 1, 0) == -1);
	check(preadv(99, &iov, 1, 0) == -1 && pwritev(99, &iov, 1, 0) == -1);
	check(fdatasync(99) == -1 && errno == EBADF);
	check(getrandom(&c, 1, 0) == 1);
	check(timerfd_settime(99, 0, &off, NULL) == -1 && errno == EBADF);
	check(syscall(SYS_io_uring_enter, 99, 0, 0, 0, NULL, 0) == -1 && errno == EBADF); /* virtio-blk */
	check(ioctl(STDERR_FILENO, KVM_IRQ_LINE, NULL) == -1);
}

static void console_allowed(enum thread_role role)
{
	char c;

	common_allowed(role);
	check(read(99, &c, 1) == -1 && errno == EBADF);
	check(ioctl(STDERR_FILENO, KVM_IRQ_LINE, NULL) == -1);
}

static void responder_allowed(enum thread_role role)
{
	char c;

	common_allowed(role);
	check(read(99, &c, 1) == -1 && errno == EBADF);
	check(prctl(PR_GET_SECCOMP) == 2); /* the mode it reports in each answer */
}

static void union_allowed(enum thread_role role)
{
	cpu_set_t set;
	sigset_t mask;

	common_allowed(role);
	/* a vCPU pins itself before it narrows to its role */
	check(sched_getaffinity(0, sizeof(set), &set) == 0 && sched_setaffinity(0, sizeof(set), &set) == 0);
	/* start-up after the jail: console_start(), virtio_mmio_start(), vm_run() */
	check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) >= 0);
	check(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK) >= 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	check(signalfd(-1, &mask, SFD_CLOEXEC) >= 0);
}

static void allowed_syscalls_pass(void **state)
{
	static const child_fn bodies[THREAD_ROLE_COUNT] = {
		[ROLE_VMM_MAIN] = main_allowed, [ROLE_VCPU] = vcpu_allowed, [ROLE_DEVICE_IO] = device_allowed,
		[ROLE_CONSOLE] = console_allowed, [ROLE_RESPONDER] = responder_allowed, [ROLE_UNION] = union_allowed,
	};
	struct outcome o;

	(void)state;
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		run_child((enum thread_role)r, bodies[r], NULL, &o);
		expect_ok(&o);
	}
}

/* --- what no role may do --- */

static void do_openat(enum thread_role r) { (void)r; (void)!open("/etc/passwd", O_RDONLY); }
static void do_execve(enum thread_role r)
{
	char *argv[] = { (char *)"true", NULL };

	(void)r;
	execve("/bin/true", argv, environ);
}
static void do_socket(enum thread_role r) { (void)r; (void)!socket(AF_UNIX, SOCK_STREAM, 0); }
static void do_ptrace(enum thread_role r) { (void)r; (void)!ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static void do_kill(enum thread_role r) { (void)r; (void)!kill(getpid(), 0); }
static void do_fork(enum thread_role r)
{
	(void)r;
	if (fork() == 0)
		_exit(0);
}
static void do_mmap_exec(enum thread_role r)
{
	(void)r;
	(void)!mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
static void do_mprotect_exec(enum thread_role r)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)r;
	(void)!mprotect(p, 4096, PROT_READ | PROT_EXEC);
}
static void do_mount(enum thread_role r) { (void)r; (void)!syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL); }
static void do_kvm_create_vm(enum thread_role r) { (void)r; (void)!ioctl(STDERR_FILENO, KVM_CREATE_VM, 0); }

static void forbidden_syscalls_are_reported(void **state)
{
	static const struct {
		child_fn fn;
		const char *name;
	} cases[] = {
		{ do_openat, "openat" },   { do_execve, "execve" }, { do_socket, "socket" },
		{ do_ptrace, "ptrace" },   { do_kill, "kill" },     { do_fork, "clone" },
		{ do_mmap_exec, "mmap" },  { do_mprotect_exec, "mprotect" }, { do_mount, "mount" },
		{ do_kvm_create_vm, "ioctl" },
	};
	struct outcome o;

	(void)state;
	for (int r = 0; r < THREAD_ROLE_COUNT; r++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			run_child((enum thread_role)r, cases[i].fn, NULL, &o);
			expect_violation(&o, cases[i].name, (enum thread_role)r);
		}
	}
}

/* --- role-specific limits --- */

static void do_tcsets(enum thread_role r) { (void)r; (void)!ioctl(STDERR_FILENO, TCSETS, NULL); }
static void do_kvm_run(enum thread_role r) { (void)r; (void)!ioctl(STDERR_FILENO, KVM_RUN, 0); }
static void do_close(enum thread_role r) { (void)r; close(99); }
static void do_read(enum thread_role r)
{
	char c;

	(void)r;
	(void)!read(99, &c, 1);
}
static void do_tgkill_parent(enum thread_role r) { (void)r; (void)!syscall(SYS_tgkill, parent_pid, parent_pid, 0); }
static void do_sigaction_sigsys(enum thread_role r)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	(void)r;
	sigaction(SIGSYS, &sa, NULL);
}
static void do_futex_pi(enum thread_role r)
{
	uint32_t word = 0;

	(void)r;
	(void)!syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
}
static void do_seccomp_again(enum thread_role r) { (void)!seccomp_install_role(r); }
static void *idle_thread(void *arg) { return arg; }
static void do_pthread_create(enum thread_role r)
{
	pthread_t t;

	(void)r;
	if (pthread_create(&t, NULL, idle_thread, NULL) == 0)
		pthread_join(t, NULL);
}
static void do_getuid(enum thread_role r) { (void)r; (void)!getuid(); }
static void do_eventfd(enum thread_role r) { (void)r; (void)!eventfd(0, EFD_CLOEXEC); }
static void do_uring_enter(enum thread_role r) { (void)r; (void)!syscall(SYS_io_uring_enter, 99, 0, 0, 0, NULL, 0); }
static void do_uring_setup(enum thread_role r) { (void)r; (void)!syscall(SYS_io_uring_setup, 4, NULL); }
static void do_uring_register(enum thread_role r) { (void)r; (void)!syscall(SYS_io_uring_register, 99, 0, NULL, 0); }
static void do_eventfd_semaphore(enum thread_role r) { (void)r; (void)!eventfd(0, EFD_SEMAPHORE); }
static void do_timerfd_create(enum thread_role r)
{
	(void)r;
	(void)!timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
}
static void do_setaffinity_parent(enum thread_role r)
{
	cpu_set_t set;

	(void)r;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	(void)!sched_setaffinity(parent_pid, sizeof(set), &set);
}
static void do_setaffinity_self(enum thread_role r)
{
	cpu_set_t set;

	(void)r;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	(void)!sched_setaffinity(0, sizeof(set), &set);
}
static void do_getrandom(enum thread_role r)
{
	char c;

	(void)r;
	(void)!getrandom(&c, 1, 0);
}

static void do_prctl_set_name(enum thread_role r) { (void)r; (void)!prctl(PR_SET_NAME, "x", 0, 0, 0); }

static void role_limits(void **state)
{
	static const struct {
		enum thread_role role;
		child_fn fn;
		const char *name;
	} cases[] = {
		/* ioctl requests outside the role's list */
		{ ROLE_VCPU, do_tcsets, "ioctl" },
		{ ROLE_CONSOLE, do_kvm_run, "ioctl" },
		{ ROLE_DEVICE_IO, do_kvm_run, "ioctl" },
		{ ROLE_VMM_MAIN, do_kvm_run, "ioctl" },
		/* syscalls of other roles */
		{ ROLE_VCPU, do_close, "close" },
		{ ROLE_VCPU, do_read, "read" },
		{ ROLE_CONSOLE, do_close, "close" },
		/* argument filters */
		{ ROLE_VCPU, do_tgkill_parent, "tgkill" },
		{ ROLE_VMM_MAIN, do_sigaction_sigsys, "rt_sigaction" },
		{ ROLE_UNION, do_sigaction_sigsys, "rt_sigaction" },
		{ ROLE_VCPU, do_futex_pi, "futex" },
		{ ROLE_UNION, do_setaffinity_parent, "sched_setaffinity" },
		{ ROLE_VCPU, do_setaffinity_self, "sched_setaffinity" },
		{ ROLE_CONSOLE, do_getrandom, "getrandom" },
		{ ROLE_VMM_MAIN, do_eventfd, "eventfd2" },
		{ ROLE_CONSOLE, do_eventfd, "eventfd2" },
		{ ROLE_UNION, do_eventfd_semaphore, "eventfd2" },
		{ ROLE_VCPU, do_timerfd_create, "timerfd_create" },
		{ ROLE_VCPU, do_uring_enter, "io_uring_enter" },
		{ ROLE_DEVICE_IO, do_uring_setup, "io_uring_setup" },
		{ ROLE_DEVICE_IO, do_uring_register, "io_uring_register" },
		{ ROLE_RESPONDER, do_prctl_set_name, "prctl" },
		{ ROLE_RESPONDER, do_close, "close" },
		/* no filter changes once a role is set */
		{ ROLE_VCPU, do_seccomp_again, "seccomp" },
		/* on no list at all */
		{ ROLE_UNION, do_getuid, "getuid" },
	};
	struct outcome o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_child(cases[i].role, cases[i].fn, NULL, &o);
		expect_violation(&o, cases[i].name, cases[i].role);
	}
}

/* --- the ordering rule: union first, each thread narrows itself --- */

struct thread_case {
	bool misbehave;
	int fd;
};

static void *vcpu_like_thread(void *arg)
{
	struct thread_case *tc = arg;

	if (seccomp_install_role(ROLE_VCPU))
		_exit(CHILD_INSTALL_FAILED);
	check(ioctl(tc->fd, KVM_RUN, 0) == -1);
	if (tc->misbehave)
		close(tc->fd); /* main's syscall: the vCPU filter must catch it */
	return NULL;
}

static void union_then_roles(enum thread_role role, bool misbehave)
{
	struct thread_case tc = { .misbehave = misbehave, .fd = STDERR_FILENO };
	pthread_t t[3];

	(void)role;
	/* The child starts with the union (run_child installed it). */
	for (int i = 0; i < 3; i++)
		check(pthread_create(&t[i], NULL, vcpu_like_thread, &tc) == 0);
	if (seccomp_install_role(ROLE_VMM_MAIN))
		_exit(CHILD_INSTALL_FAILED);
	for (int i = 0; i < 3; i++)
		check(pthread_join(t[i], NULL) == 0);
	check(close(99) == -1 && errno == EBADF);
}

static void threads_clean(enum thread_role r) { union_then_roles(r, false); }
static void threads_misbehave(enum thread_role r) { union_then_roles(r, true); }

static void clone3_falls_back(enum thread_role r)
{
	(void)r;
	check(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
}

static void ordering_rule(void **state)
{
	struct outcome o;

	(void)state;
	run_child(ROLE_UNION, threads_clean, NULL, &o);
	expect_ok(&o);
	run_child(ROLE_UNION, threads_misbehave, NULL, &o);
	expect_violation(&o, "close", ROLE_VCPU);
	run_child(ROLE_UNION, clone3_falls_back, NULL, &o);
	expect_ok(&o);
}

/* --- a run shaped like the VMM's: vm_run() with vCPU and console threads --- */

struct fake_vm {
	int stop_efd, wake_efd, sfd, in_fd, vcpu_fd;
	int kick_fd, irq_fd, worker_stop_fd, timer_fd, disk_fd; /* one virtio device */
	pthread_mutex_t lock;
	pthread_mutex_t stop_lock; /* as in vm.c: a vCPU is kicked only while it runs */
	bool running[2];
	pthread_t vcpus[2];
	_Atomic int kicks;
	char *ram;
};

static struct fake_vm fvm;

static void kick_handler(int sig)
{
	(void)sig;
	fvm.kicks++;
}

static void *fake_vcpu(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	uint64_t one = 1;
	cpu_set_t set;
	int ret;

	/* vcpu_thread(): pin (still under the union), then narrow. */
	check(sched_getaffinity(0, sizeof(set), &set) == 0 && sched_setaffinity(0, sizeof(set), &set) == 0);
	if (seccomp_install_role(ROLE_VCPU))
		_exit(CHILD_INSTALL_FAILED);
	for (int i = 0; i < 2000; i++) {
		check(ioctl(fvm.vcpu_fd, KVM_RUN, 0) == -1); /* the exit comes back */
		pthread_mutex_lock(&fvm.lock);               /* a device with a lock */
		fvm.ram[i] = (char)i;
		pthread_mutex_unlock(&fvm.lock);
	}
	/* MMIO to the virtio device: a queue notify, a reset. */
	check(write(fvm.kick_fd, &one, sizeof(one)) == sizeof(one));
	check(timerfd_settime(fvm.timer_fd, 0, &off, NULL) == 0);
	/* vm_request_stop(): kick the vCPUs still running, wake main. */
	check(pthread_kill(pthread_self(), SIGUSR1) == 0);
	pthread_mutex_lock(&fvm.stop_lock);
	ret = fvm.running[id ^ 1] ? pthread_kill(fvm.vcpus[id ^ 1], SIGUSR1) : 0;
	fvm.running[id] = false;
	pthread_mutex_unlock(&fvm.stop_lock);
	check(ret == 0);
	check(write(fvm.stop_efd, &one, sizeof(one)) == sizeof(one));
	check(write(STDERR_FILENO, "", 0) == 0);
	return NULL;
}

static void *fake_console(void *arg)
{
	struct pollfd fds[2] = { { .fd = fvm.wake_efd, .events = POLLIN }, { .fd = fvm.in_fd, .events = POLLIN } };
	char buf[16];

	(void)arg;
	if (seccomp_install_role(ROLE_CONSOLE))
		_exit(CHILD_INSTALL_FAILED);
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			break;
		if (fds[1].revents & POLLIN)
			check(read(fvm.in_fd, buf, sizeof(buf)) >= 0);
	}
	return NULL;
}

/* The virtio worker: poll, drain, serve requests, raise the interrupt. */
static void *fake_worker(void *arg)
{
	struct itimerspec later = { { 0, 0 }, { 0, 1000 } };
	char sector[512], rnd[16];
	struct iovec iov = { .iov_base = sector, .iov_len = sizeof(sector) };
	uint64_t v, one = 1;

	(void)arg;
	if (seccomp_install_role(ROLE_DEVICE_IO))
		_exit(CHILD_INSTALL_FAILED);
	for (;;) {
		struct pollfd fds[3] = { { .fd = fvm.worker_stop_fd, .events = POLLIN },
					 { .fd = fvm.kick_fd, .events = POLLIN },
					 { .fd = fvm.timer_fd, .events = POLLIN } };

		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		while (read(fvm.kick_fd, &v, sizeof(v)) == sizeof(v))
			;
		memset(sector, 0x5a, sizeof(sector));
		check(pwritev(fvm.disk_fd, &iov, 1, 4096) == sizeof(sector));
		check(preadv(fvm.disk_fd, &iov, 1, 4096) == sizeof(sector));
		check(fdatasync(fvm.disk_fd) == 0);
		check(getrandom(rnd, sizeof(rnd), 0) == sizeof(rnd));
		check(timerfd_settime(fvm.timer_fd, 0, &later, NULL) == 0); /* rate limiter: retry later */
		check(write(fvm.irq_fd, &one, sizeof(one)) == sizeof(one));
	}
	return NULL;
}

static void vmm_shaped_run(enum thread_role role)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	struct pollfd pfd[2];
	pthread_t console, worker;
	sigset_t stop;
	uint64_t v = 1;
	int in[2];
	char c;

	(void)role;
	/* Opened by path before the lock-down: the terminal, KVM, disk images. */
	check(pipe(in) == 0);
	fvm.in_fd = in[0];
	fvm.vcpu_fd = in[1];
	fvm.disk_fd = memfd_create("disk", MFD_CLOEXEC);
	check(fvm.disk_fd >= 0 && ftruncate(fvm.disk_fd, 1 << 20) == 0);

	/* The lock-down (sandbox_lockdown() in the real child), then the
	 * start-up code: console_start(), virtio_mmio_start(), vm_run(). */
	if (seccomp_install_role(ROLE_UNION))
		_exit(CHILD_INSTALL_FAILED);
	fvm.stop_efd = eventfd(0, EFD_CLOEXEC);
	fvm.wake_efd = eventfd(0, EFD_CLOEXEC);
	fvm.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fvm.irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fvm.worker_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fvm.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	check(pthread_sigmask(SIG_BLOCK, &stop, NULL) == 0);
	fvm.sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	check(fvm.stop_efd >= 0 && fvm.wake_efd >= 0 && fvm.sfd >= 0 && fvm.kick_fd >= 0 && fvm.irq_fd >= 0 &&
	      fvm.worker_stop_fd >= 0 && fvm.timer_fd >= 0 && fvm.disk_fd >= 0);
	check(sigaction(SIGUSR1, &sa, NULL) == 0);
	pthread_mutex_init(&fvm.lock, NULL);
	pthread_mutex_init(&fvm.stop_lock, NULL);
	fvm.ram = malloc(1 << 16);

	check(pthread_create(&console, NULL, fake_console, NULL) == 0);
	check(pthread_create(&worker, NULL, fake_worker, NULL) == 0);
	pthread_mutex_lock(&fvm.stop_lock);
	for (uintptr_t i = 0; i < 2; i++) {
		check(pthread_create(&fvm.vcpus[i], NULL, fake_vcpu, (void *)i) == 0);
		fvm.running[i] = true;
	}
	pthread_mutex_unlock(&fvm.stop_lock);
	if (seccomp_install_role(ROLE_VMM_MAIN))
		_exit(CHILD_INSTALL_FAILED);

	check(write(in[1], "x", 1) == 1); /* a key press for the console */
	pfd[0] = (struct pollfd){ .fd = fvm.stop_efd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = fvm.sfd, .events = POLLIN };
	while (poll(pfd, 2, -1) < 0)
		check(errno == EINTR);
	check((pfd[0].revents & POLLIN) && read(fvm.stop_efd, &v, sizeof(v)) == sizeof(v));
	for (int i = 0; i < 2; i++)
		check(pthread_join(fvm.vcpus[i], NULL) == 0);
	check(write(fvm.wake_efd, &v, sizeof(v)) == sizeof(v)); /* console_stop() */
	check(pthread_join(console, NULL) == 0);
	check(fvm.kicks >= 2); /* the handlers ran and returned */
	/* The request the vCPUs kicked is served once its interrupt comes. */
	pfd[0] = (struct pollfd){ .fd = fvm.irq_fd, .events = POLLIN };
	while (poll(pfd, 1, -1) < 0)
		check(errno == EINTR);
	check(read(fvm.irq_fd, &v, sizeof(v)) == sizeof(v));
	check(pread(fvm.disk_fd, &c, 1, 4096) == 1 && c == 0x5a);
	/* The summary: KVM statistics through a stats fd. */
	check(ioctl(fvm.vcpu_fd, KVM_GET_STATS_FD, 0) == -1);
	/* Teardown: virtio_mmio_destroy(), vm_destroy(). */
	check(write(fvm.worker_stop_fd, &v, sizeof(v)) == sizeof(v));
	check(pthread_join(worker, NULL) == 0);
	check(ioctl(fvm.kick_fd, KVM_IOEVENTFD, NULL) == -1 && ioctl(fvm.irq_fd, KVM_IRQFD, NULL) == -1);
	free(fvm.ram);
	check(close(fvm.stop_efd) == 0 && close(fvm.wake_efd) == 0 && close(fvm.sfd) == 0);
	check(close(fvm.kick_fd) == 0 && close(fvm.irq_fd) == 0 && close(fvm.worker_stop_fd) == 0);
	check(close(fvm.timer_fd) == 0 && close(fvm.disk_fd) == 0);
	check(close(in[0]) == 0 && close(in[1]) == 0);
	fprintf(stderr, "%s", "");
	fflush(stderr);
}

static void vmm_shaped_run_is_allowed(void **state)
{
	struct outcome o;

	(void)state;
	/* The child starts unfiltered: vmm_shaped_run installs the union. */
	for (int round = 0; round < 3; round++) {
		run_child_unfiltered(vmm_shaped_run, &o);
		expect_ok(&o);
	}
}

/* --- other violation actions --- */

static void violation_actions(void **state)
{
	struct outcome o;
	char line[256];

	(void)state;
	run_child(ROLE_VCPU, do_openat, "kill", &o);
	assert_true(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS);
	assert_string_equal(o.report, "");
	assert_true(seccomp_violation_describe(o.status, o.report, line, sizeof(line)));
	assert_non_null(strstr(line, "SIGSYS"));

	/* log: the syscall runs, the kernel logs it */
	run_child(ROLE_VCPU, do_getuid, "log", &o);
	expect_ok(&o);

	/* glibc blocks every signal around the clone in pthread_create: the
	 * trap cannot run its handler, so the kernel kills with SIGSYS. */
	run_child(ROLE_VMM_MAIN, do_pthread_create, NULL, &o);
	assert_true(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS);
	assert_true(seccomp_violation_describe(o.status, o.report, line, sizeof(line)));

	run_child(ROLE_VCPU, do_getuid, "bogus", &o);
	assert_true(WIFEXITED(o.status) && WEXITSTATUS(o.status) == CHILD_PREPARE_FAILED);
}

/* --- supervisor-side decoding --- */

static void report_decoding(void **state)
{
	struct seccomp_violation v;
	char line[256];
	int exited85 = SECCOMP_VIOLATION_STATUS << 8; /* a wait status: exited with 85 */

	(void)state;
	assert_true(WIFEXITED(exited85) && WEXITSTATUS(exited85) == SECCOMP_VIOLATION_STATUS);
	/* The name in the report is ignored: a compromised VMM could lie. */
	assert_int_equal(seccomp_violation_parse("noise\n" SECCOMP_REPORT_PREFIX
						 "syscall=59 name=getpid role=device-io arch=0xc000003e ip=0x1234\n",
						 &v),
			 0);
	assert_int_equal(v.nr, 59);
	assert_string_equal(v.name, "execve");
	assert_int_equal(v.role, ROLE_DEVICE_IO);
	assert_int_equal(v.arch, 0xc000003e);
	assert_int_equal(v.ip, 0x1234);

	assert_int_equal(seccomp_violation_parse(SECCOMP_REPORT_PREFIX "syscall=1 role=bogus arch=0x1", &v), 0);
	assert_int_equal(v.role, -1);
	assert_string_equal(v.name, "?");
	assert_int_equal(seccomp_violation_parse("nothing here", &v), -EINVAL);
	assert_int_equal(seccomp_violation_parse(NULL, &v), -EINVAL);
	assert_int_equal(seccomp_violation_parse(SECCOMP_REPORT_PREFIX "syscall=x", &v), -EINVAL);

	/* 85 without a report: the guest's own debug-exit code, not ours. */
	assert_false(seccomp_violation_describe(exited85, "", line, sizeof(line)));
	assert_false(seccomp_violation_describe(0, NULL, line, sizeof(line)));
	assert_true(seccomp_violation_describe(exited85, SECCOMP_REPORT_PREFIX "syscall=41 role=vcpu arch=0xc000003e",
					       line, sizeof(line)));
	assert_non_null(strstr(line, "socket"));
	assert_non_null(strstr(line, "vcpu"));

	assert_string_equal(thread_role_name(ROLE_CONSOLE), "console");
	assert_string_equal(thread_role_name((enum thread_role)42), "?");
}

static void install_needs_prepare(void **state)
{
	(void)state;
	/* This process never prepared: nothing is installed. */
	assert_int_equal(seccomp_install_role(ROLE_VCPU), -ENOENT);
	assert_int_equal(seccomp_install_role(THREAD_ROLE_COUNT), -EINVAL);
}

static void exports_readable_filter(void **state)
{
	char buf[65536];
	int fd = memfd_create("pfc", MFD_CLOEXEC);
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(seccomp_role_export_pfc(ROLE_VCPU, fd), 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "ioctl"));
	assert_null(strstr(buf, "openat"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_syscalls_pass),
		cmocka_unit_test(forbidden_syscalls_are_reported),
		cmocka_unit_test(role_limits),
		cmocka_unit_test(ordering_rule),
		cmocka_unit_test(vmm_shaped_run_is_allowed),
		cmocka_unit_test(violation_actions),
		cmocka_unit_test(report_decoding),
		cmocka_unit_test(install_needs_prepare),
		cmocka_unit_test(exports_readable_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
