#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "defense/policy.h"
#include "util/file.h"

#define MS(x) ((uint64_t)(x) * 1000000ULL)

extern const char policy_default_json[];

static struct policy *load(const char *text)
{
	struct policy *p = NULL;
	char err[512] = "";
	int ret = policy_load_string(text, "t", &p, err, sizeof(err));

	if (ret)
		print_error("unexpected refusal: %s\n", err);
	assert_int_equal(ret, 0);
	assert_non_null(p);
	return p;
}

static struct event ev_of(enum event_kind kind, const char *resource, uint64_t count)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.severity = SEV_WARNING;
	ev.count = count;
	snprintf(ev.vm, sizeof(ev.vm), "vm0");
	snprintf(ev.resource, sizeof(ev.resource), "%s", resource);
	return ev;
}

/* Feeds one event; returns the number of decisions, kept in d. */
static unsigned feed(struct policy *p, enum event_kind kind, const char *resource, uint64_t count, uint64_t now,
		     struct policy_decision *d, unsigned max)
{
	struct event ev = ev_of(kind, resource, count);

	return policy_observe(p, &ev, now, d, max);
}

static void assert_actions(const struct policy_decision *d, unsigned n, const enum policy_action *want)
{
	assert_int_equal(d->nr_actions, n);
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(policy_action_name(d->actions[i]), policy_action_name(want[i]));
}

/* ---- parsing ---------------------------------------------------------- */

static void minimal_policy_takes_default_settings(void **state)
{
	struct policy *p;
	const struct policy_settings *s;

	(void)state;
	p = load("{\"version\": 1, \"rules\": []}");
	s = policy_settings(p);
	assert_int_equal(policy_nr_rules(p), 0);
	assert_int_equal(s->exit_storm_per_s, 250000);
	assert_int_equal(s->restart_budget, 2);
	assert_int_equal(s->throttle_percent, 10);
	assert_int_equal(s->pause_ms, 2000);
	assert_int_equal(s->tick_ms, 50);
	assert_int_equal(s->diverge_percent, 10);
	assert_int_equal(s->diverge_slack, 64);
	policy_free(p);
}

static void settings_and_rule_read(void **state)
{
	static const char text[] =
		"{\"version\": 1, \"description\": \"test\",\n"
		" \"settings\": {\"exit_storm_per_s\": 0, \"restart_budget\": 5, \"throttle_percent\": 100,\n"
		"              \"pause_ms\": 10, \"tick_ms\": 20, \"diverge_percent\": 0, \"diverge_slack\": 1000},\n"
		" \"rules\": [{\"name\": \"a.b_c-1\", \"description\": \"d\",\n"
		"            \"match\": {\"kind\": \"guard_alarm\", \"resource\": \"*\", \"vm\": \"*\", \"min_severity\": \"info\"},\n"
		"            \"when\": {\"rate_per_s\": 5, \"window_ms\": 1000},\n"
		"            \"escalate\": [[\"dump\", \"kill\", \"restart\", \"cut_net\"], \"quarantine\"],\n"
		"            \"hold_down_ms\": 0, \"reset_after_ms\": 0, \"pause_ms\": 7}]}";
	struct policy *p = load(text);
	const struct policy_settings *s = policy_settings(p);

	(void)state;
	assert_int_equal(s->exit_storm_per_s, 0);
	assert_int_equal(s->restart_budget, 5);
	assert_int_equal(s->throttle_percent, 100);
	assert_int_equal(s->pause_ms, 10);
	assert_int_equal(s->tick_ms, 20);
	assert_int_equal(s->diverge_percent, 0);
	assert_int_equal(s->diverge_slack, 1000);
	assert_int_equal(policy_nr_rules(p), 1);
	policy_free(p);
}

struct bad {
	const char *text;
	unsigned line;
	const char *reason; /* a part of the message */
};

