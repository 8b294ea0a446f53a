/* port-fuzz: the self-defense loop's port scanner. Touches every I/O port
 * 0-0xffff from ring 3 with reads of 1, 2 and 4 bytes and writes of 0
 * (byte), 0xff (word), 0x55 (dword) and 0xaa (byte), then waits settle_ms=
 * so an orchestrator can answer the scan (by denying the port bus: reads
 * of the VMM's own devices then return all-ones) and probes two ports:
 *
 *   port-fuzz: round 1: 65536 ports, 262140 accesses, 65510 byte reads all-ones, 15020 ms
 *   port-fuzz: after: post-code port 0xff (all-ones), pit status 0x34 (answers)
 *   guest-report: N passed, M failed
 *
 * The POST-code port is one of kfv's own port devices (the scan never
 * writes it, so it reads 0 until a deny), the PIT lives in the kernel
 * (KVM_CREATE_PIT2), so a denied port bus turns the first to all-ones and
 * leaves the second alone. (The console, the i8042 and the ACPI power
 * registers are essential: a deny leaves them answering.) A deny is the expected answer, never a failure:
 * the guest exits 0 when its sweeps completed.
 *
 * Every exit costs tens of microseconds on a nested host, so a round gives
 * each port four accesses: a byte read, a word or a dword read, and two of
 * the four writes, rotating with the port and the round; two rounds give
 * every port every width and value. full=1 makes all seven accesses on
 * every port in each round. values=N adds N byte writes per port, of
 * values spread over 0-0xff.
 *
 * Never touched, at any width (an access's whole span is checked): the
 * debug-exit port (0xf4-0xf7), the compromise-simulation port (0xf8), the
 * POST-code port (0x80) and COM1 (0x3f8-0x3ff). Never written, so the scan
 * cannot end the run by resetting the machine: 0x92 (fast reset), 0xcf9
 * (reset control), kfv's ACPI sleep and reset registers (0x600-0x602),
 * and the i8042 command port 0x64 with 0xf0-0xff (pulse output lines;
 * 0xfe is the CPU reset) or 0xd1 (write the output port: its bit 0 is the
 * reset line).
 *
 * Options: step=N (every Nth port, default 1), rounds=N (default 1),
 * full=1, values=N (0-256, default 0), settle_ms=MS (default 2000). */
#include "runtime/guest.h"
#include "runtime/tsc.h"

#define I8042_STATUS  0x64
#define POST_CODE     0x80
#define ACPI_PM_FIRST 0x600 /* kfv's ACPI sleep control, status and reset registers */
#define ACPI_PM_LAST  0x602
#define PIT_CH0       0x40
#define PIT_CMD       0x43
/* PIT control word: counter 0, lobyte/hibyte, mode 2, binary. */
#define PIT_MODE2_CH0 0x34
/* Read-back command: latch the status (not the count) of counter 0. */
#define PIT_READBACK_STATUS_CH0 0xe2

struct span {
	uint16_t first, last;
};

/* Never read or written (see the comment at the top). */
static const struct span untouched[] = {
	{ 0x80, 0x80 }, { 0xf4, 0xf8 }, { 0x3f8, 0x3ff },
};

static uint64_t step = 1, rounds = 1, full, nvalues, settle_ms = 2000;
static uint64_t accesses, all_ones, skipped;

static bool overlaps_untouched(uint32_t port, unsigned width)
{
	uint32_t last = port + width - 1;

	for (unsigned i = 0; i < sizeof(untouched) / sizeof(untouched[0]); i++)
		if (port <= untouched[i].last && untouched[i].first <= last)
			return true;
	return false;
}

/* Writes that would reset the machine under some VMM. */
static bool reset_write(uint32_t port, unsigned width, uint8_t v)
{
	uint32_t last = port + width - 1;

	if ((port <= 0x92 && 0x92 <= last) || (port <= 0xcf9 && 0xcf9 <= last))
		return true;
	if (port <= ACPI_PM_LAST && ACPI_PM_FIRST <= last) /* sleep control and reset registers */
		return true;
	/* pulse output lines (0xfe: the CPU reset), or write the output
	 * port, whose bit 0 is the reset line */
	return port <= I8042_STATUS && I8042_STATUS <= last && (v >= 0xf0 || v == 0xd1);
}

