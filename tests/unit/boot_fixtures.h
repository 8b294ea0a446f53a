/* Helpers for the boot unit tests: guest RAM over an anonymous mapping,
 * and builders for small ELF/PVH and bzImage kernels whose fields the tests
 * then corrupt one at a time. Header-only (static inline) because each
 * test_*.c is built as its own binary from a single source file. */
#ifndef KFV_TESTS_BOOT_FIXTURES_H
#define KFV_TESTS_BOOT_FIXTURES_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/boot.h"
#include "boot/boot_internal.h"
#include "boot/bootparam.h"
#include "boot/bytes.h"
#include "boot/layout.h"
#include "boot/pvh.h"

#define FX_MIB (1ULL << 20)
#define FX_GIB (1ULL << 30)

struct fx_ram {
	struct guest_mem gm;
	uint8_t *buf;
	uint64_t size;
};

/* Anonymous and MAP_NORESERVE so a test can ask for more than 4 GiB of
 * "guest RAM" and only pay for the pages the loader touches. `fill` != 0
 * pre-fills RAM so tests can see what the loader zeroed. */
static inline bool fx_ram_init(struct fx_ram *r, uint64_t size, uint8_t fill)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	if (p == MAP_FAILED)
		return false;
	r->buf = p;
	r->size = size;
	if (fill)
		memset(p, fill, size);
	gm_init_from_buffer(&r->gm, p, size);
	return true;
}

static inline void fx_ram_free(struct fx_ram *r)
{
	if (r->buf)
		munmap(r->buf, r->size);
	r->buf = NULL;
}

static inline uint8_t *fx_at(const struct fx_ram *r, uint64_t gpa, uint64_t len)
{
	return gm_ptr(&r->gm, gpa, len);
}

/* A refusal must come with one line of text. */
static inline bool fx_msg_ok(const struct boot_error *e)
{
	size_t n = strnlen(e->msg, sizeof(e->msg));

	return n > 0 && n < sizeof(e->msg) && !memchr(e->msg, '\n', n);
}

static inline struct boot_config fx_config(const uint8_t *kernel, size_t size)
{
	struct boot_config c = {
		.kernel = kernel,
		.kernel_size = size,
		.cmdline = "console=ttyS0",
		.ncpus = 1,
	};

	return c;
}

/* --- ELF with a PVH note ---------------------------------------------- */

#define FX_MAX_SEGS 4

