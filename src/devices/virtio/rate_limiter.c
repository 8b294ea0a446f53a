#include "rate_limiter.h"

#include <errno.h>
#include <stdlib.h>

void tb_init(struct token_bucket *tb, uint64_t size, uint64_t one_time_burst, uint64_t refill_time_ms,
	     uint64_t now_ns)
{
	tb->size = size;
	tb->one_time_burst = one_time_burst;
	tb->refill_time_ms = refill_time_ms;
	tb->budget = size;
	tb->last_ns = now_ns;
	tb->throttled = 0;
}

static void refill(struct token_bucket *tb, uint64_t now_ns)
{
	uint64_t period_ns = tb->refill_time_ms * 1000000ULL;
	uint64_t elapsed, tokens;

	if (now_ns <= tb->last_ns)
		return;
	elapsed = now_ns - tb->last_ns;
	if (elapsed >= period_ns) {
		tb->budget = tb->size;
		tb->last_ns = now_ns;
		return;
	}
	/* size * elapsed can overflow 64 bits for huge buckets: go through
	 * 128-bit arithmetic. Only whole tokens are credited, and last_ns
	 * advances by exactly the time they represent. */
	tokens = (uint64_t)((unsigned __int128)tb->size * elapsed / period_ns);
	if (tokens == 0)
		return;
	tb->last_ns += (uint64_t)((unsigned __int128)tokens * period_ns / tb->size);
	tb->budget = tokens >= tb->size - tb->budget ? tb->size : tb->budget + tokens;
}

uint64_t tb_available(struct token_bucket *tb, uint64_t now_ns)
{
	if (tb_unlimited(tb))
		return UINT64_MAX;
	refill(tb, now_ns);
	return tb->budget + tb->one_time_burst;
}

bool tb_consume(struct token_bucket *tb, uint64_t n, uint64_t now_ns)
{
	uint64_t from_burst;

	if (tb_unlimited(tb) || n == 0)
		return true;
	refill(tb, now_ns);
	from_burst = n < tb->one_time_burst ? n : tb->one_time_burst;
	if (n - from_burst <= tb->budget) {
		tb->one_time_burst -= from_burst;
		tb->budget -= n - from_burst;
		return true;
	}
	/* Oversized requests would never fit: let them through a full bucket. */
	if (n > tb->size && tb->budget == tb->size) {
		tb->one_time_burst -= from_burst;
		tb->budget = 0;
		return true;
	}
	tb->throttled++;
	return false;
}

uint64_t tb_wait_ns(struct token_bucket *tb, uint64_t n, uint64_t now_ns)
{
	uint64_t period_ns, need;

	if (tb_unlimited(tb))
		return 0;
	refill(tb, now_ns);
	if (n <= tb->one_time_burst)
		return 0;
	need = n - tb->one_time_burst;
	if (need > tb->size)
		need = tb->size;
	if (need <= tb->budget)
		return 0;
	period_ns = tb->refill_time_ms * 1000000ULL;
	/* Round up so the wake-up never comes a token early. */
	return (uint64_t)(((unsigned __int128)(need - tb->budget) * period_ns + tb->size - 1) / tb->size);
}

void tb_init_limit(struct token_bucket *tb, const struct rate_limit *rl, uint64_t now_ns)
{
	static const struct rate_limit none;

	if (!rl)
		rl = &none;
	tb_init(tb, rl->size, rl->one_time_burst, rl->refill_time_ms, now_ns);
}

bool tb_take_request(struct token_bucket *ops, struct token_bucket *bytes, uint64_t n, uint64_t now_ns,
		     uint64_t *wait_ns)
{
	uint64_t a = tb_wait_ns(ops, 1, now_ns), b = tb_wait_ns(bytes, n, now_ns);

	if (a || b) {
		ops->throttled++;
		*wait_ns = a > b ? a : b;
		return false;
	}
	/* Both waits are 0, so both takes succeed (same rules, same now). */
	(void)tb_consume(ops, 1, now_ns);
	(void)tb_consume(bytes, n, now_ns);
	*wait_ns = 0;
	return true;
}

static int parse_u64(const char *s, char **end, uint64_t *v)
{
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, end, 10);
	if (errno)
		return -EINVAL;
	*v = x;
	return 0;
}

int tb_parse(const char *s, uint64_t *size, uint64_t *burst, uint64_t *refill_ms)
{
	char *end;

	if (parse_u64(s, &end, size) || *end != ',')
		return -EINVAL;
	if (parse_u64(end + 1, &end, burst) || *end != ',')
		return -EINVAL;
	if (parse_u64(end + 1, &end, refill_ms) || *end != '\0')
		return -EINVAL;
	if (*refill_ms > 3600000ULL * 24)
		return -EINVAL;
	return 0;
}
