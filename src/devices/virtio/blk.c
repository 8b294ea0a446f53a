#define _GNU_SOURCE
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/log.h"
#include "virtio.h"
#include "blk_uring.h"
#include "../compromise_sim.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_DISCARD  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define BLK_QUEUE_MAX 256

/* Discard and write zeroes, as config space tells the driver. One range
 * per request keeps each one a single fallocate (one io_uring entry); a
 * discard may cover 2 GiB, a write of zeroes 32 MiB (it may have to be
 * written as zeros where the file system cannot do better). */
#define BLK_MAX_DISCARD_SECTORS      (1u << 22)
#define BLK_MAX_WRITE_ZEROES_SECTORS (1u << 16)
#define BLK_DISCARD_ALIGNMENT        8 /* sectors: 4 KiB, a file system block */

/* Config space offsets (§5.2.4). */
#define CFG_CAPACITY         0
#define CFG_SEG_MAX          12
#define CFG_BLK_SIZE         20
#define CFG_MAX_DISCARD_SECTORS  36
#define CFG_MAX_DISCARD_SEG      40
#define CFG_DISCARD_ALIGNMENT    44
#define CFG_MAX_WZ_SECTORS       48
#define CFG_MAX_WZ_SEG           52
#define CFG_WZ_MAY_UNMAP         56

static void blk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *b = dev;

	memcpy(data, b->config + off, len);
}

/* Moves the bytes of iov[0..n) at `off` between the image and guest
 * memory, however many calls it takes (the iovecs are consumed). */
