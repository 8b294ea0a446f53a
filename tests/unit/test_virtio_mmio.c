/* The virtio-mmio transport driven through the MMIO bus of a VM with no
 * KVM behind it, with virtio-rng as the device: registers, feature
 * negotiation, the status state machine, queue setup checks, reset,
 * refused chains counted on the agent, DEVICE_NEEDS_RESET, and the
 * queues' agent: accounting, AGENT_DENY and AGENT_RESET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "defense/telemetry.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"
#include "offline_vm.h"
#include "virtio_fixture.h"

#define BASE 0xd0000000ULL

struct env {
	struct offline_vm o;
	struct fx f;
	struct virtio_rng rng;
};

static uint32_t rd(struct env *e, uint64_t off)
{
	uint32_t v = 0;

	bus_dispatch(&e->o.vm.mmio, false, BASE + off, (uint8_t *)&v, 4);
	return v;
}

static void wr(struct env *e, uint64_t off, uint32_t v)
{
	bus_dispatch(&e->o.vm.mmio, true, BASE + off, (uint8_t *)&v, 4);
}

static struct env *env_new(const struct rate_limit *bytes)
{
	struct env *e = aligned_alloc(4096, (sizeof(*e) + 4095) & ~(size_t)4095);

	memset(e, 0, sizeof(*e));

	offline_vm_init(&e->o);
	fx_init(&e->f, 8);
	gm_init_from_buffer(&e->o.vm.mem, e->f.ram, FX_RAM);
	assert_int_equal(virtio_rng_init(&e->rng, &e->o.vm, 0, bytes, NULL), 0);
	return e;
}

static void env_free(struct env *e)
{
	virtio_mmio_destroy(&e->rng.t);
	fx_free(&e->f);
	free(e);
}

/* The driver's side of §3.1.1, with one queue of 8 at the fixture's rings. */
static void bring_up(struct env *e, uint64_t features)
{
	wr(e, 0x70, 0);
	wr(e, 0x70, 1);
	wr(e, 0x70, 3);
	wr(e, 0x24, 0);
	wr(e, 0x20, (uint32_t)features);
	wr(e, 0x24, 1);
	wr(e, 0x20, (uint32_t)(features >> 32));
	wr(e, 0x70, 0xb);
	assert_int_equal(rd(e, 0x70), 0xb);
	wr(e, 0x30, 0);
	wr(e, 0x38, 8);
	wr(e, 0x80, (uint32_t)FX_DESC);
	wr(e, 0x90, (uint32_t)FX_AVAIL);
	wr(e, 0xa0, (uint32_t)FX_USED);
	wr(e, 0x44, 1);
	assert_int_equal(rd(e, 0x44), 1);
	wr(e, 0x70, 0xf);
	assert_int_equal(rd(e, 0x70), 0xf);
}

static void test_identity(void **state)
{
	struct env *e = env_new(NULL);

	(void)state;
	assert_int_equal(rd(e, 0x0), 0x74726976);
	assert_int_equal(rd(e, 0x4), 2);
	assert_int_equal(rd(e, 0x8), 4);
	wr(e, 0x14, 1);
	assert_int_equal(rd(e, 0x10), 1); /* VERSION_1 */
	wr(e, 0x14, 0);
	assert_int_equal(rd(e, 0x10), 3u << 28); /* INDIRECT_DESC, EVENT_IDX */
	wr(e, 0x30, 0);
	assert_int_equal(rd(e, 0x34), 64);
	wr(e, 0x30, 1);
	assert_int_equal(rd(e, 0x34), 0); /* no such queue */
	env_free(e);
}

static void test_features_ok_rules(void **state)
{
	struct env *e = env_new(NULL);

	(void)state;
	/* Without VERSION_1 FEATURES_OK does not stick. */
	wr(e, 0x70, 1);
	wr(e, 0x70, 3);
	wr(e, 0x24, 0);
	wr(e, 0x20, 0);
	wr(e, 0x70, 0xb);
	assert_int_equal(rd(e, 0x70), 3);
	/* Nor with a feature the device did not offer. */
	wr(e, 0x70, 0);
	wr(e, 0x70, 1);
	wr(e, 0x70, 3);
	wr(e, 0x24, 1);
	wr(e, 0x20, 1 | 2);
	wr(e, 0x70, 0xb);
	assert_int_equal(rd(e, 0x70), 3);
	/* DRIVER_OK without FEATURES_OK, DRIVER before ACKNOWLEDGE. */
	wr(e, 0x70, 7);
	assert_int_equal(rd(e, 0x70), 3);
	wr(e, 0x70, 0);
	wr(e, 0x70, 2);
	assert_int_equal(rd(e, 0x70), 0);
	assert_true(atomic_load(&e->rng.t.agent->rejects) >= 4);
	/* Clearing a bit is refused. */
	bring_up(e, 1ULL << 32);
	wr(e, 0x70, 0x7);
	assert_int_equal(rd(e, 0x70), 0xf);
	/* Features cannot change after FEATURES_OK. */
	wr(e, 0x24, 0);
	wr(e, 0x20, 1u << 28);
	assert_false(virtio_mmio_has(&e->rng.t, 28));
	env_free(e);
}

