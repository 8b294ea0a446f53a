/* The descriptor-chain validator, one test per class of malformed chain a
 * hostile driver can build, plus the valid shapes it must accept; and
 * VIRTIO_F_EVENT_IDX: the need_event arithmetic across wrap-around, the
 * used_event interrupt suppression and the avail_event the device
 * publishes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "virtio_fixture.h"

static struct vq_chain chain;

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define I VIRTQ_DESC_F_INDIRECT

static int pop(struct fx *f, bool indirect, enum vq_dir dir)
{
	return virtq_pop(&f->q, &f->gm, indirect, dir, &chain);
}

static void test_empty_and_simple(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	fx_desc(&f, 3, FX_BUF, 512, W, 0);
	fx_avail(&f, 3);
	assert_int_equal(pop(&f, false, VQ_DIR_WRITE_ONLY), VQ_CHAIN);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.nr_segs, 1);
	assert_int_equal(chain.writable_bytes, 512);
	assert_ptr_equal(chain.seg[0].host, f.ram + FX_BUF);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	assert_int_equal(virtq_push(&f.q, &f.gm, 3, 100), 0);
	uint32_t id, len;
	fx_used_elem(&f, 0, &id, &len);
	assert_int_equal(fx_used_idx(&f), 1);
	assert_int_equal(id, 3);
	assert_int_equal(len, 100);
	fx_free(&f);
}

static void test_read_then_write(void **state)
{
	struct fx f;
	uint8_t out[20];

	(void)state;
	fx_init(&f, 8);
	fx_desc(&f, 0, FX_BUF, 16, N, 1);
	fx_desc(&f, 1, FX_BUF + 0x1000, 4096, N | W, 2);
	fx_desc(&f, 2, FX_BUF + 0x2000, 1, W, 0);
	memcpy(f.ram + FX_BUF, "0123456789abcdef", 16);
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, false, VQ_DIR_READ_WRITE), VQ_CHAIN);
	assert_int_equal(chain.nr_segs, 3);
	assert_int_equal(chain.nr_readable, 1);
	assert_int_equal(chain.readable_bytes, 16);
	assert_int_equal(chain.writable_bytes, 4097);
	assert_int_equal(vq_chain_read(&chain, 4, out, sizeof(out)), 12);
	assert_memory_equal(out, "456789abcdef", 12);
	assert_int_equal(vq_chain_write(&chain, 4095, "xyz", 3), 2);
	assert_int_equal(f.ram[FX_BUF + 0x1000 + 4095], 'x');
	assert_int_equal(f.ram[FX_BUF + 0x2000], 'y');
	fx_free(&f);
}

static void test_loop(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	fx_desc(&f, 0, FX_BUF, 16, W | N, 1);
	fx_desc(&f, 1, FX_BUF, 16, W | N, 0);
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_LOOP);
	assert_int_equal(chain.nr_segs, 0);
	/* A self-loop too, and the queue goes on afterwards. */
	fx_desc(&f, 5, FX_BUF, 16, W | N, 5);
	fx_avail(&f, 5);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_LOOP);
	fx_desc(&f, 6, FX_BUF, 16, W, 0);
	fx_avail(&f, 6);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	fx_free(&f);
}

static void test_out_of_bounds(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	fx_desc(&f, 0, FX_RAM - 8, 16, W, 0);          /* runs off the end */
	fx_desc(&f, 1, 1ULL << 40, 16, W, 0);          /* far outside */
	fx_desc(&f, 2, UINT64_MAX - 7, 16, W, 0);      /* wraps */
	fx_desc(&f, 3, FX_BUF, UINT32_MAX, W, 0);      /* 4 GiB long */
	fx_desc(&f, 4, FX_BUF, 16, W | N, 9);          /* next outside the table */
	for (uint16_t h = 0; h < 4; h++) {
		fx_avail(&f, h);
		assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_OOB);
	}
	fx_avail(&f, 4);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_NEXT);
	fx_free(&f);
}

static void test_too_long(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 4);
	/* Five entries in an indirect table, queue size 4. */
	for (unsigned i = 0; i < 5; i++)
		fx_desc_at(&f, FX_IND, i, FX_BUF, 8, W | (i < 4 ? N : 0), (uint16_t)(i + 1));
	fx_desc(&f, 0, FX_IND, 5 * 16, I, 0);
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_TOO_LONG);
	/* Four entries are fine. */
	for (unsigned i = 0; i < 4; i++)
		fx_desc_at(&f, FX_IND + 0x100, i, FX_BUF, 8, W | (i < 3 ? N : 0), (uint16_t)(i + 1));
	fx_desc(&f, 1, FX_IND + 0x100, 4 * 16, I, 0);
	fx_avail(&f, 1);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(chain.nr_segs, 4);
	fx_free(&f);
}

