/* under-report: makes a test build of kfv lie about its exit counters (the
 * compromise-simulation port 0xf8, action 21: from then on the VMM's
 * telemetry leaves out every other exit of each kind), then gives the
 * orchestrator something to count: n= exits at once (default 5000), then
 * one a millisecond for seconds= (default 3), so the gap between the
 * VMM's counts and the kernel's KVM statistics grows while the
 * orchestrator compares them.
 *
 * The exits alternate between a port 0x80 write and an MMIO read of
 * 0xd0000000, kfv's first virtio-mmio window: both reach kfv, and the
 * kernel counts MMIO exits to user space exactly, so MMIO is where a
 * comparison can hold the VMM to account. Run with a virtio device (e.g.
 * --rng) so the read is of a device's magic register; without one it is
 * an unclaimed MMIO read (counted just the same).
 *
 *   under-report: asking the VMM to under-report its exits
 *   under-report: 8000 exits made (4000 port, 4000 mmio)
 *   guest-report: N passed, M failed
 *
 * marker=HEX (up to 32 hex digits) puts "KFV-FORENSIC-MARKER-HEX" in the
 * guest's memory first, for a test to find in a forensic dump of it.
 *
 * Exit code 0. The guest itself cannot tell whether the VMM lies; a
 * release build (no port 0xf8) just counts an unclaimed port write. */
#include "runtime/guest.h"
#include "runtime/tsc.h"
#include "runtime/virtio.h"

#define COMPROMISE_PORT         0xf8
#define COMPROMISE_UNDER_REPORT 21
#define POST_PORT               0x80
#define VIRTIO_MAGIC            0x74726976

#define MARKER_PREFIX  "KFV-FORENSIC-MARKER-"
#define MARKER_HEX_MAX 32

static uint64_t n = 5000, seconds = 3, made;
static char marker[sizeof(MARKER_PREFIX) + MARKER_HEX_MAX];

/* The marker sits in .bss: the dump is of all guest RAM. */
static int set_marker(void)
{
	char hex[MARKER_HEX_MAX + 2];
	size_t len;

	if (!cmdline_get(boot_info.cmdline, "marker", hex, sizeof(hex)))
		return 0;
	len = strlen(hex);
	if (len == 0 || len > MARKER_HEX_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -1;
	snprintf(marker, sizeof(marker), "%s%s", MARKER_PREFIX, hex);
	printf("under-report: marker %s at %p\n", marker, (void *)marker);
	return 0;
}

static void one_exit(void)
{
	if (made++ & 1)
		(void)mmio_read32(VIRTIO_MMIO_BASE);
	else
		outb(POST_PORT, 0);
}

static uint64_t burst(uint64_t count)
{
	for (uint64_t i = 0; i < count; i++)
		one_exit();
	return count;
}

/* One exit per millisecond for `secs` seconds. */
static uint64_t trickle(uint64_t secs)
{
	uint64_t start = rdtsc(), ms = tsc_ticks_ms(1), len = tsc_ticks_ms(secs * 1000);

	for (uint64_t next = start; rdtsc() - start < len; next += ms) {
		while (rdtsc() < next)
			cpu_relax();
		one_exit();
	}
	return 0;
}

int guest_main(void)
{
	bool device;

	if (cmdline_get_u64(boot_info.cmdline, "n", 5000, &n) < 0 ||
	    cmdline_get_u64(boot_info.cmdline, "seconds", 3, &seconds) < 0 || seconds > 3600 || set_marker()) {
		printf("under-report: bad n=, seconds= or marker= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
		printf("under-report: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	device = mmio_read32(VIRTIO_MMIO_BASE) == VIRTIO_MAGIC;
	printf("under-report: mmio exits read 0x%llx (%s)\n", VIRTIO_MMIO_BASE,
	       device ? "a virtio device's magic register" : "unclaimed: no virtio device");
	printf("under-report: asking the VMM to under-report its exits\n");
	outb(COMPROMISE_PORT, COMPROMISE_UNDER_REPORT);
	made = 0;
	user_run(burst, n);
	printf("under-report: %lu exits made; one a millisecond for %lu s\n", made, seconds);
	user_run(trickle, seconds);
	printf("under-report: %lu exits made (%lu port, %lu mmio)\n", made, (made + 1) / 2, made / 2);
	GUEST_CHECK(made >= n);
	GUEST_DONE();
}
