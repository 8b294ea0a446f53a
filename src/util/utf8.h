/* Text from untrusted places (guest-influenced event details, names in the
 * telemetry page a compromised VMM can write) made safe to hand to a JSON
 * encoder or a metrics label: valid UTF-8, bounded, NUL-terminated. */
#ifndef KFV_UTIL_UTF8_H
#define KFV_UTIL_UTF8_H

#include <stddef.h>

/* Copies src (up to its NUL or srcmax bytes, whichever comes first) into
 * dst, replacing every byte that does not start a valid UTF-8 sequence
 * (RFC 3629: no overlongs, surrogates or code points past U+10FFFF) with
 * '?'. A sequence that does not fit is dropped whole, never split. dst is
 * always NUL-terminated (dstsize >= 1). Returns the bytes written, NUL
 * excluded. */
size_t utf8_sanitize(char *dst, size_t dstsize, const char *src, size_t srcmax);

/* The length of the valid UTF-8 sequence at s (n bytes available), or 0 when
 * s[0] does not start one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
