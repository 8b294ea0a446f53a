/* libFuzzer harness for the supervisor's reading of the telemetry page,
 * the memory a compromised VMM writes: the input becomes the page (names
 * with no NUL, kinds and counts out of range, whatever the fuzzer likes).
 * The page ends where a PROT_NONE page starts, so a read one byte past it
 * faults. Over it runs what an orchestrator tick runs: the sensor
 * (telemetry_sense) with its reports made events and fed to a policy, the
 * deny/reset matching of the decisions (telemetry_set_action), and the
 * metrics file with the agents' names as labels (event_log_write_metrics).
 *
 * Input: the page's bytes from offset 0. A short input is repeated to fill
 * the page (so every name is full); an empty one is an all-0xff page. Bytes
 * past the page overwrite it from offset 0 for a second tick, so counters
 * move between readings. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "defense/event_log.h"
#include "defense/policy.h"
#include "defense/telemetry.h"
#include "defense/telemetry_read.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_PER_S 1000000000ull

/* Every sensor report has a rule that acts on it at once: deny and reset
 * decisions on every tick, so their matching runs on every input. */
static const char policy_text[] =
	"{\"version\": 1, \"rules\": ["
	"{\"name\": \"pio\", \"match\": {\"kind\": \"unclaimed_pio\"}, \"escalate\": [\"deny\"]},"
	"{\"name\": \"mmio\", \"match\": {\"kind\": \"unclaimed_mmio\"}, \"escalate\": [\"deny\"]},"
	"{\"name\": \"flood\", \"match\": {\"kind\": \"malformed_descriptor\"}, \"escalate\": [\"reset_device\"]},"
	"{\"name\": \"refused\", \"match\": {\"kind\": \"access_denied\"}, \"escalate\": [[\"reset_device\", \"deny\"]]},"
	"{\"name\": \"msr\", \"match\": {\"kind\": \"msr_denied\"}, \"escalate\": [\"deny\"]},"
	"{\"name\": \"limited\", \"match\": {\"kind\": \"rate_limit\"}, \"escalate\": [\"log\"]}"
	"]}";

static struct telemetry *tel; /* its last byte is the last one mapped */
static struct event_log *log_;
static char dir[256];
static char metrics[300];

struct sink {
	struct policy *policy;
	struct telemetry *t;
	uint64_t now;
};

/* What the orchestrator's record() and ho_event() do with a report. */
static void report(void *ctx, enum event_kind kind, enum event_severity sev, const char *resource, uint64_t count,
		   const char *detail)
{
	struct sink *s = ctx;
	struct event ev = { .kind = kind, .severity = sev, .count = count ? count : 1 };
	struct policy_decision d[8];
	unsigned n;

	/* The promise under test: a terminated name of at most 24 bytes. */
	if (strnlen(resource, AGENT_NAME_MAX + 1) > AGENT_NAME_MAX || (unsigned)kind >= EV_KIND_COUNT)
		abort();
	snprintf(ev.vm, sizeof(ev.vm), "fuzz");
	snprintf(ev.resource, sizeof(ev.resource), "%s", resource);
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
	event_log_emit(log_, &ev);
	n = policy_observe(s->policy, &ev, s->now, d, 8);
	if (n > 8)
		abort();
	for (unsigned i = 0; i < n; i++)
		for (unsigned a = 0; a < d[i].nr_actions && a < POLICY_MAX_ACTIONS_PER_STEP; a++) {
			if (d[i].actions[a] == ACT_DENY)
				(void)telemetry_set_action(s->t, d[i].resource, AGENT_DENY);
			else if (d[i].actions[a] == ACT_RESET_DEVICE)
				(void)telemetry_set_action(s->t, d[i].resource, AGENT_RESET);
		}
}

static void cleanup(void)
{
	unlink(metrics);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (sizeof(struct telemetry) + page - 1) / page * page;
	const char *tmp = getenv("TMPDIR");
	char *m;

	(void)argc;
	(void)argv;
	/* The page's end must be as aligned as the struct for it to sit there. */
	if (sizeof(struct telemetry) % _Alignof(struct telemetry))
		abort();
	m = mmap(NULL, body + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + body, page, PROT_NONE))
		abort();
	tel = (struct telemetry *)(m + body - sizeof(struct telemetry));
	snprintf(dir, sizeof(dir), "%s/kfv-fuzz-telemetry-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(metrics, sizeof(metrics), "%s/metrics.prom", dir);
	atexit(cleanup);
	/* Events go nowhere: their encoding is the event log's own test. */
	if (event_log_open(&log_, "/dev/null", metrics, "fuzz"))
		abort();
	return 0;
}

static void fill(const uint8_t *data, size_t size)
{
	uint8_t *p = (uint8_t *)tel;
	size_t len = sizeof(*tel);

	if (!size) {
		memset(p, 0xff, len);
		return;
	}
	for (size_t off = 0; off < len; off += size)
		memcpy(p + off, data, len - off < size ? len - off : size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_extra x = { .up = 1, .nr_kvm_vcpus = 1 };
	struct telemetry_last last;
	struct sink s = { .t = tel, .now = NS_PER_S };
	char err[256];
	size_t page = sizeof(*tel);

	/* A fresh policy each run: windows and hold-downs carry no state
	 * from one input to the next. */
	if (policy_load_string(policy_text, "fuzz", &s.policy, err, sizeof(err)))
		abort();
	memset(&last, 0, sizeof(last));
	fill(data, size < page ? size : page);
	telemetry_sense(tel, &last, report, &s);
	/* The deny/reset matching by every slot's own name and the two buses. */
	for (unsigned i = 0; i < TELEMETRY_MAX_AGENTS; i++) {
		struct agent_view v;

		if (telemetry_agent_view(tel, i, &v))
			abort();
		(void)telemetry_set_action(tel, v.name, i & 1 ? AGENT_RESET : AGENT_DENY);
	}
	(void)telemetry_set_action(tel, "pio", AGENT_DENY);
	(void)telemetry_set_action(tel, "mmio", AGENT_RESET);
	if (size > page) {
		memcpy(tel, data + page, size - page < page ? size - page : page);
		s.now += NS_PER_S;
		telemetry_sense(tel, &last, report, &s);
	}
	/* Once a run, as the orchestrator writes it once a second. */
	if (event_log_write_metrics(log_, tel, &x))
		abort();
	policy_free(s.policy);
	return 0;
}
