#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sandbox/jail.h"
#include "sandbox/seccomp.h"

/* Steps that need root are skipped without it. The jailed children report
 * what they see from inside through a pipe; the parent checks the rest from
 * outside through /proc and cgroupfs, as the guard will. */

/* Not the real parent, so that the tests leave nothing in the host's tree,
 * and one per process, so that two runs at once do not meet. */
static char test_cgroup_parent[32];
#define TEST_CGROUP_PARENT ((const char *)test_cgroup_parent)

/* A VM id no other test run uses at the same time. */
static const char *vm_name(const char *what)
{
	static char id[8][48];
	static unsigned next;
	char *out = id[next++ % 8];

	snprintf(out, sizeof(id[0]), "%s-%d", what, (int)getpid());
	return out;
}

static char base[64];   /* a fresh chroot base per test */
static char uiddir[96]; /* and a uid lock directory inside it */

static int setup(void **state)
{
	(void)state;
	snprintf(test_cgroup_parent, sizeof(test_cgroup_parent), "kfv-test-%d", (int)getpid());
	snprintf(base, sizeof(base), "/tmp/kfv-jail-test-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(uiddir, sizeof(uiddir), "%s/uids", base);
	return 0;
}

static int teardown(void **state)
{
	DIR *d;
	struct dirent *e;
	char path[sizeof(uiddir) + sizeof(e->d_name) + 1];

	(void)state;
	d = opendir(uiddir);
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", uiddir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(uiddir);
	assert_int_equal(rmdir(base), 0); /* anything else left is a leak of the jail */
	if (geteuid() == 0) {
		static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory",
						     "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu",
						     "/sys/fs/cgroup/freezer" };

		for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", roots[i], TEST_CGROUP_PARENT);
			rmdir(path);
		}
	}
	return 0;
}

static void skip_unless_root(void)
{
	if (geteuid() != 0)
		skip();
}

static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	return syscall(SYS_capget, &h, d) == 0 && (d[cap / 32].effective & (1u << (cap % 32)));
}

/* A config that needs no root: no cgroup (base is not cgroupfs), degraded. */
static struct jail_config plain_config(const char *vm_id)
{
	return (struct jail_config){
		.uid = JAIL_UID_BASE, .gid = JAIL_UID_BASE, .chroot_base = base, .vm_id = vm_id,
		.guest_memory_bytes = 2 << 20, .ncpus = 2, .max_fds = 16, .cgroup_root = base,
		.allow_degraded = true,
	};
}

static bool gone(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 && errno == ENOENT;
}

/* --- uid leases --- */

static void uid_leases_are_exclusive(void **state)
{
	uid_t a, b, c, again;
	int fa, fb, fc;

	(void)state;
	fa = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 2, &a);
	fb = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 2, &b);
	assert_true(fa >= 0 && fb >= 0);
	assert_int_not_equal(a, b);
	assert_true(a >= JAIL_UID_BASE && a < JAIL_UID_BASE + 2 && b >= JAIL_UID_BASE && b < JAIL_UID_BASE + 2);
	/* The lock holds within one process too: each lease is its own open file. */
	fc = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 2, &c);
	assert_int_equal(fc, -EAGAIN);

	jail_release_uid(uiddir, a, fa);
	fc = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 2, &again);
	assert_true(fc >= 0);
	assert_int_equal(again, a);
	jail_release_uid(uiddir, again, fc);
	jail_release_uid(uiddir, b, fb);

	assert_int_equal(jail_alloc_uid_at(uiddir, 0, 10, &c), -EINVAL);
	assert_int_equal(jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 0, &c), -EINVAL);
	assert_int_equal(jail_alloc_uid_at(uiddir, 0xfffffff0u, 0x20, &c), -EINVAL);
	assert_int_equal(jail_alloc_uid_at("relative", JAIL_UID_BASE, 1, &c), -EINVAL);
}

