/* Just enough ACPI to count CPUs: find the RSDP, walk the XSDT or RSDT,
 * read the MADT. Every structure's checksum and length is checked; a
 * table that fails is treated as absent. */
#ifndef GUEST_RUNTIME_ACPI_H
#define GUEST_RUNTIME_ACPI_H

#include <stdint.h>

#include "runtime/cpus.h"

/* Returns the RSDP's physical address: the loader's hint when it points
 * at a valid RSDP, else the first valid one in the EBDA's first KiB or in
 * 0xe0000-0xfffff; 0 when there is none. */
uint64_t acpi_find_rsdp(uint64_t hint);

/* Returns the physical address of the first valid table with signature
 * sig (4 characters) listed by the root table, or 0. */
uint64_t acpi_find_table(uint64_t rsdp, const char *sig);

/* Adds the MADT's enabled local APICs (type 0, and type 9 x2APIC entries
 * with an xAPIC-sized id) to t and sets t->lapic_base. Returns 0, or -1
 * when there is no valid MADT. */
int acpi_madt_cpus(uint64_t rsdp, struct cpu_topology *t);

#endif