static int do_io(struct virtio_blk *b, struct iovec *iov, unsigned n, off_t off, bool write)
{
	while (n) {
		ssize_t got = write ? pwritev(b->fd, iov, (int)n, off) : preadv(b->fd, iov, (int)n, off);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0) {
			/* Past the end of a file that shrank under us: zeros. */
			if (write)
				return -EIO;
			for (unsigned i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += got;
		while (n && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}

static int do_req_io(struct virtio_blk *b, struct blk_req *r, bool write)
{
	return do_io(b, r->iov, r->nr_iov, (off_t)(r->sector * BLK_SECTOR), write);
}

/* The range as zeros written one chunk at a time: where the file system
 * (9p, some FUSE) has no fallocate mode that zeroes. */
static int write_zeros(struct virtio_blk *b, off_t off, uint64_t len)
{
	static const uint8_t zeros[65536];

	while (len) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t w = pwrite(b->fd, zeros, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* A mode the image's file system does not have (or a range it will not
 * take in that mode, e.g. a block device with larger logical blocks). */
static bool falloc_unsupported(int err)
{
	return err == -EOPNOTSUPP || err == -ENOSYS || err == -EINVAL;
}

static int falloc(struct virtio_blk *b, int mode, off_t off, uint64_t len)
{
	return fallocate(b->fd, mode, off, (off_t)len) < 0 ? -errno : 0;
}

/* One range of a DISCARD or WRITE_ZEROES, synchronously. A discard is
 * a hint (§5.2.6.2: the device MAY deallocate): a file system that cannot
 * punch holes leaves the data. After a write of zeroes the range reads
 * back as zeros whatever it took: with UNMAP a hole (deallocated, as the
 * driver allowed), without it FALLOC_FL_ZERO_RANGE (stays allocated),
 * else zeros written. */
static int dwz_one(struct virtio_blk *b, uint32_t type, const struct blk_dwz_seg *s)
{
	off_t off = (off_t)(s->sector * BLK_SECTOR);
	uint64_t len = (uint64_t)s->num_sectors * BLK_SECTOR;
	int ret;

	if (type == VIRTIO_BLK_T_DISCARD) {
		ret = falloc(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		return falloc_unsupported(ret) ? 0 : ret;
	}
	ret = (s->flags & VIRTIO_BLK_WZ_F_UNMAP) ? falloc(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len)
						 : falloc(b, FALLOC_FL_ZERO_RANGE, off, len);
	if (falloc_unsupported(ret))
		ret = write_zeros(b, off, len);
	return ret;
}

static int do_dwz(struct virtio_blk *b, const struct blk_req *r)
{
	for (unsigned i = 0; i < r->nr_dwz; i++) {
		int ret = dwz_one(b, r->type, &r->dwz[i]);

		if (ret)
			return ret;
	}
	return 0;
}

/* The status for a request whose I/O ended with `ret` (0 or -errno). */
static uint8_t io_status(struct virtio_blk *b, const struct blk_req *r, int ret)
{
	if (!ret)
		return VIRTIO_BLK_S_OK;
	LOG_RATELIMITED(LOG_WARN, "%s: request type %u at sector %llu: %s", b->ops.name, r->type,
			(unsigned long long)r->sector, strerror(-ret));
	return VIRTIO_BLK_S_IOERR;
}

/* Serves a request synchronously on this thread. */
static uint8_t serve(struct virtio_blk *b, struct blk_req *r, uint32_t *written)
{
	int ret = 0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		ret = do_req_io(b, r, false);
		if (!ret)
			*written = (uint32_t)r->data_len;
		break;
	case VIRTIO_BLK_T_OUT:
		ret = do_req_io(b, r, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!b->read_only && fdatasync(b->fd) < 0)
			ret = -errno;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		ret = do_dwz(b, r);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t done = 0;

		for (unsigned i = 0; i < r->nr_iov; i++) {
			memcpy(r->iov[i].iov_base, b->id + done, r->iov[i].iov_len);
			done += r->iov[i].iov_len;
		}
		*written = (uint32_t)done;
		break;
	}
	}
	return io_status(b, r, ret);
}

/* Answers a request: status byte, counters, used ring. */
static void finish(struct virtio_blk *b, const struct blk_req *r, uint16_t head, uint8_t st, uint32_t written)
{
	struct virtio_mmio *t = &b->t;

	if (st != VIRTIO_BLK_S_OK) {
		written = 0;
		atomic_fetch_add_explicit(&t->stats.io_errors, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&t->stats.bytes, r->data_len, memory_order_relaxed);
	}
	*r->status = st;
	atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
	virtio_mmio_complete(t, 0, head, written + 1);
}

/* Requests that go through the ring; the rest (GET_ID, refused writes,
 * a read-only disk's flush, empty transfers) are answered at once. */
static bool wants_ring(const struct virtio_blk *b, const struct blk_req *r)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return r->data_len > 0;
	case VIRTIO_BLK_T_OUT:
		return !b->read_only && r->data_len > 0;
	case VIRTIO_BLK_T_FLUSH:
		return !b->read_only;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		/* Never on the ring: its restrictions filter opcodes, not
		 * fallocate modes, and the ring lives in memory a compromised
		 * VMM writes. The system call's mode is seccomp's to check. */
		return false;
	default:
		return false;
	}
}

/* A completion from the ring (on the worker, with the transport's lock). */
static void uring_done(void *ctx, struct blk_io *io, int res)
{
	struct virtio_blk *b = ctx;
	struct blk_req *r = &io->req;
	bool write = r->type == VIRTIO_BLK_T_OUT;
	int ret = res < 0 ? res : 0;

	if (io->gen != b->gen)
		return; /* submitted before a reset: the driver no longer waits for it */
	if (res >= 0 && r->type != VIRTIO_BLK_T_FLUSH && (uint64_t)res < r->data_len) {
		/* Short transfer (end of a shrunk file, a signal): finish it
		 * here, the way the synchronous path would. */
		uint64_t skip = (uint64_t)res;
		struct iovec *iov = r->iov;
		unsigned n = r->nr_iov;

		while (n && skip >= iov->iov_len) {
			skip -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + skip;
			iov->iov_len -= skip;
		}
		ret = do_io(b, iov, n, (off_t)(r->sector * BLK_SECTOR + (uint64_t)res), write);
	}
	finish(b, r, io->head, io_status(b, r, ret),
	       !ret && r->type == VIRTIO_BLK_T_IN ? (uint32_t)r->data_len : 0);
}

/* Takes requests until the queue is empty, the rate limits say wait, or
 * every ring slot is in use. Returns true in the last case. */
static bool take_requests(struct virtio_mmio *t, struct virtio_blk *b)
{
	struct blk_limits lim = b->limits;
	struct vq_chain *c;

	/* A request type the driver did not negotiate is UNSUPP. */
	if (!virtio_mmio_has(t, VIRTIO_BLK_F_DISCARD))
		lim.max_discard_seg = 0;
	if (!virtio_mmio_has(t, VIRTIO_BLK_F_WRITE_ZEROES))
		lim.max_write_zeroes_seg = 0;

	for (;;) {
		struct blk_io *io = NULL;
		struct blk_req *r = &b->req;
		uint32_t written = 0;
		int st;

		if (b->uring) {
			io = blk_uring_get(b->uring);
			if (!io)
				return true; /* a completion frees a slot and wakes the worker */
			r = &io->req;
		}
		if (!virtio_mmio_pop(t, 0, VQ_DIR_READ_WRITE, &c)) {
			if (io)
				blk_uring_put(b->uring, io);
			return false;
		}
		st = blk_parse(c, &lim, r);
		if (st < 0) {
			if (io)
				blk_uring_put(b->uring, io);
			atomic_fetch_add_explicit(&t->stats.io_errors, 1, memory_order_relaxed);
			virtio_mmio_reject(t);
			virtio_mmio_complete(t, 0, c->head, 0);
			continue;
		}
		/* A write of any kind to a read-only disk: refused, the image
		 * untouched. */
		if (st == VIRTIO_BLK_S_OK && b->read_only && blk_req_writes(r))
			st = VIRTIO_BLK_S_IOERR;
		if (st != VIRTIO_BLK_S_OK)
			virtio_mmio_reject(t); /* that, or malformed, out of range, unknown */
		if (st == VIRTIO_BLK_S_OK) {
			uint64_t cost = blk_req_cost(r), wait;

			if (!tb_take_request(&b->iops, &b->bw, cost, monotonic_ns(), &wait)) {
				/* Over the limit: the request stays queued and is
				 * taken again (and re-validated) when tokens are back. */
				if (io)
					blk_uring_put(b->uring, io);
				virtio_mmio_throttle(t, 0, wait);
				return false;
			}
			if (io && wants_ring(b, r)) {
				io->head = c->head;
				io->gen = b->gen;
				blk_uring_queue(b->uring, io);
				continue;
			}
			st = serve(b, r, &written);
		}
		if (io)
			blk_uring_put(b->uring, io);
		finish(b, r, c->head, (uint8_t)st, written);
	}
}

static void blk_process(struct virtio_mmio *t, void *dev)
{
	struct virtio_blk *b = dev;
	bool full;
	int ret;

	if (!b->uring) {
		(void)take_requests(t, b);
		return;
	}
	/* Clear the eventfd before reaping: a completion after the reap
	 * then wakes the worker again. */
	blk_uring_clear_event(b->uring);
	blk_uring_reap(b->uring, uring_done, b);
	for (;;) {
		full = take_requests(t, b);
		ret = blk_uring_submit(b->uring);
		if (ret) {
			/* What was not taken stays queued: try again shortly. */
			LOG_RATELIMITED(LOG_WARN, "%s: io_uring submit: %s", b->ops.name, strerror(-ret));
			virtio_mmio_retry_after(t, 1000000);
			return;
		}
		if (t->thread_started)
			return; /* completions wake the worker through the eventfd */
		/* No worker (unit tests, or before start): finish here. */
		while (blk_uring_inflight(b->uring)) {
			if (blk_uring_wait(b->uring))
				return;
			blk_uring_reap(b->uring, uring_done, b);
		}
		if (!full)
			return;
	}
}

/* Under AGENT_DENY: IOERR in the status byte (the last byte of the
 * chain's writable part, §5.2.6) and nothing else. */
static uint32_t blk_refuse(void *dev, unsigned q, const struct vq_chain *c)
{
	const struct vq_seg *last = c->nr_segs ? &c->seg[c->nr_segs - 1] : NULL;

	(void)dev;
	(void)q;
	if (!last || !last->device_writes || last->len == 0)
		return 0;
	last->host[last->len - 1] = VIRTIO_BLK_S_IOERR;
	return 1;
}

static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;

	/* Requests still in flight finish into guest RAM (which outlives
	 * the device) but are not returned to the new rings. */
	b->gen++;
}

