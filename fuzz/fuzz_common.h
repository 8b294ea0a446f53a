/* Shared by the harnesses: the fuzzer's input becomes a small guest whose
 * RAM holds a queue. Byte 0 picks the queue size (a power of two up to
 * 256), byte 1 the options (bit 0 indirect negotiated, bits 1-2 the
 * direction rule), and the rest is copied over guest RAM from address 0:
 * descriptor table at 0x0000, avail ring at 0x1000, used ring at 0x2000,
 * anything else (buffers, indirect tables) from 0x3000 on. */
#ifndef KFV_FUZZ_COMMON_H
#define KFV_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/virtio/queue.h"

#define FZ_RAM 0x10000

struct fz {
	uint8_t ram[FZ_RAM] __attribute__((aligned(4096)));
	struct guest_mem gm;
	struct virtq q;
	bool indirect;
	enum vq_dir dir;
};

static inline int fz_setup(struct fz *f, const uint8_t *data, size_t size)
{
	if (size < 2)
		return -1;
	memset(f->ram, 0, sizeof(f->ram));
	gm_init_from_buffer(&f->gm, f->ram, FZ_RAM);
	memset(&f->q, 0, sizeof(f->q));
	f->q.size = (uint16_t)(1u << (data[0] % 9));
	f->q.max_size = VQ_MAX_SIZE;
	f->q.desc = 0;
	f->q.avail = 0x1000;
	f->q.used = 0x2000;
	f->q.ready = true;
	f->indirect = data[1] & 1;
	f->dir = (enum vq_dir)((data[1] >> 1) & 3);
	size -= 2;
	memcpy(f->ram, data + 2, size < FZ_RAM ? size : FZ_RAM);
	return 0;
}

#endif
