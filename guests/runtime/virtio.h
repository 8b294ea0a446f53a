/* A small polling virtio-mmio driver (version 2, split virtqueues) for
 * test guests. Devices are found through a documented fixed table rather
 * than ACPI: kfv puts device i's 4 KiB window at 0xd0000000 + i * 0x1000
 * (GSI 5 + i), contiguously from i = 0; QEMU's microvm machine has 24
 * transports of 512 bytes from 0xfeb00000 (so the same guest file runs
 * under both). virtio_find() probes kfv's windows, then QEMU's, in order,
 * stops a table at the first window that does not read the magic "virt",
 * and matches version 2 and the device id. Under QEMU microvm with
 * -kernel, `-global virtio-mmio.force-legacy=false` is needed for
 * version 2 (modern) transports. Interrupts are never used: the driver polls the
 * used ring. All memory is identity-mapped, so a pointer is its guest
 * physical address. Works in ring 0 and ring 3 alike. */
#ifndef GUEST_RUNTIME_VIRTIO_H
#define GUEST_RUNTIME_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_BASE    0xd0000000ULL
#define VIRTIO_MMIO_STRIDE  0x1000ULL
#define VIRTIO_MMIO_MAX     16
#define QEMU_MICROVM_VIRTIO_BASE   0xfeb00000ULL
#define QEMU_MICROVM_VIRTIO_STRIDE 0x200ULL
#define QEMU_MICROVM_VIRTIO_MAX    24

#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG   4

#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_EVENT_IDX     (1ULL << 29)
#define VIRTIO_F_VERSION_1     (1ULL << 32)

#define VIRTIO_STATUS_NEEDS_RESET 0x40

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

/* Register offsets the guests use directly. */
#define VIRTIO_REG_INT_STATUS 0x060
#define VIRTIO_REG_STATUS     0x070
#define VIRTIO_REG_CONFIG     0x100

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Memory for one queue of up to 256 entries: descriptors in the first
 * page, the avail ring in the second, the used ring in the third. */
#define VQ_MEM_BYTES 0x3000

struct vdev {
	uint64_t base;
	uint32_t device_id;
	unsigned index;
	uint64_t features; /* negotiated (virtio_negotiate) */
};

struct vq {
	struct vdev *dev;
	unsigned index;
	uint16_t size;
	struct vring_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size] */
	volatile uint32_t *used;  /* (flags | idx << 16), then {id, len} pairs */
	uint16_t avail_idx;
	uint16_t last_used;
	bool event_idx;        /* VIRTIO_F_EVENT_IDX: notify only past the device's avail_event */
	uint16_t notified_idx; /* avail_idx at the last notification decision */
};

/* Finds the first device with this id. Returns 0 or -1. */
int virtio_find(uint32_t device_id, struct vdev *d);

uint32_t virtio_read(const struct vdev *d, uint32_t reg);
void virtio_write(const struct vdev *d, uint32_t reg, uint32_t v);

/* Writes 0 to Status and checks it reads back 0. */
void virtio_reset(const struct vdev *d);

/* Reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 | want, as far as the
 * device offers them; what was agreed lands in d->features), FEATURES_OK.
 * Returns 0 or -1 (printed why). */
int virtio_negotiate(struct vdev *d, uint64_t want);

/* Sets up queue qi with `size` entries in mem (VQ_MEM_BYTES, 4 KiB
 * aligned, zeroed here). Returns 0 or -1. */
int virtio_queue_setup(struct vdev *d, unsigned qi, struct vq *q, uint16_t size, void *mem);

/* Sets DRIVER_OK. */
void virtio_driver_ok(const struct vdev *d);

/* The three above for a one-queue device: find, negotiate, queue 0,
 * DRIVER_OK. Returns 0 or -1. */
int virtio_open(uint32_t device_id, uint64_t want, struct vdev *d, struct vq *q, uint16_t size, void *mem);

/* Puts head in the avail ring and publishes it, without notifying. */
void vq_add(struct vq *q, uint16_t head);

/* Notifies the device of what vq_add() published since the last call;
 * with VIRTIO_F_EVENT_IDX only when that passed the device's avail_event
 * (virtio 1.2 §2.7.10: a busy device does not need to be told). */
void vq_notify(struct vq *q);

/* vq_add() then vq_notify(). */
void vq_publish(struct vq *q, uint16_t head);

/* Waits for the next used element. Returns 0 with *id and *len, or -1
 * after a bounded number of polls. */
int vq_wait(struct vq *q, uint32_t *id, uint32_t *len);

/* virtio-rng: one request of len bytes through descriptor size-1.
 * Returns the length the device reported, or -1. */
int virtio_rng_read(struct vq *q, void *buf, uint32_t len);

/* For attack guests: publishes head (a chain the caller built) and
 * checks the device answered it with length 0, i.e. refused it, and did
 * not ask for a reset. Returns 0 when it did exactly that. */
int vq_expect_refused(struct vq *q, uint16_t head);

#endif