/* How long a locked image is asked again before it counts as in use. */
#define LOCK_TRIES    50
#define LOCK_RETRY_US 10000

static int open_image(struct virtio_blk *b, const char *path, char *msg, size_t msglen)
{
	struct flock lk = { .l_type = b->read_only ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	int err;

	b->fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (b->fd < 0) {
		err = -errno;
		snprintf(msg, msglen, "--disk %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(b->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(msg, msglen, "--disk %s: not a regular file or block device", path);
		return -EINVAL;
	}
	/* OFD locks belong to this open file, not the process, so they hold
	 * across threads and are gone when the fd is closed. A VMM that was
	 * killed (a policy restart, say) could not unlock: its io_uring ring
	 * still holds the file for a moment after it died, so a busy image is
	 * asked again for a short while before it counts as in use. */
	err = 0;
	for (unsigned i = 0; i < LOCK_TRIES; i++) {
		if (fcntl(b->fd, F_OFD_SETLK, &lk) == 0) {
			err = 0;
			break;
		}
		err = -errno;
		if ((err != -EAGAIN && err != -EACCES) || i + 1 == LOCK_TRIES)
			break;
		usleep(LOCK_RETRY_US);
	}
	if (err) {
		if (err == -EAGAIN || err == -EACCES)
			snprintf(msg, msglen, "--disk %s: in use by another VM (locked)", path);
		else
			snprintf(msg, msglen, "--disk %s: cannot lock: %s", path, strerror(-err));
		return err == -EACCES ? -EAGAIN : err;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(b->fd, 0, SEEK_END);

		st.st_size = end < 0 ? 0 : end;
	}
	b->capacity = (uint64_t)st.st_size / BLK_SECTOR;
	return 0;
}

/* Asynchronous I/O where the kernel gives an io_uring; otherwise (no
 * io_uring, kernel.io_uring_disabled, a seccomp or LSM refusal) the
 * worker keeps using preadv/pwritev/fdatasync, and says so once. */
static void open_uring(struct virtio_blk *b, bool sync_io)
{
	static atomic_bool told;
	int ret;

	if (sync_io)
		return;
	ret = blk_uring_open(&b->uring, b->fd, BLK_QUEUE_MAX);
	if (!ret) {
		b->t.extra_fd = blk_uring_eventfd(b->uring); /* the worker wakes on completions */
		log_info("%s %u: asynchronous I/O through io_uring", b->ops.name, b->t.index);
		return;
	}
	if (!atomic_exchange(&told, true))
		log_warn("%s: io_uring unavailable (%s): disk I/O is synchronous (preadv/pwritev) on the device thread",
			 b->ops.name, strerror(-ret));
}

int virtio_blk_init(struct virtio_blk *b, struct vm *vm, unsigned index, const struct virtio_blk_config *cfg,
		    char *msg, size_t msglen)
{
	uint32_t seg_max = BLK_QUEUE_MAX - 2, blk_size = 512, align = BLK_DISCARD_ALIGNMENT;
	const char *path = cfg->path, *id = cfg->id;
	bool read_only = cfg->read_only;
	uint64_t now = monotonic_ns();
	int ret;

	memset(b, 0, sizeof(*b));
	b->read_only = read_only;
	tb_init_limit(&b->iops, &cfg->iops, now);
	tb_init_limit(&b->bw, &cfg->bw, now);
	ret = open_image(b, path, msg, msglen);
	if (ret) {
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
		return ret;
	}
	/* GET_ID: 20 bytes, NUL-padded, not NUL-terminated when all used. */
	if (id && *id)
		memcpy(b->id, id, strnlen(id, sizeof(b->id)));
	else
		snprintf(b->id, sizeof(b->id), "kfv-disk%u", index);
	b->limits = (struct blk_limits){
		.capacity = b->capacity,
		.max_discard_sectors = BLK_MAX_DISCARD_SECTORS, .max_discard_seg = 1,
		.max_write_zeroes_sectors = BLK_MAX_WRITE_ZEROES_SECTORS, .max_write_zeroes_seg = 1,
	};
	memcpy(b->config + CFG_CAPACITY, &b->capacity, 8);
	memcpy(b->config + CFG_SEG_MAX, &seg_max, 4);
	memcpy(b->config + CFG_BLK_SIZE, &blk_size, 4);
	memcpy(b->config + CFG_MAX_DISCARD_SECTORS, &b->limits.max_discard_sectors, 4);
	memcpy(b->config + CFG_MAX_DISCARD_SEG, &b->limits.max_discard_seg, 4);
	memcpy(b->config + CFG_DISCARD_ALIGNMENT, &align, 4);
	memcpy(b->config + CFG_MAX_WZ_SECTORS, &b->limits.max_write_zeroes_sectors, 4);
	memcpy(b->config + CFG_MAX_WZ_SEG, &b->limits.max_write_zeroes_seg, 4);
	b->config[CFG_WZ_MAY_UNMAP] = 1; /* UNMAP punches a hole */
	b->ops = (struct virtio_dev_ops){
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.nr_queues = 1,
		.queue_max = BLK_QUEUE_MAX,
		.features = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
			    VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
			    (read_only ? VIRTIO_BIT(VIRTIO_BLK_F_RO) : 0),
		.config_size = sizeof(b->config),
		.config_read = blk_config_read,
		.process = blk_process,
		.reset = blk_reset,
		.refuse = blk_refuse,
	};
	ret = virtio_mmio_init(&b->t, vm, index, &b->ops, b);
	if (ret) {
		snprintf(msg, msglen, "--disk %s: registering the device: %s", path, strerror(-ret));
		close(b->fd);
		b->fd = -1;
		return ret;
	}
	open_uring(b, cfg->sync_io);
	if (!read_only) /* test builds only: the image for the DISK_* attempts */
		compromise_sim_disk(b->fd, b->capacity * BLK_SECTOR, &b->t.kick_fd, b->uring);
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	/* The worker's exit waits for the requests it submitted; only then
	 * may the ring go (and guest RAM after it). */
	virtio_mmio_destroy(&b->t);
	blk_uring_close(b->uring);
	b->uring = NULL;
	if (b->fd >= 0) {
		/* The ring holds the image as a registered file and lets go of it
		 * only when its teardown, which runs after we are gone, is done:
		 * the lock would outlive kfv by that long. */
		struct flock unlock = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

		(void)fcntl(b->fd, F_OFD_SETLK, &unlock);
		close(b->fd);
	}
	b->fd = -1;
}
