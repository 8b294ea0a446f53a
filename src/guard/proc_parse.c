#include "proc_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *guard_next_line(const char *text, size_t textlen, size_t *pos, size_t *len)
{
	const char *line, *nl;

	if (*pos >= textlen)
		return NULL;
	line = text + *pos;
	nl = memchr(line, '\n', textlen - *pos);
	*len = nl ? (size_t)(nl - line) : textlen - *pos;
	*pos += *len + (nl ? 1 : 0);
	return line;
}

void guard_sanitize(char *dst, size_t n, const char *src, size_t srclen)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i + 1 < n && i < srclen && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Parses up to n decimal numbers separated by blanks; returns how many. */
static int longs(const char *p, long *out, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char *end;

		errno = 0;
		out[i] = strtol(p, &end, 10);
		if (end == p || errno)
			break;
		p = end;
	}
	return i;
}

static int hex64(const char *p, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(p, &end, 16);
	return end == p || errno ? -1 : 0;
}

enum { F_NAME = 1, F_UID = 2, F_GID = 4, F_CAPPRM = 8, F_CAPEFF = 16, F_NNP = 32, F_SECCOMP = 64, F_STATE = 128 };
#define F_REQUIRED (F_NAME | F_UID | F_GID | F_CAPPRM | F_CAPEFF | F_NNP | F_SECCOMP | F_STATE)

int guard_parse_status(const char *text, struct guard_status *st)
{
	static const char *const caps[5] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	size_t pos = 0, len, textlen = strlen(text);
	const char *l;
	unsigned seen = 0;
	char line[256];

	memset(st, 0, sizeof(*st));
	st->filters = -1;
	while ((l = guard_next_line(text, textlen, &pos, &len))) {
		const char *v;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, l, len);
		line[len] = '\0';
		v = strchr(line, ':');
		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (!strncmp(line, "Name:", 5)) {
			guard_sanitize(st->name, sizeof(st->name), v, strlen(v));
			seen |= F_NAME;
		} else if (!strncmp(line, "State:", 6)) {
			st->state = *v;
			seen |= F_STATE;
		} else if (!strncmp(line, "Uid:", 4)) {
			if (longs(v, st->uid, 4) != 4)
				return -EINVAL;
			seen |= F_UID;
		} else if (!strncmp(line, "Gid:", 4)) {
			if (longs(v, st->gid, 4) != 4)
				return -EINVAL;
			seen |= F_GID;
		} else if (!strncmp(line, "NoNewPrivs:", 11)) {
			st->nnp = atoi(v);
			seen |= F_NNP;
		} else if (!strncmp(line, "Seccomp_filters:", 16)) {
			st->filters = atoi(v);
		} else if (!strncmp(line, "Seccomp:", 8)) {
			st->seccomp = atoi(v);
			seen |= F_SECCOMP;
		} else {
			for (int i = 0; i < 5; i++) {
				if (strncmp(line, caps[i], strlen(caps[i])))
					continue;
				if (hex64(v, &st->cap[i]))
					return -EINVAL;
				seen |= i == CAP_I_PRM ? F_CAPPRM : i == CAP_I_EFF ? F_CAPEFF : 0;
			}
		}
	}
	return (seen & F_REQUIRED) == F_REQUIRED ? 0 : -EINVAL;
}

/* "pid (comm) S ppid pgrp session tty_nr tpgid flags ...": comm may hold
 * anything, spaces and ')' included, so the fields start after the last ')'. */
int guard_parse_stat(const char *text, char *state, unsigned long *flags)
{
	const char *p = strrchr(text, ')');
	int ppid, pgrp, session, tty, tpgid;

	if (!p || sscanf(p + 1, " %c %d %d %d %d %d %lu", state, &ppid, &pgrp, &session, &tty, &tpgid, flags) != 7)
		return -EINVAL;
	return 0;
}

/* "start-end perms offset major:minor inode   path" */
int guard_parse_map_line(const char *line, size_t len, struct guard_map *m)
{
	char buf[512];
	int n = 0;
	const char *path;

	memset(m, 0, sizeof(*m));
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1; /* only the path can be that long: it is truncated */
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n", &m->start, &m->end, m->perms,
		   &m->offset, &m->dev_major, &m->dev_minor, &m->inode, &n) < 7 ||
	    !n || strlen(m->perms) != 4 || m->end <= m->start)
		return -EINVAL;
	path = buf + n;
	guard_sanitize(m->path, sizeof(m->path), path, strlen(path));
	return 0;
}

static bool is_smaps_header(const char *l, size_t len)
{
	/* A header starts with a hex range; a field line with "Name:". */
	size_t i = 0;

	while (i < len && ((l[i] >= '0' && l[i] <= '9') || (l[i] >= 'a' && l[i] <= 'f')))
		i++;
	return i > 0 && i < len && l[i] == '-';
}

int guard_smaps_vmflags(const char *text, size_t textlen, uint64_t start, char *out, size_t outlen)
{
	size_t pos = 0, len;
	const char *l;
	bool in = false;

	while ((l = guard_next_line(text, textlen, &pos, &len))) {
		if (is_smaps_header(l, len)) {
			struct guard_map m;

			in = !guard_parse_map_line(l, len, &m) && m.start == start;
			continue;
		}
		if (in && len >= 8 && !strncmp(l, "VmFlags:", 8)) {
			l += 8;
			len -= 8;
			while (len && *l == ' ') {
				l++;
				len--;
			}
			guard_sanitize(out, outlen, l, len);
			return 0;
		}
	}
	return -ENOENT;
}

bool guard_vmflags_has(const char *flags, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = flags; *p;) {
		size_t t;

		while (*p == ' ')
			p++;
		t = strcspn(p, " ");
		if (t == n && !strncmp(p, flag, n))
			return true;
		p += t;
	}
	return false;
}
