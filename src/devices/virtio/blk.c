#define _GNU_SOURCE
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/log.h"
#include "virtio.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define BLK_QUEUE_MAX 256

static void blk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *b = dev;

	memcpy(data, b->config + off, len);
}

/* Moves data_len bytes at `off` between the image and the iovecs, however
 * many calls it takes. */
static int do_io(struct virtio_blk *b, struct blk_req *r, bool write)
{
	struct iovec *iov = r->iov;
	unsigned n = r->nr_iov;
	off_t off = (off_t)(r->sector * BLK_SECTOR);

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

static uint8_t serve(struct virtio_blk *b, struct blk_req *r, uint32_t *written)
{
	int ret = 0;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		ret = do_io(b, r, false);
		if (!ret)
			*written = (uint32_t)r->data_len;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only)
			return VIRTIO_BLK_S_IOERR;
		ret = do_io(b, r, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!b->read_only && fdatasync(b->fd) < 0)
			ret = -errno;
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
	if (ret) {
		LOG_RATELIMITED(LOG_WARN, "%s: request type %u at sector %llu: %s", b->ops.name, r->type,
				(unsigned long long)r->sector, strerror(-ret));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static void blk_process(struct virtio_mmio *t, void *dev)
{
	struct virtio_blk *b = dev;
	struct vq_chain *c;

	while (virtio_mmio_pop(t, 0, VQ_DIR_READ_WRITE, &c)) {
		struct blk_req *r = &b->req;
		uint32_t written = 0;
		int st = blk_parse(c, b->capacity, r);

		if (st < 0) {
			atomic_fetch_add_explicit(&t->stats.io_errors, 1, memory_order_relaxed);
			virtio_mmio_complete(t, 0, c->head, 0);
			continue;
		}
		if (st == VIRTIO_BLK_S_OK) {
			uint64_t cost = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ? r->data_len : 0;
			uint64_t wait;

			if (!tb_take_request(&b->iops, &b->bw, cost, monotonic_ns(), &wait)) {
				/* Over the limit: the request stays queued and is
				 * taken again (and re-validated) when tokens are back. */
				virtio_mmio_unpop(t, 0);
				virtio_mmio_retry_after(t, wait);
				return;
			}
			st = serve(b, r, &written);
		}
		if (st != VIRTIO_BLK_S_OK) {
			written = 0;
			atomic_fetch_add_explicit(&t->stats.io_errors, 1, memory_order_relaxed);
		} else {
			atomic_fetch_add_explicit(&t->stats.bytes, r->data_len, memory_order_relaxed);
		}
		*r->status = (uint8_t)st;
		atomic_fetch_add_explicit(&t->stats.requests, 1, memory_order_relaxed);
		virtio_mmio_complete(t, 0, c->head, written + 1);
	}
}

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
	 * across threads and are gone when the fd is closed. */
	if (fcntl(b->fd, F_OFD_SETLK, &lk) < 0) {
		err = -errno;
		if (err == -EAGAIN || err == -EACCES)
			snprintf(msg, msglen, "--disk %s: in use by another VM (locked)", path);
		else
			snprintf(msg, msglen, "--disk %s: cannot lock: %s", path, strerror(errno));
		return err == -EACCES ? -EAGAIN : err;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(b->fd, 0, SEEK_END);

		st.st_size = end < 0 ? 0 : end;
	}
	b->capacity = (uint64_t)st.st_size / BLK_SECTOR;
	return 0;
}

int virtio_blk_init(struct virtio_blk *b, struct vm *vm, unsigned index, const struct virtio_blk_config *cfg,
		    char *msg, size_t msglen)
{
	uint32_t seg_max = BLK_QUEUE_MAX - 2, blk_size = 512;
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
	memcpy(b->config, &b->capacity, 8);
	memcpy(b->config + 12, &seg_max, 4);
	memcpy(b->config + 20, &blk_size, 4);
	b->ops = (struct virtio_dev_ops){
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.nr_queues = 1,
		.queue_max = BLK_QUEUE_MAX,
		.features = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
			    (read_only ? VIRTIO_BIT(VIRTIO_BLK_F_RO) : 0),
		.config_size = sizeof(b->config),
		.config_read = blk_config_read,
		.process = blk_process,
	};
	ret = virtio_mmio_init(&b->t, vm, index, &b->ops, b);
	if (ret) {
		snprintf(msg, msglen, "--disk %s: registering the device: %s", path, strerror(-ret));
		close(b->fd);
		b->fd = -1;
	}
	return ret;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	virtio_mmio_destroy(&b->t);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
