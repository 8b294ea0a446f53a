/* The supervisor's reading of a telemetry page a compromised VMM wrote:
 * names with no NUL, kinds and counts out of range, every byte set. The
 * page sits at the very end of a mapping whose next page is PROT_NONE, so
 * a read one byte past it is a SIGSEGV, not a quiet over-read: the
 * orchestrator's tick, its deny/reset matching and the metrics must stay
 * inside the page, and print at most AGENT_NAME_MAX bytes of a name. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "defense/event_log.h"
#include "defense/orchestrator.h"
#include "defense/policy.h"
#include "defense/telemetry.h"
#include "defense/telemetry_read.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)

struct fx {
	char dir[64];
	char events[128];
	char metrics[128];
	void *map;
	size_t map_len;
	struct telemetry *tel; /* its last byte is the last one mapped */
	struct event_log *log;
	struct policy *policy;
	struct ho ho;
};

/* A mapping of whole pages for the page, then one PROT_NONE page, with
 * the telemetry placed so that it ends where the PROT_NONE page starts. */
static struct telemetry *guarded_telemetry(struct fx *fx)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (sizeof(struct telemetry) + page - 1) / page * page;
	char *m;

	/* Alignment: the end of a page is as aligned as the struct needs. */
	assert_int_equal(sizeof(struct telemetry) % _Alignof(struct telemetry), 0);
	fx->map_len = body + page;
	m = mmap(NULL, fx->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + body, page, PROT_NONE), 0);
	fx->map = m;
	return (struct telemetry *)(m + body - sizeof(struct telemetry));
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/kfv-tel-bounds-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->events, sizeof(fx->events), "%s/events.jsonl", fx->dir);
	snprintf(fx->metrics, sizeof(fx->metrics), "%s/metrics.prom", fx->dir);
	if (event_log_open(&fx->log, fx->events, fx->metrics, "bounds"))
		return -1;
	if (policy_load_default(&fx->policy, err, sizeof(err)))
		return -1;
	fx->tel = guarded_telemetry(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	event_log_close(fx->log);
	policy_free(fx->policy);
	munmap(fx->map, fx->map_len);
	unlink(fx->events);
	unlink(fx->metrics);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* An orchestrator over the page: no VMM process (pid 0), so kill, pause
 * and throttle have nothing to act on; deny and reset write action words. */
static struct ho *start(struct fx *fx)
{
	struct ho_config cfg = { .vm = "bounds", .policy = fx->policy, .log = fx->log, .tel = fx->tel,
				 .guest_memfd = -1, .metrics = true };

	ho_init(&fx->ho, &cfg);
	return &fx->ho;
}

/* Every event's resource: at most max bytes. Returns how many events. */
static unsigned check_event_resources(const struct fx *fx, size_t max)
{
	FILE *f = fopen(fx->events, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		const char *res;

		assert_non_null(o);
		res = json_string_value(json_object_get(o, "resource"));
		assert_non_null(res);
		if (strlen(res) > max)
			fail_msg("resource of %zu bytes (max %zu): %s", strlen(res), max, res);
		n++;
		json_decref(o);
	}
	free(line);
	fclose(f);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	assert_non_null(f);
	assert_true(getdelim(&buf, &len, '\0', f) > 0);
	fclose(f);
	return buf;
}

/* Every agent="..." label of the metrics: its name part (before a '#'
 * that makes it unique) at most max bytes. Returns how many labels. */
static unsigned check_metric_labels(const char *text, size_t max)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, "agent=\"")); ) {
		const char *v = p + strlen("agent=\"");
		size_t len = strcspn(v, "#\"");

		if (len > max)
			fail_msg("agent label of %zu bytes (max %zu): %.*s", len, max, (int)len, v);
		n++;
		p = v;
	}
	return n;
}

/* --- every byte of the page set, no terminator anywhere ------------------ */

