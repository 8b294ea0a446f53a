/* What the loaders hand the kernel besides itself: the command line and the
 * initrd. Both sizes come from the user, not the image, but the limits they
 * are checked against (cmdline_size, initrd_addr_max) come from the image. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "layout.h"

int boot_write_cmdline(const struct guest_mem *gm, const char *cmdline, uint64_t limit,
		       struct boot_error *err)
{
	size_t len = strnlen(cmdline, KFV_CMDLINE_MAX);

	if (limit > KFV_CMDLINE_MAX - 1)
		limit = KFV_CMDLINE_MAX - 1;
	if (len > limit)
		return boot_errf(err, -E2BIG, "command line too long (%s%zu bytes, limit %llu)",
				 len == KFV_CMDLINE_MAX ? "at least " : "", len,
				 (unsigned long long)limit);
	/* len + 1 <= KFV_CMDLINE_MAX: the NUL is within the string's bytes. */
	if (gm_write(gm, KFV_CMDLINE_ADDR, cmdline, len + 1))
		return boot_errf(err, -EFAULT, "cannot write the command line");
	return 0;
}

int boot_place_initrd(const struct guest_mem *gm, const struct boot_config *cfg,
		      uint64_t floor, uint64_t ceiling, uint64_t *addr, struct boot_error *err)
{
	uint64_t size = cfg->initrd_size;
	uint64_t at;

	*addr = 0;
	if (!cfg->initrd || size == 0)
		return 0;
	if (ceiling > gm_low_end(gm))
		ceiling = gm_low_end(gm);
	if (floor > UINT64_MAX - (BOOT_PAGE_SIZE - 1))
		floor = UINT64_MAX; /* nothing fits above it */
	else
		floor = (floor + BOOT_PAGE_SIZE - 1) & ~(BOOT_PAGE_SIZE - 1);
	if (floor >= ceiling || size > ceiling - floor)
		return boot_errf(err, -ENOSPC,
				 "initrd (%llu bytes) too large for guest memory: %llu bytes free "
				 "between 0x%llx and 0x%llx",
				 (unsigned long long)size,
				 (unsigned long long)(floor < ceiling ? ceiling - floor : 0),
				 (unsigned long long)floor, (unsigned long long)ceiling);
	/* Highest page-aligned start; floor is aligned, so it stays >= floor. */
	at = (ceiling - size) & ~(BOOT_PAGE_SIZE - 1);
	if (gm_write(gm, at, cfg->initrd, size))
		return boot_errf(err, -ENOSPC, "initrd at 0x%llx does not fit in guest RAM",
				 (unsigned long long)at);
	*addr = at;
	return 0;
}
