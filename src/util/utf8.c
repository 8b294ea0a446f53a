#include "utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* a continuation byte, an overlong lead (C0, C1) or past U+10FFFF (F5..FF) */
	if (n < len)
		return 0;
	/* The second byte's range is what rules out overlongs, surrogates and
	 * code points past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t utf8_sanitize(char *dst, size_t dstsize, const char *src, size_t srcmax)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = src ? strnlen(src, srcmax) : 0, i = 0, o = 0;

	if (!dstsize)
		return 0;
	while (i < n) {
		size_t len = utf8_seq_len(s + i, n - i);

		if (!len) {
			if (o + 1 >= dstsize)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + len >= dstsize)
			break;
		memcpy(dst + o, s + i, len);
		o += len;
		i += len;
	}
	dst[o] = '\0';
	return o;
}
