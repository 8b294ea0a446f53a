/* The VMM's side of the guard's challenges: one thread that reads a nonce
 * from its end of the guard's channel and answers with the keyed hash of
 * src/guard/answer.h over the VMM's own code and read-only data, the
 * configuration digest and its seccomp mode. It runs under its own seccomp
 * role (ROLE_RESPONDER: read, write, prctl(PR_GET_SECCOMP), futex, clock,
 * exit), so a guest that owns device emulation cannot reach it through
 * anything but memory. Order in the VMM:
 *
 *   guard_responder_prepare(fd, key, digest);   before the lock-down
 *   sandbox_lockdown(...);
 *   guard_responder_start();                    under the union filter
 */
#ifndef KFV_GUARD_RESPONDER_H
#define KFV_GUARD_RESPONDER_H

#include <stdint.h>

#include "answer.h"

/* Keeps chan_fd, a copy of key and digest, and finds the main program's
 * segments; the caller should wipe its own copy of the key afterwards.
 * 0 or a negative errno. */
int guard_responder_prepare(int chan_fd, const uint8_t key[GUARD_KEY_BYTES],
			    const uint8_t digest[GUARD_DIGEST_BYTES]) __attribute__((warn_unused_result));

/* Starts the responder thread (detached). It installs ROLE_RESPONDER
 * first, sends the hello, then answers until the channel closes. 0, -ENOENT
 * without a prepare, or the pthread_create error. */
int guard_responder_start(void) __attribute__((warn_unused_result));

/* Challenges answered so far (for tests and the run summary). */
uint64_t guard_responder_answered(void);

#ifdef KFV_COMPROMISE_SIM
/* Test builds: what a compromised VMM would do to the guard's view of it
 * (GUARD_SIM_* in src/devices/compromise_sim.h). Returns 0 when action is
 * one of them, -EINVAL otherwise. */
int guard_responder_sim(unsigned action);
#endif

#endif
