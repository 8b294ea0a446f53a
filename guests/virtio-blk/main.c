/* virtio-blk: finds the first disk, writes a pattern to 8 sectors at
 * sector `sector=` (default 8), flushes, reads it back and compares, asks
 * for the disk's id and prints it, then reads one sector past the end and
 * expects an I/O error. With `ro` on the command line it expects the disk
 * to be read-only: writes must fail with IOERR and read back unchanged.
 * With `seed=N` the pattern changes (default 1). Ends with the report
 * line; exit 0 when every check passed.
 *
 * Other modes (`mode=` on the command line), for the no-data-lost tests:
 *   write-flush-wait  write the pattern at `sector=`, flush, print
 *                     "virtio-blk: flushed" and spin until killed;
 *   fill              write 4 KiB at a time from sector 0 until a write
 *                     fails (the host file system is full), expect that
 *                     failure to be IOERR, then check the device still
 *                     answers (a read, a flush) and report;
 *   bench             `n=N` (default 1000) random 4 KiB reads, one at a
 *                     time, from a driver loop in ring 3, between the lines
 *                     "virtio-blk: bench start n=N" and "virtio-blk: bench
 *                     done n=N reads, E errors" (bench/blk-throughput.sh
 *                     times the gap); no check of the data. */
#include "runtime/guest.h"
#include "runtime/user.h"
#include "runtime/virtio.h"

#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4
#define T_GET_ID 8
#define S_OK     0
#define S_IOERR  1

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint8_t qmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static uint8_t back[4096] __attribute__((aligned(4096)));
static struct blk_hdr hdr;
static volatile uint8_t status;

static uint64_t pa(const volatile void *p) { return (uint64_t)(uintptr_t)p; }

/* One request: header, optional data (device-writable for IN and
 * GET_ID), status. Returns the status byte, or -1 without an answer. */
static int request(struct vq *q, uint32_t type, uint64_t sector, void *buf, uint32_t len, uint32_t *used_len)
{
	uint32_t id, got;
	bool dev_writes = type == T_IN || type == T_GET_ID;

	hdr = (struct blk_hdr){ .type = type, .sector = sector };
	status = 0xff;
	q->desc[0] = (struct vring_desc){ pa(&hdr), sizeof(hdr), VRING_DESC_F_NEXT, 1 };
	if (len) {
		q->desc[1] = (struct vring_desc){ pa(buf), len,
						  (uint16_t)(VRING_DESC_F_NEXT | (dev_writes ? VRING_DESC_F_WRITE : 0)), 2 };
		q->desc[2] = (struct vring_desc){ pa(&status), 1, VRING_DESC_F_WRITE, 0 };
	} else {
		q->desc[1] = (struct vring_desc){ pa(&status), 1, VRING_DESC_F_WRITE, 0 };
	}
	vq_publish(q, 0);
	if (vq_wait(q, &id, &got) || id != 0)
		return -1;
	if (used_len)
		*used_len = got;
	return status;
}

static void fill_pattern(uint64_t seed)
{
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 9));
}

static void write_flush_wait(struct vq *q, uint64_t sector, uint64_t seed)
{
	fill_pattern(seed);
	GUEST_ASSERT(request(q, T_OUT, sector, data, sizeof(data), NULL) == S_OK);
	GUEST_ASSERT(request(q, T_FLUSH, 0, NULL, 0, NULL) == S_OK);
	printf("virtio-blk: flushed sectors %lu-%lu\n", (unsigned long)sector, (unsigned long)sector + 7);
	for (;;)
		cpu_relax();
}

static void fill(struct vq *q, uint64_t capacity)
{
	uint64_t s;
	int st = S_OK;

	fill_pattern(3);
	for (s = 0; s + 8 <= capacity; s += 8) {
		st = request(q, T_OUT, s, data, sizeof(data), NULL);
		if (st != S_OK)
			break;
	}
	printf("virtio-blk: writes stopped at sector %lu of %lu with status %d\n", (unsigned long)s,
	       (unsigned long)capacity, st);
	GUEST_CHECK(st == S_IOERR);
	/* The device is still there and answers. */
	GUEST_CHECK(request(q, T_IN, 0, back, sizeof(back), NULL) == S_OK);
	GUEST_CHECK(memcmp(back, data, sizeof(data)) == 0);
	st = request(q, T_FLUSH, 0, NULL, 0, NULL);
	GUEST_CHECK(st == S_OK || st == S_IOERR);
	GUEST_DONE();
}

