#include "runtime/cmdline.h"

#include "runtime/string.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scans every word and returns where the value of the last one naming key
 * starts (just past "key="), or, unless want_value, the end of a bare
 * "key" word. NULL when there is none. */
static const char *find_word(const char *s, const char *key, size_t keylen, bool want_value)
{
	const char *found = NULL;

	while (*s) {
		while (is_space(*s))
			s++;
		const char *w = s;
		while (*s && !is_space(*s))
			s++;
		size_t len = (size_t)(s - w);
		if (len >= keylen && strncmp(w, key, keylen) == 0) {
			if (len > keylen && w[keylen] == '=')
				found = w + keylen + 1;
			else if (len == keylen && !want_value)
				found = w + keylen;
		}
	}
	return found;
}

bool cmdline_get(const char *cmdline, const char *key, char *value, size_t size)
{
	const char *v = find_word(cmdline, key, strlen(key), true);
	size_t n = 0;

	if (!v)
		return false;
	while (v[n] && !is_space(v[n]))
		n++;
	if (size) {
		if (n >= size)
			n = size - 1;
		memcpy(value, v, n);
		value[n] = '\0';
	}
	return true;
}

int cmdline_get_u64(const char *cmdline, const char *key, uint64_t def, uint64_t *out)
{
	char buf[32];
	const char *p = buf;
	unsigned base = 10;
	uint64_t v = 0;

	*out = def;
	if (!cmdline_get(cmdline, key, buf, sizeof(buf)))
		return 0;
	if (strlen(buf) == sizeof(buf) - 1)
		return -1; /* longer than any 64-bit number: it was cut */
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		return -1;
	for (; *p; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 1;
}

bool cmdline_has(const char *cmdline, const char *flag)
{
	return find_word(cmdline, flag, strlen(flag), false) != NULL;
}
