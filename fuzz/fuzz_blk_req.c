/* libFuzzer harness for the virtio-blk request parser: every chain the
 * validator accepts goes through blk_parse() for a 64-sector disk; an
 * accepted IN/OUT request must be inside the disk and its iovecs inside
 * guest RAM. */
#include <stdlib.h>

#include "devices/virtio/blk_req.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz f;
static struct vq_chain chain;
static struct blk_req req;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t capacity = 64;

	if (fz_setup(&f, data, size))
		return 0;
	f.dir = VQ_DIR_READ_WRITE;
	for (unsigned n = 0; n < 2 * VQ_MAX_SIZE; n++) {
		int r = virtq_pop(&f.q, &f.gm, f.indirect, f.dir, &chain);

		if (r == VQ_EMPTY || r < VQ_E_FATAL)
			break;
		if (r == VQ_CHAIN) {
			int st = blk_parse(&chain, capacity, &req);

			if (st >= 0 && (req.status < f.ram || req.status >= f.ram + FZ_RAM))
				abort();
			if (st == 0 && (req.type == 0 || req.type == 1)) {
				if (req.data_len % 512 || req.sector > capacity ||
				    req.data_len / 512 > capacity - req.sector)
					abort();
			}
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
