/* Reads a policy file (docs/policy.md) into struct policy. Everything the
 * file says is checked here, once, so that the engine never meets a value
 * it has to doubt: unknown keys, names and types, and numbers out of range
 * are refused with the line they are on.
 *
 * jansson gives the line of a syntax error but keeps no positions in the
 * tree it builds. For a value that parses but is wrong, the parser keeps
 * the path it is at (rules[3].when.count) and asks json_line_of() to find
 * that path again in the text. */
#include "policy_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/json_line.h"

#define POLICY_FILE_MAX (1u << 20)
#define PATH_DEPTH_MAX  8
#define MS_MAX_WINDOW   3600000ULL   /* one hour */
#define MS_MAX_HOLD     86400000ULL  /* one day */
#define COUNT_MAX       1000000000000000ULL

struct pctx {
	const char *text;
	size_t len;
	const char *name;
	char *err;
	size_t errlen;
	struct json_step path[PATH_DEPTH_MAX];
	unsigned depth;
	const char *rule; /* the rule being read, once its name is known */
};

static void push_key(struct pctx *c, const char *key)
{
	if (c->depth < PATH_DEPTH_MAX)
		c->path[c->depth] = (struct json_step){ .key = key };
	c->depth++;
}

static void push_index(struct pctx *c, size_t index)
{
	if (c->depth < PATH_DEPTH_MAX)
		c->path[c->depth] = (struct json_step){ .index = index };
	c->depth++;
}

static void pop(struct pctx *c)
{
	c->depth--;
}

static unsigned line_at(const struct pctx *c, bool at_key)
{
	unsigned depth = c->depth < PATH_DEPTH_MAX ? c->depth : PATH_DEPTH_MAX;

	return json_line_of(c->text, c->len, c->path, depth, at_key);
}

/* A value from the file, made safe to quote on one line of a message. */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s && n + 4 < size; s++)
		buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Writes "NAME: line N: [rule "R": ]REASON" for the value (or with at_key,
 * the key) at the current path. */
__attribute__((format(printf, 3, 4)))
static int fail(struct pctx *c, bool at_key, const char *fmt, ...)
{
	char reason[320];
	va_list ap;
	unsigned line = line_at(c, at_key);

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (!c->err || !c->errlen)
		return -EINVAL;
	if (c->rule)
		snprintf(c->err, c->errlen, "%s: line %u: rule \"%s\": %s", c->name, line, c->rule, reason);
	else
		snprintf(c->err, c->errlen, "%s: line %u: %s", c->name, line, reason);
	return -EINVAL;
}

static void join_names(char *buf, size_t size, const char *const *names, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && names[i] && used < size; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Refuses any member of object o whose key is not in known. */
static int check_keys(struct pctx *c, json_t *o, const char *const *known, size_t nr_known, const char *where)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		char list[200], q[48];
		size_t i;
		int ret;

		for (i = 0; i < nr_known && strcmp(known[i], key); i++)
			;
		if (i < nr_known)
			continue;
		join_names(list, sizeof(list), known, nr_known);
		push_key(c, key);
		ret = fail(c, true, "unknown key \"%s\" in %s (known: %s)", quote(key, q, sizeof(q)), where, list);
		pop(c);
		return ret;
	}
	return 0;
}

/* An optional (or required) non-negative integer member in [min, max].
 * Absent and optional: *out keeps its default. */
static int get_uint(struct pctx *c, json_t *o, const char *key, bool required, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	int ret = 0;

	if (!v)
		return required ? fail(c, false, "missing key \"%s\"", key) : 0;
	push_key(c, key);
	if (!json_is_integer(v))
		ret = fail(c, false, "%s must be a whole number (no fraction or exponent)", key);
	else if (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
		 (uint64_t)json_integer_value(v) > max)
		ret = fail(c, false, "%s must be between %llu and %llu, not %lld", key, (unsigned long long)min,
			   (unsigned long long)max, (long long)json_integer_value(v));
	else
		*out = (uint64_t)json_integer_value(v);
	pop(c);
	return ret;
}