static void test_indirect(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	fx_desc_at(&f, FX_IND, 0, FX_BUF, 16, N, 1);
	fx_desc_at(&f, FX_IND, 1, FX_BUF + 16, 16, W, 0);
	fx_desc(&f, 0, FX_IND, 32, I, 0);
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_INDIRECT); /* not negotiated */
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, true, VQ_DIR_READ_WRITE), VQ_CHAIN);
	assert_int_equal(chain.nr_segs, 2);

	/* Nested. */
	fx_desc_at(&f, FX_IND + 0x100, 0, FX_IND, 32, I, 0);
	fx_desc(&f, 1, FX_IND + 0x100, 16, I, 0);
	fx_avail(&f, 1);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_INDIRECT);
	/* With NEXT. */
	fx_desc(&f, 2, FX_IND, 32, I | N, 3);
	fx_avail(&f, 2);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_INDIRECT);
	/* Not at the head. */
	fx_desc(&f, 3, FX_BUF, 16, N, 4);
	fx_desc(&f, 4, FX_IND, 32, I, 0);
	fx_avail(&f, 3);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_INDIRECT);
	/* Bad lengths, and a table outside RAM. */
	fx_desc(&f, 5, FX_IND, 24, I, 0);
	fx_avail(&f, 5);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_INDIRECT);
	fx_desc(&f, 5, FX_IND, 0, I, 0);
	fx_avail(&f, 5);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_INDIRECT);
	fx_desc(&f, 5, FX_RAM - 16, 32, I, 0);
	fx_avail(&f, 5);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_OOB);
	/* A loop inside the table. */
	fx_desc_at(&f, FX_IND + 0x200, 0, FX_BUF, 16, W | N, 1);
	fx_desc_at(&f, FX_IND + 0x200, 1, FX_BUF, 16, W | N, 0);
	fx_desc(&f, 6, FX_IND + 0x200, 32, I, 0);
	fx_avail(&f, 6);
	assert_int_equal(pop(&f, true, VQ_DIR_ANY), VQ_E_LOOP);
	fx_free(&f);
}

static void test_direction(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	fx_desc(&f, 0, FX_BUF, 16, W | N, 1);
	fx_desc(&f, 1, FX_BUF, 16, 0, 0);
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_ORDER);
	fx_desc(&f, 2, FX_BUF, 16, 0, 0);
	fx_avail(&f, 2);
	assert_int_equal(pop(&f, false, VQ_DIR_WRITE_ONLY), VQ_E_DIRECTION);
	fx_desc(&f, 3, FX_BUF, 16, W, 0);
	fx_avail(&f, 3);
	assert_int_equal(pop(&f, false, VQ_DIR_READ_ONLY), VQ_E_DIRECTION);
	fx_avail(&f, 3);
	assert_int_equal(pop(&f, false, VQ_DIR_READ_WRITE), VQ_E_DIRECTION); /* no readable part */
	fx_avail(&f, 2);
	assert_int_equal(pop(&f, false, VQ_DIR_READ_WRITE), VQ_E_DIRECTION); /* no writable part */
	fx_avail(&f, 2);
	assert_int_equal(pop(&f, false, VQ_DIR_READ_ONLY), VQ_CHAIN);
	fx_free(&f);
}

static void test_avail_idx_and_head(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	fx_desc(&f, 0, FX_BUF, 16, W, 0);
	fx_set_avail_idx(&f, 9); /* nine ahead of a queue of eight */
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_AVAIL_IDX);
	assert_int_equal(f.q.last_avail, 0);
	fx_set_avail_idx(&f, 0);
	fx_avail(&f, 8); /* head outside the table */
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_E_HEAD);
	/* Indices wrap at 65536 and that is fine. */
	fx_free(&f);
	fx_init(&f, 8);
	fx_desc(&f, 0, FX_BUF, 16, W, 0);
	f.q.last_avail = 65535;
	fx_set_avail_idx(&f, 65535);
	fx_avail(&f, 0);
	fx_avail(&f, 0);
	assert_int_equal(f.avail_idx, 1);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	fx_free(&f);
}

static void test_queue_config(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	f.q.max_size = 64;
	assert_int_equal(virtq_check_config(&f.q, &f.gm), 0);
	f.q.size = 12;
	assert_int_not_equal(virtq_check_config(&f.q, &f.gm), 0);
	f.q.size = 128;
	assert_int_not_equal(virtq_check_config(&f.q, &f.gm), 0);
	f.q.size = 0;
	assert_int_not_equal(virtq_check_config(&f.q, &f.gm), 0);
	f.q.size = 8;
	f.q.desc = FX_DESC + 8;
	assert_int_not_equal(virtq_check_config(&f.q, &f.gm), 0);
	f.q.desc = FX_RAM - 64; /* table runs off RAM */
	assert_int_not_equal(virtq_check_config(&f.q, &f.gm), 0);
	f.q.desc = FX_DESC;
	f.q.used = FX_RAM - 4;
	assert_int_not_equal(virtq_check_config(&f.q, &f.gm), 0);
	/* A used ring that leaves RAM is refused at push time as well. */
	f.q.used = FX_RAM - 8;
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), VQ_E_RING);
	fx_free(&f);
}

