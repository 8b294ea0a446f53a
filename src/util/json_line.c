#include "json_line.h"

#include <stdint.h>
#include <string.h>

struct cursor {
	const char *p, *end;
	unsigned line;
};

static void skip_ws(struct cursor *c)
{
	for (; c->p < c->end; c->p++) {
		if (*c->p == '\n')
			c->line++;
		else if (*c->p != ' ' && *c->p != '\t' && *c->p != '\r')
			break;
	}
}

/* At an opening quote: moves just past the closing one. */
static bool skip_string(struct cursor *c)
{
	if (c->p >= c->end || *c->p != '"')
		return false;
	for (c->p++; c->p < c->end; c->p++) {
		if (*c->p == '\\') {
			if (c->end - c->p < 2)
				break;
			c->p++;
		} else if (*c->p == '"') {
			c->p++;
			return true;
		} else if (*c->p == '\n') {
			c->line++; /* not valid JSON; keep counting anyway */
		}
	}
	c->p = c->end;
	return false;
}

/* At the start of a value: moves just past it. Containers are skipped by
 * counting brackets outside strings, so nesting costs no recursion. */
static bool skip_value(struct cursor *c)
{
	unsigned depth = 0;

	do {
		skip_ws(c);
		if (c->p >= c->end)
			return false;
		switch (*c->p) {
		case '"':
			if (!skip_string(c))
				return false;
			break;
		case '{':
		case '[':
			depth++;
			c->p++;
			break;
		case '}':
		case ']':
			if (!depth)
				return false;
			depth--;
			c->p++;
			break;
		case ',':
		case ':':
			if (!depth)
				return false;
			c->p++;
			break;
		default: { /* a number or a literal: runs to the next delimiter */
			const char *start = c->p;

			while (c->p < c->end && *c->p && !strchr(" \t\r\n,:[]{}\"", *c->p))
				c->p++;
			if (c->p == start)
				return false;
		}
		}
	} while (depth);
	return true;
}

static int hex4(const char *s, const char *end)
{
	int v = 0;

	if (end - s < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char ch = s[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v |= ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v |= ch - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Whether the raw string body s[0..end) (between the quotes, escapes not
 * yet decoded) spells key. Keys longer than the buffer never match: the
 * caller then falls back to the enclosing value's line. */
static bool key_equals(const char *s, const char *end, const char *key)
{
	char buf[256];
	size_t n = 0;

	if (!memchr(s, '\\', (size_t)(end - s)))
		return strlen(key) == (size_t)(end - s) && !memcmp(s, key, (size_t)(end - s));
	while (s < end) {
		uint32_t cp;

		if (n + 4 > sizeof(buf))
			return false;
		if (*s != '\\') {
			buf[n++] = *s++;
			continue;
		}
		if (end - s < 2)
			return false;
		s++;
		switch (*s++) {
		case '"': buf[n++] = '"'; continue;
		case '\\': buf[n++] = '\\'; continue;
		case '/': buf[n++] = '/'; continue;
		case 'b': buf[n++] = '\b'; continue;
		case 'f': buf[n++] = '\f'; continue;
		case 'n': buf[n++] = '\n'; continue;
		case 'r': buf[n++] = '\r'; continue;
		case 't': buf[n++] = '\t'; continue;
		case 'u': break;
		default: return false;
		}
		{
			int hi = hex4(s, end);

			if (hi < 0)
				return false;
			s += 4;
			cp = (uint32_t)hi;
			if (hi >= 0xd800 && hi < 0xdc00 && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
				int lo = hex4(s + 2, end);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
					s += 6;
				}
			}
			n += put_utf8(buf + n, cp);
		}
	}
	return strlen(key) == n && !memcmp(buf, key, n);
}

/* At an object: moves to the value of member `key`. Returns false (the
 * cursor anywhere) when there is none. key_line gets the key's line. */
static bool enter_member(struct cursor *c, const char *key, unsigned *key_line)
{
	if (c->p >= c->end || *c->p != '{')
		return false;
	c->p++;
	for (;;) {
		const char *k;
		bool match;

		skip_ws(c);
		if (c->p >= c->end || *c->p == '}')
			return false;
		*key_line = c->line;
		k = c->p;
		if (!skip_string(c))
			return false;
		match = key_equals(k + 1, c->p - 1, key);
		skip_ws(c);
		if (c->p >= c->end || *c->p != ':')
			return false;
		c->p++;
		skip_ws(c);
		if (match)
			return true;
		if (!skip_value(c))
			return false;
		skip_ws(c);
		if (c->p >= c->end || *c->p != ',')
			return false;
		c->p++;
	}
}

/* At an array: moves to element `index`. */
static bool enter_element(struct cursor *c, size_t index)
{
	if (c->p >= c->end || *c->p != '[')
		return false;
	c->p++;
	for (size_t i = 0;; i++) {
		skip_ws(c);
		if (c->p >= c->end || *c->p == ']')
			return false;
		if (i == index)
			return true;
		if (!skip_value(c))
			return false;
		skip_ws(c);
		if (c->p >= c->end || *c->p != ',')
			return false;
		c->p++;
	}
}

unsigned json_line_of(const char *text, size_t len, const struct json_step *path, unsigned depth, bool at_key)
{
	struct cursor c = { .p = text, .end = text ? text + len : text, .line = 1 };
	unsigned value_line;

	if (!text)
		return 1;
	skip_ws(&c);
	value_line = c.line;
	for (unsigned i = 0; i < depth; i++) {
		unsigned key_line = value_line;

		if (path[i].key) {
			if (!enter_member(&c, path[i].key, &key_line))
				return value_line;
			if (at_key && i + 1 == depth)
				return key_line;
		} else if (!enter_element(&c, path[i].index)) {
			return value_line;
		}
		value_line = c.line;
	}
	return value_line;
}
