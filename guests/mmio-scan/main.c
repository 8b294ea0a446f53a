/* mmio-scan: the self-defense loop's MMIO scanner. From ring 3 it reads
 * the first dword of 4 KiB pages, then writes zero there, in two regions
 * no device of the guest's own uses:
 *
 *   above-ram  from the end of RAM below 4 GiB up to the 32-bit MMIO hole
 *              (0xc0000000); empty when RAM reaches the hole
 *   hole       the hole, 0xc0000000 up to 4 GiB
 *
 * Skipped: the virtio-mmio windows that answer the "virt" magic (the
 * guest's own devices), the I/O APIC page (0xfec00000) and the LAPIC page
 * (0xfee00000). Above 4 GiB nothing is mapped in the guest's page tables.
 *
 * pages=N (default 4096) bounds the pages probed per region; they are
 * spread evenly over it (stride = region pages / N, at least 1), so the
 * whole region is covered. pages=0 probes every page. Prints, per region,
 *
 *   mmio-scan: hole 0xc0000000-0xffffffff: 4094 pages (stride 64), 4094 read all-ones, 0 other, 4094 written, 3210 ms
 *
 * then checks that every probe read all-ones (nothing answered there) and
 * that the guest's own virtio devices still answer; exit code 0 when so. */
#include "runtime/guest.h"
#include "runtime/tsc.h"
#include "runtime/virtio.h"

#define PAGE          0x1000ULL
#define HOLE_START    0xc0000000ULL
#define HOLE_END      0x100000000ULL
#define IOAPIC_PAGE   0xfec00000ULL
#define VIRTIO_MAGIC  0x74726976

struct region {
	const char *name;
	uint64_t start, end; /* [start, end), page-aligned */
	uint64_t stride;     /* in pages */
	uint64_t probed, ones, other, written;
};

static uint64_t max_pages = 4096, lapic_page = LAPIC_DEFAULT_BASE;
static unsigned nr_virtio; /* kfv's windows that answer, from 0xd0000000 */

static bool skipped(uint64_t addr)
{
	if (addr == IOAPIC_PAGE || addr == lapic_page)
		return true;
	return addr >= VIRTIO_MMIO_BASE && addr < VIRTIO_MMIO_BASE + nr_virtio * VIRTIO_MMIO_STRIDE;
}

static uint64_t scan(uint64_t arg)
{
	struct region *r = (struct region *)(uintptr_t)arg;

	for (uint64_t a = r->start; a < r->end && a >= r->start; a += r->stride * PAGE) {
		if (skipped(a))
			continue;
		r->probed++;
		if (mmio_read32(a) == 0xffffffffu)
			r->ones++;
		else
			r->other++;
		mmio_write32(a, 0);
		r->written++;
	}
	return r->probed;
}

/* The end of the RAM that lies below the hole (page-aligned up). */
static uint64_t ram_end_below_hole(void)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < boot_info.mem_count; i++) {
		const struct mem_range *m = &boot_info.mem[i];
		uint64_t e = m->addr + m->size;

		if (m->type != MEM_TYPE_RAM || m->addr >= HOLE_START)
			continue;
		if (e > HOLE_START)
			e = HOLE_START;
		if (e > end)
			end = e;
	}
	return (end + PAGE - 1) & ~(PAGE - 1);
}

static void run_region(struct region *r)
{
	uint64_t pages = (r->end - r->start) / PAGE, start;

	if (!pages) {
		printf("mmio-scan: %s: empty\n", r->name);
		return;
	}
	r->stride = max_pages && pages > max_pages ? (pages + max_pages - 1) / max_pages : 1;
	start = rdtsc();
	user_run(scan, (uint64_t)(uintptr_t)r);
	printf("mmio-scan: %s 0x%lx-0x%lx: %lu pages (stride %lu), %lu read all-ones, %lu other, %lu written, "
	       "%lu ms\n",
	       r->name, r->start, r->end - 1, r->probed, r->stride, r->ones, r->other, r->written,
	       tsc_to_ns(rdtsc() - start) / 1000000);
}

int guest_main(void)
{
	struct cpu_topology cpus;
	struct region above = { .name = "above-ram" }, hole = { .name = "hole" };

	if (cmdline_get_u64(boot_info.cmdline, "pages", 4096, &max_pages) < 0) {
		printf("mmio-scan: bad pages= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	cpus_discover(&cpus);
	lapic_page = cpus.lapic_base & ~(PAGE - 1);
	if (!tsc_calibrate(cpus.lapic_base)) {
		printf("mmio-scan: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	while (nr_virtio < VIRTIO_MMIO_MAX &&
	       mmio_read32(VIRTIO_MMIO_BASE + nr_virtio * VIRTIO_MMIO_STRIDE) == VIRTIO_MAGIC)
		nr_virtio++;
	printf("mmio-scan: %u virtio windows skipped, at most %lu pages per region\n", nr_virtio, max_pages);

	above.start = ram_end_below_hole();
	above.end = HOLE_START;
	hole.start = HOLE_START;
	hole.end = HOLE_END;
	run_region(&above);
	run_region(&hole);

	GUEST_CHECK(above.other == 0);
	GUEST_CHECK(hole.other == 0);
	GUEST_CHECK(hole.probed > 0);
	/* The devices still answer, or, once the policy denied the MMIO space
	 * to a scanning guest, read as nothing there: never anything else. */
	for (unsigned i = 0; i < nr_virtio; i++) {
		uint32_t v = mmio_read32(VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE);

		printf("mmio-scan: virtio window %u after the scan: %s\n", i,
		       v == VIRTIO_MAGIC ? "answers" : v == 0xffffffffu ? "all-ones (denied)" : "wrong value");
		GUEST_CHECK(v == VIRTIO_MAGIC || v == 0xffffffffu);
	}
	GUEST_DONE();
}