static void test_random_chains_never_crash(void **state)
{
	struct fx f;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	(void)state;
	fx_init(&f, 16);
	for (unsigned round = 0; round < 20000; round++) {
		for (unsigned i = 0; i < 16 * 16; i += 8) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			memcpy(f.ram + FX_DESC + i, &x, 8);
		}
		/* Keep addresses mostly plausible so deep paths run. */
		for (unsigned i = 0; i < 16; i++) {
			uint64_t a;

			memcpy(&a, f.ram + FX_DESC + 16 * i, 8);
			if (a & 1)
				a = FX_BUF + (a & 0xffff);
			memcpy(f.ram + FX_DESC + 16 * i, &a, 8);
			f.ram[FX_DESC + 16 * i + 14] &= 15;
			f.ram[FX_DESC + 16 * i + 15] = 0;
		}
		fx_avail(&f, (uint16_t)(x % 17));
		int r = pop(&f, round & 1, (enum vq_dir)(x % 4));
		assert_true(r == VQ_CHAIN || (r < 0 && r >= -VQ_NR_ERRORS));
		if (r < VQ_E_FATAL) {
			f.q.last_avail = f.avail_idx;
		}
	}
	fx_free(&f);
}

/* Is event in [old, new_idx), walking modulo 2^16? */
static bool passes(uint16_t event, uint16_t new_idx, uint16_t old)
{
	for (uint16_t i = old; i != new_idx; i++)
		if (i == event)
			return true;
	return false;
}

static void test_need_event(void **state)
{
	(void)state;
	assert_true(virtq_need_event(0, 1, 0));
	assert_false(virtq_need_event(1, 1, 0));
	assert_true(virtq_need_event(5, 10, 3));
	assert_true(virtq_need_event(3, 10, 3));
	assert_true(virtq_need_event(9, 10, 3));
	assert_false(virtq_need_event(10, 10, 3));
	assert_false(virtq_need_event(2, 10, 3));
	/* Across the wrap of the 16-bit index. */
	assert_true(virtq_need_event(0xffff, 2, 0xfffe));
	assert_true(virtq_need_event(0, 2, 0xfffe));
	assert_true(virtq_need_event(1, 2, 0xfffe));
	assert_false(virtq_need_event(2, 2, 0xfffe));
	assert_false(virtq_need_event(0xfffd, 2, 0xfffe));
	assert_true(virtq_need_event(0xffff, 0, 0xffff));
	/* Nothing moved: never. */
	for (unsigned e = 0; e < 0x10000; e += 0x101)
		assert_false(virtq_need_event((uint16_t)e, 77, 77));
	/* Against walking the range, near the wrap and at random. */
	for (unsigned i = 0; i < 20000; i++) {
		uint16_t old = (uint16_t)(i < 1000 ? 0xffff - i % 40 : (unsigned)rand());
		uint16_t new_idx = (uint16_t)(old + (unsigned)rand() % 300);
		uint16_t event = (uint16_t)(i % 2 ? old + (unsigned)rand() % 400 - 50 : (unsigned)rand());

		assert_int_equal(virtq_need_event(event, new_idx, old), passes(event, new_idx, old));
	}
}

static uint16_t avail_event(const struct fx *f)
{
	uint16_t v;

	memcpy(&v, f->ram + FX_USED + 4 + 8ULL * f->q.size, 2);
	return v;
}

static void set_used_event(struct fx *f, uint16_t v)
{
	memcpy(f->ram + FX_AVAIL + 4 + 2ULL * f->q.size, &v, 2);
}

/* used_event: an interrupt only for the push that moves used.idx past
 * it, whatever the driver's flags say; wrap-around included. */
