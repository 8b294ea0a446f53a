/* The PVH start info page: hvm_start_info, then the memory map, then the
 * module list (the initrd), all in the one page at KFV_PVH_INFO_ADDR. The
 * kernel finds everything else (command line, RSDP) through pointers in it. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "layout.h"
#include "pvh.h"

_Static_assert(BOOT_MEMMAP_MAX <= 4, "PVH_MODLIST_OFFSET leaves room for 4 memmap entries");
_Static_assert(PVH_MODLIST_OFFSET + sizeof(struct hvm_modlist_entry) <= BOOT_PAGE_SIZE,
	       "start info, memmap and modlist share one page");
_Static_assert(KFV_PVH_INFO_ADDR + BOOT_PAGE_SIZE <= KFV_ZERO_PAGE_ADDR,
	       "start info page overlaps the zero page");

int boot_write_pvh_info(const struct guest_mem *gm, const struct boot_memmap *map,
			uint64_t initrd_addr, uint64_t initrd_size, struct boot_error *err)
{
	uint8_t page[BOOT_PAGE_SIZE];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = KFV_CMDLINE_ADDR,
		.rsdp_paddr = KFV_ACPI_ADDR,
		.memmap_paddr = KFV_PVH_INFO_ADDR + PVH_MEMMAP_OFFSET,
		.memmap_entries = map->n,
	};

	/* The host is x86-64 like the guest, so the ABI structs can be copied
	 * as they are; the whole page is rewritten so nothing stale remains. */
	memset(page, 0, sizeof(page));
	for (unsigned i = 0; i < map->n && i < BOOT_MEMMAP_MAX; i++) {
		struct hvm_memmap_table_entry me = {
			.addr = map->e[i].addr,
			.size = map->e[i].size,
			.type = map->e[i].type,
		};

		memcpy(page + PVH_MEMMAP_OFFSET + i * sizeof(me), &me, sizeof(me));
	}
	if (initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = initrd_addr, .size = initrd_size };

		si.nr_modules = 1;
		si.modlist_paddr = KFV_PVH_INFO_ADDR + PVH_MODLIST_OFFSET;
		memcpy(page + PVH_MODLIST_OFFSET, &mod, sizeof(mod));
	}
	memcpy(page, &si, sizeof(si));
	if (gm_write(gm, KFV_PVH_INFO_ADDR, page, sizeof(page)))
		return boot_errf(err, -EFAULT, "cannot write the PVH start info");
	return 0;
}