static int get_string(struct pctx *c, json_t *o, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(o, key);
	int ret = 0;

	if (!v)
		return required ? fail(c, false, "missing key \"%s\"", key) : 0;
	push_key(c, key);
	if (!json_is_string(v))
		ret = fail(c, false, "%s must be a string", key);
	else
		*out = json_string_value(v);
	pop(c);
	return ret;
}

/* An optional member that, when present, must be an object. */
static int get_object(struct pctx *c, json_t *o, const char *key, bool required, json_t **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v)
		return required ? fail(c, false, "missing key \"%s\"", key) : 0;
	if (!json_is_object(v)) {
		int ret;

		push_key(c, key);
		ret = fail(c, false, "%s must be an object", key);
		pop(c);
		return ret;
	}
	*out = v;
	return 0;
}

static int parse_settings(struct pctx *c, json_t *root, struct policy_settings *s)
{
	static const char *const keys[] = { "exit_storm_per_s", "restart_budget", "throttle_percent", "pause_ms",
					     "tick_ms", "diverge_percent", "diverge_slack" };
	uint64_t restart_budget = s->restart_budget, throttle = s->throttle_percent, pause = s->pause_ms,
		 tick = s->tick_ms, diverge = s->diverge_percent;
	json_t *o;
	int ret;

	ret = get_object(c, root, "settings", false, &o);
	if (ret || !o)
		return ret;
	push_key(c, "settings");
	ret = check_keys(c, o, keys, sizeof(keys) / sizeof(keys[0]), "settings");
	if (!ret)
		ret = get_uint(c, o, "exit_storm_per_s", false, 0, 1000000000, &s->exit_storm_per_s);
	if (!ret)
		ret = get_uint(c, o, "restart_budget", false, 0, 100, &restart_budget);
	if (!ret)
		ret = get_uint(c, o, "throttle_percent", false, 1, 100, &throttle);
	if (!ret)
		ret = get_uint(c, o, "pause_ms", false, 1, MS_MAX_WINDOW, &pause);
	if (!ret)
		ret = get_uint(c, o, "tick_ms", false, 1, 10000, &tick);
	if (!ret)
		ret = get_uint(c, o, "diverge_percent", false, 0, 100, &diverge);
	if (!ret)
		ret = get_uint(c, o, "diverge_slack", false, 0, COUNT_MAX, &s->diverge_slack);
	pop(c);
	s->restart_budget = (unsigned)restart_budget;
	s->throttle_percent = (unsigned)throttle;
	s->pause_ms = (unsigned)pause;
	s->tick_ms = (unsigned)tick;
	s->diverge_percent = (unsigned)diverge;
	return ret;
}

static int parse_glob(struct pctx *c, json_t *match, const char *key, char *out)
{
	const char *s = NULL;
	size_t n;
	int ret = get_string(c, match, key, false, &s);

	if (ret || !s)
		return ret;
	n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			n = 0;
	push_key(c, key);
	if (n == 0 || n >= POLICY_GLOB_MAX)
		ret = fail(c, false, "match.%s must be 1 to %d printable characters without spaces", key,
			   POLICY_GLOB_MAX - 1);
	else
		memcpy(out, s, n + 1);
	pop(c);
	return ret;
}

