/* Guest physical memory layout shared by the loaders, the table builders
 * and the VMM core. Everything below 1 MiB that the VMM writes lives at a
 * fixed address so the e820 map can keep it out of usable RAM. */
#ifndef KFV_BOOT_LAYOUT_H
#define KFV_BOOT_LAYOUT_H

#define KFV_GDT_ADDR           0x00000500ULL  /* boot GDT (4 entries) */
#define KFV_PVH_INFO_ADDR      0x00006000ULL  /* hvm_start_info + memmap + modlist (one page) */
#define KFV_ZERO_PAGE_ADDR     0x00007000ULL  /* Linux boot_params */
#define KFV_PML4_ADDR          0x00009000ULL  /* identity map: PML4, PDPT, 4 PDs */
#define KFV_PDPT_ADDR          0x0000a000ULL
#define KFV_PD_ADDR            0x0000b000ULL  /* 4 pages: 0xb000..0xefff */
#define KFV_PAGE_TABLES_END    0x0000f000ULL
#define KFV_CMDLINE_ADDR       0x00020000ULL
#define KFV_CMDLINE_MAX        0x00001000ULL  /* including the NUL */
#define KFV_EBDA_ADDR          0x0009fc00ULL  /* MP floating pointer + MP table */
#define KFV_LOW_RAM_END        0x0009fc00ULL  /* usable low memory ends at the EBDA */
#define KFV_BIOS_START         0x000a0000ULL  /* VGA hole + ROM area, reserved */
#define KFV_ACPI_ADDR          0x000e0000ULL  /* RSDP (found by scanning 0xe0000-0xfffff) + tables */
#define KFV_ACPI_MAX           0x00020000ULL
#define KFV_RESET_VECTOR_ADDR  0x000ffff0ULL  /* f000:fff0, where a real-mode reset jumps */
#define KFV_HIGH_RAM_START     0x00100000ULL  /* 1 MiB: kernels load here */

/* Usable RAM starts at the first page above the boot structures. */
#define KFV_RAM_USABLE_LOW     0x00001000ULL

/* The 32-bit MMIO hole: RAM never overlaps it; RAM beyond it continues at 4 GiB. */
#define KFV_MMIO_HOLE_START    0xc0000000ULL
#define KFV_MMIO_HOLE_END      0x100000000ULL
#define KFV_VIRTIO_MMIO_BASE   0xd0000000ULL  /* virtio-mmio windows, 4 KiB each */
#define KFV_IOAPIC_ADDR        0xfec00000ULL
#define KFV_LAPIC_ADDR         0xfee00000ULL

/* Port I/O the VMM itself emulates. */
#define KFV_COM1_PORT          0x3f8
#define KFV_COM1_IRQ           4
#define KFV_I8042_DATA_PORT    0x60
#define KFV_I8042_CMD_PORT     0x64
#define KFV_I8042_IRQ          1
#define KFV_DEBUG_EXIT_PORT    0xf4
/* PCI configuration mechanism #1: claimed as an absent host bridge. */
#define KFV_PCI_CONFIG_PORT    0xcf8
#define KFV_PCI_CONFIG_PORTS   8
/* ACPI hardware-reduced power registers (FADT SLEEP_CONTROL_REG,
 * SLEEP_STATUS_REG, RESET_REG): one byte each, at the classic PM base. */
#define KFV_ACPI_SLEEP_CTL_PORT    0x600
#define KFV_ACPI_SLEEP_STS_PORT    0x601
#define KFV_ACPI_RESET_PORT        0x602
#define KFV_ACPI_PM_PORTS          3
#define KFV_ACPI_RESET_VALUE       0x0e
/* The \_S5_ sleep type the DSDT gives; the guest writes it to SLP_TYP. */
#define KFV_ACPI_S5_TYPE           5

/* Boot GDT selectors (what the Linux boot protocol calls __BOOT_CS/__BOOT_DS). */
#define KFV_BOOT_CS            0x10
#define KFV_BOOT_DS            0x18

#endif
