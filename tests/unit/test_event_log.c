/* The event log: JSON lines read back and parsed, hostile strings, the
 * metrics file checked line by line and against the text format, its
 * atomic replacement, and the security summary. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "defense/event_log.h"
#include "defense/event_log_internal.h"
#include "util/utf8.h"

/* 2026-12-01T13:45:01.123456789Z */
#define T0 (1796132701ull * 1000000000ull + 123456789ull)

struct fixture {
	char dir[64];
	char events[96];
	char metrics[96];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/kfv-evlog-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->events, sizeof(fx->events), "%s/events.jsonl", fx->dir);
	snprintf(fx->metrics, sizeof(fx->metrics), "%s/kfv.prom", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	DIR *d = opendir(fx->dir);
	struct dirent *de;
	char path[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	assert_non_null(f);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t n = fread(buf + len, 1, 4096, f);

		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void fill(struct event *ev, enum event_kind kind, enum event_severity sev, const char *resource,
		 uint64_t count, const char *detail, const char *action)
{
	memset(ev, 0, sizeof(*ev));
	ev->time_ns = T0;
	ev->kind = kind;
	ev->severity = sev;
	ev->count = count;
	snprintf(ev->resource, sizeof(ev->resource), "%s", resource);
	snprintf(ev->detail, sizeof(ev->detail), "%s", detail);
	snprintf(ev->action, sizeof(ev->action), "%s", action);
}

/* Splits the file into lines (each must end in '\n') and parses each. */
static unsigned parse_lines(const char *text, json_t **out, unsigned max)
{
	unsigned n = 0;

	while (*text) {
		const char *nl = strchr(text, '\n');
		json_error_t jerr;

		assert_non_null(nl); /* no partial last line */
		assert_true(n < max);
		out[n] = json_loadb(text, (size_t)(nl - text), 0, &jerr);
		if (!out[n])
			fail_msg("line %u: %s", n + 1, jerr.text);
		assert_true(json_is_object(out[n]));
		n++;
		text = nl + 1;
	}
	return n;
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("key %s is not a string", key);
	return json_string_value(v);
}

static void test_emit_fields(void **state)
{
	struct fixture *fx = *state;
	struct event_log *l;
	struct event ev;
	json_t *lines[8];
	char *text;
	const char *key;
	json_t *v;
	unsigned n, keys = 0;

	assert_int_equal(event_log_open(&l, fx->events, NULL, "web1"), 0);
	fill(&ev, EV_UNCLAIMED_PIO, SEV_NOTICE, "pio", 42, "port 0x80 write", "");
	event_log_emit(l, &ev);
	fill(&ev, EV_POLICY_ACTION, SEV_WARNING, "i8042", 1, "rule pio-flood step 1", "deny");
	snprintf(ev.vm, sizeof(ev.vm), "other-vm");
	event_log_emit(l, &ev);
	fill(&ev, EV_VMM_DIED, SEV_CRITICAL, "vmm", 1, "signal 11", "restart");
	ev.time_ns = 0; /* now */
	event_log_emit(l, &ev);
	event_log_close(l);

	text = slurp(fx->events);
	n = parse_lines(text, lines, 8);
	assert_int_equal(n, 3);

	assert_string_equal(str_of(lines[0], "time"), "2026-12-01T13:45:01.123456Z");
	assert_int_equal(json_integer_value(json_object_get(lines[0], "time_ns")), (json_int_t)T0);
	assert_string_equal(str_of(lines[0], "vm"), "web1"); /* an empty vm is the log's */
	assert_string_equal(str_of(lines[0], "resource"), "pio");
	assert_string_equal(str_of(lines[0], "kind"), "unclaimed_pio");
	assert_string_equal(str_of(lines[0], "severity"), "notice");
	assert_int_equal(json_integer_value(json_object_get(lines[0], "count")), 42);
	assert_string_equal(str_of(lines[0], "detail"), "port 0x80 write");
	assert_true(json_is_null(json_object_get(lines[0], "action")));
	json_object_foreach(lines[0], key, v)
		keys++;
	assert_int_equal(keys, 9);

	assert_string_equal(str_of(lines[1], "vm"), "other-vm");
	assert_string_equal(str_of(lines[1], "kind"), "policy_action");
	assert_string_equal(str_of(lines[1], "severity"), "warning");
	assert_string_equal(str_of(lines[1], "action"), "deny");

	/* time_ns 0 took the wall clock: after T0's year, and the two time
	 * fields agree. */
	json_int_t ns = json_integer_value(json_object_get(lines[2], "time_ns"));
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	char want[64];

	assert_true(ns > 1700000000ll * 1000000000ll);
	gmtime_r(&sec, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
	assert_memory_equal(str_of(lines[2], "time"), want, strlen(want));
	assert_string_equal(str_of(lines[2], "kind"), "vmm_died");
	assert_string_equal(str_of(lines[2], "severity"), "critical");
	for (unsigned i = 0; i < n; i++)
		json_decref(lines[i]);
	free(text);
}

static void test_append_mode_cloexec(void **state)
{
	struct fixture *fx = *state;
	struct event_log *l;
	struct event ev;
	struct stat st;
	mode_t old = umask(0);
	char *text;

	/* Created 0640, close-on-exec, appending. */
	assert_int_equal(event_log_open(&l, fx->events, NULL, "vm"), 0);
	umask(old);
	assert_int_equal(stat(fx->events, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_true(fcntl(l->events_fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(l->events_fd, F_GETFL) & O_APPEND);
	fill(&ev, EV_VM_START, SEV_INFO, "vmm", 1, "pid 1", "");
	event_log_emit(l, &ev);
	event_log_close(l);

	/* Appended to, never truncated. */
	assert_int_equal(event_log_open(&l, fx->events, NULL, "vm"), 0);
	fill(&ev, EV_VM_END, SEV_INFO, "vmm", 1, "status 0", "");
	event_log_emit(l, &ev);
	event_log_close(l);
	text = slurp(fx->events);
	assert_non_null(strstr(text, "\"kind\":\"vm_start\""));
	assert_non_null(strstr(text, "\"kind\":\"vm_end\""));
	assert_true(strstr(text, "vm_start") < strstr(text, "vm_end"));
	free(text);
}

static void test_hostile_strings(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "quote\" back\\slash", "quote\" back\\slash" },
		{ "two\nlines\r\n{\"kind\":\"fake\"}", "two\nlines\r\n{\"kind\":\"fake\"}" },
		{ "esc\x1b[2Jbell\a", "esc\x1b[2Jbell\a" },
		{ "ff\xff\xfe end", "ff?? end" },
		{ "overlong\xc0\x80 surrogate\xed\xa0\x80 big\xf4\x90\x80\x80", "overlong?? surrogate??? big????" },
		{ "lone\x80 cut\xe2\x82", "lone? cut??" },
		{ "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
	};
	const unsigned nc = sizeof(cases) / sizeof(cases[0]);
	struct event_log *l;
	struct event ev;
	json_t *lines[16];
	char *text;
	unsigned n;

	assert_int_equal(event_log_open(&l, fx->events, NULL, "vm\xff"), 0);
	for (unsigned i = 0; i < nc; i++) {
		fill(&ev, EV_MALFORMED_DESC, SEV_WARNING, "virtio-blk0", 1, cases[i].in, "");
		event_log_emit(l, &ev);
	}
	/* Fields filled to the brim, with no NUL. */
	fill(&ev, EV_MALFORMED_DESC, SEV_WARNING, "", 1, "", "");
	memset(ev.detail, 'D', sizeof(ev.detail));
	memset(ev.resource, '\n', sizeof(ev.resource));
	memset(ev.action, '"', sizeof(ev.action));
	memset(ev.vm, 0xff, sizeof(ev.vm));
	event_log_emit(l, &ev);
	assert_int_equal(l->write_errors, 0);
	event_log_close(l);

	text = slurp(fx->events);
	/* Pure ASCII, no control bytes but the line ends: a terminal shows it as it is. */
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		assert_true(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
	n = parse_lines(text, lines, 16);
	assert_int_equal(n, nc + 1);
	for (unsigned i = 0; i < nc; i++) {
		assert_string_equal(str_of(lines[i], "detail"), cases[i].want);
		assert_string_equal(str_of(lines[i], "kind"), "malformed_descriptor");
		assert_string_equal(str_of(lines[i], "vm"), "vm?");
	}
	assert_int_equal(strlen(str_of(lines[nc], "detail")), sizeof(ev.detail));
	assert_int_equal(strspn(str_of(lines[nc], "detail"), "D"), sizeof(ev.detail));
	assert_int_equal(strspn(str_of(lines[nc], "resource"), "\n"), sizeof(ev.resource));
	assert_int_equal(strspn(str_of(lines[nc], "action"), "\""), sizeof(ev.action));
	assert_int_equal(strspn(str_of(lines[nc], "vm"), "?"), sizeof(ev.vm));
	for (unsigned i = 0; i < n; i++)
		json_decref(lines[i]);
	free(text);
}

static void test_utf8_sanitize(void **state)
{
	char out[8];

	(void)state;
	/* A sequence that does not fit is dropped whole, never split. */
	assert_int_equal(utf8_sanitize(out, sizeof(out), "abcde\xe2\x82\xac", SIZE_MAX), 5);
	assert_string_equal(out, "abcde");
	assert_int_equal(utf8_sanitize(out, sizeof(out), "ab\xe2\x82\xac", SIZE_MAX), 5);
	assert_string_equal(out, "ab\xe2\x82\xac");
	/* srcmax bounds the read; a sequence cut by it is invalid. */
	assert_int_equal(utf8_sanitize(out, sizeof(out), "a\xc3\xa9", 2), 2);
	assert_string_equal(out, "a?");
	assert_int_equal(utf8_sanitize(out, 1, "abc", SIZE_MAX), 0);
	assert_string_equal(out, "");
	assert_int_equal(utf8_sanitize(out, sizeof(out), NULL, 5), 0);
	/* Every two-byte lead and continuation pair agrees with jansson's validator. */
	for (unsigned a = 0x80; a < 0x100; a++)
		for (unsigned b = 0; b < 0x100; b++) {
			unsigned char in[3] = { (unsigned char)a, (unsigned char)b, 0 };
			json_t *j = json_stringn((const char *)in, b ? 2 : 1);

			utf8_sanitize(out, sizeof(out), (const char *)in, 2);
			assert_int_equal(j != NULL, strcmp(out, (const char *)in) == 0);
			json_decref(j);
		}
}

/* ---- A checker for the Prometheus text format (0.0.4), independent of the writer. ---- */

struct family_seen {
	char name[96];
	int help, type, counter;
};

static size_t metric_name_len(const char *s)
{
	size_t n = 0;

	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || s[n] == '_' || s[n] == ':' ||
	       (n && s[n] >= '0' && s[n] <= '9'))
		n++;
	return n;
}

static struct family_seen *find_family(struct family_seen *f, unsigned n, const char *name, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (strlen(f[i].name) == len && !memcmp(f[i].name, name, len))
			return &f[i];
	return NULL;
}

/* Checks one sample line after its name: labels, a space, a value. */
static void check_sample_rest(const char *p, unsigned lineno)
{
	char names[16][64];
	unsigned nl = 0;
	char *end;

	if (*p == '{') {
		p++;
		while (*p != '}') {
			size_t n = metric_name_len(p);
			char value[512];
			size_t vl = 0;
			json_t *utf;

			if (!n || strchr(":", p[0]) || memchr(p, ':', n))
				fail_msg("line %u: bad label name", lineno);
			assert_true(nl < 16 && n < 64);
			memcpy(names[nl], p, n);
			names[nl][n] = '\0';
			for (unsigned i = 0; i < nl; i++)
				if (!strcmp(names[i], names[nl]))
					fail_msg("line %u: label %s twice", lineno, names[nl]);
			nl++;
			p += n;
			if (p[0] != '=' || p[1] != '"')
				fail_msg("line %u: label without =\"", lineno);
			p += 2;
			while (*p != '"') {
				if (!*p)
					fail_msg("line %u: unterminated label value", lineno);
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						fail_msg("line %u: bad escape \\%c", lineno, p[1]);
					value[vl++] = p[1] == 'n' ? '\n' : p[1];
					p += 2;
				} else {
					value[vl++] = *p++;
				}
				assert_true(vl < sizeof(value));
			}
			/* Label values are UTF-8: jansson refuses anything else. */
			utf = json_stringn(value, vl);
			if (!utf)
				fail_msg("line %u: label value is not UTF-8", lineno);
			json_decref(utf);
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				fail_msg("line %u: expected , or }", lineno);
		}
		p++;
	}
	if (*p != ' ')
		fail_msg("line %u: no space before the value", lineno);
	p++;
	errno = 0;
	(void)strtod(p, &end);
	if (end == p || *end || errno)
		fail_msg("line %u: bad value '%s'", lineno, p);
}

/* Every line a HELP, a TYPE or a sample; every family HELP and TYPE
 * before its samples, its samples together; no series twice; counters
 * named *_total; the file ends in a newline. Returns the samples seen. */
static unsigned check_prometheus(const char *text)
{
	struct family_seen fam[64];
	unsigned nf = 0, lineno = 0, samples = 0;
	struct family_seen *cur = NULL;
	char **series = NULL;
	unsigned nseries = 0;
	char *copy = strdup(text), *save = NULL;

	assert_non_null(copy);
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	assert_null(strstr(text, "\n\n"));
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
			const char *name = line + 7;
			size_t n = metric_name_len(name);
			struct family_seen *f = find_family(fam, nf, name, n);

			if (!n || name[n] != ' ' || !name[n + 1])
				fail_msg("line %u: bad %s", lineno, line);
			if (!f) {
				assert_true(nf < 64 && n < sizeof(fam[0].name));
				f = &fam[nf++];
				memset(f, 0, sizeof(*f));
				memcpy(f->name, name, n);
			} else if (f != cur) {
				fail_msg("line %u: family %s split", lineno, f->name);
			}
			if (line[2] == 'H') {
				if (f->help++)
					fail_msg("line %u: second HELP", lineno);
			} else {
				const char *type = name + n + 1;

				if (f->type++)
					fail_msg("line %u: second TYPE", lineno);
				if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "untyped") &&
				    strcmp(type, "histogram") && strcmp(type, "summary"))
					fail_msg("line %u: bad type %s", lineno, type);
				f->counter = !strcmp(type, "counter");
			}
			cur = f;
			continue;
		}
		if (line[0] == '#')
			continue;
		size_t n = metric_name_len(line);
		struct family_seen *f = find_family(fam, nf, line, n);
		const char *sp;

		if (!n)
			fail_msg("line %u: not a sample: %s", lineno, line);
		if (!f || !f->help || !f->type)
			fail_msg("line %u: sample before its HELP and TYPE", lineno);
		if (f != cur)
			fail_msg("line %u: sample of %s away from its family", lineno, f->name);
		if (f->counter && (n < 6 || memcmp(line + n - 6, "_total", 6)))
			fail_msg("line %u: counter not named *_total", lineno);
		check_sample_rest(line + n, lineno);
		sp = strrchr(line, ' ');
		for (unsigned i = 0; i < nseries; i++)
			if (strlen(series[i]) == (size_t)(sp - line) && !memcmp(series[i], line, (size_t)(sp - line)))
				fail_msg("line %u: series twice", lineno);
		series = realloc(series, (nseries + 1) * sizeof(*series));
		assert_non_null(series);
		series[nseries++] = strndup(line, (size_t)(sp - line));
		samples++;
	}
	for (unsigned i = 0; i < nf; i++)
		if (!fam[i].help || !fam[i].type)
			fail_msg("family %s lacks HELP or TYPE", fam[i].name);
	for (unsigned i = 0; i < nseries; i++)
		free(series[i]);
	free(series);
	free(copy);
	return samples;
}

