/* Guest RAM: one memfd, mapped once into the VMM, split around the 32-bit
 * MMIO hole. Every access the VMM makes on a guest's behalf goes through
 * gm_ptr(), which refuses any range that is not wholly inside RAM. */
#ifndef KFV_VMM_GUEST_MEM_H
#define KFV_VMM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	int memfd;          /* sealed against grow/shrink once sized */
	uint8_t *host;      /* mapping of the whole memfd */
	uint64_t size;      /* total guest RAM in bytes */
	uint64_t low_size;  /* RAM at [0, low_size): min(size, MMIO hole start) */
	uint64_t high_size; /* RAM at [4 GiB, 4 GiB + high_size) */
};

/* Creates and maps `size` bytes of guest RAM. `size` must be a non-zero
 * multiple of 4 KiB. Returns 0 or a negative errno (-ENOMEM when the host
 * cannot give it). */
int gm_create(struct guest_mem *gm, uint64_t size) __attribute__((warn_unused_result));

/* gm_create() with options: GM_HUGEPAGES backs RAM with 2 MiB huge pages,
 * reserved in full at creation (size must be a multiple of 2 MiB;
 * -ENOMEM when the host's pool cannot give them). */
#define GM_HUGEPAGES 0x1u
int gm_create_ex(struct guest_mem *gm, uint64_t size, unsigned flags) __attribute__((warn_unused_result));

/* The name every VM's RAM memfd carries (the guard looks for it). */
#define GM_MEMFD_NAME "kfv-guest-ram"

/* Makes a sealed (grow, shrink, seal) memfd of `size` bytes for guest RAM
 * without mapping it: the supervisor makes it and keeps a handle of its
 * own (forensic dumps; docs/policy.md). Returns the fd or a negative errno. */
int gm_memfd_create(uint64_t size, unsigned flags) __attribute__((warn_unused_result));

/* gm_create_ex() over a memfd from gm_memfd_create(), whose ownership it
 * takes (closed on failure too). -EINVAL if its size or seals differ. */
int gm_create_from_fd(struct guest_mem *gm, int fd, uint64_t size, unsigned flags)
	__attribute__((warn_unused_result));

/* Sets up a guest_mem over caller-provided memory (unit tests, fuzzers):
 * no memfd, nothing to free. */
void gm_init_from_buffer(struct guest_mem *gm, void *buf, uint64_t size);

/* Unmaps and closes; safe on a zeroed or already destroyed guest_mem. */
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa + len) or NULL when any byte of it is outside
 * guest RAM, the range wraps, or it straddles the MMIO hole. len 0 is
 * treated as 1 byte so the address itself is still checked. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies into / out of guest RAM with the same checks; 0 or -EFAULT. */
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
	__attribute__((warn_unused_result));
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
	__attribute__((warn_unused_result));

/* Highest guest-physical address + 1 covered by RAM below the hole. */
static inline uint64_t gm_low_end(const struct guest_mem *gm) { return gm->low_size; }

#endif