static const struct bad bad_policies[] = {
	/* syntax, as jansson reports it */
	{ "{\"version\": 1,\n\"rules\": []\n\"x\": 1}", 3, "expected" },
	{ "{\"version\": 1, \"rules\": []}\n\ngarbage", 3, "end of file expected" },
	{ "{\"version\": 1,\n \"version\": 1, \"rules\": []}", 2, "duplicate object key" },
	{ "", 1, "" },
	/* the document */
	{ "\n[1, 2]", 2, "a policy is a JSON object" },
	{ "{\"rules\": []}", 1, "missing key \"version\"" },
	{ "{\"version\": 1,\n \"rules\": [],\n \"verison\": 2}", 3, "unknown key \"verison\" in the policy" },
	{ "{\"rules\": [],\n \"version\": 2}", 2, "unsupported version 2" },
	{ "{\"version\": \"1\", \"rules\": []}", 1, "version must be a whole number" },
	{ "{\"version\": 1}", 1, "missing key \"rules\"" },
	{ "{\"version\": 1,\n \"rules\": {}}", 2, "rules must be an array" },
	/* settings */
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": {\n  \"throttle_percent\": 0}}", 3,
	  "throttle_percent must be between 1 and 100, not 0" },
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": {\"tick_ms\": 5,\n  \"throttle_percent\": 101}}", 3,
	  "throttle_percent must be between 1 and 100, not 101" },
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": {\"restart_budget\": -1}}", 2, "restart_budget must be between" },
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": {\"pause_ms\": 1.5}}", 2, "pause_ms must be a whole number" },
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": {\"pause_ms\": 1e3}}", 2, "pause_ms must be a whole number" },
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": {\n\n \"pause\": 1}}", 4, "unknown key \"pause\" in settings" },
	{ "{\"version\": 1, \"rules\": [],\n \"settings\": [1]}", 2, "settings must be an object" },
	/* rules */
	{ "{\"version\": 1, \"rules\": [\n  42]}", 2, "a rule must be an object" },
	{ "{\"version\": 1, \"rules\": [\n  {\"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"]}]}", 2,
	  "missing key \"name\"" },
	{ "{\"version\": 1, \"rules\": [\n  {\"name\": \"has space\"}]}", 2, "a rule name is 1 to 47" },
	{ "{\"version\": 1, \"rules\": [\n  {\"name\": \"\"}]}", 2, "a rule name is 1 to 47" },
	{ "{\"version\": 1, \"rules\": [\n  {\"name\": \"r\",\n   \"colour\": \"red\"}]}", 3,
	  "unknown key \"colour\" in a rule" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\",\n \"escalate\": [\"log\"]}]}", 1, "rule \"r\": missing key \"match\"" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {}}]}", 2,
	  "missing key \"kind\"" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {\n"
	  "   \"kind\": \"port_scan\"}}]}",
	  3, "rule \"r\": unknown event kind \"port_scan\" (kinds: vm_start, vm_end, unclaimed_pio" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {\n"
	  "   \"kind\": \"policy_action\"}}]}",
	  3, "policy_action events are what the policy does" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {\"kind\": \"vm_end\",\n"
	  "   \"min_severity\": \"loud\"}}]}",
	  3, "unknown severity \"loud\"" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {\"kind\": \"vm_end\",\n"
	  "   \"resource\": \"\"}}]}",
	  3, "match.resource must be 1 to 63" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {\"kind\": \"vm_end\",\n"
	  "   \"vm\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}]}",
	  3, "match.vm must be 1 to 63" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"escalate\": [\"log\"],\n \"match\": {\"kind\": \"vm_end\",\n"
	  "   \"what\": 1}}]}",
	  3, "unknown key \"what\" in match" },
	/* when */
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\": {\"window_ms\": 100,\n  \"count\": 0}}]}",
	  3, "rule \"r\": count must be between 1 and" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\": {\"count\": 5,\n  \"window_ms\": 0}}]}",
	  3, "window_ms must be between 1 and 3600000, not 0" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\":\n  {\"count\": 5}}]}",
	  3, "when needs window_ms" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\": {\"count\": 5, \"window_ms\": 10,\n  \"rate_per_s\": 5}}]}",
	  3, "count or rate_per_s, not both" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\": {\"window_ms\": 10}}]}",
	  2, "when needs count or rate_per_s" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\": {\"count\": \"256\", \"window_ms\": 10}}]}",
	  2, "count must be a whole number" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"when\": {\"rate_per_s\": 1000000001, \"window_ms\": 10}}]}",
	  2, "rate_per_s must be between 1 and 1000000000" },
	/* escalate */
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}}]}", 1,
	  "missing key \"escalate\"" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": []}]}", 2,
	  "escalate must be an array of 1 to 8 steps" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": \"log\"}]}", 2,
	  "escalate must be an array" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": "
	  "[\"log\",\"log\",\"log\",\"log\",\"log\",\"log\",\"log\",\"log\",\"log\"]}]}",
	  2, "1 to 8 steps" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": [\"log\",\n"
	  "   []]}]}",
	  3, "an escalate step holds 1 to 4 actions, not 0" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": [\"log\",\n"
	  "   [\"log\", \"deny\", \"dump\", \"kill\", \"cut_net\"]]}]}",
	  3, "1 to 4 actions, not 5" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": [\"log\",\n"
	  "   [\"dump\",\n    \"nuke\"]]}]}",
	  4, "rule \"r\": unknown action \"nuke\" (actions: log, throttle, deny, reset_device, pause, kill, restart, "
	     "quarantine, dump, cut_net)" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": [\"log\",\n"
	  "   [\"dump\", \"kill\",\n \"dump\"]]}]}",
	  4, "action \"dump\" twice in one step" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": [\n"
	  "   [\"restart\", \"quarantine\"]]}]}",
	  3, "restart and quarantine in one step" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"},\n \"escalate\": [\n"
	  "   7]}]}",
	  3, "an escalate step is an action name or an array" },
	/* times */
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"hold_down_ms\": 86400001}]}",
	  2, "hold_down_ms must be between 0 and 86400000" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"reset_after_ms\": true}]}",
	  2, "reset_after_ms must be a whole number" },
	{ "{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  " \"pause_ms\": 0}]}",
	  2, "pause_ms must be between 1" },
	/* across rules */
	{ "{\"version\": 1, \"rules\": [\n"
	  " {\"name\": \"same\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"]},\n"
	  " {\"name\": \"other\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"]},\n"
	  " {\"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"],\n"
	  "  \"name\": \"same\"}]}",
	  5, "rule name \"same\" is already used at line 2" },
};

