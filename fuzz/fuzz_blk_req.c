/* libFuzzer harness for the virtio-blk request parser: every chain the
 * validator accepts goes through blk_parse() for a 64-sector disk that
 * takes discard (up to 4 ranges) and write zeroes (up to 2); an accepted
 * IN/OUT request must be inside the disk and its iovecs inside guest RAM,
 * an accepted DISCARD/WRITE_ZEROES within its limits, each range inside
 * the disk with valid flags. */
#include <stdlib.h>

#include "devices/virtio/blk_req.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz f;
static struct vq_chain chain;
static struct blk_req req;

static const struct blk_limits lim = {
	.capacity = 64,
	.max_discard_sectors = 32, .max_discard_seg = 4,
	.max_write_zeroes_sectors = 16, .max_write_zeroes_seg = 2,
};

static void check_dwz(const struct blk_req *r)
{
	bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;

	if (r->nr_dwz == 0 || r->nr_dwz > (wz ? lim.max_write_zeroes_seg : lim.max_discard_seg))
		abort();
	for (unsigned i = 0; i < r->nr_dwz; i++) {
		const struct blk_dwz_seg *s = &r->dwz[i];

		if (s->num_sectors == 0 || s->num_sectors > (wz ? lim.max_write_zeroes_sectors : lim.max_discard_sectors))
			abort();
		if (s->sector > lim.capacity || s->num_sectors > lim.capacity - s->sector)
			abort();
		if (s->flags & ~(wz ? VIRTIO_BLK_WZ_F_UNMAP : 0u))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t capacity = lim.capacity;

	if (fz_setup(&f, data, size))
		return 0;
	f.dir = VQ_DIR_READ_WRITE;
	for (unsigned n = 0; n < 2 * VQ_MAX_SIZE; n++) {
		int r = virtq_pop(&f.q, &f.gm, f.indirect, f.dir, &chain);

		if (r == VQ_EMPTY || r < VQ_E_FATAL)
			break;
		if (r == VQ_CHAIN) {
			int st = blk_parse(&chain, &lim, &req);

			if (st >= 0 && (req.status < f.ram || req.status >= f.ram + FZ_RAM))
				abort();
			if (st == 0 && (req.type == 0 || req.type == 1)) {
				if (req.data_len % 512 || req.sector > capacity ||
				    req.data_len / 512 > capacity - req.sector)
					abort();
			}
			if (st == 0 && (req.type == VIRTIO_BLK_T_DISCARD || req.type == VIRTIO_BLK_T_WRITE_ZEROES))
				check_dwz(&req);
			for (unsigned i = 0; st == 0 && i < req.nr_iov; i++) {
				uint8_t *b = req.iov[i].iov_base;

				if (b < f.ram || b + req.iov[i].iov_len > f.ram + FZ_RAM)
					abort();
				b[0] = b[req.iov[i].iov_len - 1];
			}
		}
		(void)virtq_push(&f.q, &f.gm, chain.head, 0);
	}
	return 0;
}