static void assert_line(const char *text, const char *line)
{
	char *want;

	assert_true(asprintf(&want, "\n%s\n", line) > 0);
	if (!strstr(text, want))
		fail_msg("metrics lack the line: %s", line);
	free(want);
}

static struct agent *add_agent(struct telemetry *t, const char *name, enum agent_kind kind)
{
	struct agent *a = &t->agents[t->nr_agents++];

	snprintf(a->name, sizeof(a->name), "%s", name);
	a->kind = kind;
	return a;
}

static struct telemetry *synthetic_telemetry(void)
{
	struct telemetry *t = calloc(1, sizeof(*t));
	struct agent *a;

	assert_non_null(t);
	t->magic = TELEMETRY_MAGIC;
	a = add_agent(t, "i8042", AGENT_KIND_PIO);
	a->accesses = 120;
	a->bytes = 121;
	a->rejects = 7;
	a->action = AGENT_DENY;
	a = add_agent(t, "virtio-blk0", AGENT_KIND_VIRTQ);
	a->accesses = 5000;
	a->bytes = 1u << 20;
	a->anomalies = 3;
	a->throttled = 9;
	a->resets = 1;
	a->action = AGENT_RESET;
	/* What a compromised VMM could write: quotes, backslash, newline, bad
	 * bytes, a full name with no NUL and a kind out of range. */
	a = add_agent(t, "", AGENT_KIND_MMIO);
	memcpy(a->name, "a\"b\\c\nd\xff\xfe\x01xxxxxxxxxxxxxxxxxxxx", sizeof(a->name));
	a->accesses = 5;
	a->kind = 99;
	t->nr_vcpus = 2;
	t->vcpu[0].exits = 1000;
	t->vcpu[0].io_exits = 600;
	t->vcpu[0].mmio_exits = 300;
	t->vcpu[0].msr_exits = 4;
	t->vcpu[0].hlt_exits = 96;
	t->vcpu[1].exits = 10;
	return t;
}

