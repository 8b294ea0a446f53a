#define _GNU_SOURCE
#include "responder.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../sandbox/lockdown.h"
#include "../util/log.h"

#ifdef KFV_COMPROMISE_SIM
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "../devices/compromise_sim.h"
#endif

/* One responder per VMM process. Written before the thread starts, read
 * only by it afterwards. */
static struct {
	bool prepared;
	int fd;
	uint8_t key[GUARD_KEY_BYTES];
	uint8_t digest[GUARD_DIGEST_BYTES];
	struct guard_image img; /* points into our own mapped code */
	_Atomic uint64_t answered;
#ifdef KFV_COMPROMISE_SIM
	atomic_bool silent, replay;
	uint8_t last[GUARD_MAC_BYTES];
	bool have_last;
#endif
} rsp = { .fd = -1 };

int guard_responder_prepare(int chan_fd, const uint8_t key[GUARD_KEY_BYTES], const uint8_t digest[GUARD_DIGEST_BYTES])
{
	int ret;

	if (chan_fd < 0)
		return -EBADF;
	/* Picks libsodium's BLAKE2b implementation now, while syscalls are
	 * still allowed; the answers need none. */
	if (sodium_init() < 0)
		return -ENOSYS;
	ret = guard_image_self(&rsp.img);
	if (ret)
		return ret;
	rsp.fd = chan_fd;
	memcpy(rsp.key, key, GUARD_KEY_BYTES);
	memcpy(rsp.digest, digest, GUARD_DIGEST_BYTES);
	rsp.prepared = true;
	return 0;
}

uint64_t guard_responder_answered(void)
{
	return atomic_load(&rsp.answered);
}

/* Test builds: what the compromise simulation asked the responder to do
 * with an answer. Returns false to send nothing. */
static bool tamper(struct guard_reply *rep)
{
#ifdef KFV_COMPROMISE_SIM
	uint8_t fresh[GUARD_MAC_BYTES];

	if (atomic_load(&rsp.silent))
		return false;
	memcpy(fresh, rep->mac, sizeof(fresh));
	if (atomic_load(&rsp.replay) && rsp.have_last)
		memcpy(rep->mac, rsp.last, sizeof(rep->mac)); /* an old answer, under the new sequence number */
	memcpy(rsp.last, fresh, sizeof(fresh));
	rsp.have_last = true;
#else
	(void)rep;
#endif
	return true;
}

static void *responder_thread(void *arg)
{
	struct guard_challenge ch;
	struct guard_reply rep = { 0 };

	(void)arg;
	if (sandbox_thread_role(ROLE_RESPONDER)) {
		log_error("guard responder: cannot install its seccomp filter");
		return NULL;
	}
	if (write(rsp.fd, &rep, sizeof(rep)) != sizeof(rep)) /* hello: the guard starts its checks */
		return NULL;
	for (;;) {
		ssize_t n = read(rsp.fd, &ch, sizeof(ch));
		int mode;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the guard is gone: nothing left to answer */
		if (n != sizeof(ch))
			continue;
		/* The kernel's word for this thread, not a remembered value. */
		mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
		rep.seq = ch.seq;
		guard_answer(rsp.key, ch.nonce, &rsp.img, rsp.digest, mode < 0 ? 0 : (uint32_t)mode, rep.mac);
		if (!tamper(&rep))
			continue;
		if (write(rsp.fd, &rep, sizeof(rep)) != sizeof(rep))
			break;
		atomic_fetch_add(&rsp.answered, 1);
	}
	return NULL;
}

int guard_responder_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int ret;

	if (!rsp.prepared)
		return -ENOENT;
	/* No signal is ours to take: the VMM's stop signals go to its signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &attr, responder_thread, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -ret;
}

#ifdef KFV_COMPROMISE_SIM
int guard_responder_sim(unsigned action)
{
	void *p;
	int fd;

	switch (action) {
	case GUARD_SIM_STOP_RESPONDER:
		atomic_store(&rsp.silent, true);
		break;
	case GUARD_SIM_REPLAY:
		atomic_store(&rsp.replay, true);
		break;
	case GUARD_SIM_EXEC_PAGE:
		/* Seccomp stops this in a jailed VMM; the guard is the second line. */
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		log_warn("compromise simulation: mapped an executable page at %p", p);
		break;
	case GUARD_SIM_EXTRA_FD:
		fd = eventfd(0, EFD_CLOEXEC);
		log_warn("compromise simulation: opened an extra fd %d", fd);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}
#endif