static void unterminated_names_before_a_guard_page(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx);
	struct policy_decision deny = { .rule = "port-scan", .nr_actions = 1, .actions = { ACT_DENY },
					.kind = EV_UNCLAIMED_PIO, .resource = "pio", .count = 1 };
	struct policy_decision deny_one = deny, reset = deny;
	uint64_t t = ho_now_ns();
	char *text;

	/* 'A' everywhere: names of 24 letters with the next slot's bytes, and
	 * at the end the vCPU counters, all nonzero right up to the guard
	 * page. nr_agents and nr_vcpus are 0x41414141; every counter moved. */
	memset(fx->tel, 'A', sizeof(*fx->tel));
	ho_tick(ho, t);
	ho_tick(ho, t + MS(1000));
	/* Deny and reset match names against the page too. */
	memset(deny_one.resource, 'A', sizeof(deny_one.resource) - 1);
	reset.actions[0] = ACT_RESET_DEVICE;
	snprintf(reset.resource, sizeof(reset.resource), "mmio");
	ho_execute(ho, &deny);
	ho_execute(ho, &deny_one);
	ho_execute(ho, &reset);
	ho_write_metrics(ho);

	/* One event per slot at least (its anomalies moved), each naming at
	 * most the 24 bytes of the name. */
	assert_true(check_event_resources(fx, AGENT_NAME_MAX) >= TELEMETRY_MAX_AGENTS);
	text = slurp(fx->metrics);
	assert_true(check_metric_labels(text, AGENT_NAME_MAX) >= TELEMETRY_MAX_AGENTS);
	assert_non_null(strstr(text, "kind=\"unknown\""));
	free(text);
}

/* The same with 0xff (not UTF-8) and a last slot whose name is the last
 * thing before the counters that run to the guard page. */
static void all_ones_page(void **state)
{
	struct fx *fx = *state;
	struct ho *ho = start(fx);
	char *text;

	memset(fx->tel, 0xff, sizeof(*fx->tel));
	ho_tick(ho, ho_now_ns());
	ho_tick(ho, ho_now_ns() + MS(1000));
	ho_write_metrics(ho);
	check_event_resources(fx, AGENT_NAME_MAX);
	text = slurp(fx->metrics);
	assert_true(check_metric_labels(text, AGENT_NAME_MAX) >= TELEMETRY_MAX_AGENTS);
	free(text);
}

/* --- kinds and counts out of range --------------------------------------- */

static void kinds_out_of_range(void **state)
{
	static const uint32_t kinds[] = { AGENT_KIND_COUNT, AGENT_KIND_COUNT + 1, 0x7fffffffu, 0x80000000u,
					  0xffffffffu };
	struct fx *fx = *state;
	struct ho *ho = start(fx);
	struct policy_decision deny = { .rule = "port-scan", .nr_actions = 1, .actions = { ACT_DENY },
					.kind = EV_UNCLAIMED_PIO, .resource = "pio", .count = 1 };
	char *text;

	memset(fx->tel, 0, sizeof(*fx->tel));
	for (unsigned i = 0; i < TELEMETRY_MAX_AGENTS; i++) {
		struct agent *a = &fx->tel->agents[i];

		memset(a->name, 'k', sizeof(a->name));
		a->kind = kinds[i % (sizeof(kinds) / sizeof(kinds[0]))];
		a->accesses = 1000 + i;
		a->rejects = 10;
	}
	fx->tel->nr_agents = 0xffffffffu;
	fx->tel->nr_vcpus = 0xffffffffu;
	ho_tick(ho, ho_now_ns());
	ho_execute(ho, &deny);
	/* No slot is of a real kind: the bus-wide deny matches none of them. */
	for (unsigned i = 0; i < TELEMETRY_MAX_AGENTS; i++)
		assert_int_equal(fx->tel->agents[i].action, AGENT_ALLOW);
	ho_write_metrics(ho);
	text = slurp(fx->metrics);
	assert_int_equal(check_metric_labels(text, AGENT_NAME_MAX), TELEMETRY_MAX_AGENTS * 7);
	/* every agent sample is labelled kind="unknown" */
	for (const char *p = text; (p = strstr(p, "\nkfv_agent_accesses_total{")); p++) {
		const char *eol = strchr(p + 1, '\n'), *k = strstr(p, "kind=\"unknown\"");

		assert_true(k && (!eol || k < eol));
	}
	free(text);
	check_event_resources(fx, AGENT_NAME_MAX);
}

/* --- the accessors themselves ---------------------------------------- */

/* The name's last byte is the last byte mapped: the accessor reads the 24
 * bytes and not one more. */
