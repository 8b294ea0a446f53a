/* The challenge protocol between the guard and the VMM's responder, and the
 * answer both sides compute: a keyed BLAKE2b (libsodium's
 * crypto_generichash) over the nonce, the hash of the non-writable PT_LOAD
 * segments of the main executable (its code and read-only data), the
 * configuration digest and the seccomp mode. The responder hashes those
 * segments as they are in its memory, for every answer; the guard hashes
 * the same segments read from the binary on disk, once. A PIE built with -fPIE has no text relocations, so the two
 * are equal byte for byte until someone changes the VMM's code (a unit test
 * checks that assumption on the real binary). */
#ifndef KFV_GUARD_ANSWER_H
#define KFV_GUARD_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#define GUARD_KEY_BYTES 32
#define GUARD_DIGEST_BYTES 32
#define GUARD_NONCE_BYTES 32
#define GUARD_MAC_BYTES 32
#define GUARD_MAX_SEGMENTS 8

/* guard -> responder, one SOCK_SEQPACKET message. */
struct guard_challenge {
	uint64_t seq; /* 1, 2, 3, ... */
	uint8_t nonce[GUARD_NONCE_BYTES];
};

/* responder -> guard. seq 0 is the hello the responder sends once it runs
 * (mac all zero); any other seq answers that challenge. */
struct guard_reply {
	uint64_t seq;
	uint8_t mac[GUARD_MAC_BYTES];
};

/* One non-writable PT_LOAD segment: its link-time address (ASLR does not
 * enter the hash), its file size, and where its bytes are now. */
struct guard_segment {
	uint64_t vaddr;
	uint64_t offset; /* in the file */
	uint64_t size;   /* p_filesz: what the file holds */
	const uint8_t *data;
};

struct guard_image {
	unsigned n;
	struct guard_segment seg[GUARD_MAX_SEGMENTS];
	uint8_t *owned; /* the guard's copy of the file bytes (NULL in the VMM) */
	int pie;        /* ET_DYN: loaded at a base chosen at run time */
};

/* BLAKE2b-256 of the segments (addresses, sizes and bytes). */
void guard_code_hash(const struct guard_image *img, uint8_t hash[GUARD_MAC_BYTES]);

/* The answer from a code hash already computed (the guard's side). */
void guard_answer_from_hash(const uint8_t key[GUARD_KEY_BYTES], const uint8_t nonce[GUARD_NONCE_BYTES],
			    const uint8_t code_hash[GUARD_MAC_BYTES], const uint8_t digest[GUARD_DIGEST_BYTES],
			    uint32_t seccomp_mode, uint8_t mac[GUARD_MAC_BYTES]);

/* The answer to one challenge, hashing img now (the responder's side). No
 * syscall, no allocation: the responder runs it under a seccomp filter
 * that allows neither. */
void guard_answer(const uint8_t key[GUARD_KEY_BYTES], const uint8_t nonce[GUARD_NONCE_BYTES],
		  const struct guard_image *img, const uint8_t digest[GUARD_DIGEST_BYTES], uint32_t seccomp_mode,
		  uint8_t mac[GUARD_MAC_BYTES]);

/* Guard side: reads the ELF headers and the bytes of every non-writable
 * PT_LOAD segment from fd (the binary on disk). 0, -ENOEXEC for something
 * that is not a 64-bit ELF executable this code understands, -E2BIG for
 * more segments than GUARD_MAX_SEGMENTS, or a read errno. */
int guard_image_load(int fd, struct guard_image *img) __attribute__((warn_unused_result));
void guard_image_free(struct guard_image *img);

/* VMM side: the same segments of the running main program, found with
 * dl_iterate_phdr (no syscall). 0 or -ENOENT. */
int guard_image_self(struct guard_image *img) __attribute__((warn_unused_result));

#endif
