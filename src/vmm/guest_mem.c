#define _GNU_SOURCE
#include "guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../boot/layout.h"

static void gm_split(struct guest_mem *gm, uint64_t size)
{
	gm->size = size;
	gm->low_size = size < KFV_MMIO_HOLE_START ? size : KFV_MMIO_HOLE_START;
	gm->high_size = size - gm->low_size;
}

int gm_create(struct guest_mem *gm, uint64_t size)
{
	return gm_create_ex(gm, size, 0);
}

int gm_memfd_create(uint64_t size, unsigned flags)
{
	bool huge = flags & GM_HUGEPAGES;
	unsigned mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd, ret;

	if (size == 0 || (size & (huge ? (2ULL << 20) - 1 : 0xfff)))
		return -EINVAL;
	if (huge)
		mfd_flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	fd = memfd_create(GM_MEMFD_NAME, mfd_flags);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	/* The size is fixed for the VM's life: nobody holding the fd may grow or shrink it. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		ret = -errno;
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return ret;
}

int gm_create_ex(struct guest_mem *gm, uint64_t size, unsigned flags)
{
	int fd = gm_memfd_create(size, flags);

	if (fd < 0) {
		memset(gm, 0, sizeof(*gm));
		gm->memfd = -1;
		return fd;
	}
	return gm_create_from_fd(gm, fd, size, flags);
}

int gm_create_from_fd(struct guest_mem *gm, int fd, uint64_t size, unsigned flags)
{
	bool huge = flags & GM_HUGEPAGES;
	struct stat st;
	int ret;

	memset(gm, 0, sizeof(*gm));
	gm->memfd = fd;
	/* A handed-over fd must be what gm_memfd_create() makes: exactly this
	 * size, and sealed so that no holder can change it. */
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err_close;
	}
	if ((uint64_t)st.st_size != size ||
	    (fcntl(fd, F_GET_SEALS) & (F_SEAL_GROW | F_SEAL_SHRINK)) != (F_SEAL_GROW | F_SEAL_SHRINK)) {
		ret = -EINVAL;
		goto err_close;
	}
	/* Huge pages are reserved at mmap time (no MAP_NORESERVE), so a short
	 * pool is an error here rather than a SIGBUS when the guest touches it. */
	gm->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (huge ? 0 : MAP_NORESERVE), gm->memfd, 0);
	if (gm->host == MAP_FAILED) {
		gm->host = NULL;
		ret = errno == ENOMEM ? -ENOMEM : -errno;
		goto err_close;
	}
	/* Guest memory must never be merged with another process's pages. */
	(void)madvise(gm->host, size, MADV_UNMERGEABLE);
	(void)madvise(gm->host, size, MADV_DONTDUMP);
	gm_split(gm, size);
	return 0;

err_close:
	close(gm->memfd);
	gm->memfd = -1;
	return ret;
}

void gm_init_from_buffer(struct guest_mem *gm, void *buf, uint64_t size)
{
	memset(gm, 0, sizeof(*gm));
	gm->memfd = -1;
	gm->host = buf;
	gm_split(gm, size);
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->memfd >= 0) {
		if (gm->host)
			munmap(gm->host, gm->size);
		close(gm->memfd);
	}
	gm->memfd = -1;
	gm->host = NULL;
	gm->size = gm->low_size = gm->high_size = 0;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	if (gpa + len < gpa)
		return NULL;
	if (gpa < gm->low_size)
		return len <= gm->low_size - gpa ? gm->host + gpa : NULL;
	if (gpa >= KFV_MMIO_HOLE_END && gm->high_size) {
		uint64_t off = gpa - KFV_MMIO_HOLE_END;

		if (off < gm->high_size && len <= gm->high_size - off)
			return gm->host + gm->low_size + off;
	}
	return NULL;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}
