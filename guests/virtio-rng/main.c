/* virtio-rng: finds the entropy device, reads 64, 4096 and 16 x 512 bytes
 * from it and checks the device filled them (not all zero, two reads
 * differ). A rate-limited device may answer with fewer bytes than asked
 * (virtio 1.2 §5.4): any non-zero length is accepted and the total is
 * printed. With `event_idx` on the command line the driver negotiates
 * VIRTIO_F_EVENT_IDX and notifies only when the device asks.
 * Ends with the report line; exit 0 when every check passed. */
#include "runtime/guest.h"
#include "runtime/virtio.h"

static uint8_t qmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t a[4096], b[4096];

static bool all_zero(const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int guest_main(void)
{
	struct vdev d;
	struct vq q;

	GUEST_ASSERT(virtio_open(VIRTIO_ID_RNG, cmdline_has(boot_info.cmdline, "event_idx") ? VIRTIO_F_EVENT_IDX : 0, &d,
				 &q, 8, qmem) == 0);
	printf("virtio-rng: device %u at 0x%lx%s\n", d.index, (unsigned long)d.base,
	       d.features & VIRTIO_F_EVENT_IDX ? ", event index" : "");
	int n1 = virtio_rng_read(&q, a, 64), n2 = virtio_rng_read(&q, b, 4096), total = n1 + n2;

	GUEST_CHECK(n1 > 0 && n1 <= 64 && !all_zero(a, (unsigned)n1));
	GUEST_CHECK(n2 > 0 && n2 <= 4096 && !all_zero(b, (unsigned)n2));
	GUEST_CHECK(n1 < 8 || memcmp(a, b, 8) != 0);
	for (unsigned i = 0; i < 16; i++) {
		int n = virtio_rng_read(&q, a, 512);

		GUEST_CHECK(n > 0 && n <= 512);
		total += n;
	}
	GUEST_CHECK(!(virtio_read(&d, VIRTIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	printf("virtio-rng: %d bytes of entropy read\n", total);
	GUEST_DONE();
}
