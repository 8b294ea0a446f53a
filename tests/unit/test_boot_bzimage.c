/* bzImage loader, 64-bit boot protocol: the protected-mode kernel lands at
 * its load address, boot_params carries the image's header plus what the
 * loader owns, and every malformed header is refused with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "boot_fixtures.h"

#define RAM_SIZE (128 * FX_MIB)

struct ctx {
	struct fx_ram ram;
	struct fx_bz_opts opts;
	uint8_t *img;
	size_t size;
	struct boot_config cfg;
	struct boot_entry entry;
	struct boot_error err;
};

static void build(struct ctx *c)
{
	free(c->img);
	c->img = fx_bz_build(&c->opts, &c->size);
	c->cfg = fx_config(c->img, c->size);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || !fx_ram_init(&c->ram, RAM_SIZE, 0xaa))
		return -1;
	fx_bz_default(&c->opts);
	build(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fx_ram_free(&c->ram);
	free(c->img);
	free(c);
	return 0;
}

static int load(struct ctx *c)
{
	memset(&c->err, 0, sizeof(c->err));
	return boot_load(&c->ram.gm, &c->cfg, &c->entry, &c->err);
}

static void expect_refusal(struct ctx *c, int errnum, const char *needle)
{
	int ret = load(c);

	if (ret != errnum || !strstr(c->err.msg, needle))
		print_error("got %d \"%s\", wanted %d \"...%s...\"\n", ret, c->err.msg, errnum, needle);
	assert_int_equal(ret, errnum);
	assert_true(fx_msg_ok(&c->err));
	assert_non_null(strstr(c->err.msg, needle));
}

static const uint8_t *zero_page(struct ctx *c)
{
	return fx_at(&c->ram, KFV_ZERO_PAGE_ADDR, BP_SIZE);
}

/* Every header byte is the image's, except the fields the loader owns. */
static void assert_header_copied(const uint8_t *bp, const uint8_t *img, size_t hdr_end)
{
	for (size_t off = BP_HDR_START; off < hdr_end; off++) {
		bool owned = off == BP_TYPE_OF_LOADER || off == BP_LOADFLAGS ||
			     (off >= BP_RAMDISK_IMAGE && off < BP_RAMDISK_SIZE + 4) ||
			     (off >= BP_HEAP_END_PTR && off < BP_HEAP_END_PTR + 2) ||
			     (off >= BP_CMD_LINE_PTR && off < BP_CMD_LINE_PTR + 4) ||
			     (off >= BP_SETUP_DATA && off < BP_SETUP_DATA + 8);

		if (!owned && bp[off] != img[off])
			print_error("header byte 0x%zx: 0x%02x != 0x%02x\n", off, bp[off], img[off]);
		assert_true(owned || bp[off] == img[off]);
	}
	for (size_t off = hdr_end; off < BP_E820_TABLE; off++)
		if (off != BP_E820_ENTRIES)
			assert_int_equal(bp[off], 0);
}

static void assert_e820_sane(const uint8_t *bp, uint64_t ram_size)
{
	unsigned n = bp[BP_E820_ENTRIES];
	uint64_t ram = 0, prev_end = 0;

	assert_true(n >= 3 && n <= 4);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
		uint64_t addr = get_le64(e), size = get_le64(e + 8);
		uint32_t type = get_le32(e + 16);

		assert_true(size > 0);
		assert_true(addr >= prev_end); /* sorted, no overlap */
		prev_end = addr + size;
		assert_true(addr + size <= KFV_MMIO_HOLE_START || addr >= KFV_MMIO_HOLE_END);
		if (type == BOOT_E820_RAM) {
			ram += size;
			assert_true(addr + size <= KFV_LOW_RAM_END || addr >= KFV_HIGH_RAM_START);
		} else {
			assert_int_equal(type, BOOT_E820_RESERVED);
			assert_int_equal(addr, KFV_LOW_RAM_END);
			assert_int_equal(addr + size, KFV_HIGH_RAM_START);
		}
	}
	assert_int_equal(ram, ram_size - (KFV_HIGH_RAM_START - KFV_LOW_RAM_END));
}

