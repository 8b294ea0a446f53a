/* Split virtqueues and the one descriptor-chain validator every virtio
 * device goes through. Nothing a guest writes into a ring is used before
 * virtq_pop() has checked it: the avail index, the head, every descriptor
 * (count bounded by the queue size, loops, addresses and lengths inside
 * guest RAM without overflow, indirect tables, direction and ordering).
 * Used-ring writes go through gm_ptr() as well. */
#ifndef KFV_DEVICES_VIRTIO_QUEUE_H
#define KFV_DEVICES_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../vmm/guest_mem.h"

#define VQ_MAX_SIZE 256 /* the largest QueueNumMax any kfv device offers */

struct virtq {
	uint16_t size;      /* QueueNum: a power of two, 1..max_size */
	uint16_t max_size;  /* QueueNumMax */
	bool ready;
	bool event_idx;     /* VIRTIO_F_EVENT_IDX negotiated: used_event / avail_event */
	uint64_t desc, avail, used; /* guest-physical ring addresses */
	uint16_t last_avail; /* next avail ring slot the device consumes */
	uint16_t used_idx;   /* next used ring slot the device fills */
	uint16_t signalled_used; /* used_idx when the driver was last considered for an interrupt */
	bool busy_polled;    /* the device polls the ring: the driver is told not to notify */
};

/* The event-index test of virtio 1.2 §2.7.10 (vring_need_event): true
 * when moving an index from old to new_idx passes `event`, i.e. event is
 * in [old, new_idx) counted modulo 2^16, so it holds across wrap-around.
 * Nothing is passed when old == new_idx. */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* One guest buffer of a validated chain: host pointer and length, already
 * known to lie inside guest RAM. */
struct vq_seg {
	uint8_t *host;
	uint64_t gpa;
	uint32_t len;
	bool device_writes;
};

struct vq_chain {
	uint16_t head;
	unsigned nr_segs;  /* readable ones first, then writable ones */
	unsigned nr_readable;
	uint64_t readable_bytes, writable_bytes;
	struct vq_seg seg[VQ_MAX_SIZE];
};

/* Which buffers a device accepts in a chain. */
enum vq_dir {
	VQ_DIR_ANY,          /* readable then writable, either part may be empty */
	VQ_DIR_WRITE_ONLY,   /* only device-writable buffers (rng, net rx) */
	VQ_DIR_READ_ONLY,    /* only device-readable buffers (net tx) */
	VQ_DIR_READ_WRITE,   /* at least one readable, then at least one writable (blk) */
};

/* What virtq_pop() found. Chain errors (> VQ_EMPTY, < VQ_E_FATAL) consumed
 * the chain: the device must fail that request (virtq_push with length 0)
 * and go on. Fatal errors leave the queue unusable until reset: the
 * transport sets DEVICE_NEEDS_RESET. */
enum vq_result {
	VQ_CHAIN = 1,        /* c holds a valid chain */
	VQ_EMPTY = 0,        /* nothing available */
	VQ_E_OOB = -1,       /* a buffer or indirect table outside guest RAM, or wrapping */
	VQ_E_LOOP = -2,      /* a descriptor visited twice */
	VQ_E_TOO_LONG = -3,  /* more descriptors than the queue size */
	VQ_E_INDIRECT = -4,  /* indirect not negotiated, nested, with NEXT, not at head, bad length */
	VQ_E_ORDER = -5,     /* a readable buffer after a writable one */
	VQ_E_DIRECTION = -6, /* a direction the device does not accept */
	VQ_E_NEXT = -7,      /* a next index outside the table */
	VQ_E_FATAL = -8,     /* below this: the queue itself is broken */
	VQ_E_AVAIL_IDX = -9, /* avail.idx ran more than the queue size ahead */
	VQ_E_HEAD = -10,     /* a head index outside the descriptor table */
	VQ_E_RING = -11,     /* the rings themselves are not in guest RAM */
};
#define VQ_NR_ERRORS 11

/* A short name for an error class ("loop", "oob", ...). */
const char *vq_error_name(int err);

/* Checks a queue the driver is about to enable: size a power of two and
 * at most max_size, rings aligned (16, 2, 4) and wholly inside guest RAM.
 * Returns 0 or -EINVAL. */
int virtq_check_config(const struct virtq *q, const struct guest_mem *gm);

/* Busy polling (--nohype): asks the driver not to notify (an avail_event
 * behind last_avail is never passed), also from virtq_pop() on an empty
 * ring until virtq_rearm(), and says whether avail.idx moved since *seen,
 * which it updates. Needs VIRTIO_F_EVENT_IDX; false without it, or for a
 * queue that is not ready. */
bool virtq_poll_avail(struct virtq *q, const struct guest_mem *gm, uint16_t *seen);

/* Ends a busy poll: asks the driver to notify again for what it adds
 * after last_avail. */
void virtq_rearm(struct virtq *q, const struct guest_mem *gm);

/* Takes the next available chain, validates all of it and fills c. With
 * event_idx, a queue found empty first publishes avail_event = the next
 * index the device will take (the driver notifies when it passes it),
 * then looks again, so a buffer made available in between is not left
 * waiting for a notification the driver chose not to send. While chains
 * are being taken avail_event is left behind and the driver, seeing the
 * device busy, need not notify (§2.7.10). */
int virtq_pop(struct virtq *q, const struct guest_mem *gm, bool indirect_ok, enum vq_dir dir,
	      struct vq_chain *c);

/* Puts (head, len) in the used ring and publishes it. Returns 0 or
 * VQ_E_RING. */
int virtq_push(struct virtq *q, const struct guest_mem *gm, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt for what was pushed since the
 * last call: with event_idx, when used_idx has passed the driver's
 * used_event since then; otherwise unless the driver set
 * VIRTQ_AVAIL_F_NO_INTERRUPT. */
bool virtq_should_notify(struct virtq *q, const struct guest_mem *gm);

/* Copies up to len bytes into the chain's writable buffers, starting
 * `skip` bytes in; returns how many were copied. */
uint64_t vq_chain_write(const struct vq_chain *c, uint64_t skip, const void *src, uint64_t len);

/* Copies up to len bytes out of the chain's readable buffers, starting
 * `skip` bytes in; returns how many were copied. */
uint64_t vq_chain_read(const struct vq_chain *c, uint64_t skip, void *dst, uint64_t len);

#endif
