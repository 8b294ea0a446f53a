#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"

struct fake_dev {
	unsigned reads, writes;
	uint64_t last_offset;
	uint32_t last_len;
	int result;
};

static int fake_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_offset = offset;
	d->last_len = len;
	memset(data, 0x5a, len);
	return d->result;
}

static int fake_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	(void)data;
	d->writes++;
	d->last_offset = offset;
	d->last_len = len;
	return d->result;
}

static const struct io_ops fake_ops = { .read = fake_read, .write = fake_write };

static void registration_rules(void **state)
{
	static struct bus bus;
	struct fake_dev d = { 0 };

	(void)state;
	bus_init(&bus, BUS_PIO);
	assert_int_equal(bus_register(&bus, 0x3f8, 8, "a", &fake_ops, &d), 0);
	assert_int_equal(bus_register(&bus, 0x100, 0, "zero", &fake_ops, &d), -EINVAL);
	assert_int_equal(bus_register(&bus, 0xfff0, 0x20, "past 64K", &fake_ops, &d), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x3f0, 9, "overlap low", &fake_ops, &d), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3ff, 1, "overlap high", &fake_ops, &d), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, "adjacent", &fake_ops, &d), 0);
	assert_int_equal(bus_register(&bus, 0x400, 1, "adjacent", &fake_ops, &d), 0);
	assert_int_equal(bus.nr_ranges, 3);
	assert_int_equal(bus.ranges[0].base, 0x3f0); /* kept sorted */
	assert_int_equal(bus.ranges[2].base, 0x400);
	bus_freeze(&bus);
	assert_int_equal(bus_register(&bus, 0x10, 1, "late", &fake_ops, &d), -EPERM);

	bus_init(&bus, BUS_MMIO);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 3, 8, "wraps", &fake_ops, &d), -EINVAL);
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&bus, 0x1000 * (i + 1), 0x1000, "n", &fake_ops, &d), 0);
	assert_int_equal(bus_register(&bus, 0x100000, 1, "full", &fake_ops, &d), -ENOSPC);
}

static void dispatch_and_agents(void **state)
{
	static struct bus bus;
	struct fake_dev d = { .result = IO_HANDLED };
	uint8_t data[8];

	(void)state;
	bus_init(&bus, BUS_MMIO);
	assert_int_equal(bus_register(&bus, 0xd0000000, 0x1000, "dev", &fake_ops, &d), 0);
	bus_freeze(&bus);

	bus_dispatch(&bus, false, 0xd0000010, data, 4);
	assert_int_equal(d.reads, 1);
	assert_int_equal(d.last_offset, 0x10);
	assert_int_equal(data[0], 0x5a);
	bus_dispatch(&bus, true, 0xd0000ff8, data, 8);
	assert_int_equal(d.writes, 1);
	assert_int_equal(bus.ranges[0].agent->accesses, 2);
	assert_int_equal(bus.ranges[0].agent->bytes, 12);

	/* straddling the end of the range is not the device's business */
	bus_dispatch(&bus, false, 0xd0000ffc, data, 8);
	assert_int_equal(d.reads, 1);
	assert_int_equal(data[7], 0xff);
	assert_int_equal(bus.unclaimed_total, 1);

	/* a denied resource never reaches its handler */
	atomic_store(&bus.ranges[0].agent->action, AGENT_DENY);
	bus_dispatch(&bus, false, 0xd0000000, data, 4);
	bus_dispatch(&bus, true, 0xd0000000, data, 4);
	assert_int_equal(d.reads, 1);
	assert_int_equal(d.writes, 1);
	assert_int_equal(bus.ranges[0].agent->rejects, 2);
	assert_int_equal(data[0], 0xff);

	/* a handler error reads as all-ones and is counted */
	atomic_store(&bus.ranges[0].agent->action, AGENT_ALLOW);
	d.result = -EIO;
	bus_dispatch(&bus, false, 0xd0000000, data, 2);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(bus.device_errors, 1);

	/* malformed lengths never reach a device */
	bus_dispatch(&bus, false, 0xd0000000, data, 0);
	bus_dispatch(&bus, false, 0xd0000000, data, 9);
	assert_int_equal(d.reads, 2);
}

static void unclaimed_counted_per_address(void **state)
{
	static struct bus bus;
	uint8_t data[4] = { 0 };

	(void)state;
	bus_init(&bus, BUS_PIO);
	bus_freeze(&bus);
	for (int i = 0; i < 5; i++)
		bus_dispatch(&bus, false, 0x61, data, 1);
	bus_dispatch(&bus, true, 0x61, data, 1);
	bus_dispatch(&bus, true, 0x70, data, 1);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(bus.unclaimed_total, 7);

	unsigned found = 0;
	for (unsigned i = 0; i < BUS_UNCLAIMED_MAX; i++) {
		if (bus.unclaimed[i].key == 0x61 + 1) {
			assert_int_equal(bus.unclaimed[i].reads, 5);
			assert_int_equal(bus.unclaimed[i].writes, 1);
			found++;
		}
		if (bus.unclaimed[i].key == 0x70 + 1) {
			assert_int_equal(bus.unclaimed[i].writes, 1);
			found++;
		}
	}
	assert_int_equal(found, 2);

	/* a scan of every port fills the table, then the overflow counter */
	for (unsigned port = 0; port < 0x10000; port++)
		bus_dispatch(&bus, false, port, data, 1);
	assert_int_equal(bus.unclaimed_total, 7 + 0x10000);
	/* 0x61 and 0x70 already hold slots, so every slot is taken by now */
	assert_int_equal(bus.unclaimed_overflow, 0x10000 - BUS_UNCLAIMED_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registration_rules),
		cmocka_unit_test(dispatch_and_agents),
		cmocka_unit_test(unclaimed_counted_per_address),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
