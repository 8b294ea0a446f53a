/* The virtio device options: --disk rate limits and --net. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/options.h"

static int parse(struct run_options *o, const char *opt, const char *val)
{
	char *argv[] = { "run", "--kernel", "k", (char *)opt, (char *)val, NULL };
	char msg[512];

	return parse_run_options(5, argv, o, msg, sizeof(msg));
}

static void test_disk_rates(void **state)
{
	struct run_options o;

	(void)state;
	assert_int_equal(parse(&o, "--disk", "img,bw=1M,iops=100"), 0);
	assert_int_equal(o.disks[0].bw[0], 1 << 20);
	assert_int_equal(o.disks[0].bw[1], 0);
	assert_int_equal(o.disks[0].bw[2], 1000); /* default refill: one second */
	assert_int_equal(o.disks[0].iops[0], 100);
	assert_int_equal(o.disks[0].iops[2], 1000);
	assert_int_equal(parse(&o, "--disk", "img,ro,bw=4096,bw_burst=64K,bw_refill_ms=10,iops_burst=5,id=x"), 0);
	assert_true(o.disks[0].read_only);
	assert_string_equal(o.disks[0].id, "x");
	assert_int_equal(o.disks[0].bw[0], 4096);
	assert_int_equal(o.disks[0].bw[1], 65536);
	assert_int_equal(o.disks[0].bw[2], 10);
	assert_int_equal(o.disks[0].iops[1], 5);
	assert_int_equal(o.disks[0].iops[0], 0); /* size 0: unlimited */
	assert_int_equal(parse(&o, "--disk", "img,bw=-1"), -EINVAL);
	assert_int_equal(parse(&o, "--disk", "img,bw=1X"), -EINVAL);
	assert_int_equal(parse(&o, "--disk", "img,bw_refill_ms=0"), -EINVAL);
	assert_int_equal(parse(&o, "--disk", "img,bw_refill_ms=86400001"), -EINVAL);
	assert_int_equal(parse(&o, "--disk", "img,bwx=1"), -EINVAL);
	assert_int_equal(parse(&o, "--disk", "img,iops=1.5"), -EINVAL);
	assert_int_equal(parse(&o, "--disk", "img,iops="), -EINVAL);
}

static void test_net(void **state)
{
	struct run_options o;

	(void)state;
	assert_int_equal(parse(&o, "--net", "tap=tap0"), 0);
	assert_int_equal(o.nr_nets, 1);
	assert_string_equal(o.nets[0].tap, "tap0");
	assert_false(o.nets[0].has_mac);
	assert_int_equal(o.nets[0].mtu, 1500);
	assert_int_equal(parse(&o, "--net", "tap=t,mac=02:aa:BB:0c:00:ff,mtu=9000,tx_bw=1M,rx_ops=10,rx_ops_refill_ms=5"),
			 0);
	assert_true(o.nets[0].has_mac);
	assert_int_equal(o.nets[0].mac[1], 0xaa);
	assert_int_equal(o.nets[0].mac[2], 0xbb);
	assert_int_equal(o.nets[0].mac[5], 0xff);
	assert_int_equal(o.nets[0].mtu, 9000);
	assert_int_equal(o.nets[0].tx_bw[0], 1 << 20);
	assert_int_equal(o.nets[0].rx_ops[0], 10);
	assert_int_equal(o.nets[0].rx_ops[2], 5);
	assert_int_equal(parse(&o, "--net", "mac=02:00:00:00:00:01"), -EINVAL);        /* no tap */
	assert_int_equal(parse(&o, "--net", "tap=a,mac=01:00:00:00:00:01"), -EINVAL);  /* multicast */
	assert_int_equal(parse(&o, "--net", "tap=a,mac=02:00:00:00:00"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,mac=02:00:00:00:00:0g"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,mac=02:00:00:00:00:001"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,mtu=67"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,mtu=65536"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=0123456789abcdef"), -EINVAL); /* 16 bytes */
	assert_int_equal(parse(&o, "--net", "tap=a/b"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap="), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,,mtu=100"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,bogus=1"), -EINVAL);
	assert_int_equal(parse(&o, "--net", "tap=a,rx_bw=x"), -EINVAL);
}

static void test_net_count(void **state)
{
	char *argv[16] = { "run", "--kernel", "k" };
	struct run_options o;
	char msg[256];
	int argc = 3;

	(void)state;
	for (int i = 0; i < KFV_MAX_NETS + 1; i++) {
		argv[argc++] = "--net";
		argv[argc++] = "tap=t";
	}
	assert_int_equal(parse_run_options(argc, argv, &o, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "at most"));
	assert_int_equal(parse_run_options(argc - 2, argv, &o, msg, sizeof(msg)), 0);
	assert_int_equal(o.nr_nets, KFV_MAX_NETS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_rates),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_net_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