static void port_read(uint32_t p, unsigned width)
{
	if (p + width - 1 > 0xffff || overlaps_untouched(p, width)) {
		skipped++;
		return;
	}
	accesses++;
	switch (width) {
	case 1:
		if (inb((uint16_t)p) == 0xff)
			all_ones++;
		break;
	case 2: (void)inw((uint16_t)p); break;
	default: (void)inl((uint16_t)p); break;
	}
}

static void port_write(uint32_t p, unsigned width, uint8_t v)
{
	if (p + width - 1 > 0xffff || overlaps_untouched(p, width) || reset_write(p, width, v)) {
		skipped++;
		return;
	}
	accesses++;
	switch (width) {
	case 1: outb((uint16_t)p, v); break;
	case 2: outw((uint16_t)p, (uint16_t)(v * 0x0101u)); break;
	default: outl((uint16_t)p, v * 0x01010101u); break;
	}
}

/* One sweep over the ports in ring 3; arg is the round (from 0). Returns
 * the ports visited. */
static uint64_t sweep(uint64_t round)
{
	static const struct {
		uint8_t value;
		unsigned width;
	} fixed[] = { { 0x00, 1 }, { 0xff, 2 }, { 0x55, 4 }, { 0xaa, 1 } };
	uint64_t ports = 0;

	for (uint32_t p = 0; p <= 0xffff; p += (uint32_t)step, ports++) {
		uint32_t k = (uint32_t)(p / step + round);

		port_read(p, 1);
		if (full || k % 2 == 0)
			port_read(p, 2);
		if (full || k % 2 == 1)
			port_read(p, 4);
		for (unsigned i = 0; i < 4; i++)
			if (full || i == k % 4 || i == (k + 2) % 4)
				port_write(p, fixed[i].width, fixed[i].value);
		for (uint64_t i = 0; i < nvalues; i++)
			port_write(p, 1, (uint8_t)(i * 256 / nvalues));
	}
	return ports;
}

/* Programs PIT counter 0 and reads its status back: a PIT that answers
 * reports the mode just written in the low six bits. */
static uint8_t pit_status(void)
{
	outb(PIT_CMD, PIT_MODE2_CH0);
	outb(PIT_CH0, 0x00);
	outb(PIT_CH0, 0x10);
	outb(PIT_CMD, PIT_READBACK_STATUS_CH0);
	return inb(PIT_CH0);
}

/* Ring 3: waiting in ring 0 would be emulated, instruction by instruction,
 * on hosts that run guest ring 0 in software. */
static uint64_t settle(uint64_t ms)
{
	tsc_delay_ms(ms);
	return 0;
}

static int parse(const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
	if (cmdline_get_u64(boot_info.cmdline, key, def, out) < 0 || *out < min || *out > max) {
		printf("port-fuzz: bad %s= on the command line\n", key);
		return -1;
	}
	return 0;
}

int guest_main(void)
{
	uint64_t ports = 0, start, ms;
	uint8_t post, pit;

	if (parse("step", 1, 1, 0xffff, &step) || parse("rounds", 1, 1, 1000, &rounds) ||
	    parse("full", 0, 0, 1, &full) ||
	    parse("values", 0, 0, 256, &nvalues) || parse("settle_ms", 2000, 0, 600000, &settle_ms))
		return GUEST_EXIT_BAD_BOOT;
	if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
		printf("port-fuzz: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	printf("port-fuzz: tsc %lu kHz, step %lu, rounds %lu%s, %lu extra values, settle %lu ms\n",
	       tsc_hz() / 1000, step, rounds, full ? ", full" : "", nvalues, settle_ms);
	for (uint64_t r = 1; r <= rounds; r++) {
		uint64_t a0 = accesses, o0 = all_ones;

		start = rdtsc();
		ports = user_run(sweep, r - 1);
		ms = tsc_to_ns(rdtsc() - start) / 1000000;
		printf("port-fuzz: round %lu: %lu ports, %lu accesses, %lu byte reads all-ones, %lu ms\n", r, ports,
		       accesses - a0, all_ones - o0, ms);
	}
	printf("port-fuzz: %lu accesses in all, %lu skipped; settling %lu ms\n", accesses, skipped, settle_ms);
	user_run(settle, settle_ms);
	post = inb(POST_CODE);
	pit = pit_status();
	printf("port-fuzz: after: post-code port 0x%02x (%s), pit status 0x%02x (%s)\n", post,
	       post == 0xff ? "all-ones" : "answers", pit, pit == 0xff ? "all-ones" : "answers");
	GUEST_CHECK(ports == (0x10000 + step - 1) / step);
	GUEST_CHECK(accesses > 0);
	GUEST_DONE();
}
