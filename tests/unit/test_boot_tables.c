/* Platform tables: the memory map for several RAM sizes, the MP table and
 * the ACPI tables (checksums, CPU counts, pointers, placement), and the
 * DSDT's AML for MMIO devices, decoded back here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "boot_fixtures.h"

#define RAM_SIZE (32 * FX_MIB)

static const unsigned cpu_counts[] = { 1, 2, 4, 255 };

/* --- memory map ------------------------------------------------------------ */

static void check_map(uint64_t ram_size)
{
	struct guest_mem gm;
	struct boot_memmap map;
	uint64_t ram = 0, prev_end = 0;

	gm_init_from_buffer(&gm, NULL, ram_size); /* only the sizes are read */
	assert_int_equal(boot_memmap_build(&gm, &map), 0);
	assert_int_equal(map.n, ram_size > KFV_MMIO_HOLE_START ? 4 : 3);
	for (unsigned i = 0; i < map.n; i++) {
		const struct boot_memmap_entry *e = &map.e[i];

		assert_true(e->size > 0);
		assert_true(e->addr >= prev_end);
		prev_end = e->addr + e->size;
		assert_true(prev_end <= KFV_MMIO_HOLE_START || e->addr >= KFV_MMIO_HOLE_END);
		if (e->type == BOOT_E820_RAM) {
			ram += e->size;
			assert_true(prev_end <= KFV_LOW_RAM_END || e->addr >= KFV_HIGH_RAM_START);
		} else {
			assert_int_equal(e->type, BOOT_E820_RESERVED);
			assert_int_equal(e->addr, KFV_LOW_RAM_END);
			assert_int_equal(prev_end, KFV_HIGH_RAM_START);
		}
	}
	assert_int_equal(map.e[0].addr, 0);
	assert_int_equal(ram, ram_size - (KFV_HIGH_RAM_START - KFV_LOW_RAM_END));
}

static void test_memmap_sizes(void **state)
{
	struct guest_mem gm;
	struct boot_memmap map;

	(void)state;
	check_map(KFV_HIGH_RAM_START + 0x1000);
	check_map(256 * FX_MIB);
	check_map(KFV_MMIO_HOLE_START);
	check_map(KFV_MMIO_HOLE_START + 0x1000);
	check_map(64 * FX_GIB);
	gm_init_from_buffer(&gm, NULL, KFV_HIGH_RAM_START);
	assert_int_equal(boot_memmap_build(&gm, &map), -ENOSPC);
}

static void test_ram_too_small(void **state)
{
	struct fx_ram ram;
	struct fx_elf elf;
	struct fx_elf_opts o;
	struct boot_config cfg;
	struct boot_entry e;
	struct boot_error err;

	(void)state;
	assert_true(fx_ram_init(&ram, KFV_HIGH_RAM_START, 0));
	fx_elf_default(&o);
	fx_elf_build(&elf, &o);
	cfg = fx_config(elf.img, elf.size);
	assert_int_equal(boot_load(&ram.gm, &cfg, &e, &err), -ENOSPC);
	assert_true(fx_msg_ok(&err));
	assert_non_null(strstr(err.msg, "too small"));
	free(elf.img);
	fx_ram_free(&ram);
}

/* --- MP table ---------------------------------------------------------------- */

