/* The metrics file: the event counts, the telemetry page and the
 * orchestrator's own figures in the Prometheus text exposition format
 * (version 0.0.4), replaced whole on every write. */
#define _GNU_SOURCE
#include "event_log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/utf8.h"

/* A label value: the input is valid UTF-8 already; the format wants \\, \"
 * and \n escaped. Other control characters become '?' so the file stays
 * readable on a terminal. */
static void put_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '"')
			fputs("\\\"", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c == 0x7f)
			fputc('?', f);
		else
			fputc(c, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{k1="v1",...} value, the labels as NULL-terminated
 * key/value pairs. */
static void sample(FILE *f, const char *name, uint64_t value, ...)
{
	const char *sep = "{";
	const char *key;
	va_list ap;

	fputs(name, f);
	va_start(ap, value);
	while ((key = va_arg(ap, const char *))) {
		fprintf(f, "%s%s=\"", sep, key);
		put_label_value(f, va_arg(ap, const char *));
		fputc('"', f);
		sep = ",";
	}
	va_end(ap);
	fprintf(f, "%s %" PRIu64 "\n", *sep == ',' ? "}" : "", value);
}

static void write_events(FILE *f, const struct event_log *l)
{
	family(f, "kfv_events_total", "counter", "Security events written, by kind.");
	for (unsigned k = 0; k <= EV_KIND_COUNT; k++)
		if (k < EV_KIND_COUNT || l->events[k])
			sample(f, "kfv_events_total", l->events[k], "vm", l->vm, "kind",
			       event_kind_name((enum event_kind)k), NULL);
	family(f, "kfv_event_occurrences_total", "counter",
	       "Occurrences the events stand for (an event can summarise many), by kind.");
	for (unsigned k = 0; k <= EV_KIND_COUNT; k++)
		if (k < EV_KIND_COUNT || l->events[k])
			sample(f, "kfv_event_occurrences_total", l->occurrences[k], "vm", l->vm, "kind",
			       event_kind_name((enum event_kind)k), NULL);
	family(f, "kfv_events_by_severity_total", "counter", "Security events written, by severity.");
	for (unsigned s = 0; s < SEV_COUNT; s++)
		sample(f, "kfv_events_by_severity_total", l->severities[s], "vm", l->vm, "severity",
		       event_severity_name((enum event_severity)s), NULL);
	family(f, "kfv_policy_actions_total", "counter", "Actions the orchestrator took, by action.");
	for (unsigned i = 0; i < l->nr_actions; i++)
		sample(f, "kfv_policy_actions_total", l->actions[i].count, "vm", l->vm, "action", l->actions[i].name,
		       NULL);
	if (l->actions_other)
		sample(f, "kfv_policy_actions_total", l->actions_other, "vm", l->vm, "action", "other", NULL);
	family(f, "kfv_event_write_errors_total", "counter", "Event lines that could not be written to the events file.");
	sample(f, "kfv_event_write_errors_total", l->write_errors, "vm", l->vm, NULL);
}

/* Label values of the agents: names from the shared page, which a
 * compromised VMM can fill with anything, made valid UTF-8 and unique (a
 * repeated series would make the whole file invalid to a scraper). */
#define AGENT_LABEL_MAX (AGENT_NAME_MAX + 8) /* room for "#63-63" */
static int label_taken(char (*labels)[AGENT_LABEL_MAX], uint32_t n, const char *s)
{
	for (uint32_t j = 0; j < n; j++)
		if (!strcmp(labels[j], s))
			return 1;
	return 0;
}

static void agent_labels(const struct agent_view *v, uint32_t n, char (*labels)[AGENT_LABEL_MAX])
{
	for (uint32_t i = 0; i < n; i++) {
		size_t len = utf8_sanitize(labels[i], AGENT_LABEL_MAX, v[i].name, sizeof(v[i].name));

		if (!len)
			len = (size_t)snprintf(labels[i], AGENT_LABEL_MAX, "unnamed");
		/* At most i labels are taken, so one of i + 1 suffixes is free. */
		for (uint32_t k = 0; label_taken(labels, i, labels[i]) && k <= i; k++)
			snprintf(labels[i] + len, AGENT_LABEL_MAX - len, k ? "#%u-%u" : "#%u", (unsigned)i, (unsigned)k);
	}
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void agent_counter(FILE *f, const char *name, const char *help, const struct agent_view *v, uint32_t n,
			  char (*labels)[AGENT_LABEL_MAX], const char *vm, size_t offset)
{
	family(f, name, "counter", help);
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t *c = (const uint64_t *)((const char *)&v[i] + offset);

		sample(f, name, *c, "vm", vm, "agent", labels[i], "kind", agent_kind_name(v[i].kind), NULL);
	}
}

static void write_agents(FILE *f, const struct event_log *l, const struct telemetry *t)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} counters[] = {
		{ "kfv_agent_accesses_total", "Guest accesses the agent saw.", offsetof(struct agent_view, accesses) },
		{ "kfv_agent_bytes_total", "Bytes the guest moved through the agent.",
		  offsetof(struct agent_view, bytes) },
		{ "kfv_agent_rejects_total", "Accesses the agent refused (denied, or not valid for the device).",
		  offsetof(struct agent_view, rejects) },
		{ "kfv_agent_anomalies_total", "Malformed input the agent saw (bad chains, bad lengths).",
		  offsetof(struct agent_view, anomalies) },
		{ "kfv_agent_throttled_total", "Requests a rate limiter held back.",
		  offsetof(struct agent_view, throttled) },
	};
	/* One copy of every slot, so each family shows the same reading and
	 * nothing below touches the page. */
	struct agent_view v[TELEMETRY_MAX_AGENTS];
	char labels[TELEMETRY_MAX_AGENTS][AGENT_LABEL_MAX];
	uint32_t n = t ? telemetry_nr_agents(t) : 0;

	for (uint32_t i = 0; i < n; i++)
		if (telemetry_agent_view(t, i, &v[i]))
			n = i; /* cannot happen: n is clamped to the array */
	agent_labels(v, n, labels);
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		agent_counter(f, counters[i].name, counters[i].help, v, n, labels, l->vm, counters[i].offset);
	family(f, "kfv_agent_resets_total", "counter", "Device resets the VMM carried out for the agent.");
	for (uint32_t i = 0; i < n; i++)
		sample(f, "kfv_agent_resets_total", v[i].resets, "vm", l->vm, "agent", labels[i], "kind",
		       agent_kind_name(v[i].kind), NULL);
	family(f, "kfv_agent_action", "gauge", "The agent's current action: 0 allow, 1 deny, 2 reset pending.");
	for (uint32_t i = 0; i < n; i++)
		sample(f, "kfv_agent_action", v[i].action, "vm", l->vm, "agent", labels[i], NULL);
}

