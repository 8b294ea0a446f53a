#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guard_internal.h"

/* The environment checks: what the guard reads of the VMM through /proc,
 * without asking it. */

#define CODE_CHUNK (256u << 10)
#define LIB_BYTES_PER_CHECK (256u << 10) /* the libraries' code is walked round-robin */

static const char *const ns_names[NS_COUNT] = {
	[NS_PID] = "pid", [NS_MNT] = "mnt", [NS_NET] = "net", [NS_IPC] = "ipc",
	[NS_UTS] = "uts", [NS_CGROUP] = "cgroup", [NS_USER] = "user",
};

/* pread from offset 0 regenerates a /proc seq file; one call returns all
 * of a file made by a single show() (status, stat), so `once` saves the
 * read that would only see the end. */
static ssize_t gbuf_pread(struct gbuf *b, int fd, bool once)
{
	b->len = 0;
	for (;;) {
		ssize_t n;

		if (b->cap - b->len < 4096) {
			size_t cap = b->cap ? b->cap * 2 : 16384;
			char *p = realloc(b->p, cap);

			if (!p)
				return -ENOMEM;
			b->p = p;
			b->cap = cap;
		}
		n = pread(fd, b->p + b->len, b->cap - b->len - 1, (off_t)b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		b->len += (size_t)n;
		if (n == 0 || (once && b->len + 1 < b->cap))
			break;
	}
	b->p[b->len] = '\0';
	return (ssize_t)b->len;
}

ssize_t gbuf_read_fd(struct gbuf *b, int fd)
{
	return gbuf_pread(b, fd, false);
}

ssize_t gbuf_read_at(struct gbuf *b, int dirfd, const char *path, bool small)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = gbuf_pread(b, fd, small);
	close(fd);
	return n;
}

/* Entries of one getdents64 buffer: struct linux_dirent64 is ino (8),
 * off (8), reclen (2), type (1), name. */
