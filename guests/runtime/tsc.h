/* The TSC as a clock for ring-3 loops. rdtsc works in ring 3 and costs no
 * exit, so a hot loop can time itself without changing what it measures
 * (the LAPIC clock is an MMIO read). tsc_calibrate() measures the TSC's
 * rate once against the LAPIC clock (lapic.h: a 1 GHz APIC bus is
 * assumed), after which ticks convert to nanoseconds. */
#ifndef GUEST_RUNTIME_TSC_H
#define GUEST_RUNTIME_TSC_H

#include <stdint.h>

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Ring 0, BSP: (re)starts the LAPIC clock at lapic_base and counts TSC
 * ticks over about 50 ms of it. Returns the TSC rate in Hz (also kept for
 * the calls below), or 0 when either clock did not move. */
uint64_t tsc_calibrate(uint64_t lapic_base);

/* The rate tsc_calibrate() found (0 before it ran). */
uint64_t tsc_hz(void);

/* Ticks in ms milliseconds, and nanoseconds in `ticks` ticks. */
uint64_t tsc_ticks_ms(uint64_t ms);
uint64_t tsc_to_ns(uint64_t ticks);

/* Busy-waits ms milliseconds on the TSC (ring 0 or 3, no exits). */
void tsc_delay_ms(uint64_t ms);

#endif
