/* What the loader told us, copied out of low memory at start-up: how we
 * were entered, the command line, the ACPI RSDP hint and the memory map.
 * Sources: struct hvm_start_info (PVH) or struct boot_params (Linux). */
#ifndef GUEST_RUNTIME_BOOTINFO_H
#define GUEST_RUNTIME_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#define BOOTINFO_CMDLINE_MAX 4096 /* including the NUL */
#define BOOTINFO_MEM_MAX     64

/* e820 / hvm_memmap_table_entry types */
#define MEM_TYPE_RAM      1
#define MEM_TYPE_RESERVED 2
#define MEM_TYPE_ACPI     3
#define MEM_TYPE_NVS      4

struct mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct boot_info {
	unsigned kind;         /* BOOT_KIND_* (image.h) */
	uint64_t info_paddr;   /* hvm_start_info or boot_params */
	char cmdline[BOOTINFO_CMDLINE_MAX];
	bool cmdline_truncated;
	uint64_t rsdp_paddr;   /* 0 when the loader gave no hint */
	unsigned mem_count;
	bool mem_truncated;
	struct mem_range mem[BOOTINFO_MEM_MAX];
};

extern struct boot_info boot_info;

/* Fills boot_info from the loader's structures. Returns false (after
 * printing why) when they are unusable, e.g. a bad PVH magic. */
bool bootinfo_parse(unsigned kind, uint64_t info_paddr);

/* Name of an entry path: "pvh", "linux32" or "linux64". */
const char *bootinfo_kind_name(unsigned kind);

/* Bytes of RAM (type 1) in the memory map. */
uint64_t bootinfo_ram_bytes(void);

#endif
