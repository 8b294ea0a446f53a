#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guard_internal.h"

/* The guard's loop: one challenge per period (with jitter, so that a VMM
 * cannot time its tampering between checks), the environment checks while
 * the responder computes its answer, and the answer checked against what
 * the binary on disk says it must be. */

static volatile sig_atomic_t stop_requested, resumed;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_cont(int sig)
{
	(void)sig;
	resumed = 1;
}

static uint64_t next_interval(struct guard *g)
{
	return g->c.period_ms - g->c.jitter_ms + guard_random_below(g, 2 * g->c.jitter_ms + 1);
}

static void send_challenge(struct guard *g)
{
	struct guard_challenge ch = { .seq = ++g->seq };

	guard_random(g, ch.nonce, sizeof(ch.nonce));
	/* Keep earlier answers: one coming back again is a replay. */
	if (g->seq > 1) {
		memcpy(g->past[g->npast % GUARD_PAST_ANSWERS], g->expect, GUARD_MAC_BYTES);
		g->npast++;
	}
	resumed = 0;
	g->outstanding = true;
	g->deadline = guard_now_ms() + g->c.deadline_ms;
	g->challenges++;
	if (send(g->c.chan_fd, &ch, sizeof(ch), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(ch) && env_vmm_state(g))
		guard_alarm(g, GUARD_UNRESPONSIVE, "cannot send challenge %" PRIu64 ": %s", ch.seq, strerror(errno));
	/* Computed while the responder computes its own. */
	guard_answer_from_hash(g->c.key, ch.nonce, g->code_hash, g->c.config_digest, g->expect_mode, g->expect);
}

static bool is_past(const struct guard *g, const uint8_t *mac)
{
	unsigned n = g->npast < GUARD_PAST_ANSWERS ? g->npast : GUARD_PAST_ANSWERS;

	for (unsigned i = 0; i < n; i++)
		if (!sodium_memcmp(g->past[i], mac, GUARD_MAC_BYTES))
			return true;
	return false;
}

/* Returns false once the channel is closed. */
static bool on_reply(struct guard *g)
{
	struct guard_reply r;
	ssize_t n = recv(g->c.chan_fd, &r, sizeof(r), MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	/* Closed: a VMM that is exiting closes it too, so the alarm waits for
	 * the next challenge, which cannot be sent to a live VMM. */
	if (n == 0)
		return false;
	if (n != sizeof(r)) {
		guard_alarm(g, GUARD_CODE_MODIFIED, "malformed answer of %zd bytes", n);
		return true;
	}
	if (r.seq == 0) {
		if (!g->hello) {
			g->hello = true;
			g->hello_ms = guard_now_ms();
			env_hello(g);
		}
		return true;
	}
	if (r.seq > g->seq) {
		guard_alarm(g, GUARD_CODE_MODIFIED, "answer to challenge %" PRIu64 ", which was never sent", r.seq);
		return true;
	}
	if (!g->outstanding || r.seq != g->seq)
		return true; /* late: its deadline already raised the alarm */
	g->outstanding = false;
	g->checks++;
	if (!sodium_memcmp(r.mac, g->expect, GUARD_MAC_BYTES))
		return true;
	if (is_past(g, r.mac))
		guard_alarm(g, GUARD_REPLAYED, "the answer to challenge %" PRIu64 " is the answer to an earlier one", r.seq);
	else
		guard_alarm(g, GUARD_CODE_MODIFIED, "wrong answer to challenge %" PRIu64, r.seq);
	return true;
}

static void on_deadline(struct guard *g)
{
	char state;

	/* The answer may have come while the guard itself waited for a CPU. */
	while (g->outstanding && on_reply(g)) {
		struct pollfd p = { g->c.chan_fd, POLLIN, 0 };

		if (poll(&p, 1, 0) <= 0)
			break;
	}
	if (!g->outstanding)
		return;
	state = env_vmm_state(g);
	g->outstanding = false;
	g->checks++;
	/* Not the VMM's fault: the guard itself was stopped, or someone on the
	 * host stopped the VMM (a debugger, the orchestrator's freeze). */
	if (!state || resumed || state == 'T' || state == 't')
		return;
	guard_alarm(g, GUARD_UNRESPONSIVE, "no answer to challenge %" PRIu64 " within %u ms", g->seq, g->c.deadline_ms);
}

static void one_period(struct guard *g)
{
	/* The costly ones (every process's maps, the VMM's smaps, every fd
	 * link) less often, from the first period on. */
	bool full = !g->c.sharing_every || g->cycle % g->c.sharing_every == 0;

	send_challenge(g);
	g->cycle++;
	env_check(g, full);
	if (g->exiting)
		return;
	mem_sample(g);
	if (full) {
		mem_scan_others(g);
		mem_check_ksm(g);
	}
	if (g->c.stats_every && g->cycle % g->c.stats_every == 0)
		guard_stats(g);
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: poll returns */

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int guard_run(struct guard *g)
{
	uint64_t start = guard_now_ms(), next = 0;
	bool chan_open = true;
	char ksm[8] = "?";

	setup_signals();
	if (gbuf_read_at(&g->scratch, AT_FDCWD, "/sys/kernel/mm/ksm/run", true) > 0)
		guard_sanitize(ksm, sizeof(ksm), g->scratch.p, strcspn(g->scratch.p, "\n"));
	guard_info(g, "watching pid %d: sandboxed %d, period %u+-%u ms, deadline %u ms, frame checks %d, host KSM run=%s",
		   (int)g->c.vmm_pid, g->c.sandboxed, g->c.period_ms, g->c.jitter_ms, g->c.deadline_ms,
		   g->c.frame_checks, ksm);
	while (!stop_requested) {
		struct pollfd p[2] = { { chan_open ? g->c.chan_fd : -1, POLLIN, 0 }, { g->pidfd, POLLIN, 0 } };
		uint64_t now = guard_now_ms(), wake;

		if (!g->hello && now - start >= g->c.start_timeout_ms) {
			if (!env_vmm_state(g))
				break;
			guard_alarm(g, GUARD_UNRESPONSIVE, "no hello from the responder within %u ms", g->c.start_timeout_ms);
			/* The checks from outside need no responder: start them. */
			g->hello = true;
			g->hello_ms = now;
			env_hello(g);
		}
		if (g->outstanding && now >= g->deadline)
			on_deadline(g);
		if (g->hello && !g->outstanding && now >= next) {
			/* With a pidfd, poll() below already says when it exits. */
			if (g->pidfd < 0 && !env_vmm_state(g))
				break;
			one_period(g);
			next = now + next_interval(g);
		}
		if (g->exiting || (!chan_open && !env_vmm_state(g)))
			break;
		wake = g->outstanding ? g->deadline : g->hello ? next : start + g->c.start_timeout_ms;
		now = guard_now_ms();
		if (poll(p, 2, wake > now ? (int)(wake - now) : 0) < 0)
			continue; /* a signal */
		if (p[1].revents & POLLIN)
			break; /* the VMM exited */
		if (p[0].revents & (POLLIN | POLLHUP))
			chan_open = on_reply(g);
	}
	guard_stats(g);
	return 0;
}