static void write_vcpus(FILE *f, const struct event_log *l, const struct telemetry *t, const struct metrics_extra *x)
{
	static const struct {
		const char *reason;
		size_t offset;
	} reasons[] = {
		{ "io", offsetof(struct telemetry_vcpu, io_exits) },
		{ "mmio", offsetof(struct telemetry_vcpu, mmio_exits) },
		{ "msr", offsetof(struct telemetry_vcpu, msr_exits) },
		{ "hlt", offsetof(struct telemetry_vcpu, hlt_exits) },
	};
	uint32_t n = t ? telemetry_nr_vcpus(t) : 0;
	unsigned nk = x->nr_kvm_vcpus < TELEMETRY_MAX_VCPUS ? x->nr_kvm_vcpus : TELEMETRY_MAX_VCPUS;
	char id[16];

	/* Two sources on purpose: what the VMM reports (agents) and what the
	 * kernel counted (kvm). A gap between them is what reports_diverge is
	 * about. */
	family(f, "kfv_vcpu_exits_total", "counter",
	       "VM exits per vCPU: source=\"agents\" as the VMM reports them, source=\"kvm\" as the kernel counted them.");
	for (uint32_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", (unsigned)i);
		sample(f, "kfv_vcpu_exits_total", LOAD(t->vcpu[i].exits), "vm", l->vm, "vcpu", id, "source", "agents",
		       NULL);
	}
	for (unsigned i = 0; i < nk; i++) {
		snprintf(id, sizeof(id), "%u", i);
		sample(f, "kfv_vcpu_exits_total", x->kvm_exits[i], "vm", l->vm, "vcpu", id, "source", "kvm", NULL);
	}
	family(f, "kfv_vcpu_exit_reasons_total", "counter", "VM exits per vCPU and reason, as the VMM reports them.");
	for (uint32_t i = 0; i < n; i++) {
		const char *v = (const char *)&t->vcpu[i];

		snprintf(id, sizeof(id), "%u", (unsigned)i);
		for (size_t r = 0; r < sizeof(reasons) / sizeof(reasons[0]); r++)
			sample(f, "kfv_vcpu_exit_reasons_total", LOAD(*(const _Atomic uint64_t *)(v + reasons[r].offset)),
			       "vm", l->vm, "vcpu", id, "reason", reasons[r].reason, NULL);
	}
}

static void write_extra(FILE *f, const struct event_log *l, const struct metrics_extra *x)
{
	family(f, "kfv_up", "gauge", "1 while the VM's VMM process runs, else 0.");
	sample(f, "kfv_up", x->up ? 1 : 0, "vm", l->vm, NULL);
	family(f, "kfv_vmm_pid", "gauge", "Process id of the running VMM; 0 when none runs.");
	sample(f, "kfv_vmm_pid", x->vmm_pid > 0 ? (uint64_t)x->vmm_pid : 0, "vm", l->vm, NULL);
	family(f, "kfv_vmm_restarts_total", "counter", "VMM processes started after the first.");
	sample(f, "kfv_vmm_restarts_total", x->vmm_restarts, "vm", l->vm, NULL);
	family(f, "kfv_guard_checks_total", "counter", "Integrity checks the guard ran.");
	sample(f, "kfv_guard_checks_total", x->guard_checks, "vm", l->vm, NULL);
	family(f, "kfv_guard_alarms_total", "counter", "Integrity checks the guard found failing.");
	sample(f, "kfv_guard_alarms_total", x->guard_alarms, "vm", l->vm, NULL);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes a temporary file beside path and renames it over path: rename(2)
 * within one directory swaps the name atomically, so a reader opens either
 * the old file or the new one, both complete. */
static int replace_file(const char *path, const char *buf, size_t len)
{
	char *tmp;
	int fd, err;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return -ENOMEM;
	/* O_NOFOLLOW: a link planted under the temporary name is not followed. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, buf, len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

int event_log_write_metrics(struct event_log *l, const struct telemetry *t, const struct metrics_extra *x)
{
	static const struct metrics_extra none;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (!l || !l->metrics_path)
		return 0;
	if (!x)
		x = &none;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	write_extra(f, l, x);
	write_events(f, l);
	write_agents(f, l, t);
	write_vcpus(f, l, t, x);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	err = replace_file(l->metrics_path, buf, len);
	free(buf);
	return err;
}
