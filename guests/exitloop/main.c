/* exitloop: the exit round-trip benchmark guest.
 *
 * Reads n=NUMBER from the command line (default 100000), drops to ring 3
 * and there writes port 0x80 NUMBER times (each write is one exit to the
 * VMM's POST-code sink), comes back to ring 0 and prints
 *
 *   exitloop: N exits
 *
 * then exits with code 0. The loop runs in ring 3 because some hosts
 * emulate guest ring-0 code slowly. */
#include "runtime/guest.h"

#define POST_PORT 0x80
#define DEFAULT_N 100000

static uint64_t exit_loop(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		outb(POST_PORT, (uint8_t)i);
	return i;
}

int guest_main(void)
{
	uint64_t n;

	if (cmdline_get_u64(boot_info.cmdline, "n", DEFAULT_N, &n) < 0) {
		printf("exitloop: bad n= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	uint64_t done = user_run(exit_loop, n);
	printf("exitloop: %lu exits\n", done);
	return done == n ? GUEST_EXIT_PASS : GUEST_EXIT_FAIL;
}
