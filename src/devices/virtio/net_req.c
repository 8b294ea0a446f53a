#include "net_req.h"

#include <string.h>

/* struct virtio_net_hdr (§5.1.6): flags, gso_type, then lengths and
 * num_buffers. */
#define HDR_FLAGS    0
#define HDR_GSO_TYPE 1
#define HDR_NUM_BUFFERS 10

const char *net_req_error_name(long err)
{
	switch (err) {
	case NET_TX_SHORT: return "short";
	case NET_TX_LONG: return "long";
	case NET_TX_OFFLOAD: return "offload";
	case NET_RX_NO_ROOM: return "no-room";
	default: return "?";
	}
}

long net_tx_parse(const struct vq_chain *c, uint8_t *buf)
{
	uint64_t len = c->readable_bytes;

	if (c->writable_bytes)
		return NET_TX_LONG; /* the validator's VQ_DIR_READ_ONLY rules this out; be sure */
	if (len < VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME)
		return NET_TX_SHORT;
	if (len > VIRTIO_NET_BUF_BYTES)
		return NET_TX_LONG;
	/* One copy: the guest cannot change the frame (or the header) after
	 * it was checked, nor while the kernel reads it. */
	if (vq_chain_read(c, 0, buf, len) != len)
		return NET_TX_SHORT;
	/* Without CSUM and HOST_* offloads negotiated a driver must ask for
	 * none (§5.1.6.2); one that does anyway is malformed. */
	if (buf[HDR_FLAGS] || buf[HDR_GSO_TYPE])
		return NET_TX_OFFLOAD;
	memset(buf, 0, VIRTIO_NET_HDR_BYTES);
	return (long)len;
}

long net_rx_fill(const struct vq_chain *c, uint8_t *frame, size_t len)
{
	if (len <= VIRTIO_NET_HDR_BYTES || len > VIRTIO_NET_BUF_BYTES || c->writable_bytes < len)
		return NET_RX_NO_ROOM;
	/* kfv's own header: no flags, no GSO, one buffer. */
	memset(frame, 0, VIRTIO_NET_HDR_BYTES);
	frame[HDR_NUM_BUFFERS] = 1;
	if (vq_chain_write(c, 0, frame, len) != len)
		return NET_RX_NO_ROOM;
	return (long)len;
}