static void test_valid_load(void **state)
{
	struct ctx *c = *state;
	static const uint8_t initrd[10000] = { 9, 8, 7, [9999] = 0x55 };
	const uint8_t *bp, *k;
	uint64_t rd, rd_size, kernel_end = 16 * FX_MIB + c->opts.init_size;

	c->cfg.initrd = initrd;
	c->cfg.initrd_size = sizeof(initrd);
	c->cfg.cmdline = "root=/dev/vda quiet";
	assert_int_equal(load(c), 0);
	assert_int_equal(c->entry.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(c->entry.rip, 16 * FX_MIB + 0x200);
	assert_int_equal(c->entry.arg, KFV_ZERO_PAGE_ADDR);

	k = fx_at(&c->ram, 16 * FX_MIB, c->opts.code_size);
	assert_memory_equal(k, c->img + fx_bz_setup_size(&c->opts), c->opts.code_size);
	assert_int_equal(*fx_at(&c->ram, 16 * FX_MIB + c->opts.code_size, 1), 0xaa);

	bp = zero_page(c);
	assert_header_copied(bp, c->img, 0x26c);
	for (size_t off = 0; off < BP_HDR_START; off++)
		if (off != BP_ACPI_RSDP_ADDR && (off < BP_EXT_RAMDISK_IMAGE || off >= 0xcc) &&
		    off != BP_E820_ENTRIES && (off < BP_ACPI_RSDP_ADDR || off >= BP_ACPI_RSDP_ADDR + 8))
			assert_int_equal(bp[off], 0);
	assert_int_equal(bp[BP_TYPE_OF_LOADER], 0xff);
	assert_int_equal(bp[BP_LOADFLAGS], BP_LOADED_HIGH | BP_CAN_USE_HEAP);
	assert_int_equal(get_le16(bp + BP_HEAP_END_PTR), BP_HEAP_END);
	assert_int_equal(get_le64(bp + BP_SETUP_DATA), 0);
	assert_int_equal(get_le16(bp + BP_VERSION), 0x020f);
	assert_int_equal(get_le32(bp + BP_CMD_LINE_PTR), KFV_CMDLINE_ADDR);
	assert_int_equal(get_le32(bp + BP_EXT_CMD_LINE_PTR), 0);
	assert_string_equal((const char *)fx_at(&c->ram, KFV_CMDLINE_ADDR, 20), "root=/dev/vda quiet");
	assert_int_equal(get_le64(bp + BP_ACPI_RSDP_ADDR), KFV_ACPI_ADDR);

	rd = get_le32(bp + BP_RAMDISK_IMAGE) | (uint64_t)get_le32(bp + BP_EXT_RAMDISK_IMAGE) << 32;
	rd_size = get_le32(bp + BP_RAMDISK_SIZE) | (uint64_t)get_le32(bp + BP_EXT_RAMDISK_SIZE) << 32;
	assert_int_equal(rd_size, sizeof(initrd));
	assert_int_equal(rd & 0xfff, 0);
	assert_true(rd >= kernel_end);
	assert_true(rd + rd_size <= RAM_SIZE);
	assert_true(rd + rd_size > RAM_SIZE - 0x1000);
	assert_memory_equal(fx_at(&c->ram, rd, rd_size), initrd, sizeof(initrd));
	assert_e820_sane(bp, RAM_SIZE);
}

static void test_no_initrd(void **state)
{
	struct ctx *c = *state;
	const uint8_t *bp;

	c->cfg.cmdline = "";
	assert_int_equal(load(c), 0);
	bp = zero_page(c);
	assert_int_equal(get_le32(bp + BP_RAMDISK_IMAGE), 0);
	assert_int_equal(get_le32(bp + BP_RAMDISK_SIZE), 0);
	assert_int_equal(*fx_at(&c->ram, KFV_CMDLINE_ADDR, 1), 0);
}

static void test_initrd_addr_max(void **state)
{
	struct ctx *c = *state;
	static const uint8_t initrd[3 * 4096 + 5];
	struct fx_ram big;
	const uint8_t *bp;
	uint64_t rd;

	/* 1.5 GiB of RAM but a kernel that takes initrds only below 896 MiB:
	 * the last byte of the initrd must be at or below initrd_addr_max. */
	assert_true(fx_ram_init(&big, 1536 * FX_MIB, 0));
	c->opts.initrd_addr_max = 0x37ffffff;
	build(c);
	c->cfg.initrd = initrd;
	c->cfg.initrd_size = sizeof(initrd);
	assert_int_equal(boot_load(&big.gm, &c->cfg, &c->entry, &c->err), 0);
	bp = fx_at(&big, KFV_ZERO_PAGE_ADDR, BP_SIZE);
	rd = get_le32(bp + BP_RAMDISK_IMAGE);
	assert_int_equal(rd & 0xfff, 0);
	assert_true(rd + sizeof(initrd) - 1 <= 0x37ffffff);
	assert_true(rd + sizeof(initrd) > 0x38000000 - 0x1000);
	assert_memory_equal(fx_at(&big, rd, sizeof(initrd)), initrd, sizeof(initrd));

	/* 0 means the historical default, the same 0x37ffffff. */
	c->opts.initrd_addr_max = 0;
	build(c);
	c->cfg.initrd = initrd;
	c->cfg.initrd_size = sizeof(initrd);
	assert_int_equal(boot_load(&big.gm, &c->cfg, &c->entry, &c->err), 0);
	assert_int_equal(get_le32(bp + BP_RAMDISK_IMAGE), rd);
	fx_ram_free(&big);
}

static void test_high_ram_e820(void **state)
{
	struct ctx *c = *state;
	struct fx_ram big;
	const uint8_t *bp, *e;

	assert_true(fx_ram_init(&big, 4 * FX_GIB, 0));
	assert_int_equal(boot_load(&big.gm, &c->cfg, &c->entry, &c->err), 0);
	bp = fx_at(&big, KFV_ZERO_PAGE_ADDR, BP_SIZE);
	assert_int_equal(bp[BP_E820_ENTRIES], 4);
	assert_e820_sane(bp, 4 * FX_GIB);
	e = bp + BP_E820_TABLE + 3 * BP_E820_ENTRY_SIZE;
	assert_int_equal(get_le64(e), KFV_MMIO_HOLE_END);
	assert_int_equal(get_le64(e + 8), 4 * FX_GIB - KFV_MMIO_HOLE_START);
	e = bp + BP_E820_TABLE + 2 * BP_E820_ENTRY_SIZE;
	assert_int_equal(get_le64(e) + get_le64(e + 8), KFV_MMIO_HOLE_START);
	fx_ram_free(&big);
}

static void test_not_relocatable(void **state)
{
	struct ctx *c = *state;

	c->opts.relocatable = 0;
	c->opts.pref_address = FX_MIB;
	c->opts.setup_sects = 0; /* means 4 */
	c->opts.hdr_len_byte = 0x78; /* jumps past a version string, as small guests do */
	build(c);
	assert_int_equal(load(c), 0);
	assert_int_equal(c->entry.rip, FX_MIB + 0x200);
	assert_memory_equal(fx_at(&c->ram, FX_MIB, c->opts.code_size), c->img + 5 * 512,
			    c->opts.code_size);
	assert_header_copied(zero_page(c), c->img, 0x202 + 0x78);
}

static void test_alignment_and_long_header(void **state)
{
	struct ctx *c = *state;

	/* pref_address rounded up to kernel_alignment. */
	c->opts.pref_address = 16 * FX_MIB + 0x1234;
	c->opts.hdr_len_byte = 0xff; /* longer than boot_params allows: capped */
	build(c);
	assert_int_equal(load(c), 0);
	assert_int_equal(c->entry.rip, 18 * FX_MIB + 0x200);
	assert_header_copied(zero_page(c), c->img, BP_HDR_MAX_END);
}

static void test_protocol_refusals(void **state)
{
	struct ctx *c = *state;

	c->opts.version = 0x0205;
	build(c);
	expect_refusal(c, -ENOEXEC, "boot protocol 2.05 too old, need 2.12");
	c->opts.version = 0x020b;
	build(c);
	expect_refusal(c, -ENOEXEC, "boot protocol 2.11 too old, need 2.12");
	c->opts.version = 0x020c;
	build(c);
	assert_int_equal(load(c), 0);

	c->opts.xloadflags = 0x2;
	build(c);
	expect_refusal(c, -ENOEXEC, "XLF_KERNEL_64");
	fx_bz_default(&c->opts);

	c->opts.loadflags = 0;
	build(c);
	expect_refusal(c, -ENOEXEC, "zImage");
	fx_bz_default(&c->opts);

	c->opts.hdr_len_byte = 0x20;
	build(c);
	expect_refusal(c, -ENOEXEC, "setup header too short");
	fx_bz_default(&c->opts);

	c->opts.kernel_alignment = 0x300000;
	build(c);
	expect_refusal(c, -ENOEXEC, "not a power of two");
	c->opts.kernel_alignment = 0;
	build(c);
	expect_refusal(c, -ENOEXEC, "not a power of two");
}

static void test_size_refusals(void **state)
{
	struct ctx *c = *state;

	c->img[BP_SETUP_SECTS] = 200; /* setup claims 100 KiB of a 10 KiB file */
	expect_refusal(c, -ENOEXEC, "larger than the");
	c->img[BP_SETUP_SECTS] = 4;
	put_le32(c->img + BP_SYSSIZE, c->opts.code_size / 16 + 2);
	expect_refusal(c, -ENOEXEC, "truncated");
	put_le32(c->img + BP_SYSSIZE, c->opts.code_size / 16 + 1); /* one paragraph short */
	expect_refusal(c, -ENOEXEC, "truncated");
	put_le32(c->img + BP_SYSSIZE, 0xffffffff);
	expect_refusal(c, -ENOEXEC, "truncated");
	put_le32(c->img + BP_SYSSIZE, 0);
	expect_refusal(c, -ENOEXEC, "syssize 0");
	put_le32(c->img + BP_SYSSIZE, c->opts.code_size / 16);
	assert_int_equal(load(c), 0);

	/* The kernel does not fit: init_size, pref_address past RAM, or a
	 * pref_address that would overflow when aligned. */
	put_le32(c->img + BP_INIT_SIZE, RAM_SIZE);
	expect_refusal(c, -ENOSPC, "low RAM ends");
	put_le32(c->img + BP_INIT_SIZE, c->opts.init_size);
	put_le64(c->img + BP_PREF_ADDRESS, RAM_SIZE);
	expect_refusal(c, -ENOSPC, "low RAM ends");
	put_le64(c->img + BP_PREF_ADDRESS, UINT64_MAX - 5);
	expect_refusal(c, -ENOSPC, "outside guest RAM");
	put_le64(c->img + BP_PREF_ADDRESS, KFV_MMIO_HOLE_START);
	expect_refusal(c, -ENOSPC, "low RAM ends");
	c->img[BP_RELOCATABLE] = 0; /* runs at pref_address: still must fit */
	expect_refusal(c, -ENOSPC, "low RAM ends");
	put_le64(c->img + BP_PREF_ADDRESS, 16 * FX_MIB);
	c->img[BP_RELOCATABLE] = 1;
	assert_int_equal(load(c), 0);
}

static void test_truncated_everywhere(void **state)
{
	struct ctx *c = *state;

	/* Every length short of setup + syssize * 16 is refused, including
	 * those too short to be recognised at all, except a last paragraph
	 * cut short: syssize rounds up, so those bytes are padding. */
	for (size_t len = 0; len < c->size - 15; len++) {
		c->cfg.kernel_size = len;
		int ret = load(c);

		if (ret != -ENOEXEC)
			print_error("length %zu: %d %s\n", len, ret, c->err.msg);
		assert_int_equal(ret, -ENOEXEC);
		assert_true(fx_msg_ok(&c->err));
	}
	for (size_t len = c->size - 15; len <= c->size; len++) {
		const uint8_t *k = fx_at(&c->ram, 16 * FX_MIB, c->opts.code_size);
		size_t have = len - fx_bz_setup_size(&c->opts);

		memset(c->ram.buf + 16 * FX_MIB, 0xaa, c->opts.code_size);
		c->cfg.kernel_size = len;
		assert_int_equal(load(c), 0);
		assert_memory_equal(k, c->img + fx_bz_setup_size(&c->opts), have);
		for (size_t i = have; i < c->opts.code_size; i++)
			assert_int_equal(k[i], 0);
	}
}

static void test_initrd_and_cmdline_limits(void **state)
{
	struct ctx *c = *state;
	uint64_t free_above = RAM_SIZE - (16 * FX_MIB + c->opts.init_size);
	uint8_t *initrd = calloc(1, free_above + 1);
	char cmdline[0x800 + 2];

	c->cfg.initrd = initrd;
	c->cfg.initrd_size = free_above + 1;
	expect_refusal(c, -ENOSPC, "initrd");
	c->cfg.initrd_size = free_above;
	assert_int_equal(load(c), 0);
	c->cfg.initrd = NULL;
	c->cfg.initrd_size = 0;

	memset(cmdline, 'x', sizeof(cmdline));
	cmdline[0x7ff] = '\0'; /* exactly cmdline_size */
	c->cfg.cmdline = cmdline;
	assert_int_equal(load(c), 0);
	cmdline[0x7ff] = 'x';
	cmdline[0x800] = '\0';
	expect_refusal(c, -E2BIG, "limit 2047");
	c->img[BP_CMDLINE_SIZE] = 0; /* a kernel that takes no command line at all */
	c->img[BP_CMDLINE_SIZE + 1] = 0;
	expect_refusal(c, -E2BIG, "command line too long");
	c->cfg.cmdline = "";
	assert_int_equal(load(c), 0);
	free(initrd);
}

static void test_mutations(void **state)
{
	struct ctx *c = *state;
	uint8_t *orig = malloc(c->size);
	unsigned seed = 777;

	memcpy(orig, c->img, c->size);
	for (int iter = 0; iter < 4000; iter++) {
		memcpy(c->img, orig, c->size);
		for (int k = 0; k < 1 + iter % 3; k++) {
			size_t at = BP_HDR_START + (size_t)rand_r(&seed) % (0x290 - BP_HDR_START);

			c->img[at] = (uint8_t)rand_r(&seed);
		}
		int ret = load(c);

		assert_true(ret == 0 || (ret < 0 && fx_msg_ok(&c->err)));
		if (ret == 0) {
			assert_int_equal(c->entry.mode, BOOT_ENTRY_LINUX64);
			assert_true(c->entry.rip >= FX_MIB + 0x200 && c->entry.rip < RAM_SIZE);
		}
	}
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_initrd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_addr_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_high_ram_e820, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_relocatable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alignment_and_long_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_and_cmdline_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
	};

	return cmocka_run_group_tests_name("boot_bzimage", tests, NULL, NULL);
}
