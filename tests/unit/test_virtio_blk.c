/* virtio-blk through the transport of a VM with no KVM behind it, on a
 * temporary image: requests served, and rate limits that make a request
 * wait in the queue (never fail it) until the buckets refill. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/virtio/blk.h"
#include "offline_vm.h"
#include "virtio_fixture.h"

#define BASE 0xd0000000ULL
#define HDR  0x20000ULL /* request headers, 16 bytes apart */
#define DATA 0x30000ULL
#define STAT 0x40000ULL

struct env {
	struct offline_vm o;
	struct fx f;
	struct virtio_blk b;
	char path[64];
};

static bool env_sync_io; /* the next env_new() makes a disk without io_uring */


static void wr32(struct env *e, uint64_t off, uint32_t v)
{
	bus_dispatch(&e->o.vm.mmio, true, BASE + off, (uint8_t *)&v, 4);
}

static struct env *env_new(const struct rate_limit *bw, const struct rate_limit *iops)
{
	struct env *e = aligned_alloc(4096, (sizeof(*e) + 4095) & ~(size_t)4095);
	struct virtio_blk_config cfg = { .id = "unit" };
	char msg[256];
	int fd;

	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "/tmp/kfv-test-blk.XXXXXX");
	fd = mkstemp(e->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	cfg.path = e->path;
	cfg.sync_io = env_sync_io;
	if (bw)
		cfg.bw = *bw;
	if (iops)
		cfg.iops = *iops;
	offline_vm_init(&e->o);
	fx_init(&e->f, 8);
	gm_init_from_buffer(&e->o.vm.mem, e->f.ram, FX_RAM);
	assert_int_equal(virtio_blk_init(&e->b, &e->o.vm, 0, &cfg, msg, sizeof(msg)), 0);
	/* Bring-up (§3.1.1) with one queue of 8 at the fixture's rings. */
	wr32(e, 0x70, 0);
	wr32(e, 0x70, 1);
	wr32(e, 0x70, 3);
	wr32(e, 0x24, 1);
	wr32(e, 0x20, 1);
	wr32(e, 0x70, 0xb);
	wr32(e, 0x30, 0);
	wr32(e, 0x38, 8);
	wr32(e, 0x80, (uint32_t)FX_DESC);
	wr32(e, 0x90, (uint32_t)FX_AVAIL);
	wr32(e, 0xa0, (uint32_t)FX_USED);
	wr32(e, 0x44, 1);
	wr32(e, 0x70, 0xf);
	return e;
}

static void env_free(struct env *e)
{
	virtio_blk_destroy(&e->b);
	unlink(e->path);
	fx_free(&e->f);
	free(e);
}

/* Request i: descriptors 3i..3i+2 (header, 4 KiB of data, status). */
static void queue_write(struct env *e, unsigned i, uint64_t sector)
{
	struct { uint32_t type, reserved; uint64_t sector; } h = { 1, 0, sector };
	uint16_t d = (uint16_t)(3 * (i % 2)); /* 8 descriptors: requests 0 and 2 share */

	memcpy(e->f.ram + HDR + 16 * i, &h, sizeof(h));
	memset(e->f.ram + DATA + 4096ULL * i, 0x40 + (int)i, 4096);
	e->f.ram[STAT + i] = 0xff;
	fx_desc(&e->f, d, HDR + 16 * i, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	fx_desc(&e->f, d + 1U, DATA + 4096ULL * i, 4096, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 2));
	fx_desc(&e->f, d + 2U, STAT + i, 1, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, d);
}

static void test_unlimited(void **state)
{
	struct env *e = env_new(NULL, NULL);

	(void)state;
	queue_write(e, 0, 0);
	queue_write(e, 1, 8);
	wr32(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	assert_int_equal(e->f.ram[STAT], 0);
	assert_int_equal(e->f.ram[STAT + 1], 0);
	assert_int_equal(atomic_load(&e->b.t.stats.throttled), 0);
	assert_int_equal(atomic_load(&e->b.t.stats.bytes), 8192);
	env_free(e);
}

/* One request per (long) period: the second waits in the avail ring,
 * unanswered, and is counted as throttled; then it is served once the
 * bucket has refilled. */
static void test_iops_limit_waits(void **state)
{
	struct rate_limit iops = { .size = 1, .one_time_burst = 0, .refill_time_ms = 50 };
	struct env *e = env_new(NULL, &iops);
	uint32_t id, len;

	(void)state;
	queue_write(e, 0, 0);
	queue_write(e, 1, 8);
	wr32(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	assert_int_equal(e->f.ram[STAT], 0);
	assert_int_equal(e->f.ram[STAT + 1], 0xff); /* not failed: not answered yet */
	assert_true(atomic_load(&e->b.t.stats.throttled) >= 1);
	usleep(60 * 1000);
	wr32(e, 0x50, 0); /* no worker in unit tests: a notify stands in for the timer */
	assert_int_equal(fx_used_idx(&e->f), 2);
	fx_used_elem(&e->f, 1, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 1);
	assert_int_equal(e->f.ram[STAT + 1], 0);
	env_free(e);
}

/* Bytes: a 4 KiB bucket with a 4 KiB one-time burst lets two 4 KiB
 * writes through at once, the third waits. */
static void test_bw_limit_waits(void **state)
{
	struct rate_limit bw = { .size = 4096, .one_time_burst = 4096, .refill_time_ms = 100000 };
	struct env *e = env_new(&bw, NULL);

	(void)state;
	queue_write(e, 0, 0);
	queue_write(e, 1, 8);
	wr32(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	queue_write(e, 2, 16);
	wr32(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	assert_int_equal(e->f.ram[STAT + 2], 0xff);
	assert_int_equal(atomic_load(&e->b.t.stats.io_errors), 0);
	/* A reset drops the waiting request with everything else. */
	wr32(e, 0x70, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	env_free(e);
}

/* Writes reach the image on both I/O paths (io_uring where the kernel
 * has it, and the preadv/pwritev fallback). */
static void check_writes_reach_image(bool sync_io)
{
	struct env *e;
	uint8_t buf[4096];
	int fd;

	env_sync_io = sync_io;
	e = env_new(NULL, NULL);
	env_sync_io = false;
	if (sync_io)
		assert_null(e->b.uring);
	queue_write(e, 0, 0);
	queue_write(e, 1, 8);
	wr32(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	assert_int_equal(e->f.ram[STAT + 1], 0);
	fd = open(e->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 8 * 512), (ssize_t)sizeof(buf));
	close(fd);
	assert_memory_equal(buf, e->f.ram + DATA + 4096, sizeof(buf));
	env_free(e);
}

static void test_writes_uring(void **state)
{
	(void)state;
	check_writes_reach_image(false);
}

static void test_writes_sync(void **state)
{
	(void)state;
	check_writes_reach_image(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_iops_limit_waits),
		cmocka_unit_test(test_bw_limit_waits),
		cmocka_unit_test(test_writes_uring),
		cmocka_unit_test(test_writes_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
