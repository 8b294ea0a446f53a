/* virtio-blk: finds the first disk, writes a pattern to 8 sectors at
 * sector `sector=` (default 8), flushes, reads it back and compares, asks
 * for the disk's id and prints it, then reads one sector past the end and
 * expects an I/O error. Then, in the next 8 sectors, discard and write
 * zeroes (VIRTIO_BLK_F_DISCARD, _WRITE_ZEROES): the pattern is written,
 * two ranges zeroed (with and without UNMAP) and read back as zeros with
 * the pattern around them, the whole range discarded, and malformed
 * requests (UNMAP on a discard, an unknown flag, past the end, more
 * ranges than max_discard_seg) refused. With `ro` on the command line it
 * expects the disk to be read-only: writes, discards and writes of zeroes
 * must fail with IOERR and the data read back unchanged. With `seed=N`
 * the pattern changes (default 1); with `event_idx` the driver negotiates
 * VIRTIO_F_EVENT_IDX and notifies only when the device asks. Ends with the
 * report line; exit 0 when every check passed.
 *
 * Other modes (`mode=` on the command line), for the no-data-lost tests:
 *   write-flush-wait  write the pattern at `sector=`, flush, print
 *                     "virtio-blk: flushed" and spin until killed;
 *   fill              write 4 KiB at a time from sector 0 until a write
 *                     fails (the host file system is full), expect that
 *                     failure to be IOERR, then check the device still
 *                     answers (a read, a flush) and report;
 *   bench             `n=N` (default 1000) random 4 KiB reads from a driver
 *                     loop in ring 3, `depth=D` (default 1, at most 64) of
 *                     them in flight at a time, between the lines
 *                     "virtio-blk: bench start n=N depth=D" and
 *                     "virtio-blk: bench done n=N reads, E errors"
 *                     (bench/blk-throughput.sh times the gap); no check of
 *                     the data. */
#include "runtime/guest.h"
#include "runtime/user.h"
#include "runtime/virtio.h"

#define T_IN           0
#define T_OUT          1
#define T_FLUSH        4
#define T_GET_ID       8
#define T_DISCARD      11
#define T_WRITE_ZEROES 13
#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2
#define F_UNMAP  1

#define VIRTIO_BLK_F_FLUSH        (1ULL << 9)
#define VIRTIO_BLK_F_DISCARD      (1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

/* Config space (virtio 1.2 §5.2.4). */
#define CFG_MAX_DISCARD_SEG 40
#define CFG_MAX_WZ_SECTORS  48
#define CFG_MAX_WZ_SEG      52
#define CFG_WZ_MAY_UNMAP    56

#define BENCH_MAX_DEPTH 64

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* struct virtio_blk_discard_write_zeroes */
struct blk_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

static uint8_t qmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static uint8_t back[4096] __attribute__((aligned(4096)));
static struct blk_hdr hdr;
static volatile uint8_t status;
static struct blk_dwz dwz[2];

static uint64_t pa(const volatile void *p) { return (uint64_t)(uintptr_t)p; }

/* One request: header, optional data (device-writable for IN and
 * GET_ID; for DISCARD and WRITE_ZEROES the ranges), status. Returns the
 * status byte, or -1 without an answer. */
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
	uint64_t depth;  /* requests in flight */
	uint64_t x;      /* xorshift64 state */
};

/* Per request slot of the benchmark: descriptors 3i (header), 3i + 1
 * (4 KiB, device-writable), 3i + 2 (status). */
static struct blk_hdr bench_hdr[BENCH_MAX_DEPTH];
static volatile uint8_t bench_status[BENCH_MAX_DEPTH];
static uint8_t bench_data[BENCH_MAX_DEPTH][4096] __attribute__((aligned(4096)));

/* Slot i reads a pseudo-random 4 KiB block; published, not notified. */
static void bench_add(struct bench *b, unsigned i)
{
	struct vq *q = b->q;
	uint16_t d = (uint16_t)(3 * i);

	b->x ^= b->x << 13;
	b->x ^= b->x >> 7;
	b->x ^= b->x << 17;
	bench_hdr[i] = (struct blk_hdr){ .type = T_IN, .sector = (b->x % b->blocks) * 8 };
	bench_status[i] = 0xff;
	q->desc[d] = (struct vring_desc){ pa(&bench_hdr[i]), sizeof(bench_hdr[i]), VRING_DESC_F_NEXT, (uint16_t)(d + 1) };
	q->desc[d + 1] = (struct vring_desc){ pa(bench_data[i]), 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
					      (uint16_t)(d + 2) };
	q->desc[d + 2] = (struct vring_desc){ pa(&bench_status[i]), 1, VRING_DESC_F_WRITE, 0 };
	vq_add(q, d);
}

