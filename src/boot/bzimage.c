/* Linux bzImage through the 64-bit boot protocol: validate the setup header
 * against its protocol version, copy the protected-mode kernel to its load
 * address, place the initrd and command line, write boot_params. The 16-bit
 * setup code is never run, so protocol 2.12 (xloadflags, XLF_KERNEL_64) is
 * the oldest we accept. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "boot_internal.h"
#include "bootparam.h"
#include "bytes.h"
#include "layout.h"

typedef unsigned long long ull;

struct bz_image {
	const uint8_t *data;
	size_t size;
	size_t hdr_end;         /* end of the setup header, capped at BP_HDR_MAX_END */
	uint64_t setup_size;    /* real-mode part: (setup_sects + 1) * 512 */
	uint64_t code_size;     /* protected-mode part: syssize * 16 */
	uint64_t file_code;     /* how much of it the file holds (code_size - 15 or more) */
	bool relocatable;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
};

static int parse_version(const struct bz_image *bz, struct boot_error *err)
{
	uint16_t version;

	if (bz->size < BP_VERSION + 2)
		return boot_errf(err, -ENOEXEC, "bzImage setup header truncated (%zu bytes)", bz->size);
	version = get_le16(bz->data + BP_VERSION);
	if (version < BP_MIN_VERSION)
		return boot_errf(err, -ENOEXEC, "boot protocol %u.%02u too old, need %u.%02u",
				 version >> 8, version & 0xff, BP_MIN_VERSION >> 8,
				 BP_MIN_VERSION & 0xff);
	return 0;
}

static int parse_header(struct bz_image *bz, struct boot_error *err)
{
	const uint8_t *d = bz->data;
	unsigned setup_sects;
	int ret;

	ret = parse_version(bz, err);
	if (ret)
		return ret;
	/* The jump at 0x200 skips the header: its 8-bit displacement says
	 * where the header ends. Some images jump past a version string, so
	 * the copy is capped where boot_params' next field begins. */
	bz->hdr_end = BP_HEADER + (size_t)d[BP_JUMP + 1];
	if (bz->hdr_end < BP_HDR_MIN_END)
		return boot_errf(err, -ENOEXEC, "setup header too short (0x%zx bytes) for protocol 2.12+",
				 bz->hdr_end - BP_HDR_START);
	if (bz->hdr_end > BP_HDR_MAX_END)
		bz->hdr_end = BP_HDR_MAX_END;
	if (bz->size < bz->hdr_end)
		return boot_errf(err, -ENOEXEC, "bzImage setup header truncated (%zu bytes, header ends "
				 "at 0x%zx)", bz->size, bz->hdr_end);
	if (!(get_le16(d + BP_XLOADFLAGS) & BP_XLF_KERNEL_64))
		return boot_errf(err, -ENOEXEC, "kernel is not 64-bit capable (XLF_KERNEL_64 clear)");
	if (!(d[BP_LOADFLAGS] & BP_LOADED_HIGH))
		return boot_errf(err, -ENOEXEC, "kernel does not load high (zImage), not supported");

	setup_sects = d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4;
	bz->setup_size = (uint64_t)(setup_sects + 1) * 512;
	bz->code_size = (uint64_t)get_le32(d + BP_SYSSIZE) * 16;
	if (bz->setup_size > bz->size)
		return boot_errf(err, -ENOEXEC, "bzImage setup (%u sectors) larger than the %zu-byte file",
				 setup_sects, bz->size);
	if (bz->code_size == 0)
		return boot_errf(err, -ENOEXEC, "bzImage has no protected-mode kernel (syssize 0)");
	/* syssize counts 16-byte paragraphs, rounded up: an image that is not
	 * padded to a whole paragraph may end up to 15 bytes early. */
	bz->file_code = bz->size - bz->setup_size;
	if (bz->file_code < bz->code_size && bz->code_size - bz->file_code >= 16)
		return boot_errf(err, -ENOEXEC, "bzImage truncated: syssize says %llu bytes of kernel, "
				 "the file has %llu after setup", (ull)bz->code_size,
				 (ull)bz->file_code);
	if (bz->file_code > bz->code_size)
		bz->file_code = bz->code_size; /* trailing bytes: a signature, not kernel */

	bz->relocatable = d[BP_RELOCATABLE] != 0;
	bz->kernel_alignment = get_le32(d + BP_KERNEL_ALIGNMENT);
	bz->initrd_addr_max = get_le32(d + BP_INITRD_ADDR_MAX);
	bz->cmdline_size = get_le32(d + BP_CMDLINE_SIZE);
	bz->pref_address = get_le64(d + BP_PREF_ADDRESS);
	bz->init_size = get_le32(d + BP_INIT_SIZE);
	if (bz->relocatable &&
	    (bz->kernel_alignment == 0 || (bz->kernel_alignment & (bz->kernel_alignment - 1))))
		return boot_errf(err, -ENOEXEC, "kernel_alignment 0x%x is not a power of two",
				 bz->kernel_alignment);
	/* Protocol 2.03+ gives the limit; 0 means the historical default. */
	if (bz->initrd_addr_max == 0)
		bz->initrd_addr_max = 0x37ffffff;
	return 0;
}

