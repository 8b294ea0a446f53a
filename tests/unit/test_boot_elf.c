/* ELF + PVH loader: a valid kernel lands where its program headers say,
 * with the start info describing it; every malformed variant is refused
 * with -ENOEXEC (or -ENOSPC when it simply does not fit) and a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "boot_fixtures.h"

#define RAM_SIZE (64 * FX_MIB)

struct ctx {
	struct fx_ram ram;
	struct fx_elf elf;
	struct fx_elf_opts opts;
	struct boot_config cfg;
	struct boot_entry entry;
	struct boot_error err;
};

static void build(struct ctx *c)
{
	free(c->elf.img);
	fx_elf_build(&c->elf, &c->opts);
	c->cfg = fx_config(c->elf.img, c->elf.size);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || !fx_ram_init(&c->ram, RAM_SIZE, 0xaa))
		return -1;
	fx_elf_default(&c->opts);
	build(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fx_ram_free(&c->ram);
	free(c->elf.img);
	free(c);
	return 0;
}

static int load(struct ctx *c)
{
	memset(&c->err, 0, sizeof(c->err));
	return boot_load(&c->ram.gm, &c->cfg, &c->entry, &c->err);
}

/* Expects a refusal with `errnum` and a message containing `needle`. */
static void expect_refusal(struct ctx *c, int errnum, const char *needle)
{
	int ret = load(c);

	if (ret != errnum || !strstr(c->err.msg, needle))
		print_error("got %d \"%s\", wanted %d \"...%s...\"\n", ret, c->err.msg, errnum, needle);
	assert_int_equal(ret, errnum);
	assert_true(fx_msg_ok(&c->err));
	assert_non_null(strstr(c->err.msg, needle));
}

static struct hvm_start_info start_info(struct ctx *c)
{
	struct hvm_start_info si;

	assert_int_equal(gm_read(&c->ram.gm, KFV_PVH_INFO_ADDR, &si, sizeof(si)), 0);
	return si;
}