static void bad_policies_refused_with_line_and_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
		const struct bad *b = &bad_policies[i];
		struct policy *p = (struct policy *)1;
		char err[512] = "", prefix[32];
		int ret = policy_load_string(b->text, "t", &p, err, sizeof(err));

		snprintf(prefix, sizeof(prefix), "t: line %u: ", b->line);
		if (ret != -EINVAL || p || strncmp(err, prefix, strlen(prefix)) || !strstr(err, b->reason) ||
		    strchr(err, '\n'))
			fail_msg("case %zu: got %d \"%s\"; want \"%s...%s\"", i, ret, err, prefix, b->reason);
	}
}

static void too_many_rules_refused(void **state)
{
	size_t cap = 64 * 1024;
	char *text = malloc(cap), err[256];
	struct policy *p;
	size_t n;

	(void)state;
	assert_non_null(text);
	for (unsigned rules = 64; rules <= 65; rules++) {
		n = (size_t)snprintf(text, cap, "{\"version\": 1, \"rules\": [\n");
		for (unsigned i = 0; i < rules; i++)
			n += (size_t)snprintf(text + n, cap - n,
					      "%s{\"name\": \"r%u\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"]}\n",
					      i ? "," : "", i);
		snprintf(text + n, cap - n, "]}");
		if (rules == 64) {
			p = load(text);
			assert_int_equal(policy_nr_rules(p), 64);
			policy_free(p);
		} else {
			assert_int_equal(policy_load_string(text, "t", &p, err, sizeof(err)), -EINVAL);
			assert_null(p);
			assert_string_equal(err, "t: line 1: 65 rules; at most 64");
		}
	}
	free(text);
}

static void load_file_names_the_file(void **state)
{
	char path[] = "/tmp/kfv-policy-XXXXXX", err[512];
	static const char bad[] = "{\"version\": 1,\n\"rules\": [{\"name\": \"x\", \"match\": {\"kind\": \"nope\"}, "
				  "\"escalate\": [\"log\"]}]}\n";
	static const char good[] = "{\"version\": 1, \"rules\": []}";
	struct policy *p;
	char want[600];
	int fd;

	(void)state;
	assert_int_equal(policy_load_file("/nonexistent/policy.json", &p, err, sizeof(err)), -ENOENT);
	assert_null(p);
	assert_string_equal(err, "/nonexistent/policy.json: No such file or directory");
	assert_int_equal(policy_load_file("/tmp", &p, err, sizeof(err)), -EISDIR);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof(bad) - 1), (ssize_t)(sizeof(bad) - 1));
	assert_int_equal(policy_load_file(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: line 2: rule \"x\": unknown event kind \"nope\"", path);
	assert_memory_equal(err, want, strlen(want));

	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, good, sizeof(good) - 1, 0), (ssize_t)(sizeof(good) - 1));
	assert_int_equal(policy_load_file(path, &p, err, sizeof(err)), 0);
	policy_free(p);
	close(fd);
	unlink(path);
}

static void action_names_round_trip(void **state)
{
	(void)state;
	for (int a = 0; a < ACT_COUNT; a++)
		assert_int_equal(policy_action_parse(policy_action_name((enum policy_action)a)), a);
	assert_string_equal(policy_action_name(ACT_RESET_DEVICE), "reset_device");
	assert_string_equal(policy_action_name(ACT_CUT_NET), "cut_net");
	assert_string_equal(policy_action_name(ACT_COUNT), "unknown");
	assert_int_equal(policy_action_parse("Kill"), -1);
	assert_int_equal(policy_action_parse(NULL), -1);
}

