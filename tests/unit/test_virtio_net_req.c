/* The virtio-net request checks (net_req.c) on chains built in a
 * fabricated guest and validated by virtq_pop(): transmit length bounds,
 * offload requests refused, the guest's header never passed on; receive
 * frames that fit one chain, with kfv's own header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/virtio/net_req.h"
#include "virtio_fixture.h"

#define BUF_A 0x20000ULL
#define BUF_B 0x40000ULL

struct t {
	struct fx f;
	struct vq_chain c;
	uint8_t buf[VIRTIO_NET_BUF_BYTES];
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

/* Two device-readable buffers of a and b bytes (b 0: one buffer). */
static long tx(struct t *t, uint32_t a, uint32_t b)
{
	fx_desc(&t->f, 0, BUF_A, a, b ? VIRTQ_DESC_F_NEXT : 0, 1);
	fx_desc(&t->f, 1, BUF_B, b, 0, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_READ_ONLY, &t->c), VQ_CHAIN);
	return net_tx_parse(&t->c, t->buf);
}

static void test_tx_valid(void **state)
{
	struct t *t = *state;
	uint8_t *hdr = t->f.ram + BUF_A;

	memset(hdr, 0, VIRTIO_NET_HDR_BYTES);
	hdr[10] = 7; /* num_buffers: meaningless on transmit, and not passed on */
	memset(hdr + VIRTIO_NET_HDR_BYTES, 0xab, 20);
	memset(t->f.ram + BUF_B, 0xcd, 40);
	assert_int_equal(tx(t, VIRTIO_NET_HDR_BYTES + 20, 40), VIRTIO_NET_HDR_BYTES + 60);
	for (unsigned i = 0; i < VIRTIO_NET_HDR_BYTES; i++)
		assert_int_equal(t->buf[i], 0);
	assert_memory_equal(t->buf + VIRTIO_NET_HDR_BYTES, hdr + VIRTIO_NET_HDR_BYTES, 20);
	assert_memory_equal(t->buf + VIRTIO_NET_HDR_BYTES + 20, t->f.ram + BUF_B, 40);
	assert_int_equal(hdr[10], 7); /* the guest's memory is not written */
	/* The smallest and the largest frames. */
	assert_int_equal(tx(t, VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME, 0),
			 VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME);
	assert_int_equal(tx(t, VIRTIO_NET_HDR_BYTES, VIRTIO_NET_MAX_FRAME), VIRTIO_NET_BUF_BYTES);
}

static void test_tx_refused(void **state)
{
	struct t *t = *state;
	uint8_t *hdr = t->f.ram + BUF_A;

	memset(hdr, 0, 64);
	assert_int_equal(tx(t, VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME - 1, 0), NET_TX_SHORT);
	assert_int_equal(tx(t, 4, 0), NET_TX_SHORT);
	assert_int_equal(tx(t, VIRTIO_NET_HDR_BYTES + 1, VIRTIO_NET_MAX_FRAME), NET_TX_LONG);
	hdr[0] = 1; /* NEEDS_CSUM, CSUM not offered */
	assert_int_equal(tx(t, 60, 0), NET_TX_OFFLOAD);
	hdr[0] = 0;
	hdr[1] = 1; /* GSO_TCPV4, HOST_TSO4 not offered */
	assert_int_equal(tx(t, 60, 0), NET_TX_OFFLOAD);
	hdr[1] = 0x80; /* GSO_ECN alone */
	assert_int_equal(tx(t, 60, 0), NET_TX_OFFLOAD);
	assert_string_equal(net_req_error_name(NET_TX_OFFLOAD), "offload");
	assert_string_equal(net_req_error_name(NET_TX_SHORT), "short");
}

static void test_rx_fill(void **state)
{
	struct t *t = *state;
	uint8_t frame[128];

	memset(t->f.ram + BUF_A, 0xee, 256);
	memset(t->f.ram + BUF_B, 0xee, 256);
	fx_desc(&t->f, 0, BUF_A, 50, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fx_desc(&t->f, 1, BUF_B, 50, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&t->f, 0);
	assert_int_equal(virtq_pop(&t->f.q, &t->f.gm, false, VQ_DIR_WRITE_ONLY, &t->c), VQ_CHAIN);
	/* Too big for the chain: nothing written. */
	memset(frame, 0x11, sizeof(frame));
	assert_int_equal(net_rx_fill(&t->c, frame, 101), NET_RX_NO_ROOM);
	assert_int_equal(t->f.ram[BUF_A], 0xee);
	assert_int_equal(net_rx_fill(&t->c, frame, VIRTIO_NET_HDR_BYTES), NET_RX_NO_ROOM);
	/* 80 bytes: 50 in the first buffer, 30 in the second, kfv's header. */
	assert_int_equal(net_rx_fill(&t->c, frame, 80), 80);
	for (unsigned i = 0; i < VIRTIO_NET_HDR_BYTES; i++)
		assert_int_equal(t->f.ram[BUF_A + i], i == 10 ? 1 : 0);
	assert_int_equal(t->f.ram[BUF_A + 49], 0x11);
	assert_int_equal(t->f.ram[BUF_B + 29], 0x11);
	assert_int_equal(t->f.ram[BUF_B + 30], 0xee);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tx_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fill, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
