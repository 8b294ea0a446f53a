/* printf core: one formatter writing through a sink, used by the console
 * (buffered, flushed to the serial port) and by snprintf. */
#include "runtime/printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "runtime/serial.h"
#include "runtime/string.h"

struct sink {
	char *buf;
	size_t size;  /* capacity of buf */
	size_t used;  /* bytes in buf */
	size_t total; /* bytes produced so far */
	bool console; /* flush to COM1 when full instead of truncating */
};

static void sink_flush(struct sink *s)
{
	if (s->console && s->used) {
		serial_write(s->buf, s->used);
		s->used = 0;
	}
}

static void sink_put(struct sink *s, char c)
{
	s->total++;
	if (s->console) {
		if (s->used == s->size)
			sink_flush(s);
		s->buf[s->used++] = c;
	} else if (s->used + 1 < s->size) {
		s->buf[s->used++] = c;
	}
}

static void put_padded(struct sink *s, const char *str, size_t len, unsigned width,
		       bool left, char pad)
{
	size_t fill = width > len ? width - len : 0;

	if (!left)
		while (fill--)
			sink_put(s, pad);
	for (size_t i = 0; i < len; i++)
		sink_put(s, str[i]);
	if (left)
		while (fill--)
			sink_put(s, ' ');
}

static void put_number(struct sink *s, uint64_t v, bool negative, unsigned base,
		       bool upper, unsigned width, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative && zero && !left) {
		/* "-0042": the sign goes before the zero padding */
		sink_put(s, '-');
		put_padded(s, &tmp[sizeof(tmp) - n], n, width ? width - 1 : 0, false, '0');
		return;
	}
	if (negative)
		tmp[sizeof(tmp) - 1 - n++] = '-';
	put_padded(s, &tmp[sizeof(tmp) - n], n, width, left, zero && !left ? '0' : ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		fmt++;
		bool left = false, zero = false;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		unsigned width = 0;
		if (*fmt == '*') {
			int w = va_arg(ap, int);
			if (w < 0) {
				left = true;
				w = -w;
			}
			width = (unsigned)w;
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (unsigned)(*fmt++ - '0');
		}
		size_t prec = SIZE_MAX;
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				int p = va_arg(ap, int);
				prec = p < 0 ? SIZE_MAX : (size_t)p;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (size_t)(*fmt++ - '0');
			}
		}
		unsigned lng = 0;
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (*fmt == 'z') {
			lng = 1;
			fmt++;
		}

		switch (*fmt) {
		case 'c': {
			char c = (char)va_arg(ap, int);
			put_padded(s, &c, 1, width, left, ' ');
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			put_padded(s, str, strnlen(str, prec), width, left, ' ');
			break;
		}
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			put_number(s, mag, v < 0, 10, false, width, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_number(s, v, false, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, left,
				   zero);
			break;
		}
		case 'p': {
			uint64_t v = (uintptr_t)va_arg(ap, void *);
			sink_put(s, '0');
			sink_put(s, 'x');
			put_number(s, v, false, 16, false, 16, false, true);
			break;
		}
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return; /* lone '%' at the end */
		default:
			/* unknown conversion: show it rather than guess */
			sink_put(s, '%');
			sink_put(s, *fmt);
			break;
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	char buf[256];
	struct sink s = { .buf = buf, .size = sizeof(buf), .console = true };

	format(&s, fmt, ap);
	sink_flush(&s);
	return (int)s.total;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size, .console = false };

	format(&s, fmt, ap);
	if (size)
		buf[s.used] = '\0';
	return (int)s.total;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