static int parse_match(struct pctx *c, json_t *rule, struct policy_rule *r)
{
	static const char *const keys[] = { "kind", "resource", "vm", "min_severity" };
	const char *kind = NULL, *sev = NULL;
	char q[48];
	json_t *m;
	int ret;

	ret = get_object(c, rule, "match", true, &m);
	if (ret)
		return ret;
	push_key(c, "match");
	ret = check_keys(c, m, keys, sizeof(keys) / sizeof(keys[0]), "match");
	if (!ret)
		ret = get_string(c, m, "kind", true, &kind);
	if (!ret && event_kind_parse(kind) < 0) {
		const char *names[EV_KIND_COUNT];
		char list[320];
		size_t n = 0;

		for (int k = 0; k < EV_KIND_COUNT; k++)
			if (k != EV_POLICY_ACTION)
				names[n++] = event_kind_name((enum event_kind)k);
		join_names(list, sizeof(list), names, n);
		push_key(c, "kind");
		ret = fail(c, false, "unknown event kind \"%s\" (kinds: %s)", quote(kind, q, sizeof(q)), list);
		pop(c);
	}
	if (!ret && event_kind_parse(kind) == EV_POLICY_ACTION) {
		/* the policy's own output is not fed back to it: a rule on it never fires */
		push_key(c, "kind");
		ret = fail(c, false, "policy_action events are what the policy does; no rule can match them");
		pop(c);
	}
	if (!ret)
		r->kind = (enum event_kind)event_kind_parse(kind);
	if (!ret)
		ret = parse_glob(c, m, "resource", r->resource);
	if (!ret)
		ret = parse_glob(c, m, "vm", r->vm);
	if (!ret)
		ret = get_string(c, m, "min_severity", false, &sev);
	if (!ret && sev) {
		push_key(c, "min_severity");
		if (event_severity_parse(sev) < 0)
			ret = fail(c, false, "unknown severity \"%s\" (severities: info, notice, warning, critical)",
				   quote(sev, q, sizeof(q)));
		else
			r->min_severity = (enum event_severity)event_severity_parse(sev);
		pop(c);
	}
	pop(c);
	return ret;
}

static int parse_when(struct pctx *c, json_t *rule, struct policy_rule *r)
{
	static const char *const keys[] = { "count", "rate_per_s", "window_ms" };
	uint64_t window_ms = 0;
	json_t *w;
	int ret;

	r->cond = COND_EVERY;
	ret = get_object(c, rule, "when", false, &w);
	if (ret || !w)
		return ret;
	push_key(c, "when");
	ret = check_keys(c, w, keys, sizeof(keys) / sizeof(keys[0]), "when");
	if (!ret && json_object_get(w, "count") && json_object_get(w, "rate_per_s")) {
		push_key(c, "rate_per_s");
		ret = fail(c, true, "when takes count or rate_per_s, not both");
		pop(c);
	} else if (!ret && !json_object_get(w, "count") && !json_object_get(w, "rate_per_s")) {
		ret = fail(c, false, "when needs count or rate_per_s");
	}
	if (!ret && json_object_get(w, "count")) {
		r->cond = COND_COUNT;
		ret = get_uint(c, w, "count", true, 1, COUNT_MAX, &r->threshold);
	} else if (!ret) {
		r->cond = COND_RATE;
		ret = get_uint(c, w, "rate_per_s", true, 1, 1000000000, &r->threshold);
	}
	if (!ret && !json_object_get(w, "window_ms"))
		ret = fail(c, false, "when needs window_ms");
	if (!ret)
		ret = get_uint(c, w, "window_ms", true, 1, MS_MAX_WINDOW, &window_ms);
	pop(c);
	r->window_ns = window_ms * 1000000;
	r->bucket_ns = r->window_ns / POLICY_BUCKETS ? r->window_ns / POLICY_BUCKETS : 1;
	return ret;
}

static int parse_action(struct pctx *c, json_t *v, struct policy_step *step)
{
	char q[48];
	int a;

	if (!json_is_string(v))
		return fail(c, false, "an escalate step is an action name or an array of 1 to %d action names",
			    POLICY_MAX_ACTIONS_PER_STEP);
	a = policy_action_parse(json_string_value(v));
	if (a < 0) {
		const char *names[ACT_COUNT];
		char list[200];

		for (int i = 0; i < ACT_COUNT; i++)
			names[i] = policy_action_name((enum policy_action)i);
		join_names(list, sizeof(list), names, ACT_COUNT);
		return fail(c, false, "unknown action \"%s\" (actions: %s)", quote(json_string_value(v), q, sizeof(q)),
			    list);
	}
	for (unsigned i = 0; i < step->nr; i++)
		if (step->actions[i] == (enum policy_action)a)
			return fail(c, false, "action \"%s\" twice in one step", policy_action_name(step->actions[i]));
	step->actions[step->nr++] = (enum policy_action)a;
	return 0;
}