/* ---- the engine ------------------------------------------------------- */

static void count_over_a_sliding_window(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": [{\"name\": \"c\", \"match\": {\"kind\": \"unclaimed_pio\"},"
				" \"when\": {\"count\": 3, \"window_ms\": 1000}, \"escalate\": [\"log\"]}]}");
	struct policy_decision d[4];

	(void)state;
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 1, MS(0), d, 4), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 1, MS(600), d, 4), 0);
	/* the first has left the window: two in it */
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 1, MS(1100), d, 4), 0);
	/* other kinds do not count */
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "pio", 1, MS(1150), d, 4), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 1, MS(1200), d, 4), 1);
	assert_string_equal(d[0].rule, "c");
	assert_int_equal(d[0].step, 0);
	assert_int_equal(d[0].count, 3);
	assert_int_equal(d[0].kind, EV_UNCLAIMED_PIO);
	assert_string_equal(d[0].resource, "pio");
	/* the window was cleared when it fired; one event's count can fill it */
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 2, MS(1300), d, 4), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 5, MS(1400), d, 4), 1);
	assert_int_equal(d[0].count, 7);
	/* count 0 stands for one occurrence */
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 0, MS(1500), d, 4), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 0, MS(1501), d, 4), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 0, MS(1502), d, 4), 1);
	assert_int_equal(d[0].count, 3);
	policy_free(p);
}

static void rate_over_a_window(void **state)
{
	/* 100/s over 2 s: 200 occurrences in the window */
	struct policy *p = load("{\"version\": 1, \"rules\": [{\"name\": \"r\", \"match\": {\"kind\": \"rate_limit\"},"
				" \"when\": {\"rate_per_s\": 100, \"window_ms\": 2000}, \"escalate\": [\"log\"]}]}");
	struct policy_decision d[1];

	(void)state;
	assert_int_equal(feed(p, EV_RATE_LIMIT, "virtio-blk0", 150, MS(0), d, 1), 0);
	assert_int_equal(feed(p, EV_RATE_LIMIT, "virtio-blk0", 49, MS(1000), d, 1), 0);
	assert_int_equal(feed(p, EV_RATE_LIMIT, "virtio-blk0", 1, MS(1900), d, 1), 1);
	assert_int_equal(d[0].count, 200);
	/* 150/s for a moment is not 100/s over the window */
	assert_int_equal(feed(p, EV_RATE_LIMIT, "virtio-blk0", 150, MS(5000), d, 1), 0);
	assert_int_equal(feed(p, EV_RATE_LIMIT, "virtio-blk0", 49, MS(7500), d, 1), 0);
	policy_free(p);
}

static void escalation_stays_on_the_last_step(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": [{\"name\": \"e\", \"match\": {\"kind\": \"exit_storm\"},"
				" \"escalate\": [\"log\", [\"throttle\", \"cut_net\"], \"kill\"]}]}");
	struct policy_decision d[1];
	static const enum policy_action s0[] = { ACT_LOG }, s1[] = { ACT_THROTTLE, ACT_CUT_NET }, s2[] = { ACT_KILL };

	(void)state;
	assert_int_equal(feed(p, EV_EXIT_STORM, "vm", 1, MS(0), d, 1), 1);
	assert_int_equal(d[0].step, 0);
	assert_actions(&d[0], 1, s0);
	assert_int_equal(feed(p, EV_EXIT_STORM, "vm", 1, MS(1), d, 1), 1);
	assert_int_equal(d[0].step, 1);
	assert_actions(&d[0], 2, s1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(feed(p, EV_EXIT_STORM, "vm", 1, MS(2 + i), d, 1), 1);
		assert_int_equal(d[0].step, 2);
		assert_actions(&d[0], 1, s2);
	}
	policy_free(p);
}

