/* virtio-blk through the transport of a VM with no KVM behind it, on a
 * temporary image: requests served, rate limits that make a request
 * wait in the queue (never fail it) until the buckets refill, discard and
 * write zeroes on both I/O paths, a read-only disk, and the queues'
 * agent: refusals counted, AGENT_DENY answered with IOERR and nothing
 * written. */
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
#define DWZ  0x50000ULL /* discard / write-zeroes header + segment, 64 bytes apart */

#define F_DISCARD      (1u << 13)
#define F_WRITE_ZEROES (1u << 14)

struct env {
	struct offline_vm o;
	struct fx f;
	struct virtio_blk b;
	char path[64];
};

static bool env_sync_io; /* the next env_new() makes a disk without io_uring */
static bool env_ro;      /* ... a read-only disk */
static uint32_t env_features_lo; /* ... and negotiates these feature bits (0-31) */


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
	cfg.read_only = env_ro;
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
	wr32(e, 0x24, 0);
	wr32(e, 0x20, env_features_lo);
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

/* Request i: a DISCARD or WRITE_ZEROES of one range, header and segment
 * in one readable buffer (descriptor 6), status in descriptor 7. */
static void queue_dwz(struct env *e, unsigned i, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct { uint32_t type, reserved; uint64_t sector; } h = { type, 0, 0 };
	uint8_t *p = e->f.ram + DWZ + 64ULL * i;

	memcpy(p, &h, sizeof(h));
	memcpy(p + 16, &sector, 8);
	memcpy(p + 24, &num, 4);
	memcpy(p + 28, &flags, 4);
	e->f.ram[STAT + i] = 0xff;
	fx_desc(&e->f, 6, DWZ + 64ULL * i, 32, VIRTQ_DESC_F_NEXT, 7);
	fx_desc(&e->f, 7, STAT + i, 1, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 6);
}

/* Serves what is queued and returns the status of request i. */
static int serve_status(struct env *e, unsigned i)
{
	wr32(e, 0x50, 0);
	return e->f.ram[STAT + i];
}

static void read_image(const struct env *e, uint64_t sector, void *buf, size_t len)
{
	int fd = open(e->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)(sector * 512)), (ssize_t)len);
	close(fd);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Write zeroes (with and without UNMAP) reads back as zeros exactly over
 * its range; a discard is answered OK; both checked against the image. */
