/* virtio-blk's asynchronous I/O: one io_uring per disk, driven by the
 * device's worker thread. The ring is made before the lock-down and then
 * narrowed for good (IORING_REGISTER_RESTRICTIONS): only READV, WRITEV and
 * FSYNC (no FALLOCATE: the restrictions cannot check its mode, so discards
 * and writes of zeroes are system calls seccomp checks), only on the disk image (registered file 0, IOSQE_FIXED_FILE
 * required), no further registration. Completions signal an eventfd the
 * worker polls. Each request in flight owns a slot holding its parsed
 * request (iovecs into guest RAM) and the chain's head. */
#ifndef KFV_DEVICES_VIRTIO_BLK_URING_H
#define KFV_DEVICES_VIRTIO_BLK_URING_H

#include <stdbool.h>
#include <stdint.h>

#include "blk_req.h"

/* One request in flight. */
struct blk_io {
	struct blk_req req;
	uint16_t head;     /* the chain to return */
	uint32_t gen;      /* the device's reset generation at submission */
	uint32_t slot;
};

struct blk_uring;

/* Sets up a ring of `depth` entries (and as many slots) for image_fd.
 * Returns 0 or a negative errno (io_uring missing, disabled by sysctl or
 * refused: the caller falls back to synchronous I/O). */
int blk_uring_open(struct blk_uring **out, int image_fd, unsigned depth) __attribute__((warn_unused_result));

/* Frees the ring; the caller has made sure nothing is in flight (the
 * worker that submitted has exited, or blk_uring_wait() drained it). */
void blk_uring_close(struct blk_uring *u);

/* The eventfd signalled on each completion (non-blocking). */
int blk_uring_eventfd(const struct blk_uring *u);

/* Empties the eventfd; call before blk_uring_reap() so that a completion
 * arriving in between wakes the worker again. */
void blk_uring_clear_event(struct blk_uring *u);

/* A free slot, or NULL when `depth` requests are in flight or queued. */
struct blk_io *blk_uring_get(struct blk_uring *u);

/* Gives back a slot from blk_uring_get() that was not queued. */
void blk_uring_put(struct blk_uring *u, struct blk_io *io);

/* Queues io->req (IN: READV, OUT: WRITEV at req.sector; FLUSH:
 * FSYNC with IORING_FSYNC_DATASYNC and IOSQE_IO_DRAIN, so it starts only
 * once every request submitted before it has completed). Submitted by
 * the next blk_uring_submit(). */
void blk_uring_queue(struct blk_uring *u, struct blk_io *io);

/* Submits what is queued. Returns 0 or a negative errno; on an error
 * what was not taken stays queued and the next call submits it. */
int blk_uring_submit(struct blk_uring *u) __attribute__((warn_unused_result));

/* Calls done(ctx, io, res) for each completion (res: bytes moved or a
 * negative errno) and frees the slot after it returns. Returns the count. */
unsigned blk_uring_reap(struct blk_uring *u, void (*done)(void *ctx, struct blk_io *io, int res), void *ctx);

/* Blocks until at least one completion is ready (for the inline mode of
 * unit tests, which has no worker). Returns 0 or a negative errno. */
int blk_uring_wait(struct blk_uring *u) __attribute__((warn_unused_result));

/* Requests submitted or queued and not yet reaped. */
unsigned blk_uring_inflight(const struct blk_uring *u);

#endif