static void uid_lease_outlives_the_supervisor_in_the_child(void **state)
{
	int go[2], fd, again;
	uid_t uid, other;
	pid_t pid;
	char ch = 0;

	(void)state;
	fd = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 1, &uid);
	assert_true(fd >= 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	if (pid == 0) { /* the "VMM": keeps its copy of the lock fd */
		close(go[1]);
		(void)!read(go[0], &ch, 1);
		_exit(0);
	}
	close(go[0]);
	close(fd); /* the supervisor lets go, as if it had crashed */
	assert_int_equal(jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 1, &other), -EAGAIN);
	close(go[1]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	again = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, 1, &other);
	assert_true(again >= 0);
	assert_int_equal(other, uid);
	jail_release_uid(uiddir, other, again);
}

/* --- supervisor-side checks that need no root --- */

static void prepare_validates_config(void **state)
{
	static const char *const bad_ids[] = { "", ".hidden", "a/b", "..", "sp ace", "x\n" };
	struct jail_config c;
	struct jail j;
	struct jail_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		c = plain_config(bad_ids[i]);
		assert_int_equal(jail_prepare(&c, &j, &err), -EINVAL);
		assert_string_equal(err.step, "config");
	}
	c = plain_config("ok");
	c.uid = 0;
	assert_int_equal(jail_prepare(&c, &j, &err), -EINVAL);
	c = plain_config("ok");
	c.ncpus = 0;
	assert_int_equal(jail_prepare(&c, &j, &err), -EINVAL);
	c = plain_config("ok");
	c.max_fds = 3;
	assert_int_equal(jail_prepare(&c, &j, &err), -EINVAL);
	c = plain_config("ok");
	c.chroot_base = "relative/base";
	assert_int_equal(jail_prepare(&c, &j, &err), -EINVAL);
	c = plain_config("ok");
	c.cgroup_parent = "../escape";
	assert_int_equal(jail_prepare(&c, &j, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "config: "));
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/ok", base);
		assert_true(gone(p)); /* validation fails before anything is made */
	}
}

static void cgroup_needs_degraded_mode(void **state)
{
	struct jail_config c = plain_config("nocg");
	struct jail j;
	struct jail_error err;
	struct statfs sf;
	char dir[128];

	(void)state;
	c.allow_degraded = false;
	c.guest_memory_bytes = 0; /* keep RLIMIT_MEMLOCK out of this test */
	assert_int_not_equal(jail_prepare(&c, &j, &err), 0);
	assert_string_equal(err.step, "cgroup");
	assert_non_null(strstr(err.msg, "degraded"));
	snprintf(dir, sizeof(dir), "%s/nocg", base);
	assert_true(gone(dir)); /* the root directory made before is undone */

	c.allow_degraded = true;
	assert_int_equal(jail_prepare(&c, &j, &err), 0);
	assert_true(j.degraded & JAIL_DEGRADED_CGROUP);
	assert_int_equal(j.cg.kind, JAIL_CGROUP_NONE);
	assert_non_null(strstr(j.degraded_msg, "no cgroup"));
	assert_int_equal(jail_freeze(&j, true), -EOPNOTSUPP);
	assert_int_equal(jail_kill_all(&j), -EOPNOTSUPP);
	assert_int_equal(jail_cleanup(&j, &err), 0);
	assert_true(gone(dir));
	assert_int_equal(jail_cleanup(&j, &err), 0); /* idempotent */

	/* A hybrid host's v2 hierarchy without the controllers is named as such. */
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == 0x63677270) {
		char list[256] = "";
		FILE *f = fopen("/sys/fs/cgroup/unified/cgroup.controllers", "r");

		if (f) {
			(void)!fgets(list, sizeof(list), f);
			fclose(f);
		}
		if (!strstr(list, "memory")) {
			c.allow_degraded = false;
			c.cgroup_root = "/sys/fs/cgroup/unified";
			assert_int_not_equal(jail_prepare(&c, &j, &err), 0);
			assert_non_null(strstr(err.msg, "lacks the memory controller"));
		}
	}
}

static void existing_vm_dir_is_refused(void **state)
{
	struct jail_config c = plain_config("twice");
	struct jail j1, j2;
	struct jail_error err;

	(void)state;
	assert_int_equal(jail_prepare(&c, &j1, &err), 0);
	assert_int_equal(jail_prepare(&c, &j2, &err), -EEXIST);
	assert_string_equal(err.step, "root directory");
	assert_int_equal(jail_cleanup(&j2, &err), 0); /* must not remove j1's */
	assert_false(gone(j1.root));
	assert_int_equal(jail_cleanup(&j1, &err), 0);
}

