/* virtio-blk request parsing (virtio 1.2 §5.2.6), kept apart from the
 * I/O so it can be unit-tested and fuzzed on fabricated chains. The chain
 * has already been through virtq_pop(): every buffer lies in guest RAM. */
#ifndef KFV_DEVICES_VIRTIO_BLK_REQ_H
#define KFV_DEVICES_VIRTIO_BLK_REQ_H

#include <stdint.h>
#include <sys/uio.h>

#include "queue.h"

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* The flags of a discard / write-zeroes segment (§5.2.6). */
#define VIRTIO_BLK_WZ_F_UNMAP 1u

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define BLK_SECTOR 512ULL
#define BLK_MAX_SEGS VQ_MAX_SIZE
#define BLK_DWZ_SEG_BYTES 16  /* struct virtio_blk_discard_write_zeroes */
#define BLK_DWZ_MAX_SEGS  16  /* the most segments a request can carry here */

/* One range of a discard or write-zeroes request, copied out of the
 * guest's buffer (read once) and checked. */
struct blk_dwz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* What a disk takes: its size, and what the driver negotiated and was
 * told in config space. A *_seg of 0 refuses that request type. */
struct blk_limits {
	uint64_t capacity; /* sectors */
	uint32_t max_discard_sectors, max_discard_seg;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
};

struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;      /* the last writable byte of the chain */
	unsigned nr_dwz;      /* DISCARD / WRITE_ZEROES: ranges in dwz */
	struct blk_dwz_seg dwz[BLK_DWZ_MAX_SEGS];
	struct iovec iov[BLK_MAX_SEGS];
	unsigned nr_iov;
	uint64_t data_len;    /* bytes covered by iov */
};

/* Fills r from chain c for a disk with limits lim. Returns
 *   VIRTIO_BLK_S_OK     a request to carry out (IN/OUT: inside the disk,
 *                       a whole number of sectors; GET_ID: iov holds at
 *                       least 1 byte; DISCARD/WRITE_ZEROES: 1 to max_*_seg
 *                       ranges in r->dwz, each of 1 to max_*_sectors
 *                       sectors inside the disk, flags valid),
 *   VIRTIO_BLK_S_IOERR  malformed or out of range: answer with IOERR,
 *   VIRTIO_BLK_S_UNSUPP an unknown type, one not negotiated, an unknown
 *                       segment flag, or UNMAP on a discard (§5.2.6.2),
 *   -1                  no status byte to answer in (answer length 0).
 * r->status is set whenever the result is not -1. */
int blk_parse(const struct vq_chain *c, const struct blk_limits *lim, struct blk_req *r);

/* True for the request types that change the disk. */
static inline int blk_req_writes(const struct blk_req *r)
{
	return r->type == VIRTIO_BLK_T_OUT || r->type == VIRTIO_BLK_T_DISCARD ||
	       r->type == VIRTIO_BLK_T_WRITE_ZEROES;
}

/* Bytes a request costs a bandwidth limit: the data of IN and OUT, the
 * range a WRITE_ZEROES writes (it can be zeros written one by one);
 * nothing for the others. */
uint64_t blk_req_cost(const struct blk_req *r);

#endif
