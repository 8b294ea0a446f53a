#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "seccomp_internal.h"

/* The violation path. In report mode the filters TRAP: the kernel skips the
 * syscall and raises SIGSYS on the offending thread, whose handler writes
 * one line to the report fd and ends the whole process with
 * SECCOMP_VIOLATION_STATUS. The handler may only use async-signal-safe
 * calls: names are resolved before the lock-down, formatting is by hand. */

#define NAME_TABLE_SIZE 512 /* above every x86-64 syscall number */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* si_code of a seccomp SIGSYS; glibc does not name it */
#endif

static const char *syscall_names[NAME_TABLE_SIZE];
static int report_fd = STDERR_FILENO;

static const char *const role_names[THREAD_ROLE_COUNT] = {
	[ROLE_VMM_MAIN] = "main", [ROLE_VCPU] = "vcpu", [ROLE_DEVICE_IO] = "device-io",
	[ROLE_CONSOLE] = "console", [ROLE_RESPONDER] = "responder", [ROLE_UNION] = "union",
};

const char *thread_role_name(enum thread_role role)
{
	return (unsigned)role < THREAD_ROLE_COUNT ? role_names[role] : "?";
}

void seccomp_set_report_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	report_fd = fd;
}

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, uint64_t v, unsigned base)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && at < cap)
		buf[at++] = tmp[--n];
	return at;
}

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char line[SECCOMP_REPORT_MAX];
	const size_t cap = sizeof(line) - 1;
	unsigned nr = (unsigned)si->si_syscall, role = (unsigned)si->si_errno;
	const char *name = "?";
	size_t n = 0;

	(void)sig;
	if (si->si_code == SYS_SECCOMP && si->si_arch == AUDIT_ARCH_X86_64 && nr < NAME_TABLE_SIZE &&
	    syscall_names[nr])
		name = syscall_names[nr];
	n = put_str(line, n, cap, SECCOMP_REPORT_PREFIX "syscall=");
	if (si->si_code == SYS_SECCOMP)
		n = put_num(line, n, cap, nr, 10);
	else
		n = put_str(line, n, cap, "-1"); /* a SIGSYS someone sent: not seccomp's */
	n = put_str(line, n, cap, " name=");
	n = put_str(line, n, cap, name);
	n = put_str(line, n, cap, " role=");
	n = put_str(line, n, cap, si->si_code == SYS_SECCOMP ? thread_role_name((enum thread_role)role) : "?");
	n = put_str(line, n, cap, " arch=0x");
	n = put_num(line, n, cap, si->si_arch, 16);
	n = put_str(line, n, cap, " ip=0x");
	n = put_num(line, n, cap, (uint64_t)(uintptr_t)si->si_call_addr, 16);
	/* An ioctl is told by its request: the second argument, still in its
	 * register (the trapped call never ran). */
	if (si->si_code == SYS_SECCOMP && si->si_arch == AUDIT_ARCH_X86_64 && nr == SYS_ioctl && uc) {
		n = put_str(line, n, cap, " request=0x");
		n = put_num(line, n, cap, (uint32_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RSI], 16);
	}
	line[n++] = '\n';
	/* One write: a pipe takes it whole (under PIPE_BUF) or not at all. */
	if (write(report_fd, line, n) < 0) {
		/* nothing left to tell it with */
	}
	/* exit_group directly: no atexit handlers, no stdio, no leak check;
	 * every role allows it. */
	syscall(SYS_exit_group, SECCOMP_VIOLATION_STATUS);
	_exit(SECCOMP_VIOLATION_STATUS);
}