static void check_mptable(const struct fx_ram *r, unsigned ncpus)
{
	const uint8_t *fp = fx_at(r, KFV_EBDA_ADDR, 16), *c, *e;
	unsigned cpus = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0, count, len;
	int last_type = -1;

	assert_memory_equal(fp, "_MP_", 4);
	assert_int_equal(fp[8], 1);
	assert_int_equal(fp[9], 4);
	assert_int_equal(sum8(fp, 16), 0);
	assert_int_equal(fp[11], 0); /* a configuration table follows */
	assert_int_equal(get_le32(fp + 4), KFV_EBDA_ADDR + 16);

	c = fx_at(r, get_le32(fp + 4), 44);
	assert_memory_equal(c, "PCMP", 4);
	len = get_le16(c + 4);
	count = get_le16(c + 34);
	assert_true(get_le32(fp + 4) + len <= KFV_ACPI_ADDR);
	c = fx_at(r, get_le32(fp + 4), len);
	assert_int_equal(sum8(c, len), 0);
	assert_int_equal(c[6], 4);
	assert_int_equal(get_le32(c + 36), KFV_LAPIC_ADDR);

	e = c + 44;
	for (unsigned i = 0; i < count; i++) {
		assert_true(e[0] >= last_type); /* sorted by type */
		last_type = e[0];
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);
			assert_int_equal(e[3], cpus == 0 ? 3 : 1); /* enabled, BSP on CPU 0 */
			cpus++;
			e += 20;
			break;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			e += 8;
			break;
		case 2:
			assert_int_equal(e[1], ncpus & 0xff);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(get_le32(e + 4), KFV_IOAPIC_ADDR);
			ioapics++;
			e += 8;
			break;
		case 3:
			assert_int_equal(e[6], ncpus & 0xff);
			assert_int_equal(e[7], e[5]); /* ISA IRQ n on pin n, as KVM routes them */
			assert_true(e[5] < 16);
			ioints++;
			e += 8;
			break;
		case 4:
			assert_int_equal(e[1], lints == 0 ? 3 : 1); /* ExtINT, then NMI */
			assert_int_equal(e[7], lints);              /* LINT0, LINT1 */
			lints++;
			e += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", e[0]);
		}
	}
	assert_int_equal(e - c, len);
	assert_int_equal(cpus, ncpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ioints, 16);
	assert_int_equal(lints, 2);
}

static void test_mptable(void **state)
{
	struct fx_ram r;
	struct boot_error err;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0xaa));
	for (size_t i = 0; i < sizeof(cpu_counts) / sizeof(cpu_counts[0]); i++) {
		assert_int_equal(boot_write_mptable(&r.gm, cpu_counts[i], &err), 0);
		check_mptable(&r, cpu_counts[i]);
	}
	assert_int_equal(boot_write_mptable(&r.gm, 0, &err), -EINVAL);
	assert_int_equal(boot_write_mptable(&r.gm, 256, &err), -EINVAL);
	assert_true(fx_msg_ok(&err));
	fx_ram_free(&r);
}

/* --- ACPI ---------------------------------------------------------------------- */

static const uint8_t *table(const struct fx_ram *r, uint64_t gpa, const char *sig)
{
	const uint8_t *t = fx_at(r, gpa, 36);
	uint32_t len;

	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	len = get_le32(t + 4);
	assert_true(len >= 36);
	assert_true(gpa >= KFV_ACPI_ADDR && gpa + len <= KFV_ACPI_ADDR + KFV_ACPI_MAX);
	t = fx_at(r, gpa, len);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "KFV   ", 6);
	return t;
}

static void check_madt(const uint8_t *m, unsigned ncpus)
{
	uint32_t len = get_le32(m + 4);
	unsigned cpus = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(get_le32(m + 36), KFV_LAPIC_ADDR);
	assert_int_equal(get_le32(m + 40), 1); /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], cpus); /* processor UID */
			assert_int_equal(e[3], cpus); /* APIC id */
			assert_int_equal(get_le32(e + 4), 1);
			cpus++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], ncpus & 0xff);
			assert_int_equal(get_le32(e + 4), KFV_IOAPIC_ADDR);
			assert_int_equal(get_le32(e + 8), 0);
			ioapics++;
			break;
		case 2: /* an override would move the PIT off the pin KVM raises */
			isos++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(cpus, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 0);
	assert_int_equal(nmis, 1);
}