static void test_queue_setup_checks(void **state)
{
	struct env *e = env_new(NULL);

	(void)state;
	/* Queue registers before FEATURES_OK are refused. */
	wr(e, 0x38, 8);
	assert_int_equal(rd(e, 0x38), 0);
	wr(e, 0x70, 1);
	wr(e, 0x70, 3);
	wr(e, 0x24, 1);
	wr(e, 0x20, 1);
	wr(e, 0x70, 0xb);
	wr(e, 0x38, 12);  /* not a power of two */
	assert_int_equal(rd(e, 0x38), 0);
	wr(e, 0x38, 128); /* above QueueNumMax */
	assert_int_equal(rd(e, 0x38), 0);
	wr(e, 0x38, 8);
	wr(e, 0x80, (uint32_t)FX_RAM - 64); /* desc table leaves RAM */
	wr(e, 0x90, (uint32_t)FX_AVAIL);
	wr(e, 0xa0, (uint32_t)FX_USED);
	wr(e, 0x44, 1);
	assert_int_equal(rd(e, 0x44), 0);
	wr(e, 0x80, (uint32_t)FX_DESC);
	wr(e, 0x84, 1); /* high half: 4 GiB up, outside this RAM */
	wr(e, 0x44, 1);
	assert_int_equal(rd(e, 0x44), 0);
	wr(e, 0x84, 0);
	wr(e, 0x44, 1);
	assert_int_equal(rd(e, 0x44), 1);
	/* An enabled queue cannot be moved. */
	wr(e, 0x80, 0x5000);
	assert_int_equal(rd(e, 0x80), FX_DESC);
	/* Odd widths on registers are refused, reads see 0. */
	uint16_t h = 0xffff;
	bus_dispatch(&e->o.vm.mmio, false, BASE, (uint8_t *)&h, 2);
	assert_int_equal(h, 0);
	env_free(e);
}

