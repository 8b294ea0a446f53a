/* The DSDT body: hand-assembled AML. \_S5_ for power-off, and a Scope(\_SB)
 * holding COM1 and the PS/2 keyboard controller (IO + Interrupt) and one
 * Device per memory-mapped device the VMM exposes, each with _HID, _UID and
 * a _CRS of Memory32Fixed + Interrupt, which is all Linux's virtio-mmio
 * ACPI probe ("LNRO0005") reads. Encodings follow ACPI 6.x chapter 20 (AML) and 6.4
 * (resource descriptors). */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "bytes.h"
#include "layout.h"

#define AML_NAME_OP    0x08
#define AML_SCOPE_OP   0x10
#define AML_BUFFER_OP  0x11
#define AML_BYTE_PFX   0x0a
#define AML_WORD_PFX   0x0b
#define AML_DWORD_PFX  0x0c
#define AML_QWORD_PFX  0x0e
#define AML_STRING_PFX 0x0d
#define AML_EXT_PFX    0x5b
#define AML_DEVICE_OP  0x82
#define AML_PACKAGE_OP 0x12
#define AML_ROOT_CHAR  0x5c
#define AML_ZERO_OP    0x00
#define AML_ONE_OP     0x01

#define RES_MEM32_FIXED 0x86
#define RES_EXT_IRQ     0x89
#define RES_END_TAG     0x79
#define RES_IO_PORT     0x47 /* small item 0x08, length 7 */
#define RES_IO_DECODE16 0x01
#define RES_IRQ_CONSUMER_EDGE_HIGH 0x03 /* consumer | edge; active high, exclusive */

/* A PkgLength counts itself, so its size depends on what follows: reserve
 * the 4-byte maximum, then shrink once the body is known. */
static size_t pkg_begin(struct bbuf *b)
{
	size_t at = b->len;

	(void)bb_reserve(b, 4);
	return at;
}