static void check_discard_write_zeroes(bool sync_io)
{
	uint8_t buf[4096];
	struct env *e;

	env_sync_io = sync_io;
	env_features_lo = F_DISCARD | F_WRITE_ZEROES;
	e = env_new(NULL, NULL);
	env_sync_io = false;
	env_features_lo = 0;
	if (sync_io)
		assert_null(e->b.uring);
	/* Config space: max_discard_seg and max_write_zeroes_seg 1, may unmap. */
	assert_int_equal(e->b.config[40], 1);
	assert_int_equal(e->b.config[52], 1);
	assert_int_equal(e->b.config[56], 1);
	queue_write(e, 0, 0); /* sectors 0-7: 0x40 */
	wr32(e, 0x50, 0);
	assert_int_equal(e->f.ram[STAT], 0);
	queue_dwz(e, 1, VIRTIO_BLK_T_WRITE_ZEROES, 2, 2, 0);
	assert_int_equal(serve_status(e, 1), VIRTIO_BLK_S_OK);
	queue_dwz(e, 2, VIRTIO_BLK_T_WRITE_ZEROES, 6, 1, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(serve_status(e, 2), VIRTIO_BLK_S_OK);
	read_image(e, 0, buf, sizeof(buf));
	assert_true(all_bytes(buf, 1024, 0x40));
	assert_true(all_bytes(buf + 1024, 1024, 0));
	assert_true(all_bytes(buf + 2048, 1024, 0x40));
	assert_true(all_bytes(buf + 3072, 512, 0));
	assert_true(all_bytes(buf + 3584, 512, 0x40));
	queue_dwz(e, 3, VIRTIO_BLK_T_DISCARD, 0, 8, 0);
	assert_int_equal(serve_status(e, 3), VIRTIO_BLK_S_OK);
	/* Refused: past the end, UNMAP on a discard, an unknown flag. */
	queue_dwz(e, 4, VIRTIO_BLK_T_WRITE_ZEROES, 2047, 2, 0);
	assert_int_equal(serve_status(e, 4), VIRTIO_BLK_S_IOERR);
	queue_dwz(e, 5, VIRTIO_BLK_T_DISCARD, 0, 1, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(serve_status(e, 5), VIRTIO_BLK_S_UNSUPP);
	queue_dwz(e, 6, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 2);
	assert_int_equal(serve_status(e, 6), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(fx_used_idx(&e->f), 7);
	assert_int_equal(atomic_load(&e->b.t.vq_agent->rejects), 3);
	assert_int_equal(atomic_load(&e->b.t.vq_agent->accesses), 7);
	env_free(e);
}

static void test_discard_write_zeroes_uring(void **state)
{
	(void)state;
	check_discard_write_zeroes(false);
}

static void test_discard_write_zeroes_sync(void **state)
{
	(void)state;
	check_discard_write_zeroes(true);
}

/* A driver that did not negotiate them gets UNSUPP. */
static void test_discard_not_negotiated(void **state)
{
	struct env *e = env_new(NULL, NULL);

	(void)state;
	queue_dwz(e, 0, VIRTIO_BLK_T_DISCARD, 0, 1, 0);
	assert_int_equal(serve_status(e, 0), VIRTIO_BLK_S_UNSUPP);
	queue_dwz(e, 1, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0);
	assert_int_equal(serve_status(e, 1), VIRTIO_BLK_S_UNSUPP);
	env_free(e);
}

/* A read-only disk refuses writes of every kind, counted as rejects, and
 * the image keeps its bytes. */
static void test_read_only_refuses(void **state)
{
	uint8_t buf[4096];
	struct env *e;
	int fd;

	(void)state;
	env_ro = true;
	env_features_lo = F_DISCARD | F_WRITE_ZEROES;
	e = env_new(NULL, NULL);
	env_ro = false;
	env_features_lo = 0;
	fd = open(e->path, O_WRONLY);
	assert_true(fd >= 0);
	memset(buf, 0x77, sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	close(fd);
	queue_write(e, 0, 0);
	assert_int_equal(serve_status(e, 0), VIRTIO_BLK_S_IOERR);
	queue_dwz(e, 1, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0);
	assert_int_equal(serve_status(e, 1), VIRTIO_BLK_S_IOERR);
	queue_dwz(e, 2, VIRTIO_BLK_T_DISCARD, 0, 8, 0);
	assert_int_equal(serve_status(e, 2), VIRTIO_BLK_S_IOERR);
	assert_int_equal(atomic_load(&e->b.t.vq_agent->rejects), 3);
	read_image(e, 0, buf, sizeof(buf));
	assert_true(all_bytes(buf, sizeof(buf), 0x77));
	env_free(e);
}

/* AGENT_DENY: a write is answered IOERR (status byte, used length 1),
 * the image is not written, the guest's data buffer is not touched; an
 * unknown request type is a reject too. */
static void test_agent_deny(void **state)
{
	struct env *e = env_new(NULL, NULL);
	struct agent *a = e->b.t.vq_agent;
	uint8_t buf[4096];
	uint32_t id, len;

	(void)state;
	atomic_store(&a->action, AGENT_DENY);
	queue_write(e, 0, 8);
	assert_int_equal(serve_status(e, 0), VIRTIO_BLK_S_IOERR);
	fx_used_elem(&e->f, 0, &id, &len);
	assert_int_equal(len, 1);
	assert_true(all_bytes(e->f.ram + DATA, 4096, 0x40));
	read_image(e, 8, buf, sizeof(buf));
	assert_true(all_bytes(buf, sizeof(buf), 0));
	assert_int_equal(atomic_load(&a->rejects), 1);
	assert_int_equal(atomic_load(&e->b.t.stats.denied), 1);
	atomic_store(&a->action, AGENT_ALLOW);
	queue_write(e, 1, 8);
	assert_int_equal(serve_status(e, 1), VIRTIO_BLK_S_OK);
	read_image(e, 8, buf, sizeof(buf));
	assert_true(all_bytes(buf, sizeof(buf), 0x41));
	/* Not a request type virtio-blk has. */
	queue_dwz(e, 2, 99, 0, 1, 0);
	assert_int_equal(serve_status(e, 2), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(atomic_load(&a->rejects), 2);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_iops_limit_waits),
		cmocka_unit_test(test_bw_limit_waits),
		cmocka_unit_test(test_writes_uring),
		cmocka_unit_test(test_writes_sync),
		cmocka_unit_test(test_discard_write_zeroes_uring),
		cmocka_unit_test(test_discard_write_zeroes_sync),
		cmocka_unit_test(test_discard_not_negotiated),
		cmocka_unit_test(test_read_only_refuses),
		cmocka_unit_test(test_agent_deny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
