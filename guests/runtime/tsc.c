#include "runtime/tsc.h"

#include "runtime/io.h"
#include "runtime/lapic.h"

#define CALIBRATE_NS 50000000ULL /* 50 ms */
/* Iterations allowed per microsecond before deciding the LAPIC clock does
 * not count (as lapic_delay_us() does). */
#define SPINS_PER_US 16

static uint64_t hz;

uint64_t tsc_calibrate(uint64_t lapic_base)
{
	uint64_t t0, c0, t1 = 0, c1 = 0, cap = CALIBRATE_NS / 1000 * SPINS_PER_US;

	lapic_init(lapic_base);
	c0 = lapic_clock_ns();
	t0 = rdtsc();
	for (uint64_t i = 0; i < cap; i++) {
		c1 = lapic_clock_ns();
		if (c1 - c0 >= CALIBRATE_NS)
			break;
		cpu_relax();
	}
	t1 = rdtsc();
	if (c1 - c0 < CALIBRATE_NS || t1 <= t0) {
		hz = 0;
		return 0;
	}
	/* ticks * 1e9 stays below 2^64 for any TSC under ~100 GHz here. */
	hz = (t1 - t0) * 1000000000ULL / (c1 - c0);
	return hz;
}

uint64_t tsc_hz(void)
{
	return hz;
}

uint64_t tsc_ticks_ms(uint64_t ms)
{
	return hz / 1000 * ms;
}

uint64_t tsc_to_ns(uint64_t ticks)
{
	if (!hz)
		return 0;
	/* Split so ticks * 1e9 cannot overflow for long intervals. */
	return ticks / hz * 1000000000ULL + ticks % hz * 1000000000ULL / hz;
}

void tsc_delay_ms(uint64_t ms)
{
	uint64_t start = rdtsc(), len = tsc_ticks_ms(ms);

	while (rdtsc() - start < len)
		cpu_relax();
}
