/* ACPI tables for a hardware-reduced platform: RSDP (revision 2) at
 * KFV_ACPI_ADDR, where a guest scanning 0xe0000-0xfffff also finds it, then
 * DSDT, FADT, MADT and the XSDT that lists FADT and MADT. The whole region
 * is built in host memory and written with one gm_write, so every table is
 * checksummed in place and nothing stale survives between them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot_internal.h"
#include "bytes.h"
#include "layout.h"

#define ACPI_OEM_ID     "KFV   "
#define ACPI_CREATOR_ID "KFV "
#define SDT_HEADER_SIZE 36
#define RSDP_SIZE       36

/* FADT (ACPI 6.5, table 5.9): field offsets we set. */
#define FADT_REVISION       6
#define FADT_MINOR_REVISION 5
#define FADT_SIZE           276
#define FADT_DSDT           40
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS          112
#define FADT_RESET_REG      116
#define FADT_RESET_VALUE    128
#define FADT_MINOR          131
#define FADT_X_DSDT         140
#define FADT_SLEEP_CONTROL  244
#define FADT_SLEEP_STATUS   256
#define FADT_HYPERVISOR_ID  268
/* Generic Address Structure (ACPI 6.5, 5.2.3.2) */
#define GAS_SYSTEM_IO       1
#define GAS_ACCESS_BYTE     1
/* IAPC_BOOT_ARCH: there is no VGA, no MSI (no PCI at all) and no CMOS RTC,
 * so the guest does not probe for them. The 8042 bit is left clear too: the
 * VMM only emulates enough of it for the reset line. */
#define IAPC_VGA_NOT_PRESENT  (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
/* Flags: no fixed power/sleep buttons, no PM1 registers or SCI; the
 * reset register is there (and Linux's default reboot method uses it). */
#define FADT_PWR_BUTTON     (1u << 4)
#define FADT_SLP_BUTTON     (1u << 5)
#define FADT_RESET_REG_SUP  (1u << 10)
#define FADT_HW_REDUCED     (1u << 20)

#define MADT_REVISION       5
#define MADT_PCAT_COMPAT    1u
#define MADT_LAPIC          0
#define MADT_IOAPIC         1
#define MADT_LAPIC_NMI      4
#define MADT_CPU_ENABLED    1u
#define MADT_ALL_CPUS       0xff

static uint64_t gpa_of(size_t off)
{
	return KFV_ACPI_ADDR + off;
}

static size_t sdt_begin(struct bbuf *b, const char *sig, uint8_t rev)
{
	char table_id[9];
	size_t start;

	bb_align(b, 16);
	start = b->len;
	memcpy(table_id, "KFVM", 4);
	memcpy(table_id + 4, sig, 4);
	bb_bytes(b, sig, 4);
	bb_le32(b, 0); /* length, set by sdt_end() */
	bb_u8(b, rev);
	bb_u8(b, 0);   /* checksum, set by sdt_end() */
	bb_bytes(b, ACPI_OEM_ID, 6);
	bb_bytes(b, table_id, 8);
	bb_le32(b, 1); /* OEM revision */
	bb_bytes(b, ACPI_CREATOR_ID, 4);
	bb_le32(b, 1); /* creator revision */
	return start;
}

static void sdt_end(struct bbuf *b, size_t start)
{
	uint8_t *t = b->data + start;
	size_t len = b->len - start;

	if (b->overflow)
		return;
	put_le32(t + 4, (uint32_t)len);
	t[9] = checksum8(t, len);
}

static size_t put_dsdt(struct bbuf *b, const struct boot_config *cfg)
{
	size_t start = sdt_begin(b, "DSDT", 2); /* revision 2: 64-bit AML integers */

	boot_aml_devices(b, cfg->acpi_devs, cfg->nr_acpi_devs);
	sdt_end(b, start);
	return start;
}

static void put_gas_port8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* register bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	put_le64(g + 4, port);
}

