#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = LOG_WARN;

void log_set_level(enum log_level level) { current_level = (int)level; }
enum log_level log_get_level(void) { return (enum log_level)current_level; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if ((int)level > current_level)
		return;
	n = snprintf(line, sizeof(line), "kfv: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so lines from different threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int log_ratelimit_allow(struct log_ratelimit *rl, uint32_t burst)
{
	uint64_t now = monotonic_ns();
	uint64_t start = atomic_load_explicit(&rl->window_start_ns, memory_order_relaxed);

	if (now - start >= 1000000000ULL &&
	    atomic_compare_exchange_strong(&rl->window_start_ns, &start, now)) {
		uint64_t dropped = atomic_exchange(&rl->suppressed, 0);

		atomic_store(&rl->printed, 0);
		if (dropped)
			log_msg(LOG_WARN, "%llu similar messages suppressed", (unsigned long long)dropped);
	}
	if (atomic_fetch_add_explicit(&rl->printed, 1, memory_order_relaxed) < burst)
		return 1;
	atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
	return 0;
}

void log_signal_safe(const char *a, const char *b)
{
	ssize_t r = write(STDERR_FILENO, "kfv: ", 5);

	r = write(STDERR_FILENO, a, strlen(a));
	if (b)
		r = write(STDERR_FILENO, b, strlen(b));
	r = write(STDERR_FILENO, "\n", 1);
	(void)r;
}
