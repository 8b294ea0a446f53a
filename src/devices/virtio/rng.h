/* virtio-rng (virtio 1.2 §5.4): one request queue of device-writable
 * buffers, filled from getrandom(2), rate-limited by two token buckets
 * (bytes and requests). */
#ifndef KFV_DEVICES_VIRTIO_RNG_H
#define KFV_DEVICES_VIRTIO_RNG_H

#include "mmio.h"
#include "rate_limiter.h"

struct virtio_rng {
	struct virtio_mmio t;
	struct token_bucket bytes;
	struct token_bucket ops;
};

/* Creates the device as virtio-mmio device `index`. */
int virtio_rng_init(struct virtio_rng *r, struct vm *vm, unsigned index, const struct rate_limit *bytes,
		    const struct rate_limit *ops) __attribute__((warn_unused_result));

#endif