static void test_valid_load(void **state)
{
	struct ctx *c = *state;
	static const uint8_t initrd[5000] = { 1, 2, 3, [4999] = 0x77 };
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	const uint8_t *p;

	c->cfg.initrd = initrd;
	c->cfg.initrd_size = sizeof(initrd);
	assert_int_equal(load(c), 0);
	assert_int_equal(c->entry.mode, BOOT_ENTRY_PVH32);
	assert_int_equal(c->entry.rip, FX_MIB + 0x40);
	assert_int_equal(c->entry.arg, KFV_PVH_INFO_ADDR);

	/* Segment bytes, and the .bss zeroed over the 0xaa fill. */
	p = fx_at(&c->ram, FX_MIB, 0x180);
	for (size_t i = 0; i < 0x180; i++)
		assert_int_equal(p[i], fx_pattern(i, 0));
	p = fx_at(&c->ram, 2 * FX_MIB, 0x3000);
	for (size_t i = 0; i < 0x90; i++)
		assert_int_equal(p[i], fx_pattern(i, 1));
	for (size_t i = 0x90; i < 0x3000; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(*fx_at(&c->ram, 2 * FX_MIB + 0x3000, 1), 0xaa); /* no further */

	si = start_info(c);
	assert_int_equal(si.magic, HVM_START_MAGIC);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.rsdp_paddr, KFV_ACPI_ADDR);
	assert_int_equal(si.cmdline_paddr, KFV_CMDLINE_ADDR);
	assert_string_equal((const char *)fx_at(&c->ram, KFV_CMDLINE_ADDR, 14), "console=ttyS0");
	assert_int_equal(si.nr_modules, 1);
	assert_true(si.modlist_paddr > KFV_PVH_INFO_ADDR);
	assert_true(si.modlist_paddr + sizeof(mod) <= KFV_PVH_INFO_ADDR + BOOT_PAGE_SIZE);
	assert_int_equal(gm_read(&c->ram.gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.size, sizeof(initrd));
	assert_int_equal(mod.paddr & 0xfff, 0);
	assert_true(mod.paddr >= 2 * FX_MIB + 0x3000);        /* above the kernel */
	assert_true(mod.paddr + mod.size <= RAM_SIZE);
	assert_true(mod.paddr + mod.size > RAM_SIZE - 0x1000); /* as high as possible */
	assert_memory_equal(fx_at(&c->ram, mod.paddr, mod.size), initrd, sizeof(initrd));
}

static void test_memmap(void **state)
{
	struct ctx *c = *state;
	struct hvm_start_info si;
	uint64_t ram = 0;

	assert_int_equal(load(c), 0);
	si = start_info(c);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	assert_int_equal(si.memmap_paddr, KFV_PVH_INFO_ADDR + sizeof(si));
	assert_int_equal(si.memmap_entries, 3);
	for (unsigned i = 0; i < si.memmap_entries; i++) {
		struct hvm_memmap_table_entry me;

		assert_int_equal(gm_read(&c->ram.gm, si.memmap_paddr + i * sizeof(me), &me,
					 sizeof(me)), 0);
		assert_int_equal(me.reserved, 0);
		if (me.type != BOOT_E820_RAM)
			continue;
		ram += me.size;
		/* Usable RAM never covers the EBDA/BIOS area or the MMIO hole. */
		assert_true(me.addr + me.size <= KFV_LOW_RAM_END || me.addr >= KFV_HIGH_RAM_START);
		assert_true(me.addr + me.size <= KFV_MMIO_HOLE_START || me.addr >= KFV_MMIO_HOLE_END);
	}
	assert_int_equal(ram, RAM_SIZE - (KFV_HIGH_RAM_START - KFV_LOW_RAM_END));
}

static void test_four_byte_note_and_no_bss(void **state)
{
	struct ctx *c = *state;

	c->opts.entry_size = 4;
	c->opts.seg[1].memsz = c->opts.seg[1].filesz;
	build(c);
	assert_int_equal(load(c), 0);
	assert_int_equal(c->entry.rip, FX_MIB + 0x40);
}

static void test_note_alignment_8(void **state)
{
	struct ctx *c = *state;

	/* With 8-byte note alignment the GNU note's name (4) and desc (4)
	 * pad to 8 each: 12 + 8 + 8 = 28 bytes before the Xen note, which the
	 * 4-aligned builder put at 20. Rebuild the notes by hand. */
	uint8_t *n = c->elf.img + c->elf.note_off;

	fx_elf_phdr(&c->elf, c->elf.note_phdr)->p_align = 8;
	memset(n, 0, 48);
	put_le32(n, 4);
	put_le32(n + 4, 8);
	put_le32(n + 8, XEN_ELFNOTE_PHYS32_ENTRY);
	memcpy(n + 12, "Xen", 4);
	memset(n + 16, 0, 4); /* name padding to 8 */
	put_le64(n + 20, FX_MIB + 0x48);
	fx_elf_phdr(&c->elf, c->elf.note_phdr)->p_filesz = 28;
	assert_int_equal(load(c), 0);
	assert_int_equal(c->entry.rip, FX_MIB + 0x48);
}

static void test_truncated_everywhere(void **state)
{
	struct ctx *c = *state;

	/* The last segment's bytes end the file: any shorter file is bad. */
	for (size_t len = 0; len < c->elf.size; len++) {
		c->cfg.kernel_size = len;
		memset(&c->err, 0, sizeof(c->err));
		int ret = boot_load(&c->ram.gm, &c->cfg, &c->entry, &c->err);

		if (ret != -ENOEXEC)
			print_error("length %zu: %d %s\n", len, ret, c->err.msg);
		assert_int_equal(ret, -ENOEXEC);
		assert_true(fx_msg_ok(&c->err));
	}
	c->cfg.kernel_size = c->elf.size;
	assert_int_equal(load(c), 0);
}

static void test_bad_header_fields(void **state)
{
	struct ctx *c = *state;
	Elf64_Ehdr *eh = fx_elf_ehdr(&c->elf);
	Elf64_Ehdr saved = *eh;

	eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_refusal(c, -ENOEXEC, "not ELF64");
	*eh = saved;
	eh->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_refusal(c, -ENOEXEC, "little-endian");
	*eh = saved;
	eh->e_ident[EI_VERSION] = 0;
	expect_refusal(c, -ENOEXEC, "ELF version");
	*eh = saved;
	eh->e_machine = EM_386;
	expect_refusal(c, -ENOEXEC, "not x86-64");
	*eh = saved;
	eh->e_type = ET_DYN;
	expect_refusal(c, -ENOEXEC, "ET_EXEC");
	*eh = saved;
	eh->e_phentsize = 32;
	expect_refusal(c, -ENOEXEC, "program header size");
	*eh = saved;
	eh->e_phnum = 0;
	expect_refusal(c, -ENOEXEC, "0 program headers");
	*eh = saved;
	eh->e_phnum = PN_XNUM;
	expect_refusal(c, -ENOEXEC, "program headers");
	*eh = saved;
	eh->e_phnum = 200; /* table runs off the end of the file */
	expect_refusal(c, -ENOEXEC, "outside the");
	*eh = saved;
	eh->e_phoff = c->elf.size;
	expect_refusal(c, -ENOEXEC, "outside the");
	*eh = saved;
	eh->e_phoff = UINT64_MAX - 8; /* offset + size would wrap */
	expect_refusal(c, -ENOEXEC, "outside the");
	*eh = saved;
	assert_int_equal(load(c), 0);
}

static void test_bad_segments(void **state)
{
	struct ctx *c = *state;
	Elf64_Phdr *ph = fx_elf_phdr(&c->elf, 1);
	Elf64_Phdr saved = *ph;

	ph->p_offset = c->elf.size - 0x10;
	expect_refusal(c, -ENOEXEC, "outside the");
	*ph = saved;
	ph->p_offset = UINT64_MAX - 0x10;
	expect_refusal(c, -ENOEXEC, "outside the");
	*ph = saved;
	ph->p_filesz = ph->p_memsz + 1;
	expect_refusal(c, -ENOEXEC, "larger than memory size");
	*ph = saved;
	ph->p_paddr = KFV_ACPI_ADDR; /* over the boot structures */
	expect_refusal(c, -ENOEXEC, "below 1 MiB");
	*ph = saved;
	ph->p_paddr = 0;
	expect_refusal(c, -ENOEXEC, "below 1 MiB");
	*ph = saved;
	ph->p_paddr = KFV_MMIO_HOLE_START - 0x1000; /* straddles the hole */
	expect_refusal(c, -ENOEXEC, "MMIO hole");
	*ph = saved;
	ph->p_paddr = KFV_MMIO_HOLE_END; /* above 4 GiB */
	expect_refusal(c, -ENOEXEC, "MMIO hole");
	*ph = saved;
	ph->p_paddr = RAM_SIZE - 0x1000; /* runs past the end of RAM */
	expect_refusal(c, -ENOSPC, "does not fit in guest RAM");
	*ph = saved;
	ph->p_paddr = 128 * FX_MIB; /* wholly beyond RAM */
	expect_refusal(c, -ENOSPC, "does not fit in guest RAM");
	*ph = saved;
	ph->p_paddr = UINT64_MAX - 0x100; /* p_paddr + p_memsz wraps */
	expect_refusal(c, -ENOEXEC, "overflows");
	*ph = saved;
	ph->p_memsz = UINT64_MAX;
	expect_refusal(c, -ENOEXEC, "overflows");
	*ph = saved;
	assert_int_equal(load(c), 0);
}

static void test_bad_notes(void **state)
{
	struct ctx *c = *state;
	Elf64_Phdr *nph = fx_elf_phdr(&c->elf, c->elf.note_phdr);
	uint8_t *gnu = c->elf.img + c->elf.note_off;
	uint8_t *xen = c->elf.img + c->elf.xen_note_off;
	Elf64_Phdr saved_ph = *nph;
	uint8_t saved[64];

	memcpy(saved, gnu, sizeof(saved));
#define RESTORE() do { *nph = saved_ph; memcpy(gnu, saved, sizeof(saved)); } while (0)
	put_le32(gnu, 0xffffffff); /* namesz overruns */
	expect_refusal(c, -ENOEXEC, "malformed ELF note");
	RESTORE();
	put_le32(gnu + 4, 0xfffffff0); /* descsz overruns */
	expect_refusal(c, -ENOEXEC, "malformed ELF note");
	RESTORE();
	put_le32(xen + 4, 0x40);
	expect_refusal(c, -ENOEXEC, "malformed ELF note");
	RESTORE();
	put_le32(xen + 4, 2); /* fits, but not a 4- or 8-byte value */
	expect_refusal(c, -ENOEXEC, "expected 4 or 8");
	RESTORE();
	nph->p_offset = c->elf.size + 1;
	expect_refusal(c, -ENOEXEC, "note segment");
	RESTORE();
	nph->p_filesz = c->elf.size;
	expect_refusal(c, -ENOEXEC, "note segment");
	RESTORE();
	put_le32(xen + 8, 17); /* another Xen note type: no entry */
	expect_refusal(c, -ENOEXEC, "no PVH entry note");
	RESTORE();
	memcpy(xen + 12, "Xem", 4);
	expect_refusal(c, -ENOEXEC, "no PVH entry note");
	RESTORE();
	nph->p_type = PT_NULL; /* no PT_NOTE at all */
	expect_refusal(c, -ENOEXEC, "no PVH entry note");
	RESTORE();
	put_le64(xen + 16, 0x100000000ULL + FX_MIB); /* entry above 4 GiB */
	expect_refusal(c, -ENOEXEC, "32-bit RAM");
	RESTORE();
	put_le64(xen + 16, 3 * FX_MIB); /* entry not inside any segment */
	expect_refusal(c, -ENOEXEC, "outside every loaded segment");
	RESTORE();
#undef RESTORE
	assert_int_equal(load(c), 0);
}

static void test_missing_pvh_note(void **state)
{
	struct ctx *c = *state;

	c->opts.entry_size = 0;
	build(c);
	expect_refusal(c, -ENOEXEC, "no PVH entry note");
}

static void test_no_load_segment(void **state)
{
	struct ctx *c = *state;

	fx_elf_phdr(&c->elf, 0)->p_type = PT_NULL;
	fx_elf_phdr(&c->elf, 1)->p_type = PT_NULL;
	expect_refusal(c, -ENOEXEC, "no loadable segment");
}

static void test_initrd_and_cmdline_limits(void **state)
{
	struct ctx *c = *state;
	size_t big = RAM_SIZE;
	uint8_t *initrd = calloc(1, big);
	char *cmdline = malloc(KFV_CMDLINE_MAX + 1);

	c->cfg.initrd = initrd;
	c->cfg.initrd_size = big;
	expect_refusal(c, -ENOSPC, "initrd");
	/* Exactly what is left above the kernel (page-rounded) fits. */
	c->cfg.initrd_size = RAM_SIZE - (2 * FX_MIB + 0x3000);
	assert_int_equal(load(c), 0);
	c->cfg.initrd_size = RAM_SIZE - (2 * FX_MIB + 0x3000) + 1;
	expect_refusal(c, -ENOSPC, "initrd");
	c->cfg.initrd = NULL;
	c->cfg.initrd_size = 0;

	memset(cmdline, 'a', KFV_CMDLINE_MAX);
	cmdline[KFV_CMDLINE_MAX] = '\0';
	c->cfg.cmdline = cmdline;
	expect_refusal(c, -E2BIG, "command line too long");
	cmdline[KFV_CMDLINE_MAX - 1] = '\0'; /* 4095 bytes + NUL: the maximum */
	assert_int_equal(load(c), 0);
	assert_int_equal(strlen((const char *)fx_at(&c->ram, KFV_CMDLINE_ADDR, KFV_CMDLINE_MAX)),
			 KFV_CMDLINE_MAX - 1);
	free(initrd);
	free(cmdline);
}

/* Never crash: flip random bytes of a valid image and random garbage
 * behind an ELF magic; whatever happens must be 0 or an error + message. */
static void test_mutations(void **state)
{
	struct ctx *c = *state;
	uint8_t *orig = malloc(c->elf.size);
	unsigned seed = 12345;

	memcpy(orig, c->elf.img, c->elf.size);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(c->elf.img, orig, c->elf.size);
		for (int k = 0; k < 1 + iter % 4; k++) {
			size_t at = (size_t)rand_r(&seed) % (iter % 2 ? c->elf.size : 0x140);

			c->elf.img[at] = (uint8_t)rand_r(&seed);
		}
		int ret = load(c);

		assert_true(ret == 0 || (ret < 0 && fx_msg_ok(&c->err)));
	}
	for (int iter = 0; iter < 500; iter++) {
		for (size_t i = 4; i < c->elf.size; i++)
			c->elf.img[i] = (uint8_t)rand_r(&seed);
		int ret = load(c);

		assert_true(ret < 0 && fx_msg_ok(&c->err));
	}
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_byte_note_and_no_bss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_alignment_8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_pvh_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_load_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_and_cmdline_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
	};

	return cmocka_run_group_tests_name("boot_elf", tests, NULL, NULL);
}