struct bench {
	struct vq *q;
	uint64_t blocks; /* 4 KiB blocks on the disk */
	uint64_t n;
};

/* Ring 3: n reads of a pseudo-random 4 KiB block each (xorshift64). */
static uint64_t bench_loop(uint64_t arg)
{
	struct bench *b = (struct bench *)(uintptr_t)arg;
	uint64_t x = 0x9e3779b97f4a7c15ULL, errors = 0;

	printf("virtio-blk: bench start n=%lu\n", (unsigned long)b->n);
	for (uint64_t i = 0; i < b->n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (request(b->q, T_IN, (x % b->blocks) * 8, back, sizeof(back), NULL) != S_OK)
			errors++;
	}
	printf("virtio-blk: bench done n=%lu reads, %lu errors\n", (unsigned long)b->n, (unsigned long)errors);
	return errors;
}

static void bench(struct vq *q, uint64_t capacity)
{
	struct bench b = { .q = q, .blocks = capacity / 8 };

	if (cmdline_get_u64(boot_info.cmdline, "n", 1000, &b.n) < 0 || b.blocks == 0) {
		printf("virtio-blk: bad n= or a disk under 4 KiB\n");
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	GUEST_CHECK(user_run(bench_loop, (uint64_t)(uintptr_t)&b) == 0);
	GUEST_DONE();
}

int guest_main(void)
{
	const char *cmd = boot_info.cmdline;
	bool ro = cmdline_has(cmd, "ro");
	uint64_t sector = 8, seed = 1, capacity;
	char id[21], mode[24];
	uint32_t got = 0;
	struct vdev d;
	struct vq q;

	if (cmdline_get_u64(cmd, "sector", 8, &sector) < 0 || cmdline_get_u64(cmd, "seed", 1, &seed) < 0) {
		printf("virtio-blk: bad sector= or seed=\n");
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	GUEST_ASSERT(virtio_open(VIRTIO_ID_BLOCK, 1u << 9 /* FLUSH */, &d, &q, 8, qmem) == 0);
	capacity = virtio_read(&d, VIRTIO_REG_CONFIG) | (uint64_t)virtio_read(&d, VIRTIO_REG_CONFIG + 4) << 32;
	printf("virtio-blk: device %u, %lu sectors%s\n", d.index, (unsigned long)capacity, ro ? ", read-only" : "");
	GUEST_ASSERT(capacity >= sector + 8);
	if (cmdline_get(cmd, "mode", mode, sizeof(mode))) {
		if (strncmp(mode, "write-flush-wait", 17) == 0)
			write_flush_wait(&q, sector, seed);
		if (strncmp(mode, "fill", 5) == 0)
			fill(&q, capacity);
		if (strncmp(mode, "bench", 6) == 0)
			bench(&q, capacity);
		printf("virtio-blk: unknown mode=%s\n", mode);
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}

	fill_pattern(seed);
	int st = request(&q, T_OUT, sector, data, sizeof(data), NULL);
	GUEST_CHECK(st == (ro ? S_IOERR : S_OK));
	GUEST_CHECK(request(&q, T_FLUSH, 0, NULL, 0, NULL) == S_OK);
	memset(back, 0, sizeof(back));
	GUEST_CHECK(request(&q, T_IN, sector, back, sizeof(back), &got) == S_OK);
	GUEST_CHECK(got == sizeof(back) + 1);
	if (ro)
		GUEST_CHECK(memcmp(back, data, sizeof(data)) != 0);
	else
		GUEST_CHECK(memcmp(back, data, sizeof(data)) == 0);

	memset(id, 0, sizeof(id));
	GUEST_CHECK(request(&q, T_GET_ID, 0, id, 20, NULL) == S_OK);
	printf("virtio-blk: id \"%s\"\n", id);
	/* Past the end, and a partial sector: refused with IOERR. */
	GUEST_CHECK(request(&q, T_IN, capacity, back, 512, NULL) == S_IOERR);
	GUEST_CHECK(request(&q, T_IN, 0, back, 100, NULL) == S_IOERR);
	GUEST_CHECK(request(&q, T_IN, ~0ULL, back, 512, NULL) == S_IOERR);
	printf("virtio-blk: %s sectors %lu-%lu checked\n", ro ? "read-only" : "wrote, flushed and read back",
	       (unsigned long)sector, (unsigned long)sector + 7);
	GUEST_DONE();
}
