/* hello: starts every CPU the firmware tables list and reports how many
 * came online.
 *
 *   hello: N cpus online        (N counts the BSP)
 *
 * then exits with code 0. Command line: ap_timeout_ms=MS bounds the wait
 * for APs (default 2000). */
#include "runtime/guest.h"

#define DEFAULT_AP_TIMEOUT_MS 2000

int guest_main(void)
{
	struct cpu_topology cpus;
	uint64_t timeout_ms;

	if (cmdline_get_u64(boot_info.cmdline, "ap_timeout_ms", DEFAULT_AP_TIMEOUT_MS, &timeout_ms) <
		    0 ||
	    timeout_ms > 60000) {
		printf("hello: bad ap_timeout_ms (want 0..60000)\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	cpus_discover(&cpus);
	unsigned online = smp_start_aps(&cpus, (unsigned)timeout_ms);
	if (online < cpus.count)
		printf("hello: warning: only %u of %u listed cpus answered within %lu ms\n", online,
		       cpus.count, timeout_ms);
	printf("hello: %u cpus online\n", online);
	return GUEST_EXIT_PASS;
}
