/* Kernel loading: format detection, the two loaders (ELF with a PVH note,
 * Linux bzImage through the 64-bit boot protocol), and the tables every
 * guest is given (e820, MP table, ACPI). All functions write guest memory
 * only through guest_mem's bounds-checked accessors. */
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

struct boot_config {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd; /* NULL when none */
	size_t initrd_size;
	const char *cmdline;   /* never NULL; "" when empty */
	unsigned ncpus;
};

/* A loader's reason for refusing an image, one line, for the user. */
struct boot_error {
	char msg[200];
};

/* Detects the image format and loads kernel, initrd, cmdline and boot
 * information. Returns 0 or a negative errno (-ENOEXEC for an image that is
 * not a kernel we understand or is malformed, -E2BIG/-ENOSPC when something
 * does not fit in guest RAM) with err->msg saying why. */
int boot_load(const struct guest_mem *gm, const struct boot_config *cfg,
	      struct boot_entry *entry, struct boot_error *err) __attribute__((warn_unused_result));

#endif
