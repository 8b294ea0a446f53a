/* Intel MultiProcessor Specification 1.4 tables, for guests that look for
 * CPUs and the I/O APIC there rather than in ACPI: the floating pointer
 * "_MP_" at the start of the EBDA and the "PCMP" configuration table right
 * after it. Entries are in the order the spec requires (by type). */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "bytes.h"
#include "layout.h"

#define MP_SPEC_REV         4     /* 1.4 */
#define MP_APIC_VERSION     0x14  /* what KVM's local APIC reports */
#define MP_IOAPIC_VERSION   0x11  /* what KVM's I/O APIC reports */
#define MP_CPU_ENABLED      0x01
#define MP_CPU_BSP          0x02
#define MP_CPU_SIGNATURE    0x600 /* family 6; guests read CPUID anyway */
#define MP_CPU_FEATURES     0x201 /* FPU | APIC */
#define MP_ISA_BUS_ID       0
#define MP_INT_INT          0
#define MP_INT_NMI          1
#define MP_INT_EXTINT       3
#define MP_ALL_LAPICS       0xff
#define MP_ISA_IRQS         16

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINTR, MP_LOCALINTR };

#define MP_FLOAT_SIZE  16
#define MP_HEADER_SIZE 44
#define MP_CPU_SIZE    20
#define MP_ENTRY_SIZE  8
#define MP_MAX_SIZE    (MP_FLOAT_SIZE + MP_HEADER_SIZE + BOOT_MAX_CPUS * MP_CPU_SIZE + \
			(2 + MP_ISA_IRQS + 2) * MP_ENTRY_SIZE)

/* For 255 CPUs the table runs past the 1 KiB EBDA into the reserved VGA
 * area; it must still stay clear of the ACPI tables. */
_Static_assert(KFV_EBDA_ADDR + MP_MAX_SIZE <= KFV_ACPI_ADDR, "MP table overlaps ACPI");
_Static_assert(BOOT_MP_CONFIG_ADDR == KFV_EBDA_ADDR + MP_FLOAT_SIZE, "MP config placement");

static void put_cpus(struct bbuf *b, unsigned ncpus)
{
	for (unsigned i = 0; i < ncpus; i++) {
		bb_u8(b, MP_PROCESSOR);
		bb_u8(b, (uint8_t)i); /* local APIC id = vCPU index */
		bb_u8(b, MP_APIC_VERSION);
		bb_u8(b, MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0));
		bb_le32(b, MP_CPU_SIGNATURE);
		bb_le32(b, MP_CPU_FEATURES);
		bb_le64(b, 0);
	}
}

static void put_intr(struct bbuf *b, uint8_t kind, uint8_t type, uint8_t src_irq,
		     uint8_t dst_id, uint8_t dst_pin)
{
	bb_u8(b, kind);
	bb_u8(b, type);
	bb_le16(b, 0); /* polarity and trigger conform to the bus */
	bb_u8(b, MP_ISA_BUS_ID);
	bb_u8(b, src_irq);
	bb_u8(b, dst_id);
	bb_u8(b, dst_pin);
}

/* ISA IRQ n arrives on I/O APIC pin n, the timer included: that is how
 * KVM's default GSI routing wires the in-kernel PIT and PIC. */
static unsigned put_io_intrs(struct bbuf *b, uint8_t ioapic_id)
{
	unsigned n = 0;

	for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
		put_intr(b, MP_IOINTR, MP_INT_INT, (uint8_t)irq, ioapic_id, (uint8_t)irq);
		n++;
	}
	return n;
}

int boot_write_mptable(const struct guest_mem *gm, unsigned ncpus, struct boot_error *err)
{
	uint8_t buf[MP_MAX_SIZE];
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint8_t *fp, *hdr;
	unsigned entries;
	struct bbuf b;

	if (ncpus == 0 || ncpus > BOOT_MAX_CPUS)
		return boot_errf(err, -EINVAL, "MP table: %u vCPUs, need 1 to %u", ncpus, BOOT_MAX_CPUS);
	bb_init(&b, buf, sizeof(buf));

	fp = bb_reserve(&b, MP_FLOAT_SIZE);
	hdr = bb_reserve(&b, MP_HEADER_SIZE);
	if (!fp || !hdr)
		return boot_errf(err, -ENOSPC, "MP table does not fit");
	put_cpus(&b, ncpus);
	bb_u8(&b, MP_BUS);
	bb_u8(&b, MP_ISA_BUS_ID);
	bb_bytes(&b, "ISA   ", 6);
	bb_u8(&b, MP_IOAPIC);
	bb_u8(&b, ioapic_id);
	bb_u8(&b, MP_IOAPIC_VERSION);
	bb_u8(&b, 1); /* enabled */
	bb_le32(&b, (uint32_t)KFV_IOAPIC_ADDR);
	entries = ncpus + 2 + put_io_intrs(&b, ioapic_id);
	/* Virtual wire mode: the 8259 on LINT0 of every CPU, NMI on LINT1. */
	put_intr(&b, MP_LOCALINTR, MP_INT_EXTINT, 0, MP_ALL_LAPICS, 0);
	put_intr(&b, MP_LOCALINTR, MP_INT_NMI, 0, MP_ALL_LAPICS, 1);
	entries += 2;
	if (b.overflow)
		return boot_errf(err, -ENOSPC, "MP table does not fit");

	memcpy(hdr, "PCMP", 4);
	put_le16(hdr + 4, (uint16_t)(b.len - MP_FLOAT_SIZE)); /* base table length */
	hdr[6] = MP_SPEC_REV;
	memcpy(hdr + 8, "KFV     ", 8);           /* OEM id */
	memcpy(hdr + 16, "KungFuVisor ", 12);     /* product id */
	put_le16(hdr + 34, (uint16_t)entries);
	put_le32(hdr + 36, (uint32_t)KFV_LAPIC_ADDR);
	hdr[7] = checksum8(hdr, b.len - MP_FLOAT_SIZE);

	memcpy(fp, "_MP_", 4);
	put_le32(fp + 4, (uint32_t)BOOT_MP_CONFIG_ADDR);
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = MP_SPEC_REV;
	/* Feature bytes stay 0: a configuration table is present, no IMCR. */
	fp[10] = checksum8(fp, MP_FLOAT_SIZE);

	if (gm_write(gm, KFV_EBDA_ADDR, buf, b.len))
		return boot_errf(err, -ENOSPC, "MP table does not fit in guest RAM");
	return 0;
}
