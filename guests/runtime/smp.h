/* Application processor start-up: INIT-SIPI-SIPI to each listed CPU
 * through the real-mode trampoline (trampoline.S, copied to
 * AP_TRAMPOLINE_ADDR). Each AP loads the IDT, checks in by incrementing an
 * atomic counter once, in 64-bit mode, and halts for good (cli; hlt). */
#ifndef GUEST_RUNTIME_SMP_H
#define GUEST_RUNTIME_SMP_H

#include <stdint.h>

#include "runtime/cpus.h"

/* Starts every CPU in t other than the caller, waits until all have
 * checked in or timeout_ms passed, and returns the number of CPUs online,
 * the caller included. Call once, on the BSP. */
unsigned smp_start_aps(const struct cpu_topology *t, unsigned timeout_ms);

/* CPUs online now, the BSP included. */
unsigned smp_cpus_online(void);

/* APIC id of the AP that took check-in slot i (i < smp_cpus_online() - 1). */
uint32_t smp_ap_apic_id(unsigned i);

/* Called by ap_entry64 (trampoline.S) on each AP's own stack. */
__attribute__((noreturn)) void ap_main(uint32_t slot);

#endif
