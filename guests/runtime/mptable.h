/* The Intel MultiProcessor Specification table, used when there is no
 * ACPI: find the "_MP_" floating pointer, check the "PCMP" configuration
 * table and list its enabled processor entries. */
#ifndef GUEST_RUNTIME_MPTABLE_H
#define GUEST_RUNTIME_MPTABLE_H

#include "runtime/cpus.h"

/* Adds the enabled processors to t and sets t->lapic_base. Returns 0, or
 * -1 when there is no valid MP table. */
int mptable_cpus(struct cpu_topology *t);

#endif
