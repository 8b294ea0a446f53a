/* attack-desc-overflow: address + length wraps around 2^64 (a buffer and an indirect table), and a 4 GiB length.
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
	q.desc[0] = (struct vring_desc){ 0xfffffffffffff000ULL, 0x2000, W, 0 };
	GUEST_CHECK(vq_expect_refused(&q, 0) == 0);
	q.desc[1] = (struct vring_desc){ pa(buf), 0xffffffffU, W, 0 };
	GUEST_CHECK(vq_expect_refused(&q, 1) == 0);
	q.desc[2] = (struct vring_desc){ 0xfffffffffffffff0ULL, 32, I, 0 };
	GUEST_CHECK(vq_expect_refused(&q, 2) == 0);
	GUEST_CHECK(virtio_rng_read(&q, buf, 256) == 256);
	printf("attack-desc-overflow: VMM alive, device refused the bad chain and still serves\n");
	GUEST_DONE();
}
