/* One I/O bus per address space (port I/O, MMIO). Devices register a range
 * before the guest runs; the bus is then frozen and every guest access goes
 * through bus_dispatch(), the single point where agents account for it. */
#ifndef KFV_VMM_BUS_H
#define KFV_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

enum bus_space { BUS_PIO, BUS_MMIO };

/* Handlers get the offset inside their range; the bus guarantees that
 * [offset, offset + len) lies inside it and 1 <= len <= 8. They return
 * IO_HANDLED, IO_UNHANDLED (treated like an unclaimed access) or a negative
 * errno (counted as a device error; reads then see all-ones). */
enum { IO_HANDLED = 0, IO_UNHANDLED = 1 };

struct io_ops {
	int (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	int (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t size;
	const struct io_ops *ops;
	void *opaque;
	struct agent *agent; /* in the telemetry page (defense/telemetry.h) */
};

#define BUS_MAX_RANGES    32
#define BUS_UNCLAIMED_MAX 128

/* Per-address counts of accesses no device claimed. Insertion is a CAS on
 * the key so vCPU threads never take a lock; when the table is full further
 * addresses are only counted in `overflow`. */
struct unclaimed_slot {
	_Atomic uint64_t key; /* address + 1; 0 = empty */
	_Atomic uint64_t reads;
	_Atomic uint64_t writes;
};

struct bus {
	enum bus_space space;
	bool frozen;
	unsigned nr_ranges;
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base, never overlapping */
	struct unclaimed_slot unclaimed[BUS_UNCLAIMED_MAX];
	_Atomic uint64_t unclaimed_overflow;
	_Atomic uint64_t unclaimed_total;
	_Atomic uint64_t device_errors;
	struct agent *unclaimed_agent; /* every access no device claimed: "pio" or "mmio" */
};

void bus_init(struct bus *bus, enum bus_space space);

/* Adds [base, base + size). Refuses a zero size, a range that wraps, one
 * that overlaps another (-EEXIST), a full bus (-ENOSPC) and any change
 * after bus_freeze() (-EPERM). */
int bus_register(struct bus *bus, uint64_t base, uint64_t size, const char *name,
		 const struct io_ops *ops, void *opaque) __attribute__((warn_unused_result));

/* bus_register() with agent flags (AGENT_ESSENTIAL). */
int bus_register_ex(struct bus *bus, uint64_t base, uint64_t size, const char *name,
		    const struct io_ops *ops, void *opaque, unsigned agent_flags) __attribute__((warn_unused_result));

/* After this the set of ranges is fixed for the VM's life. */
void bus_freeze(struct bus *bus);

/* Runs one guest access through the range's agent and handler. Never fails:
 * an access that no device takes is counted, logged (rate-limited) and, for
 * reads, answered with all-ones. */
void bus_dispatch(struct bus *bus, bool is_write, uint64_t addr, uint8_t *data, uint32_t len);

/* The range holding addr, or NULL. */
struct bus_range *bus_find(struct bus *bus, uint64_t addr);

#endif