static int parse_dents(const char *buf, long n, struct vec *out)
{
	for (long off = 0; off < n;) {
		unsigned short reclen;
		const char *name = buf + off + 19;
		char *end;
		long v;

		memcpy(&reclen, buf + off + 16, sizeof(reclen));
		off += reclen;
		v = strtol(name, &end, 10);
		if (end != name && !*end && v >= 0) {
			int i = (int)v;

			if (vec_push(out, &i))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The numeric entries of a /proc directory (tids, fds). */
static int list_numbers(int dirfd, struct vec *out)
{
	char buf[16384];

	out->n = 0;
	if (lseek(dirfd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		/* Room left for a longer entry than any here: that was all
		 * (saves the call that returns 0). */
		if (n + 300 < (long)sizeof(buf))
			return parse_dents(buf, n, out);
		if (parse_dents(buf, n, out))
			return -ENOMEM;
	}
}

static bool map_is(const struct guard_map *m, const struct file_id *id)
{
	return m->inode == id->inode && m->dev_major == id->major && m->dev_minor == id->minor;
}

static struct file_id map_id(const struct guard_map *m)
{
	return (struct file_id){ m->inode, m->dev_major, m->dev_minor };
}

/* The guard's own view, taken before anything of the VMM: which mapping is
 * the binary (the kernel's dev:inode for it, whatever the file system
 * reports to fstat), the code it maps, and the host's namespaces. */
static int open_own(struct guard *g)
{
	uintptr_t here = (uintptr_t)(void *)open_own;
	size_t pos = 0, len;
	const char *l;
	ssize_t n = gbuf_read_at(&g->scratch, AT_FDCWD, "/proc/self/maps", false);

	if (n < 0)
		return (int)n;
	while ((l = guard_next_line(g->scratch.p, g->scratch.len, &pos, &len))) {
		struct guard_map m;

		if (guard_parse_map_line(l, len, &m) || !guard_map_exec(&m))
			continue;
		if (here >= m.start && here < m.end)
			g->exe_id = map_id(&m);
		if (vec_push(&g->own_exec, &m))
			return -ENOMEM;
	}
	if (!g->exe_id.inode)
		return -ENOENT;
	for (int i = 0; i < NS_COUNT; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_names[i]);
		if (readlink(path, g->own_ns[i], sizeof(g->own_ns[i]) - 1) < 0)
			g->own_ns[i][0] = '\0';
	}
	return 0;
}

int env_open(struct guard *g)
{
	char path[32];

	g->fds = (struct vec)VEC(struct fd_entry);
	g->fds_prev = (struct vec)VEC(struct fd_entry);
	g->fds_base = (struct vec)VEC(struct fd_entry);
	g->threads_base = (struct vec)VEC(struct thread_entry);
	g->exec_now = (struct vec)VEC(struct guard_map);
	g->exec_base = (struct vec)VEC(struct guard_map);
	g->own_exec = (struct vec)VEC(struct guard_map);
	g->files_now = (struct vec)VEC(struct file_id);
	g->files_base = (struct vec)VEC(struct file_id);
	g->tids = (struct vec)VEC(int);
	g->tids_prev = (struct vec)VEC(int);
	if (open_own(g))
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d", (int)g->c.vmm_pid);
	g->procdir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->procdir < 0)
		return -errno;
	/* mem, maps and pagemap keep the address space they were opened on:
	 * the VMM never execs, so one open lasts its life. */
	g->memfd = openat(g->procdir, "mem", O_RDONLY | O_CLOEXEC);
	g->mapsfd = openat(g->procdir, "maps", O_RDONLY | O_CLOEXEC);
	g->smapsfd = openat(g->procdir, "smaps", O_RDONLY | O_CLOEXEC);
	g->pagemap = openat(g->procdir, "pagemap", O_RDONLY | O_CLOEXEC);
	g->fddir = openat(g->procdir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g->taskdir = openat(g->procdir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g->pidfd = (int)syscall(SYS_pidfd_open, g->c.vmm_pid, 0); /* -1 before 5.3: /proc is enough */
	if (g->memfd < 0 || g->mapsfd < 0 || g->smapsfd < 0 || g->pagemap < 0 || g->fddir < 0 || g->taskdir < 0)
		return -errno;
	return 0;
}

char env_vmm_state(struct guard *g)
{
	struct pollfd p = { g->pidfd, POLLIN, 0 };
	const char *s;
	char state;

	if (g->exiting || (g->pidfd >= 0 && poll(&p, 1, 0) > 0))
		return 0;
	if (gbuf_read_at(&g->scratch, g->procdir, "stat", true) < 0)
		return 0;
	/* "pid (comm) S ...": the state follows the last ')'. */
	s = strrchr(g->scratch.p, ')');
	if (!s || s[1] != ' ' || s[2] == 'Z' || s[2] == 'X')
		return 0;
	state = s[2];
	/* Exiting: the address space goes first, long before the zombie. */
	if (gbuf_read_fd(&g->scratch, g->mapsfd) <= 0) {
		g->exiting = true;
		return 0;
	}
	return state;
}

static void read_ns(struct guard *g, char ns[NS_COUNT][48])
{
	for (int i = 0; i < NS_COUNT; i++) {
		char path[16];
		ssize_t n;

		snprintf(path, sizeof(path), "ns/%s", ns_names[i]);
		n = readlinkat(g->procdir, path, ns[i], 47);
		ns[i][n > 0 ? n : 0] = '\0';
	}
}

static void check_namespaces(struct guard *g)
{
	char ns[NS_COUNT][48];

	read_ns(g, ns);
	for (int i = 0; i < NS_COUNT; i++) {
		if (!ns[i][0] && g->ns_base[i][0]) {
			g->exiting = true; /* a live process keeps its namespaces */
			return;
		}
	}
	g->checks++;
	for (int i = 0; i < NS_COUNT; i++) {
		if (strcmp(ns[i], g->ns_base[i]))
			guard_alarm(g, GUARD_NAMESPACES, "%s namespace changed from %s to %s", ns_names[i], g->ns_base[i], ns[i]);
		/* The jail's namespaces: everything but the user namespace. */
		else if (g->c.sandboxed && i != NS_USER && !strcmp(ns[i], g->own_ns[i]))
			guard_alarm(g, GUARD_NAMESPACES, "the VMM shares the host's %s namespace (%s)", ns_names[i], ns[i]);
	}
}

/* Takes the challenge baselines once the responder said hello: the VMM is
 * locked down by then, so its namespaces and seccomp mode are final. */
void env_hello(struct guard *g)
{
	struct guard_status st;

	read_ns(g, g->ns_base);
	g->expect_mode = 2;
	if (!g->c.sandboxed)
		g->expect_mode = gbuf_read_at(&g->scratch, g->procdir, "status", true) > 0 &&
					 !guard_parse_status(g->scratch.p, &st) ? (uint32_t)st.seccomp : 0;
}

/* The guest RAM memfd: by the identity the supervisor gave, else by name. */
static bool is_ram(const struct guard *g, const struct guard_map *m)
{
	bool named = strstr(m->path, "kfv-guest-ram") != NULL;

	if (!g->c.ram_ino)
		return named;
	return m->inode == g->c.ram_ino &&
	       (named || (m->dev_major == major(g->c.ram_dev) && m->dev_minor == minor(g->c.ram_dev)));
}

static void check_maps(struct guard *g)
{
	size_t pos = 0, len, matched = 0;
	const char *l;

	if (gbuf_read_fd(&g->maps, g->mapsfd) <= 0) {
		g->exiting = true; /* its address space is gone: the VMM is exiting */
		return;
	}
	g->checks++;
	g->exe_mapped = g->ram_found = false;
	g->exec_now.n = g->files_now.n = 0;
	while ((l = guard_next_line(g->maps.p, g->maps.len, &pos, &len))) {
		struct guard_map m;
		struct file_id id;
		bool known = false;

		if (guard_parse_map_line(l, len, &m))
			continue;
		id = map_id(&m);
		if (map_is(&m, &g->exe_id) && m.offset == (g->img.seg[0].offset & ~0xfffull) && !g->exe_mapped) {
			g->exe_base = m.start - (g->img.seg[0].vaddr & ~0xfffull);
			g->exe_mapped = true;
		}
		if (!g->ram_found && is_ram(g, &m)) {
			g->ram = m;
			g->ram_found = true;
		}
		if (guard_map_exec(&m) && guard_map_write(&m))
			guard_alarm(g, GUARD_MAPS, "writable and executable mapping %" PRIx64 "-%" PRIx64 " %s", m.start,
				    m.end, m.path);
		if (guard_map_exec(&m) && !m.inode && strcmp(m.path, "[vdso]") && strcmp(m.path, "[vsyscall]"))
			guard_alarm(g, GUARD_MAPS, "anonymous executable mapping %" PRIx64 "-%" PRIx64 " %s", m.start,
				    m.end, m.path);
		if (guard_map_exec(&m) && vec_push(&g->exec_now, &m))
			return;
		if (m.inode && vec_push(&g->files_now, &id))
			return;
		if (!g->armed)
			continue;
		if (guard_map_exec(&m)) {
			for (size_t i = 0; i < g->exec_base.n && !known; i++) {
				const struct guard_map *b = VEC_AT(&g->exec_base, struct guard_map, i);

				known = b->start == m.start && b->end == m.end && b->offset == m.offset &&
					map_is(&m, &(struct file_id){ b->inode, b->dev_major, b->dev_minor }) &&
					!strcmp(b->perms, m.perms);
			}
			matched += known;
			if (!known)
				guard_alarm(g, GUARD_MAPS, "new executable mapping %" PRIx64 "-%" PRIx64 " %s %s", m.start,
					    m.end, m.perms, m.path);
		}
		if (m.inode) {
			known = false;
			for (size_t i = 0; i < g->files_base.n && !known; i++) {
				const struct file_id *b = VEC_AT(&g->files_base, struct file_id, i);

				known = b->inode == id.inode && b->major == id.major && b->minor == id.minor;
			}
			if (!known)
				guard_alarm(g, GUARD_MAPS, "new file mapping %" PRIx64 "-%" PRIx64 " %s", m.start, m.end, m.path);
		}
	}
	if (g->armed && matched < g->exec_base.n)
		guard_alarm(g, GUARD_MAPS, "%zu of the executable mappings at the baseline are gone or moved",
			    g->exec_base.n - matched);
}

/* Compares len bytes of the VMM at addr with want. 0 same, 1 different
 * (*where set), -1 unreadable (the VMM is going away). */
static int compare_vmm(struct guard *g, uint64_t addr, const uint8_t *want, uint64_t len, uint64_t *where)
{
	static uint8_t buf[CODE_CHUNK];

	for (uint64_t off = 0; off < len;) {
		size_t n = len - off < CODE_CHUNK ? (size_t)(len - off) : CODE_CHUNK;
		ssize_t got = pread(g->memfd, buf, n, (off_t)(addr + off));

		if (got <= 0)
			return -1;
		if (memcmp(buf, want + off, (size_t)got)) {
			size_t i = 0;

			while (buf[i] == want[off + i])
				i++;
			*where = addr + off + i;
			return 1;
		}
		off += (uint64_t)got;
	}
	return 0;
}

/* The guard's own mapping of the same file part (the same library, or the
 * vDSO), which holds what the file does. */
static const struct guard_map *own_twin(struct guard *g, const struct guard_map *m)
{
	for (size_t i = 0; i < g->own_exec.n; i++) {
		const struct guard_map *o = VEC_AT(&g->own_exec, struct guard_map, i);

		if (o->end - o->start != m->end - m->start || o->perms[0] != 'r')
			continue;
		if (m->inode ? map_is(o, &(struct file_id){ m->inode, m->dev_major, m->dev_minor }) && o->offset == m->offset
			     : !strcmp(m->path, "[vdso]") && !strcmp(o->path, "[vdso]"))
			return o;
	}
	return NULL;
}

static void check_code(struct guard *g)
{
	uint64_t where, budget = LIB_BYTES_PER_CHECK, total = 0, at = 0;

	g->checks++;
	if (!g->exe_mapped) {
		guard_alarm(g, GUARD_CODE_PAGES, "the binary is not mapped where its code should be");
		return;
	}
	/* The VMM's own code and read-only data, every time. */
	for (unsigned i = 0; i < g->img.n; i++) {
		const struct guard_segment *s = &g->img.seg[i];
		int r = compare_vmm(g, g->exe_base + s->vaddr, s->data, s->size, &where);

		if (r > 0)
			guard_alarm(g, GUARD_CODE_PAGES, "byte at %#" PRIx64 " (binary offset %#" PRIx64 ") differs from the file",
				    where, s->offset + (where - g->exe_base - s->vaddr));
		if (r)
			return;
	}
	/* Libraries and the vDSO, a slice per period. */
	for (size_t i = 0; i < g->exec_now.n; i++) {
		const struct guard_map *m = VEC_AT(&g->exec_now, struct guard_map, i);

		if (!map_is(m, &g->exe_id) && own_twin(g, m))
			total += m->end - m->start;
	}
	if (!total)
		return;
	g->lib_cursor %= total;
	for (size_t i = 0; i < g->exec_now.n && budget; i++) {
		const struct guard_map *m = VEC_AT(&g->exec_now, struct guard_map, i), *o;
		uint64_t size = m->end - m->start, from, n;

		if (map_is(m, &g->exe_id) || !(o = own_twin(g, m)))
			continue;
		if (g->lib_cursor >= at + size) {
			at += size;
			continue;
		}
		from = g->lib_cursor - at;
		n = size - from < budget ? size - from : budget;
		if (compare_vmm(g, m->start + from, (const uint8_t *)(uintptr_t)(o->start + from), n, &where) > 0)
			guard_alarm(g, GUARD_CODE_PAGES, "byte at %#" PRIx64 " in %s differs from the file", where, m->path);
		g->lib_cursor += n;
		budget -= n;
		at += size;
	}
}

static struct thread_entry *find_thread(struct vec *v, pid_t tid)
{
	for (size_t i = 0; i < v->n; i++)
		if (VEC_AT(v, struct thread_entry, i)->tid == tid)
			return VEC_AT(v, struct thread_entry, i);
	return NULL;
}

/* What a jailed VMM's every thread must show (docs/jail.md). */
static void check_jailed(struct guard *g, const struct thread_entry *t)
{
	const struct guard_status *s = &t->st;

	if (s->seccomp != 2 || s->filters == 0)
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): seccomp mode %d with %d filters", (int)t->tid, s->name,
			    s->seccomp, s->filters);
	else if (s->nnp != 1)
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): no_new_privs is off", (int)t->tid, s->name);
	else if (s->cap[CAP_I_INH] || s->cap[CAP_I_PRM] || s->cap[CAP_I_EFF] || s->cap[CAP_I_AMB])
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): holds capabilities %#" PRIx64, (int)t->tid, s->name,
			    s->cap[CAP_I_PRM] | s->cap[CAP_I_EFF] | s->cap[CAP_I_INH] | s->cap[CAP_I_AMB]);
	else if (!s->uid[0] || !s->uid[1] || !s->uid[2] || !s->uid[3])
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): runs as uid 0", (int)t->tid, s->name);
}

