/* attack-desc-loop: a descriptor chain that loops (0 -> 1 -> 0, and 2 -> 2).
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
	q.desc[0] = (struct vring_desc){ pa(buf), 64, W | N, 1 };
	q.desc[1] = (struct vring_desc){ pa(buf), 64, W | N, 0 };
	GUEST_CHECK(vq_expect_refused(&q, 0) == 0);
	q.desc[2] = (struct vring_desc){ pa(buf), 64, W | N, 2 };
	GUEST_CHECK(vq_expect_refused(&q, 2) == 0);
	GUEST_CHECK(virtio_rng_read(&q, buf, 256) == 256);
	printf("attack-desc-loop: VMM alive, device refused the bad chain and still serves\n");
	GUEST_DONE();
}
