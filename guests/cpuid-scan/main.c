/* cpuid-scan: asks CPUID every leaf from 0 to the maximum basic leaf, from
 * 0x40000000 to the hypervisor's maximum (at most 0x400000ff) and from
 * 0x80000000 to the maximum extended leaf, sub-leaves 0-31 of each, twice,
 * in ring 3, and prints
 *
 *   cpuid-scan: N queries, max basic 0x.., max extended 0x.., hypervisor "KVMKVMKVM", digest 0x...
 *   guest-report: N passed, M failed
 *
 * The digest is FNV-1a over every (leaf, sub-leaf, eax, ebx, ecx, edx):
 * the two passes must agree (discovery is answered once, from a fixed
 * table). With expect=nohype it checks what kfv's nohype CPUID profile
 * promises: no PMU (leaf 0xa zero), no VMX/SVM, no MONITOR, no KVM async
 * page faults or steal time; the hypervisor bit and kvm-clock stay.
 * mce-forced skips the MCE bit: a software KVM (PVM) sets CPUID.1:EDX.MCE
 * whatever the table kfv gave it says. */
#include "runtime/guest.h"

#define SUBLEAVES 32

struct scan {
	uint64_t digest, queries;
	uint32_t max_basic, max_hv, max_ext;
};

static struct scan scans[2];

static void mix(uint64_t *h, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		*h ^= (v >> (8 * i)) & 0xff;
		*h *= 0x100000001b3ULL;
	}
}

static void scan_range(struct scan *s, uint32_t first, uint32_t last)
{
	for (uint32_t leaf = first; leaf <= last; leaf++) {
		for (uint32_t sub = 0; sub < SUBLEAVES; sub++) {
			uint32_t a, b, c, d;

			cpuid(leaf, sub, &a, &b, &c, &d);
			mix(&s->digest, leaf);
			mix(&s->digest, sub);
			mix(&s->digest, a);
			mix(&s->digest, b);
			mix(&s->digest, c);
			mix(&s->digest, d);
			s->queries++;
		}
	}
}

/* Runs in ring 3 (CPUID is not privileged; hot loops stay out of ring 0). */
static uint64_t scan_all(uint64_t which)
{
	struct scan *s = &scans[which];
	uint32_t a, b, c, d;

	s->digest = 0xcbf29ce484222325ULL;
	cpuid(0, 0, &s->max_basic, &b, &c, &d);
	cpuid(0x40000000, 0, &a, &b, &c, &d);
	s->max_hv = a >= 0x40000000 && a <= 0x400000ff ? a : 0x40000000;
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	s->max_ext = a >= 0x80000000 && a <= 0x800000ff ? a : 0x80000000;
	scan_range(s, 0, s->max_basic < 0xff ? s->max_basic : 0xff);
	scan_range(s, 0x40000000, s->max_hv);
	scan_range(s, 0x80000000, s->max_ext);
	return s->queries;
}

int guest_main(void)
{
	bool nohype = cmdline_has(boot_info.cmdline, "expect=nohype");
	uint32_t a, b, c, d;
	char sig[13];

	user_run(scan_all, 0);
	user_run(scan_all, 1);
	cpuid(0x40000000, 0, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	printf("cpuid-scan: %lu queries, max basic 0x%x, max extended 0x%x, hypervisor \"%s\", digest 0x%016lx\n",
	       scans[0].queries, scans[0].max_basic, scans[0].max_ext, sig, scans[0].digest);
	GUEST_CHECK(scans[0].digest == scans[1].digest);
	GUEST_CHECK(scans[0].queries == scans[1].queries && scans[0].queries > 0);
	cpuid(1, 0, &a, &b, &c, &d);
	GUEST_CHECK(c & (1U << 31)); /* hypervisor present */
	GUEST_CHECK(!strncmp(sig, "KVMKVMKVM", 9));
	if (nohype) {
		GUEST_CHECK(!(c & (1U << 5)));  /* VMX */
		GUEST_CHECK(!(c & (1U << 3)));  /* MONITOR */
		GUEST_CHECK(!(c & (1U << 15))); /* PDCM */
		if (!cmdline_has(boot_info.cmdline, "mce-forced"))
			GUEST_CHECK(!(d & (1U << 7))); /* MCE */
		if (scans[0].max_basic >= 0xa) {
			cpuid(0xa, 0, &a, &b, &c, &d);
			GUEST_CHECK(a == 0 && b == 0 && c == 0 && d == 0); /* no PMU */
		}
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		GUEST_CHECK(!(c & (1U << 2))); /* SVM */
		cpuid(0x40000001, 0, &a, &b, &c, &d);
		GUEST_CHECK(!(a & (1U << 4)) && !(a & (1U << 5))); /* async PF, steal time */
	}
	GUEST_DONE();
}
