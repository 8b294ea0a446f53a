#include "runtime/lapic.h"

#include "runtime/io.h"

#define SVR_ENABLE      0x100
#define SPURIOUS_VECTOR 0xff
#define LVT_MASKED      0x10000
#define TIMER_VECTOR    0xfe
#define DCR_DIV16       0x3
#define NS_PER_TICK     16          /* 1 GHz bus divided by 16 */
#define CLOCK_START     0xffffffffu
#define ICR_SPIN_MAX    1000000
/* Loop iterations allowed per microsecond of waiting before giving up on
 * the timer: far more than any real iteration rate. */
#define SPINS_PER_US    16

static uint64_t lapic_base;

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(lapic_base + reg);
}

void lapic_write(uint32_t reg, uint32_t value)
{
	mmio_write32(lapic_base + reg, value);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_init(uint64_t base)
{
	lapic_base = base;
	lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	/* One-shot, masked: the timer never interrupts, its count is the clock. */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV16);
	lapic_write(LAPIC_TIMER_ICR, CLOCK_START);
}

bool lapic_send_ipi(uint32_t apic_id, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (unsigned i = 0; i < ICR_SPIN_MAX; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return true;
		cpu_relax();
	}
	return false;
}

uint64_t lapic_clock_ns(void)
{
	return (uint64_t)(CLOCK_START - lapic_read(LAPIC_TIMER_CCR)) * NS_PER_TICK;
}

void lapic_delay_us(uint64_t us)
{
	uint64_t start = lapic_clock_ns();
	uint64_t cap = us * SPINS_PER_US + 1;

	for (uint64_t i = 0; i < cap; i++) {
		if (lapic_clock_ns() - start >= us * 1000)
			return;
		cpu_relax();
	}
}