static void hold_down_counts_but_does_not_fire(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": ["
				"{\"name\": \"every\", \"match\": {\"kind\": \"msr_denied\"}, \"escalate\": [\"log\", \"deny\"],"
				" \"hold_down_ms\": 1000},"
				"{\"name\": \"windowed\", \"match\": {\"kind\": \"unclaimed_mmio\"},"
				" \"when\": {\"count\": 2, \"window_ms\": 10000}, \"escalate\": [\"log\", \"deny\"],"
				" \"hold_down_ms\": 1000}]}");
	struct policy_decision d[2];

	(void)state;
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 1, MS(0), d, 2), 1);
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 1, MS(500), d, 2), 0);
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 1, MS(999), d, 2), 0);
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 1, MS(1000), d, 2), 1);
	assert_string_equal(d[0].rule, "every");
	assert_int_equal(d[0].step, 1);
	assert_int_equal(d[0].count, 3); /* all since the last firing */

	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 1, MS(2000), d, 2), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 1, MS(2001), d, 2), 1);
	assert_int_equal(d[0].count, 2);
	/* the condition holds again inside the hold-down: no decision */
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 1, MS(2002), d, 2), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 1, MS(2003), d, 2), 0);
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 1, MS(3000), d, 2), 0);
	/* the hold-down (until 3001 ms) is over: what it counted fires */
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 1, MS(3001), d, 2), 1);
	assert_string_equal(d[0].rule, "windowed");
	assert_int_equal(d[0].step, 1);
	assert_int_equal(d[0].count, 4);
	policy_free(p);
}

static void ladder_resets_after_a_quiet_time(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": [{\"name\": \"q\", \"match\": {\"kind\": \"guard_alarm\"},"
				" \"escalate\": [\"log\", \"kill\"], \"reset_after_ms\": 5000}]}");
	struct policy_decision d[1];

	(void)state;
	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(0), d, 1), 1);
	assert_int_equal(d[0].step, 0);
	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(4999), d, 1), 1);
	assert_int_equal(d[0].step, 1);
	/* quiet for 4999 ms only since the last match: no reset */
	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(9998), d, 1), 1);
	assert_int_equal(d[0].step, 1);
	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(14998), d, 1), 1);
	assert_int_equal(d[0].step, 0);
	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(14999), d, 1), 1);
	assert_int_equal(d[0].step, 1);
	policy_free(p);
}

static void several_rules_fire_in_file_order(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": ["
				"{\"name\": \"first\", \"match\": {\"kind\": \"reports_diverge\"}, \"escalate\": [\"log\"]},"
				"{\"name\": \"other-kind\", \"match\": {\"kind\": \"vm_end\"}, \"escalate\": [\"log\"]},"
				"{\"name\": \"second\", \"match\": {\"kind\": \"reports_diverge\"}, \"escalate\": [[\"dump\", \"kill\"]]}"
				"]}");
	struct policy_decision d[4];
	static const enum policy_action dk[] = { ACT_DUMP, ACT_KILL };

	(void)state;
	assert_int_equal(feed(p, EV_REPORTS_DIVERGE, "vmm", 1, MS(0), d, 4), 2);
	assert_string_equal(d[0].rule, "first");
	assert_string_equal(d[1].rule, "second");
	assert_actions(&d[1], 2, dk);
	/* room for one: the second stays armed and fires on the next event */
	assert_int_equal(feed(p, EV_REPORTS_DIVERGE, "vmm", 1, MS(1), d, 1), 1);
	assert_string_equal(d[0].rule, "first");
	assert_int_equal(feed(p, EV_REPORTS_DIVERGE, "vmm", 1, MS(2), d, 0), 0);
	assert_int_equal(feed(p, EV_REPORTS_DIVERGE, "vmm", 1, MS(3), NULL, 4), 0);
	assert_int_equal(feed(p, EV_REPORTS_DIVERGE, "vmm", 1, MS(4), d, 4), 2);
	assert_string_equal(d[1].rule, "second");
	assert_int_equal(d[1].count, 4); /* it counted all four events while it could not fire */
	policy_free(p);
}

static void matching_by_resource_vm_and_severity(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": ["
				"{\"name\": \"virtio\", \"match\": {\"kind\": \"malformed_descriptor\", \"resource\": \"virtio-*\"},"
				" \"escalate\": [\"reset_device\"]},"
				"{\"name\": \"tenant\", \"match\": {\"kind\": \"malformed_descriptor\", \"vm\": \"tenant-?\"},"
				" \"escalate\": [\"log\"]},"
				"{\"name\": \"loud\", \"match\": {\"kind\": \"malformed_descriptor\", \"min_severity\": \"critical\"},"
				" \"escalate\": [\"kill\"]}]}");
	struct policy_decision d[4];
	struct event ev = ev_of(EV_MALFORMED_DESC, "virtio-blk0", 1);

	(void)state;
	assert_int_equal(policy_observe(p, &ev, MS(0), d, 4), 1);
	assert_string_equal(d[0].rule, "virtio");
	assert_string_equal(d[0].resource, "virtio-blk0");

	ev = ev_of(EV_MALFORMED_DESC, "i8042", 1);
	assert_int_equal(policy_observe(p, &ev, MS(1), d, 4), 0);

	snprintf(ev.vm, sizeof(ev.vm), "tenant-7");
	assert_int_equal(policy_observe(p, &ev, MS(2), d, 4), 1);
	assert_string_equal(d[0].rule, "tenant");
	snprintf(ev.vm, sizeof(ev.vm), "tenant-17");
	assert_int_equal(policy_observe(p, &ev, MS(3), d, 4), 0);

	ev.severity = SEV_CRITICAL;
	assert_int_equal(policy_observe(p, &ev, MS(4), d, 4), 1);
	assert_string_equal(d[0].rule, "loud");
	ev.severity = SEV_INFO;
	assert_int_equal(policy_observe(p, &ev, MS(5), d, 4), 0);
	policy_free(p);
}

