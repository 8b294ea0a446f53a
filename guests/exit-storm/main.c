/* exit-storm: exits as fast as one vCPU can, for the self-defense loop's
 * exit-rate policy (throttle through the VM's cgroup, then pause, then
 * kill). From ring 3 it writes 0 to one port for seconds= (default 10)
 * and times itself on the TSC in windows of window_ms= (default 250):
 *
 *   exit-storm: window 1: 24790 exits/s
 *   ...
 *   exit-storm: 247902 exits in 10000 ms, 24790 exits/s on average, slowest window 1077 exits/s
 *   guest-report: N passed, M failed
 *
 * The default port is the PIT's command port 0x43, which KVM's in-kernel
 * PIT answers without a trip to kfv (0 latches counter 0: harmless), so
 * each exit is as cheap as an exit gets and the rate is the highest a
 * guest can cause; the orchestrator counts exits in the kernel's KVM
 * statistics, so it sees them all. port=0x80 (kfv's POST-code sink) makes
 * every exit a round trip through kfv instead, at a lower rate. A
 * throttled VM shows up as windows with lower rates (the TSC runs on while
 * the vCPU thread waits for its CPU share). Ends with exit code 0. */
#include "runtime/guest.h"
#include "runtime/tsc.h"

#define PIT_CMD_PORT 0x43
/* Exits between two looks at the TSC: rdtsc is cheap next to an exit. */
#define BATCH 16

static uint64_t port = PIT_CMD_PORT, seconds = 10, window_ms = 250;
static uint64_t total, windows, min_rate = ~0ull;

static uint64_t storm(uint64_t unused)
{
	uint64_t start = rdtsc(), end = start + tsc_ticks_ms(seconds * 1000);
	uint64_t wlen = tsc_ticks_ms(window_ms), wstart = start, wcount = 0, now = start;

	(void)unused;
	while (now < end) {
		for (unsigned i = 0; i < BATCH; i++)
			outb((uint16_t)port, 0);
		wcount += BATCH;
		now = rdtsc();
		if (now - wstart >= wlen || now >= end) {
			uint64_t ns = tsc_to_ns(now - wstart);
			uint64_t rate = ns ? wcount * 1000000000ull / ns : 0;

			windows++;
			printf("exit-storm: window %lu: %lu exits/s\n", windows, rate);
			if (rate < min_rate)
				min_rate = rate;
			total += wcount;
			wcount = 0;
			/* The window's own printf is not counted in the next. */
			wstart = now = rdtsc();
		}
	}
	return tsc_to_ns(now - start) / 1000000;
}

static int parse(const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
	if (cmdline_get_u64(boot_info.cmdline, key, def, out) < 0 || *out < min || *out > max) {
		printf("exit-storm: bad %s= on the command line\n", key);
		return -1;
	}
	return 0;
}

int guest_main(void)
{
	uint64_t ms;

	if (parse("port", PIT_CMD_PORT, 0, 0xffff, &port) || parse("seconds", 10, 1, 3600, &seconds) ||
	    parse("window_ms", 250, 10, 60000, &window_ms))
		return GUEST_EXIT_BAD_BOOT;
	/* The ports that would end the run or scribble on the console. */
	if ((port >= DEBUG_EXIT_PORT && port <= DEBUG_EXIT_PORT + 3) || (port >= 0x3f8 && port <= 0x3ff) ||
	    port == 0xf8) {
		printf("exit-storm: port=0x%lx is reserved\n", port);
		return GUEST_EXIT_BAD_BOOT;
	}
	if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
		printf("exit-storm: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	printf("exit-storm: tsc %lu kHz; writing port 0x%lx for %lu s in windows of %lu ms\n", tsc_hz() / 1000, port,
	       seconds, window_ms);
	ms = user_run(storm, 0);
	printf("exit-storm: %lu exits in %lu ms, %lu exits/s on average, slowest window %lu exits/s\n", total, ms,
	       ms ? total * 1000 / ms : 0, windows ? min_rate : 0);
	GUEST_CHECK(windows > 0);
	GUEST_CHECK(total > 0);
	GUEST_DONE();
}
