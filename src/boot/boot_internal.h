/* Declarations shared between the files of src/boot (and their unit tests);
 * the core uses boot.h and entry_state.h only. */
#ifndef KFV_BOOT_BOOT_INTERNAL_H
#define KFV_BOOT_BOOT_INTERNAL_H

#include <stdint.h>

#include "boot.h"
#include "layout.h"

#define BOOT_PAGE_SIZE 0x1000ULL

/* Formats err->msg (when err is non-NULL) and returns errnum, so a refusal
 * is one statement: `return boot_errf(err, -ENOEXEC, "...", ...);`. */
int boot_errf(struct boot_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- memory map (e820.c) ------------------------------------------------ */

#define BOOT_E820_RAM      1
#define BOOT_E820_RESERVED 2
#define BOOT_MEMMAP_MAX    4

struct boot_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct boot_memmap {
	struct boot_memmap_entry e[BOOT_MEMMAP_MAX];
	unsigned n;
};

/* Builds the guest's memory map from its RAM layout. -ENOSPC when low RAM
 * does not reach past 1 MiB (the boot structures alone need that much). */
int boot_memmap_build(const struct guest_mem *gm, struct boot_memmap *map)
	__attribute__((warn_unused_result));

/* --- payloads: command line and initrd (payload.c) ---------------------- */

/* Writes cmdline, NUL-terminated, at KFV_CMDLINE_ADDR. `limit` is the most
 * bytes (without the NUL) the kernel accepts; KFV_CMDLINE_MAX - 1 caps it.
 * 0, -E2BIG or -EFAULT. */
int boot_write_cmdline(const struct guest_mem *gm, const char *cmdline, uint64_t limit,
		       struct boot_error *err) __attribute__((warn_unused_result));

/* Copies the initrd page-aligned as high as possible inside
 * [floor, ceiling) of low RAM; *addr = 0 when there is none. 0 or -ENOSPC. */
int boot_place_initrd(const struct guest_mem *gm, const struct boot_config *cfg,
		      uint64_t floor, uint64_t ceiling, uint64_t *addr, struct boot_error *err)
	__attribute__((warn_unused_result));

/* --- loaders ------------------------------------------------------------- */

int boot_load_elf(const struct guest_mem *gm, const struct boot_config *cfg,
		  struct boot_entry *entry, struct boot_error *err) __attribute__((warn_unused_result));
int boot_load_bzimage(const struct guest_mem *gm, const struct boot_config *cfg,
		      struct boot_entry *entry, struct boot_error *err)
	__attribute__((warn_unused_result));

/* PVH: writes hvm_start_info, its memmap and modlist at KFV_PVH_INFO_ADDR. */
int boot_write_pvh_info(const struct guest_mem *gm, const struct boot_memmap *map,
			uint64_t initrd_addr, uint64_t initrd_size, struct boot_error *err)
	__attribute__((warn_unused_result));

/* Linux: writes boot_params at KFV_ZERO_PAGE_ADDR, copying the setup header
 * [0x1f1, hdr_end) from the image (the caller validated hdr_end). */
int boot_write_zero_page(const struct guest_mem *gm, const uint8_t *image, size_t hdr_end,
			 const struct boot_memmap *map, uint64_t initrd_addr, uint64_t initrd_size,
			 struct boot_error *err) __attribute__((warn_unused_result));

/* --- platform tables ----------------------------------------------------- */

/* Intel MP spec 1.4 floating pointer at KFV_EBDA_ADDR, configuration table
 * right after it (it may run past the EBDA into the reserved VGA/BIOS area
 * for many CPUs; it always ends below KFV_ACPI_ADDR). */
#define BOOT_MP_CONFIG_ADDR (KFV_EBDA_ADDR + 16)
int boot_write_mptable(const struct guest_mem *gm, unsigned ncpus, struct boot_error *err)
	__attribute__((warn_unused_result));

/* RSDP at KFV_ACPI_ADDR, then XSDT, FADT, DSDT, MADT. */
int boot_write_acpi(const struct guest_mem *gm, const struct boot_config *cfg,
		    struct boot_error *err) __attribute__((warn_unused_result));

struct bbuf;

/* Appends the DSDT's AML body: Scope(\_SB) with one Device per entry.
 * Nothing when n == 0. The caller checks the builder for overflow. */
void boot_aml_devices(struct bbuf *b, const struct boot_acpi_mmio_dev *devs, unsigned n);

/* Checks the ACPI device list of a configuration. 0 or -EINVAL. */
int boot_check_acpi_devs(const struct boot_config *cfg, struct boot_error *err)
	__attribute__((warn_unused_result));

#endif