static int parse_step(struct pctx *c, json_t *v, struct policy_step *step)
{
	size_t n;
	int ret = 0;

	if (!json_is_array(v))
		return parse_action(c, v, step);
	n = json_array_size(v);
	if (n == 0 || n > POLICY_MAX_ACTIONS_PER_STEP)
		return fail(c, false, "an escalate step holds 1 to %d actions, not %zu", POLICY_MAX_ACTIONS_PER_STEP, n);
	for (size_t i = 0; i < n && !ret; i++) {
		push_index(c, i);
		ret = parse_action(c, json_array_get(v, i), step);
		pop(c);
	}
	if (ret)
		return ret;
	for (unsigned i = 0; i < step->nr; i++)
		for (unsigned j = 0; j < step->nr; j++)
			if (step->actions[i] == ACT_RESTART && step->actions[j] == ACT_QUARANTINE)
				return fail(c, false, "restart and quarantine in one step contradict each other");
	return 0;
}

static int parse_escalate(struct pctx *c, json_t *rule, struct policy_rule *r)
{
	json_t *e = json_object_get(rule, "escalate");
	size_t n;
	int ret = 0;

	if (!e)
		return fail(c, false, "missing key \"escalate\"");
	push_key(c, "escalate");
	n = json_is_array(e) ? json_array_size(e) : 0;
	if (!json_is_array(e) || n == 0 || n > POLICY_MAX_STEPS)
		ret = fail(c, false, "escalate must be an array of 1 to %d steps", POLICY_MAX_STEPS);
	for (size_t i = 0; i < n && !ret; i++) {
		push_index(c, i);
		ret = parse_step(c, json_array_get(e, i), &r->steps[i]);
		pop(c);
	}
	pop(c);
	r->nr_steps = (unsigned)n;
	return ret;
}

static int parse_name(struct pctx *c, json_t *rule, struct policy_rule *r)
{
	const char *name = NULL;
	size_t n;
	int ret = get_string(c, rule, "name", true, &name);

	if (ret)
		return ret;
	n = strlen(name);
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.'))
			n = 0;
	}
	push_key(c, "name");
	if (n == 0 || n >= POLICY_NAME_MAX)
		ret = fail(c, false, "a rule name is 1 to %d letters, digits, '-', '_' or '.'", POLICY_NAME_MAX - 1);
	else
		memcpy(r->name, name, n + 1);
	pop(c);
	return ret;
}

static int parse_rule(struct pctx *c, json_t *rule, const struct policy_settings *s, struct policy_rule *r)
{
	static const char *const keys[] = { "name", "description", "match", "when", "escalate",
					     "hold_down_ms", "reset_after_ms", "pause_ms" };
	uint64_t hold = 0, reset = 0, pause = s->pause_ms;
	const char *desc = NULL;
	int ret;

	if (!json_is_object(rule))
		return fail(c, false, "a rule must be an object");
	ret = check_keys(c, rule, keys, sizeof(keys) / sizeof(keys[0]), "a rule");
	if (!ret)
		ret = parse_name(c, rule, r);
	if (ret)
		return ret;
	c->rule = r->name;
	ret = get_string(c, rule, "description", false, &desc);
	if (!ret)
		ret = parse_match(c, rule, r);
	if (!ret)
		ret = parse_when(c, rule, r);
	if (!ret)
		ret = parse_escalate(c, rule, r);
	if (!ret)
		ret = get_uint(c, rule, "hold_down_ms", false, 0, MS_MAX_HOLD, &hold);
	if (!ret)
		ret = get_uint(c, rule, "reset_after_ms", false, 0, MS_MAX_HOLD, &reset);
	if (!ret)
		ret = get_uint(c, rule, "pause_ms", false, 1, MS_MAX_WINDOW, &pause);
	r->hold_down_ns = hold * 1000000;
	r->reset_after_ns = reset * 1000000;
	r->pause_ms = (unsigned)pause;
	if (!ret)
		c->rule = NULL;
	return ret;
}

static const struct policy_settings default_settings = {
	.exit_storm_per_s = 250000,
	.restart_budget = 2,
	.throttle_percent = 10,
	.pause_ms = 2000,
	.tick_ms = 50,
	.diverge_percent = 10,
	.diverge_slack = 64,
};

