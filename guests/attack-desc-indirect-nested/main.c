/* attack-desc-indirect-nested: an indirect table whose entry points to another indirect table, an indirect descriptor with NEXT, and indirect without the feature (second device session).
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
	GUEST_ASSERT(virtio_open(VIRTIO_ID_RNG, VIRTIO_F_INDIRECT_DESC, &d, &q, 8, qmem) == 0);
	table2[0] = (struct vring_desc){ pa(buf), 64, W, 0 };
	table[0] = (struct vring_desc){ pa(table2), sizeof(table2), I, 0 };
	q.desc[0] = (struct vring_desc){ pa(table), 16, I, 0 };
	GUEST_CHECK(vq_expect_refused(&q, 0) == 0);
	q.desc[1] = (struct vring_desc){ pa(table2), 16, I | N, 2 };
	q.desc[2] = (struct vring_desc){ pa(buf), 64, W, 0 };
	GUEST_CHECK(vq_expect_refused(&q, 1) == 0);
	/* A valid indirect request is served. */
	q.desc[3] = (struct vring_desc){ pa(table2), 16, I, 0 };
	{
		uint32_t id, len;

		vq_publish(&q, 3);
		GUEST_CHECK(vq_wait(&q, &id, &len) == 0 && id == 3 && len == 64);
	}
	GUEST_CHECK(virtio_rng_read(&q, buf, 256) == 256);
	printf("attack-desc-indirect-nested: VMM alive, device refused the bad chain and still serves\n");
	GUEST_DONE();
}
