/* virtio-blk (virtio 1.2 §5.2) over a raw image: read, write, flush
 * (fdatasync), GET_ID. The image is opened read-only for a read-only disk
 * and locked with an OFD lock (write lock, or read lock when read-only),
 * so two VMs cannot both write one image. I/O runs on the device's worker
 * thread with preadv/pwritev straight into guest memory. */
#ifndef KFV_DEVICES_VIRTIO_BLK_H
#define KFV_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

#include "blk_req.h"
#include "mmio.h"

struct virtio_blk {
	struct virtio_mmio t;
	struct virtio_dev_ops ops; /* per disk: the RO feature differs */
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[24];
	struct blk_req req;
};

/* Opens and locks the image and creates the device. Returns 0 or a
 * negative errno with msg saying why (-EAGAIN: another process holds a
 * conflicting lock). */
int virtio_blk_init(struct virtio_blk *b, struct vm *vm, unsigned index, const char *path, bool read_only,
		    const char *id, char *msg, size_t msglen) __attribute__((warn_unused_result));

void virtio_blk_destroy(struct virtio_blk *b);

#endif