/* Ring 3: n reads, `depth` in flight: each completion is replaced by the
 * next read until n were issued. */
static uint64_t bench_loop(uint64_t arg)
{
	struct bench *b = (struct bench *)(uintptr_t)arg;
	uint64_t issued = 0, done = 0, errors = 0;

	printf("virtio-blk: bench start n=%lu depth=%lu\n", (unsigned long)b->n, (unsigned long)b->depth);
	for (; issued < b->depth && issued < b->n; issued++)
		bench_add(b, (unsigned)issued);
	vq_notify(b->q);
	while (done < b->n) {
		uint32_t id, len;
		unsigned slot;

		if (vq_wait(b->q, &id, &len) || id % 3 || id / 3 >= b->depth) {
			errors += b->n - done; /* lost track of the ring: stop */
			break;
		}
		slot = id / 3;
		done++;
		if (bench_status[slot] != S_OK || len != 4096 + 1)
			errors++;
		if (issued < b->n) {
			bench_add(b, slot);
			vq_notify(b->q);
			issued++;
		}
	}
	printf("virtio-blk: bench done n=%lu reads, %lu errors\n", (unsigned long)b->n, (unsigned long)errors);
	return errors;
}

static void bench(struct vq *q, uint64_t capacity)
{
	struct bench b = { .q = q, .blocks = capacity / 8, .x = 0x9e3779b97f4a7c15ULL };

	if (cmdline_get_u64(boot_info.cmdline, "n", 1000, &b.n) < 0 ||
	    cmdline_get_u64(boot_info.cmdline, "depth", 1, &b.depth) < 0 || b.blocks == 0 || b.depth == 0 ||
	    b.depth > BENCH_MAX_DEPTH || 3 * b.depth > q->size) {
		printf("virtio-blk: bad n= or depth= (1 to %u), or a disk under 4 KiB\n", BENCH_MAX_DEPTH);
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	GUEST_CHECK(user_run(bench_loop, (uint64_t)(uintptr_t)&b) == 0);
	GUEST_DONE();
}

static uint32_t cfg32(const struct vdev *d, uint32_t off)
{
	return virtio_read(d, VIRTIO_REG_CONFIG + off);
}

/* A DISCARD or WRITE_ZEROES of nseg ranges (1 or 2) of num sectors, the
 * second right after the first. Returns the status, or -1. */
static int dwz_request(struct vq *q, uint32_t type, uint64_t sector, uint32_t num, uint32_t flags, unsigned nseg)
{
	dwz[0] = (struct blk_dwz){ .sector = sector, .num_sectors = num, .flags = flags };
	dwz[1] = (struct blk_dwz){ .sector = sector + num, .num_sectors = num, .flags = flags };
	return request(q, type, 0, dwz, (uint32_t)(nseg * sizeof(dwz[0])), NULL);
}

/* Sectors base..base+7: the pattern, zeroes over base+1..+2 (allocated)
 * and base+5 (UNMAP, a hole where the device may), read back; a discard
 * of the lot; then requests the device must refuse. A read-only disk
 * refuses both kinds outright. */
static void check_discard_write_zeroes(const struct vdev *d, struct vq *q, uint64_t base, uint64_t capacity,
				       uint64_t seed, bool ro)
{
	const uint64_t both = VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;
	uint32_t max_seg, wz_seg, wz_sectors, may_unmap;
	unsigned bad = 0;

	GUEST_CHECK((d->features & both) == both);
	if ((d->features & both) != both)
		return;
	max_seg = cfg32(d, CFG_MAX_DISCARD_SEG);
	wz_seg = cfg32(d, CFG_MAX_WZ_SEG);
	wz_sectors = cfg32(d, CFG_MAX_WZ_SECTORS);
	may_unmap = cfg32(d, CFG_WZ_MAY_UNMAP) & 0xff;
	printf("virtio-blk: discard up to %u ranges, write zeroes up to %u ranges of %u sectors%s\n", max_seg, wz_seg,
	       wz_sectors, may_unmap ? ", may unmap" : "");
	GUEST_CHECK(max_seg >= 1 && wz_seg >= 1 && wz_sectors >= 2);
	if (ro) {
		GUEST_CHECK(dwz_request(q, T_WRITE_ZEROES, base, 8, 0, 1) == S_IOERR);
		GUEST_CHECK(dwz_request(q, T_DISCARD, base, 8, 0, 1) == S_IOERR);
		return;
	}
	fill_pattern(seed + 1);
	GUEST_CHECK(request(q, T_OUT, base, data, sizeof(data), NULL) == S_OK);
	GUEST_CHECK(dwz_request(q, T_WRITE_ZEROES, base + 1, 2, 0, 1) == S_OK);
	GUEST_CHECK(dwz_request(q, T_WRITE_ZEROES, base + 5, 1, may_unmap ? F_UNMAP : 0, 1) == S_OK);
	memset(back, 0xee, sizeof(back));
	GUEST_CHECK(request(q, T_IN, base, back, sizeof(back), NULL) == S_OK);
	for (unsigned i = 0; i < sizeof(back); i++) {
		bool zeroed = (i >= 512 && i < 1536) || (i >= 2560 && i < 3072);

		if (back[i] != (zeroed ? 0 : data[i]))
			bad++;
	}
	GUEST_CHECK(bad == 0);
	GUEST_CHECK(dwz_request(q, T_DISCARD, base, 8, 0, 1) == S_OK);
	/* UNMAP on a discard and unknown flags: UNSUPP; outside the disk,
	 * more ranges than config space allows: IOERR. */
	GUEST_CHECK(dwz_request(q, T_DISCARD, base, 1, F_UNMAP, 1) == S_UNSUPP);
	GUEST_CHECK(dwz_request(q, T_WRITE_ZEROES, base, 1, 2, 1) == S_UNSUPP);
	GUEST_CHECK(dwz_request(q, T_WRITE_ZEROES, capacity - 1, 2, 0, 1) == S_IOERR);
	GUEST_CHECK(dwz_request(q, T_DISCARD, ~0ULL, 2, 0, 1) == S_IOERR);
	if (max_seg == 1)
		GUEST_CHECK(dwz_request(q, T_DISCARD, base, 1, 0, 2) == S_IOERR);
	printf("virtio-blk: write zeroes read back as zeros (%u bytes off), discard done, malformed ones refused\n", bad);
}

int guest_main(void)
{
	const char *cmd = boot_info.cmdline;
	bool ro = cmdline_has(cmd, "ro"), has_mode;
	uint64_t sector = 8, seed = 1, capacity;
	uint64_t want = VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;
	char id[21], mode[24];
	uint32_t got = 0;
	struct vdev d;
	struct vq q;

	if (cmdline_get_u64(cmd, "sector", 8, &sector) < 0 || cmdline_get_u64(cmd, "seed", 1, &seed) < 0) {
		printf("virtio-blk: bad sector= or seed=\n");
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	if (cmdline_has(cmd, "event_idx"))
		want |= VIRTIO_F_EVENT_IDX;
	has_mode = cmdline_get(cmd, "mode", mode, sizeof(mode));
	/* The benchmark keeps up to 64 requests of 3 descriptors in flight. */
	GUEST_ASSERT(virtio_open(VIRTIO_ID_BLOCK, want, &d, &q,
				 has_mode && strncmp(mode, "bench", 6) == 0 ? 256 : 8, qmem) == 0);
	capacity = virtio_read(&d, VIRTIO_REG_CONFIG) | (uint64_t)virtio_read(&d, VIRTIO_REG_CONFIG + 4) << 32;
	printf("virtio-blk: device %u, %lu sectors%s%s\n", d.index, (unsigned long)capacity, ro ? ", read-only" : "",
	       d.features & VIRTIO_F_EVENT_IDX ? ", event index" : "");
	GUEST_ASSERT(capacity >= sector + 8);
	if (has_mode) {
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
	GUEST_ASSERT(capacity >= sector + 16);
	check_discard_write_zeroes(&d, &q, sector + 8, capacity, seed, ro);
	GUEST_CHECK(!(virtio_read(&d, VIRTIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	GUEST_DONE();
}
