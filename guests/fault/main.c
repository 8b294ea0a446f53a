/* fault: triple-faults on purpose so the VMM sees a shutdown.
 *
 * It loads an IDT with limit 0 and executes ud2: the #UD cannot be
 * delivered (#GP), neither can the #GP (#DF), nor the #DF: shutdown. If
 * the CPU somehow carries on, the guest exits with GUEST_EXIT_NO_FAULT. */
#include "runtime/guest.h"

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty_idt = { 0, 0 };

	printf("fault: about to triple-fault (IDT limit 0, then ud2)\n");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt) : "memory");
	printf("fault: still running after the triple fault\n");
	return GUEST_EXIT_NO_FAULT;
}
