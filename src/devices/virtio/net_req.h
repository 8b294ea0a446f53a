/* virtio-net request checks (virtio 1.2 §5.1.6), kept apart from the TAP
 * I/O so they can be unit-tested and fuzzed on fabricated chains. Chains
 * have already been through virtq_pop(): every buffer lies in guest RAM.
 * kfv offers no offloads, so the only header it accepts from a driver is
 * one that asks for none, and the only one it gives is its own. */
#ifndef KFV_DEVICES_VIRTIO_NET_REQ_H
#define KFV_DEVICES_VIRTIO_NET_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"

#define VIRTIO_NET_HDR_BYTES 12    /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define VIRTIO_NET_MAX_FRAME 65536 /* Ethernet frame, without the header */
#define VIRTIO_NET_MIN_FRAME 14    /* an Ethernet header */
#define VIRTIO_NET_BUF_BYTES (VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MAX_FRAME)

enum net_req_result {
	NET_TX_SHORT = -1,   /* less than a header and an Ethernet header */
	NET_TX_LONG = -2,    /* more than a header and VIRTIO_NET_MAX_FRAME */
	NET_TX_OFFLOAD = -3, /* the header asks for checksum or segmentation offload: none was offered */
	NET_RX_NO_ROOM = -4, /* the receive chain cannot hold the frame (no MRG_RXBUF: one chain per frame) */
};

/* A short name for a result ("short", "long", "offload", "no-room"). */
const char *net_req_error_name(long err);

/* Transmit: copies chain c (header, then frame; device-readable only)
 * into buf (VIRTIO_NET_BUF_BYTES), the only read of guest memory, checks
 * the header there (flags and gso_type 0), then replaces it with zeros so
 * nothing the guest wrote in it reaches the host kernel. Returns the
 * bytes in buf, header included, or a negative net_req_result. */
long net_tx_parse(const struct vq_chain *c, uint8_t *buf);

/* Receive: writes kfv's header (zeros, num_buffers 1) over the first
 * VIRTIO_NET_HDR_BYTES of frame (len bytes, header room included) and
 * copies it into the device-writable buffers of c. Returns len, or
 * NET_RX_NO_ROOM with nothing written when c is too small (or len holds
 * no more than a header). */
long net_rx_fill(const struct vq_chain *c, uint8_t *frame, size_t len);

#endif