/* A relocatable kernel goes to pref_address rounded up to its alignment,
 * any other to 1 MiB. Either way it then needs init_size bytes from where
 * it will run (pref_address for a non-relocatable one) to decompress. */
static int place_kernel(const struct guest_mem *gm, const struct bz_image *bz, uint64_t *load,
			uint64_t *end, struct boot_error *err)
{
	uint64_t low_end = gm_low_end(gm);
	uint64_t at = KFV_HIGH_RAM_START, run, footprint;

	if (bz->relocatable) {
		uint64_t align = bz->kernel_alignment;

		at = bz->pref_address > at ? bz->pref_address : at;
		if (at > UINT64_MAX - (align - 1))
			return boot_errf(err, -ENOSPC, "kernel pref_address 0x%llx outside guest RAM",
					 (ull)bz->pref_address);
		at = (at + align - 1) & ~(align - 1);
	}
	run = (!bz->relocatable && bz->pref_address > at) ? bz->pref_address : at;
	if (at >= low_end || bz->code_size > low_end - at || run >= low_end ||
	    bz->init_size > low_end - run)
		return boot_errf(err, -ENOSPC, "kernel needs guest RAM at 0x%llx (%llu bytes of image, "
				 "init_size %u from 0x%llx) but low RAM ends at 0x%llx", (ull)at,
				 (ull)bz->code_size, bz->init_size, (ull)run, (ull)low_end);
	footprint = run + bz->init_size;
	*end = at + bz->code_size > footprint ? at + bz->code_size : footprint;
	*load = at;
	return 0;
}

int boot_load_bzimage(const struct guest_mem *gm, const struct boot_config *cfg,
		      struct boot_entry *entry, struct boot_error *err)
{
	struct bz_image bz = { .data = cfg->kernel, .size = cfg->kernel_size };
	struct boot_memmap map;
	uint64_t load = 0, end = 0, initrd_addr = 0;
	uint8_t *dst;
	int ret;

	ret = parse_header(&bz, err);
	if (ret)
		return ret;
	ret = place_kernel(gm, &bz, &load, &end, err);
	if (ret)
		return ret;
	if (boot_memmap_build(gm, &map))
		return boot_errf(err, -ENOSPC, "guest RAM too small for a memory map");

	dst = gm_ptr(gm, load, bz.code_size); /* place_kernel() checked the range */
	if (!dst)
		return boot_errf(err, -ENOSPC, "kernel does not fit in guest RAM at 0x%llx", (ull)load);
	memcpy(dst, bz.data + bz.setup_size, bz.file_code);
	memset(dst + bz.file_code, 0, bz.code_size - bz.file_code);
	/* initrd_addr_max is the last byte the initrd may occupy. */
	ret = boot_place_initrd(gm, cfg, end, (uint64_t)bz.initrd_addr_max + 1, &initrd_addr, err);
	if (ret)
		return ret;
	ret = boot_write_cmdline(gm, cfg->cmdline, bz.cmdline_size, err);
	if (ret)
		return ret;
	ret = boot_write_zero_page(gm, bz.data, bz.hdr_end, &map, initrd_addr,
				   initrd_addr ? cfg->initrd_size : 0, err);
	if (ret)
		return ret;

	entry->mode = BOOT_ENTRY_LINUX64;
	entry->rip = load + BP_ENTRY64_OFFSET;
	entry->arg = KFV_ZERO_PAGE_ADDR;
	return 0;
}
