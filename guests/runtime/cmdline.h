/* Command-line lookups: the line is a space-separated list of words,
 * "key=value" or bare "flag". */
#ifndef GUEST_RUNTIME_CMDLINE_H
#define GUEST_RUNTIME_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Finds the last "key=value" word; copies value (NUL-terminated, truncated
 * to size) and returns true, or returns false if key is absent. */
bool cmdline_get(const char *cmdline, const char *key, char *value, size_t size);

/* Parses key's value as a decimal or 0x-prefixed hex number into *out.
 * Returns 1 if found and valid, 0 if absent (*out = def), -1 if malformed
 * or out of range (*out = def). */
int cmdline_get_u64(const char *cmdline, const char *key, uint64_t def, uint64_t *out);

/* True if the bare word flag (or flag=...) appears. */
bool cmdline_has(const char *cmdline, const char *flag);

#endif