/* Rule names must be unique: decisions and events name the rule. */
static int check_unique(struct pctx *c, const struct policy *p, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		struct json_step first[] = { { .key = "rules" }, { .index = j }, { .key = "name" } };
		int ret;

		if (strcmp(p->rules[j].name, p->rules[i].name))
			continue;
		push_key(c, "name");
		ret = fail(c, false, "rule name \"%s\" is already used at line %u", p->rules[i].name,
			   json_line_of(c->text, c->len, first, 3, false));
		pop(c);
		return ret;
	}
	return 0;
}

static int parse_rules(struct pctx *c, json_t *root, const struct policy_settings *s, struct policy **out)
{
	json_t *rules = json_object_get(root, "rules");
	struct policy *p;
	size_t n;
	int ret = 0;

	if (!rules)
		return fail(c, false, "missing key \"rules\"");
	push_key(c, "rules");
	n = json_is_array(rules) ? json_array_size(rules) : 0;
	if (!json_is_array(rules))
		ret = fail(c, false, "rules must be an array");
	else if (n > POLICY_MAX_RULES)
		ret = fail(c, false, "%zu rules; at most %d", n, POLICY_MAX_RULES);
	if (ret) {
		pop(c);
		return ret;
	}
	p = calloc(1, sizeof(*p) + n * sizeof(p->rules[0]));
	if (!p) {
		pop(c);
		return -ENOMEM;
	}
	p->settings = *s;
	p->nr_rules = (unsigned)n;
	for (size_t i = 0; i < n && !ret; i++) {
		push_index(c, i);
		ret = parse_rule(c, json_array_get(rules, i), s, &p->rules[i]);
		if (!ret)
			ret = check_unique(c, p, i);
		pop(c);
	}
	pop(c);
	if (ret) {
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

static int parse_policy(struct pctx *c, json_t *root, struct policy **out)
{
	static const char *const keys[] = { "version", "description", "settings", "rules" };
	struct policy_settings settings = default_settings;
	uint64_t version = 0;
	const char *desc = NULL;
	int ret;

	if (!json_is_object(root))
		return fail(c, false, "a policy is a JSON object");
	ret = check_keys(c, root, keys, sizeof(keys) / sizeof(keys[0]), "the policy");
	if (!ret)
		ret = get_uint(c, root, "version", true, 0, UINT32_MAX, &version);
	if (!ret && version != 1) {
		push_key(c, "version");
		ret = fail(c, false, "unsupported version %llu (this kfv reads version 1)", (unsigned long long)version);
		pop(c);
	}
	if (!ret)
		ret = get_string(c, root, "description", false, &desc);
	/* settings first: a rule's pause_ms defaults to them */
	if (!ret)
		ret = parse_settings(c, root, &settings);
	if (!ret)
		ret = parse_rules(c, root, &settings, out);
	return ret;
}

static int load_buffer(const char *text, size_t len, const char *name, struct policy **out, char *err, size_t errlen)
{
	struct pctx c = { .text = text, .len = len, .name = name ? name : "policy", .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char text_q[JSON_ERROR_TEXT_LENGTH + 4];

		/* jansson quotes the text near the error, which may hold a newline */
		if (err && errlen)
			snprintf(err, errlen, "%s: line %d: %s", c.name, jerr.line > 0 ? jerr.line : 1,
				 quote(jerr.text, text_q, sizeof(text_q)));
		return -EINVAL;
	}
	ret = parse_policy(&c, root, out);
	json_decref(root);
	if (ret == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", c.name);
	return ret;
}

int policy_load_string(const char *text, const char *name, struct policy **out, char *err, size_t errlen)
{
	if (!text) {
		*out = NULL;
		return -EINVAL;
	}
	return load_buffer(text, strlen(text), name, out, err, errlen);
}

int policy_load_file(const char *path, struct policy **out, char *err, size_t errlen)
{
	uint8_t *data;
	size_t size;
	int ret;

	*out = NULL;
	ret = read_whole_file(path, POLICY_FILE_MAX, &data, &size);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
				 ret == -EFBIG ? "larger than 1 MiB; not a policy" : strerror(-ret));
		return ret;
	}
	ret = load_buffer((const char *)data, size, path, out, err, errlen);
	free(data);
	return ret;
}
