/* The virtio-mmio transport, version 2 (modern only, VIRTIO_F_VERSION_1
 * required), per virtio 1.2 §4.2.2. It owns everything between the guest
 * and a device: the register window on the MMIO bus, feature negotiation,
 * the status state machine, queue setup, notifications (an ioeventfd when
 * KVM gives one, else the MMIO exit), interrupts (irqfd, else
 * KVM_IRQ_LINE), reset, and the device's worker thread. Devices see
 * validated chains only: virtio_mmio_pop() is the one way to get a request
 * and it goes through virtq_pop(). */
#ifndef KFV_DEVICES_VIRTIO_MMIO_H
#define KFV_DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../../vmm/agent.h"
#include "queue.h"

struct vm;
struct virtio_mmio;

#define VIRTIO_MMIO_WINDOW     0x1000
#define VIRTIO_MMIO_FIRST_GSI  5    /* GSI 4 is COM1 */
#define VIRTIO_MMIO_MAX_DEVS   16
#define VIRTIO_MMIO_MAX_QUEUES 2
#define VIRTIO_MMIO_VENDOR     0x0046564b /* "KVF\0" read as little-endian bytes */

/* What a device tells the transport. Callbacks run with the transport's
 * lock held, so they never race a reset or each other. */
struct virtio_dev_ops {
	const char *name;       /* "virtio-rng": the bus range and agent name */
	uint32_t device_id;
	unsigned nr_queues;     /* 1..VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;     /* QueueNumMax, a power of two <= VQ_MAX_SIZE */
	uint64_t features;      /* offered; VIRTIO_F_VERSION_1 and VIRTIO_F_EVENT_IDX are always added */
	uint32_t config_size;   /* bytes of device config space at 0x100 */
	/* Config space access; off + len <= config_size is guaranteed. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	/* NULL: config space is read-only and writes are refused. */
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* Serves available requests; called only while DRIVER_OK is set and
	 * DEVICE_NEEDS_RESET is not. */
	void (*process)(struct virtio_mmio *t, void *dev);
	/* Drops all device state that depends on the driver (may be NULL). */
	void (*reset)(void *dev);
	/* While the queues' agent says AGENT_DENY: answers a validated chain
	 * of queue q without serving it, touching nothing of the guest's but
	 * an error status (blk: VIRTIO_BLK_S_IOERR in the status byte), and
	 * returns the used length. NULL: the chain comes back with length 0. */
	uint32_t (*refuse)(void *dev, unsigned q, const struct vq_chain *c);
	/* Queues (bit q) a denied device leaves alone instead: the driver's
	 * buffers stay queued, as if the device had none (net RX). */
	uint32_t deny_holds;
};

struct virtio_mmio_stats {
	_Atomic uint64_t notifies;
	_Atomic uint64_t requests;  /* chains served */
	_Atomic uint64_t bytes;     /* bytes the device moved for the guest */
	_Atomic uint64_t io_errors; /* requests the device failed on its own account */
	_Atomic uint64_t refused[VQ_NR_ERRORS + 1]; /* by vq_result class */
	_Atomic uint64_t bad_register; /* register accesses refused */
	_Atomic uint64_t needs_reset;
	_Atomic uint64_t resets;
	_Atomic uint64_t throttled;
	_Atomic uint64_t denied;    /* chains refused under AGENT_DENY */
	_Atomic uint64_t agent_resets; /* DEVICE_NEEDS_RESET set for AGENT_RESET */
};

struct virtio_mmio {
	struct vm *vm;
	const struct virtio_dev_ops *ops;
	void *dev;
	unsigned index;
	uint64_t base;
	unsigned gsi;
	struct agent *agent; /* the bus range's agent ("virtio-blk0"): register refusals count there */
	struct agent *vq_agent; /* the queues' agent ("virtio-blk0-q", AGENT_KIND_VIRTQ) */
	char name[AGENT_NAME_MAX]; /* ops->name and the device's number among its kind in this VM */
	pthread_mutex_t lock;

	/* Register state (guarded by lock). */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t int_status;
	struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
	bool irq_pending;
	bool requeued[VIRTIO_MMIO_MAX_QUEUES]; /* the next pop is a chain virtio_mmio_unpop() put back */
	struct vq_chain chain; /* scratch for virtio_mmio_pop() */