static void check_acpi(const struct fx_ram *r, unsigned ncpus)
{
	const uint8_t *rsdp = fx_at(r, KFV_ACPI_ADDR, 36), *xsdt, *fadt, *madt, *dsdt;
	uint32_t xlen;

	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum8(rsdp, 20), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(get_le32(rsdp + 20), 36);
	assert_int_equal(sum8(rsdp, 36), 0);

	xsdt = table(r, get_le64(rsdp + 24), "XSDT");
	xlen = get_le32(xsdt + 4);
	assert_int_equal(xlen, 36 + 2 * 8);
	fadt = table(r, get_le64(xsdt + 36), "FACP");
	madt = table(r, get_le64(xsdt + 44), "APIC");
	assert_int_equal(get_le32(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);
	assert_true(get_le32(fadt + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_int_equal(get_le32(fadt + 40), get_le64(fadt + 140));
	dsdt = table(r, get_le64(fadt + 140), "DSDT");
	assert_int_equal(dsdt[8], 2);
	assert_int_equal(fx_acpi_find(r, "DSDT"), get_le64(fadt + 140));
	check_madt(madt, ncpus);
}

static void test_acpi_cpu_counts(void **state)
{
	struct fx_ram r;
	struct boot_config cfg = { .cmdline = "" };
	struct boot_error err;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0xaa));
	for (size_t i = 0; i < sizeof(cpu_counts) / sizeof(cpu_counts[0]); i++) {
		cfg.ncpus = cpu_counts[i];
		assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), 0);
		check_acpi(&r, cpu_counts[i]);
	}
	cfg.ncpus = 256;
	assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), -EINVAL);
	fx_ram_free(&r);
}

/* Through boot_load, both tables describe the same CPUs. */
static void test_boot_load_writes_tables(void **state)
{
	struct fx_ram r;
	struct fx_elf elf;
	struct fx_elf_opts o;
	struct boot_config cfg;
	struct boot_entry e;
	struct boot_error err;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0xaa));
	fx_elf_default(&o);
	fx_elf_build(&elf, &o);
	cfg = fx_config(elf.img, elf.size);
	for (size_t i = 0; i < sizeof(cpu_counts) / sizeof(cpu_counts[0]); i++) {
		cfg.ncpus = cpu_counts[i];
		assert_int_equal(boot_load(&r.gm, &cfg, &e, &err), 0);
		check_mptable(&r, cpu_counts[i]);
		check_acpi(&r, cpu_counts[i]);
		/* f000:fff0: mov al, RESET_VALUE; mov dx, RESET_PORT; out dx, al; hlt */
		assert_memory_equal(fx_at(&r, KFV_RESET_VECTOR_ADDR, 7),
				    ((const uint8_t[]){ 0xb0, KFV_ACPI_RESET_VALUE, 0xba, KFV_ACPI_RESET_PORT & 0xff,
							KFV_ACPI_RESET_PORT >> 8, 0xee, 0xf4 }), 7);
	}
	cfg.ncpus = 0;
	assert_int_equal(boot_load(&r.gm, &cfg, &e, &err), -EINVAL);
	assert_true(fx_msg_ok(&err));
	cfg.ncpus = 256;
	assert_int_equal(boot_load(&r.gm, &cfg, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "vCPUs"));
	free(elf.img);
	fx_ram_free(&r);
}

/* --- DSDT AML ------------------------------------------------------------------------- */

/* Decodes a PkgLength at p: returns the package length, *n = its bytes. */
static uint32_t pkg_len(const uint8_t *p, unsigned *n)
{
	unsigned follow = p[0] >> 6;
	uint32_t v;

	*n = follow + 1;
	if (!follow)
		return p[0] & 0x3f;
	v = p[0] & 0xf;
	for (unsigned i = 0; i < follow; i++)
		v |= (uint32_t)p[1 + i] << (4 + 8 * i);
	return v;
}

