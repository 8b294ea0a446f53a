#define _GNU_SOURCE
#include "answer.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_le64(crypto_generichash_state *st, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

/* The responder hashes its own read-only data, where a sanitizer build
 * keeps poisoned redzones between globals: copy it out unchecked, in
 * words through a volatile pointer so the compiler cannot turn the loop
 * into an (intercepted) memcpy call. */
__attribute__((no_sanitize("address"))) static void copy_raw(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i = 0;

	for (; i < n && ((uintptr_t)(src + i) & 7); i++)
		dst[i] = *(const volatile uint8_t *)(src + i);
	for (; i + 8 <= n; i += 8) {
		uint64_t w = *(const volatile uint64_t *)(const void *)(src + i);

		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = *(const volatile uint8_t *)(src + i);
}

static void hash_region(crypto_generichash_state *st, const uint8_t *p, uint64_t len)
{
	uint8_t chunk[4096];

	while (len) {
		size_t n = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);

		copy_raw(chunk, p, n);
		crypto_generichash_update(st, chunk, n);
		p += n;
		len -= n;
	}
}

void guard_code_hash(const struct guard_image *img, uint8_t hash[GUARD_MAC_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, GUARD_MAC_BYTES);
	/* Addresses and sizes too: moving bytes between segments changes it. */
	put_le64(&st, img->n);
	for (unsigned i = 0; i < img->n; i++) {
		put_le64(&st, img->seg[i].vaddr);
		put_le64(&st, img->seg[i].size);
		hash_region(&st, img->seg[i].data, img->seg[i].size);
	}
	crypto_generichash_final(&st, hash, GUARD_MAC_BYTES);
}

void guard_answer_from_hash(const uint8_t key[GUARD_KEY_BYTES], const uint8_t nonce[GUARD_NONCE_BYTES],
			    const uint8_t code_hash[GUARD_MAC_BYTES], const uint8_t digest[GUARD_DIGEST_BYTES],
			    uint32_t seccomp_mode, uint8_t mac[GUARD_MAC_BYTES])
{
	static const char domain[] = "kfv-guard-answer-v1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, GUARD_KEY_BYTES, GUARD_MAC_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
	crypto_generichash_update(&st, nonce, GUARD_NONCE_BYTES);
	crypto_generichash_update(&st, code_hash, GUARD_MAC_BYTES);
	crypto_generichash_update(&st, digest, GUARD_DIGEST_BYTES);
	put_le64(&st, seccomp_mode);
	crypto_generichash_final(&st, mac, GUARD_MAC_BYTES);
	sodium_memzero(&st, sizeof(st));
}

void guard_answer(const uint8_t key[GUARD_KEY_BYTES], const uint8_t nonce[GUARD_NONCE_BYTES],
		  const struct guard_image *img, const uint8_t digest[GUARD_DIGEST_BYTES], uint32_t seccomp_mode,
		  uint8_t mac[GUARD_MAC_BYTES])
{
	uint8_t h[GUARD_MAC_BYTES];

	guard_code_hash(img, h);
	guard_answer_from_hash(key, nonce, h, digest, seccomp_mode, mac);
}

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOEXEC; /* a header points past the end of the file */
		got += (size_t)n;
	}
	return 0;
}

void guard_image_free(struct guard_image *img)
{
	free(img->owned);
	memset(img, 0, sizeof(*img));
}

int guard_image_load(int fd, struct guard_image *img)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint64_t total = 0, at = 0;
	int ret;

	memset(img, 0, sizeof(*img));
	ret = read_exact(fd, &eh, sizeof(eh), 0);
	if (ret)
		return ret;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > 64)
		return -ENOEXEC;
	ret = read_exact(fd, ph, (size_t)eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff);
	if (ret)
		return ret;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & PF_W))
			continue;
		if (img->n == GUARD_MAX_SEGMENTS)
			return -E2BIG;
		if (ph[i].p_filesz > (1ULL << 30) || total + ph[i].p_filesz > (1ULL << 30))
			return -ENOEXEC;
		img->seg[img->n++] = (struct guard_segment){ ph[i].p_vaddr, ph[i].p_offset, ph[i].p_filesz, NULL };
		total += ph[i].p_filesz;
	}
	if (!img->n)
		return -ENOEXEC;
	img->owned = malloc(total ? total : 1);
	if (!img->owned)
		return -ENOMEM;
	for (unsigned i = 0; i < img->n; i++) {
		ret = read_exact(fd, img->owned + at, img->seg[i].size, img->seg[i].offset);
		if (ret) {
			guard_image_free(img);
			return ret;
		}
		img->seg[i].data = img->owned + at;
		at += img->seg[i].size;
	}
	img->pie = eh.e_type == ET_DYN;
	return 0;
}

/* The first object dl_iterate_phdr reports is the main program. */
static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct guard_image *img = arg;

	(void)size;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];

		if (p->p_type != PT_LOAD || (p->p_flags & PF_W))
			continue;
		if (img->n == GUARD_MAX_SEGMENTS)
			return -E2BIG;
		img->seg[img->n++] = (struct guard_segment){ p->p_vaddr, p->p_offset, p->p_filesz,
							     (const uint8_t *)(info->dlpi_addr + p->p_vaddr) };
	}
	return 1; /* stop after the main program */
}

int guard_image_self(struct guard_image *img)
{
	int ret;

	memset(img, 0, sizeof(*img));
	ret = dl_iterate_phdr(self_cb, img);
	if (ret < 0)
		return ret;
	return img->n ? 0 : -ENOENT;
}
