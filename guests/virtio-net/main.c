/* virtio-net: finds the first network device, reads its MAC and MTU from
 * config space and prints them, gives the device 4 receive buffers, sends
 * a broadcast Ethernet frame twice (EtherType 0x88b5, payload "kfv-net-ping")
 * and waits for a frame back addressed to its MAC with the payload
 * "kfv-net-pong" (the test's host side answers it). Frames of other
 * kinds are skipped and their buffers given back. Checks the header the
 * device wrote (no flags, num_buffers 1). Ends with the report line.
 * With `event_idx` the driver negotiates VIRTIO_F_EVENT_IDX and notifies
 * only when the device asks.
 *
 * `mode=bench n=N` (default 1000) sends N 60-byte broadcast frames, one at
 * a time, from a driver loop in ring 3, between the lines "virtio-net:
 * bench start n=N" and "virtio-net: bench done n=N frames"
 * (bench/net-pps.sh times the gap), and receives nothing. */
#include "runtime/guest.h"
#include "runtime/user.h"
#include "runtime/virtio.h"

#define VIRTIO_NET_F_MTU (1ULL << 3)
#define VIRTIO_NET_F_MAC (1ULL << 5)
#define HDR     12
#define RX_BUFS 4
#define RX_LEN  2048
#define ETHERTYPE 0x88b5 /* local experimental */

static uint8_t rxmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t txmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t rxbuf[RX_BUFS][RX_LEN] __attribute__((aligned(4096)));
static uint8_t txbuf[HDR + 64] __attribute__((aligned(64)));

static void post_rx(struct vq *q, uint16_t i)
{
	memset(rxbuf[i], 0xee, RX_LEN);
	q->desc[i] = (struct vring_desc){ (uint64_t)(uintptr_t)rxbuf[i], RX_LEN, VRING_DESC_F_WRITE, 0 };
	vq_publish(q, i);
}

/* Ring 3: arg frames through descriptor 0 of the TX queue, waiting for
 * each to come back. Returns the number that failed. */
static struct vq *bench_tx;

static uint64_t bench_loop(uint64_t n)
{
	uint64_t errors = 0;
	uint32_t id, len;

	printf("virtio-net: bench start n=%lu\n", (unsigned long)n);
	for (uint64_t i = 0; i < n; i++) {
		vq_publish(bench_tx, 0);
		if (vq_wait(bench_tx, &id, &len) != 0 || id != 0)
			errors++;
	}
	printf("virtio-net: bench done n=%lu frames, %lu errors\n", (unsigned long)n, (unsigned long)errors);
	return errors;
}

int guest_main(void)
{
	char mode[8];
	static const char ping[] = "kfv-net-ping", pong[] = "kfv-net-pong";
	struct vdev d;
	struct vq rx, tx;
	uint8_t mac[6];
	uint32_t w, id, len;
	unsigned mtu, seen = 0;
	bool got = false;

	GUEST_ASSERT(virtio_find(VIRTIO_ID_NET, &d) == 0);
	GUEST_ASSERT(virtio_negotiate(&d, VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU |
					  (cmdline_has(boot_info.cmdline, "event_idx") ? VIRTIO_F_EVENT_IDX : 0)) == 0);
	GUEST_ASSERT(virtio_queue_setup(&d, 0, &rx, 8, rxmem) == 0);
	GUEST_ASSERT(virtio_queue_setup(&d, 1, &tx, 8, txmem) == 0);
	virtio_driver_ok(&d);
	w = virtio_read(&d, VIRTIO_REG_CONFIG);
	memcpy(mac, &w, 4);
	w = virtio_read(&d, VIRTIO_REG_CONFIG + 4);
	memcpy(mac + 4, &w, 2);
	mtu = virtio_read(&d, VIRTIO_REG_CONFIG + 8) >> 16;
	printf("virtio-net: device %u, mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u\n", d.index, mac[0], mac[1], mac[2],
	       mac[3], mac[4], mac[5], mtu);
	GUEST_CHECK(!(mac[0] & 1));
	GUEST_CHECK(mtu >= 68);

	/* Header (all zero: no offloads), then the frame. */
	memset(txbuf, 0, sizeof(txbuf));
	memset(txbuf + HDR, 0xff, 6);
	memcpy(txbuf + HDR + 6, mac, 6);
	txbuf[HDR + 12] = ETHERTYPE >> 8;
	txbuf[HDR + 13] = ETHERTYPE & 0xff;
	memcpy(txbuf + HDR + 14, ping, sizeof(ping));
	tx.desc[0] = (struct vring_desc){ (uint64_t)(uintptr_t)txbuf, HDR + 60, 0, 0 };
	if (cmdline_get(boot_info.cmdline, "mode", mode, sizeof(mode)) && strncmp(mode, "bench", 6) == 0) {
		uint64_t n;

		if (cmdline_get_u64(boot_info.cmdline, "n", 1000, &n) < 0) {
			printf("virtio-net: bad n=\n");
			guest_exit(GUEST_EXIT_BAD_BOOT);
		}
		bench_tx = &tx;
		GUEST_CHECK(user_run(bench_loop, n) == 0);
		GUEST_DONE();
	}
	for (uint16_t i = 0; i < RX_BUFS; i++)
		post_rx(&rx, i);
	/* Twice, so a transmit rate limit has something to hold back. */
	for (int i = 0; i < 2; i++) {
		vq_publish(&tx, 0);
		GUEST_ASSERT(vq_wait(&tx, &id, &len) == 0);
		GUEST_CHECK(id == 0);
	}
	printf("virtio-net: sent a broadcast frame \"%s\" twice\n", ping);

	while (!got && seen < 16) {
		const uint8_t *f;

		GUEST_ASSERT(vq_wait(&rx, &id, &len) == 0);
		GUEST_ASSERT(id < RX_BUFS);
		seen++;
		f = rxbuf[id];
		if (len >= HDR + 14 + sizeof(pong) - 1 && f[HDR + 12] == (ETHERTYPE >> 8) &&
		    f[HDR + 13] == (ETHERTYPE & 0xff) && memcmp(f + HDR + 14, pong, sizeof(pong) - 1) == 0) {
			got = true;
			GUEST_CHECK(memcmp(f + HDR, mac, 6) == 0);
			/* flags, gso_type, hdr_len, gso_size, csum_*: 0; num_buffers 1 */
			for (unsigned i = 0; i < 10; i++)
				GUEST_CHECK(f[i] == 0);
			GUEST_CHECK(f[10] == 1 && f[11] == 0);
			printf("virtio-net: received \"%s\" (%u bytes with the header) after %u frames\n", pong, len,
			       seen);
		} else {
			post_rx(&rx, (uint16_t)id); /* not ours (IPv6 chatter, ...): give the buffer back */
		}
	}
	GUEST_CHECK(got);
	GUEST_DONE();
}
