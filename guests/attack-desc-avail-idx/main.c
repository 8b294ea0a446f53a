/* attack-desc-avail-idx: moves avail.idx 100 entries ahead of the device on a queue of 8; the device must set DEVICE_NEEDS_RESET (and raise the config-change interrupt bit), serve nothing more, and work again after a reset.
 * Expects the VMM to survive, the device to refuse (answer with length 0
 * or ask for a reset, as said above), and then to serve a valid request.
 * Ends with the report line; exit 0 when the device behaved. */
#include "runtime/guest.h"
#include "runtime/virtio.h"

#define W VRING_DESC_F_WRITE
#define N VRING_DESC_F_NEXT
#define I VRING_DESC_F_INDIRECT

static uint8_t qmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t buf[4096];
static struct vring_desc table[32] __attribute__((aligned(16)));
static struct vring_desc table2[4] __attribute__((aligned(16)));

static uint64_t pa(const void *p) { return (uint64_t)(uintptr_t)p; }

int guest_main(void)
{
	struct vdev d;
	struct vq q;

	(void)table; (void)table2; (void)pa;
	GUEST_ASSERT(virtio_open(VIRTIO_ID_RNG, 0, &d, &q, 8, qmem) == 0);
	q.desc[0] = (struct vring_desc){ pa(buf), 64, W, 0 };
	q.avail[1] = (uint16_t)(q.avail_idx + 100);
	__asm__ volatile("mfence" ::: "memory");
	virtio_write(&d, 0x050, 0);
	{
		unsigned long spins = 0;

		while (!(virtio_read(&d, VIRTIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET) && spins < 100000000UL)
			spins++;
	}
	GUEST_CHECK(virtio_read(&d, VIRTIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	GUEST_CHECK(virtio_read(&d, VIRTIO_REG_INT_STATUS) & 2);
	GUEST_CHECK((uint16_t)(q.used[0] >> 16) == 0);
	printf("attack-desc-avail-idx: device asks for a reset; resetting\n");
	GUEST_ASSERT(virtio_negotiate(&d, 0) == 0);
	GUEST_ASSERT(virtio_queue_setup(&d, 0, &q, 8, qmem) == 0);
	virtio_driver_ok(&d);
	GUEST_CHECK(virtio_rng_read(&q, buf, 256) == 256);
	printf("attack-desc-avail-idx: VMM alive, device refused the bad chain and still serves\n");
	GUEST_DONE();
}
