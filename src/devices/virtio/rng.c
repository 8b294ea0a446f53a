#include "rng.h"

#include <errno.h>
#include <sys/random.h>

#include "../../util/log.h"
#include "virtio.h"

#define RNG_QUEUE_MAX 64
#define RNG_CHUNK     4096
#define RNG_MAX_REQ   (64u * 1024) /* bytes served per request at most */
#define RNG_MIN_GRANT 64u          /* a limited request waits for this many bytes (or all it asked) */

static int fill_random(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static void rng_process(struct virtio_mmio *t, void *dev)
{
	struct virtio_rng *r = dev;
	uint8_t buf[RNG_CHUNK];

	for (;;) {
		uint64_t now, allowed, want, need, done = 0;
		struct vq_chain *c;

		if (!virtio_mmio_pop(t, 0, VQ_DIR_WRITE_ONLY, &c))
			return;
		now = monotonic_ns();
		want = c->writable_bytes < RNG_MAX_REQ ? c->writable_bytes : RNG_MAX_REQ;
		/* Answering with the trickle a drained bucket has would only
		 * invite the next request: wait for a useful amount, never
		 * more than a full bucket holds. */
		need = want < RNG_MIN_GRANT ? want : RNG_MIN_GRANT;
		if (!tb_unlimited(&r->bytes) && need > r->bytes.size + r->bytes.one_time_burst)
			need = r->bytes.size + r->bytes.one_time_burst;
		if (tb_available(&r->ops, now) == 0 || tb_available(&r->bytes, now) < need) {
			uint64_t a = tb_wait_ns(&r->ops, 1, now), b = tb_wait_ns(&r->bytes, need, now);

			/* The request waits in the ring until there are tokens. */
			virtio_mmio_throttle(t, 0, a > b ? a : b);
			return;
		}
		(void)tb_consume(&r->ops, 1, now);
		allowed = tb_available(&r->bytes, now);
		if (want > allowed)
			want = allowed; /* virtio-rng may return fewer bytes than asked */
		while (done < want) {
			uint64_t n = want - done < RNG_CHUNK ? want - done : RNG_CHUNK;

			if (fill_random(buf, n)) {
				atomic_fetch_add_explicit(&t->stats.io_errors, 1, memory_order_relaxed);
				break;
			}
			done += vq_chain_write(c, done, buf, n);
		}
		(void)tb_consume(&r->bytes, done, now);
		atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&t->stats.bytes, done, memory_order_relaxed);
		virtio_mmio_complete(t, 0, c->head, (uint32_t)done);
	}
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_ENTROPY,
	.nr_queues = 1,
	.queue_max = RNG_QUEUE_MAX,
	.features = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC),
	.config_size = 0,
	.process = rng_process,
};

int virtio_rng_init(struct virtio_rng *r, struct vm *vm, unsigned index, const struct rate_limit *bytes,
		    const struct rate_limit *ops)
{
	static const struct rate_limit none;
	uint64_t now = monotonic_ns();

	if (!bytes)
		bytes = &none;
	if (!ops)
		ops = &none;
	tb_init(&r->bytes, bytes->size, bytes->one_time_burst, bytes->refill_time_ms, now);
	tb_init(&r->ops, ops->size, ops->one_time_burst, ops->refill_time_ms, now);
	return virtio_mmio_init(&r->t, vm, index, &rng_ops, r);
}
