/* A real distribution kernel through the bzImage loader. The test setup
 * points KFV_TEST_VMLINUZ at a vmlinuz; without it these tests are skipped.
 * Besides the happy path, the same bytes are truncated and corrupted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "boot_fixtures.h"

#define RAM_SIZE (256 * FX_MIB)

struct ctx {
	struct fx_ram ram;
	uint8_t *img;
	size_t size;
	struct boot_config cfg;
	struct boot_entry entry;
	struct boot_error err;
};

static int setup(void **state)
{
	const char *path = getenv("KFV_TEST_VMLINUZ");
	struct ctx *c;

	*state = NULL;
	if (!path || !*path)
		return 0; /* each test skips */
	c = calloc(1, sizeof(*c));
	if (!c || !fx_ram_init(&c->ram, RAM_SIZE, 0))
		return -1;
	c->img = fx_read_file(path, &c->size);
	if (!c->img) {
		print_error("cannot read KFV_TEST_VMLINUZ=%s\n", path);
		return -1;
	}
	c->cfg = fx_config(c->img, c->size);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (!c)
		return 0;
	fx_ram_free(&c->ram);
	free(c->img);
	free(c);
	return 0;
}

static struct ctx *need_kernel(void **state)
{
	if (!*state)
		skip();
	return *state;
}

static int load(struct ctx *c)
{
	memset(&c->err, 0, sizeof(c->err));
	return boot_load(&c->ram.gm, &c->cfg, &c->entry, &c->err);
}

static void test_load(void **state)
{
	struct ctx *c = need_kernel(state);
	static const uint8_t initrd[64 * 1024] = { 0x30, 0x37, 0x30, 0x37 };
	const uint8_t *bp;
	uint16_t version = get_le16(c->img + BP_VERSION);
	size_t hdr_end = BP_HEADER + c->img[BP_JUMP + 1];
	uint64_t load_addr, rd;
	unsigned setup_sects = c->img[BP_SETUP_SECTS] ? c->img[BP_SETUP_SECTS] : 4;
	int ret;

	c->cfg.initrd = initrd;
	c->cfg.initrd_size = sizeof(initrd);
	c->cfg.cmdline = "console=ttyS0 reboot=k panic=1";
	c->cfg.ncpus = 2;
	ret = load(c);
	if (ret)
		print_error("%s\n", c->err.msg);
	assert_int_equal(ret, 0);
	print_message("kernel: protocol %u.%02u, loaded at 0x%llx, %zu bytes\n", version >> 8,
		      version & 0xff, (unsigned long long)(c->entry.rip - 0x200), c->size);

	assert_true(version >= 0x020c);
	assert_true(get_le16(c->img + BP_XLOADFLAGS) & BP_XLF_KERNEL_64);
	assert_int_equal(c->entry.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(c->entry.arg, KFV_ZERO_PAGE_ADDR);
	load_addr = c->entry.rip - 0x200;
	if (c->img[BP_RELOCATABLE])
		assert_int_equal(load_addr, get_le64(c->img + BP_PREF_ADDRESS));
	assert_int_equal(load_addr % get_le32(c->img + BP_KERNEL_ALIGNMENT), 0);
	/* The protected-mode kernel is in guest RAM byte for byte. */
	assert_memory_equal(fx_at(&c->ram, load_addr, 4096), c->img + (setup_sects + 1) * 512,
			    4096);

	bp = fx_at(&c->ram, KFV_ZERO_PAGE_ADDR, BP_SIZE);
	if (hdr_end > BP_HDR_MAX_END)
		hdr_end = BP_HDR_MAX_END;
	/* The copied header matches the file except where the loader writes. */
	assert_memory_equal(bp + BP_HDR_START, c->img + BP_HDR_START, BP_TYPE_OF_LOADER - BP_HDR_START);
	assert_memory_equal(bp + 0x212, c->img + 0x212, BP_RAMDISK_IMAGE - 0x212);
	assert_memory_equal(bp + BP_INITRD_ADDR_MAX, c->img + BP_INITRD_ADDR_MAX,
			    BP_SETUP_DATA - BP_INITRD_ADDR_MAX);
	assert_memory_equal(bp + BP_PREF_ADDRESS, c->img + BP_PREF_ADDRESS, hdr_end - BP_PREF_ADDRESS);
	assert_int_equal(bp[BP_TYPE_OF_LOADER], 0xff);
	assert_int_equal(bp[BP_LOADFLAGS] & (BP_LOADED_HIGH | BP_CAN_USE_HEAP),
			 BP_LOADED_HIGH | BP_CAN_USE_HEAP);
	assert_int_equal(get_le32(bp + BP_CMD_LINE_PTR), KFV_CMDLINE_ADDR);
	assert_string_equal((const char *)fx_at(&c->ram, KFV_CMDLINE_ADDR, 32),
			    "console=ttyS0 reboot=k panic=1");

	rd = get_le32(bp + BP_RAMDISK_IMAGE);
	assert_int_equal(get_le32(bp + BP_RAMDISK_SIZE), sizeof(initrd));
	assert_int_equal(rd & 0xfff, 0);
	assert_true(rd >= load_addr + get_le32(c->img + BP_INIT_SIZE));
	assert_true(rd + sizeof(initrd) - 1 <= get_le32(c->img + BP_INITRD_ADDR_MAX));
	assert_memory_equal(fx_at(&c->ram, rd, sizeof(initrd)), initrd, sizeof(initrd));
	assert_true(bp[BP_E820_ENTRIES] >= 3);
	assert_int_equal(get_le64(bp + BP_ACPI_RSDP_ADDR), KFV_ACPI_ADDR);
}

static void test_truncated(void **state)
{
	struct ctx *c = need_kernel(state);
	unsigned setup_sects = c->img[BP_SETUP_SECTS] ? c->img[BP_SETUP_SECTS] : 4;
	size_t setup = (setup_sects + 1) * 512;
	size_t needed = setup + (size_t)get_le32(c->img + BP_SYSSIZE) * 16;
	const size_t lengths[] = { 0, 0x1f0, 0x205, 0x206, 0x207, 0x263, 0x26b, 0x1000,
				   setup - 1, setup, setup + 1, c->size / 2, needed - 16 };

	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		c->cfg.kernel_size = lengths[i];
		assert_int_equal(load(c), -ENOEXEC);
		assert_true(fx_msg_ok(&c->err));
	}
	/* Trailing bytes (a signature) past syssize are allowed, and so is a
	 * last paragraph cut short. */
	c->cfg.kernel_size = needed - 15;
	assert_int_equal(load(c), 0);
	c->cfg.kernel_size = needed;
	assert_int_equal(load(c), 0);
}

