#include "bus.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../defense/telemetry.h"
#include "../util/log.h"

void bus_init(struct bus *bus, enum bus_space space)
{
	memset(bus, 0, sizeof(*bus));
	bus->space = space;
	bus->unclaimed_agent = agent_register(AGENT_KIND_UNCLAIMED, space == BUS_PIO ? "pio" : "mmio", 0);
}

int bus_register(struct bus *bus, uint64_t base, uint64_t size, const char *name,
		 const struct io_ops *ops, void *opaque)
{
	return bus_register_ex(bus, base, size, name, ops, opaque, 0);
}

int bus_register_ex(struct bus *bus, uint64_t base, uint64_t size, const char *name,
		    const struct io_ops *ops, void *opaque, unsigned agent_flags)
{
	uint64_t last;
	unsigned i;

	if (bus->frozen)
		return -EPERM;
	if (size == 0 || !ops)
		return -EINVAL;
	last = base + size - 1;
	if (last < base)
		return -EINVAL;
	if (bus->space == BUS_PIO && last > 0xffff)
		return -EINVAL;
	if (bus->nr_ranges == BUS_MAX_RANGES)
		return -ENOSPC;

	for (i = 0; i < bus->nr_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base <= r->base + r->size - 1 && r->base <= last)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr_ranges - i) * sizeof(bus->ranges[0]));
	memset(&bus->ranges[i], 0, sizeof(bus->ranges[i]));
	bus->ranges[i].base = base;
	bus->ranges[i].size = size;
	bus->ranges[i].ops = ops;
	bus->ranges[i].opaque = opaque;
	bus->ranges[i].agent = agent_register(bus->space == BUS_PIO ? AGENT_KIND_PIO : AGENT_KIND_MMIO, name,
					      agent_flags);
	bus->nr_ranges++;
	return 0;
}

void bus_freeze(struct bus *bus)
{
	bus->frozen = true;
}

struct bus_range *bus_find(struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr_ranges;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static void count_unclaimed(struct bus *bus, bool is_write, uint64_t addr)
{
	uint64_t key = addr + 1;
	unsigned i, slot = (unsigned)((addr * 0x9e3779b97f4a7c15ULL) >> 57) % BUS_UNCLAIMED_MAX;

	atomic_fetch_add_explicit(&bus->unclaimed_total, 1, memory_order_relaxed);
	if (bus->unclaimed_agent) {
		agent_count(bus->unclaimed_agent, 1);
		/* Denied: the scan is already known; no per-address accounting. */
		if (agent_action(bus->unclaimed_agent) == AGENT_DENY) {
			agent_reject(bus->unclaimed_agent);
			return;
		}
	}
	for (i = 0; i < BUS_UNCLAIMED_MAX; i++, slot = (slot + 1) % BUS_UNCLAIMED_MAX) {
		struct unclaimed_slot *s = &bus->unclaimed[slot];
		uint64_t cur = atomic_load_explicit(&s->key, memory_order_relaxed);

		if (cur == 0) {
			uint64_t empty = 0;

			if (!atomic_compare_exchange_strong(&s->key, &empty, key) && empty != key)
				continue;
			cur = key;
		}
		if (cur == key) {
			atomic_fetch_add_explicit(is_write ? &s->writes : &s->reads, 1, memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&bus->unclaimed_overflow, 1, memory_order_relaxed);
}

static void unclaimed_access(struct bus *bus, bool is_write, uint64_t addr, uint8_t *data, uint32_t len)
{
	count_unclaimed(bus, is_write, addr);
	LOG_RATELIMITED(LOG_WARN, "unclaimed %s %s at %#llx, %u bytes",
			bus->space == BUS_PIO ? "port" : "mmio", is_write ? "write" : "read",
			(unsigned long long)addr, len);
	if (!is_write)
		memset(data, 0xff, len);
}

void bus_dispatch(struct bus *bus, bool is_write, uint64_t addr, uint8_t *data, uint32_t len)
{
	struct bus_range *r;
	int ret;

	if (len == 0 || len > 8) {
		unclaimed_access(bus, is_write, addr, data, len ? 8 : 0);
		return;
	}
	r = bus_find(bus, addr);
	/* The whole access must lie inside one range, never straddle two. */
	if (!r || len > r->size - (addr - r->base)) {
		unclaimed_access(bus, is_write, addr, data, len);
		return;
	}

	agent_count(r->agent, len);
	if (agent_action(r->agent) == AGENT_DENY) {
		agent_reject(r->agent);
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}

	if (is_write)
		ret = r->ops->write ? r->ops->write(r->opaque, addr - r->base, data, len) : IO_UNHANDLED;
	else
		ret = r->ops->read ? r->ops->read(r->opaque, addr - r->base, data, len) : IO_UNHANDLED;

	if (ret == IO_HANDLED)
		return;
	if (ret == IO_UNHANDLED) {
		unclaimed_access(bus, is_write, addr, data, len);
		return;
	}
	atomic_fetch_add_explicit(&bus->device_errors, 1, memory_order_relaxed);
	LOG_RATELIMITED(LOG_WARN, "%s: error %d on %s at %#llx", r->agent->name, ret,
			is_write ? "write" : "read", (unsigned long long)addr);
	if (!is_write)
		memset(data, 0xff, len);
}
