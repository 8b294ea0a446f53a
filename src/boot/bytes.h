/* Little-endian field access and a bounded byte builder, shared by the
 * loaders (which parse untrusted images) and the table builders (which
 * produce guest-visible structures). Reads assemble values byte by byte so
 * an odd offset in a hostile image is never dereferenced as a wider type. */
#ifndef KFV_BOOT_BYTES_H
#define KFV_BOOT_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Sum of the bytes modulo 256; a table with a correct checksum sums to 0. */
static inline uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The byte that, stored in a checksum field that currently holds 0, makes
 * the whole range sum to zero (MP and ACPI tables). */
static inline uint8_t checksum8(const uint8_t *p, size_t n)
{
	return (uint8_t)(0x100 - sum8(p, n));
}

/* A byte builder over a fixed buffer. Appending past the end sets
 * `overflow` and drops the bytes, so a builder can emit a whole table and
 * check once at the end instead of after every field. */
struct bbuf {
	uint8_t *data;
	size_t cap;
	size_t len;
	bool overflow;
};

static inline void bb_init(struct bbuf *b, uint8_t *data, size_t cap)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
}

/* Returns n zeroed bytes at the end of the buffer, or NULL on overflow. */
static inline uint8_t *bb_reserve(struct bbuf *b, size_t n)
{
	uint8_t *p;

	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return NULL;
	}
	p = b->data + b->len;
	memset(p, 0, n);
	b->len += n;
	return p;
}

static inline void bb_bytes(struct bbuf *b, const void *src, size_t n)
{
	uint8_t *p = bb_reserve(b, n);

	if (p && n)
		memcpy(p, src, n);
}

static inline void bb_u8(struct bbuf *b, uint8_t v)
{
	uint8_t *p = bb_reserve(b, 1);

	if (p)
		*p = v;
}

static inline void bb_le16(struct bbuf *b, uint16_t v)
{
	uint8_t *p = bb_reserve(b, 2);

	if (p)
		put_le16(p, v);
}

static inline void bb_le32(struct bbuf *b, uint32_t v)
{
	uint8_t *p = bb_reserve(b, 4);

	if (p)
		put_le32(p, v);
}

static inline void bb_le64(struct bbuf *b, uint64_t v)
{
	uint8_t *p = bb_reserve(b, 8);

	if (p)
		put_le64(p, v);
}

/* Pads with zeroes up to a multiple of `align` (a power of two). */
static inline void bb_align(struct bbuf *b, size_t align)
{
	size_t pad = (align - (b->len & (align - 1))) & (align - 1);

	(void)bb_reserve(b, pad);
}

#endif
