/* Token buckets for device rate limits, in the shape Firecracker's
 * configuration uses: {size, one_time_burst, refill_time_ms}. A bucket
 * holds up to `size` tokens and refills completely in `refill_time_ms`;
 * `one_time_burst` extra tokens are spent first and never come back.
 * A bucket with size 0 or refill_time_ms 0 does not limit. Not thread-safe:
 * each device's bucket is used by the device's own thread only. */
#ifndef KFV_DEVICES_VIRTIO_RATE_LIMITER_H
#define KFV_DEVICES_VIRTIO_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

/* A bucket's configuration, as the command line gives it. */
struct rate_limit {
	uint64_t size, one_time_burst, refill_time_ms; /* size 0: unlimited */
};

struct token_bucket {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
	uint64_t budget;    /* tokens now */
	uint64_t last_ns;   /* when budget was last refilled */
	uint64_t throttled; /* refusals, for the summary */
};

/* A full bucket at now_ns. */
void tb_init(struct token_bucket *tb, uint64_t size, uint64_t one_time_burst, uint64_t refill_time_ms,
	     uint64_t now_ns);

static inline bool tb_unlimited(const struct token_bucket *tb)
{
	return tb->size == 0 || tb->refill_time_ms == 0;
}

/* Takes n tokens if there are that many (burst first); else takes none,
 * counts a refusal and returns false. A request larger than the bucket
 * can only be served from a full bucket, and then drains it. */
bool tb_consume(struct token_bucket *tb, uint64_t n, uint64_t now_ns);

/* Tokens available now (burst included), at most size + burst. */
uint64_t tb_available(struct token_bucket *tb, uint64_t now_ns);

/* Nanoseconds until n tokens (or a full bucket, when n > size) will be
 * there; 0 when they already are. */
uint64_t tb_wait_ns(struct token_bucket *tb, uint64_t n, uint64_t now_ns);

/* A full bucket configured from rl (NULL: unlimited). */
void tb_init_limit(struct token_bucket *tb, const struct rate_limit *rl, uint64_t now_ns);

/* For a request that costs one operation and n bytes: when both buckets
 * hold enough, takes the tokens from both and returns true; otherwise
 * takes nothing and returns false with *wait_ns set to when both will
 * (the request waits, it is not failed). */
bool tb_take_request(struct token_bucket *ops, struct token_bucket *bytes, uint64_t n, uint64_t now_ns,
		     uint64_t *wait_ns);

/* Parses "SIZE,BURST,REFILL_MS" (BURST may be 0). Returns 0 or -EINVAL. */
int tb_parse(const char *s, uint64_t *size, uint64_t *burst, uint64_t *refill_ms);

#endif