static void test_rng_serves_and_refuses(void **state)
{
	struct env *e = env_new(NULL);
	uint32_t id, len;

	(void)state;
	bring_up(e, 1ULL << 32);
	fx_desc(&e->f, 0, FX_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	fx_used_elem(&e->f, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 64);
	assert_int_equal(rd(e, 0x60) & 1, 1);
	wr(e, 0x64, 1);
	assert_int_equal(rd(e, 0x60), 0);

	/* A loop: answered with length 0, counted, device still usable. */
	uint64_t rejects = atomic_load(&e->rng.t.agent->rejects);
	fx_desc(&e->f, 1, FX_BUF, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	fx_desc(&e->f, 2, FX_BUF, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	fx_avail(&e->f, 1);
	/* A readable buffer: wrong direction for rng. */
	fx_desc(&e->f, 3, FX_BUF, 64, 0, 0);
	fx_avail(&e->f, 3);
	/* Indirect was not negotiated. */
	fx_desc(&e->f, 4, FX_IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	fx_avail(&e->f, 4);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 5);
	fx_used_elem(&e->f, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 0);
	fx_used_elem(&e->f, 2, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 0);
	fx_used_elem(&e->f, 4, &id, &len);
	assert_int_equal(len, 64);
	assert_int_equal(atomic_load(&e->rng.t.agent->rejects), rejects + 3);
	assert_int_equal(atomic_load(&e->rng.t.stats.refused[-VQ_E_LOOP]), 1);
	assert_int_equal(atomic_load(&e->rng.t.stats.refused[-VQ_E_DIRECTION]), 1);
	assert_int_equal(atomic_load(&e->rng.t.stats.refused[-VQ_E_INDIRECT]), 1);

	/* A runaway avail index: DEVICE_NEEDS_RESET and a config interrupt,
	 * nothing served until a reset. */
	fx_set_avail_idx(&e->f, (uint16_t)(e->f.avail_idx + 100));
	wr(e, 0x50, 0);
	assert_int_equal(rd(e, 0x70) & 0x40, 0x40);
	assert_int_equal(rd(e, 0x60) & 2, 2);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 5);
	/* Reset returns everything; the device works again. */
	wr(e, 0x70, 0);
	assert_int_equal(rd(e, 0x70), 0);
	assert_int_equal(rd(e, 0x60), 0);
	wr(e, 0x30, 0);
	assert_int_equal(rd(e, 0x44), 0);
	assert_int_equal(rd(e, 0x38), 0);
	memset(e->f.ram + FX_AVAIL, 0, 0x2000);
	e->f.avail_idx = 0;
	bring_up(e, 1ULL << 32);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	/* Notifying a queue that does not exist is refused. */
	rejects = atomic_load(&e->rng.t.agent->rejects);
	wr(e, 0x50, 7);
	assert_int_equal(atomic_load(&e->rng.t.agent->rejects), rejects + 1);
	env_free(e);
}

static void test_rng_rate_limited(void **state)
{
	struct rate_limit bytes = { .size = 100, .one_time_burst = 0, .refill_time_ms = 100000 };
	struct env *e = env_new(&bytes);
	uint32_t id, len;

	(void)state;
	bring_up(e, 1ULL << 32);
	fx_desc(&e->f, 0, FX_BUF, 40, VIRTQ_DESC_F_WRITE, 0);
	fx_desc(&e->f, 1, FX_BUF + 64, 200, VIRTQ_DESC_F_WRITE, 0);
	fx_desc(&e->f, 2, FX_BUF + 512, 16, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 0);
	fx_avail(&e->f, 2);
	fx_avail(&e->f, 1);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	/* 40 and 16 bytes; the 44 left are fewer than the 64 a 200-byte
	 * request waits for, so it waits, unanswered, and so does what
	 * comes after it. */
	assert_int_equal(fx_used_idx(&e->f), 2);
	fx_used_elem(&e->f, 1, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 16);
	assert_int_equal(atomic_load(&e->rng.t.stats.bytes), 56);
	assert_true(atomic_load(&e->rng.t.stats.throttled) >= 1);
	/* The held-back request is the queues' agent's too, and waiting
	 * does not count it as a second access when it is looked at again. */
	assert_int_equal(atomic_load(&e->rng.t.vq_agent->throttled), atomic_load(&e->rng.t.stats.throttled));
	wr(e, 0x50, 0);
	assert_int_equal(atomic_load(&e->rng.t.vq_agent->accesses), 3);
	assert_int_equal(fx_used_idx(&e->f), 2);
	env_free(e);

	/* A bucket of 100 answers a 200-byte request with what it has:
	 * fewer bytes than asked, as virtio-rng allows. */
	e = env_new(&bytes);
	bring_up(e, 1ULL << 32);
	fx_desc(&e->f, 1, FX_BUF, 200, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 1);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	fx_used_elem(&e->f, 0, &id, &len);
	assert_int_equal(len, 100);
	env_free(e);
}

/* VIRTIO_F_EVENT_IDX through the transport: an interrupt only once
 * used.idx passes the driver's used_event; avail_event published when the
 * device has taken everything. */
static void test_event_idx(void **state)
{
	struct env *e = env_new(NULL);
	uint16_t used_event = 3, avail_event;

	(void)state;
	bring_up(e, (1ULL << 32) | (1ULL << 29));
	assert_true(virtio_mmio_has(&e->rng.t, 29));
	memcpy(e->f.ram + FX_AVAIL + 4 + 2 * 8, &used_event, 2);
	fx_desc(&e->f, 0, FX_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 0);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	assert_int_equal(rd(e, 0x60), 0); /* used.idx 2 has not passed 3 */
	memcpy(&avail_event, e->f.ram + FX_USED + 4 + 8 * 8, 2);
	assert_int_equal(avail_event, 2);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(rd(e, 0x60), 0);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 4);
	assert_int_equal(rd(e, 0x60), 1); /* the fourth buffer, index 3, passed it */
	memcpy(&avail_event, e->f.ram + FX_USED + 4 + 8 * 8, 2);
	assert_int_equal(avail_event, 4);
	env_free(e);
}

/* Both agents are in the telemetry, under names that tell devices apart. */
static void test_agent_names(void **state)
{
	struct env *e = env_new(NULL);

	(void)state;
	assert_non_null(e->rng.t.vq_agent);
	assert_string_equal(e->rng.t.vq_agent->name, "virtio-rng0-q");
	assert_int_equal(e->rng.t.vq_agent->kind, AGENT_KIND_VIRTQ);
	assert_string_equal(e->rng.t.agent->name, "virtio-rng0");
	assert_int_equal(e->rng.t.agent->kind, AGENT_KIND_MMIO);
	assert_ptr_not_equal(e->rng.t.agent, e->rng.t.vq_agent);
	env_free(e);
}

/* Chains walked are accesses with their bytes; chains the validator
 * refuses are anomalies on the queues' agent. */
static void test_agent_counts_chains(void **state)
{
	struct env *e = env_new(NULL);
	struct agent *a;

	(void)state;
	a = e->rng.t.vq_agent;
	bring_up(e, 1ULL << 32);
	fx_desc(&e->f, 0, FX_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 0);
	fx_desc(&e->f, 1, FX_BUF + 64, 100, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 1);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	assert_int_equal(atomic_load(&a->accesses), 2);
	assert_int_equal(atomic_load(&a->bytes), 164);
	assert_int_equal(atomic_load(&a->anomalies), 0);
	/* A loop and a wrong direction. */
	fx_desc(&e->f, 2, FX_BUF, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	fx_avail(&e->f, 2);
	fx_desc(&e->f, 3, FX_BUF, 64, 0, 0);
	fx_avail(&e->f, 3);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 4);
	assert_int_equal(atomic_load(&a->anomalies), 2);
	assert_int_equal(atomic_load(&a->accesses), 2);
	assert_int_equal(atomic_load(&a->rejects), 0);
	env_free(e);
}

/* AGENT_DENY: requests come back empty, the guest's buffer untouched;
 * back to AGENT_ALLOW, the device serves again. */
static void test_agent_deny(void **state)
{
	struct env *e = env_new(NULL);
	struct agent *a;
	uint32_t id, len;

	(void)state;
	a = e->rng.t.vq_agent;
	bring_up(e, 1ULL << 32);
	atomic_store(&a->action, AGENT_DENY);
	memset(e->f.ram + FX_BUF, 0x5a, 64);
	fx_desc(&e->f, 0, FX_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 0);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 2);
	fx_used_elem(&e->f, 1, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(e->f.ram[FX_BUF + i], 0x5a);
	assert_int_equal(atomic_load(&a->rejects), 2);
	assert_int_equal(atomic_load(&a->accesses), 2);
	assert_int_equal(atomic_load(&e->rng.t.stats.denied), 2);
	assert_int_equal(atomic_load(&e->rng.t.stats.bytes), 0);
	/* The register window stays usable: deny is on the queues only. */
	assert_int_equal(rd(e, 0x70), 0xf);
	atomic_store(&a->action, AGENT_ALLOW);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 3);
	fx_used_elem(&e->f, 2, &id, &len);
	assert_int_equal(len, 64);
	assert_int_equal(atomic_load(&a->rejects), 2);
	env_free(e);
}

