#define _GNU_SOURCE
#include "blk_uring.h"
#include "../compromise_sim.h"

#include <errno.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

struct blk_uring {
	struct io_uring ring;
	int efd;
	unsigned depth;
	unsigned inflight;  /* queued or submitted, not yet reaped */
	unsigned nfree;
	uint32_t *free;     /* stack of free slot numbers */
	struct blk_io *io;  /* depth slots */
};

/* The raw call: some liburing builds (Debian's 2.3) do not export
 * io_uring_register_restrictions() or io_uring_enable_rings(). */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned nr)
{
	return syscall(SYS_io_uring_register, ring->ring_fd, op, arg, nr) < 0 ? -errno : 0;
}

/* What a guest's requests may make the kernel do, fixed before the first
 * guest instruction. io_uring operations are not system calls, so seccomp
 * never sees them: the ring itself must be narrowed. */
static int restrict_ring(struct io_uring *ring)
{
	struct io_uring_restriction r[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_IO_DRAIN },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
	};

	return ring_register(ring, IORING_REGISTER_RESTRICTIONS, r, sizeof(r) / sizeof(r[0]));
}

int blk_uring_open(struct blk_uring **out, int image_fd, unsigned depth)
{
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	struct blk_uring *u;
	int ret;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->depth = depth;
	u->efd = -1;
	u->free = calloc(depth, sizeof(*u->free));
	u->io = calloc(depth, sizeof(*u->io));
	if (!u->free || !u->io) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (unsigned i = 0; i < depth; i++) {
		u->io[i].slot = i;
		u->free[i] = depth - 1 - i;
	}
	u->nfree = depth;
	/* The completion ring is twice the submission ring and at most
	 * `depth` requests are ever outstanding: it cannot overflow. */
	ret = io_uring_queue_init_params(depth, &u->ring, &p);
	if (ret)
		goto err_free;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0) {
		ret = -errno;
		goto err_ring;
	}
	ret = io_uring_register_files(&u->ring, &image_fd, 1);
	if (!ret) {
		/* Writes and flushes run on the kernel's io-wq threads, which
		 * count against the jail's task limit: two per disk at most.
		 * Older kernels lack the call and keep their own bound. */
		unsigned workers[2] = { 2, 1 };

		(void)io_uring_register_iowq_max_workers(&u->ring, workers);
	}
	if (!ret)
		ret = io_uring_register_eventfd(&u->ring, u->efd);
	if (!ret)
		ret = restrict_ring(&u->ring);
	if (!ret)
		ret = ring_register(&u->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (ret)
		goto err_efd;
	*out = u;
	return 0;

err_efd:
	close(u->efd);
err_ring:
	io_uring_queue_exit(&u->ring);
err_free:
	free(u->io);
	free(u->free);
	free(u);
	return ret < 0 ? ret : -EIO;
}

void blk_uring_close(struct blk_uring *u)
{
	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u->io);
	free(u->free);
	free(u);
}

int blk_uring_eventfd(const struct blk_uring *u)
{
	return u->efd;
}

void blk_uring_clear_event(struct blk_uring *u)
{
	uint64_t v;

	while (read(u->efd, &v, sizeof(v)) == sizeof(v))
		;
}

struct blk_io *blk_uring_get(struct blk_uring *u)
{
	if (!u->nfree)
		return NULL;
	return &u->io[u->free[--u->nfree]];
}

void blk_uring_put(struct blk_uring *u, struct blk_io *io)
{
	u->free[u->nfree++] = io->slot;
}

void blk_uring_queue(struct blk_uring *u, struct blk_io *io)
{
	/* Never NULL: the submission ring has `depth` entries and at most
	 * `depth` slots are taken. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	uint64_t off = io->req.sector * BLK_SECTOR;

	switch (io->req.type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, 0, io->req.iov, io->req.nr_iov, off);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, 0, io->req.iov, io->req.nr_iov, off);
		break;
	default: /* VIRTIO_BLK_T_FLUSH */
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		sqe->flags |= IOSQE_IO_DRAIN;
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, io);
	u->inflight++;
}

int blk_uring_submit(struct blk_uring *u)
{
	while (io_uring_sq_ready(&u->ring)) {
		int ret = io_uring_submit(&u->ring);

		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EAGAIN;
	}
	return 0;
}

unsigned blk_uring_reap(struct blk_uring *u, void (*done)(void *ctx, struct blk_io *io, int res), void *ctx)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct blk_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		done(ctx, io, res);
		u->free[u->nfree++] = io->slot;
		u->inflight--;
		n++;
	}
	return n;
}

int blk_uring_wait(struct blk_uring *u)
{
	struct io_uring_cqe *cqe;
	int ret;

	do
		ret = io_uring_wait_cqe(&u->ring, &cqe);
	while (ret == -EINTR);
	return ret;
}

unsigned blk_uring_inflight(const struct blk_uring *u)
{
	return u->inflight;
}

#ifdef KFV_COMPROMISE_SIM
int blk_uring_sim_fallocate(struct blk_uring *u, int mode, uint64_t off, uint64_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fallocate(sqe, 0, mode, off, len);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, NULL);
	ret = io_uring_submit(&u->ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&u->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&u->ring, cqe);
	return ret;
}
#endif