static void test_metrics_content(void **state)
{
	struct fixture *fx = *state;
	struct telemetry *t = synthetic_telemetry();
	struct metrics_extra x = { .up = 1, .vmm_pid = 4242, .vmm_restarts = 2, .guard_checks = 30,
				   .guard_alarms = 1, .nr_kvm_vcpus = 2, .kvm_exits = { 1100, 12 } };
	struct event_log *l;
	struct event ev;
	char *text;

	assert_int_equal(event_log_open(&l, NULL, fx->metrics, "web\"1"), 0);
	fill(&ev, EV_UNCLAIMED_PIO, SEV_NOTICE, "pio", 40, "", "");
	event_log_emit(l, &ev);
	event_log_emit(l, &ev);
	fill(&ev, EV_POLICY_ACTION, SEV_WARNING, "i8042", 1, "", "deny");
	event_log_emit(l, &ev);
	fill(&ev, EV_POLICY_ACTION, SEV_CRITICAL, "virtio-blk0", 1, "", "reset_device,dump");
	event_log_emit(l, &ev);
	assert_int_equal(event_log_write_metrics(l, t, &x), 0);
	event_log_close(l);

	text = slurp(fx->metrics);
	assert_line(text, "kfv_up{vm=\"web\\\"1\"} 1");
	assert_line(text, "kfv_vmm_pid{vm=\"web\\\"1\"} 4242");
	assert_line(text, "kfv_vmm_restarts_total{vm=\"web\\\"1\"} 2");
	assert_line(text, "kfv_guard_checks_total{vm=\"web\\\"1\"} 30");
	assert_line(text, "kfv_guard_alarms_total{vm=\"web\\\"1\"} 1");
	assert_line(text, "kfv_events_total{vm=\"web\\\"1\",kind=\"unclaimed_pio\"} 2");
	assert_line(text, "kfv_events_total{vm=\"web\\\"1\",kind=\"policy_action\"} 2");
	assert_line(text, "kfv_events_total{vm=\"web\\\"1\",kind=\"exit_storm\"} 0");
	assert_line(text, "kfv_event_occurrences_total{vm=\"web\\\"1\",kind=\"unclaimed_pio\"} 80");
	assert_line(text, "kfv_events_by_severity_total{vm=\"web\\\"1\",severity=\"critical\"} 1");
	assert_line(text, "kfv_policy_actions_total{vm=\"web\\\"1\",action=\"deny\"} 1");
	assert_line(text, "kfv_policy_actions_total{vm=\"web\\\"1\",action=\"reset_device\"} 1");
	assert_line(text, "kfv_policy_actions_total{vm=\"web\\\"1\",action=\"dump\"} 1");
	assert_line(text, "kfv_agent_accesses_total{vm=\"web\\\"1\",agent=\"i8042\",kind=\"pio\"} 120");
	assert_line(text, "kfv_agent_bytes_total{vm=\"web\\\"1\",agent=\"virtio-blk0\",kind=\"virtq\"} 1048576");
	assert_line(text, "kfv_agent_rejects_total{vm=\"web\\\"1\",agent=\"i8042\",kind=\"pio\"} 7");
	assert_line(text, "kfv_agent_anomalies_total{vm=\"web\\\"1\",agent=\"virtio-blk0\",kind=\"virtq\"} 3");
	assert_line(text, "kfv_agent_throttled_total{vm=\"web\\\"1\",agent=\"virtio-blk0\",kind=\"virtq\"} 9");
	assert_line(text, "kfv_agent_resets_total{vm=\"web\\\"1\",agent=\"virtio-blk0\",kind=\"virtq\"} 1");
	assert_line(text, "kfv_agent_action{vm=\"web\\\"1\",agent=\"i8042\"} 1");
	assert_line(text, "kfv_agent_action{vm=\"web\\\"1\",agent=\"virtio-blk0\"} 2");
	/* The hostile name: escaped, bad bytes and the control byte as '?', cut at its array. */
	assert_line(text, "kfv_agent_accesses_total{vm=\"web\\\"1\",agent=\"a\\\"b\\\\c\\nd???xxxxxxxxxxxxxx\","
			  "kind=\"unknown\"} 5");
	assert_line(text, "kfv_vcpu_exits_total{vm=\"web\\\"1\",vcpu=\"0\",source=\"agents\"} 1000");
	assert_line(text, "kfv_vcpu_exits_total{vm=\"web\\\"1\",vcpu=\"1\",source=\"agents\"} 10");
	assert_line(text, "kfv_vcpu_exits_total{vm=\"web\\\"1\",vcpu=\"0\",source=\"kvm\"} 1100");
	assert_line(text, "kfv_vcpu_exits_total{vm=\"web\\\"1\",vcpu=\"1\",source=\"kvm\"} 12");
	assert_line(text, "kfv_vcpu_exit_reasons_total{vm=\"web\\\"1\",vcpu=\"0\",reason=\"hlt\"} 96");
	assert_line(text, "# TYPE kfv_agent_action gauge");
	assert_line(text, "# TYPE kfv_events_total counter");
	/* The whole file is well-formed: 14 kinds twice, 4 severities, 3
	 * actions, 6 agent counters x 3 + 3 actions, 2 + 2 exits, 2 x 4
	 * reasons, 6 single figures. */
	assert_int_equal(check_prometheus(text), 14 * 2 + 4 + 3 + 6 * 3 + 3 + 4 + 8 + 6);
	free(text);
	free(t);
}

