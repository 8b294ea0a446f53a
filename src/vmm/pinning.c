#define _GNU_SOURCE
#include "pinning.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PINNING_MAX_CPU 1023 /* what a cpu_set_t holds */

static int parse_cpu(const char **p, unsigned *out)
{
	char *end;
	unsigned long v;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(*p, &end, 10);
	if (errno || v > PINNING_MAX_CPU)
		return -EINVAL;
	*p = end;
	*out = (unsigned)v;
	return 0;
}

int pinning_parse(const char *list, unsigned *cpus, unsigned max, unsigned *n, char *msg, size_t msglen)
{
	const char *p = list;
	bool seen[PINNING_MAX_CPU + 1] = { false };

	*n = 0;
	for (;;) {
		unsigned first, last;

		if (parse_cpu(&p, &first)) {
			snprintf(msg, msglen, "--dedicated-cpus %s: expected a CPU number (0-%d) at \"%s\"", list,
				 PINNING_MAX_CPU, p);
			return -EINVAL;
		}
		last = first;
		if (*p == '-') {
			p++;
			if (parse_cpu(&p, &last) || last < first) {
				snprintf(msg, msglen, "--dedicated-cpus %s: a range is FIRST-LAST with FIRST <= LAST", list);
				return -EINVAL;
			}
		}
		for (unsigned c = first; c <= last; c++) {
			if (seen[c]) {
				snprintf(msg, msglen, "--dedicated-cpus %s: CPU %u is listed twice", list, c);
				return -EINVAL;
			}
			if (*n == max) {
				snprintf(msg, msglen, "--dedicated-cpus %s: more than %u CPUs", list, max);
				return -EINVAL;
			}
			seen[c] = true;
			cpus[(*n)++] = c;
		}
		if (*p == '\0')
			return 0;
		if (*p != ',') {
			snprintf(msg, msglen, "--dedicated-cpus %s: unexpected \"%s\" (examples: 2,3 or 2-3)", list, p);
			return -EINVAL;
		}
		p++;
	}
}

int pinning_check_online(const unsigned *cpus, unsigned n, unsigned *bad)
{
	cpu_set_t allowed;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	for (unsigned i = 0; i < n; i++) {
		if (!CPU_ISSET(cpus[i], &allowed)) {
			*bad = cpus[i];
			return -ENOENT;
		}
	}
	return 0;
}

int pinning_keep_off(const unsigned *cpus, unsigned n)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (unsigned i = 0; i < n; i++)
		CPU_CLR(cpus[i], &set);
	if (CPU_COUNT(&set) == 0)
		return -ENOSPC;
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

int pinning_pin_self(unsigned cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}
