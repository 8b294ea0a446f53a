/* One logging module for the host side. Messages go to stderr prefixed with
 * "kfv: ". Paths a guest can trigger must use LOG_RATELIMITED so a hostile
 * guest cannot flood the host's logs. */
#ifndef KFV_UTIL_LOG_H
#define KFV_UTIL_LOG_H

#include <stdatomic.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A token bucket per call site: at most `burst` messages, refilled at one per
 * second. Lock-free so vCPU threads can share a call site. */
struct log_ratelimit {
	_Atomic uint64_t window_start_ns;
	_Atomic uint32_t printed;
	_Atomic uint64_t suppressed;
};

int log_ratelimit_allow(struct log_ratelimit *rl, uint32_t burst);

#define LOG_RATELIMITED(level, ...)                                   \
	do {                                                          \
		static struct log_ratelimit rl_;                      \
		if (log_ratelimit_allow(&rl_, 10))                    \
			log_msg(level, __VA_ARGS__);                  \
	} while (0)

/* Async-signal-safe: formats nothing, writes the pieces with write(2). */
void log_signal_safe(const char *a, const char *b);

uint64_t monotonic_ns(void);

#endif