static void untrusted_event_fields(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": ["
				"{\"name\": \"glob\", \"match\": {\"kind\": \"access_denied\", \"resource\": \"a*\"},"
				" \"when\": {\"count\": 1000000000000000, \"window_ms\": 1000}, \"escalate\": [\"deny\"],"
				" \"hold_down_ms\": 10}]}");
	struct policy_decision d[1];
	struct event ev = ev_of(EV_ACCESS_DENIED, "", UINT64_MAX);

	(void)state;
	/* strings filling their arrays without a NUL */
	memset(ev.resource, 'a', sizeof(ev.resource));
	memset(ev.vm, 'v', sizeof(ev.vm));
	assert_int_equal(policy_observe(p, &ev, MS(0), d, 1), 1);
	assert_int_equal(d[0].count, UINT64_MAX);
	assert_int_equal(strlen(d[0].resource), EVENT_RESOURCE_MAX - 1);
	/* three of them in the hold-down: the sum saturates instead of
	 * wrapping round */
	assert_int_equal(policy_observe(p, &ev, MS(1), d, 1), 0);
	assert_int_equal(policy_observe(p, &ev, MS(2), d, 1), 0);
	assert_int_equal(policy_observe(p, &ev, MS(10), d, 1), 1);
	assert_int_equal(d[0].count, UINT64_MAX);
	/* a kind or severity out of range matches nothing */
	ev.kind = (enum event_kind)1000;
	assert_int_equal(policy_observe(p, &ev, MS(3), d, 1), 0);
	assert_int_equal(policy_observe(NULL, &ev, MS(3), d, 1), 0);
	assert_int_equal(policy_observe(p, NULL, MS(3), d, 1), 0);
	policy_free(p);
}

static void time_never_runs_backwards(void **state)
{
	struct policy *p = load("{\"version\": 1, \"rules\": [{\"name\": \"h\", \"match\": {\"kind\": \"vm_start\"},"
				" \"escalate\": [\"log\"], \"hold_down_ms\": 1000}]}");
	struct policy_decision d[1];

	(void)state;
	assert_int_equal(feed(p, EV_VM_START, "vmm", 1, MS(5000), d, 1), 1);
	/* an earlier timestamp is taken as the latest one seen: still held down */
	assert_int_equal(feed(p, EV_VM_START, "vmm", 1, MS(0), d, 1), 0);
	assert_int_equal(feed(p, EV_VM_START, "vmm", 1, MS(5999), d, 1), 0);
	assert_int_equal(feed(p, EV_VM_START, "vmm", 1, MS(6000), d, 1), 1);
	policy_free(p);
}

static void pause_time_per_rule_or_from_settings(void **state)
{
	struct policy *p = load("{\"version\": 1, \"settings\": {\"pause_ms\": 1500}, \"rules\": ["
				"{\"name\": \"own\", \"match\": {\"kind\": \"exit_storm\"}, \"escalate\": [\"pause\"],"
				" \"pause_ms\": 250},"
				"{\"name\": \"inherited\", \"match\": {\"kind\": \"exit_storm\"}, \"escalate\": [\"pause\"]}]}");
	struct policy_decision d[2];

	(void)state;
	assert_int_equal(feed(p, EV_EXIT_STORM, "vm", 1, MS(0), d, 2), 2);
	assert_int_equal(d[0].pause_ms, 250);
	assert_int_equal(d[1].pause_ms, 1500);
	policy_free(p);
}

/* ---- the default policy ----------------------------------------------- */

static struct policy *load_default(void)
{
	struct policy *p = NULL;
	char err[512] = "";

	if (policy_load_default(&p, err, sizeof(err)))
		fail_msg("the default policy is refused: %s", err);
	return p;
}

