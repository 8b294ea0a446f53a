/* msr-scan: reads and writes every MSR index in a documented set of ranges
 * and survives each #GP (runtime/msr.h), then prints
 *
 *   msr-scan: N indices, rdmsr A ok B gp, wrmsr C ok D gp
 *   guest-report: N passed, M failed
 *
 * A write puts back the value just read (so an allowed MSR keeps its
 * value) or writes 0 where the read faulted. The ranges are the ones
 * hardware decodes, trimmed so the scan is a few thousand exits (each
 * RDMSR/WRMSR runs in ring 0 and exits to the hypervisor):
 *
 *   0x00000000-0x00000fff  architectural (full=1: to 0x1fff)
 *   0x40000000-0x4000001f  hypervisor synthetic MSRs
 *   0x4b564d00-0x4b564d1f  KVM paravirtual MSRs
 *   0xc0000000-0xc00001ff  AMD64 architectural (full=1: to 0xc0001fff)
 *   0xc0010000-0xc00102ff  AMD model-specific (full=1: to 0xc0011fff)
 *   0xc0011000-0xc001103f  AMD model-specific, second block
 *
 * (the counts include the checks below). With expect=nohype it also checks what kfv's MSR filter promises: the
 * KVM async-PF and steal-time MSRs (which KVM itself implements) fault,
 * EFER does not. Runs on the BSP only. */
#include "runtime/guest.h"
#include "runtime/msr.h"

struct range {
	uint32_t first, last, last_full;
};

static const struct range ranges[] = {
	{ 0x00000000, 0x00000fff, 0x00001fff },
	{ 0x40000000, 0x4000001f, 0x4000001f },
	{ 0x4b564d00, 0x4b564d1f, 0x4b564d1f },
	{ 0xc0000000, 0xc00001ff, 0xc0001fff },
	{ 0xc0010000, 0xc00102ff, 0xc0011fff },
	{ 0xc0011000, 0xc001103f, 0xc0011fff },
};

static uint64_t rd_ok, rd_gp, wr_ok, wr_gp, indices;

/* Every access goes through these two, so the totals cover them all. */
static int rd(uint32_t index, uint64_t *v)
{
	int ret = msr_read_safe(index, v);

	*(ret == 0 ? &rd_ok : &rd_gp) += 1;
	return ret;
}

static int wr(uint32_t index, uint64_t v)
{
	int ret = msr_write_safe(index, v);

	*(ret == 0 ? &wr_ok : &wr_gp) += 1;
	return ret;
}

static void probe(uint32_t index)
{
	uint64_t v = 0;
	int ret = rd(index, &v);

	indices++;
	wr(index, ret == 0 ? v : 0);
}

int guest_main(void)
{
	bool full = cmdline_has(boot_info.cmdline, "full");
	bool nohype = cmdline_has(boot_info.cmdline, "expect=nohype");
	uint64_t v, gp_before;
	uint32_t last_done = 0;

	msr_safe_init();
	for (unsigned r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		uint32_t last = full ? ranges[r].last_full : ranges[r].last;

		/* the second AMD block lies inside the first one's full range */
		for (uint32_t i = ranges[r].first; i <= last; i++) {
			if (full && r == 5)
				break;
			probe(i);
			last_done = i;
		}
	}
	printf("msr-scan: scanned %lu indices up to 0x%x\n", indices, last_done);
	GUEST_CHECK(rd(0xc0000080, &v) == 0 && (v & (1U << 10))); /* EFER.LMA */
	gp_before = msr_gp_count();
	if (nohype) {
		GUEST_CHECK(rd(0x4b564d02, &v) == -1); /* MSR_KVM_ASYNC_PF_EN */
		GUEST_CHECK(rd(0x4b564d03, &v) == -1); /* MSR_KVM_STEAL_TIME */
		GUEST_CHECK(wr(0x4b564d03, 0) == -1);
		GUEST_CHECK(rd(0x00000186, &v) == -1); /* PERFEVTSEL0: the PMU is hidden */
		GUEST_CHECK(msr_gp_count() == gp_before + 4);
	}
	GUEST_CHECK(msr_gp_count() == rd_gp + wr_gp);
	GUEST_CHECK(rd_gp > 0 && rd_ok > 0);
	printf("msr-scan: %lu indices, rdmsr %lu ok %lu gp, wrmsr %lu ok %lu gp\n", indices, rd_ok, rd_gp, wr_ok,
	       wr_gp);
	GUEST_DONE();
}