/* io_uring starts its workers in the VMM's thread group when it needs them
 * (virtio-blk): the kernel's threads, running no code of the VMM. Told
 * apart by the kernel's flag, not by their name, which a process can set. */
static bool io_worker(struct guard *g, pid_t tid)
{
	char path[32], state;
	unsigned long flags;

	snprintf(path, sizeof(path), "%d/stat", (int)tid);
	return gbuf_read_at(&g->scratch, g->taskdir, path, true) > 0 && !guard_parse_stat(g->scratch.p, &state, &flags) &&
	       (flags & GUARD_PF_IO_WORKER);
}

/* Against the thread's own first sighting: credentials and seccomp never
 * change in a VMM after its lock-down; filters only ever get added. */
static void check_unchanged(struct guard *g, const struct thread_entry *t, struct thread_entry *b)
{
	const struct guard_status *s = &t->st, *o = &b->st;

	/* An io_uring worker first shows its creator's name, then the one
	 * the kernel gives it (iou-wrk-N): a check between the two would see
	 * a rename. The kernel's flag says which threads those are. */
	if (strcmp(s->name, o->name) && io_worker(g, t->tid))
		memcpy(b->st.name, s->name, sizeof(b->st.name));
	else if (strcmp(s->name, o->name))
		guard_alarm(g, GUARD_THREADS, "thread %d renamed from %s to %s", (int)t->tid, o->name, s->name);
	if (memcmp(s->uid, o->uid, sizeof(s->uid)) || memcmp(s->gid, o->gid, sizeof(s->gid)))
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): uid/gid changed to %ld/%ld", (int)t->tid, s->name, s->uid[1],
			    s->gid[1]);
	if (memcmp(s->cap, o->cap, sizeof(s->cap)))
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): capabilities changed (effective %#" PRIx64 ")", (int)t->tid,
			    s->name, s->cap[CAP_I_EFF]);
	if (s->nnp != o->nnp || s->seccomp != o->seccomp || s->filters < o->filters)
		guard_alarm(g, GUARD_STATUS, "thread %d (%s): no_new_privs %d, seccomp %d/%d filters, was %d, %d/%d",
			    (int)t->tid, s->name, s->nnp, s->seccomp, s->filters, o->nnp, o->seccomp, o->filters);
}