/* AGENT_RESET: the next access the device sees sets DEVICE_NEEDS_RESET
 * with a configuration interrupt; nothing is served until the driver
 * resets the device, which then works again. Counted once. */
static void test_agent_reset(void **state)
{
	struct env *e = env_new(NULL);
	struct agent *a;

	(void)state;
	a = e->rng.t.vq_agent;
	/* Before the driver started the device, there is nothing to reset. */
	atomic_store(&a->action, AGENT_RESET);
	assert_int_equal(rd(e, 0x70), 0);
	assert_int_equal(atomic_load(&a->resets), 1);
	assert_int_equal(atomic_load(&a->action), AGENT_ALLOW);

	bring_up(e, 1ULL << 32);
	fx_desc(&e->f, 0, FX_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	wr(e, 0x64, 1);
	atomic_store(&a->action, AGENT_RESET);
	/* A notify is where a flooding guest meets it. */
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(rd(e, 0x70), 0xf | 0x40);
	assert_int_equal(rd(e, 0x60) & 2, 2);
	assert_int_equal(fx_used_idx(&e->f), 1);
	assert_int_equal(atomic_load(&a->resets), 2);
	assert_int_equal(atomic_load(&a->action), AGENT_ALLOW);
	assert_int_equal(atomic_load(&e->rng.t.stats.agent_resets), 2);
	assert_int_equal(atomic_load(&e->rng.t.stats.needs_reset), 1);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	/* The driver's reset clears it; set up again, the device serves. */
	wr(e, 0x70, 0);
	assert_int_equal(rd(e, 0x70), 0);
	memset(e->f.ram + FX_AVAIL, 0, 0x2000);
	e->f.avail_idx = 0;
	bring_up(e, 1ULL << 32);
	fx_avail(&e->f, 0);
	wr(e, 0x50, 0);
	assert_int_equal(fx_used_idx(&e->f), 1);
	assert_int_equal(rd(e, 0x70), 0xf);
	assert_int_equal(atomic_load(&a->resets), 2);

	/* The register window's agent can ask for it too. */
	atomic_store(&e->rng.t.agent->action, AGENT_RESET);
	assert_int_equal(rd(e, 0x70), 0xf | 0x40);
	assert_int_equal(atomic_load(&e->rng.t.agent->resets), 1);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_features_ok_rules),
		cmocka_unit_test(test_queue_setup_checks),
		cmocka_unit_test(test_rng_serves_and_refuses),
		cmocka_unit_test(test_rng_rate_limited),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_agent_names),
		cmocka_unit_test(test_agent_counts_chains),
		cmocka_unit_test(test_agent_deny),
		cmocka_unit_test(test_agent_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