static int count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_metrics_atomic_replace(void **state)
{
	struct fixture *fx = *state;
	struct telemetry *t = synthetic_telemetry();
	struct metrics_extra x = { .up = 1 };
	struct event_log *l;
	struct stat before, after;
	char *first, *second, *old_view;
	int fd;
	FILE *f;

	/* open checks the directory: the temporary file it tried is gone. */
	assert_int_equal(event_log_open(&l, NULL, fx->metrics, "vm"), 0);
	assert_int_equal(count_dir_entries(fx->dir), 0);
	assert_int_equal(event_log_write_metrics(l, t, &x), 0);
	first = slurp(fx->metrics);
	assert_int_equal(stat(fx->metrics, &before), 0);
	assert_int_equal(before.st_mode & 0077 & ~0040, 0);
	fd = open(fx->metrics, O_RDONLY);
	assert_true(fd >= 0);

	/* A reader holding the old file keeps all of it; the name moves to a
	 * new, complete file in one step. */
	t->agents[0].accesses = 999;
	x.up = 0;
	assert_int_equal(event_log_write_metrics(l, t, &x), 0);
	assert_int_equal(stat(fx->metrics, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	f = fdopen(fd, "r");
	assert_non_null(f);
	old_view = calloc(1, strlen(first) + 2);
	assert_non_null(old_view);
	assert_int_equal(fread(old_view, 1, strlen(first) + 1, f), strlen(first));
	fclose(f);
	assert_string_equal(old_view, first);
	second = slurp(fx->metrics);
	assert_line(second, "kfv_agent_accesses_total{vm=\"vm\",agent=\"i8042\",kind=\"pio\"} 999");
	assert_line(second, "kfv_up{vm=\"vm\"} 0");
	assert_int_equal(check_prometheus(second), check_prometheus(first));
	/* Only the metrics file is left: no temporary beside it. */
	assert_int_equal(count_dir_entries(fx->dir), 1);

	/* A directory that refuses the temporary file: an error, the old file kept. */
	assert_int_equal(chmod(fx->dir, 0500), 0);
	if (access(fx->dir, W_OK)) { /* root writes anyway */
		assert_int_equal(event_log_write_metrics(l, t, &x), -EACCES);
		free(second);
		second = slurp(fx->metrics);
		assert_line(second, "kfv_up{vm=\"vm\"} 0");
	}
	assert_int_equal(chmod(fx->dir, 0700), 0);
	event_log_close(l);
	free(first);
	free(second);
	free(old_view);
	free(t);
}

static void test_metrics_hostile_page(void **state)
{
	struct fixture *fx = *state;
	struct telemetry *t = calloc(1, sizeof(*t));
	struct event_log *l;
	char *text;

	assert_non_null(t);
	/* Counts past the arrays, every name the same, every slot's kind wild. */
	t->nr_agents = UINT32_MAX;
	t->nr_vcpus = UINT32_MAX;
	for (unsigned i = 0; i < TELEMETRY_MAX_AGENTS; i++) {
		if (i % 2)
			snprintf(t->agents[i].name, sizeof(t->agents[i].name), "dup#%u", i + 1);
		else
			snprintf(t->agents[i].name, sizeof(t->agents[i].name), "dup");
		t->agents[i].kind = UINT32_MAX;
		t->agents[i].action = 77;
	}
	t->agents[5].name[0] = '\0';
	assert_int_equal(event_log_open(&l, NULL, fx->metrics, ""), 0);
	assert_int_equal(event_log_write_metrics(l, t, NULL), 0);
	event_log_close(l);
	text = slurp(fx->metrics);
	/* Well-formed, no series twice (the checker refuses that), bounded. */
	assert_int_equal(check_prometheus(text),
			 14 * 2 + 4 + 1 + 6 * TELEMETRY_MAX_AGENTS + TELEMETRY_MAX_AGENTS + TELEMETRY_MAX_VCPUS * 5 + 5);
	assert_line(text, "kfv_agent_action{vm=\"\",agent=\"dup\"} 77");
	assert_line(text, "kfv_agent_action{vm=\"\",agent=\"unnamed\"} 77");
	assert_line(text, "kfv_agent_action{vm=\"\",agent=\"dup#6\"} 77");
	assert_line(text, "kfv_agent_accesses_total{vm=\"\",agent=\"dup#2\",kind=\"unknown\"} 0");
	/* Slot 2 is another "dup"; "dup#2" is slot 1's own name, so it gets the next suffix. */
	assert_line(text, "kfv_agent_action{vm=\"\",agent=\"dup#2-1\"} 77");
	assert_line(text, "kfv_up{vm=\"\"} 0");
	free(text);
	free(t);
}

static void test_metrics_without_inputs(void **state)
{
	struct fixture *fx = *state;
	struct event_log *l;
	char *text;

	/* No metrics file: nothing written, no error. */
	assert_int_equal(event_log_open(&l, NULL, NULL, "vm"), 0);
	assert_int_equal(event_log_write_metrics(l, NULL, NULL), 0);
	event_log_close(l);
	assert_int_equal(count_dir_entries(fx->dir), 0);
	assert_int_equal(event_log_write_metrics(NULL, NULL, NULL), 0);

	assert_int_equal(event_log_open(&l, NULL, fx->metrics, "vm"), 0);
	assert_int_equal(event_log_write_metrics(l, NULL, NULL), 0);
	event_log_close(l);
	text = slurp(fx->metrics);
	assert_int_equal(check_prometheus(text), 14 * 2 + 4 + 1 + 5);
	assert_line(text, "kfv_up{vm=\"vm\"} 0");
	assert_line(text, "# TYPE kfv_agent_accesses_total counter");
	assert_null(strstr(text, "\nkfv_agent_accesses_total{"));
	free(text);
}

static char *summary_of(const struct event_log *l)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	event_log_print_summary(l, f);
	fclose(f);
	return buf;
}

static void test_summary(void **state)
{
	struct event_log *l;
	struct event ev;
	char *s;

	(void)state;
	assert_int_equal(event_log_open(&l, NULL, NULL, "vm"), 0);
	s = summary_of(l);
	assert_string_equal(s, "kfv: security: no security events\n");
	free(s);

	/* The run's own start and end are not security events. */
	fill(&ev, EV_VM_START, SEV_INFO, "vmm", 1, "", "");
	event_log_emit(l, &ev);
	fill(&ev, EV_VM_END, SEV_NOTICE, "vmm", 1, "", "");
	event_log_emit(l, &ev);
	s = summary_of(l);
	assert_string_equal(s, "kfv: security: no security events\n");
	free(s);

	fill(&ev, EV_UNCLAIMED_PIO, SEV_NOTICE, "pio", 300, "", "");
	event_log_emit(l, &ev);
	event_log_emit(l, &ev);
	fill(&ev, EV_GUARD_ALARM, SEV_CRITICAL, "guard", 1, "", "");
	event_log_emit(l, &ev);
	fill(&ev, EV_POLICY_ACTION, SEV_WARNING, "pio", 1, "", "deny");
	event_log_emit(l, &ev);
	fill(&ev, EV_POLICY_ACTION, SEV_WARNING, "vmm", 1, "", "kill,\x1b" "dump");
	event_log_emit(l, &ev);
	fill(&ev, EV_POLICY_ACTION, SEV_WARNING, "pio", 1, "", "deny");
	event_log_emit(l, &ev);
	assert_int_equal(event_log_count(l, EV_POLICY_ACTION), 3);
	assert_int_equal(event_log_count(l, EV_VM_START), 1);
	s = summary_of(l);
	assert_string_equal(s, "kfv: security: 6 events: unclaimed_pio 2 (600 occurrences), guard_alarm 1, "
			       "policy_action 3\n"
			       "kfv: security: worst severity: critical\n"
			       "kfv: security: actions taken: deny 2, kill 1, ?dump 1\n");
	free(s);
	event_log_close(l);

	/* Events but no action. */
	assert_int_equal(event_log_open(&l, NULL, NULL, "vm"), 0);
	fill(&ev, EV_RATE_LIMIT, SEV_INFO, "virtio-net0", 12, "", "");
	event_log_emit(l, &ev);
	s = summary_of(l);
	assert_string_equal(s, "kfv: security: 1 event: rate_limit 1 (12 occurrences)\n"
			       "kfv: security: worst severity: info\n"
			       "kfv: security: actions taken: none\n");
	free(s);
	event_log_close(l);
}

static void test_write_errors_counted(void **state)
{
	struct event_log *l;
	struct event ev;
	char *s;

	(void)state;
	/* Every write fails with ENOSPC: the log keeps counting. */
	assert_int_equal(event_log_open(&l, "/dev/full", NULL, "vm"), 0);
	fill(&ev, EV_EXIT_STORM, SEV_WARNING, "vcpu0", 1, "", "");
	event_log_emit(l, &ev);
	event_log_emit(l, &ev);
	assert_int_equal(l->write_errors, 2);
	assert_int_equal(event_log_count(l, EV_EXIT_STORM), 2);
	s = summary_of(l);
	assert_non_null(strstr(s, "kfv: security: 2 event lines not written to /dev/full: "));
	assert_non_null(strstr(s, strerror(ENOSPC)));
	free(s);
	event_log_close(l);
}

static void test_open_errors(void **state)
{
	struct event_log *l = (struct event_log *)&l;

	(void)state;
	assert_int_equal(event_log_open(&l, "/nonexistent-kfv-dir/events", NULL, "vm"), -ENOENT);
	assert_null(l);
	assert_int_equal(event_log_open(&l, NULL, "/nonexistent-kfv-dir/kfv.prom", "vm"), -ENOENT);
	assert_null(l);
	assert_int_equal(event_log_open(&l, "/", NULL, "vm"), -EISDIR);
	event_log_emit(NULL, NULL);
	event_log_close(NULL);
}

static void test_agent_kind_names(void **state)
{
	(void)state;
	assert_string_equal(agent_kind_name(AGENT_KIND_PIO), "pio");
	assert_string_equal(agent_kind_name(AGENT_KIND_VIRTQ), "virtq");
	assert_string_equal(agent_kind_name(AGENT_KIND_MEMMAP), "memmap");
	assert_string_equal(agent_kind_name(AGENT_KIND_COUNT), "unknown");
	assert_string_equal(agent_kind_name((enum agent_kind)-1), "unknown");
	for (int k = 0; k < AGENT_KIND_COUNT; k++)
		assert_string_not_equal(agent_kind_name((enum agent_kind)k), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_emit_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_mode_cloexec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test_setup_teardown(test_metrics_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_atomic_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_hostile_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_without_inputs, setup, teardown),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_write_errors_counted),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_agent_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
