/* Parsers for command-line values. They accept exactly the documented
 * syntax and reject everything else (trailing garbage, signs, overflow). */
#ifndef KFV_UTIL_PARSE_H
#define KFV_UTIL_PARSE_H

#include <stdint.h>

/* "128M", "1G", "4096", "512K": a decimal number with an optional K/M/G/T
 * suffix (binary units, case-insensitive, optional trailing "iB" or "B").
 * A bare number is MiB, as in Firecracker and QEMU. 0, -EINVAL or -ERANGE. */
int parse_size(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/* A decimal unsigned integer in [min, max]. 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));

#endif