static size_t put_fadt(struct bbuf *b, size_t dsdt)
{
	size_t start = sdt_begin(b, "FACP", FADT_REVISION);
	uint8_t *t;

	if (!bb_reserve(b, FADT_SIZE - SDT_HEADER_SIZE))
		return start;
	t = b->data + start;
	/* Both DSDT pointers, equal, so 32-bit-only and newer OSPMs agree. */
	put_le32(t + FADT_DSDT, (uint32_t)gpa_of(dsdt));
	put_le64(t + FADT_X_DSDT, gpa_of(dsdt));
	put_le16(t + FADT_IAPC_BOOT_ARCH,
		 IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED | IAPC_CMOS_RTC_NOT_PRESENT);
	put_le32(t + FADT_FLAGS, FADT_HW_REDUCED | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
	/* Hardware-reduced power: S5 through the sleep registers (with the
	 * DSDT's \_S5_), reset through the reset register (devices/acpi_pm.c). */
	put_gas_port8(t + FADT_RESET_REG, KFV_ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = KFV_ACPI_RESET_VALUE;
	put_gas_port8(t + FADT_SLEEP_CONTROL, KFV_ACPI_SLEEP_CTL_PORT);
	put_gas_port8(t + FADT_SLEEP_STATUS, KFV_ACPI_SLEEP_STS_PORT);
	t[FADT_MINOR] = FADT_MINOR_REVISION;
	memcpy(t + FADT_HYPERVISOR_ID, "KFV\0\0\0\0\0", 8);
	sdt_end(b, start);
	return start;
}

/* MADT (ACPI 6.5, 5.2.12): one enabled Processor Local APIC per vCPU with
 * UID = APIC id = index, the I/O APIC with id ncpus and GSI base 0, and NMI
 * on LINT1 of every CPU. There is no interrupt source override: KVM's
 * in-kernel PIT raises GSI 0 and its default routing sends ISA IRQ n to
 * I/O APIC pin n, so IRQ0 must stay on pin 0 (as in Firecracker). */
static size_t put_madt(struct bbuf *b, unsigned ncpus)
{
	size_t start = sdt_begin(b, "APIC", MADT_REVISION);

	bb_le32(b, (uint32_t)KFV_LAPIC_ADDR);
	bb_le32(b, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < ncpus; i++) {
		bb_u8(b, MADT_LAPIC);
		bb_u8(b, 8);
		bb_u8(b, (uint8_t)i); /* ACPI processor UID (0xff is "all", never used) */
		bb_u8(b, (uint8_t)i); /* APIC id */
		bb_le32(b, MADT_CPU_ENABLED);
	}
	bb_u8(b, MADT_IOAPIC);
	bb_u8(b, 12);
	bb_u8(b, (uint8_t)ncpus);
	bb_u8(b, 0);
	bb_le32(b, (uint32_t)KFV_IOAPIC_ADDR);
	bb_le32(b, 0); /* GSI base */
	bb_u8(b, MADT_LAPIC_NMI);
	bb_u8(b, 6);
	bb_u8(b, MADT_ALL_CPUS);
	bb_le16(b, 0);
	bb_u8(b, 1);   /* LINT1 */
	sdt_end(b, start);
	return start;
}

static size_t put_xsdt(struct bbuf *b, size_t fadt, size_t madt)
{
	size_t start = sdt_begin(b, "XSDT", 1);

	bb_le64(b, gpa_of(fadt));
	bb_le64(b, gpa_of(madt));
	sdt_end(b, start);
	return start;
}

static void put_rsdp(uint8_t *r, size_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2;                 /* ACPI 2.0+: XSDT and extended checksum */
	put_le32(r + 16, 0);       /* no RSDT */
	put_le32(r + 20, RSDP_SIZE);
	put_le64(r + 24, gpa_of(xsdt));
	r[8] = checksum8(r, 20);   /* ACPI 1.0 part */
	r[32] = checksum8(r, RSDP_SIZE);
}

int boot_write_acpi(const struct guest_mem *gm, const struct boot_config *cfg,
		    struct boot_error *err)
{
	size_t dsdt, fadt, madt, xsdt;
	uint8_t *region, *rsdp;
	struct bbuf b;
	int ret;

	if (cfg->ncpus == 0 || cfg->ncpus > BOOT_MAX_CPUS)
		return boot_errf(err, -EINVAL, "ACPI: %u vCPUs, need 1 to %u", cfg->ncpus,
				 BOOT_MAX_CPUS);
	ret = boot_check_acpi_devs(cfg, err);
	if (ret)
		return ret;
	region = malloc(KFV_ACPI_MAX);
	if (!region)
		return boot_errf(err, -ENOMEM, "no memory to build the ACPI tables");
	bb_init(&b, region, KFV_ACPI_MAX);
	rsdp = bb_reserve(&b, RSDP_SIZE);
	dsdt = put_dsdt(&b, cfg);
	fadt = put_fadt(&b, dsdt);
	madt = put_madt(&b, cfg->ncpus);
	xsdt = put_xsdt(&b, fadt, madt);
	if (b.overflow || !rsdp) {
		free(region);
		return boot_errf(err, -ENOSPC, "ACPI tables do not fit in 0x%llx bytes",
				 (unsigned long long)KFV_ACPI_MAX);
	}
	put_rsdp(rsdp, xsdt);
	/* Zero the rest so the region holds nothing but these tables. */
	memset(region + b.len, 0, KFV_ACPI_MAX - b.len);
	ret = gm_write(gm, KFV_ACPI_ADDR, region, KFV_ACPI_MAX);
	free(region);
	if (ret)
		return boot_errf(err, -ENOSPC, "ACPI tables do not fit in guest RAM");
	return 0;
}
