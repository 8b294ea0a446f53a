/* The few libc string functions the runtime and guests need (the compiler
 * may also emit calls to memcpy/memset/memmove/memcmp on its own). */
#ifndef GUEST_RUNTIME_STRING_H
#define GUEST_RUNTIME_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strncmp(const char *a, const char *b, size_t n);

#endif
