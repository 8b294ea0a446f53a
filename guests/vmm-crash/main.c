/* vmm-crash: makes a test build of kfv crash (the compromise-simulation
 * port 0xf8, action 20: the vCPU thread writes through NULL and the VMM
 * dies of SIGSEGV), so the supervisor's restart-from-clean-config path
 * runs. Each boot prints
 *
 *   vmm-crash: boot
 *
 * first, so a test counts boots across restarts. delay_ms= (default 0)
 * waits that long on the TSC, in ring 3, before asking for the crash. If
 * the write returns (a release build has no port 0xf8), it prints
 * "vmm-crash: the VMM survived" and exits with code 1. */
#include "runtime/guest.h"
#include "runtime/tsc.h"

#define COMPROMISE_PORT  0xf8
#define COMPROMISE_CRASH 20

static uint64_t wait_ms(uint64_t ms)
{
	tsc_delay_ms(ms);
	return 0;
}

int guest_main(void)
{
	uint64_t delay_ms;

	printf("vmm-crash: boot\n");
	if (cmdline_get_u64(boot_info.cmdline, "delay_ms", 0, &delay_ms) < 0 || delay_ms > 600000) {
		printf("vmm-crash: bad delay_ms= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	if (delay_ms) {
		if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
			printf("vmm-crash: cannot calibrate the TSC against the LAPIC clock\n");
			return GUEST_EXIT_FAIL;
		}
		user_run(wait_ms, delay_ms);
	}
	printf("vmm-crash: asking the VMM to crash\n");
	outb(COMPROMISE_PORT, COMPROMISE_CRASH);
	printf("vmm-crash: the VMM survived\n");
	return GUEST_EXIT_FAIL;
}