	/* Worker. */
	int kick_fd;        /* ioeventfd on QueueNotify, or a plain eventfd */
	bool kick_is_ioeventfd;
	int irq_fd;         /* irqfd, or -1 for KVM_IRQ_LINE */
	int stop_fd;
	int timer_fd;       /* re-runs process() after a rate-limit wait */
	int extra_fd;       /* a device's own fd to watch (tap), or -1 */
	_Atomic bool extra_paused; /* stop watching extra_fd until the next notify */
	pthread_t thread;
	bool thread_started;
	uint64_t busy_poll_ns; /* after each pass, poll the rings this long (--nohype), 0: never */
	uint16_t polled_avail[VIRTIO_MMIO_MAX_QUEUES]; /* avail.idx the busy poll last saw */
	bool registered;

	struct virtio_mmio_stats stats;
};

/* Sets up device `index` (window KFV_VIRTIO_MMIO_BASE + index * 4 KiB, GSI
 * 5 + index), registers its window on the VM's MMIO bus (agent NAME, e.g.
 * "virtio-blk0": ops->name and the count of devices of the same id the VM
 * had before it) and the queues' agent (NAME-q, AGENT_KIND_VIRTQ). Until
 * virtio_mmio_start() the device works inline on the vCPU thread. */
int virtio_mmio_init(struct virtio_mmio *t, struct vm *vm, unsigned index, const struct virtio_dev_ops *ops,
		     void *dev) __attribute__((warn_unused_result));

/* Creates the ioeventfd (falls back to MMIO exits), the irqfd (falls back
 * to KVM_IRQ_LINE) and the worker thread. With busy_poll_ns, the worker
 * keeps watching the rings that long after each pass, the driver told not
 * to notify meanwhile: a steady stream of requests then makes no
 * notification exits, at the price of a host CPU spinning (NoHype mode,
 * where the VM has cores of its own). */
int virtio_mmio_start(struct virtio_mmio *t, uint64_t busy_poll_ns) __attribute__((warn_unused_result));

/* Stops the worker and releases every fd; safe on a never-started or
 * zeroed transport, and more than once. */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* MMIO handlers (also what the bus calls). */
int virtio_mmio_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
int virtio_mmio_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);

/* For devices, from process(): the next validated chain of queue q in
 * *c, returning true, or false when there is none. Each chain walked is
 * an access on the queues' agent (bytes: the chain's buffers). Refused
 * chains are answered (length 0), counted (agent anomalies) and logged
 * here; a broken queue sets DEVICE_NEEDS_RESET and returns false. Under
 * AGENT_DENY chains are answered through ops->refuse and never returned;
 * an AGENT_RESET is carried out here too. */
bool virtio_mmio_pop(struct virtio_mmio *t, unsigned q, enum vq_dir dir, struct vq_chain **c);

/* Returns a served chain with `len` bytes written; the interrupt is sent
 * when process() returns. */
void virtio_mmio_complete(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t len);

/* Puts back the last chain virtio_mmio_pop() returned on queue q, unserved:
 * the next pop validates and returns it again (not counted twice). */
void virtio_mmio_unpop(struct virtio_mmio *t, unsigned q);

/* A rate limiter holds the last chain of queue q back: puts it back
 * (virtio_mmio_unpop), counts it throttled (stats and the queues' agent)
 * and has process() called again after ns nanoseconds. */
void virtio_mmio_throttle(struct virtio_mmio *t, unsigned q, uint64_t ns);

/* The device refused a valid chain on its own grounds (a write to a
 * read-only disk, an unknown request type, a malformed request): counted
 * on the queues' agent. */
static inline void virtio_mmio_reject(struct virtio_mmio *t)
{
	if (t->vq_agent)
		agent_reject(t->vq_agent);
}

/* Stops watching extra_fd until the driver's next notify (a device with
 * nowhere to put what the fd has, e.g. net RX without buffers). */
static inline void virtio_mmio_pause_extra(struct virtio_mmio *t)
{
	atomic_store_explicit(&t->extra_paused, true, memory_order_relaxed);
}

/* Asks the worker to call process() again after ns nanoseconds (not
 * counted: a back-end that could not take the request yet). */
void virtio_mmio_retry_after(struct virtio_mmio *t, uint64_t ns);

/* True when the driver accepted feature bit `bit`. */
static inline bool virtio_mmio_has(const struct virtio_mmio *t, unsigned bit)
{
	return (t->driver_features >> bit) & 1;
}

/* Prints one line per device that exists: requests, bytes, refusals by
 * class, resets. */
void virtio_mmio_print_summary(FILE *out);

/* Window and GSI of device `index`, as virtio_mmio_init() assigns them. */
static inline uint64_t virtio_mmio_base(unsigned index) { return 0xd0000000ULL + (uint64_t)index * VIRTIO_MMIO_WINDOW; }
static inline unsigned virtio_mmio_gsi(unsigned index) { return VIRTIO_MMIO_FIRST_GSI + index; }

#endif
