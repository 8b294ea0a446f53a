/* libFuzzer harness for the policy parser and engine: the input is a policy
 * file. A refused one must be reported as one line "fuzz: line N: REASON"
 * with N inside the text; an accepted one is run over a fixed stream of
 * events of every kind, severity and a few resources, and every decision
 * must name a real step of real actions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defense/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_events(struct policy *p)
{
	static const char *const resources[] = { "pio", "mmio", "virtio-blk0", "virtio-net0", "i8042", "vmm" };
	struct policy_decision d[4];

	for (unsigned i = 0; i < 600; i++) {
		struct event ev;
		unsigned n;

		memset(&ev, 0, sizeof(ev));
		ev.kind = (enum event_kind)(i % EV_KIND_COUNT);
		ev.severity = (enum event_severity)((i / EV_KIND_COUNT) % SEV_COUNT);
		ev.count = (i % 5 == 4) ? UINT64_MAX / 3 : i % 300;
		snprintf(ev.vm, sizeof(ev.vm), "vm%u", i % 3);
		snprintf(ev.resource, sizeof(ev.resource), "%s", resources[i % 6]);
		n = policy_observe(p, &ev, (uint64_t)i * 7000000, d, 4);
		if (n > 4)
			abort();
		for (unsigned k = 0; k < n; k++) {
			if (d[k].nr_actions < 1 || d[k].nr_actions > POLICY_MAX_ACTIONS_PER_STEP ||
			    d[k].step >= POLICY_MAX_STEPS || !d[k].rule[0] || d[k].kind != ev.kind)
				abort();
			for (unsigned a = 0; a < d[k].nr_actions; a++)
				if ((unsigned)d[k].actions[a] >= ACT_COUNT)
					abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	struct policy *p = NULL;
	unsigned lines = 1, line;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ret = policy_load_string(text, "fuzz", &p, err, sizeof(err));
	if (ret) {
		for (const char *s = text; *s; s++)
			lines += *s == '\n';
		if (ret != -EINVAL || p || strchr(err, '\n'))
			abort();
		if (sscanf(err, "fuzz: line %u: ", &line) != 1 || line < 1 || line > lines)
			abort();
	} else {
		if (!p)
			abort();
		run_events(p);
		policy_free(p);
	}
	free(text);
	return 0;
}
