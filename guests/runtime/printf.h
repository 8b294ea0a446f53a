/* A small printf for the console and for buffers.
 *
 * Conversions: %c %s %d %i %u %x %X %p %%, length modifiers l, ll, z,
 * flags '-' and '0', a field width (number or *) and a precision for %s.
 * %p prints 0x followed by 16 hex digits. No floating point. */
#ifndef GUEST_RUNTIME_PRINTF_H
#define GUEST_RUNTIME_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* Formats to COM1. A call's output is written in one piece (up to 256
 * bytes at a time), so short lines from different CPUs do not mix.
 * Returns the number of characters produced. */
int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int vprintf(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);

/* Formats into buf (always NUL-terminated when size > 0). Returns the
 * length the whole output would have had. */
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) PRINTF_LIKE(3, 0);

#endif
