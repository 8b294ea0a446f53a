#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "vmm/guest_mem.h"

static void bounds_below_hole(void **state)
{
	static uint8_t buf[1 << 20];
	struct guest_mem gm;

	(void)state;
	gm_init_from_buffer(&gm, buf, sizeof(buf));
	assert_ptr_equal(gm_ptr(&gm, 0, 1), buf);
	assert_ptr_equal(gm_ptr(&gm, sizeof(buf) - 4, 4), buf + sizeof(buf) - 4);
	assert_null(gm_ptr(&gm, sizeof(buf) - 4, 5));
	assert_null(gm_ptr(&gm, sizeof(buf), 1));
	assert_null(gm_ptr(&gm, sizeof(buf), 0)); /* len 0 still checks the address */
	assert_null(gm_ptr(&gm, UINT64_MAX, 2));  /* wraps */
	assert_null(gm_ptr(&gm, 16, UINT64_MAX));
	assert_null(gm_ptr(&gm, KFV_MMIO_HOLE_END, 1));
	assert_int_equal(gm.high_size, 0);
}

static void split_around_hole(void **state)
{
	struct guest_mem gm;
	uint64_t size = KFV_MMIO_HOLE_START + (64ULL << 20);
	/* only the layout is checked; no byte is touched */
	uint8_t *fake = (uint8_t *)0x100000000000ULL;

	(void)state;
	gm_init_from_buffer(&gm, fake, size);
	assert_int_equal(gm.low_size, KFV_MMIO_HOLE_START);
	assert_int_equal(gm.high_size, 64ULL << 20);
	assert_ptr_equal(gm_ptr(&gm, KFV_MMIO_HOLE_START - 1, 1), fake + KFV_MMIO_HOLE_START - 1);
	assert_null(gm_ptr(&gm, KFV_MMIO_HOLE_START - 1, 2)); /* straddles the hole */
	assert_null(gm_ptr(&gm, KFV_MMIO_HOLE_START, 1));
	assert_null(gm_ptr(&gm, KFV_LAPIC_ADDR, 4));
	assert_ptr_equal(gm_ptr(&gm, KFV_MMIO_HOLE_END, 8), fake + KFV_MMIO_HOLE_START);
	assert_ptr_equal(gm_ptr(&gm, KFV_MMIO_HOLE_END + (64ULL << 20) - 1, 1), fake + size - 1);
	assert_null(gm_ptr(&gm, KFV_MMIO_HOLE_END + (64ULL << 20), 1));
}

static void memfd_sealed(void **state)
{
	struct guest_mem gm;

	(void)state;
	assert_int_equal(gm_create(&gm, 8 << 20), 0);
	assert_true(gm.memfd >= 0);
	assert_int_equal(fcntl(gm.memfd, F_GET_SEALS) & (F_SEAL_GROW | F_SEAL_SHRINK),
			 F_SEAL_GROW | F_SEAL_SHRINK);
	assert_int_equal(gm_write(&gm, 0x1000, "abc", 3), 0);
	assert_memory_equal(gm.host + 0x1000, "abc", 3);
	assert_int_equal(gm_write(&gm, (8 << 20) - 1, "ab", 2), -EFAULT);
	gm_destroy(&gm);
	assert_int_equal(gm.memfd, -1);
	gm_destroy(&gm); /* twice is harmless */
	assert_int_equal(gm_create(&gm, 0), -EINVAL);
	assert_int_equal(gm_create(&gm, 4097), -EINVAL);
	/* huge pages come in 2 MiB units */
	assert_int_equal(gm_create_ex(&gm, (2 << 20) + 4096, GM_HUGEPAGES), -EINVAL);
}

static void hugepages_from_the_pool_or_refused(void **state)
{
	struct guest_mem gm;
	int ret;

	(void)state;
	/* Either the host's pool gives 4 MiB (sealed, usable) or the refusal
	 * comes now, as an error, never later as a SIGBUS. */
	ret = gm_create_ex(&gm, 4 << 20, GM_HUGEPAGES);
	if (ret) {
		assert_true(ret == -ENOMEM || ret == -EINVAL || ret == -ENOENT);
		assert_int_equal(gm.memfd, -1);
		return;
	}
	assert_int_equal(gm_write(&gm, (4 << 20) - 4, "abcd", 4), 0);
	assert_int_equal(fcntl(gm.memfd, F_GET_SEALS) & F_SEAL_GROW, F_SEAL_GROW);
	gm_destroy(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounds_below_hole),
		cmocka_unit_test(split_around_hole),
		cmocka_unit_test(memfd_sealed),
		cmocka_unit_test(hugepages_from_the_pool_or_refused),
	};

	return cmocka_run_group_tests_name("guest_mem", tests, NULL, NULL);
}
