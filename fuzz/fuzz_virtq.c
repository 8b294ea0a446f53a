/* libFuzzer harness for the descriptor-chain validator: pops every chain
 * the input makes available, checks what a valid chain promises (every
 * buffer inside RAM, readable before writable, no more buffers than the
 * queue size) and returns each one through the used ring. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz f;
static struct vq_chain chain;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_setup(&f, data, size))
		return 0;
	for (unsigned n = 0; n < 2 * VQ_MAX_SIZE; n++) {
		int r = virtq_pop(&f.q, &f.gm, f.indirect, f.dir, &chain);

		if (r == VQ_EMPTY || r < VQ_E_FATAL)
			break;
		if (r == VQ_CHAIN) {
			bool seen_w = false;

			if (chain.nr_segs == 0 || chain.nr_segs > f.q.size)
				abort();
			for (unsigned i = 0; i < chain.nr_segs; i++) {
				const struct vq_seg *s = &chain.seg[i];

				if (s->host < f.ram || s->len > FZ_RAM || s->host + s->len > f.ram + FZ_RAM)
					abort();
				if (!s->device_writes && seen_w)
					abort();
				seen_w |= s->device_writes;
				if (s->len) /* touch both ends: ASan checks them */
					s->host[0] = s->host[s->len - 1];
			}
		}
		(void)virtq_push(&f.q, &f.gm, chain.head, 0);
	}
	return 0;
}
