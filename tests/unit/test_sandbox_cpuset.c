#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox/jail.h"
#include "sandbox/jail_internal.h"

/* The VM's cpuset (cfg.cpuset, --dedicated-cpus). The file steps run on
 * plain directories standing in for cgroupfs; the whole path runs on the
 * host's cgroupfs as root, checked from outside through /proc. */

static char base[64];
static char test_cgroup_parent[32];

static int setup(void **state)
{
	(void)state;
	snprintf(test_cgroup_parent, sizeof(test_cgroup_parent), "kfv-cpuset-test-%d", (int)getpid());
	snprintf(base, sizeof(base), "/tmp/kfv-cpuset-test-XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void get(const char *dir, const char *name, char *out, size_t len)
{
	assert_int_equal(jail_read_file(dir, name, out, len), 0);
	out[strcspn(out, "\n")] = '\0';
}

static void remove_tree(const char *dir)
{
	static const char *const files[] = { "cgroup.subtree_control", "cgroup.controllers", "cpuset.cpus",
					     "cpuset.mems", "cpuset.cpus.effective", "cpuset.effective_cpus" };
	char path[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int teardown(void **state)
{
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/parent", base);
	remove_tree(path);
	snprintf(path, sizeof(path), "%s/vm", base);
	remove_tree(path);
	remove_tree(base);
	assert_int_equal(rmdir(base) < 0 && errno == ENOENT, 1); /* anything else left is a leak */
	if (geteuid() == 0) {
		static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory",
						     "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu",
						     "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/cpuset" };

		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", roots[i], test_cgroup_parent);
			rmdir(path);
		}
	}
	return 0;
}

/* --- lists --- */

static void lists_format_and_parse(void **state)
{
	static const unsigned cpus[] = { 11, 3, 0, 1, 2, 8, 10, 3, 1023 };
	const unsigned big = CPU_SETSIZE;
	char out[64];
	cpu_set_t set;

	(void)state;
	assert_int_equal(jail_cpuset_format(cpus, sizeof(cpus) / sizeof(cpus[0]), out, sizeof(out)), 0);
	assert_string_equal(out, "0-3,8,10-11,1023");
	assert_int_equal(jail_cpuset_format(cpus, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "11");
	assert_int_equal(jail_cpuset_format(cpus, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(jail_cpuset_format(&big, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(jail_cpuset_format(cpus, 6, out, 4), -ENOSPC); /* "0-3," does not fit */

	assert_int_equal(jail_cpuset_parse("0-3,8,10-11,1023\n", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 8);
	assert_true(CPU_ISSET(0, &set) && CPU_ISSET(3, &set) && CPU_ISSET(8, &set) && CPU_ISSET(1023, &set));
	assert_false(CPU_ISSET(4, &set) || CPU_ISSET(9, &set) || CPU_ISSET(12, &set));
	assert_int_equal(jail_cpuset_parse("\n", &set), 0); /* what an empty cpuset reads as */
	assert_int_equal(CPU_COUNT(&set), 0);
	assert_int_equal(jail_cpuset_parse("3-1", &set), -EINVAL);
	assert_int_equal(jail_cpuset_parse("1-", &set), -EINVAL);
	assert_int_equal(jail_cpuset_parse("0,x", &set), -EINVAL);
	assert_int_equal(jail_cpuset_parse("1024", &set), -EINVAL);
}

static void dedicated_plus_own_affinity(void **state)
{
	const unsigned dedicated[] = { 1000 }, bad[] = { CPU_SETSIZE };
	unsigned out[CPU_SETSIZE];
	cpu_set_t mine;
	int n;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	/* 1000 is in nobody's mask here: it must be added, the rest kept. */
	assert_false(CPU_ISSET(1000, &mine));
	n = jail_cpuset_for_dedicated(dedicated, 1, out, CPU_SETSIZE);
	assert_int_equal(n, CPU_COUNT(&mine) + 1);
	for (int i = 0; i < n; i++) {
		assert_true(out[i] == 1000 || CPU_ISSET(out[i], &mine));
		if (i)
			assert_true(out[i] > out[i - 1]); /* sorted, no repeats */
	}
	assert_int_equal(out[n - 1], 1000);
	/* A dedicated CPU already in the mask is not counted twice. */
	assert_int_equal(jail_cpuset_for_dedicated(out, 1, out, CPU_SETSIZE), CPU_COUNT(&mine));
	assert_int_equal(jail_cpuset_for_dedicated(bad, 1, out, CPU_SETSIZE), -EINVAL);
	assert_int_equal(jail_cpuset_for_dedicated(dedicated, 1, out, (unsigned)CPU_COUNT(&mine)), -EINVAL);
}

/* --- the file steps, on plain directories --- */

static void v2_enables_the_controller_once(void **state)
{
	char buf[64];

	(void)state;
	put(base, "cgroup.subtree_control", "");
	assert_int_equal(jail_cpuset_enable_v2(base), 0);
	get(base, "cgroup.subtree_control", buf, sizeof(buf));
	assert_string_equal(buf, "+cpuset");
	/* Already on (the kernel lists it without the '+'): nothing written. */
	put(base, "cgroup.subtree_control", "cpu cpuset memory\n");
	assert_int_equal(jail_cpuset_enable_v2(base), 0);
	get(base, "cgroup.subtree_control", buf, sizeof(buf));
	assert_string_equal(buf, "cpu cpuset memory");
	/* "cpusetx" is not "cpuset". */
	put(base, "cgroup.subtree_control", "cpusetx\n");
	assert_int_equal(jail_cpuset_enable_v2(base), 0);
	get(base, "cgroup.subtree_control", buf, sizeof(buf));
	assert_non_null(strstr(buf, "+cpuset"));
}

static void v1_copies_what_its_parent_has(void **state)
{
	char parent[128], vm[128], buf[64];

	(void)state;
	snprintf(parent, sizeof(parent), "%s/parent", base);
	snprintf(vm, sizeof(vm), "%s/vm", base);
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(vm, 0700), 0);
	put(parent, "cpuset.mems", "0-1\n");
	put(parent, "cpuset.cpus", "0-7\n");
	put(vm, "cpuset.mems", "\n"); /* a new v1 cpuset: no memory node yet */
	put(vm, "cpuset.cpus", "5\n");
	assert_int_equal(jail_cpuset_copy_if_empty(vm, parent, "cpuset.mems"), 0);
	get(vm, "cpuset.mems", buf, sizeof(buf));
	assert_string_equal(buf, "0-1");
	assert_int_equal(jail_cpuset_copy_if_empty(vm, parent, "cpuset.cpus"), 0);
	get(vm, "cpuset.cpus", buf, sizeof(buf));
	assert_string_equal(buf, "5"); /* set already: left alone */
	put(parent, "cpuset.cpus", "");
	put(vm, "cpuset.cpus", "");
	assert_int_equal(jail_cpuset_copy_if_empty(vm, parent, "cpuset.cpus"), -ENOSPC);
	assert_int_equal(jail_cpuset_copy_if_empty(vm, parent, "no-such-file"), -ENOENT);
}

static void apply_checks_what_the_kernel_grants(void **state)
{
	const char *file = NULL;
	char buf[64];

	(void)state;
	put(base, "cpuset.cpus", "");
	put(base, "cpuset.cpus.effective", "0-3\n");
	assert_int_equal(jail_cpuset_apply(base, "1,3", "cpuset.cpus.effective", &file), 0);
	get(base, "cpuset.cpus", buf, sizeof(buf));
	assert_string_equal(buf, "1,3");
	/* The parent grants only 0-1: CPU 3 would be missing. */
	put(base, "cpuset.cpus", "");
	put(base, "cpuset.cpus.effective", "0-1\n");
	assert_int_equal(jail_cpuset_apply(base, "1,3", "cpuset.cpus.effective", &file), -ERANGE);
	assert_string_equal(file, "cpuset.cpus.effective");
	/* A kernel without the file: the write is all there is. */
	assert_int_equal(jail_cpuset_apply(base, "2", "cpuset.effective_cpus", &file), 0);
	assert_int_equal(jail_cpuset_apply(base, "2-", "cpuset.cpus.effective", &file), -EINVAL);
	assert_string_equal(file, "cpuset.cpus");
}

/* --- the whole path --- */

static struct jail_config config(const char *vm_id, const char *cgroup_root, const unsigned *cpus, unsigned n)
{
	return (struct jail_config){
		.uid = JAIL_UID_BASE, .gid = JAIL_UID_BASE, .chroot_base = base, .vm_id = vm_id,
		.guest_memory_bytes = 0, .ncpus = 1, .max_fds = 16, .cgroup_root = cgroup_root,
		.cgroup_parent = test_cgroup_parent, .allow_degraded = true, .cpuset = cpus, .ncpuset = n,
	};
}

static void no_cgroup_no_cpuset(void **state)
{
	const unsigned cpus[] = { 0 };
	struct jail_config c = config("nocg", base, cpus, 1);
	struct jail j;
	struct jail_error err;

	(void)state;
	assert_int_equal(jail_prepare(&c, &j, &err), 0);
	assert_int_equal(j.degraded, JAIL_DEGRADED_CGROUP | JAIL_DEGRADED_CPUSET);
	assert_non_null(strstr(j.degraded_msg, "no cpuset (CPUs 0): no cgroup"));
	assert_string_equal(j.cg.cpuset, "");
	assert_int_equal(jail_cleanup(&j, &err), 0);

	c.cpuset = NULL; /* not asked for: not reported */
	assert_int_equal(jail_prepare(&c, &j, &err), 0);
	assert_int_equal(j.degraded, JAIL_DEGRADED_CGROUP);
	assert_int_equal(jail_cleanup(&j, &err), 0);
}

static int joiner(void *arg)
{
	const struct jail *j = arg;
	struct jail_error err;

	if (jail_child_start(j, &err))
		return 1;
	for (;;)
		pause();
}

static void status_line(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[512];
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(f);
}

/* The last CPU kfv may use: a cpuset of it alone differs from the host's
 * whole set on any machine with two CPUs. */
static unsigned last_cpu(void)
{
	cpu_set_t mine;
	unsigned last = 0;

	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (unsigned c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &mine))
			last = c;
	return last;
}

static void cpuset_confines_the_vmm(void **state)
{
	unsigned cpus[1] = { last_cpu() };
	char vm_id[32], want[16], buf[JAIL_CPUSET_LIST_MAX], dir[JAIL_PATH_MAX];
	struct jail_config c;
	struct jail j;
	struct jail_error err;
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(vm_id, sizeof(vm_id), "cpuset-%d", (int)getpid());
	snprintf(want, sizeof(want), "%u", cpus[0]);
	c = config(vm_id, NULL, cpus, 1);
	c.guest_memory_bytes = 2 << 20;
	c.allow_degraded = false; /* the cgroup itself must be there; the cpuset may not */
	if (jail_prepare(&c, &j, &err))
		fail_msg("jail_prepare: %s", err.msg);
	if (j.degraded & JAIL_DEGRADED_CPUSET) {
		/* Degraded, never failed, and said why. */
		assert_non_null(strstr(j.degraded_msg, "no cpuset (CPUs "));
		assert_string_equal(j.cg.cpuset, "");
		print_message("# no cpuset on this host: %s\n", j.degraded_msg);
		assert_int_equal(jail_cleanup(&j, &err), 0);
		skip();
	}
	assert_int_equal(j.degraded, 0);
	assert_true(j.cg.cpuset[0] == '/');
	snprintf(dir, sizeof(dir), "%s", j.cg.cpuset);
	print_message("# cpuset %s at %s\n", want, dir);
	get(dir, "cpuset.cpus", buf, sizeof(buf));
	assert_string_equal(buf, want);

	pid = jail_spawn(joiner, &j, 0);
	assert_true(pid > 0);
	/* Joining the cpuset is what narrows the child: from outside, its
	 * allowed CPUs become the cpuset's. */
	for (int i = 0; i < 200; i++) {
		status_line(pid, "Cpus_allowed_list", buf, sizeof(buf));
		if (!strcmp(buf, want))
			break;
		usleep(10000);
	}
	assert_string_equal(buf, want);
	if (jail_cleanup(&j, &err))
		fail_msg("jail_cleanup: %s", err.msg);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(access(dir, F_OK) < 0 && errno == ENOENT, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lists_format_and_parse),
		cmocka_unit_test(dedicated_plus_own_affinity),
		cmocka_unit_test_setup_teardown(v2_enables_the_controller_once, setup, teardown),
		cmocka_unit_test_setup_teardown(v1_copies_what_its_parent_has, setup, teardown),
		cmocka_unit_test_setup_teardown(apply_checks_what_the_kernel_grants, setup, teardown),
		cmocka_unit_test_setup_teardown(no_cgroup_no_cpuset, setup, teardown),
		cmocka_unit_test_setup_teardown(cpuset_confines_the_vmm, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
