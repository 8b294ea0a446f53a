#ifndef KFV_UTIL_FILE_H
#define KFV_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole regular file of at most `max` bytes into a new buffer.
 * -EISDIR / -EINVAL for something that is not a regular file, -EFBIG when
 * it is larger than max, otherwise the open/read errno. */
int read_whole_file(const char *path, size_t max, uint8_t **data, size_t *size)
	__attribute__((warn_unused_result));

#endif
