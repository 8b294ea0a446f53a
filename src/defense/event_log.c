#define _GNU_SOURCE
#include "event_log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/utf8.h"

static int check_metrics_dir(const char *path)
{
	char *tmp;
	int fd, err = 0;

	/* Exactly the name the writer uses, so a directory that refuses it
	 * fails now, at start-up, not at the first tick. */
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	if (fd < 0)
		err = -errno;
	else {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return err;
}

int event_log_open(struct event_log **out, const char *events_path, const char *metrics_path, const char *vm_name)
{
	struct event_log *l = calloc(1, sizeof(*l));
	int err;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->events_fd = -1;
	l->worst = -1;
	utf8_sanitize(l->vm, sizeof(l->vm), vm_name ? vm_name : "", SIZE_MAX);
	if (events_path) {
		l->events_path = strdup(events_path);
		if (!l->events_path) {
			err = -ENOMEM;
			goto err_free;
		}
		/* O_APPEND: every line lands at the end, whatever else appends. */
		l->events_fd = open(events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
		if (l->events_fd < 0) {
			err = -errno;
			goto err_free;
		}
	}
	if (metrics_path) {
		l->metrics_path = strdup(metrics_path);
		if (!l->metrics_path) {
			err = -ENOMEM;
			goto err_free;
		}
		err = check_metrics_dir(metrics_path);
		if (err)
			goto err_free;
	}
	*out = l;
	return 0;

err_free:
	event_log_close(l);
	return err;
}

static json_int_t clamp_int(uint64_t v)
{
	return v > INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v;
}

/* Sets key to the sanitized string of a fixed-size field: the field may
 * lack its NUL, and its bytes may come from the guest. */
static int set_str(json_t *obj, const char *key, const char *field, size_t size)
{
	/* Room for a field with every byte used and no NUL. */
	char buf[(EVENT_DETAIL_MAX > EVENT_ACTION_MAX ? EVENT_DETAIL_MAX : EVENT_ACTION_MAX) + 1];

	utf8_sanitize(buf, sizeof(buf), field, size);
	return json_object_set_new(obj, key, json_string(buf));
}

static void format_time(char *buf, size_t len, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t n;

	if (!gmtime_r(&sec, &tm) || !(n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, len, "1970-01-01T00:00:00.000000Z");
		return;
	}
	snprintf(buf + n, len - n, ".%06uZ", (unsigned)(ns % 1000000000u / 1000u));
}

static json_t *event_json(const struct event_log *l, const struct event *ev, uint64_t time_ns)
{
	json_t *o = json_object();
	char when[64];
	int err = 0;

	if (!o)
		return NULL;
	format_time(when, sizeof(when), time_ns);
	err |= json_object_set_new(o, "time", json_string(when));
	err |= json_object_set_new(o, "time_ns", json_integer(clamp_int(time_ns)));
	if (ev->vm[0])
		err |= set_str(o, "vm", ev->vm, sizeof(ev->vm));
	else
		err |= json_object_set_new(o, "vm", json_string(l->vm));
	err |= set_str(o, "resource", ev->resource, sizeof(ev->resource));
	err |= json_object_set_new(o, "kind", json_string(event_kind_name(ev->kind)));
	err |= json_object_set_new(o, "severity", json_string(event_severity_name(ev->severity)));
	err |= json_object_set_new(o, "count", json_integer(clamp_int(ev->count)));
	err |= set_str(o, "detail", ev->detail, sizeof(ev->detail));
	if (ev->action[0])
		err |= set_str(o, "action", ev->action, sizeof(ev->action));
	else
		err |= json_object_set_new(o, "action", json_null());
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One line, one writev(2): with O_APPEND the kernel places it whole at the
 * end of the file. Only a full disk or a signal writes less; the rest is
 * then retried. */
static int write_line(int fd, const char *text, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)text, .iov_len = len },
		{ .iov_base = (void *)"\n", .iov_len = 1 },
	};
	struct iovec *v = iov;
	int cnt = 2;

	while (cnt) {
		ssize_t n = writev(fd, v, cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		while (cnt && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			cnt--;
		}
		if (cnt) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void count_action(struct event_log *l, const char *name)
{
	unsigned i;

	for (i = 0; i < l->nr_actions; i++)
		if (!strcmp(l->actions[i].name, name))
			break;
	if (i == l->nr_actions) {
		if (i == EVENT_LOG_MAX_ACTIONS) {
			l->actions_other++;
			return;
		}
		snprintf(l->actions[i].name, sizeof(l->actions[i].name), "%s", name);
		l->nr_actions++;
	}
	l->actions[i].count++;
}

/* An action string may name several actions ("deny,dump"): each counts. */
static void count_actions(struct event_log *l, const char *action, size_t size)
{
	char buf[EVENT_ACTION_MAX + 1], *save = NULL;

	utf8_sanitize(buf, sizeof(buf), action, size);
	for (char *tok = strtok_r(buf, ", +", &save); tok; tok = strtok_r(NULL, ", +", &save))
		count_action(l, tok);
}

static void count_event(struct event_log *l, const struct event *ev)
{
	unsigned k = (unsigned)ev->kind < EV_KIND_COUNT ? (unsigned)ev->kind : EV_KIND_COUNT;

	l->events[k]++;
	l->occurrences[k] += ev->count;
	if ((unsigned)ev->severity < SEV_COUNT) {
		l->severities[ev->severity]++;
		if (event_log_kind_is_security(k) && (int)ev->severity > l->worst)
			l->worst = (int)ev->severity;
	}
	if (ev->action[0])
		count_actions(l, ev->action, sizeof(ev->action));
}

static void record_error(struct event_log *l, int err)
{
	l->write_errors++;
	l->last_error = -err;
	LOG_RATELIMITED(LOG_WARN, "events file %s: %s", l->events_path, strerror(-err));
}

void event_log_emit(struct event_log *l, const struct event *ev)
{
	uint64_t time_ns;
	json_t *o;
	char *text;
	int err;

	if (!l)
		return;
	time_ns = ev->time_ns;
	count_event(l, ev);
	if (l->events_fd < 0)
		return;
	if (!time_ns) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	o = event_json(l, ev, time_ns);
	/* Compact keeps it one line; ASCII-only keeps a terminal showing the
	 * file from interpreting what the guest put in a detail. */
	text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text) {
		record_error(l, -ENOMEM);
		return;
	}
	err = write_line(l->events_fd, text, strlen(text));
	free(text);
	if (err)
		record_error(l, err);
}

uint64_t event_log_count(const struct event_log *l, enum event_kind kind)
{
	return l && (unsigned)kind < EV_KIND_COUNT ? l->events[kind] : 0;
}

void event_log_print_summary(const struct event_log *l, FILE *out)
{
	uint64_t total = 0;
	const char *sep = "";

	if (!l)
		return;
	for (unsigned k = 0; k <= EV_KIND_COUNT; k++)
		if (event_log_kind_is_security(k))
			total += l->events[k];
	if (!total) {
		fprintf(out, "kfv: security: no security events\n");
	} else {
		fprintf(out, "kfv: security: %" PRIu64 " event%s:", total, total == 1 ? "" : "s");
		for (unsigned k = 0; k <= EV_KIND_COUNT; k++) {
			if (!event_log_kind_is_security(k) || !l->events[k])
				continue;
			fprintf(out, "%s %s %" PRIu64, sep, event_kind_name((enum event_kind)k), l->events[k]);
			/* An event can stand for many occurrences (a tick's worth of
			 * unclaimed accesses): say how many when it differs. */
			if (l->occurrences[k] != l->events[k])
				fprintf(out, " (%" PRIu64 " occurrences)", l->occurrences[k]);
			sep = ",";
		}
		fprintf(out, "\n");
		fprintf(out, "kfv: security: worst severity: %s\n",
			l->worst >= 0 ? event_severity_name((enum event_severity)l->worst) : "unknown");
	}
	if (l->nr_actions || l->actions_other) {
		sep = "";
		fprintf(out, "kfv: security: actions taken:");
		for (unsigned i = 0; i < l->nr_actions; i++) {
			fprintf(out, "%s ", sep);
			/* Names came from event strings: no control characters to the terminal. */
			for (const char *c = l->actions[i].name; *c; c++)
				fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, out);
			fprintf(out, " %" PRIu64, l->actions[i].count);
			sep = ",";
		}
		if (l->actions_other)
			fprintf(out, "%s other %" PRIu64, sep, l->actions_other);
		fprintf(out, "\n");
	} else if (total) {
		fprintf(out, "kfv: security: actions taken: none\n");
	}
	if (l->write_errors)
		fprintf(out, "kfv: security: %" PRIu64 " event line%s not written to %s: %s\n", l->write_errors,
			l->write_errors == 1 ? "" : "s", l->events_path, strerror(l->last_error));
}

void event_log_close(struct event_log *l)
{
	if (!l)
		return;
	if (l->events_fd >= 0)
		close(l->events_fd);
	free(l->events_path);
	free(l->metrics_path);
	free(l);
}
