/* Token buckets: refill, one-time burst, oversized requests, waits, parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/virtio/rate_limiter.h"

#define MS 1000000ULL

static void test_unlimited(void **state)
{
	struct token_bucket tb;

	(void)state;
	tb_init(&tb, 0, 0, 100, 0);
	assert_true(tb_consume(&tb, UINT64_MAX, 0));
	tb_init(&tb, 100, 0, 0, 0);
	assert_true(tb_consume(&tb, 1000, 0));
	assert_int_equal(tb_wait_ns(&tb, 1000, 0), 0);
}

static void test_refill(void **state)
{
	struct token_bucket tb;

	(void)state;
	tb_init(&tb, 1000, 0, 1000, 0); /* 1000 tokens a second */
	assert_true(tb_consume(&tb, 1000, 0));
	assert_false(tb_consume(&tb, 1, 0));
	assert_int_equal(tb.throttled, 1);
	assert_int_equal(tb_wait_ns(&tb, 1, 0), 1 * MS);
	assert_int_equal(tb_wait_ns(&tb, 500, 0), 500 * MS);
	assert_false(tb_consume(&tb, 1, 999999));
	assert_true(tb_consume(&tb, 1, 1 * MS));
	assert_true(tb_consume(&tb, 249, 250 * MS));
	assert_false(tb_consume(&tb, 1, 250 * MS));
	/* A long pause refills to size, never beyond. */
	assert_int_equal(tb_available(&tb, 100000 * MS), 1000);
	/* Time going backwards changes nothing. */
	assert_int_equal(tb_available(&tb, 5 * MS), 1000);
}

static void test_burst(void **state)
{
	struct token_bucket tb;

	(void)state;
	tb_init(&tb, 100, 50, 1000, 0);
	assert_int_equal(tb_available(&tb, 0), 150);
	assert_true(tb_consume(&tb, 120, 0)); /* 50 burst + 70 */
	assert_int_equal(tb.one_time_burst, 0);
	assert_int_equal(tb.budget, 30);
	/* The burst never comes back. */
	assert_int_equal(tb_available(&tb, 10000 * MS), 100);
}

static void test_oversized(void **state)
{
	struct token_bucket tb;

	(void)state;
	tb_init(&tb, 100, 0, 100, 0);
	assert_true(tb_consume(&tb, 500, 0)); /* from a full bucket */
	assert_int_equal(tb.budget, 0);
	assert_false(tb_consume(&tb, 500, 50 * MS));
	assert_int_equal(tb_wait_ns(&tb, 500, 50 * MS), 50 * MS);
	assert_true(tb_consume(&tb, 500, 100 * MS));
}

static void test_huge_values(void **state)
{
	struct token_bucket tb;

	(void)state;
	tb_init(&tb, UINT64_MAX / 2, 0, 86400000ULL, 0);
	assert_true(tb_consume(&tb, UINT64_MAX / 2, 0));
	assert_true(tb_available(&tb, 86400000ULL * MS / 2) > 0);
}

static void test_parse(void **state)
{
	uint64_t s, b, r;

	(void)state;
	assert_int_equal(tb_parse("1000,0,100", &s, &b, &r), 0);
	assert_int_equal(s, 1000);
	assert_int_equal(b, 0);
	assert_int_equal(r, 100);
	assert_int_equal(tb_parse("1,2", &s, &b, &r), -EINVAL);
	assert_int_equal(tb_parse("1,2,3,4", &s, &b, &r), -EINVAL);
	assert_int_equal(tb_parse("-1,2,3", &s, &b, &r), -EINVAL);
	assert_int_equal(tb_parse("1, 2,3", &s, &b, &r), -EINVAL);
	assert_int_equal(tb_parse("99999999999999999999,2,3", &s, &b, &r), -EINVAL);
	assert_int_equal(tb_parse("1,2,999999999999", &s, &b, &r), -EINVAL);
}

/* A request takes from both buckets or from neither, and waits until
 * both can give. */
static void test_take_request(void **state)
{
	struct rate_limit ops_rl = { 2, 0, 1000 }, bytes_rl = { 1000, 500, 1000 };
	struct token_bucket ops, bytes;
	uint64_t wait;

	(void)state;
	tb_init_limit(&ops, &ops_rl, 0);
	tb_init_limit(&bytes, &bytes_rl, 0);
	assert_true(tb_take_request(&ops, &bytes, 1200, 0, &wait)); /* burst 500 + 700 */
	assert_int_equal(wait, 0);
	assert_int_equal(tb_available(&bytes, 0), 300);
	/* Bytes short: nothing taken, not even the operation. */
	assert_false(tb_take_request(&ops, &bytes, 400, 0, &wait));
	assert_int_equal(wait, 100 * MS);
	assert_int_equal(tb_available(&ops, 0), 1);
	assert_int_equal(tb_available(&bytes, 0), 300);
	assert_true(tb_take_request(&ops, &bytes, 400, wait, &wait));
	/* Operations short: a zero-byte request (flush) waits for one. */
	assert_false(tb_take_request(&ops, &bytes, 0, 100 * MS, &wait));
	assert_true(wait >= 400 * MS && wait <= 500 * MS); /* never early */
	assert_true(tb_take_request(&ops, &bytes, 0, 100 * MS + wait, &wait));
	assert_int_equal(ops.throttled, 2);
	/* NULL configuration: unlimited. */
	tb_init_limit(&ops, NULL, 0);
	tb_init_limit(&bytes, NULL, 0);
	for (int i = 0; i < 1000; i++)
		assert_true(tb_take_request(&ops, &bytes, UINT64_MAX, 0, &wait));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited), cmocka_unit_test(test_refill),
		cmocka_unit_test(test_burst),     cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_huge_values), cmocka_unit_test(test_parse),
		cmocka_unit_test(test_take_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
