/* port-scan: reads every I/O port 0-0xffff, then writes 0 to every port
 * outside the devices' ranges, all from ring 3 with IOPL 3, and expects
 * the VMM to stay alive and the console to keep working. Prints
 *
 *   port-scan: 65536 ports read, A read all-ones, W ports written
 *   guest-report: N passed, M failed
 *
 * Ports never written (the devices a VMM may have there): the PICs
 * (0x20-0x21, 0xa0-0xa1), PIT (0x40-0x43), port 0x61, ELCR (0x4d0-0x4d1),
 * i8042 (0x60, 0x64), the debug-exit port (0xf4-0xf7) and COM1
 * (0x3f8-0x3ff). step=N probes every Nth port only (default 1). */
#include "runtime/guest.h"

static uint64_t step = 1, all_ones, written;

static bool device_port(uint32_t p)
{
	return (p >= 0x20 && p <= 0x21) || (p >= 0xa0 && p <= 0xa1) || (p >= 0x40 && p <= 0x43) || p == 0x61 ||
	       (p >= 0x4d0 && p <= 0x4d1) || p == 0x60 || p == 0x64 || (p >= 0xf4 && p <= 0xf7) ||
	       (p >= 0x3f8 && p <= 0x3ff);
}

static uint64_t read_all(uint64_t unused)
{
	uint64_t n = 0;

	(void)unused;
	for (uint32_t p = 0; p <= 0xffff; p += (uint32_t)step) {
		if (inb((uint16_t)p) == 0xff && !device_port(p))
			all_ones++;
		n++;
	}
	return n;
}

static uint64_t write_all(uint64_t unused)
{
	(void)unused;
	for (uint32_t p = 0; p <= 0xffff; p += (uint32_t)step) {
		if (device_port(p) || p == 0x80)
			continue;
		outb((uint16_t)p, 0);
		written++;
	}
	return written;
}

int guest_main(void)
{
	uint64_t read;

	if (cmdline_get_u64(boot_info.cmdline, "step", 1, &step) < 0 || step == 0 || step > 0xffff) {
		printf("port-scan: bad step= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	read = user_run(read_all, 0);
	user_run(write_all, 0);
	printf("port-scan: %lu ports read, %lu read all-ones, %lu ports written\n", read, all_ones, written);
	GUEST_CHECK(read == (0x10000 + step - 1) / step);
	/* Everything but a handful of device ports reads as nothing there. */
	GUEST_CHECK(all_ones + 64 / step >= read);
	GUEST_CHECK(written > 0);
	GUEST_DONE();
}
