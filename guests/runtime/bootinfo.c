/* Boot information parsing. Everything is copied, bounded, into
 * boot_info before the guest touches low memory (the AP trampoline lives
 * at 0x8000), so later code never dereferences loader pointers again.
 *
 * Layouts:
 *   hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h):
 *     0 magic 0x336ec578, 4 version, 8 flags, 12 nr_modules,
 *     16 modlist_paddr, 24 cmdline_paddr, 32 rsdp_paddr,
 *     40 memmap_paddr, 48 memmap_entries (version >= 1);
 *     memmap entries: u64 addr, u64 size, u32 type, u32 reserved.
 *   boot_params (Linux zero page):
 *     0x070 acpi_rsdp_addr, 0x0c8 ext_cmd_line_ptr, 0x1e8 e820_entries,
 *     0x228 hdr.cmd_line_ptr, 0x2d0 e820_table[128] of {u64, u64, u32}. */
#include "runtime/bootinfo.h"

#include <stddef.h>

#include "runtime/image.h"
#include "runtime/io.h"
#include "runtime/printf.h"
#include "runtime/string.h"

#define PVH_MAGIC          0x336ec578u
#define PVH_OFF_VERSION    4
#define PVH_OFF_CMDLINE    24
#define PVH_OFF_RSDP       32
#define PVH_OFF_MEMMAP     40
#define PVH_OFF_MEMMAP_N   48
#define PVH_MEMMAP_ENTRY   24

#define BP_OFF_RSDP        0x070
#define BP_OFF_EXT_CMDLINE 0x0c8
#define BP_OFF_E820_N      0x1e8
#define BP_OFF_CMDLINE     0x228
#define BP_OFF_E820        0x2d0
#define BP_E820_MAX        128
#define BP_E820_ENTRY      20

#define PHYS_LIMIT         0x100000000ULL /* the identity map ends at 4 GiB */

struct boot_info boot_info;

static uint64_t rd64(uint64_t addr)
{
	uint64_t v;

	__builtin_memcpy(&v, phys_ptr(addr), sizeof(v));
	return v;
}

static uint32_t rd32(uint64_t addr)
{
	uint32_t v;

	__builtin_memcpy(&v, phys_ptr(addr), sizeof(v));
	return v;
}

static bool mapped(uint64_t addr, uint64_t len)
{
	return addr != 0 && addr < PHYS_LIMIT && len <= PHYS_LIMIT - addr;
}

static void copy_cmdline(uint64_t paddr)
{
	if (!paddr)
		return;
	if (!mapped(paddr, 1)) {
		printf("kfv-guest: warning: cmdline at 0x%lx is not mapped, ignored\n", paddr);
		return;
	}
	/* Never read past 4 GiB, even for a string near the end. */
	uint64_t room = PHYS_LIMIT - paddr;
	size_t max = room < BOOTINFO_CMDLINE_MAX ? (size_t)room : BOOTINFO_CMDLINE_MAX;
	const char *src = phys_ptr(paddr);
	size_t n = strnlen(src, max);

	if (n == BOOTINFO_CMDLINE_MAX) {
		n = BOOTINFO_CMDLINE_MAX - 1;
		boot_info.cmdline_truncated = true;
	}
	memcpy(boot_info.cmdline, src, n);
	boot_info.cmdline[n] = '\0';
}

static void add_range(uint64_t addr, uint64_t size, uint32_t type)
{
	if (boot_info.mem_count == BOOTINFO_MEM_MAX) {
		boot_info.mem_truncated = true;
		return;
	}
	boot_info.mem[boot_info.mem_count++] = (struct mem_range){ addr, size, type };
}

static bool parse_pvh(uint64_t si)
{
	if (!mapped(si, 56) || rd32(si) != PVH_MAGIC) {
		printf("kfv-guest: bad hvm_start_info at 0x%lx (magic 0x%x)\n", si,
		       mapped(si, 4) ? rd32(si) : 0);
		return false;
	}
	uint32_t version = rd32(si + PVH_OFF_VERSION);

	copy_cmdline(rd64(si + PVH_OFF_CMDLINE));
	boot_info.rsdp_paddr = rd64(si + PVH_OFF_RSDP);
	if (version >= 1) {
		uint64_t map = rd64(si + PVH_OFF_MEMMAP);
		uint32_t n = rd32(si + PVH_OFF_MEMMAP_N);

		if (n && !mapped(map, (uint64_t)n * PVH_MEMMAP_ENTRY)) {
			printf("kfv-guest: warning: memmap at 0x%lx is not mapped, ignored\n", map);
			n = 0;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint64_t e = map + (uint64_t)i * PVH_MEMMAP_ENTRY;
			add_range(rd64(e), rd64(e + 8), rd32(e + 16));
		}
	}
	return true;
}

static bool parse_boot_params(uint64_t bp)
{
	if (!mapped(bp, 0x1000)) {
		printf("kfv-guest: bad boot_params pointer 0x%lx\n", bp);
		return false;
	}
	const uint8_t *p = phys_ptr(bp);
	uint64_t cmd = rd32(bp + BP_OFF_CMDLINE) | ((uint64_t)rd32(bp + BP_OFF_EXT_CMDLINE) << 32);
	unsigned n = p[BP_OFF_E820_N];

	copy_cmdline(cmd);
	boot_info.rsdp_paddr = rd64(bp + BP_OFF_RSDP);
	if (n > BP_E820_MAX) {
		printf("kfv-guest: warning: e820_entries %u > %u, clamped\n", n, BP_E820_MAX);
		n = BP_E820_MAX;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = bp + BP_OFF_E820 + (uint64_t)i * BP_E820_ENTRY;
		add_range(rd64(e), rd64(e + 8), rd32(e + 16));
	}
	return true;
}

bool bootinfo_parse(unsigned kind, uint64_t info_paddr)
{
	boot_info.kind = kind;
	boot_info.info_paddr = info_paddr;
	switch (kind) {
	case BOOT_KIND_PVH:
		return parse_pvh(info_paddr);
	case BOOT_KIND_LINUX32:
	case BOOT_KIND_LINUX64:
		return parse_boot_params(info_paddr);
	default:
		printf("kfv-guest: unknown entry path %u\n", kind);
		return false;
	}
}

const char *bootinfo_kind_name(unsigned kind)
{
	switch (kind) {
	case BOOT_KIND_PVH:
		return "pvh";
	case BOOT_KIND_LINUX32:
		return "linux32";
	case BOOT_KIND_LINUX64:
		return "linux64";
	default:
		return "unknown";
	}
}

uint64_t bootinfo_ram_bytes(void)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < boot_info.mem_count; i++)
		if (boot_info.mem[i].type == MEM_TYPE_RAM)
			total += boot_info.mem[i].size;
	return total;
}