/* Closes the status fds of threads that are gone. */
static void forget_threads(struct guard *g)
{
	for (size_t i = 0; i < g->threads_base.n; i++) {
		struct thread_entry *b = VEC_AT(&g->threads_base, struct thread_entry, i);
		bool live = false;

		for (size_t j = 0; j < g->tids.n && !live && b->fd >= 0; j++)
			live = *VEC_AT(&g->tids, int, j) == b->tid;
		if (b->fd >= 0 && !live) {
			close(b->fd);
			b->fd = -1;
		}
	}
}

static void check_threads(struct guard *g)
{
	struct vec swap = g->tids_prev;

	g->tids_prev = g->tids;
	g->tids = swap;
	if (list_numbers(g->taskdir, &g->tids))
		return;
	g->checks++;
	for (size_t i = 0; i < g->tids.n; i++) {
		pid_t tid = *VEC_AT(&g->tids, int, i);
		struct thread_entry t = { .tid = tid }, *b = find_thread(&g->threads_base, tid);
		int fd = b ? b->fd : -1;

		/* Each thread's status stays open: one pread a period. */
		if (fd < 0) {
			char path[32];

			snprintf(path, sizeof(path), "%d/status", (int)t.tid);
			fd = openat(g->taskdir, path, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0 || gbuf_pread(&g->scratch, fd, true) <= 0 || guard_parse_status(g->scratch.p, &t.st)) {
			if (fd >= 0 && !b)
				close(fd);
			continue; /* the thread just ended */
		}
		if (g->c.sandboxed)
			check_jailed(g, &t);
		if (b) {
			check_unchanged(g, &t, b);
			b->fd = fd;
			continue;
		}
		if (g->armed && !io_worker(g, t.tid)) {
			guard_alarm(g, GUARD_THREADS, "new thread %d (%s): %zu threads now", (int)t.tid, t.st.name, g->tids.n);
			close(fd);
			continue;
		}
		t.fd = fd;
		if (vec_push(&g->threads_base, &t))
			close(fd);
	}
	forget_threads(g);
}

/* The run summary's KVM statistics fds appear as the VM stops, on the
 * VMM's own vCPUs and read-only: not worth killing a finished VM for. */
static bool fd_tolerated(const char *target)
{
	return !strncmp(target, "anon_inode:kvm-vcpu-stats", 25);
}

static bool same_fds(const struct vec *a, const struct vec *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->p, b->p, a->n * a->elem));
}

