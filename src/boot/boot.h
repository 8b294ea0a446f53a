/* Kernel loading: format detection, the two loaders (ELF with a PVH note,
 * Linux bzImage through the 64-bit boot protocol), and the tables every
 * guest is given (e820, MP table, ACPI). All functions write guest memory
 * only through guest_mem's bounds-checked accessors.
 *
 * The core needs two calls per VM:
 *   1. boot_load() once, after guest RAM exists and before any vCPU runs:
 *      it loads the kernel, initrd and command line and writes every boot
 *      structure (start info or zero page, e820, MP table, ACPI, boot GDT,
 *      identity page tables).
 *   2. boot_vcpu_state() (entry_state.h) for the BSP only, on sregs read
 *      with KVM_GET_SREGS, then KVM_SET_SREGS/KVM_SET_REGS. Application
 *      processors start through INIT/SIPI from the guest. */
#ifndef KFV_BOOT_BOOT_H
#define KFV_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../vmm/guest_mem.h"

enum boot_entry_mode {
	BOOT_ENTRY_PVH32,   /* 32-bit protected mode, paging off, %ebx = hvm_start_info */
	BOOT_ENTRY_LINUX64, /* long mode, identity-mapped, %rsi = boot_params */
};

struct boot_entry {
	enum boot_entry_mode mode;
	uint64_t rip;
	uint64_t arg; /* %ebx (PVH) or %rsi (Linux) */
};

/* The MADT and MP table describe CPUs 0..ncpus-1 with APIC ids equal to the
 * index; the I/O APIC takes id ncpus, so 255 is the most we can name. */
#define BOOT_MAX_CPUS 255

/* A memory-mapped device the DSDT declares under \_SB, so a guest finds it
 * through ACPI (virtio-mmio: hid "LNRO0005"). Its interrupt is described as
 * an edge-triggered, active-high I/O APIC input. */
struct boot_acpi_mmio_dev {
	const char *hid;  /* 7 or 8 characters of [A-Z0-9] */
	uint64_t base;    /* window inside the MMIO hole [0xc0000000, 4 GiB) */
	uint64_t size;    /* non-zero */
	uint32_t gsi;     /* I/O APIC input pin, < BOOT_IOAPIC_PINS */
};

#define BOOT_MAX_ACPI_DEVS 64
#define BOOT_IOAPIC_PINS   24

struct boot_config {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd; /* NULL when none */
	size_t initrd_size;
	const char *cmdline;   /* never NULL; "" when empty */
	unsigned ncpus;
	/* Optional; NULL/0 when the guest has no ACPI-described MMIO devices. */
	const struct boot_acpi_mmio_dev *acpi_devs;
	unsigned nr_acpi_devs;
};

/* A loader's reason for refusing an image, one line, for the user. */
struct boot_error {
	char msg[200];
};

/* Detects the image format and loads kernel, initrd, cmdline and boot
 * information, then writes the MP table, ACPI tables, boot GDT and identity
 * page tables, so this is the only call the core needs before setting up
 * the BSP. Returns 0 or a negative errno with err->msg saying why:
 *   -ENOEXEC  not a kernel we understand, or a malformed one
 *   -ENOSPC   kernel, initrd or tables do not fit in guest RAM
 *   -E2BIG    command line longer than the kernel or the layout allows
 *   -EINVAL   bad configuration (ncpus, ACPI devices, NULL arguments) */
int boot_load(const struct guest_mem *gm, const struct boot_config *cfg,
	      struct boot_entry *entry, struct boot_error *err) __attribute__((warn_unused_result));

#endif