static void name_accessor_stops_at_the_array(void **state)
{
	struct fx *fx = *state;
	char *end = (char *)fx->tel + sizeof(*fx->tel);
	const struct agent *a = (const struct agent *)(end - AGENT_NAME_MAX);
	char out[AGENT_NAME_MAX + 1];

	memset(end - AGENT_NAME_MAX, 'z', AGENT_NAME_MAX);
	assert_ptr_equal(telemetry_agent_name(a, out), out);
	assert_int_equal(strlen(out), AGENT_NAME_MAX);
	assert_int_equal(strspn(out, "z"), AGENT_NAME_MAX);
	/* A shorter name is itself. */
	memcpy(end - AGENT_NAME_MAX, "i8042", 6);
	assert_string_equal(telemetry_agent_name(a, out), "i8042");
}

static void view_validates_what_it_copies(void **state)
{
	struct fx *fx = *state;
	struct telemetry *t = fx->tel;
	struct agent_view v;

	memset(t, 0xff, sizeof(*t));
	assert_int_equal(telemetry_nr_agents(t), TELEMETRY_MAX_AGENTS);
	assert_int_equal(telemetry_nr_vcpus(t), TELEMETRY_MAX_VCPUS);
	assert_int_equal(telemetry_agent_view(t, TELEMETRY_MAX_AGENTS - 1, &v), 0);
	assert_int_equal(strlen(v.name), AGENT_NAME_MAX);
	assert_int_equal(v.kind, AGENT_KIND_COUNT);
	assert_string_equal(agent_kind_name(v.kind), "unknown");
	assert_int_equal(v.throttled, UINT64_MAX);
	assert_int_equal(telemetry_agent_view(t, TELEMETRY_MAX_AGENTS, &v), -ERANGE);
	assert_int_equal(telemetry_agent_view(t, ~0u, &v), -ERANGE);
	assert_int_equal(v.kind, AGENT_KIND_COUNT);
	assert_int_equal(v.name[0], '\0');

	t->nr_agents = 3;
	t->nr_vcpus = TELEMETRY_MAX_VCPUS + 1;
	t->agents[0].kind = AGENT_KIND_MEMMAP;
	assert_int_equal(telemetry_nr_agents(t), 3);
	assert_int_equal(telemetry_nr_vcpus(t), TELEMETRY_MAX_VCPUS);
	assert_int_equal(telemetry_agent_view(t, 0, &v), 0);
	assert_int_equal(v.kind, AGENT_KIND_MEMMAP);
	t->agents[0].kind = AGENT_KIND_COUNT;
	assert_int_equal(telemetry_agent_view(t, 0, &v), 0);
	assert_int_equal(v.kind, AGENT_KIND_COUNT);
}

/* A full 24-byte name is matched whole: the resource an event carried for
 * it, and nothing longer or shorter. */
static void set_action_matches_whole_names(void **state)
{
	struct fx *fx = *state;
	struct telemetry *t = fx->tel;
	char name[AGENT_NAME_MAX + 2];

	memset(t, 0, sizeof(*t));
	t->nr_agents = 2;
	memset(t->agents[0].name, 'n', AGENT_NAME_MAX);
	t->agents[0].kind = 0x12345678u;
	memset(t->agents[1].name, 'n', AGENT_NAME_MAX);
	t->agents[1].flags = AGENT_ESSENTIAL;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(telemetry_set_action(t, name, AGENT_DENY), 0); /* 25 bytes */
	name[AGENT_NAME_MAX - 1] = '\0';
	assert_int_equal(telemetry_set_action(t, name, AGENT_DENY), 0); /* 23 bytes */
	name[AGENT_NAME_MAX - 1] = 'n';
	name[AGENT_NAME_MAX] = '\0';
	assert_int_equal(telemetry_set_action(t, name, AGENT_DENY), 1); /* the essential one stays */
	assert_int_equal(t->agents[0].action, AGENT_DENY);
	assert_int_equal(t->agents[1].action, AGENT_ALLOW);
	assert_int_equal(telemetry_set_action(t, name, AGENT_DENY), 0); /* no change, no count */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(unterminated_names_before_a_guard_page, setup, teardown),
		cmocka_unit_test_setup_teardown(all_ones_page, setup, teardown),
		cmocka_unit_test_setup_teardown(kinds_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(name_accessor_stops_at_the_array, setup, teardown),
		cmocka_unit_test_setup_teardown(view_validates_what_it_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(set_action_matches_whole_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
