/* The virtio-blk request parser (blk_req.c) on chains built in a
 * fabricated guest and validated by virtq_pop(): the header, data and
 * status rules of IN/OUT, and every check on DISCARD / WRITE_ZEROES
 * segments (count, flags, length, range, overflow, negotiation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/virtio/blk_req.h"
#include "virtio_fixture.h"

#define HDR  0x20000ULL
#define SEGS 0x21000ULL
#define DATA 0x30000ULL
#define STAT 0x40000ULL
#define CAP  2048 /* sectors */

static const struct blk_limits lim = {
	.capacity = CAP,
	.max_discard_sectors = 1024, .max_discard_seg = 4,
	.max_write_zeroes_sectors = 512, .max_write_zeroes_seg = 2,
};

struct t {
	struct fx f;
	struct vq_chain c;
	struct blk_req r;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	fx_init(&t->f, 8);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	fx_free(&t->f);
	free(t);
	return 0;
}

static void put_hdr(struct t *t, uint32_t type, uint64_t sector)
{
	struct { uint32_t type, reserved; uint64_t sector; } h = { type, 0, sector };

	memcpy(t->f.ram + HDR, &h, sizeof(h));
}

static void put_seg(struct t *t, unsigned i, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t *p = t->f.ram + SEGS + 16ULL * i;

	memcpy(p, &sector, 8);
	memcpy(p + 8, &num, 4);
	memcpy(p + 12, &flags, 4);
}