static void default_policy_is_the_shipped_file(void **state)
{
	struct policy *p = load_default(), *f = NULL;
	const struct policy_settings *s = policy_settings(p);
	uint8_t *data;
	size_t size;
	char err[512];

	(void)state;
	assert_int_equal(policy_nr_rules(p), 10);
	assert_int_equal(s->exit_storm_per_s, 250000);
	assert_int_equal(s->restart_budget, 2);
	assert_int_equal(s->throttle_percent, 10);
	assert_int_equal(s->pause_ms, 2000);
	assert_int_equal(s->tick_ms, 50);
	assert_int_equal(s->diverge_percent, 10);
	assert_int_equal(s->diverge_slack, 64);
	policy_free(p);
	/* run from the source tree (as the test suite does): the compiled-in
	 * text is the current policy/default.json, and the file loads too */
	if (read_whole_file("policy/default.json", 1 << 20, &data, &size)) {
		skip();
		return;
	}
	assert_int_equal(size, strlen(policy_default_json));
	assert_memory_equal(data, policy_default_json, size);
	free(data);
	assert_int_equal(policy_load_file("policy/default.json", &f, err, sizeof(err)), 0);
	policy_free(f);
}

static void default_policy_port_scan(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d[4];
	static const enum policy_action log[] = { ACT_LOG }, deny[] = { ACT_DENY };
	unsigned fired = 0;
	uint64_t t;

	(void)state;
	/* a booting guest: a few hundred probes of absent ports in a second,
	 * reported as counter deltas every 200 ms; nothing fires */
	for (t = 0; t < 3000; t += 200)
		assert_int_equal(feed(p, EV_UNCLAIMED_PIO, "pio", 80, MS(t), d, 4), 0);
	/* a scan: 256 ports every 200 ms (1280/s); the window fills as the
	 * boot's probes leave it */
	for (; t < 4500; t += 200) {
		unsigned n = feed(p, EV_UNCLAIMED_PIO, "pio", 256, MS(t), d, 4);

		if (n) {
			assert_int_equal(n, 1);
			assert_string_equal(d[0].rule, "port-scan");
			assert_actions(&d[0], 1, log);
			assert_true(d[0].count >= 1024);
			fired++;
		}
	}
	assert_int_equal(fired, 1);
	/* still scanning when the 2 s hold-down ends: deny */
	for (fired = 0; t < 7000; t += 200) {
		unsigned n = feed(p, EV_UNCLAIMED_PIO, "pio", 256, MS(t), d, 4);

		if (n) {
			assert_string_equal(d[0].rule, "port-scan");
			assert_actions(&d[0], 1, deny);
			fired++;
		}
	}
	assert_int_equal(fired, 1);
	/* the MMIO rule is its own ladder */
	assert_int_equal(feed(p, EV_UNCLAIMED_MMIO, "mmio", 2000, MS(t), d, 4), 1);
	assert_string_equal(d[0].rule, "mmio-scan");
	assert_actions(&d[0], 1, log);
	policy_free(p);
}

static void default_policy_exit_storm(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d[4];
	static const enum policy_action want[3] = { ACT_THROTTLE, ACT_PAUSE, ACT_KILL };
	uint64_t when[3];
	unsigned fired = 0;

	(void)state;
	/* the orchestrator raises exit_storm every 200 ms while the exit rate
	 * is over exit_storm_per_s: a burst of two is tolerated */
	for (uint64_t t = 0; t < 400; t += 200)
		assert_int_equal(feed(p, EV_EXIT_STORM, "vm", 1, MS(t), d, 4), 0);
	/* a sustained storm */
	for (uint64_t t = 10000; t < 25000; t += 200) {
		unsigned n = feed(p, EV_EXIT_STORM, "vm", 1, MS(t), d, 4);

		if (!n)
			continue;
		assert_int_equal(n, 1);
		assert_true(fired < 3);
		assert_string_equal(d[0].rule, "exit-storm");
		assert_actions(&d[0], 1, &want[fired]);
		if (want[fired] == ACT_PAUSE)
			assert_int_equal(d[0].pause_ms, 2000);
		when[fired++] = t;
	}
	assert_int_equal(fired, 3);
	assert_int_equal(when[0], 10400); /* the third in a second */
	assert_int_equal(when[1] - when[0], 5000);
	assert_int_equal(when[2] - when[1], 5000);
	policy_free(p);
}

