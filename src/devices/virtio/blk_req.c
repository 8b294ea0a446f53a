#include "blk_req.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Adds the part [skip, skip + len) of the chain's buffers of one direction
 * to r->iov. */
static void add_iov(const struct vq_chain *c, bool writable, uint64_t skip, uint64_t len, struct blk_req *r)
{
	for (unsigned i = 0; i < c->nr_segs && len; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint64_t n;

		if (s->device_writes != writable)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip < len ? s->len - skip : len;
		if (n) {
			r->iov[r->nr_iov].iov_base = s->host + skip;
			r->iov[r->nr_iov].iov_len = n;
			r->nr_iov++;
			r->data_len += n;
		}
		len -= n;
		skip = 0;
	}
}

int blk_parse(const struct vq_chain *c, uint64_t capacity, struct blk_req *r)
{
	const struct vq_seg *last;
	struct hdr h;
	uint64_t sectors;

	memset(r, 0, offsetof(struct blk_req, iov));
	r->nr_iov = 0;
	r->data_len = 0;
	if (c->nr_segs == 0 || c->writable_bytes == 0)
		return -1;
	last = &c->seg[c->nr_segs - 1];
	if (!last->device_writes || last->len == 0)
		return -1; /* the validator puts writable buffers last; be sure */
	r->status = last->host + last->len - 1;
	if (c->readable_bytes < sizeof(h) || vq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_BLK_S_IOERR;
	r->type = h.type;
	r->sector = h.sector;

	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (c->readable_bytes != sizeof(h))
			return VIRTIO_BLK_S_IOERR;
		add_iov(c, true, 0, c->writable_bytes - 1, r);
		break;
	case VIRTIO_BLK_T_OUT:
		if (c->writable_bytes != 1)
			return VIRTIO_BLK_S_IOERR;
		add_iov(c, false, sizeof(h), c->readable_bytes - sizeof(h), r);
		break;
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (c->writable_bytes < 2)
			return VIRTIO_BLK_S_IOERR;
		add_iov(c, true, 0, c->writable_bytes - 1 < VIRTIO_BLK_ID_BYTES ? c->writable_bytes - 1
										: VIRTIO_BLK_ID_BYTES, r);
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	/* IN and OUT: whole sectors, inside the disk, no overflow. */
	if (r->data_len % BLK_SECTOR)
		return VIRTIO_BLK_S_IOERR;
	sectors = r->data_len / BLK_SECTOR;
	if (h.sector > capacity || sectors > capacity - h.sector)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}