/* The previous period's target of fd, or NULL. */
static const struct fd_entry *known_fd(const struct vec *v, int fd)
{
	for (size_t i = 0; i < v->n; i++)
		if (VEC_AT(v, struct fd_entry, i)->fd == fd)
			return VEC_AT(v, struct fd_entry, i);
	return NULL;
}

/* Every period the fd numbers, and the target of a number not there the
 * period before; every target on full periods. (A jailed VMM cannot make
 * an fd at all, so a number reused for another file needs two of its
 * periods: a close, then something seccomp forbids.) */
static void check_fds(struct guard *g, bool full)
{
	struct vec nums = VEC(int), swap;

	if (list_numbers(g->fddir, &nums)) {
		vec_free(&nums);
		return;
	}
	g->checks++;
	swap = g->fds_prev;
	g->fds_prev = g->fds;
	g->fds = swap;
	g->fds.n = 0;
	for (size_t i = 0; i < nums.n; i++) {
		struct fd_entry e;
		char name[16], target[sizeof(e.target)];
		ssize_t n;
		bool known = false;

		const struct fd_entry *prev;

		memset(&e, 0, sizeof(e));
		e.fd = *VEC_AT(&nums, int, i);
		prev = full || !g->armed ? NULL : known_fd(&g->fds_prev, e.fd);
		if (prev) {
			e = *prev;
		} else {
			snprintf(name, sizeof(name), "%d", e.fd);
			n = readlinkat(g->fddir, name, target, sizeof(target) - 1);
			if (n < 0)
				continue; /* closed meanwhile */
			guard_sanitize(e.target, sizeof(e.target), target, (size_t)n);
		}
		if (vec_push(&g->fds, &e))
			break;
		for (size_t j = 0; g->armed && j < g->fds_base.n && !known; j++)
			known = !memcmp(VEC_AT(&g->fds_base, struct fd_entry, j), &e, sizeof(e));
		if (g->armed && !known && !fd_tolerated(e.target))
			guard_alarm(g, GUARD_FDS, "fd %d -> %s was not there at the baseline", e.fd, e.target);
	}
	vec_free(&nums);
}