static void default_policy_virtqueue_flood(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d[4];
	static const enum policy_action reset[] = { ACT_RESET_DEVICE }, kill[] = { ACT_KILL };

	(void)state;
	/* a few malformed chains a second from a buggy driver: nothing */
	for (uint64_t t = 0; t < 5000; t += 200)
		assert_int_equal(feed(p, EV_MALFORMED_DESC, "virtio-blk0", 1, MS(t), d, 4), 0);
	/* a flood: one refused chain every 100 ms (at 10000 ms, the eighth) */
	for (uint64_t t = 9300; t < 10000; t += 100)
		assert_int_equal(feed(p, EV_MALFORMED_DESC, "virtio-blk0", 1, MS(t), d, 4), 0);
	assert_int_equal(feed(p, EV_MALFORMED_DESC, "virtio-blk0", 1, MS(10000), d, 4), 1);
	assert_string_equal(d[0].rule, "virtqueue-flood");
	assert_string_equal(d[0].resource, "virtio-blk0");
	assert_actions(&d[0], 1, reset);
	/* it goes on after the reset: the next firing kills */
	for (uint64_t t = 10100; t < 11000; t += 100)
		assert_int_equal(feed(p, EV_MALFORMED_DESC, "virtio-blk0", 1, MS(t), d, 4), 0);
	assert_int_equal(feed(p, EV_MALFORMED_DESC, "virtio-blk0", 1, MS(11000), d, 4), 1);
	assert_actions(&d[0], 1, kill);
	policy_free(p);
}

static void default_policy_single_events(void **state)
{
	struct policy *p = load_default();
	struct policy_decision d[4];
	static const enum policy_action restart[] = { ACT_RESTART }, log[] = { ACT_LOG },
					dkr[] = { ACT_DUMP, ACT_KILL, ACT_RESTART }, dq[] = { ACT_DUMP, ACT_QUARANTINE },
					dk[] = { ACT_DUMP, ACT_KILL };

	(void)state;
	assert_int_equal(feed(p, EV_VMM_DIED, "vmm", 1, MS(0), d, 4), 1);
	assert_actions(&d[0], 1, restart);
	assert_int_equal(feed(p, EV_VMM_DIED, "vmm", 1, MS(1), d, 4), 1);
	assert_actions(&d[0], 1, restart);

	assert_int_equal(feed(p, EV_SECCOMP, "vmm", 1, MS(2), d, 4), 1);
	assert_actions(&d[0], 1, log);

	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(3), d, 4), 1);
	assert_actions(&d[0], 3, dkr);

	assert_int_equal(feed(p, EV_REPORTS_DIVERGE, "vmm", 1, MS(4), d, 4), 1);
	assert_actions(&d[0], 2, dk);

	/* log rules are held down 10 s: one line per 10 s of MSR probing */
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 3, MS(5), d, 4), 1);
	assert_actions(&d[0], 1, log);
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 3, MS(9000), d, 4), 0);
	assert_int_equal(feed(p, EV_MSR_DENIED, "msr", 3, MS(10005), d, 4), 1);
	assert_int_equal(d[0].count, 6);
	assert_int_equal(feed(p, EV_RATE_LIMIT, "virtio-net0", 1, MS(10006), d, 4), 1);
	assert_actions(&d[0], 1, log);

	/* kinds the default has no rule for */
	assert_int_equal(feed(p, EV_VM_START, "vmm", 1, MS(10007), d, 4), 0);
	assert_int_equal(feed(p, EV_ACCESS_DENIED, "pio", 1, MS(10008), d, 4), 0);
	assert_int_equal(feed(p, EV_POLICY_ACTION, "vmm", 1, MS(10010), d, 4), 0);

	/* the restarted VMM is corrupted again, much later: never restart */
	assert_int_equal(feed(p, EV_GUARD_ALARM, "guard", 1, MS(100000), d, 4), 1);
	assert_actions(&d[0], 2, dq);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_policy_takes_default_settings),
		cmocka_unit_test(settings_and_rule_read),
		cmocka_unit_test(bad_policies_refused_with_line_and_reason),
		cmocka_unit_test(too_many_rules_refused),
		cmocka_unit_test(load_file_names_the_file),
		cmocka_unit_test(action_names_round_trip),
		cmocka_unit_test(count_over_a_sliding_window),
		cmocka_unit_test(rate_over_a_window),
		cmocka_unit_test(escalation_stays_on_the_last_step),
		cmocka_unit_test(hold_down_counts_but_does_not_fire),
		cmocka_unit_test(ladder_resets_after_a_quiet_time),
		cmocka_unit_test(several_rules_fire_in_file_order),
		cmocka_unit_test(matching_by_resource_vm_and_severity),
		cmocka_unit_test(untrusted_event_fields),
		cmocka_unit_test(time_never_runs_backwards),
		cmocka_unit_test(pause_time_per_rule_or_from_settings),
		cmocka_unit_test(default_policy_is_the_shipped_file),
		cmocka_unit_test(default_policy_port_scan),
		cmocka_unit_test(default_policy_exit_storm),
		cmocka_unit_test(default_policy_virtqueue_flood),
		cmocka_unit_test(default_policy_single_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