static void check_device(const uint8_t *d, uint32_t len, unsigned idx,
			 const struct boot_acpi_mmio_dev *dev)
{
	char name[5];
	const uint8_t *p = d, *crs;
	unsigned n;
	uint32_t blen;

	snprintf(name, sizeof(name), "D%03X", idx & 0xfff);
	assert_memory_equal(p, name, 4);
	p += 4;
	assert_int_equal(p[0], 0x08);
	assert_memory_equal(p + 1, "_HID", 4);
	assert_int_equal(p[5], 0x0d);
	assert_string_equal((const char *)p + 6, dev->hid);
	p += 6 + strlen(dev->hid) + 1;
	assert_int_equal(p[0], 0x08);
	assert_memory_equal(p + 1, "_UID", 4);
	p += 5;
	if (idx == 0)
		assert_int_equal(*p++, 0x00);
	else if (idx == 1)
		assert_int_equal(*p++, 0x01);
	else {
		assert_int_equal(p[0], 0x0a);
		assert_int_equal(p[1], idx);
		p += 2;
	}
	assert_int_equal(p[0], 0x08);
	assert_memory_equal(p + 1, "_CRS", 4);
	assert_int_equal(p[5], 0x11);
	blen = pkg_len(p + 6, &n);
	assert_int_equal(p + 6 + blen, d + len); /* the buffer ends the device */
	crs = p + 6 + n;
	assert_int_equal(crs[0], 0x0a);
	assert_int_equal(crs[1], 23);
	crs += 2;
	assert_int_equal(crs[0], 0x86);
	assert_int_equal(get_le16(crs + 1), 9);
	assert_int_equal(crs[3], 1);
	assert_int_equal(get_le32(crs + 4), dev->base);
	assert_int_equal(get_le32(crs + 8), dev->size);
	assert_int_equal(crs[12], 0x89);
	assert_int_equal(get_le16(crs + 13), 6);
	assert_int_equal(crs[15], 0x03);
	assert_int_equal(crs[16], 1);
	assert_int_equal(get_le32(crs + 17), dev->gsi);
	assert_int_equal(crs[21], 0x79);
}

static void check_dsdt_devices(unsigned ndev)
{
	struct boot_acpi_mmio_dev devs[BOOT_MAX_ACPI_DEVS];
	struct boot_config cfg = { .cmdline = "", .ncpus = 2, .acpi_devs = devs, .nr_acpi_devs = ndev };
	struct boot_error err;
	struct fx_ram r;
	const uint8_t *dsdt, *p, *end;
	uint32_t len;
	unsigned n;

	for (unsigned i = 0; i < ndev; i++)
		devs[i] = (struct boot_acpi_mmio_dev){
			.hid = i % 2 ? "LNRO0005" : "PNP0C0F", .base = KFV_VIRTIO_MMIO_BASE + i * 0x1000,
			.size = 0x1000, .gsi = 5 + i % 19,
		};
	assert_true(fx_ram_init(&r, RAM_SIZE, 0));
	assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), 0);
	check_acpi(&r, 2);
	dsdt = fx_at(&r, fx_acpi_find(&r, "DSDT"), 36);
	len = get_le32(dsdt + 4);
	dsdt = fx_at(&r, fx_acpi_find(&r, "DSDT"), len);
	p = dsdt + 36;
	/* Name(\_S5_, Package(2) { 5, 0 }) */
	assert_int_equal(p[0], 0x08);
	assert_int_equal(p[1], 0x5c);
	assert_memory_equal(p + 2, "_S5_", 4);
	assert_int_equal(p[6], 0x12);
	assert_int_equal(pkg_len(p + 7, &n), 5); /* counts itself */
	assert_int_equal(p[8], 2);
	assert_int_equal(p[9], 0x0a);
	assert_int_equal(p[10], KFV_ACPI_S5_TYPE);
	assert_int_equal(p[11], 0x00);
	p += 12;
	assert_int_equal(p[0], 0x10); /* ScopeOp */
	assert_int_equal(pkg_len(p + 1, &n), dsdt + len - p - 1);
	p += 1 + n;
	assert_memory_equal(p, "\\_SB_", 5);
	p += 5;
	end = dsdt + len;
	/* COM1 and the PS/2 controller come first, each IO + Interrupt. */
	for (unsigned i = 0; i < 2; i++) {
		static const char *const names[] = { "COM1", "PS2K" };
		static const char *const hids[] = { "PNP0501", "PNP0303" };
		uint32_t dlen;

		assert_int_equal(p[0], 0x5b);
		assert_int_equal(p[1], 0x82);
		dlen = pkg_len(p + 2, &n);
		assert_memory_equal(p + 2 + n, names[i], 4);
		assert_string_equal((const char *)p + 2 + n + 4 + 6, hids[i]);
		assert_true(p + 2 + dlen <= end);
		p += 2 + dlen;
	}
	for (unsigned i = 0; i < ndev; i++) {
		uint32_t dlen;

		assert_true(p < end);
		assert_int_equal(p[0], 0x5b);
		assert_int_equal(p[1], 0x82);
		dlen = pkg_len(p + 2, &n);
		assert_true(p + 2 + dlen <= end);
		check_device(p + 2 + n, dlen - n, i, &devs[i]);
		p += 2 + dlen;
	}
	assert_ptr_equal(p, end);
	fx_ram_free(&r);
}