/* header | nseg segments | status, as three descriptors. */
static int parse_dwz(struct t *t, uint32_t type, unsigned nseg, const struct blk_limits *l)
{
	fx_desc(&t->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fx_desc(&t->f, 1, SEGS, 16 * nseg, VIRTQ_DESC_F_NEXT, 2);
	fx_desc(&t->f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	put_hdr(t, type, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	return blk_parse(&t->c, l, &t->r);
}

static void test_in_out(void **state)
{
	struct t *t = *state;

	/* IN of 8 sectors at the very end. */
	put_hdr(t, VIRTIO_BLK_T_IN, CAP - 8);
	fx_desc(&t->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fx_desc(&t->f, 1, DATA, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	fx_desc(&t->f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r.data_len, 4096);
	assert_ptr_equal(t->r.status, t->f.ram + STAT);
	assert_int_equal(blk_req_cost(&t->r), 4096);
	assert_false(blk_req_writes(&t->r));
	/* One sector further: past the end. */
	put_hdr(t, VIRTIO_BLK_T_IN, CAP - 7);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_IOERR);
	/* A sector that wraps the sum. */
	put_hdr(t, VIRTIO_BLK_T_IN, UINT64_MAX - 3);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_IOERR);
	/* OUT with writable data besides the status. */
	put_hdr(t, VIRTIO_BLK_T_OUT, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_IOERR);
	assert_true(blk_req_writes(&t->r));
}

static void test_dwz_valid(void **state)
{
	struct t *t = *state;

	put_seg(t, 0, 0, 1024, 0);
	put_seg(t, 1, CAP - 1, 1, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 2, &lim), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r.type, VIRTIO_BLK_T_DISCARD);
	assert_int_equal(t->r.nr_dwz, 2);
	assert_int_equal(t->r.dwz[0].num_sectors, 1024);
	assert_int_equal(t->r.dwz[1].sector, CAP - 1);
	assert_int_equal(t->r.nr_iov, 0);
	assert_int_equal(blk_req_cost(&t->r), 0);
	assert_true(blk_req_writes(&t->r));

	put_seg(t, 0, 100, 512, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 1, &lim), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r.dwz[0].flags, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(blk_req_cost(&t->r), 512 * 512);
}

/* The segments are read whole even when the guest splits one across
 * two buffers. */
static void test_dwz_split_segment(void **state)
{
	struct t *t = *state;

	put_hdr(t, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	put_seg(t, 0, 7, 9, 0);
	fx_desc(&t->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fx_desc(&t->f, 1, SEGS, 5, VIRTQ_DESC_F_NEXT, 2);
	fx_desc(&t->f, 2, SEGS + 5, 11, VIRTQ_DESC_F_NEXT, 3);
	fx_desc(&t->f, 3, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_OK);
	assert_int_equal(t->r.dwz[0].sector, 7);
	assert_int_equal(t->r.dwz[0].num_sectors, 9);
}

static void test_dwz_refused(void **state)
{
	struct t *t = *state;
	struct blk_limits none = lim;

	/* Flags: unknown bits, UNMAP on a discard: UNSUPP (§5.2.6.2). */
	put_seg(t, 0, 0, 1, 2);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 1, &lim), VIRTIO_BLK_S_UNSUPP);
	put_seg(t, 0, 0, 1, 0x80000000u);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &lim), VIRTIO_BLK_S_UNSUPP);
	put_seg(t, 0, 0, 1, VIRTIO_BLK_WZ_F_UNMAP);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &lim), VIRTIO_BLK_S_UNSUPP);
	/* Ranges: past the end, wrapping, empty, over max_*_sectors. */
	put_seg(t, 0, CAP - 1, 2, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &lim), VIRTIO_BLK_S_IOERR);
	put_seg(t, 0, UINT64_MAX, 2, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &lim), VIRTIO_BLK_S_IOERR);
	put_seg(t, 0, CAP + 1, 1, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 1, &lim), VIRTIO_BLK_S_IOERR);
	put_seg(t, 0, 0, 0, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &lim), VIRTIO_BLK_S_IOERR);
	put_seg(t, 0, 0, 1025, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &lim), VIRTIO_BLK_S_IOERR);
	put_seg(t, 0, 0, 513, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 1, &lim), VIRTIO_BLK_S_IOERR);
	/* A bad second segment spoils the request. */
	put_seg(t, 0, 0, 1, 0);
	put_seg(t, 1, CAP, 1, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 2, &lim), VIRTIO_BLK_S_IOERR);
	/* Segment count: over max_*_seg. */
	for (unsigned i = 0; i < 5; i++)
		put_seg(t, i, i, 1, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 5, &lim), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 3, &lim), VIRTIO_BLK_S_IOERR);
	/* More than the parser ever keeps, whatever the limits say. */
	none.max_discard_seg = 1000;
	for (unsigned i = 0; i < BLK_DWZ_MAX_SEGS + 1; i++)
		put_seg(t, i, i, 1, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, BLK_DWZ_MAX_SEGS + 1, &none), VIRTIO_BLK_S_IOERR);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, BLK_DWZ_MAX_SEGS, &none), VIRTIO_BLK_S_OK);
	/* Not negotiated. */
	none.max_discard_seg = 0;
	none.max_write_zeroes_seg = 0;
	put_seg(t, 0, 0, 1, 0);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_DISCARD, 1, &none), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(parse_dwz(t, VIRTIO_BLK_T_WRITE_ZEROES, 1, &none), VIRTIO_BLK_S_UNSUPP);
}

/* Shapes: a payload that is not whole segments, none at all, writable
 * data besides the status. */
static void test_dwz_shapes(void **state)
{
	struct t *t = *state;

	put_seg(t, 0, 0, 1, 0);
	put_hdr(t, VIRTIO_BLK_T_DISCARD, 0);
	fx_desc(&t->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fx_desc(&t->f, 1, SEGS, 15, VIRTQ_DESC_F_NEXT, 2);
	fx_desc(&t->f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_IOERR);

	fx_desc(&t->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 2);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_IOERR);

	fx_desc(&t->f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	fx_desc(&t->f, 1, SEGS, 16, VIRTQ_DESC_F_NEXT, 2);
	fx_desc(&t->f, 2, DATA, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	fx_desc(&t->f, 3, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_WRITE, &t->c), VQ_CHAIN);
	assert_int_equal(blk_parse(&t->c, &lim, &t->r), VIRTIO_BLK_S_IOERR);
	assert_ptr_equal(t->r.status, t->f.ram + STAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwz_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwz_split_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwz_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwz_shapes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
