#include "runtime/smp.h"

#include <stdbool.h>
#include <stddef.h>

#include "runtime/idt.h"
#include "runtime/image.h"
#include "runtime/io.h"
#include "runtime/lapic.h"
#include "runtime/printf.h"
#include "runtime/string.h"

/* Intel SDM / MP spec start-up timing: INIT, 10 ms, SIPI, 200 us, SIPI. */
#define INIT_DELAY_US  10000
#define SIPI_DELAY_US  200
#define SIPI_VECTOR    (AP_TRAMPOLINE_ADDR >> 12)
/* Wait-loop iterations allowed per millisecond of timeout, in case the
 * APIC timer does not count. */
#define SPINS_PER_MS   16000

extern const char ap_trampoline[], ap_trampoline_end[];
extern uint32_t ap_next_slot; /* trampoline.S: check-in slots handed out */

static uint32_t aps_online;               /* APs that checked in */
static uint32_t ap_ids[MAX_CPUS];         /* apic id per check-in slot, +1 (0 = empty) */

void ap_main(uint32_t slot)
{
	idt_load();
	__atomic_store_n(&ap_ids[slot], cpu_apic_id() + 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&aps_online, 1, __ATOMIC_SEQ_CST);
	cpu_park();
}

unsigned smp_cpus_online(void)
{
	return 1 + __atomic_load_n(&aps_online, __ATOMIC_SEQ_CST);
}

uint32_t smp_ap_apic_id(unsigned i)
{
	return i < MAX_CPUS ? __atomic_load_n(&ap_ids[i], __ATOMIC_RELAXED) - 1 : 0;
}

static bool checked_in(uint32_t apic_id)
{
	uint32_t slots = __atomic_load_n(&ap_next_slot, __ATOMIC_SEQ_CST);

	for (unsigned i = 0; i < slots && i < MAX_CPUS; i++)
		if (__atomic_load_n(&ap_ids[i], __ATOMIC_RELAXED) == apic_id + 1)
			return true;
	return false;
}

/* Sends one IPI to every AP not yet checked in. */
static void ipi_all(const struct cpu_topology *t, uint32_t bsp, uint32_t icr_lo)
{
	for (unsigned i = 0; i < t->count; i++) {
		uint32_t id = t->apic_ids[i];
		if (id == bsp || checked_in(id))
			continue;
		if (!lapic_send_ipi(id, icr_lo))
			printf("kfv-guest: warning: IPI 0x%x to apic id %u not accepted\n", icr_lo, id);
	}
}

unsigned smp_start_aps(const struct cpu_topology *t, unsigned timeout_ms)
{
	uint32_t bsp = cpu_apic_id();
	size_t size = (size_t)(ap_trampoline_end - ap_trampoline);
	unsigned expected = 0;

	for (unsigned i = 0; i < t->count; i++)
		if (t->apic_ids[i] != bsp)
			expected++;
	if (!expected)
		return smp_cpus_online();
	if (size > AP_TRAMPOLINE_MAX) {
		printf("kfv-guest: AP trampoline too large (%zu bytes)\n", size);
		return smp_cpus_online();
	}
	memcpy((void *)(uintptr_t)AP_TRAMPOLINE_ADDR, ap_trampoline, size);
	lapic_init(t->lapic_base);

	ipi_all(t, bsp, ICR_DM_INIT | ICR_LEVEL | ICR_ASSERT);
	lapic_delay_us(INIT_DELAY_US);
	ipi_all(t, bsp, ICR_DM_STARTUP | SIPI_VECTOR);
	lapic_delay_us(SIPI_DELAY_US);
	ipi_all(t, bsp, ICR_DM_STARTUP | SIPI_VECTOR);

	uint64_t start = lapic_clock_ns();
	uint64_t cap = (uint64_t)timeout_ms * SPINS_PER_MS;
	for (uint64_t i = 0; i < cap; i++) {
		if (__atomic_load_n(&aps_online, __ATOMIC_SEQ_CST) >= expected)
			break;
		if (lapic_clock_ns() - start >= (uint64_t)timeout_ms * 1000000)
			break;
		cpu_relax();
	}
	return smp_cpus_online();
}
