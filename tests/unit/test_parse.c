#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/parse.h"

static void sizes_with_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_size("128M", &v), 0);
	assert_int_equal(v, 128ULL << 20);
	assert_int_equal(parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse_size("512k", &v), 0);
	assert_int_equal(v, 512ULL << 10);
	assert_int_equal(parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("64MB", &v), 0);
	assert_int_equal(v, 64ULL << 20);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	assert_int_equal(parse_size("256", &v), 0); /* bare number: MiB */
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(parse_size("0", &v), 0);
	assert_int_equal(v, 0);
}

static void sizes_rejected(void **state)
{
	uint64_t v = 42;

	(void)state;
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("abc", &v), -EINVAL);
	assert_int_equal(parse_size("-1M", &v), -EINVAL);
	assert_int_equal(parse_size("+1M", &v), -EINVAL);
	assert_int_equal(parse_size("12Q", &v), -EINVAL);
	assert_int_equal(parse_size("12MM", &v), -EINVAL);
	assert_int_equal(parse_size("12 M", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("12Mx", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("17179869184G", &v), -ERANGE); /* 2^34 GiB overflows 64 bits */
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
	assert_int_equal(v, 42); /* untouched on failure */
}

static void uints(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(parse_uint("4", 1, 255, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_uint("255", 1, 255, &v), 0);
	assert_int_equal(parse_uint("0", 1, 255, &v), -ERANGE);
	assert_int_equal(parse_uint("256", 1, 255, &v), -ERANGE);
	assert_int_equal(parse_uint("4x", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint("-4", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint(" 4", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint("", 1, 255, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes_with_suffixes),
		cmocka_unit_test(sizes_rejected),
		cmocka_unit_test(uints),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