static void test_corrupted(void **state)
{
	struct ctx *c = need_kernel(state);
	uint8_t saved[BP_SIZE];

	memcpy(saved, c->img, sizeof(saved));
	put_le16(c->img + BP_VERSION, 0x0205);
	assert_int_equal(load(c), -ENOEXEC);
	assert_non_null(strstr(c->err.msg, "boot protocol 2.05 too old, need 2.12"));
	memcpy(c->img, saved, sizeof(saved));

	put_le16(c->img + BP_XLOADFLAGS, get_le16(c->img + BP_XLOADFLAGS) & ~BP_XLF_KERNEL_64);
	assert_int_equal(load(c), -ENOEXEC);
	assert_non_null(strstr(c->err.msg, "XLF_KERNEL_64"));
	memcpy(c->img, saved, sizeof(saved));

	c->img[BP_SETUP_SECTS] = 0xff;
	put_le32(c->img + BP_SYSSIZE, 0x10000000); /* 4 GiB of kernel in an 8 MiB file */
	assert_int_equal(load(c), -ENOEXEC);
	assert_true(fx_msg_ok(&c->err));
	memcpy(c->img, saved, sizeof(saved));

	memcpy(c->img + BP_HEADER, "HdrX", 4);
	assert_int_equal(load(c), -ENOEXEC);
	assert_non_null(strstr(c->err.msg, "not an ELF64 kernel or Linux bzImage"));
	memcpy(c->img, saved, sizeof(saved));

	/* 256 MiB is enough for this kernel; 64 MiB is not (init_size). */
	{
		struct fx_ram small;

		assert_true(fx_ram_init(&small, 64 * FX_MIB, 0));
		assert_int_equal(boot_load(&small.gm, &c->cfg, &c->entry, &c->err), -ENOSPC);
		assert_true(fx_msg_ok(&c->err));
		fx_ram_free(&small);
	}
	assert_int_equal(load(c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
	};

	return cmocka_run_group_tests_name("boot_vmlinuz", tests, setup, teardown);
}