static void test_dsdt_devices(void **state)
{
	(void)state;
	/* 0, 1, 3 devices, and 64: a Scope long enough for a 3-byte PkgLength. */
	check_dsdt_devices(0);
	check_dsdt_devices(1);
	check_dsdt_devices(3);
	check_dsdt_devices(BOOT_MAX_ACPI_DEVS);
}

static void test_dsdt_device_refusals(void **state)
{
	struct boot_acpi_mmio_dev dev = { .hid = "LNRO0005", .base = KFV_VIRTIO_MMIO_BASE,
					  .size = 0x1000, .gsi = 5 };
	struct boot_config cfg = { .cmdline = "", .ncpus = 1, .acpi_devs = &dev, .nr_acpi_devs = 1 };
	struct boot_error err;
	struct fx_ram r;

	(void)state;
	assert_true(fx_ram_init(&r, RAM_SIZE, 0));
	assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), 0);
#define REFUSED(field, value, needle)                                               \
	do {                                                                        \
		struct boot_acpi_mmio_dev saved = dev;                              \
		dev.field = value;                                                  \
		memset(&err, 0, sizeof(err));                                       \
		assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), -EINVAL);      \
		assert_true(fx_msg_ok(&err));                                       \
		assert_non_null(strstr(err.msg, needle));                           \
		dev = saved;                                                        \
	} while (0)
	REFUSED(hid, NULL, "hardware id");
	REFUSED(hid, "lnro0005", "hardware id");
	REFUSED(hid, "LNRO00050", "hardware id");
	REFUSED(hid, "LNR05", "hardware id");
	REFUSED(base, 0x100000, "MMIO hole");
	REFUSED(base, KFV_MMIO_HOLE_END - 0x800, "MMIO hole");
	REFUSED(base, KFV_MMIO_HOLE_END, "MMIO hole");
	REFUSED(size, 0, "MMIO hole");
	REFUSED(size, UINT64_MAX, "MMIO hole");
	REFUSED(gsi, BOOT_IOAPIC_PINS, "GSI");
#undef REFUSED
	cfg.nr_acpi_devs = BOOT_MAX_ACPI_DEVS + 1;
	assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), -EINVAL);
	cfg.nr_acpi_devs = 1;
	cfg.acpi_devs = NULL;
	assert_int_equal(boot_write_acpi(&r.gm, &cfg, &err), -EINVAL);
	fx_ram_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memmap_sizes),
		cmocka_unit_test(test_ram_too_small),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_acpi_cpu_counts),
		cmocka_unit_test(test_boot_load_writes_tables),
		cmocka_unit_test(test_dsdt_devices),
		cmocka_unit_test(test_dsdt_device_refusals),
	};

	return cmocka_run_group_tests_name("boot_tables", tests, NULL, NULL);
}
