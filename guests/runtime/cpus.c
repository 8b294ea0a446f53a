#include "runtime/cpus.h"

#include "runtime/acpi.h"
#include "runtime/bootinfo.h"
#include "runtime/io.h"
#include "runtime/mptable.h"
#include "runtime/printf.h"
#include "runtime/string.h"

#define XAPIC_MAX_ID 0xfe /* 0xff is the broadcast id */

uint32_t cpu_apic_id(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

void cpus_add(struct cpu_topology *t, uint32_t apic_id)
{
	for (unsigned i = 0; i < t->count; i++)
		if (t->apic_ids[i] == apic_id)
			return;
	if (apic_id > XAPIC_MAX_ID || t->count == MAX_CPUS) {
		t->skipped++;
		return;
	}
	t->apic_ids[t->count++] = apic_id;
}

static void reset(struct cpu_topology *t)
{
	memset(t, 0, sizeof(*t));
	t->lapic_base = LAPIC_DEFAULT_BASE;
}

static void print_ids(const struct cpu_topology *t, uint64_t rsdp)
{
	char ids[160];
	int n = 0;

	ids[0] = '\0';
	for (unsigned i = 0; i < t->count && n < (int)sizeof(ids) - 8; i++)
		n += snprintf(ids + n, sizeof(ids) - (size_t)n, " %u", t->apic_ids[i]);
	if (strncmp(t->source, "none", 5) == 0) {
		printf("kfv-guest: no ACPI MADT or MP table, assuming 1 cpu (apic id%s)\n", ids);
		return;
	}
	char where[64] = "";
	if (strncmp(t->source, "acpi", 5) == 0)
		snprintf(where, sizeof(where), ", rsdp at 0x%lx (%s)", rsdp,
			 rsdp == boot_info.rsdp_paddr ? "from the loader" : "found by scanning");
	printf("kfv-guest: %s lists %u cpu%s (apic ids%s)%s, lapic at 0x%lx%s\n", t->source, t->count,
	       t->count == 1 ? "" : "s", ids, t->skipped ? ", some unusable" : "", t->lapic_base, where);
}

void cpus_discover(struct cpu_topology *t)
{
	uint64_t rsdp = acpi_find_rsdp(boot_info.rsdp_paddr);

	reset(t);
	if (rsdp && acpi_madt_cpus(rsdp, t) == 0 && t->count) {
		t->source = "acpi";
	} else {
		reset(t);
		if (mptable_cpus(t) == 0 && t->count) {
			t->source = "mptable";
		} else {
			reset(t);
			t->source = "none";
		}
	}
	/* Whatever the tables say, the CPU running this exists. */
	if (t->count == 0)
		cpus_add(t, cpu_apic_id());
	print_ids(t, rsdp);
}
