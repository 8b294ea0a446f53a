/* The fd hand-over between the VMM and its supervisor (defense/handoff.h)
 * and the configuration digest the guard's challenges fold in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/options_digest.h"
#include "defense/handoff.h"

static ino_t inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void fds_arrive_with_their_tag(void **state)
{
	int sv[2], p[2], got[HANDOFF_MAX_FDS];
	char tag[HANDOFF_TAG_MAX];
	int fds[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(handoff_recv(sv[0], tag, sizeof(tag), got, HANDOFF_MAX_FDS), -EAGAIN);
	fds[0] = p[0];
	fds[1] = p[1];
	assert_int_equal(handoff_send(sv[1], "kvm-stats", fds, 2), 0);
	assert_int_equal(handoff_recv(sv[0], tag, sizeof(tag), got, HANDOFF_MAX_FDS), 2);
	assert_string_equal(tag, "kvm-stats");
	/* new numbers for the same open files, close-on-exec */
	assert_int_not_equal(got[0], p[0]);
	assert_true(inode_of(got[0]) == inode_of(p[0]));
	assert_true(inode_of(got[1]) == inode_of(p[1]));
	assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	close(got[0]);
	close(got[1]);
	/* a message without fds */
	assert_int_equal(handoff_send(sv[1], "kvm-stats-none", NULL, 0), 0);
	assert_int_equal(handoff_recv(sv[0], tag, sizeof(tag), got, HANDOFF_MAX_FDS), 0);
	assert_string_equal(tag, "kvm-stats-none");
	/* the sender gone */
	close(sv[1]);
	assert_int_equal(handoff_recv(sv[0], tag, sizeof(tag), got, HANDOFF_MAX_FDS), -EPIPE);
	close(sv[0]);
	close(p[0]);
	close(p[1]);
}

static void extra_fds_are_closed_not_leaked(void **state)
{
	int sv[2], p[2], got[1], fds[3];
	char tag[HANDOFF_TAG_MAX];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fds[0] = fds[1] = fds[2] = p[1];
	assert_int_equal(handoff_send(sv[1], "x", fds, 3), 0);
	assert_int_equal(handoff_recv(sv[0], tag, sizeof(tag), got, 1), 1);
	close(got[0]);
	close(p[1]);
	/* every copy of the write end is gone: the read end sees EOF at once */
	char c;
	assert_int_equal(read(p[0], &c, 1), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void bad_sends_are_refused(void **state)
{
	int sv[2], fds[HANDOFF_MAX_FDS + 1] = { 0 };
	char long_tag[HANDOFF_TAG_MAX + 8];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	memset(long_tag, 'a', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	assert_int_equal(handoff_send(sv[1], "", NULL, 0), -EINVAL);
	assert_int_equal(handoff_send(sv[1], long_tag, NULL, 0), -EINVAL);
	assert_int_equal(handoff_send(sv[1], "x", fds, HANDOFF_MAX_FDS + 1), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

static void digest_follows_the_configuration(void **state)
{
	struct run_options a = { .kernel = "k", .cmdline = "", .memory = 128u << 20, .cpus = 1 }, b = a;
	uint8_t da[OPTIONS_DIGEST_BYTES], db[OPTIONS_DIGEST_BYTES];

	(void)state;
	options_digest(&a, da);
	options_digest(&b, db);
	assert_memory_equal(da, db, sizeof(da));
	b.cpus = 2;
	options_digest(&b, db);
	assert_memory_not_equal(da, db, sizeof(da));
	b = a;
	b.cmdline = "x";
	options_digest(&b, db);
	assert_memory_not_equal(da, db, sizeof(da));
	b = a;
	b.kernel = "k2";
	options_digest(&b, db);
	assert_memory_not_equal(da, db, sizeof(da));
	/* fields are framed: "k"+"x" and "kx"+"" differ */
	a.cmdline = "x";
	b = a;
	b.kernel = "kx";
	b.cmdline = "";
	options_digest(&a, da);
	options_digest(&b, db);
	assert_memory_not_equal(da, db, sizeof(da));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fds_arrive_with_their_tag),
		cmocka_unit_test(extra_fds_are_closed_not_leaked),
		cmocka_unit_test(bad_sends_are_refused),
		cmocka_unit_test(digest_follows_the_configuration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
