#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "guard_internal.h"

/* Guest RAM ownership: each VM's RAM is one memfd that only its VMM maps.
 * A frame of it mapped twice, or another VM mapping it, is page sharing;
 * RAM open to KSM is one merge away from it. */

#define SAMPLE_PAGES 512 /* pagemap entries read per period: one 4 KiB read */
#define FRAMES_MAX (sizeof(((struct guard *)0)->frames) / sizeof(uint64_t))

void mem_sample(struct guard *g)
{
	uint64_t e[SAMPLE_PAGES], npages, n, first;
	ssize_t got;

	if (!g->ram_found)
		return;
	g->checks++;
	npages = (g->ram.end - g->ram.start) >> 12;
	n = npages < SAMPLE_PAGES ? npages : SAMPLE_PAGES;
	first = guard_random_below(g, (uint32_t)(npages - n + 1 > UINT32_MAX ? UINT32_MAX : npages - n + 1));
	got = pread(g->pagemap, e, n * sizeof(e[0]), (off_t)(((g->ram.start >> 12) + first) * sizeof(e[0])));
	for (ssize_t i = 0; i < got / (ssize_t)sizeof(e[0]); i++) {
		if (!guard_pm_present(e[i]))
			continue;
		/* Set when exactly one page table maps the frame: the VMM's. */
		if (!(e[i] & GUARD_PM_EXCLUSIVE))
			guard_alarm(g, GUARD_PAGE_SHARING, "guest RAM page at offset %#" PRIx64 " is mapped more than once",
				    (first + (uint64_t)i) << 12);
		if (guard_pm_pfn(e[i])) {
			g->frames[g->frame_pos] = guard_pm_pfn(e[i]);
			g->frame_pos = (g->frame_pos + 1) % FRAMES_MAX;
			if (g->nframes < FRAMES_MAX)
				g->nframes++;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether any present frame of [start, end) in pid's pagemap is one of
 * ours (sorted). Returns the frame, or 0. */
static uint64_t shared_frame(int pagemap, uint64_t start, uint64_t end, const uint64_t *ours, size_t n)
{
	uint64_t e[SAMPLE_PAGES];

	for (uint64_t page = start >> 12; page < end >> 12;) {
		uint64_t want = (end >> 12) - page < SAMPLE_PAGES ? (end >> 12) - page : SAMPLE_PAGES;
		ssize_t got = pread(pagemap, e, want * sizeof(e[0]), (off_t)(page * sizeof(e[0])));

		if (got <= 0)
			return 0;
		for (ssize_t i = 0; i < got / (ssize_t)sizeof(e[0]); i++) {
			uint64_t pfn = guard_pm_pfn(e[i]);

			if (guard_pm_present(e[i]) && pfn && bsearch(&pfn, ours, n, sizeof(*ours), cmp_u64))
				return pfn;
		}
		page += (uint64_t)got / sizeof(e[0]);
	}
	return 0;
}

/* Says once per other VM that the comparison ran and found nothing. */
static void tell_compared(struct guard *g, int pid, size_t frames, uint64_t bytes)
{
	for (unsigned i = 0; i < g->nothers; i++)
		if (g->others_seen[i] == pid)
			return;
	if (g->nothers == sizeof(g->others_seen) / sizeof(g->others_seen[0]))
		return;
	g->others_seen[g->nothers++] = pid;
	guard_info(g, "no frame shared with pid %d's guest RAM (%" PRIu64 " MiB, against %zu sampled frames of ours)", pid,
		   bytes >> 20, frames);
}

/* One other process's mappings of any VM's guest RAM. */
static void scan_one(struct guard *g, int pid, const uint64_t *ours, size_t n)
{
	char path[32];
	size_t pos = 0, len;
	const char *l;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (gbuf_read_at(&g->scratch, AT_FDCWD, path, false) <= 0 || !strstr(g->scratch.p, "kfv-guest-ram"))
		return;
	while ((l = guard_next_line(g->scratch.p, g->scratch.len, &pos, &len))) {
		struct guard_map m;
		uint64_t pfn;
		int pm;

		if (guard_parse_map_line(l, len, &m) || !strstr(m.path, "kfv-guest-ram"))
			continue;
		if (m.inode == g->ram.inode && m.dev_major == g->ram.dev_major && m.dev_minor == g->ram.dev_minor) {
			guard_alarm(g, GUARD_PAGE_SHARING, "pid %d maps this VM's guest RAM (inode %" PRIu64 ")", pid, m.inode);
			return;
		}
		if (!n || !g->c.frame_checks)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
		pm = open(path, O_RDONLY | O_CLOEXEC);
		if (pm < 0)
			continue;
		pfn = shared_frame(pm, m.start, m.end, ours, n);
		close(pm);
		if (pfn)
			guard_alarm(g, GUARD_PAGE_SHARING, "frame %#" PRIx64 " backs this VM's guest RAM and pid %d's", pfn, pid);
		else
			tell_compared(g, pid, n, m.end - m.start);
	}
}

void mem_scan_others(struct guard *g)
{
	uint64_t ours[FRAMES_MAX];
	struct dirent *d;
	pid_t self = getpid();
	DIR *proc;

	if (!g->ram_found)
		return;
	g->checks++;
	memcpy(ours, g->frames, g->nframes * sizeof(ours[0]));
	qsort(ours, g->nframes, sizeof(ours[0]), cmp_u64);
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((d = readdir(proc))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (end == d->d_name || *end || pid == g->c.vmm_pid || pid == g->supervisor || pid == self)
			continue;
		scan_one(g, (int)pid, ours, g->nframes);
	}
	closedir(proc);
}

void mem_check_ksm(struct guard *g)
{
	char flags[128];
	const char *p;

	if (!g->ram_found)
		return;
	g->checks++;
	if (gbuf_read_fd(&g->scratch, g->smapsfd) > 0 &&
	    !guard_smaps_vmflags(g->scratch.p, g->scratch.len, g->ram.start, flags, sizeof(flags)) &&
	    guard_vmflags_has(flags, "mg"))
		guard_alarm(g, GUARD_KSM, "guest RAM at %" PRIx64 " is marked mergeable (VmFlags %s)", g->ram.start, flags);
	/* Process-wide merging (PR_SET_MEMORY_MERGE, 6.4+) shows here only. */
	if (gbuf_read_at(&g->scratch, g->procdir, "ksm_stat", true) > 0 && (p = strstr(g->scratch.p, "ksm_merge_any:"))) {
		p += strlen("ksm_merge_any:");
		p += strspn(p, " \t");
		if (!strncmp(p, "yes", 3))
			guard_alarm(g, GUARD_KSM, "process-wide KSM merging is on");
	}
	if (gbuf_read_at(&g->scratch, g->procdir, "ksm_merging_pages", true) > 0 && atol(g->scratch.p) > 0)
		guard_alarm(g, GUARD_KSM, "%ld pages of the VMM are merged", atol(g->scratch.p));
}

/* pid's fds and mappings of (dev, ino). 1 with detail, else 0. */
static int holds(int pid, dev_t dev, ino_t ino, struct gbuf *b, char *detail, size_t len)
{
	char path[48];
	size_t pos = 0, l;
	const char *line;
	struct dirent *d;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (gbuf_read_at(b, AT_FDCWD, path, false) > 0) {
		while ((line = guard_next_line(b->p, b->len, &pos, &l))) {
			struct guard_map m;

			if (!guard_parse_map_line(line, l, &m) && m.inode == ino && m.dev_major == major(dev) &&
			    m.dev_minor == minor(dev)) {
				snprintf(detail, len, "pid %d still maps the guest RAM at %" PRIx64, pid, m.start);
				return 1;
			}
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	fds = opendir(path);
	if (!fds)
		return 0;
	while ((d = readdir(fds))) {
		struct stat st;

		if (d->d_name[0] != '.' && !fstatat(dirfd(fds), d->d_name, &st, 0) && st.st_ino == ino && st.st_dev == dev) {
			snprintf(detail, len, "pid %d still holds the guest RAM (fd %s)", pid, d->d_name);
			closedir(fds);
			return 1;
		}
	}
	closedir(fds);
	return 0;
}

int guard_check_ram_released(int memfd, char *detail, size_t len)
{
	struct gbuf b = { 0 };
	struct dirent *d;
	struct stat st;
	DIR *proc;
	int ret = 0;

	if (fstat(memfd, &st) < 0)
		return -errno;
	/* Scrubs and frees every page, whoever else might still map it. */
	if (st.st_size && fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st.st_size) < 0)
		return -errno;
	if (fstat(memfd, &st) < 0)
		return -errno;
	if (st.st_blocks) {
		snprintf(detail, len, "%lld blocks of guest RAM still allocated after the punch", (long long)st.st_blocks);
		return 1;
	}
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (!ret && (d = readdir(proc))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (end != d->d_name && !*end && pid != getpid())
			ret = holds((int)pid, st.st_dev, st.st_ino, &b, detail, len);
	}
	closedir(proc);
	free(b.p);
	return ret;
}
