/* Seccomp allow-lists per thread role (Firecracker's model): each VMM
 * thread runs under the list of what its role needs and nothing else; no
 * role may open, exec, create sockets, fork, ptrace, mount, kill or map
 * anything executable. docs/seccomp.md lists every syscall and why, and the
 * order the VMM must install the filters in:
 *
 *   seccomp_roles_prepare();              still unfiltered, before threads
 *   seccomp_install_role(ROLE_UNION);     main thread, before creating any
 *   [each new thread, first thing]        seccomp_install_role(its role)
 *   seccomp_install_role(ROLE_VMM_MAIN);  main thread, once all are started
 *
 * A violation raises SIGSYS; the handler writes one report line to the
 * report fd and the process exits with SECCOMP_VIOLATION_STATUS. */
#ifndef KFV_SANDBOX_SECCOMP_H
#define KFV_SANDBOX_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum thread_role {
	ROLE_VMM_MAIN,  /* the main thread once every other thread runs: waits, tears down */
	ROLE_VCPU,      /* KVM_RUN and the device emulation it calls */
	ROLE_DEVICE_IO, /* device back-end workers: I/O on fds opened before the lock-down */
	ROLE_CONSOLE,   /* the console input thread */
	ROLE_RESPONDER, /* the integrity guard's challenge responder (src/guard/responder.c) */
	ROLE_UNION,     /* all of the above, thread creation and start-up fds: main's list while it starts threads */
	THREAD_ROLE_COUNT
};

/* What breaking an allow-list does. */
enum seccomp_violation_action {
	SECCOMP_VIOLATION_REPORT, /* default: report line, exit status SECCOMP_VIOLATION_STATUS */
	SECCOMP_VIOLATION_KILL,   /* the kernel kills the process with SIGSYS; nothing is reported */
	SECCOMP_VIOLATION_LOG,    /* diagnosis only: the syscall runs and the kernel logs it (dmesg/audit) */
};

/* The exit status of a VMM stopped by a violation in report mode. */
#define SECCOMP_VIOLATION_STATUS 85
/* Overrides the violation action: "report", "kill" or "log". */
#define SECCOMP_ENV "KFV_SECCOMP"
/* Every report line starts with this. */
#define SECCOMP_REPORT_PREFIX "kfv-seccomp: "
#define SECCOMP_REPORT_MAX 192

/* Chooses the action filters built from now on use; the SECCOMP_ENV
 * variable, when set, wins at seccomp_roles_prepare(). */
void seccomp_set_violation_action(enum seccomp_violation_action action);

/* The action in force (after seccomp_roles_prepare() read the environment):
 * the caller should warn loudly when it is not SECCOMP_VIOLATION_REPORT. */
enum seccomp_violation_action seccomp_violation_action(void);

/* Where violation reports go (stderr until set): typically a pipe the
 * supervisor reads. Made non-blocking, so that a full pipe can never hold
 * the dying VMM up. */
void seccomp_set_report_fd(int fd);

/* Builds every role's filter for this process (its pid is in them), the
 * syscall name table and the SIGSYS handler. Call once in the VMM process,
 * unfiltered and before creating threads: it allocates and calls libseccomp,
 * which no allow-list permits. Returns 0 or a negative errno (-EINVAL for a
 * bad SECCOMP_ENV value). */
int seccomp_roles_prepare(void) __attribute__((warn_unused_result));

/* Installs role's filter on the calling thread only (no TSYNC); threads it
 * creates later inherit it. Makes exactly one syscall, so a thread may call
 * it first thing while it holds the union filter. Returns -ENOENT if
 * seccomp_roles_prepare() was not run in this process. */
int seccomp_install_role(enum thread_role role) __attribute__((warn_unused_result));

/* "main", "vcpu", "device-io", "console", "responder", "union", or "?". */
const char *thread_role_name(enum thread_role role);

/* Writes role's filter in libseccomp's readable pseudo-filter code to fd,
 * for docs and debugging. Needs an unfiltered thread. */
int seccomp_role_export_pfc(enum thread_role role, int fd) __attribute__((warn_unused_result));

/* Supervisor side: one violation, decoded from a report line. Only the
 * numbers are taken from the (untrusted) report; the name is looked up here. */
struct seccomp_violation {
	long nr;        /* syscall number, for arch */
	uint32_t arch;  /* AUDIT_ARCH_* */
	int role;       /* enum thread_role, or -1 when the report names none we know */
	uint64_t ip;    /* address of the syscall instruction */
	char name[32];  /* resolved by libseccomp, "?" if unknown */
};

/* Finds and decodes the first report line in text. 0, or -EINVAL. */
int seccomp_violation_parse(const char *text, struct seccomp_violation *v) __attribute__((warn_unused_result));

/* Given the VMM's wait status and what it wrote on the report fd (may be
 * NULL), tells whether seccomp stopped it; if so writes one line saying
 * which syscall from which role into buf. */
bool seccomp_violation_describe(int wait_status, const char *report, char *buf, size_t len);

#endif
