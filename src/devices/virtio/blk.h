/* virtio-blk (virtio 1.2 §5.2) over a raw image: read, write, flush
 * (fdatasync), GET_ID, discard (a hole punched in the image) and write
 * zeroes (FALLOC_FL_ZERO_RANGE, a punched hole, or zeros written). The image is opened read-only for a read-only disk
 * and locked with an OFD lock (write lock, or read lock when read-only),
 * so two VMs cannot both write one image. I/O runs on the device's worker
 * thread, straight into guest memory: asynchronously through io_uring
 * (blk_uring.[ch]), or with preadv/pwritev where io_uring is unavailable. */
#ifndef KFV_DEVICES_VIRTIO_BLK_H
#define KFV_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

#include "blk_req.h"
#include "mmio.h"
#include "rate_limiter.h"

struct blk_uring;

struct virtio_blk {
	struct virtio_mmio t;
	struct virtio_dev_ops ops; /* per disk: the RO feature differs */
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[60]; /* struct virtio_blk_config up to write_zeroes_may_unmap */
	struct blk_limits limits; /* what the device told the driver it takes */
	struct blk_req req;
	struct token_bucket iops;  /* one token per request */
	struct token_bucket bw;    /* one token per data byte read or written */
	struct blk_uring *uring;   /* NULL: synchronous I/O */
	uint32_t gen;              /* bumped by each reset: older completions are dropped */
};

/* What a disk is made of, from the command line. */
struct virtio_blk_config {
	const char *path;
	bool read_only;
	const char *id;            /* GET_ID answer; NULL or "": kfv-diskN */
	struct rate_limit bw;      /* bytes; size 0: unlimited */
	struct rate_limit iops;    /* requests; size 0: unlimited */
	bool sync_io;              /* no io_uring (tests of the fallback) */
};

/* Opens and locks the image and creates the device. Returns 0 or a
 * negative errno with msg saying why (-EAGAIN: another process holds a
 * conflicting lock). A request over the rate limits waits in the queue
 * until the buckets have the tokens; it is never failed for that. */
int virtio_blk_init(struct virtio_blk *b, struct vm *vm, unsigned index, const struct virtio_blk_config *cfg,
		    char *msg, size_t msglen) __attribute__((warn_unused_result));

void virtio_blk_destroy(struct virtio_blk *b);

#endif
