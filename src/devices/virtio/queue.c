#include "queue.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "virtio.h"

/* Ring offsets (§2.7.6, §2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   2
#define AVAIL_RING  4
#define USED_IDX    2
#define USED_RING   4
/* With VIRTIO_F_EVENT_IDX, after the ring entries (§2.7.10). */
#define AVAIL_USED_EVENT(size) (AVAIL_RING + 2ULL * (size))
#define USED_AVAIL_EVENT(size) (USED_RING + 8ULL * (size))

static uint64_t desc_bytes(uint16_t size) { return 16ULL * size; }
static uint64_t avail_bytes(uint16_t size) { return 6ULL + 2ULL * size; }
static uint64_t used_bytes(uint16_t size) { return 6ULL + 8ULL * size; }

const char *vq_error_name(int err)
{
	static const char *const names[VQ_NR_ERRORS + 1] = {
		[1] = "oob", [2] = "loop", [3] = "too-long", [4] = "indirect", [5] = "order",
		[6] = "direction", [7] = "next", [8] = "fatal", [9] = "avail-idx", [10] = "head",
		[11] = "ring",
	};

	if (err >= 0 || -err > VQ_NR_ERRORS)
		return "?";
	return names[-err];
}

int virtq_check_config(const struct virtq *q, const struct guest_mem *gm)
{
	if (q->size == 0 || q->size > q->max_size || (q->size & (q->size - 1)))
		return -EINVAL;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return -EINVAL;
	if (!gm_ptr(gm, q->desc, desc_bytes(q->size)) || !gm_ptr(gm, q->avail, avail_bytes(q->size)) ||
	    !gm_ptr(gm, q->used, used_bytes(q->size)))
		return -EINVAL;
	return 0;
}

/* The guest may change its rings at any moment: every field is read once,
 * with a single load, into VMM memory before it is checked or used. */
static int load_u16(const struct guest_mem *gm, uint64_t gpa, uint16_t *v, int acquire)
{
	uint16_t *p = gm_ptr(gm, gpa, 2);

	if (!p)
		return VQ_E_RING;
	*v = __atomic_load_n(p, acquire ? __ATOMIC_ACQUIRE : __ATOMIC_RELAXED);
	return 0;
}

static int load_desc(const struct guest_mem *gm, uint64_t table, uint32_t i, struct virtq_desc *d)
{
	const volatile uint8_t *p = gm_ptr(gm, table + 16ULL * i, 16);

	if (!p)
		return VQ_E_OOB;
	memcpy(d, (const void *)p, sizeof(*d));
	return 0;
}

struct walk {
	struct vq_chain *c;
	const struct guest_mem *gm;
	enum vq_dir dir;
	unsigned limit;     /* descriptors allowed in the whole chain */
	bool seen_writable;
};

static int add_buffer(struct walk *w, const struct virtq_desc *d)
{
	bool wr = d->flags & VIRTQ_DESC_F_WRITE;
	struct vq_chain *c = w->c;
	struct vq_seg *s;
	void *host;

	if (c->nr_segs >= w->limit)
		return VQ_E_TOO_LONG;
	if (wr && w->dir == VQ_DIR_READ_ONLY)
		return VQ_E_DIRECTION;
	if (!wr && w->dir == VQ_DIR_WRITE_ONLY)
		return VQ_E_DIRECTION;
	if (!wr && w->seen_writable)
		return VQ_E_ORDER;
	/* gm_ptr refuses a range that wraps, leaves RAM or straddles the hole. */
	host = gm_ptr(w->gm, d->addr, d->len);
	if (!host)
		return VQ_E_OOB;
	s = &c->seg[c->nr_segs++];
	s->host = host;
	s->gpa = d->addr;
	s->len = d->len;
	s->device_writes = wr;
	if (wr) {
		w->seen_writable = true;
		c->writable_bytes += d->len;
	} else {
		c->nr_readable++;
		c->readable_bytes += d->len;
	}
	return 0;
}

/* Walks one descriptor table (the ring's or an indirect one) from `first`.
 * `visited` has one bit per entry, so a loop is caught on its first
 * repeated index, whatever the chain length. */
static int walk_table(struct walk *w, uint64_t table, uint32_t entries, uint16_t first, bool indirect_ok,
		      bool in_indirect)
{
	uint64_t visited[VQ_MAX_SIZE / 64] = { 0 };
	uint32_t i = first;
	bool at_head = true;

	for (;;) {
		struct virtq_desc d;
		int ret;

		if (i >= entries)
			return VQ_E_NEXT;
		if (visited[i / 64] & (1ULL << (i % 64)))
			return VQ_E_LOOP;
		visited[i / 64] |= 1ULL << (i % 64);
		ret = load_desc(w->gm, table, i, &d);
		if (ret)
			return ret;

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Only a lone head descriptor of the ring's own table may
			 * point to an indirect table (§2.7.5.3). */
			if (!indirect_ok || in_indirect || !at_head || (d.flags & VIRTQ_DESC_F_NEXT))
				return VQ_E_INDIRECT;
			if (d.len == 0 || d.len % 16)
				return VQ_E_INDIRECT;
			if (d.len / 16 > w->limit)
				return VQ_E_TOO_LONG;
			if (!gm_ptr(w->gm, d.addr, d.len))
				return VQ_E_OOB;
			if (d.addr & 15)
				return VQ_E_INDIRECT;
			return walk_table(w, d.addr, d.len / 16, 0, false, true);
		}
		ret = add_buffer(w, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
		at_head = false;
	}
	return 0;
}

