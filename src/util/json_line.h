/* Where in a JSON text a value sits. A JSON library hands back a tree with
 * no source positions; to say "line N" about a value that parsed but does
 * not make sense (an unknown key, a number out of range), the caller names
 * the value by its path from the root and this finds it again in the text.
 * The text must already have been accepted by a JSON parser (with duplicate
 * keys rejected, so a path names one value); on anything unexpected the
 * scan stops and answers the deepest position it reached. */
#ifndef KFV_UTIL_JSON_LINE_H
#define KFV_UTIL_JSON_LINE_H

#include <stdbool.h>
#include <stddef.h>

/* One step of a path: an object member by key, or (key NULL) an array
 * element by index. */
struct json_step {
	const char *key;
	size_t index;
};

/* The 1-based line where the value at path[0..depth) begins in text[0..len)
 * (depth 0: the root value). With at_key and a last step that is an object
 * key, the line of that key instead (where "unknown key" errors point).
 * When the path cannot be followed to the end, the line of the deepest
 * value it did reach. */
unsigned json_line_of(const char *text, size_t len, const struct json_step *path, unsigned depth, bool at_key);

#endif
