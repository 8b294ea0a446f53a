/* boot_load(): checks the configuration, recognises the image format,
 * hands it to the matching loader and then writes the platform tables
 * every guest gets. */
#include "boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot_internal.h"
#include "bootparam.h"
#include "bytes.h"
#include "entry_state.h"
#include "layout.h"

int boot_errf(struct boot_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return errnum;
}

static int check_config(const struct guest_mem *gm, const struct boot_config *cfg,
			struct boot_error *err)
{
	if (!cfg->kernel && cfg->kernel_size)
		return boot_errf(err, -EINVAL, "kernel image missing");
	if (!cfg->initrd && cfg->initrd_size)
		return boot_errf(err, -EINVAL, "initrd missing");
	if (!cfg->cmdline)
		return boot_errf(err, -EINVAL, "command line missing");
	if (cfg->ncpus == 0 || cfg->ncpus > BOOT_MAX_CPUS)
		return boot_errf(err, -EINVAL, "%u vCPUs requested, need 1 to %u", cfg->ncpus,
				 BOOT_MAX_CPUS);
	if (!gm->host)
		return boot_errf(err, -EINVAL, "guest RAM not set up");
	/* Everything the VMM writes lives below 1 MiB and every kernel loads
	 * above it, so RAM must reach past 1 MiB. */
	if (gm_low_end(gm) <= KFV_HIGH_RAM_START)
		return boot_errf(err, -ENOSPC, "guest RAM (%llu KiB) too small, need more than 1 MiB",
				 (unsigned long long)(gm->size >> 10));
	return boot_check_acpi_devs(cfg, err);
}

static bool is_elf(const struct boot_config *cfg)
{
	static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };

	return cfg->kernel_size >= sizeof(magic) && !memcmp(cfg->kernel, magic, sizeof(magic));
}

static bool is_bzimage(const struct boot_config *cfg)
{
	return cfg->kernel_size >= BP_VERSION &&
	       get_le16(cfg->kernel + BP_BOOT_FLAG) == BP_BOOT_FLAG_MAGIC &&
	       !memcmp(cfg->kernel + BP_HEADER, "HdrS", 4);
}

/* There is no firmware, so the reset vector holds a stub that writes the
 * ACPI reset register: a guest that resets by jumping to f000:fff0 in
 * real mode (Linux's default reboot on this machine ends there, after
 * writing the CMOS shutdown byte, as does its BIOS method, reboot=b)
 * then ends its run with a reset instead of running zeros. */
static int write_reset_vector(const struct guest_mem *gm)
{
	static const uint8_t stub[] = {
		0xb0, KFV_ACPI_RESET_VALUE,                                   /* mov al, RESET_VALUE */
		0xba, KFV_ACPI_RESET_PORT & 0xff, KFV_ACPI_RESET_PORT >> 8, /* mov dx, RESET_PORT */
		0xee,                                                         /* out dx, al */
		0xf4,                                                         /* hlt */
		0xeb, 0xfd,                                                   /* jmp hlt */
	};

	return gm_write(gm, KFV_RESET_VECTOR_ADDR, stub, sizeof(stub));
}

/* The tables do not depend on the kernel, but writing them after it keeps
 * a refused image from costing more than its own parsing. */
static int write_platform(const struct guest_mem *gm, const struct boot_config *cfg,
			  enum boot_entry_mode mode, struct boot_error *err)
{
	int ret;

	ret = boot_write_acpi(gm, cfg, err);
	if (ret)
		return ret;
	ret = boot_write_mptable(gm, cfg->ncpus, err);
	if (ret)
		return ret;
	ret = boot_write_gdt(gm, mode);
	if (ret)
		return boot_errf(err, ret, "cannot write the boot GDT");
	ret = boot_write_page_tables(gm);
	if (ret)
		return boot_errf(err, ret, "cannot write the boot page tables");
	ret = write_reset_vector(gm);
	if (ret)
		return boot_errf(err, ret, "cannot write the reset vector");
	return 0;
}

int boot_load(const struct guest_mem *gm, const struct boot_config *cfg,
	      struct boot_entry *entry, struct boot_error *err)
{
	struct boot_entry e = { 0 };
	int ret;

	if (err)
		err->msg[0] = '\0';
	if (!gm || !cfg || !entry)
		return boot_errf(err, -EINVAL, "boot_load called without memory, config or entry");
	ret = check_config(gm, cfg, err);
	if (ret)
		return ret;

	if (is_elf(cfg))
		ret = boot_load_elf(gm, cfg, &e, err);
	else if (is_bzimage(cfg))
		ret = boot_load_bzimage(gm, cfg, &e, err);
	else
		ret = boot_errf(err, -ENOEXEC, "not an ELF64 kernel or Linux bzImage");
	if (ret)
		return ret;

	ret = write_platform(gm, cfg, e.mode, err);
	if (ret)
		return ret;
	*entry = e;
	return 0;
}
