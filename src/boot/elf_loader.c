/* ELF64 kernels with a PVH entry note (what QEMU's -M microvm -kernel and
 * Firecracker boot): validate the header and program headers, find
 * XEN_ELFNOTE_PHYS32_ENTRY, copy PT_LOAD segments to their physical
 * addresses, then hand the guest an hvm_start_info. Every field is
 * untrusted; nothing is written to guest memory until every segment and
 * the note have been checked. */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "boot_internal.h"
#include "bytes.h"
#include "layout.h"
#include "pvh.h"

struct elf_image {
	const uint8_t *data;
	size_t size;
	Elf64_Ehdr eh;
	uint64_t kernel_end;  /* end of the highest PT_LOAD */
	uint64_t entry;
	bool have_entry;
};

typedef unsigned long long ull;

static int check_ehdr(struct elf_image *img, struct boot_error *err)
{
	const Elf64_Ehdr *eh = &img->eh;
	uint64_t table;

	if (img->size < sizeof(*eh))
		return boot_errf(err, -ENOEXEC, "ELF header truncated (%zu of %zu bytes)", img->size,
				 sizeof(*eh));
	memcpy(&img->eh, img->data, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return boot_errf(err, -ENOEXEC, "ELF class %u is not ELF64", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return boot_errf(err, -ENOEXEC, "ELF kernel is not little-endian");
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return boot_errf(err, -ENOEXEC, "unknown ELF version %u", eh->e_ident[EI_VERSION]);
	if (eh->e_machine != EM_X86_64)
		return boot_errf(err, -ENOEXEC, "ELF machine %u is not x86-64", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return boot_errf(err, -ENOEXEC, "ELF type %u is not an executable (ET_EXEC)",
				 eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return boot_errf(err, -ENOEXEC, "ELF program header size %u, expected %zu",
				 eh->e_phentsize, sizeof(Elf64_Phdr));
	/* PN_XNUM would move the count into section 0; a kernel never needs it. */
	if (eh->e_phnum == 0 || eh->e_phnum >= PN_XNUM)
		return boot_errf(err, -ENOEXEC, "ELF has %u program headers", eh->e_phnum);
	table = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr); /* < 4 MiB: no overflow */
	if (eh->e_phoff > img->size || table > img->size - eh->e_phoff)
		return boot_errf(err, -ENOEXEC,
				 "ELF program headers at 0x%llx (+0x%llx) outside the %zu-byte file",
				 (ull)eh->e_phoff, (ull)table, img->size);
	return 0;
}

static void get_phdr(const struct elf_image *img, unsigned i, Elf64_Phdr *ph)
{
	/* memcpy: e_phoff need not be aligned. check_ehdr() bounded the table. */
	memcpy(ph, img->data + img->eh.e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static bool in_file(const struct elf_image *img, uint64_t off, uint64_t len)
{
	return off <= img->size && len <= img->size - off;
}

static int check_segment(const struct guest_mem *gm, const struct elf_image *img,
			 const Elf64_Phdr *ph, unsigned i, struct boot_error *err)
{
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz)
		return boot_errf(err, -ENOEXEC,
				 "ELF segment %u: file size 0x%llx larger than memory size 0x%llx", i,
				 (ull)ph->p_filesz, (ull)ph->p_memsz);
	if (!in_file(img, ph->p_offset, ph->p_filesz))
		return boot_errf(err, -ENOEXEC,
				 "ELF segment %u: bytes 0x%llx+0x%llx outside the %zu-byte file", i,
				 (ull)ph->p_offset, (ull)ph->p_filesz, img->size);
	if (ph->p_paddr > UINT64_MAX - ph->p_memsz)
		return boot_errf(err, -ENOEXEC, "ELF segment %u: address 0x%llx + size 0x%llx overflows",
				 i, (ull)ph->p_paddr, (ull)ph->p_memsz);
	end = ph->p_paddr + ph->p_memsz;
	/* Below 1 MiB are the GDT, page tables, boot info, MP and ACPI tables. */
	if (ph->p_paddr < KFV_HIGH_RAM_START)
		return boot_errf(err, -ENOEXEC,
				 "ELF segment %u at 0x%llx is below 1 MiB, where the boot structures live",
				 i, (ull)ph->p_paddr);
	/* A 32-bit entry with paging off can only reach RAM below the hole. */
	if (end > KFV_MMIO_HOLE_START)
		return boot_errf(err, -ENOEXEC,
				 "ELF segment %u [0x%llx, 0x%llx) reaches the MMIO hole at 0x%llx", i,
				 (ull)ph->p_paddr, (ull)end, (ull)KFV_MMIO_HOLE_START);
	if (end > gm_low_end(gm) || !gm_ptr(gm, ph->p_paddr, ph->p_memsz))
		return boot_errf(err, -ENOSPC,
				 "ELF segment %u [0x%llx, 0x%llx) does not fit in guest RAM (ends at 0x%llx)",
				 i, (ull)ph->p_paddr, (ull)end, (ull)gm_low_end(gm));
	return 0;
}

static uint64_t align_up4(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1); /* v <= UINT32_MAX: no overflow */
}

/* Walks one PT_NOTE segment looking for the PVH entry note. Notes are
 * {namesz, descsz, type, name, desc} with name and desc padded to the
 * segment's alignment (4, or 8 for some toolchains). */
static int scan_notes(struct elf_image *img, const Elf64_Phdr *ph, unsigned i,
		      struct boot_error *err)
{
	uint64_t align = ph->p_align == 8 ? 8 : 4;
	const uint8_t *p;
	uint64_t len, off = 0;

	if (!in_file(img, ph->p_offset, ph->p_filesz))
		return boot_errf(err, -ENOEXEC, "ELF note segment %u: bytes 0x%llx+0x%llx outside the "
				 "%zu-byte file", i, (ull)ph->p_offset, (ull)ph->p_filesz, img->size);
	p = img->data + ph->p_offset;
	len = ph->p_filesz;
	while (len - off >= 12) {
		uint32_t namesz = get_le32(p + off);
		uint32_t descsz = get_le32(p + off + 4);
		uint32_t type = get_le32(p + off + 8);
		uint64_t name_pad = align_up4(namesz, align);
		uint64_t desc_pad = align_up4(descsz, align);
		const uint8_t *name, *desc;

		off += 12;
		if (name_pad > len - off || descsz > len - off - name_pad)
			return boot_errf(err, -ENOEXEC,
					 "malformed ELF note in segment %u: name %u + desc %u bytes "
					 "overrun the segment", i, namesz, descsz);
		name = p + off;
		desc = name + name_pad;
		/* The last note's desc padding may be cut by the segment end. */
		off += name_pad + (desc_pad < len - off - name_pad ? desc_pad : len - off - name_pad);

		if (type != XEN_ELFNOTE_PHYS32_ENTRY || namesz != 4 || memcmp(name, "Xen", 4))
			continue;
		if (img->have_entry)
			continue; /* the first one wins, as in other loaders */
		if (descsz == 4)
			img->entry = get_le32(desc);
		else if (descsz == 8)
			img->entry = get_le64(desc);
		else
			return boot_errf(err, -ENOEXEC, "PVH entry note has a %u-byte value, expected 4 or 8",
					 descsz);
		if (img->entry >= KFV_MMIO_HOLE_START)
			return boot_errf(err, -ENOEXEC, "PVH entry 0x%llx is not in 32-bit RAM",
					 (ull)img->entry);
		img->have_entry = true;
	}
	return 0;
}

/* First pass: everything is checked before guest memory is touched. */
static int check_image(const struct guest_mem *gm, struct elf_image *img, struct boot_error *err)
{
	bool entry_loaded = false, any_load = false;
	Elf64_Phdr ph;
	int ret;

	for (unsigned i = 0; i < img->eh.e_phnum; i++) {
		get_phdr(img, i, &ph);
		if (ph.p_type == PT_NOTE) {
			ret = scan_notes(img, &ph, i, err);
			if (ret)
				return ret;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		ret = check_segment(gm, img, &ph, i, err);
		if (ret)
			return ret;
		any_load = true;
		if (ph.p_paddr + ph.p_memsz > img->kernel_end)
			img->kernel_end = ph.p_paddr + ph.p_memsz;
	}
	if (!img->have_entry)
		return boot_errf(err, -ENOEXEC, "ELF kernel has no PVH entry note "
				 "(XEN_ELFNOTE_PHYS32_ENTRY); only PVH ELF kernels are supported");
	if (!any_load)
		return boot_errf(err, -ENOEXEC, "ELF kernel has no loadable segment");
	for (unsigned i = 0; i < img->eh.e_phnum; i++) {
		get_phdr(img, i, &ph);
		if (ph.p_type == PT_LOAD && img->entry >= ph.p_paddr &&
		    img->entry - ph.p_paddr < ph.p_memsz)
			entry_loaded = true;
	}
	if (!entry_loaded)
		return boot_errf(err, -ENOEXEC, "PVH entry 0x%llx is outside every loaded segment",
				 (ull)img->entry);
	return 0;
}

static int load_segments(const struct guest_mem *gm, const struct elf_image *img,
			 struct boot_error *err)
{
	Elf64_Phdr ph;

	for (unsigned i = 0; i < img->eh.e_phnum; i++) {
		uint8_t *dst;

		get_phdr(img, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz); /* checked in check_segment() */
		if (!dst)
			return boot_errf(err, -ENOSPC, "ELF segment %u does not fit in guest RAM", i);
		memcpy(dst, img->data + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz); /* .bss */
	}
	return 0;
}

int boot_load_elf(const struct guest_mem *gm, const struct boot_config *cfg,
		  struct boot_entry *entry, struct boot_error *err)
{
	struct elf_image img = { .data = cfg->kernel, .size = cfg->kernel_size };
	struct boot_memmap map;
	uint64_t initrd_addr = 0;
	int ret;

	ret = check_ehdr(&img, err);
	if (ret)
		return ret;
	ret = check_image(gm, &img, err);
	if (ret)
		return ret;
	if (boot_memmap_build(gm, &map))
		return boot_errf(err, -ENOSPC, "guest RAM too small for a memory map");

	ret = load_segments(gm, &img, err);
	if (ret)
		return ret;
	ret = boot_place_initrd(gm, cfg, img.kernel_end, KFV_MMIO_HOLE_START, &initrd_addr, err);
	if (ret)
		return ret;
	ret = boot_write_cmdline(gm, cfg->cmdline, KFV_CMDLINE_MAX - 1, err);
	if (ret)
		return ret;
	ret = boot_write_pvh_info(gm, &map, initrd_addr, initrd_addr ? cfg->initrd_size : 0, err);
	if (ret)
		return ret;

	entry->mode = BOOT_ENTRY_PVH32;
	entry->rip = img.entry;
	entry->arg = KFV_PVH_INFO_ADDR;
	return 0;
}
