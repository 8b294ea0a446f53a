/* attack-escape: asks a test build of kfv to behave as a VMM whose device
 * emulation an attacker has taken over (the compromise-simulation port,
 * 0xf8, which release builds do not have). `action=N` picks the escape;
 * the guest should never see the write return. */
#include "runtime/guest.h"

#define COMPROMISE_PORT 0xf8

int guest_main(void)
{
	uint64_t action;

	if (cmdline_get_u64(boot_info.cmdline, "action", 0, &action) < 0 || action == 0 || action > 255) {
		printf("attack-escape: need action=N on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	printf("attack-escape: asking the VMM for escape %lu\n", action);
	outb(COMPROMISE_PORT, (uint8_t)action);
	printf("attack-escape: the VMM survived escape %lu\n", action);
	return GUEST_EXIT_FAIL;
}
