/* The guest's memory map, shared by the Linux e820 table and the PVH
 * memmap. The region between the EBDA and 1 MiB holds the MP table and the
 * ACPI tables and is reserved; the MMIO hole is never described as RAM. */
#include <errno.h>

#include "boot_internal.h"
#include "layout.h"

static void add(struct boot_memmap *map, uint64_t addr, uint64_t end, uint32_t type)
{
	if (end <= addr || map->n >= BOOT_MEMMAP_MAX)
		return;
	map->e[map->n].addr = addr;
	map->e[map->n].size = end - addr;
	map->e[map->n].type = type;
	map->n++;
}

int boot_memmap_build(const struct guest_mem *gm, struct boot_memmap *map)
{
	uint64_t low_end = gm_low_end(gm);

	map->n = 0;
	/* gm_split() already caps low RAM at the hole; a hand-made guest_mem
	 * must not be able to make us describe the hole as RAM either. */
	if (low_end > KFV_MMIO_HOLE_START)
		low_end = KFV_MMIO_HOLE_START;
	if (low_end <= KFV_HIGH_RAM_START)
		return -ENOSPC;

	add(map, 0, KFV_LOW_RAM_END, BOOT_E820_RAM);
	add(map, KFV_LOW_RAM_END, KFV_HIGH_RAM_START, BOOT_E820_RESERVED);
	add(map, KFV_HIGH_RAM_START, low_end, BOOT_E820_RAM);
	if (gm->high_size)
		add(map, KFV_MMIO_HOLE_END, KFV_MMIO_HOLE_END + gm->high_size, BOOT_E820_RAM);
	return 0;
}