struct fx_seg {
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

struct fx_elf_opts {
	struct fx_seg seg[FX_MAX_SEGS];
	unsigned nseg;
	uint64_t entry;
	unsigned entry_size; /* 4 or 8; 0: no PVH note (only an unrelated one) */
};

struct fx_elf {
	uint8_t *img;
	size_t size;
	size_t note_off;     /* start of the PT_NOTE contents */
	size_t xen_note_off; /* the PVH note's header, 0 when absent */
	size_t seg_off[FX_MAX_SEGS];
	unsigned note_phdr;  /* index of the PT_NOTE program header */
};

static inline uint8_t fx_pattern(size_t i, unsigned seed)
{
	return (uint8_t)(i * 7 + seed * 13 + 1);
}

static inline Elf64_Ehdr *fx_elf_ehdr(struct fx_elf *e)
{
	return (Elf64_Ehdr *)e->img;
}

static inline Elf64_Phdr *fx_elf_phdr(struct fx_elf *e, unsigned i)
{
	return (Elf64_Phdr *)(e->img + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static inline size_t fx_align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

/* Layout: ELF header | PT_LOAD headers, PT_NOTE header | notes (a "GNU"
 * note, then the Xen one) | segment contents, the last one ending the file
 * so that cutting any byte off breaks something. */
static inline void fx_elf_build(struct fx_elf *e, const struct fx_elf_opts *o)
{
	size_t phoff = sizeof(Elf64_Ehdr), nph = o->nseg + 1, off;
	size_t gnu_note = 12 + 4 + 4, xen_note = o->entry_size ? 12 + 4 + o->entry_size : 0;
	Elf64_Ehdr *eh;
	uint8_t *n;

	memset(e, 0, sizeof(*e));
	e->note_phdr = o->nseg;
	e->note_off = phoff + nph * sizeof(Elf64_Phdr);
	off = fx_align16(e->note_off + gnu_note + xen_note);
	for (unsigned i = 0; i < o->nseg; i++) {
		e->seg_off[i] = off;
		off = fx_align16(off + o->seg[i].filesz);
	}
	e->size = o->nseg ? e->seg_off[o->nseg - 1] + o->seg[o->nseg - 1].filesz : off;
	e->img = calloc(1, e->size);

	eh = fx_elf_ehdr(e);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL; /* virtual; the loader must ignore it */
	eh->e_phoff = phoff;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (uint16_t)nph;

	for (unsigned i = 0; i < o->nseg; i++) {
		Elf64_Phdr *ph = fx_elf_phdr(e, i);

		ph->p_type = PT_LOAD;
		ph->p_flags = PF_R | PF_X;
		ph->p_offset = e->seg_off[i];
		ph->p_vaddr = 0xffffffff80000000ULL + o->seg[i].paddr;
		ph->p_paddr = o->seg[i].paddr;
		ph->p_filesz = o->seg[i].filesz;
		ph->p_memsz = o->seg[i].memsz;
		ph->p_align = 16;
		for (size_t j = 0; j < o->seg[i].filesz; j++)
			e->img[e->seg_off[i] + j] = fx_pattern(j, i);
	}
	fx_elf_phdr(e, o->nseg)->p_type = PT_NOTE;
	fx_elf_phdr(e, o->nseg)->p_offset = e->note_off;
	fx_elf_phdr(e, o->nseg)->p_filesz = gnu_note + xen_note;
	fx_elf_phdr(e, o->nseg)->p_align = 4;

	n = e->img + e->note_off;
	put_le32(n, 4);
	put_le32(n + 4, 4);
	put_le32(n + 8, 3); /* NT_GNU_BUILD_ID-like, also type 3 */
	memcpy(n + 12, "GNU", 4);
	put_le32(n + 16, 0x12345678);
	if (o->entry_size) {
		e->xen_note_off = e->note_off + gnu_note;
		n = e->img + e->xen_note_off;
		put_le32(n, 4);
		put_le32(n + 4, o->entry_size);
		put_le32(n + 8, XEN_ELFNOTE_PHYS32_ENTRY);
		memcpy(n + 12, "Xen", 4);
		if (o->entry_size == 8)
			put_le64(n + 16, o->entry);
		else
			put_le32(n + 16, (uint32_t)o->entry);
	}
}

/* Two segments: text at 1 MiB (file-backed), data at 2 MiB with a .bss
 * tail; the PVH entry 0x40 bytes into the text. */
static inline void fx_elf_default(struct fx_elf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nseg = 2;
	o->seg[0] = (struct fx_seg){ .paddr = FX_MIB, .filesz = 0x180, .memsz = 0x180 };
	o->seg[1] = (struct fx_seg){ .paddr = 2 * FX_MIB, .filesz = 0x90, .memsz = 0x3000 };
	o->entry = FX_MIB + 0x40;
	o->entry_size = 8;
}

/* --- bzImage -------------------------------------------------------------- */

struct fx_bz_opts {
	uint16_t version;
	uint8_t setup_sects;     /* raw field: 0 means 4 */
	uint32_t code_size;      /* protected-mode bytes; a multiple of 16 */
	uint32_t syssize;        /* 0: code_size / 16 */
	uint16_t xloadflags;
	uint8_t loadflags;
	uint8_t relocatable;
	uint8_t hdr_len_byte;    /* byte at 0x201 */
	uint64_t pref_address;
	uint32_t kernel_alignment;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
};

static inline void fx_bz_default(struct fx_bz_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->version = 0x020f;
	o->setup_sects = 4;
	o->code_size = 0x2000;
	o->xloadflags = BP_XLF_KERNEL_64 | 0x2;
	o->loadflags = BP_LOADED_HIGH;
	o->relocatable = 1;
	o->hdr_len_byte = 0x6a; /* header ends at 0x26c, as in Linux */
	o->pref_address = 16 * FX_MIB;
	o->kernel_alignment = 2 * FX_MIB;
	o->init_size = 0x800000;
	o->initrd_addr_max = 0x7fffffff;
	o->cmdline_size = 0x7ff;
}

static inline size_t fx_bz_setup_size(const struct fx_bz_opts *o)
{
	return ((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
}

static inline uint8_t *fx_bz_build(const struct fx_bz_opts *o, size_t *size)
{
	size_t setup = fx_bz_setup_size(o);
	uint8_t *d;

	*size = setup + o->code_size;
	d = calloc(1, *size);
	for (size_t i = 0; i < setup; i++)
		d[i] = 0xcc; /* real-mode code we never run */
	for (size_t i = 0; i < o->code_size; i++)
		d[setup + i] = fx_pattern(i, 9);
	memset(d + BP_HDR_START, 0, BP_HDR_MAX_END - BP_HDR_START);
	d[BP_SETUP_SECTS] = o->setup_sects;
	put_le16(d + 0x1f2, 1);          /* root_flags */
	put_le32(d + BP_SYSSIZE, o->syssize ? o->syssize : o->code_size / 16);
	put_le16(d + 0x1fa, 0xffff);     /* vid_mode */
	put_le16(d + BP_BOOT_FLAG, BP_BOOT_FLAG_MAGIC);
	d[BP_JUMP] = 0xeb;
	d[BP_JUMP + 1] = o->hdr_len_byte;
	memcpy(d + BP_HEADER, "HdrS", 4);
	put_le16(d + BP_VERSION, o->version);
	put_le16(d + 0x20e, 0x1234);     /* kernel_version */
	d[BP_TYPE_OF_LOADER] = 0x42;     /* the loader must overwrite it */
	d[BP_LOADFLAGS] = o->loadflags;
	put_le32(d + 0x214, 0x100000);   /* code32_start */
	put_le32(d + BP_RAMDISK_IMAGE, 0xdeadbeef); /* stale values to be replaced */
	put_le32(d + BP_RAMDISK_SIZE, 0xdeadbeef);
	put_le32(d + BP_CMD_LINE_PTR, 0xdeadbeef);
	put_le32(d + BP_INITRD_ADDR_MAX, o->initrd_addr_max);
	put_le32(d + BP_KERNEL_ALIGNMENT, o->kernel_alignment);
	d[BP_RELOCATABLE] = o->relocatable;
	d[0x235] = 21;                   /* min_alignment */
	put_le16(d + BP_XLOADFLAGS, o->xloadflags);
	put_le32(d + BP_CMDLINE_SIZE, o->cmdline_size);
	put_le64(d + BP_SETUP_DATA, 0x1122334455667788ULL);
	put_le64(d + BP_PREF_ADDRESS, o->pref_address);
	put_le32(d + BP_INIT_SIZE, o->init_size);
	put_le32(d + 0x264, 0x4000);     /* handover_offset */
	return d;
}

/* --- ACPI ------------------------------------------------------------------ */

/* Finds a table through RSDP -> XSDT (or the DSDT through the FADT);
 * returns its address or 0. Checks nothing: tests assert separately. */
static inline uint64_t fx_acpi_find(const struct fx_ram *r, const char *sig)
{
	const uint8_t *rsdp = fx_at(r, KFV_ACPI_ADDR, 36), *xsdt;
	uint32_t len;

	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8))
		return 0;
	xsdt = fx_at(r, get_le64(rsdp + 24), 36);
	if (!xsdt)
		return 0;
	len = get_le32(xsdt + 4);
	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		uint64_t gpa = get_le64(xsdt + off);
		const uint8_t *t = fx_at(r, gpa, 36);

		if (!t)
			continue;
		if (!memcmp(t, sig, 4))
			return gpa;
		if (!memcmp(sig, "DSDT", 4) && !memcmp(t, "FACP", 4))
			return get_le64(t + 140);
	}
	return 0;
}

static inline uint8_t *fx_read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		d = malloc((size_t)n);
		if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
			free(d);
			d = NULL;
		}
		*size = (size_t)n;
	}
	fclose(f);
	return d;
}

#endif
