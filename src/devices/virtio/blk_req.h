/* virtio-blk request parsing (virtio 1.2 §5.2.6), kept apart from the
 * I/O so it can be unit-tested and fuzzed on fabricated chains. The chain
 * has already been through virtq_pop(): every buffer lies in guest RAM. */
#ifndef KFV_DEVICES_VIRTIO_BLK_REQ_H
#define KFV_DEVICES_VIRTIO_BLK_REQ_H

#include <stdint.h>
#include <sys/uio.h>

#include "queue.h"

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define BLK_SECTOR 512ULL
#define BLK_MAX_SEGS VQ_MAX_SIZE

struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;      /* the last writable byte of the chain */
	struct iovec iov[BLK_MAX_SEGS];
	unsigned nr_iov;
	uint64_t data_len;    /* bytes covered by iov */
};

/* Fills r from chain c for a disk of `capacity` sectors. Returns
 *   VIRTIO_BLK_S_OK     a request to carry out (IN/OUT: inside the disk,
 *                       a whole number of sectors; GET_ID: iov holds at
 *                       least 1 byte),
 *   VIRTIO_BLK_S_IOERR  malformed or out of range: answer with IOERR,
 *   VIRTIO_BLK_S_UNSUPP an unknown type,
 *   -1                  no status byte to answer in (answer length 0).
 * r->status is set whenever the result is not -1. */
int blk_parse(const struct vq_chain *c, uint64_t capacity, struct blk_req *r);

#endif