int seccomp_report_prepare(void)
{
	struct sigaction sa;

	for (int nr = 0; nr < NAME_TABLE_SIZE; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	/* Everything blocked while it runs: it does not return anyway. The
	 * filters then refuse rt_sigaction(SIGSYS), so the handler stays. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static const char *field(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? p + strlen(key) : NULL;
}

int seccomp_violation_parse(const char *text, struct seccomp_violation *v)
{
	char line[SECCOMP_REPORT_MAX + 1];
	const char *start, *p;
	char *end, *name;
	size_t len;

	memset(v, 0, sizeof(*v));
	v->role = -1;
	snprintf(v->name, sizeof(v->name), "?");
	start = text ? strstr(text, SECCOMP_REPORT_PREFIX "syscall=") : NULL;
	if (!start)
		return -EINVAL;
	len = strcspn(start, "\n");
	if (len > SECCOMP_REPORT_MAX)
		len = SECCOMP_REPORT_MAX;
	memcpy(line, start, len);
	line[len] = '\0';

	p = field(line, "syscall=");
	v->nr = strtol(p, &end, 10);
	if (end == p)
		return -EINVAL;
	p = field(line, " arch=0x");
	if (p)
		v->arch = (uint32_t)strtoul(p, NULL, 16);
	p = field(line, " ip=0x");
	if (p)
		v->ip = strtoull(p, NULL, 16);
	p = field(line, " role=");
	for (int r = 0; p && r < THREAD_ROLE_COUNT; r++) {
		size_t n = strlen(role_names[r]);

		if (!strncmp(p, role_names[r], n) && (p[n] == ' ' || p[n] == '\0'))
			v->role = r;
	}
	/* The name is ours to find: the report comes from the process that
	 * just misbehaved. */
	if (v->nr >= 0 && v->nr < NAME_TABLE_SIZE && v->arch) {
		name = seccomp_syscall_resolve_num_arch(v->arch, (int)v->nr);
		if (name) {
			snprintf(v->name, sizeof(v->name), "%s", name);
			free(name);
		}
	}
	return 0;
}

/* " KVM_CREATE_VCPU" (or " request 0x...") when the report's line is an
 * x86-64 ioctl with a request field, else "". */
static void ioctl_request(const struct seccomp_violation *v, const char *report, char *out, size_t len)
{
	const char *line = strstr(report, SECCOMP_REPORT_PREFIX "syscall="), *p;
	const char *name;
	unsigned long req;
	char *end;

	out[0] = '\0';
	if (v->arch != AUDIT_ARCH_X86_64 || v->nr != SYS_ioctl || !line)
		return;
	p = strstr(line, " request=0x");
	if (!p || p > line + strcspn(line, "\n"))
		return;
	req = strtoul(p + 11, &end, 16);
	if (end == p + 11 || req > UINT32_MAX)
		return;
	name = seccomp_ioctl_name((uint32_t)req);
	if (name)
		snprintf(out, len, " %s", name);
	else
		snprintf(out, len, " request %#lx", req);
}

bool seccomp_violation_describe(int wait_status, const char *report, char *buf, size_t len)
{
	struct seccomp_violation v;
	char request[48];

	if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGSYS) {
		/* Kill mode, or a trap while SIGSYS was blocked (glibc blocks
		 * all signals inside pthread_create and pthread_kill): the
		 * kernel then kills without running the handler. */
		snprintf(buf, len,
			 "seccomp: the VMM was killed by SIGSYS for a forbidden syscall it could not report "
			 "(kill mode, or made with signals blocked, e.g. creating a thread); the kernel's audit "
			 "log names it");
		return true;
	}
	/* Status 85 alone may be a guest's own debug-exit code. */
	if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != SECCOMP_VIOLATION_STATUS ||
	    seccomp_violation_parse(report, &v))
		return false;
	if (v.nr < 0)
		snprintf(buf, len, "seccomp: the VMM received a SIGSYS that seccomp did not send");
	else {
		ioctl_request(&v, report, request, sizeof(request));
		snprintf(buf, len, "seccomp: the %s thread called %s%s (syscall %ld, arch %#x), which its allow-list forbids",
			 v.role >= 0 ? thread_role_name((enum thread_role)v.role) : "unknown", v.name, request, v.nr,
			 v.arch);
	}
	return true;
}
