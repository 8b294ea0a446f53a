/* A fabricated guest for virtqueue tests: 1 MiB of "RAM" in a buffer,
 * one queue of 8 at fixed addresses, and helpers that write descriptors
 * and avail entries the way a driver (or an attacker) would. */
#ifndef KFV_TEST_VIRTIO_FIXTURE_H
#define KFV_TEST_VIRTIO_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"
#include "vmm/guest_mem.h"

#define FX_RAM   (1u << 20)
#define FX_DESC  0x1000ULL
#define FX_AVAIL 0x2000ULL
#define FX_USED  0x3000ULL
#define FX_IND   0x4000ULL /* an indirect table */
#define FX_BUF   0x10000ULL

struct fx {
	uint8_t *ram;
	struct guest_mem gm;
	struct virtq q;
	uint16_t avail_idx;
};

static inline void fx_init(struct fx *f, uint16_t size)
{
	f->ram = aligned_alloc(4096, FX_RAM);
	memset(f->ram, 0, FX_RAM);
	gm_init_from_buffer(&f->gm, f->ram, FX_RAM);
	memset(&f->q, 0, sizeof(f->q));
	f->q.size = size;
	f->q.max_size = VQ_MAX_SIZE;
	f->q.desc = FX_DESC;
	f->q.avail = FX_AVAIL;
	f->q.used = FX_USED;
	f->q.ready = true;
	f->avail_idx = 0;
}

static inline void fx_free(struct fx *f)
{
	free(f->ram);
}

static inline void fx_desc_at(struct fx *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			      uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(f->ram + table + 16ULL * i, &d, sizeof(d));
}

static inline void fx_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	fx_desc_at(f, FX_DESC, i, addr, len, flags, next);
}

static inline void fx_avail(struct fx *f, uint16_t head)
{
	uint16_t idx = f->avail_idx;

	memcpy(f->ram + FX_AVAIL + 4 + 2ULL * (idx % f->q.size), &head, 2);
	f->avail_idx++;
	memcpy(f->ram + FX_AVAIL + 2, &f->avail_idx, 2);
}

static inline void fx_set_avail_idx(struct fx *f, uint16_t idx)
{
	f->avail_idx = idx;
	memcpy(f->ram + FX_AVAIL + 2, &idx, 2);
}

static inline uint16_t fx_used_idx(const struct fx *f)
{
	uint16_t v;

	memcpy(&v, f->ram + FX_USED + 2, 2);
	return v;
}

static inline void fx_used_elem(const struct fx *f, unsigned slot, uint32_t *id, uint32_t *len)
{
	memcpy(id, f->ram + FX_USED + 4 + 8ULL * slot, 4);
	memcpy(len, f->ram + FX_USED + 8 + 8ULL * slot, 4);
}

#endif
