/* under-report: makes a test build of kfv lie about its exit counters (the
 * compromise-simulation port 0xf8, action 21: from then on the VMM's
 * telemetry leaves out about half of the exits), then gives the
 * orchestrator something to count: n= port 0x80 writes (default 5000)
 * from ring 3 at once, then one write per millisecond for seconds=
 * (default 3), so the gap between the VMM's counts and the kernel's KVM
 * statistics grows while the orchestrator compares them.
 *
 *   under-report: asking the VMM to under-report its exits
 *   under-report: 8000 exits made
 *   guest-report: N passed, M failed
 *
 * Exit code 0. The guest itself cannot tell whether the VMM lies; a
 * release build (no port 0xf8) just counts an unclaimed port write. */
#include "runtime/guest.h"
#include "runtime/tsc.h"

#define COMPROMISE_PORT        0xf8
#define COMPROMISE_UNDER_REPORT 21
#define POST_PORT              0x80

static uint64_t n = 5000, seconds = 3;

static uint64_t exits(uint64_t count)
{
	for (uint64_t i = 0; i < count; i++)
		outb(POST_PORT, (uint8_t)i);
	return count;
}

/* One exit per millisecond for `secs` seconds; returns the exits made. */
static uint64_t trickle(uint64_t secs)
{
	uint64_t start = rdtsc(), ms = tsc_ticks_ms(1), made = 0;

	for (uint64_t next = start; rdtsc() - start < tsc_ticks_ms(secs * 1000); next += ms) {
		while (rdtsc() < next)
			cpu_relax();
		outb(POST_PORT, (uint8_t)made);
		made++;
	}
	return made;
}

int guest_main(void)
{
	uint64_t made;

	if (cmdline_get_u64(boot_info.cmdline, "n", 5000, &n) < 0 ||
	    cmdline_get_u64(boot_info.cmdline, "seconds", 3, &seconds) < 0 || seconds > 3600) {
		printf("under-report: bad n= or seconds= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
		printf("under-report: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	printf("under-report: asking the VMM to under-report its exits\n");
	outb(COMPROMISE_PORT, COMPROMISE_UNDER_REPORT);
	made = user_run(exits, n);
	printf("under-report: %lu exits made; trickling one per ms for %lu s\n", made, seconds);
	made += user_run(trickle, seconds);
	printf("under-report: %lu exits made\n", made);
	GUEST_CHECK(made >= n);
	GUEST_DONE();
}
