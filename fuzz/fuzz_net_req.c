/* libFuzzer harness for the virtio-net request checks: every chain the
 * validator accepts goes through net_tx_parse() (byte 1 bit 3 clear:
 * the transmit queue's rule, device-readable only) or net_rx_fill() (bit 3
 * set: the receive queue's rule, device-writable only) with a frame of
 * the length in guest RAM at 0x2ffc (24 bits, little-endian: a spot no
 * ring reaches), at most a header and 65536 bytes. An accepted transmit
 * chain must be a header and 14 to 65536 frame bytes, handed on with an
 * all-zero header; a filled receive chain must have had room for the
 * whole frame, and a refused one must not have. */
#include <stdlib.h>

#include "devices/virtio/net_req.h"
#include "fuzz_common.h"

#define LEN_AT 0x2ffc

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz f;
static struct vq_chain chain;
static uint8_t buf[VIRTIO_NET_BUF_BYTES];

static void check_tx(void)
{
	long n = net_tx_parse(&chain, buf);

	if (n < 0) {
		if (n != NET_TX_SHORT && n != NET_TX_LONG && n != NET_TX_OFFLOAD)
			abort();
		return;
	}
	if (n < VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME || n > VIRTIO_NET_BUF_BYTES ||
	    (uint64_t)n != chain.readable_bytes)
		abort();
	for (unsigned i = 0; i < VIRTIO_NET_HDR_BYTES; i++)
		if (buf[i])
			abort();
}

static void check_rx(size_t len)
{
	long n;

	memset(buf, 0x5a, len);
	n = net_rx_fill(&chain, buf, len);
	if (n == NET_RX_NO_ROOM) {
		if (len > VIRTIO_NET_HDR_BYTES && len <= VIRTIO_NET_BUF_BYTES && chain.writable_bytes >= len)
			abort();
		return;
	}
	/* Where it wrote is ASan's to check: buffers may overlap, so what
	 * lies in guest RAM afterwards is the driver's business. */
	if (n != (long)len || chain.writable_bytes < len || len <= VIRTIO_NET_HDR_BYTES)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool rx;
	size_t len;

	if (fz_setup(&f, data, size))
		return 0;
	rx = data[1] & 8;
	f.dir = rx ? VQ_DIR_WRITE_ONLY : VQ_DIR_READ_ONLY;
	len = (size_t)f.ram[LEN_AT] | (size_t)f.ram[LEN_AT + 1] << 8 | (size_t)f.ram[LEN_AT + 2] << 16;
	if (len > sizeof(buf))
		len = sizeof(buf);
	for (unsigned n = 0; n < 2 * VQ_MAX_SIZE; n++) {
		int r = virtq_pop(&f.q, &f.gm, f.indirect, f.dir, &chain);

		if (r == VQ_EMPTY || r < VQ_E_FATAL)
			break;
		if (r == VQ_CHAIN) {
			if (rx)
				check_rx(len);
			else
				check_tx();
		}
		(void)virtq_push(&f.q, &f.gm, chain.head, 0);
	}
	return 0;
}
