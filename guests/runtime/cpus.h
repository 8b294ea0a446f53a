/* Which CPUs the platform says exist: the ACPI MADT first, the MP table
 * if there is no usable ACPI, otherwise just the boot CPU. */
#ifndef GUEST_RUNTIME_CPUS_H
#define GUEST_RUNTIME_CPUS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/image.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ULL

struct cpu_topology {
	unsigned count;               /* enabled CPUs we can address, BSP included */
	uint32_t apic_ids[MAX_CPUS];
	unsigned skipped;             /* enabled but unusable: x2APIC-only ids, beyond MAX_CPUS */
	uint64_t lapic_base;
	const char *source;           /* "acpi", "mptable" or "none" */
};

/* Adds an APIC id (no duplicates); counts it as skipped when it cannot be
 * used. Used by the table parsers. */
void cpus_add(struct cpu_topology *t, uint32_t apic_id);

/* Fills t from the firmware tables; never fails (falls back to the BSP
 * alone, source "none"). Prints one line saying what it found. */
void cpus_discover(struct cpu_topology *t);

/* The calling CPU's initial APIC id (CPUID leaf 1). */
uint32_t cpu_apic_id(void);

#endif
