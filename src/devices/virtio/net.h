/* virtio-net (virtio 1.2 §5.1) over a TAP interface that kfv opens
 * itself (never on the guest's request): queue 0 receives, queue 1
 * transmits, both served on the device's worker thread, which also
 * watches the TAP. MAC and MTU are in config space. No offloads are
 * offered: every frame is copied through a bounce buffer in kfv's memory,
 * and the virtio-net header kfv hands the kernel or the guest is one it
 * wrote itself (all zero, num_buffers 1), never the other side's. */
#ifndef KFV_DEVICES_VIRTIO_NET_H
#define KFV_DEVICES_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "mmio.h"
#include "net_req.h"
#include "rate_limiter.h"

struct virtio_net_config {
	const char *tap;
	uint8_t mac[6];
	uint16_t mtu;
	struct rate_limit rx_bw, rx_ops, tx_bw, tx_ops; /* size 0: unlimited */
};

struct virtio_net {
	struct virtio_mmio t;
	int tap_fd;
	char tap[16];
	uint8_t config[12]; /* mac[6], status, max_virtqueue_pairs, mtu */
	struct token_bucket rx_bw, rx_ops, tx_bw, tx_ops;
	size_t rx_len;      /* a frame read from the TAP, waiting for an RX buffer (0: none) */
	uint8_t rx_buf[VIRTIO_NET_BUF_BYTES];
	uint8_t tx_buf[VIRTIO_NET_BUF_BYTES];
};

/* Opens the TAP (/dev/net/tun, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) and
 * creates the device. Returns 0 or a negative errno with msg saying why:
 * -ENODEV no such interface (kfv never creates one), -EBUSY another
 * process has it open, -EINVAL not a TAP. */
int virtio_net_init(struct virtio_net *n, struct vm *vm, unsigned index, const struct virtio_net_config *cfg,
		    char *msg, size_t msglen) __attribute__((warn_unused_result));

/* Stops the device and closes the TAP; safe more than once. */
void virtio_net_destroy(struct virtio_net *n);

#endif