static int copy_vec(struct vec *dst, const struct vec *src)
{
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		if (vec_push(dst, (const char *)src->p + i * src->elem))
			return -ENOMEM;
	return 0;
}

/* The VMM has settled when its threads and fds stayed the same for two
 * periods in a row (its start-up opens and starts everything at once), or
 * at the start timeout: from then on anything new is an alarm. */
static void maybe_arm(struct guard *g)
{
	bool same = same_fds(&g->fds, &g->fds_prev) && g->tids.n == g->tids_prev.n &&
		    (!g->tids.n || !memcmp(g->tids.p, g->tids_prev.p, g->tids.n * sizeof(int)));

	g->stable = same ? g->stable + 1 : 0;
	if (g->stable < 2 && guard_now_ms() - g->hello_ms < g->c.start_timeout_ms)
		return;
	if (copy_vec(&g->fds_base, &g->fds) || copy_vec(&g->exec_base, &g->exec_now) ||
	    copy_vec(&g->files_base, &g->files_now))
		return;
	g->armed = true;
	guard_info(g, "baseline after %" PRIu64 " periods: %zu threads, %zu fds, %zu executable mappings", g->cycle,
		   g->tids.n, g->fds.n, g->exec_base.n);
}

void env_check(struct guard *g, bool full)
{
	check_maps(g);
	if (g->exiting)
		return;
	check_code(g);
	check_threads(g);
	check_fds(g, full);
	if (full || !g->armed)
		check_namespaces(g);
	if (!g->armed)
		maybe_arm(g);
}
