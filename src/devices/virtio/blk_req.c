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

/* Whole sectors [sector, sector + n) inside a disk of `capacity`, without
 * overflow whatever the guest wrote. */
static bool in_disk(uint64_t sector, uint64_t n, uint64_t capacity)
{
	return sector <= capacity && n <= capacity - sector;
}

/* DISCARD and WRITE_ZEROES: after the header, the device-readable part is
 * nothing but 16-byte segments {le64 sector, le32 num_sectors, le32 flags};
 * the writable part is the status byte alone. Each segment is copied out
 * once and checked here. */
static int parse_dwz(const struct vq_chain *c, const struct blk_limits *lim, struct blk_req *r)
{
	bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint32_t max_seg = wz ? lim->max_write_zeroes_seg : lim->max_discard_seg;
	uint32_t max_sectors = wz ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;
	uint64_t payload = c->readable_bytes - sizeof(struct hdr), n;

	if (max_seg == 0)
		return VIRTIO_BLK_S_UNSUPP; /* not negotiated */
	if (c->writable_bytes != 1 || payload == 0 || payload % BLK_DWZ_SEG_BYTES)
		return VIRTIO_BLK_S_IOERR;
	n = payload / BLK_DWZ_SEG_BYTES;
	if (n > max_seg || n > BLK_DWZ_MAX_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (unsigned i = 0; i < n; i++) {
		struct blk_dwz_seg *s = &r->dwz[i];
		uint8_t raw[BLK_DWZ_SEG_BYTES];

		if (vq_chain_read(c, sizeof(struct hdr) + (uint64_t)i * sizeof(raw), raw, sizeof(raw)) != sizeof(raw))
			return VIRTIO_BLK_S_IOERR;
		memcpy(&s->sector, raw, 8);
		memcpy(&s->num_sectors, raw + 8, 4);
		memcpy(&s->flags, raw + 12, 4);
		r->nr_dwz = i + 1;
		/* Unknown flags, and UNMAP on a discard, are UNSUPP (§5.2.6.2). */
		if ((s->flags & ~VIRTIO_BLK_WZ_F_UNMAP) || (!wz && (s->flags & VIRTIO_BLK_WZ_F_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (s->num_sectors == 0 || s->num_sectors > max_sectors || !in_disk(s->sector, s->num_sectors, lim->capacity))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

uint64_t blk_req_cost(const struct blk_req *r)
{
	uint64_t bytes = 0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return r->data_len;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (unsigned i = 0; i < r->nr_dwz && i < BLK_DWZ_MAX_SEGS; i++)
			bytes += (uint64_t)r->dwz[i].num_sectors * BLK_SECTOR;
		return bytes;
	default:
		return 0;
	}
}

int blk_parse(const struct vq_chain *c, const struct blk_limits *lim, struct blk_req *r)
{
	const struct vq_seg *last;
	struct hdr h;
	uint64_t sectors;

	memset(r, 0, offsetof(struct blk_req, dwz));
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
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_dwz(c, lim, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	/* IN and OUT: whole sectors, inside the disk, no overflow. */
	if (r->data_len % BLK_SECTOR)
		return VIRTIO_BLK_S_IOERR;
	sectors = r->data_len / BLK_SECTOR;
	if (!in_disk(h.sector, sectors, lim->capacity))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}
