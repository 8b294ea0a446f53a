#include "runtime/acpi.h"

#include <stdbool.h>
#include <stddef.h>

#include "runtime/io.h"
#include "runtime/printf.h"
#include "runtime/string.h"

#define RSDP_V1_LEN      20
#define RSDP_OFF_REV     15
#define RSDP_OFF_RSDT    16
#define RSDP_OFF_LEN     20
#define RSDP_OFF_XSDT    24
#define RSDP_V2_MIN_LEN  36

#define SDT_HDR_LEN      36
#define SDT_OFF_LEN      4
#define SDT_MAX_LEN      0x100000 /* sanity bound: 1 MiB */

#define MADT_OFF_LAPIC   36
#define MADT_OFF_ENTRIES 44
#define MADT_LAPIC       0
#define MADT_LAPIC_OVR   5
#define MADT_X2APIC      9
#define MADT_ENABLED     0x1

#define BDA_EBDA_SEG     0x40e
#define PHYS_LIMIT       0x100000000ULL

static const uint8_t *ptr(uint64_t paddr)
{
	return phys_ptr(paddr);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static bool in_map(uint64_t addr, uint64_t len)
{
	return addr != 0 && addr < PHYS_LIMIT && len <= PHYS_LIMIT - addr;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

static bool rsdp_valid(uint64_t addr)
{
	if (!in_map(addr, RSDP_V1_LEN))
		return false;
	const uint8_t *p = ptr(addr);
	if (memcmp(p, "RSD PTR ", 8) != 0 || checksum(p, RSDP_V1_LEN) != 0)
		return false;
	if (p[RSDP_OFF_REV] >= 2) {
		uint32_t len = rd32(p + RSDP_OFF_LEN);
		if (len < RSDP_V2_MIN_LEN || len > 4096 || !in_map(addr, len) || checksum(p, len) != 0)
			return false;
	}
	return true;
}

static uint64_t scan(uint64_t start, uint64_t end)
{
	/* One 8-byte compare per candidate: this loop can run 8192 times in
	 * ring 0, which some hosts emulate slowly. */
	uint64_t sig;

	__builtin_memcpy(&sig, "RSD PTR ", 8);
	for (uint64_t a = start; a + RSDP_V1_LEN <= end; a += 16)
		if (rd64(ptr(a)) == sig && rsdp_valid(a))
			return a;
	return 0;
}

uint64_t acpi_find_rsdp(uint64_t hint)
{
	if (hint) {
		if (rsdp_valid(hint))
			return hint;
		printf("kfv-guest: warning: no valid RSDP at the loader's 0x%lx, scanning\n", hint);
	}
	uint16_t seg;
	__builtin_memcpy(&seg, ptr(BDA_EBDA_SEG), sizeof(seg));
	uint64_t ebda = (uint64_t)seg << 4;
	if (ebda >= 0x80000 && ebda < 0xa0000) {
		uint64_t found = scan(ebda, ebda + 1024);
		if (found)
			return found;
	}
	return scan(0xe0000, 0x100000);
}

/* Returns the table's length if the SDT at addr is valid, else 0. */
static uint32_t sdt_valid(uint64_t addr)
{
	if (!in_map(addr, SDT_HDR_LEN))
		return 0;
	uint32_t len = rd32(ptr(addr) + SDT_OFF_LEN);
	if (len < SDT_HDR_LEN || len > SDT_MAX_LEN || !in_map(addr, len) ||
	    checksum(ptr(addr), len) != 0)
		return 0;
	return len;
}

uint64_t acpi_find_table(uint64_t rsdp, const char *sig)
{
	const uint8_t *r = ptr(rsdp);
	bool xsdt = r[RSDP_OFF_REV] >= 2 && rd64(r + RSDP_OFF_XSDT) != 0;
	uint64_t root = xsdt ? rd64(r + RSDP_OFF_XSDT) : rd32(r + RSDP_OFF_RSDT);
	const char *root_sig = xsdt ? "XSDT" : "RSDT";
	unsigned esize = xsdt ? 8 : 4;
	uint32_t len = sdt_valid(root);

	if (!len || memcmp(ptr(root), root_sig, 4) != 0) {
		printf("kfv-guest: warning: bad %s at 0x%lx\n", root_sig, root);
		return 0;
	}
	for (uint32_t off = SDT_HDR_LEN; off + esize <= len; off += esize) {
		const uint8_t *e = ptr(root) + off;
		uint64_t t = xsdt ? rd64(e) : rd32(e);
		if (in_map(t, SDT_HDR_LEN) && memcmp(ptr(t), sig, 4) == 0) {
			if (sdt_valid(t))
				return t;
			printf("kfv-guest: warning: bad %.4s at 0x%lx (length/checksum)\n", sig, t);
		}
	}
	return 0;
}

int acpi_madt_cpus(uint64_t rsdp, struct cpu_topology *t)
{
	uint64_t madt = acpi_find_table(rsdp, "APIC");
	if (!madt)
		return -1;
	const uint8_t *m = ptr(madt);
	uint32_t len = rd32(m + SDT_OFF_LEN);
	if (len < MADT_OFF_ENTRIES)
		return -1;

	if (rd32(m + MADT_OFF_LAPIC))
		t->lapic_base = rd32(m + MADT_OFF_LAPIC);
	for (uint32_t off = MADT_OFF_ENTRIES; off + 2 <= len;) {
		const uint8_t *e = m + off;
		uint8_t type = e[0], elen = e[1];
		if (elen < 2 || off + elen > len) {
			printf("kfv-guest: warning: MADT entry at +%u overruns the table\n", off);
			break;
		}
		if (type == MADT_LAPIC && elen >= 8) {
			if (rd32(e + 4) & MADT_ENABLED)
				cpus_add(t, e[3]);
		} else if (type == MADT_X2APIC && elen >= 16) {
			if (rd32(e + 8) & MADT_ENABLED)
				cpus_add(t, rd32(e + 4));
		} else if (type == MADT_LAPIC_OVR && elen >= 12) {
			t->lapic_base = rd64(e + 4);
		}
		off += elen;
	}
	return 0;
}
