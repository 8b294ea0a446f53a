#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../util/log.h"
#include "virtio.h"

#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define NET_QUEUE_MAX 256
#define RXQ 0
#define TXQ 1

static void net_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *n = dev;

	memcpy(data, n->config + off, len);
}

static void count_error(struct virtio_mmio *t)
{
	atomic_fetch_add_explicit(&t->stats.io_errors, 1, memory_order_relaxed);
}

/* Guest -> TAP. Each chain is header + frame, device-readable only. */
static void net_tx(struct virtio_mmio *t, struct virtio_net *n)
{
	struct vq_chain *c;

	while (virtio_mmio_pop(t, TXQ, VQ_DIR_READ_ONLY, &c)) {
		uint64_t len = c->readable_bytes, wait;
		uint64_t cost = len > VIRTIO_NET_HDR_BYTES ? len - VIRTIO_NET_HDR_BYTES : 0;
		long got;
		ssize_t w;

		/* Every chain pays, malformed ones too: a flood of them is
		 * held back like any other. */
		if (cost > VIRTIO_NET_MAX_FRAME)
			cost = VIRTIO_NET_MAX_FRAME;
		if (!tb_take_request(&n->tx_ops, &n->tx_bw, cost, monotonic_ns(), &wait)) {
			virtio_mmio_throttle(t, TXQ, wait);
			return;
		}
		/* Copied into kfv's memory once, checked there, and sent with
		 * kfv's own (all-zero) header. */
		got = net_tx_parse(c, n->tx_buf);
		if (got < 0) {
			LOG_RATELIMITED(LOG_WARN, "%s: dropped a %llu-byte transmit buffer (%s; header + frame must be %u to %zu bytes, no offloads)",
					t->name, (unsigned long long)len, net_req_error_name(got),
					VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME, sizeof(n->tx_buf));
			count_error(t);
			virtio_mmio_reject(t);
			virtio_mmio_complete(t, TXQ, c->head, 0);
			continue;
		}
		do
			w = write(n->tap_fd, n->tx_buf, len);
		while (w < 0 && errno == EINTR);
		if (w != (ssize_t)len) {
			/* A full TAP queue (EAGAIN) drops the frame, as a wire would. */
			LOG_RATELIMITED(LOG_WARN, "%s: tap %s: frame of %llu bytes not sent: %s", t->name, n->tap,
					(unsigned long long)(len - VIRTIO_NET_HDR_BYTES),
					w < 0 ? strerror(errno) : "short write");
			count_error(t);
		} else {
			atomic_fetch_add_explicit(&t->stats.bytes, len - VIRTIO_NET_HDR_BYTES, memory_order_relaxed);
		}
		atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
		virtio_mmio_complete(t, TXQ, c->head, 0);
	}
}

/* TAP -> guest. A frame read from the TAP waits in rx_buf until the
 * driver gives a buffer; meanwhile the worker stops watching the TAP
 * (until the next notify), so a full TAP does not spin it. */
static void net_rx(struct virtio_mmio *t, struct virtio_net *n)
{
	for (;;) {
		struct vq_chain *c;
		uint64_t wait;

		if (!n->rx_len) {
			ssize_t got = read(n->tap_fd, n->rx_buf, sizeof(n->rx_buf));

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (got < 0) {
				LOG_RATELIMITED(LOG_WARN, "%s: tap %s: read: %s", t->name, n->tap, strerror(errno));
				count_error(t);
				virtio_mmio_pause_extra(t);
				return;
			}
			if (got < VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME)
				continue; /* nothing a guest could use */
			n->rx_len = (size_t)got;
		}
		if (!virtio_mmio_pop(t, RXQ, VQ_DIR_WRITE_ONLY, &c)) {
			virtio_mmio_pause_extra(t);
			return;
		}
		if (c->writable_bytes < n->rx_len) {
			/* Without MRG_RXBUF a frame must fit one buffer; it does
			 * not: drop the frame, keep the buffer for the next. */
			LOG_RATELIMITED(LOG_WARN, "%s: dropped a %zu-byte frame: receive buffer of %llu bytes",
					t->name, n->rx_len - VIRTIO_NET_HDR_BYTES,
					(unsigned long long)c->writable_bytes);
			count_error(t);
			virtio_mmio_unpop(t, RXQ);
			n->rx_len = 0;
			continue;
		}
		if (!tb_take_request(&n->rx_ops, &n->rx_bw, n->rx_len - VIRTIO_NET_HDR_BYTES, monotonic_ns(), &wait)) {
			virtio_mmio_pause_extra(t);
			virtio_mmio_throttle(t, RXQ, wait);
			return;
		}
		(void)net_rx_fill(c, n->rx_buf, n->rx_len); /* fits: checked above */
		atomic_fetch_add_explicit(&t->stats.bytes, n->rx_len - VIRTIO_NET_HDR_BYTES, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
		virtio_mmio_complete(t, RXQ, c->head, (uint32_t)n->rx_len);
		n->rx_len = 0;
	}
}

static void net_process(struct virtio_mmio *t, void *dev)
{
	struct virtio_net *n = dev;

	net_tx(t, n);
	net_rx(t, n);
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	n->rx_len = 0; /* a frame held for the old driver is dropped */
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max = NET_QUEUE_MAX,
	.features = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_MTU),
	.config_size = 12,
	.config_read = net_config_read,
	.process = net_process,
	.reset = net_reset,
	/* Denied: transmit chains come back unsent (length 0); receive
	 * buffers stay queued, as if there were none, and frames wait in
	 * the TAP (whose queue drops what does not fit). */
	.deny_holds = 1u << RXQ,
};