static void test_event_idx_used_event(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	f.q.event_idx = true;
	set_used_event(&f, 2); /* interrupt me once the third buffer is used */
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_false(virtq_should_notify(&f.q, &f.gm));
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_false(virtq_should_notify(&f.q, &f.gm));
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_true(virtq_should_notify(&f.q, &f.gm));
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_false(virtq_should_notify(&f.q, &f.gm));
	/* Two pushes, then one look: it passed in between. */
	set_used_event(&f, 4);
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_true(virtq_should_notify(&f.q, &f.gm));
	/* The flags word means nothing with event_idx. */
	memset(f.ram + FX_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT, 1);
	set_used_event(&f, 6);
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_true(virtq_should_notify(&f.q, &f.gm));
	/* Near the wrap of used.idx. */
	f.q.used_idx = f.q.signalled_used = 0xfffe;
	set_used_event(&f, 0xffff);
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_false(virtq_should_notify(&f.q, &f.gm));
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_int_equal(f.q.used_idx, 0);
	assert_true(virtq_should_notify(&f.q, &f.gm));
	/* Without event_idx the flag rules. */
	f.q.event_idx = false;
	assert_int_equal(virtq_push(&f.q, &f.gm, 0, 0), 0);
	assert_false(virtq_should_notify(&f.q, &f.gm));
	memset(f.ram + FX_AVAIL, 0, 1);
	assert_true(virtq_should_notify(&f.q, &f.gm));
	fx_free(&f);
}

/* avail_event: published when the device finds the queue empty (the
 * next index it will take), left alone while it takes chains. */
static void test_event_idx_avail_event(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f, 8);
	f.q.event_idx = true;
	memset(f.ram + FX_USED + 4 + 8ULL * 8, 0xaa, 2);
	fx_desc(&f, 0, FX_BUF, 64, W, 0);
	fx_avail(&f, 0);
	fx_avail(&f, 0);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(avail_event(&f), 0xaaaa); /* busy: the driver need not notify */
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(avail_event(&f), 0xaaaa);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	assert_int_equal(avail_event(&f), 2);
	/* The driver adds one, sees avail_event 2 passed and notifies. */
	fx_avail(&f, 0);
	assert_true(virtq_need_event(avail_event(&f), f.avail_idx, (uint16_t)(f.avail_idx - 1)));
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	assert_int_equal(avail_event(&f), 3);
	/* Across the wrap of avail.idx. */
	f.q.last_avail = 0xffff;
	fx_set_avail_idx(&f, 0xffff);
	fx_avail(&f, 0);
	assert_int_equal(f.avail_idx, 0);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	assert_int_equal(avail_event(&f), 0);
	/* Without event_idx nothing is written in the used ring. */
	f.q.event_idx = false;
	memset(f.ram + FX_USED + 4 + 8ULL * 8, 0xaa, 2);
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	assert_int_equal(avail_event(&f), 0xaaaa);
	fx_free(&f);
}

/* Busy polling (--nohype): the driver is told not to notify, also by an
 * empty pop, sees new buffers only once, and is asked to notify again at
 * virtq_rearm(). */
static void test_busy_poll_avail(void **state)
{
	struct fx f;
	uint16_t seen = 0;

	(void)state;
	fx_init(&f, 8);
	f.q.event_idx = true;
	fx_desc(&f, 0, FX_BUF, 64, W, 0);
	assert_false(virtq_poll_avail(&f.q, &f.gm, &seen));
	assert_true(f.q.busy_polled);
	assert_int_equal(avail_event(&f), 0xffff); /* behind last_avail 0 */
	fx_avail(&f, 0);
	/* The driver's test: no notification for this one. */
	assert_false(virtq_need_event(avail_event(&f), f.avail_idx, (uint16_t)(f.avail_idx - 1)));
	assert_true(virtq_poll_avail(&f.q, &f.gm, &seen));
	assert_false(virtq_poll_avail(&f.q, &f.gm, &seen)); /* seen once, not again */
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	/* An empty pop while polled keeps the driver quiet. */
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_EMPTY);
	assert_int_equal(avail_event(&f), 0);
	fx_avail(&f, 0);
	assert_false(virtq_need_event(avail_event(&f), f.avail_idx, (uint16_t)(f.avail_idx - 1)));
	assert_int_equal(pop(&f, false, VQ_DIR_ANY), VQ_CHAIN);
	/* The window closes: notify at the next buffer again. */
	virtq_rearm(&f.q, &f.gm);
	assert_false(f.q.busy_polled);
	assert_int_equal(avail_event(&f), 2);
	fx_avail(&f, 0);
	assert_true(virtq_need_event(avail_event(&f), f.avail_idx, (uint16_t)(f.avail_idx - 1)));
	/* Without event_idx there is nothing to poll with. */
	f.q.event_idx = false;
	assert_false(virtq_poll_avail(&f.q, &f.gm, &seen));
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_simple),
		cmocka_unit_test(test_read_then_write),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_out_of_bounds),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_avail_idx_and_head),
		cmocka_unit_test(test_queue_config),
		cmocka_unit_test(test_random_chains_never_crash),
		cmocka_unit_test(test_need_event),
		cmocka_unit_test(test_event_idx_used_event),
		cmocka_unit_test(test_event_idx_avail_event),
		cmocka_unit_test(test_busy_poll_avail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
