/* Search order (MP spec 1.4, 4.1): the first KiB of the EBDA, the last KiB
 * of base memory (where kfv puts it: 0x9fc00), then 0xf0000-0xfffff. */
#include "runtime/mptable.h"

#include <stdbool.h>
#include <stddef.h>

#include "runtime/io.h"
#include "runtime/printf.h"
#include "runtime/string.h"

#define MPF_LEN          16
#define MPF_SIGNATURE    0x5f504d5f /* "_MP_" little-endian */
#define MPF_OFF_PHYSPTR  4
#define MPF_OFF_LENGTH   8
#define MPF_OFF_FEATURE1 11

#define MPC_HDR_LEN      44
#define MPC_OFF_LEN      4
#define MPC_OFF_COUNT    34
#define MPC_OFF_LAPIC    36
#define MPC_MAX_LEN      0x10000

#define MP_PROCESSOR     0
#define MP_PROC_LEN      20
#define MP_OTHER_LEN     8 /* bus, I/O APIC, I/O and local interrupt entries */
#define MP_LAST_TYPE     4
#define MP_CPU_ENABLED   0x1

#define BDA_EBDA_SEG     0x40e

static const uint8_t *ptr(uint64_t paddr)
{
	return phys_ptr(paddr);
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static bool sums_to_zero(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum == 0;
}

static uint64_t scan(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + MPF_LEN <= end; a += 16) {
		const uint8_t *p = ptr(a);
		unsigned len = p[MPF_OFF_LENGTH] * 16u;
		if (rd32(p) == MPF_SIGNATURE && len >= MPF_LEN && a + len <= end &&
		    sums_to_zero(p, len))
			return a;
	}
	return 0;
}

static uint64_t find_floating_pointer(void)
{
	uint64_t ebda = (uint64_t)rd16(ptr(BDA_EBDA_SEG)) << 4;
	uint64_t mpf = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		mpf = scan(ebda, ebda + 1024);
	if (!mpf)
		mpf = scan(0x9fc00, 0xa0000);
	if (!mpf)
		mpf = scan(0xf0000, 0x100000);
	return mpf;
}

int mptable_cpus(struct cpu_topology *t)
{
	uint64_t mpf = find_floating_pointer();
	if (!mpf)
		return -1;
	if (ptr(mpf)[MPF_OFF_FEATURE1] != 0) {
		/* A default configuration (MP spec chapter 5): two CPUs, APIC ids 0 and 1. */
		cpus_add(t, 0);
		cpus_add(t, 1);
		return 0;
	}
	uint64_t mpc = rd32(ptr(mpf) + MPF_OFF_PHYSPTR);
	if (!mpc || mpc >= 0x100000000ULL - MPC_MAX_LEN || memcmp(ptr(mpc), "PCMP", 4) != 0) {
		printf("kfv-guest: warning: MP floating pointer at 0x%lx has no table\n", mpf);
		return -1;
	}
	const uint8_t *c = ptr(mpc);
	uint16_t len = rd16(c + MPC_OFF_LEN);
	if (len < MPC_HDR_LEN || !sums_to_zero(c, len)) {
		printf("kfv-guest: warning: bad MP table at 0x%lx (length/checksum)\n", mpc);
		return -1;
	}
	if (rd32(c + MPC_OFF_LAPIC))
		t->lapic_base = rd32(c + MPC_OFF_LAPIC);
	unsigned count = rd16(c + MPC_OFF_COUNT);
	uint32_t off = MPC_HDR_LEN;
	for (unsigned i = 0; i < count && off < len; i++) {
		uint8_t type = c[off];
		uint32_t elen = type == MP_PROCESSOR ? MP_PROC_LEN : MP_OTHER_LEN;
		if (type > MP_LAST_TYPE || off + elen > len)
			break; /* unknown entry size or overrun: stop, keep what we have */
		if (type == MP_PROCESSOR && (c[off + 3] & MP_CPU_ENABLED))
			cpus_add(t, c[off + 1]);
		off += elen;
	}
	return 0;
}
