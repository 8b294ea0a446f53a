/* The first C code: brings up the console, descriptor tables and boot
 * information, says hello, and runs the guest. */
#include "runtime/guest.h"

#include "runtime/gdt.h"
#include "runtime/image.h"

extern uint64_t boot_arg;
extern uint32_t boot_kind;

__attribute__((noreturn)) void runtime_start(void);

/* The console shows the command line as written, except for bytes that
 * could upset a terminal. */
static void print_cmdline(void)
{
	char safe[BOOTINFO_CMDLINE_MAX];
	size_t n = strnlen(boot_info.cmdline, sizeof(safe) - 1);

	for (size_t i = 0; i < n; i++) {
		char c = boot_info.cmdline[i];
		safe[i] = (c >= 0x20 && c < 0x7f && c != '"') ? c : '?';
	}
	safe[n] = '\0';
	printf("kfv-guest: booted via %s, cmdline \"%s\"%s\n", bootinfo_kind_name(boot_kind), safe,
	       boot_info.cmdline_truncated ? " (truncated)" : "");
}

void runtime_start(void)
{
	serial_init();
	gdt_init_bsp();
	idt_init();
	idt_load();
	if (!bootinfo_parse(boot_kind, boot_arg))
		guest_exit(GUEST_EXIT_BAD_BOOT);
	print_cmdline();
	printf("kfv-guest: %lu MiB RAM in %u memory map entries%s\n", bootinfo_ram_bytes() >> 20,
	       boot_info.mem_count, boot_info.mem_truncated ? " (truncated)" : "");
	guest_exit((uint8_t)guest_main());
}