static void memlock_limit_follows_capabilities(void **state)
{
	struct jail_config c = plain_config(vm_name("memlock"));
	struct rlimit rl;
	struct jail j;
	struct jail_error err;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	c.guest_memory_bytes = 1ull << 40; /* above any hard limit a test host sets */
	assert_int_equal(jail_prepare(&c, &j, &err), 0);
	if (have_cap(CAP_SYS_RESOURCE) || rl.rlim_max == RLIM_INFINITY)
		assert_int_equal(j.memlock_limit, c.guest_memory_bytes + JAIL_MEMLOCK_SLACK);
	else /* cannot raise it: the lower hard limit stays, which is stricter */
		assert_int_equal(j.memlock_limit, rl.rlim_max);
	assert_int_equal(j.degraded, JAIL_DEGRADED_CGROUP); /* plain_config has no cgroup; nothing else */
	assert_int_equal(jail_cleanup(&j, &err), 0);
}

static int enter_in_plain_child(void *arg)
{
	struct jail_error err;

	return jail_enter(arg, &err) == -EINVAL && !strcmp(err.step, "pid namespace") ? 0 : 1;
}

static void enter_requires_spawn(void **state)
{
	struct jail_config c = plain_config("nospawn");
	struct jail j;
	struct jail_error err;
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(jail_prepare(&c, &j, &err), 0);
	pid = fork();
	if (pid == 0)
		_exit(enter_in_plain_child(&j));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(jail_cleanup(&j, &err), 0);
}

/* --- jail_spawn --- */

static int report_pid(void *arg)
{
	sigset_t mask;

	(void)arg;
	/* PID 1, born with the stop signals blocked */
	if (sigprocmask(SIG_BLOCK, NULL, &mask) || !sigismember(&mask, SIGTERM) || !sigismember(&mask, SIGINT))
		return 2;
	return getpid() == 1 ? 0 : 1;
}

static ino_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void spawn_gives_a_pid_namespace(void **state)
{
	int status;
	pid_t pid, plain;

	(void)state;
	skip_unless_root();
	pid = jail_spawn(report_pid, NULL, 0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The supervisor's next plain child is back in our namespace. */
	assert_int_equal(ns_inode(0, "pid_for_children"), ns_inode(0, "pid"));
	plain = fork();
	if (plain == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(ns_inode(plain, "pid"), ns_inode(0, "pid"));
	kill(plain, SIGKILL);
	waitpid(plain, NULL, 0);
	assert_int_equal(jail_spawn(report_pid, NULL, CLONE_THREAD), -EINVAL);
}

/* --- the whole jail, as root --- */

struct inside {
	int enter;
	char msg[320];
	uid_t r, e, s;
	gid_t rg, eg, sg;
	int ngroups, nnp, seccomp, dumpable, pid;
	uint32_t cap_eff, cap_prm, cap_inh, cap_bnd_any;
	int root_entries;
	int passwd_errno, mkdir_errno, stray_fd_errno;
	bool root_ro, root_noexec;
	struct rlimit nofile, nproc, core, memlock;
	char hostname[64];
};

struct child_ctx {
	const struct jail *j;
	int result_fd, go_fd, stray_fd;
};

static void look_around(const struct child_ctx *ctx, struct inside *in)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 }, { 0 } };
	struct statvfs sv;
	struct dirent *e;
	DIR *dir;

	getresuid(&in->r, &in->e, &in->s);
	getresgid(&in->rg, &in->eg, &in->sg);
	in->ngroups = getgroups(0, NULL);
	in->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	in->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	in->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	in->pid = getpid();
	syscall(SYS_capget, &h, d);
	in->cap_eff = d[0].effective | d[1].effective;
	in->cap_prm = d[0].permitted | d[1].permitted;
	in->cap_inh = d[0].inheritable | d[1].inheritable;
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			in->cap_bnd_any = 1;
	dir = opendir("/");
	in->root_entries = dir ? 0 : -1;
	while (dir && (e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			in->root_entries++;
	if (dir)
		closedir(dir);
	in->passwd_errno = open("/etc/passwd", O_RDONLY) < 0 ? errno : 0;
	in->mkdir_errno = mkdir("/new", 0700) < 0 ? errno : 0;
	in->stray_fd_errno = fcntl(ctx->stray_fd, F_GETFD) < 0 ? errno : 0;
	in->root_ro = statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY);
	in->root_noexec = statvfs("/", &sv) == 0 && (sv.f_flag & ST_NOEXEC);
	getrlimit(RLIMIT_NOFILE, &in->nofile);
	getrlimit(RLIMIT_NPROC, &in->nproc);
	getrlimit(RLIMIT_CORE, &in->core);
	getrlimit(RLIMIT_MEMLOCK, &in->memlock);
	gethostname(in->hostname, sizeof(in->hostname) - 1);
}

