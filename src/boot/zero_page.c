/* boot_params ("the zero page") for the 64-bit Linux boot protocol: a
 * zeroed page, the image's own setup header, and the fields a boot loader
 * owns (loader type, heap, command line, initrd, e820 map, RSDP). */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "bootparam.h"
#include "bytes.h"
#include "layout.h"

_Static_assert(KFV_ZERO_PAGE_ADDR + BP_SIZE <= KFV_PML4_ADDR, "zero page overlaps page tables");
_Static_assert(BOOT_MEMMAP_MAX <= BP_E820_MAX, "e820 table too small for the memory map");

static void put_e820(uint8_t *bp, const struct boot_memmap *map)
{
	unsigned n = map->n < BOOT_MEMMAP_MAX ? map->n : BOOT_MEMMAP_MAX;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

		put_le64(e, map->e[i].addr);
		put_le64(e + 8, map->e[i].size);
		put_le32(e + 16, map->e[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)n;
}

int boot_write_zero_page(const struct guest_mem *gm, const uint8_t *image, size_t hdr_end,
			 const struct boot_memmap *map, uint64_t initrd_addr, uint64_t initrd_size,
			 struct boot_error *err)
{
	uint8_t bp[BP_SIZE];

	if (hdr_end < BP_HDR_MIN_END || hdr_end > BP_HDR_MAX_END)
		return boot_errf(err, -EINVAL, "setup header length out of range");
	/* A zeroed page also keeps the sentinel at 0x1ef zero, which tells
	 * the kernel that the loader did initialise boot_params. */
	memset(bp, 0, sizeof(bp));
	memcpy(bp + BP_HDR_START, image + BP_HDR_START, hdr_end - BP_HDR_START);

	bp[BP_TYPE_OF_LOADER] = BP_LOADER_UNDEFINED;
	bp[BP_LOADFLAGS] |= BP_CAN_USE_HEAP;
	put_le16(bp + BP_HEAP_END_PTR, BP_HEAP_END);
	put_le32(bp + BP_CMD_LINE_PTR, (uint32_t)KFV_CMDLINE_ADDR);
	put_le32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(KFV_CMDLINE_ADDR >> 32));
	/* Whatever the image carried in loader-owned fields is replaced. */
	put_le32(bp + BP_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	put_le32(bp + BP_RAMDISK_SIZE, (uint32_t)initrd_size);
	put_le32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	put_le32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	put_le64(bp + BP_SETUP_DATA, 0);
	put_le64(bp + BP_ACPI_RSDP_ADDR, KFV_ACPI_ADDR);
	put_e820(bp, map);

	if (gm_write(gm, KFV_ZERO_PAGE_ADDR, bp, sizeof(bp)))
		return boot_errf(err, -EFAULT, "cannot write boot_params");
	return 0;
}