static void pkg_end(struct bbuf *b, size_t at)
{
	size_t body, n, total;
	uint8_t *p;

	if (b->overflow)
		return;
	body = b->len - at - 4;
	n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : body + 3 <= 0xfffff ? 3 : 4;
	total = body + n;
	if (total > 0xfffffff) {
		b->overflow = true;
		return;
	}
	p = b->data + at;
	if (n == 1) {
		p[0] = (uint8_t)total;
	} else {
		p[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			p[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(p + n, p + 4, body);
	b->len -= 4 - n;
}

static void aml_integer(struct bbuf *b, uint64_t v)
{
	if (v == 0) {
		bb_u8(b, AML_ZERO_OP);
	} else if (v == 1) {
		bb_u8(b, AML_ONE_OP);
	} else if (v <= 0xff) {
		bb_u8(b, AML_BYTE_PFX);
		bb_u8(b, (uint8_t)v);
	} else if (v <= 0xffff) {
		bb_u8(b, AML_WORD_PFX);
		bb_le16(b, (uint16_t)v);
	} else if (v <= 0xffffffff) {
		bb_u8(b, AML_DWORD_PFX);
		bb_le32(b, (uint32_t)v);
	} else {
		bb_u8(b, AML_QWORD_PFX);
		bb_le64(b, v);
	}
}

static void aml_name_string(struct bbuf *b, const char *seg, const char *s)
{
	bb_u8(b, AML_NAME_OP);
	bb_bytes(b, seg, 4);
	bb_u8(b, AML_STRING_PFX);
	bb_bytes(b, s, strlen(s) + 1);
}

static void aml_name_integer(struct bbuf *b, const char *seg, uint64_t v)
{
	bb_u8(b, AML_NAME_OP);
	bb_bytes(b, seg, 4);
	aml_integer(b, v);
}

/* Name(_CRS, Buffer() {...}) around a resource template built by the caller. */
static void aml_crs_buffer(struct bbuf *b, const uint8_t *res, size_t len)
{
	size_t pkg;

	bb_u8(b, AML_NAME_OP);
	bb_bytes(b, "_CRS", 4);
	bb_u8(b, AML_BUFFER_OP);
	pkg = pkg_begin(b);
	aml_integer(b, len);
	bb_bytes(b, res, len);
	pkg_end(b, pkg);
}

static uint8_t *res_ext_irq(uint8_t *r, uint32_t gsi)
{
	r[0] = RES_EXT_IRQ;
	put_le16(r + 1, 6);
	r[3] = RES_IRQ_CONSUMER_EDGE_HIGH;
	r[4] = 1; /* one interrupt */
	put_le32(r + 5, gsi);
	return r + 9;
}

static uint8_t *res_io(uint8_t *r, uint16_t port, uint8_t len)
{
	r[0] = RES_IO_PORT;
	r[1] = RES_IO_DECODE16;
	put_le16(r + 2, port); /* minimum */
	put_le16(r + 4, port); /* maximum: a fixed range */
	r[6] = 1;              /* alignment */
	r[7] = len;
	return r + 8;
}

static uint8_t *res_end(uint8_t *r)
{
	r[0] = RES_END_TAG;
	r[1] = 0; /* checksum 0: "treat as correct" */
	return r + 2;
}

static void aml_crs(struct bbuf *b, const struct boot_acpi_mmio_dev *d)
{
	uint8_t res[12 + 9 + 2], *r = res;

	r[0] = RES_MEM32_FIXED;
	put_le16(r + 1, 9);
	r[3] = 1; /* read-write */
	put_le32(r + 4, (uint32_t)d->base);
	put_le32(r + 8, (uint32_t)d->size);
	r = res_end(res_ext_irq(r + 12, d->gsi));
	aml_crs_buffer(b, res, (size_t)(r - res));
}

/* The legacy port devices, so that the guest's PNP layer binds its 8250
 * and i8042 drivers with their interrupts routed: on a hardware-reduced
 * platform Linux sets up no ISA IRQ mapping of its own (no legacy PIC), so
 * a UART found only at its legacy address gets an IRQ 4 that is wired to
 * nothing and its interrupt-driven output (all of userspace's) never
 * leaves the transmit buffer. As in Firecracker's DSDT. */
static void aml_legacy_device(struct bbuf *b, const char seg[4], const char *hid, const uint16_t *ports,
			      const uint8_t *lens, unsigned nports, uint32_t gsi)
{
	uint8_t res[2 * 8 + 9 + 2], *r = res;
	size_t dev;

	bb_u8(b, AML_EXT_PFX);
	bb_u8(b, AML_DEVICE_OP);
	dev = pkg_begin(b);
	bb_bytes(b, seg, 4);
	aml_name_string(b, "_HID", hid);
	aml_name_integer(b, "_UID", 0);
	for (unsigned i = 0; i < nports && i < 2; i++)
		r = res_io(r, ports[i], lens[i]);
	r = res_end(res_ext_irq(r, gsi));
	aml_crs_buffer(b, res, (size_t)(r - res));
	pkg_end(b, dev);
}

/* Name(\_S5_, Package() { SLP_TYP, 0 }): the sleep type the guest writes to
 * the FADT's SLEEP_CONTROL_REG to power off (ACPI 6.5, 7.4.2 and 4.8.3.7). */
static void aml_s5(struct bbuf *b)
{
	size_t pkg;

	bb_u8(b, AML_NAME_OP);
	bb_u8(b, AML_ROOT_CHAR);
	bb_bytes(b, "_S5_", 4);
	bb_u8(b, AML_PACKAGE_OP);
	pkg = pkg_begin(b);
	bb_u8(b, 2); /* NumElements */
	aml_integer(b, KFV_ACPI_S5_TYPE);
	aml_integer(b, 0);
	pkg_end(b, pkg);
}

/* "D000".."DFFF": a NameSeg starts with a letter, then [A-Z0-9_]. */
static void device_name(char seg[4], unsigned i)
{
	static const char hex[] = "0123456789ABCDEF";

	seg[0] = 'D';
	seg[1] = hex[(i >> 8) & 0xf];
	seg[2] = hex[(i >> 4) & 0xf];
	seg[3] = hex[i & 0xf];
}

void boot_aml_devices(struct bbuf *b, const struct boot_acpi_mmio_dev *devs, unsigned n)
{
	static const uint16_t com1_port[] = { KFV_COM1_PORT };
	static const uint8_t com1_len[] = { 8 };
	static const uint16_t kbd_ports[] = { KFV_I8042_DATA_PORT, KFV_I8042_CMD_PORT };
	static const uint8_t kbd_lens[] = { 1, 1 };
	size_t scope, dev;
	char seg[4];

	aml_s5(b);
	bb_u8(b, AML_SCOPE_OP);
	scope = pkg_begin(b);
	bb_bytes(b, "\\_SB_", 5);
	aml_legacy_device(b, "COM1", "PNP0501", com1_port, com1_len, 1, KFV_COM1_IRQ);
	aml_legacy_device(b, "PS2K", "PNP0303", kbd_ports, kbd_lens, 2, KFV_I8042_IRQ);
	for (unsigned i = 0; i < n; i++) {
		bb_u8(b, AML_EXT_PFX);
		bb_u8(b, AML_DEVICE_OP);
		dev = pkg_begin(b);
		device_name(seg, i);
		bb_bytes(b, seg, 4);
		aml_name_string(b, "_HID", devs[i].hid);
		aml_name_integer(b, "_UID", i);
		aml_crs(b, &devs[i]);
		pkg_end(b, dev);
	}
	pkg_end(b, scope);
}

static bool valid_hid(const char *hid)
{
	size_t len;

	if (!hid)
		return false;
	len = strnlen(hid, 9);
	if (len != 7 && len != 8)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((hid[i] >= 'A' && hid[i] <= 'Z') || (hid[i] >= '0' && hid[i] <= '9')))
			return false;
	return true;
}

int boot_check_acpi_devs(const struct boot_config *cfg, struct boot_error *err)
{
	if (cfg->nr_acpi_devs > BOOT_MAX_ACPI_DEVS)
		return boot_errf(err, -EINVAL, "%u ACPI devices, at most %u", cfg->nr_acpi_devs,
				 BOOT_MAX_ACPI_DEVS);
	if (cfg->nr_acpi_devs && !cfg->acpi_devs)
		return boot_errf(err, -EINVAL, "ACPI device list missing");
	for (unsigned i = 0; i < cfg->nr_acpi_devs; i++) {
		const struct boot_acpi_mmio_dev *d = &cfg->acpi_devs[i];

		if (!valid_hid(d->hid))
			return boot_errf(err, -EINVAL, "ACPI device %u: hardware id is not 7-8 of [A-Z0-9]",
					 i);
		/* Memory32Fixed can only name windows below 4 GiB; RAM never
		 * lies in the hole, so a window outside it would shadow RAM. */
		if (d->size == 0 || d->base < KFV_MMIO_HOLE_START || d->base >= KFV_MMIO_HOLE_END ||
		    d->size > KFV_MMIO_HOLE_END - d->base)
			return boot_errf(err, -EINVAL, "ACPI device %u: window 0x%llx+0x%llx is not inside "
					 "the MMIO hole [0x%llx, 4 GiB)", i, (unsigned long long)d->base,
					 (unsigned long long)d->size,
					 (unsigned long long)KFV_MMIO_HOLE_START);
		if (d->gsi >= BOOT_IOAPIC_PINS)
			return boot_errf(err, -EINVAL, "ACPI device %u: GSI %u beyond the I/O APIC's %u pins",
					 i, d->gsi, BOOT_IOAPIC_PINS);
	}
	return 0;
}