static int jailed_child(void *arg)
{
	const struct child_ctx *ctx = arg;
	struct inside in;
	struct jail_error err;
	char go;

	memset(&in, 0, sizeof(in));
	in.enter = jail_child_start(ctx->j, &err);
	if (!in.enter)
		in.enter = jail_enter(ctx->j, &err);
	snprintf(in.msg, sizeof(in.msg), "%s", err.msg);
	if (!in.enter)
		look_around(ctx, &in);
	if (write(ctx->result_fd, &in, sizeof(in)) != (ssize_t)sizeof(in))
		return 2;
	/* Stay alive while the parent looks at us from outside. */
	if (read(ctx->go_fd, &go, 1) != 1)
		return 3;
	/* The VMM's next step works from inside the jail: no /proc, no
	 * files, no capabilities. */
	in.enter = seccomp_roles_prepare();
	if (!in.enter)
		in.enter = seccomp_install_role(ROLE_VMM_MAIN);
	if (write(ctx->result_fd, &in.enter, sizeof(in.enter)) != (ssize_t)sizeof(in.enter))
		return 4;
	return read(ctx->go_fd, &go, 1) == 1 ? 0 : 5;
}

static void status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
			snprintf(out, len, "%s", line + strlen(key) + 1);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	fclose(f);
}

static void expect_status(pid_t pid, const char *key, const char *want)
{
	char got[128];
	const char *p;

	status_field(pid, key, got, sizeof(got));
	for (p = got; *p == '\t' || *p == ' '; p++)
		;
	if (strcmp(p, want))
		fail_msg("/proc/%d/status %s: \"%s\", want \"%s\"", (int)pid, key, p, want);
}

