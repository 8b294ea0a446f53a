/* The PVH boot ABI (Xen's xen/include/public/arch-x86/hvm/start_info.h),
 * version 1. Fixed-size little-endian structures; the field offsets are
 * part of the ABI and checked at compile time. */
#ifndef KFV_BOOT_PVH_H
#define KFV_BOOT_PVH_H

#include <stddef.h>
#include <stdint.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578u
#define HVM_START_VERSION        1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version 1 */
	uint32_t memmap_entries; /* version 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info ABI");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "hvm_start_info ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry ABI");

/* Placement inside the KFV_PVH_INFO_ADDR page. */
#define PVH_MEMMAP_OFFSET  sizeof(struct hvm_start_info)
#define PVH_MODLIST_OFFSET (PVH_MEMMAP_OFFSET + 4 * sizeof(struct hvm_memmap_table_entry))

#endif
