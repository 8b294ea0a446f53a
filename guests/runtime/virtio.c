#include "runtime/virtio.h"

#include "runtime/io.h"
#include "runtime/printf.h"
#include "runtime/string.h"

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_DEV_FEATURES = 0x010, REG_DEV_FEATURES_SEL = 0x014,
	REG_DRV_FEATURES = 0x020, REG_DRV_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_QUEUE_DESC_LO = 0x080, REG_QUEUE_DESC_HI = 0x084,
	REG_QUEUE_DRIVER_LO = 0x090, REG_QUEUE_DRIVER_HI = 0x094,
	REG_QUEUE_DEVICE_LO = 0x0a0, REG_QUEUE_DEVICE_HI = 0x0a4,
};

#define MAGIC 0x74726976
#define WAIT_POLLS 200000000UL

uint32_t virtio_read(const struct vdev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

void virtio_write(const struct vdev *d, uint32_t reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

/* Where a VMM puts its virtio-mmio transports: kfv's windows first (so a
 * guest under kfv never touches an address no device claims), then QEMU's
 * microvm machine (hw/i386/microvm.c: VIRTIO_MMIO_BASE 0xfeb00000, 512
 * bytes per transport, 24 transports; every transport answers the magic,
 * an empty one with device id 0). */
static const struct {
	uint64_t base, stride;
	unsigned count;
} regions[] = {
	{ VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE, VIRTIO_MMIO_MAX },
	{ QEMU_MICROVM_VIRTIO_BASE, QEMU_MICROVM_VIRTIO_STRIDE, QEMU_MICROVM_VIRTIO_MAX },
};

int virtio_find(uint32_t device_id, struct vdev *d)
{
	for (unsigned r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
		for (unsigned i = 0; i < regions[r].count; i++) {
			uint64_t base = regions[r].base + i * regions[r].stride;

			if (mmio_read32(base + REG_MAGIC) != MAGIC)
				break;
			if (mmio_read32(base + REG_VERSION) == 2 && mmio_read32(base + REG_DEVICE_ID) == device_id) {
				d->base = base;
				d->device_id = device_id;
				d->index = i;
				return 0;
			}
		}
	}
	printf("virtio: no device with id %u\n", device_id);
	return -1;
}

void virtio_reset(const struct vdev *d)
{
	virtio_write(d, VIRTIO_REG_STATUS, 0);
	while (virtio_read(d, VIRTIO_REG_STATUS) != 0)
		cpu_relax();
}

int virtio_negotiate(struct vdev *d, uint64_t want)
{
	uint64_t offered;

	virtio_reset(d);
	virtio_write(d, VIRTIO_REG_STATUS, 1);
	virtio_write(d, VIRTIO_REG_STATUS, 3);
	virtio_write(d, REG_DEV_FEATURES_SEL, 0);
	offered = virtio_read(d, REG_DEV_FEATURES);
	virtio_write(d, REG_DEV_FEATURES_SEL, 1);
	offered |= (uint64_t)virtio_read(d, REG_DEV_FEATURES) << 32;
	want = (want | VIRTIO_F_VERSION_1) & offered;
	if (!(want & VIRTIO_F_VERSION_1)) {
		printf("virtio: device %u does not offer VERSION_1\n", d->index);
		return -1;
	}
	virtio_write(d, REG_DRV_FEATURES_SEL, 0);
	virtio_write(d, REG_DRV_FEATURES, (uint32_t)want);
	virtio_write(d, REG_DRV_FEATURES_SEL, 1);
	virtio_write(d, REG_DRV_FEATURES, (uint32_t)(want >> 32));
	virtio_write(d, VIRTIO_REG_STATUS, 0xb);
	if (!(virtio_read(d, VIRTIO_REG_STATUS) & 8)) {
		printf("virtio: device %u refused features %#lx\n", d->index, (unsigned long)want);
		return -1;
	}
	d->features = want;
	return 0;
}

int virtio_queue_setup(struct vdev *d, unsigned qi, struct vq *q, uint16_t size, void *mem)
{
	uint64_t base = (uint64_t)(uintptr_t)mem;

	memset(mem, 0, VQ_MEM_BYTES);
	virtio_write(d, REG_QUEUE_SEL, qi);
	if (virtio_read(d, REG_QUEUE_READY) || virtio_read(d, REG_QUEUE_NUM_MAX) < size) {
		printf("virtio: queue %u of device %u cannot take %u entries\n", qi, d->index, size);
		return -1;
	}
	q->dev = d;
	q->index = qi;
	q->size = size;
	q->desc = mem;
	q->avail = (volatile uint16_t *)(uintptr_t)(base + 0x1000);
	q->used = (volatile uint32_t *)(uintptr_t)(base + 0x2000);
	q->avail_idx = 0;
	q->last_used = 0;
	q->notified_idx = 0;
	q->event_idx = (d->features & VIRTIO_F_EVENT_IDX) != 0;
	virtio_write(d, REG_QUEUE_NUM, size);
	virtio_write(d, REG_QUEUE_DESC_LO, (uint32_t)base);
	virtio_write(d, REG_QUEUE_DESC_HI, (uint32_t)(base >> 32));
	virtio_write(d, REG_QUEUE_DRIVER_LO, (uint32_t)(base + 0x1000));
	virtio_write(d, REG_QUEUE_DRIVER_HI, (uint32_t)((base + 0x1000) >> 32));
	virtio_write(d, REG_QUEUE_DEVICE_LO, (uint32_t)(base + 0x2000));
	virtio_write(d, REG_QUEUE_DEVICE_HI, (uint32_t)((base + 0x2000) >> 32));
	virtio_write(d, REG_QUEUE_READY, 1);
	if (virtio_read(d, REG_QUEUE_READY) != 1) {
		printf("virtio: device %u refused queue %u\n", d->index, qi);
		return -1;
	}
	return 0;
}

void virtio_driver_ok(const struct vdev *d)
{
	virtio_write(d, VIRTIO_REG_STATUS, 0xf);
}

int virtio_open(uint32_t device_id, uint64_t want, struct vdev *d, struct vq *q, uint16_t size, void *mem)
{
	if (virtio_find(device_id, d) || virtio_negotiate(d, want) || virtio_queue_setup(d, 0, q, size, mem))
		return -1;
	virtio_driver_ok(d);
	return 0;
}

void vq_add(struct vq *q, uint16_t head)
{
	q->avail[2 + q->avail_idx % q->size] = head;
	q->avail_idx++;
	/* The ring entry must be visible before the index (x86: stores are
	 * ordered; the compiler must not reorder them either). */
	__asm__ volatile("" ::: "memory");
	q->avail[1] = q->avail_idx;
}

/* vring_need_event(): did moving the index from old to new pass event? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void vq_notify(struct vq *q)
{
	uint16_t old = q->notified_idx;

	/* avail.idx must be visible before avail_event is read: the device
	 * writes avail_event, then reads avail.idx again. */
	__asm__ volatile("mfence" ::: "memory");
	q->notified_idx = q->avail_idx;
	if (q->event_idx) {
		/* The used ring's last field (after {flags, idx} and the entries). */
		uint16_t event = ((volatile uint16_t *)q->used)[2 + 4 * q->size];

		if (!need_event(event, q->avail_idx, old))
			return;
	}
	virtio_write(q->dev, REG_QUEUE_NOTIFY, q->index);
}

void vq_publish(struct vq *q, uint16_t head)
{
	vq_add(q, head);
	vq_notify(q);
}

int vq_wait(struct vq *q, uint32_t *id, uint32_t *len)
{
	for (unsigned long i = 0; i < WAIT_POLLS; i++) {
		uint16_t used_idx = (uint16_t)(q->used[0] >> 16);

		if (used_idx != q->last_used) {
			unsigned slot = q->last_used % q->size;

			__asm__ volatile("" ::: "memory");
			*id = q->used[1 + 2 * slot];
			*len = q->used[2 + 2 * slot];
			q->last_used++;
			return 0;
		}
		cpu_relax();
	}
	printf("virtio: device %u queue %u: no answer\n", q->dev->index, q->index);
	return -1;
}

int virtio_rng_read(struct vq *q, void *buf, uint32_t len)
{
	uint16_t h = (uint16_t)(q->size - 1);
	uint32_t id, got;

	q->desc[h] = (struct vring_desc){ .addr = (uint64_t)(uintptr_t)buf, .len = len,
					  .flags = VRING_DESC_F_WRITE };
	vq_publish(q, h);
	if (vq_wait(q, &id, &got) || id != h)
		return -1;
	return (int)got;
}

int vq_expect_refused(struct vq *q, uint16_t head)
{
	uint32_t id, len;

	vq_publish(q, head);
	if (vq_wait(q, &id, &len))
		return -1;
	if (id != head || len != 0) {
		printf("virtio: chain %u came back as id %u, length %u: not refused\n", head, id, len);
		return -1;
	}
	if (virtio_read(q->dev, VIRTIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET) {
		printf("virtio: device asked for a reset\n");
		return -1;
	}
	return 0;
}