static void read_cg(const char *dir, const char *file, char *out, size_t len)
{
	char path[640];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	(void)!fgets(out, (int)len, f);
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static void check_from_outside(const struct jail *j, pid_t pid, uid_t uid)
{
	static const char *const spaces[] = { "mnt", "ipc", "uts", "net", "pid", "cgroup" };
	char want[64], buf[128], cgpath[4096] = "", vm_suffix[96];
	FILE *f;
	size_t n;

	expect_status(pid, "NoNewPrivs", "1");
	expect_status(pid, "Seccomp", "0");
	expect_status(pid, "CapEff", "0000000000000000");
	expect_status(pid, "CapPrm", "0000000000000000");
	expect_status(pid, "CapInh", "0000000000000000");
	expect_status(pid, "CapBnd", "0000000000000000");
	expect_status(pid, "CapAmb", "0000000000000000");
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	expect_status(pid, "Uid", want);
	expect_status(pid, "Gid", want);
	for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
		if (ns_inode(pid, spaces[i]) == ns_inode(0, spaces[i]))
			fail_msg("the jailed child shares our %s namespace", spaces[i]);

	/* In the VM's cgroup, with its limits. */
	snprintf(buf, sizeof(buf), "/proc/%d/cgroup", (int)pid);
	f = fopen(buf, "r");
	assert_non_null(f);
	n = fread(cgpath, 1, sizeof(cgpath) - 1, f);
	cgpath[n] = '\0';
	fclose(f);
	snprintf(vm_suffix, sizeof(vm_suffix), "/%s/%s\n", TEST_CGROUP_PARENT, j->cfg.vm_id);
	if (!strstr(cgpath, vm_suffix))
		fail_msg("not in the VM's cgroup: %s", cgpath);
	if (j->cg.kind == JAIL_CGROUP_V1) {
		read_cg(j->cg.path[JAIL_CG_MEMORY], "memory.limit_in_bytes", buf, sizeof(buf));
		assert_int_equal(strtoull(buf, NULL, 10), j->memory_limit);
		read_cg(j->cg.path[JAIL_CG_CPU], "cpu.cfs_quota_us", buf, sizeof(buf));
		assert_int_equal(strtoull(buf, NULL, 10), 100000ull * (j->cfg.ncpus + JAIL_IO_CPUS));
	} else {
		read_cg(j->cg.path[JAIL_CG_MEMORY], "memory.max", buf, sizeof(buf));
		assert_int_equal(strtoull(buf, NULL, 10), j->memory_limit);
		read_cg(j->cg.path[JAIL_CG_CPU], "cpu.max", buf, sizeof(buf));
		snprintf(want, sizeof(want), "%llu 100000", 100000ull * (j->cfg.ncpus + JAIL_IO_CPUS));
		assert_string_equal(buf, want);
	}
	read_cg(j->cg.path[JAIL_CG_PIDS], "pids.max", buf, sizeof(buf));
	assert_int_equal(strtoul(buf, NULL, 10), j->max_tasks);
}

static void check_from_inside(const struct inside *in, const struct jail *j, uid_t uid)
{
	if (in->enter)
		fail_msg("jail_enter: %d %s", in->enter, in->msg);
	assert_int_equal(in->pid, 1);
	assert_true(in->r == uid && in->e == uid && in->s == uid);
	assert_true(in->rg == uid && in->eg == uid && in->sg == uid);
	assert_int_equal(in->ngroups, 0);
	assert_int_equal(in->nnp, 1);
	assert_int_equal(in->seccomp, 0); /* no filter yet: that is the VMM's next step */
	assert_int_equal(in->dumpable, 0);
	assert_int_equal(in->cap_eff, 0);
	assert_int_equal(in->cap_prm, 0);
	assert_int_equal(in->cap_inh, 0);
	assert_int_equal(in->cap_bnd_any, 0);
	assert_int_equal(in->root_entries, 0);
	assert_int_equal(in->passwd_errno, ENOENT);
	assert_int_not_equal(in->mkdir_errno, 0);
	assert_int_equal(in->stray_fd_errno, EBADF);
	assert_true(in->root_ro && in->root_noexec);
	assert_int_equal(in->nofile.rlim_cur, j->cfg.max_fds);
	assert_int_equal(in->nofile.rlim_max, j->cfg.max_fds);
	assert_int_equal(in->nproc.rlim_max, j->max_tasks);
	assert_int_equal(in->core.rlim_max, 0);
	assert_int_equal(in->memlock.rlim_max, j->memlock_limit);
	assert_string_equal(in->hostname, "kfv");
}

static void full_jail(void **state)
{
	struct jail_config c;
	struct jail j;
	struct jail_error err;
	struct child_ctx ctx;
	struct inside in;
	char vm_id[32], cg_paths[JAIL_CG_COUNT][JAIL_PATH_MAX], root[JAIL_PATH_MAX], dir[JAIL_PATH_MAX];
	int result[2], go[2], keep[2], stray, lock, status;
	uid_t uid;
	pid_t pid;

	(void)state;
	skip_unless_root();
	lock = jail_alloc_uid_at(uiddir, JAIL_UID_BASE, JAIL_UID_RANGE, &uid);
	assert_true(lock >= 0);
	assert_int_equal(pipe2(result, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	stray = open("/", O_RDONLY | O_DIRECTORY); /* a way out, if it leaked in */
	assert_true(stray >= 0);
	keep[0] = result[1];
	keep[1] = go[0];
	snprintf(vm_id, sizeof(vm_id), "test-%d", (int)getpid());
	c = (struct jail_config){
		.uid = uid, .gid = uid, .chroot_base = base, .vm_id = vm_id, .guest_memory_bytes = 2 << 20,
		.ncpus = 2, .max_fds = 16, .keep_fds = keep, .nkeep_fds = 2, .cgroup_parent = TEST_CGROUP_PARENT,
	};
	if (jail_prepare(&c, &j, &err))
		fail_msg("jail_prepare: %s", err.msg);
	assert_int_equal(j.degraded, 0);
	memcpy(cg_paths, j.cg.path, sizeof(cg_paths));
	snprintf(root, sizeof(root), "%s", j.root);
	snprintf(dir, sizeof(dir), "%s", j.dir);

	ctx = (struct child_ctx){ .j = &j, .result_fd = result[1], .go_fd = go[0], .stray_fd = stray };
	pid = jail_spawn(jailed_child, &ctx, 0);
	assert_true(pid > 0);
	close(result[1]);
	close(go[0]);
	close(stray);
	memset(&in, 0, sizeof(in));
	assert_int_equal(read(result[0], &in, sizeof(in)), sizeof(in));
	check_from_inside(&in, &j, uid);
	check_from_outside(&j, pid, uid);

	/* The orchestrator's levers work on it. */
	assert_int_equal(jail_freeze(&j, true), 0);
	assert_int_equal(jail_freeze(&j, false), 0);
	assert_int_equal(jail_set_cpu_limit(&j, 50000, 100000), 0);

	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(result[0], &in.enter, sizeof(in.enter)), sizeof(in.enter));
	assert_int_equal(in.enter, 0);
	expect_status(pid, "Seccomp", "2");
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(go[1]);
	close(result[0]);

	if (jail_cleanup(&j, &err))
		fail_msg("jail_cleanup: %s", err.msg);
	assert_true(gone(root) && gone(dir));
	for (int i = 0; i < JAIL_CG_COUNT; i++)
		if (!gone(cg_paths[i]))
			fail_msg("cgroup %s is still there", cg_paths[i]);
	jail_release_uid(uiddir, uid, lock);
}

static int enter_with_dir_fd(void *arg)
{
	const struct jail *j = arg;
	struct jail_error err;
	int dir;

	if (jail_child_start(j, &err))
		return 1;
	dir = open("/", O_RDONLY | O_DIRECTORY); /* opened by the VMM itself, by mistake */
	if (dir < 0)
		return 2;
	return jail_enter(j, &err) == -EISDIR && !strcmp(err.step, "fds") ? 0 : 3;
}

static void enter_refuses_directory_fds(void **state)
{
	struct jail_config c = plain_config("dirfd");
	struct jail j;
	struct jail_error err;
	int status;
	pid_t pid;

	(void)state;
	skip_unless_root();
	assert_int_equal(jail_prepare(&c, &j, &err), 0);
	pid = jail_spawn(enter_with_dir_fd, &j, 0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(jail_cleanup(&j, &err), 0);
}

static int sleeper(void *arg)
{
	const struct jail *j = arg;
	struct jail_error err;

	if (jail_child_start(j, &err))
		return 1;
	for (;;)
		pause();
}

static void wait_until_joined(const struct jail *j)
{
	for (int i = 0; i < 200; i++) {
		char path[640], buf[64] = "";
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", j->cg.path[JAIL_CG_MEMORY]);
		f = fopen(path, "r");
		if (f) {
			(void)!fgets(buf, sizeof(buf), f);
			fclose(f);
		}
		if (buf[0])
			return;
		usleep(10000);
	}
	fail_msg("the child never joined its cgroup");
}

static void cleanup_kills_leftovers(void **state)
{
	struct jail_config c;
	struct jail j;
	struct jail_error err;
	int status;
	pid_t pid;

	(void)state;
	skip_unless_root();
	c = (struct jail_config){
		.uid = JAIL_UID_BASE, .gid = JAIL_UID_BASE, .chroot_base = base, .vm_id = vm_name("leftover"),
		.guest_memory_bytes = 2 << 20, .ncpus = 1, .max_fds = 16, .cgroup_parent = TEST_CGROUP_PARENT,
	};
	if (jail_prepare(&c, &j, &err))
		fail_msg("jail_prepare: %s", err.msg);
	pid = jail_spawn(sleeper, &j, 0);
	assert_true(pid > 0);
	/* Once it has joined, freeze it: a frozen VM must die too. */
	wait_until_joined(&j);
	assert_int_equal(jail_freeze(&j, true), 0);
	if (jail_cleanup(&j, &err))
		fail_msg("jail_cleanup: %s", err.msg);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void stale_state_after_a_crash(void **state)
{
	struct jail_config c;
	struct jail j, lost;
	struct jail_error err;
	int status;
	pid_t pid;

	(void)state;
	skip_unless_root();
	c = (struct jail_config){
		.uid = JAIL_UID_BASE, .gid = JAIL_UID_BASE, .chroot_base = base, .vm_id = vm_name("crashed"),
		.guest_memory_bytes = 2 << 20, .ncpus = 1, .max_fds = 16, .cgroup_parent = TEST_CGROUP_PARENT,
	};
	if (jail_prepare(&c, &lost, &err))
		fail_msg("jail_prepare: %s", err.msg);
	/* The supervisor "crashes": its struct jail is gone, the VMM too. */
	assert_int_equal(jail_prepare(&c, &j, &err), -EEXIST);
	assert_int_equal(jail_remove_stale(&c, &err), 0);
	assert_true(gone(lost.root) && gone(lost.cg.path[JAIL_CG_MEMORY]));
	assert_int_equal(jail_remove_stale(&c, &err), 0); /* idempotent */

	/* A VM that still runs is left alone. */
	if (jail_prepare(&c, &j, &err))
		fail_msg("jail_prepare: %s", err.msg);
	pid = jail_spawn(sleeper, &j, 0);
	assert_true(pid > 0);
	wait_until_joined(&j);
	assert_int_equal(jail_remove_stale(&c, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "still running"));
	assert_false(gone(j.root));
	assert_int_equal(jail_cleanup(&j, &err), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* jail_sweep_stale(): a dead supervisor's VM (and one bearing our own PID)
 * goes, a live supervisor's stays. */
static void sweep_takes_only_dead_supervisors(void **state)
{
	char dead_id[32], live_id[32], own_id[32];
	struct jail dead, live, own;
	struct jail_config c;
	struct jail_error err;
	pid_t child;

	(void)state;
	skip_unless_root();
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	snprintf(dead_id, sizeof(dead_id), "vm-%d", (int)child);
	snprintf(live_id, sizeof(live_id), "vm-%d", (int)getppid());
	snprintf(own_id, sizeof(own_id), "vm-%d", (int)getpid());
	c = (struct jail_config){
		.uid = JAIL_UID_BASE, .gid = JAIL_UID_BASE, .chroot_base = base, .vm_id = dead_id,
		.guest_memory_bytes = 2 << 20, .ncpus = 1, .max_fds = 16, .cgroup_parent = TEST_CGROUP_PARENT,
	};
	if (jail_prepare(&c, &dead, &err))
		fail_msg("jail_prepare: %s", err.msg);
	c.vm_id = live_id;
	if (jail_prepare(&c, &live, &err))
		fail_msg("jail_prepare: %s", err.msg);
	c.vm_id = own_id;
	if (jail_prepare(&c, &own, &err))
		fail_msg("jail_prepare: %s", err.msg);

	assert_int_equal(jail_sweep_stale(&c), 2);
	assert_true(gone(dead.root) && gone(dead.cg.path[JAIL_CG_MEMORY]));
	assert_true(gone(own.root) && gone(own.cg.path[JAIL_CG_MEMORY]));
	assert_false(gone(live.root));
	assert_int_equal(jail_sweep_stale(&c), 0);
	assert_int_equal(jail_cleanup(&live, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(uid_leases_are_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(uid_lease_outlives_the_supervisor_in_the_child, setup, teardown),
		cmocka_unit_test_setup_teardown(prepare_validates_config, setup, teardown),
		cmocka_unit_test_setup_teardown(cgroup_needs_degraded_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(existing_vm_dir_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(memlock_limit_follows_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(enter_requires_spawn, setup, teardown),
		cmocka_unit_test_setup_teardown(spawn_gives_a_pid_namespace, setup, teardown),
		cmocka_unit_test_setup_teardown(full_jail, setup, teardown),
		cmocka_unit_test_setup_teardown(enter_refuses_directory_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(cleanup_kills_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_state_after_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(sweep_takes_only_dead_supervisors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