static int check_dir_totals(const struct vq_chain *c, enum vq_dir dir)
{
	if (c->nr_segs == 0)
		return VQ_E_DIRECTION;
	if (dir == VQ_DIR_READ_WRITE && (c->nr_readable == 0 || c->nr_readable == c->nr_segs))
		return VQ_E_DIRECTION;
	return 0;
}

bool virtq_poll_avail(struct virtq *q, const struct guest_mem *gm, uint16_t *seen)
{
	uint16_t avail_idx, *event;

	if (!q->ready || !q->event_idx || q->size == 0 || q->size > VQ_MAX_SIZE)
		return false;
	event = gm_ptr(gm, q->used + USED_AVAIL_EVENT(q->size), 2);
	if (!event)
		return false;
	q->busy_polled = true;
	__atomic_store_n(event, (uint16_t)(q->last_avail - 1), __ATOMIC_RELAXED);
	/* As in virtq_pop(): the event before avail.idx is read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load_u16(gm, q->avail + AVAIL_IDX, &avail_idx, 1) || avail_idx == *seen)
		return false;
	*seen = avail_idx;
	return true;
}

void virtq_rearm(struct virtq *q, const struct guest_mem *gm)
{
	uint16_t *event;

	q->busy_polled = false;
	if (!q->ready || !q->event_idx || q->size == 0 || q->size > VQ_MAX_SIZE)
		return;
	event = gm_ptr(gm, q->used + USED_AVAIL_EVENT(q->size), 2);
	if (event)
		__atomic_store_n(event, q->last_avail, __ATOMIC_RELAXED);
	/* The caller's next pass reads avail.idx after this. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int virtq_pop(struct virtq *q, const struct guest_mem *gm, bool indirect_ok, enum vq_dir dir,
	      struct vq_chain *c)
{
	struct walk w = { .c = c, .gm = gm, .dir = dir, .limit = q->size };
	uint16_t avail_idx, head;
	int ret;

	if (!q->ready || q->size == 0 || q->size > VQ_MAX_SIZE)
		return VQ_EMPTY;
	ret = load_u16(gm, q->avail + AVAIL_IDX, &avail_idx, 1);
	if (ret)
		return ret;
	if (avail_idx == q->last_avail) {
		uint16_t *event = gm_ptr(gm, q->used + USED_AVAIL_EVENT(q->size), 2);

		if (!q->event_idx)
			return VQ_EMPTY;
		if (!event)
			return VQ_E_RING;
		/* Busy polled: an event behind last_avail, which no index passes. */
		__atomic_store_n(event, (uint16_t)(q->last_avail - q->busy_polled), __ATOMIC_RELAXED);
		/* The store must be visible before avail.idx is read again
		 * (the driver does the mirror image: idx, then avail_event). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		ret = load_u16(gm, q->avail + AVAIL_IDX, &avail_idx, 1);
		if (ret)
			return ret;
		if (avail_idx == q->last_avail)
			return VQ_EMPTY;
	}
	/* The driver can never be more than a queue's worth ahead. */
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return VQ_E_AVAIL_IDX;
	ret = load_u16(gm, q->avail + AVAIL_RING + 2ULL * (q->last_avail % q->size), &head, 0);
	if (ret)
		return ret;
	if (head >= q->size)
		return VQ_E_HEAD;
	q->last_avail++;

	memset(c, 0, offsetof(struct vq_chain, seg));
	c->head = head;
	ret = walk_table(&w, q->desc, q->size, head, indirect_ok, false);
	if (!ret)
		ret = check_dir_totals(c, dir);
	if (ret) {
		c->nr_segs = 0; /* nothing of a refused chain may be used */
		return ret;
	}
	return VQ_CHAIN;
}

int virtq_push(struct virtq *q, const struct guest_mem *gm, uint16_t head, uint32_t len)
{
	uint64_t slot = q->used + USED_RING + 8ULL * (q->used_idx % q->size);
	uint32_t *elem = gm_ptr(gm, slot, 8);
	uint16_t *idx = gm_ptr(gm, q->used + USED_IDX, 2);

	if (!q->ready || !elem || !idx)
		return VQ_E_RING;
	__atomic_store_n(&elem[0], (uint32_t)head, __ATOMIC_RELAXED);
	__atomic_store_n(&elem[1], len, __ATOMIC_RELAXED);
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool virtq_should_notify(struct virtq *q, const struct guest_mem *gm)
{
	uint16_t flags, event, old = q->signalled_used;

	/* used.idx is published before the driver's side is read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = q->used_idx;
	if (q->event_idx) {
		if (load_u16(gm, q->avail + AVAIL_USED_EVENT(q->size), &event, 0))
			return true;
		return virtq_need_event(event, q->used_idx, old);
	}
	if (load_u16(gm, q->avail + AVAIL_FLAGS, &flags, 0))
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static uint64_t chain_copy(const struct vq_chain *c, bool writable, uint64_t skip, uint8_t *buf, uint64_t len,
			   bool to_guest)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < c->nr_segs && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint64_t n;

		if (s->device_writes != writable)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(s->host + skip, buf + done, n);
		else
			memcpy(buf + done, s->host + skip, n);
		done += n;
		skip = 0;
	}
	return done;
}

uint64_t vq_chain_write(const struct vq_chain *c, uint64_t skip, const void *src, uint64_t len)
{
	return chain_copy(c, true, skip, (uint8_t *)(uintptr_t)src, len, true);
}

uint64_t vq_chain_read(const struct vq_chain *c, uint64_t skip, void *dst, uint64_t len)
{
	return chain_copy(c, false, skip, dst, len, false);
}
