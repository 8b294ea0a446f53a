/* guard-hook: a guest that stays up while something happens to its VMM,
 * for the integrity guard's tests (docs/guard.md). action=N (default 0,
 * none) writes N to the compromise-simulation port 0xf8 of a test build of
 * kfv: 30 the guard's responder stops answering, 31 it replays its last
 * answer, 32 the VMM maps an executable page, 33 it opens an extra fd,
 * after delay_ms= (default 0; the guard takes its baseline in the first
 * periods, and what is there then is what it expects). Then it spins for seconds= (default 5) in ring 3 on the TSC, long
 * enough for the guard to see it, and prints
 *
 *   guard-hook: boot
 *   guard-hook: still running after S s
 *
 * exiting with code 0 if nothing stopped it. */
#include "runtime/guest.h"
#include "runtime/tsc.h"

#define COMPROMISE_PORT 0xf8

static uint64_t wait_ms(uint64_t ms)
{
	tsc_delay_ms(ms);
	return 0;
}

int guest_main(void)
{
	uint64_t action, seconds, delay_ms;

	printf("guard-hook: boot\n");
	if (cmdline_get_u64(boot_info.cmdline, "action", 0, &action) < 0 || action > 255 ||
	    cmdline_get_u64(boot_info.cmdline, "seconds", 5, &seconds) < 0 || seconds > 600 ||
	    cmdline_get_u64(boot_info.cmdline, "delay_ms", 0, &delay_ms) < 0 || delay_ms > 600000) {
		printf("guard-hook: bad action=, seconds= or delay_ms= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
		printf("guard-hook: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	if (action && delay_ms)
		user_run(wait_ms, delay_ms);
	if (action) {
		printf("guard-hook: action %lu\n", action);
		outb(COMPROMISE_PORT, (uint8_t)action);
	}
	user_run(wait_ms, seconds * 1000);
	printf("guard-hook: still running after %lu s\n", seconds);
	return GUEST_EXIT_PASS;
}