static int open_tap(struct virtio_net *n, const char *name, char *msg, size_t msglen)
{
	struct ifreq ifr;
	int hdr = VIRTIO_NET_HDR_BYTES, err;

	if (if_nametoindex(name) == 0) {
		snprintf(msg, msglen, "--net tap=%s: no such interface (kfv opens an existing TAP, it never creates one)",
			 name);
		return -ENODEV;
	}
	n->tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (n->tap_fd < 0) {
		err = -errno;
		snprintf(msg, msglen, "--net tap=%s: cannot open /dev/net/tun: %s", name, strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		if (err == -EBUSY)
			snprintf(msg, msglen, "--net tap=%s: in use by another process", name);
		else if (err == -EINVAL)
			snprintf(msg, msglen, "--net tap=%s: not a TAP interface (a TUN, or not a tun/tap device)", name);
		else
			snprintf(msg, msglen, "--net tap=%s: cannot attach: %s", name, strerror(errno));
		return err;
	}
	/* An interface that vanished between the two checks was just created
	 * by TUNSETIFF (it is not persistent): refuse it, closing deletes it. */
	if (ioctl(n->tap_fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_PERSIST)) {
		snprintf(msg, msglen, "--net tap=%s: no such interface (kfv opens an existing TAP, it never creates one)",
			 name);
		return -ENODEV;
	}
	if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0) {
		err = -errno;
		snprintf(msg, msglen, "--net tap=%s: setting up the header and offloads: %s", name, strerror(errno));
		return err;
	}
	return 0;
}

int virtio_net_init(struct virtio_net *n, struct vm *vm, unsigned index, const struct virtio_net_config *cfg,
		    char *msg, size_t msglen)
{
	uint64_t now = monotonic_ns();
	int ret;

	memset(n, 0, sizeof(*n));
	n->tap_fd = -1;
	snprintf(n->tap, sizeof(n->tap), "%s", cfg->tap);
	ret = open_tap(n, cfg->tap, msg, msglen);
	if (ret) {
		if (n->tap_fd >= 0)
			close(n->tap_fd);
		n->tap_fd = -1;
		return ret;
	}
	memcpy(n->config, cfg->mac, 6);
	memcpy(n->config + 10, &cfg->mtu, 2);
	tb_init_limit(&n->rx_bw, &cfg->rx_bw, now);
	tb_init_limit(&n->rx_ops, &cfg->rx_ops, now);
	tb_init_limit(&n->tx_bw, &cfg->tx_bw, now);
	tb_init_limit(&n->tx_ops, &cfg->tx_ops, now);
	ret = virtio_mmio_init(&n->t, vm, index, &net_ops, n);
	if (ret) {
		snprintf(msg, msglen, "--net tap=%s: registering the device: %s", cfg->tap, strerror(-ret));
		close(n->tap_fd);
		n->tap_fd = -1;
		return ret;
	}
	n->t.extra_fd = n->tap_fd; /* the worker watches the TAP */
	return 0;
}

void virtio_net_destroy(struct virtio_net *n)
{
	virtio_mmio_destroy(&n->t);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	n->tap_fd = -1;
}
