#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox/seccomp.h"

/* The frozen configuration, as seccomp sees it: after the lock-down no
 * thread of any role may add a memory slot or a vCPU, whatever fd it
 * aims at. Each case runs in a forked child (a filter cannot be taken
 * off); the supervisor's description of the violation names the request. */

struct outcome {
	int status;
	char report[512];
};

static const enum thread_role roles[] = { ROLE_VMM_MAIN, ROLE_VCPU, ROLE_DEVICE_IO, ROLE_CONSOLE, ROLE_UNION };

/* In the child, under role's filter: ioctl(-1, req, arg) with the given
 * upper bits in the request register. Returns if the call was let through. */
static void run_ioctl(enum thread_role role, unsigned long req, struct outcome *out)
{
	int p[2];
	size_t got = 0;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kvm_userspace_memory_region region = { .slot = 7, .guest_phys_addr = 1ull << 40,
							       .memory_size = 4096 };
		long r;

		close(p[0]);
		seccomp_set_report_fd(p[1]);
		if (seccomp_roles_prepare() || seccomp_install_role(role))
			_exit(101);
		r = syscall(SYS_ioctl, -1, req, &region);
		/* Let through: the kernel saw a bad fd. */
		_exit(r < 0 && errno == EBADF ? 0 : 102);
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

static void expect_refused(enum thread_role role, unsigned long req, const char *name)
{
	struct outcome o;
	struct seccomp_violation v;
	char line[256], want[64];

	run_ioctl(role, req, &o);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != SECCOMP_VIOLATION_STATUS)
		fail_msg("role %s: %s (%#lx) not refused: status %#x, report \"%s\"", thread_role_name(role), name,
			 req, o.status, o.report);
	assert_int_equal(seccomp_violation_parse(o.report, &v), 0);
	assert_string_equal(v.name, "ioctl");
	assert_int_equal(v.role, role);
	assert_true(seccomp_violation_describe(o.status, o.report, line, sizeof(line)));
	snprintf(want, sizeof(want), "called ioctl %s (", name);
	if (!strstr(line, want))
		fail_msg("role %s: \"%s\" does not name %s", thread_role_name(role), line, name);
}

static void no_new_memory_slot_in_any_role(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		expect_refused(roles[i], KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION");
}

static void no_new_vcpu_in_any_role(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		expect_refused(roles[i], KVM_CREATE_VCPU, "KVM_CREATE_VCPU");
}

static void upper_bits_change_nothing(void **state)
{
	(void)state;
	/* The kernel acts on the low 32 bits of the request: so do the
	 * filter and the report. */
	expect_refused(ROLE_VCPU, (1ul << 32) | KVM_CREATE_VCPU, "KVM_CREATE_VCPU");
	expect_refused(ROLE_UNION, (0xfffful << 48) | KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION");
}

static void allowed_request_passes(void **state)
{
	struct outcome o;

	(void)state;
	/* The same harness with a request the vCPU role keeps: it reaches
	 * the kernel (EBADF), so the refusals above are the filter's. */
	run_ioctl(ROLE_VCPU, KVM_RUN, &o);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0 || o.report[0])
		fail_msg("KVM_RUN under the vcpu filter: status %#x, report \"%s\"", o.status, o.report);
}

static void description_of_other_requests(void **state)
{
	int exited85 = SECCOMP_VIOLATION_STATUS << 8;
	char line[256];

	(void)state;
	assert_true(seccomp_violation_describe(
		exited85, SECCOMP_REPORT_PREFIX "syscall=16 role=vcpu arch=0xc000003e ip=0x1 request=0x1234\n", line,
		sizeof(line)));
	assert_non_null(strstr(line, "called ioctl request 0x1234 ("));
	/* No request field (an older VMM): the syscall alone. */
	assert_true(seccomp_violation_describe(exited85, SECCOMP_REPORT_PREFIX "syscall=16 role=vcpu arch=0xc000003e",
					       line, sizeof(line)));
	assert_non_null(strstr(line, "called ioctl (syscall 16"));
	/* A request field on another syscall is not believed. */
	assert_true(seccomp_violation_describe(
		exited85, SECCOMP_REPORT_PREFIX "syscall=41 role=vcpu arch=0xc000003e request=0xae41", line,
		sizeof(line)));
	assert_null(strstr(line, "KVM_"));
	/* Nor one on the next line. */
	assert_true(seccomp_violation_describe(
		exited85, SECCOMP_REPORT_PREFIX "syscall=16 role=vcpu arch=0xc000003e\nnoise request=0xae41", line,
		sizeof(line)));
	assert_null(strstr(line, "KVM_"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_new_memory_slot_in_any_role),
		cmocka_unit_test(no_new_vcpu_in_any_role),
		cmocka_unit_test(upper_bits_change_nothing),
		cmocka_unit_test(allowed_request_passes),
		cmocka_unit_test(description_of_other_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
