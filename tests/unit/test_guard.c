#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "guard/answer.h"
#include "guard/guard.h"
#include "guard/proc_parse.h"
#include "guard/responder.h"
#include "vmm/guest_mem.h"

/* --- /proc parsers, on fixtures --- */

static const char status_fixture[] =
	"Name:\tkfv\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t4242\n"
	"Uid:\t900001\t900001\t900001\t900001\n"
	"Gid:\t900001\t900001\t900001\t900001\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t0000000000000000\n"
	"CapEff:\t0000000000000000\n"
	"CapBnd:\t000001ffffffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t1\n"
	"Seccomp:\t2\n"
	"Seccomp_filters:\t2\n"
	"Speculation_Store_Bypass:\tthread vulnerable\n";

static void status_parses(void **state)
{
	struct guard_status st;

	(void)state;
	assert_int_equal(guard_parse_status(status_fixture, &st), 0);
	assert_string_equal(st.name, "kfv");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.uid[0], 900001);
	assert_int_equal(st.uid[3], 900001);
	assert_int_equal(st.gid[1], 900001);
	assert_int_equal(st.cap[CAP_I_EFF], 0);
	assert_true(st.cap[CAP_I_BND] == 0x1ffffffffffull);
	assert_int_equal(st.nnp, 1);
	assert_int_equal(st.seccomp, 2);
	assert_int_equal(st.filters, 2);
}

static void status_missing_fields(void **state)
{
	struct guard_status st;
	char text[sizeof(status_fixture)];
	char *p;

	(void)state;
	/* No Seccomp_filters (kernels before 5.9): reads as -1, still valid. */
	strcpy(text, status_fixture);
	p = strstr(text, "Seccomp_filters");
	*p = '\0';
	assert_int_equal(guard_parse_status(text, &st), 0);
	assert_int_equal(st.filters, -1);
	/* No Seccomp line at all: the check cannot be made, so refused. */
	p = strstr(text, "Seccomp:");
	*p = '\0';
	assert_int_equal(guard_parse_status(text, &st), -EINVAL);
	/* A malformed Uid line. */
	strcpy(text, status_fixture);
	memcpy(strstr(text, "Uid:\t9"), "Uid:\tx", 6);
	assert_int_equal(guard_parse_status(text, &st), -EINVAL);
	/* A thread name with a control character is sanitised. */
	assert_int_equal(guard_parse_status("Name:\tev\til\nState:\tR\nUid:\t1 1 1 1\nGid:\t1 1 1 1\nCapPrm:\t0\nCapEff:\t0\n"
					    "NoNewPrivs:\t0\nSeccomp:\t0\n",
					    &st),
			 0);
	assert_string_equal(st.name, "ev?il");
}

static void stat_parses(void **state)
{
	unsigned long flags;
	char st;

	(void)state;
	/* A name with spaces and parentheses: fields follow the last ')'. */
	assert_int_equal(guard_parse_stat("4243 (iou-wrk-4242) S 1 4242 4242 0 -1 4194384 0 0", &st, &flags), 0);
	assert_int_equal(st, 'S');
	assert_true(flags & GUARD_PF_IO_WORKER);
	assert_int_equal(guard_parse_stat("4244 (a) b) c) R 1 2 3 0 -1 4194560 0", &st, &flags), 0);
	assert_int_equal(st, 'R');
	assert_false(flags & GUARD_PF_IO_WORKER);
	assert_int_equal(guard_parse_stat("4244 (kfv", &st, &flags), -EINVAL);
}

static void maps_lines_parse(void **state)
{
	static const char *const code = "55d0c0a05000-55d0c0a1f000 r-xp 00005000 fd:01 1312345                    /usr/bin/kfv";
	static const char *const anon = "7f3b2c000000-7f3b2c021000 rw-p 00000000 00:00 0 ";
	static const char *const ram = "7f3a00000000-7f3a10000000 rw-s 00000000 00:01 4242                       /memfd:kfv-guest-ram (deleted)";
	static const char *const wx = "7f0000000000-7f0000001000 rwxp 00000000 00:00 0";
	struct guard_map m;

	(void)state;
	assert_int_equal(guard_parse_map_line(code, strlen(code), &m), 0);
	assert_true(m.start == 0x55d0c0a05000ull && m.end == 0x55d0c0a1f000ull && m.offset == 0x5000);
	assert_int_equal(m.dev_major, 0xfd);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 1312345);
	assert_string_equal(m.path, "/usr/bin/kfv");
	assert_true(guard_map_exec(&m) && !guard_map_write(&m));
	assert_int_equal(guard_parse_map_line(anon, strlen(anon), &m), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(m.inode, 0);
	assert_int_equal(guard_parse_map_line(ram, strlen(ram), &m), 0);
	assert_string_equal(m.path, "/memfd:kfv-guest-ram (deleted)");
	assert_string_equal(m.perms, "rw-s");
	assert_int_equal(guard_parse_map_line(wx, strlen(wx), &m), 0);
	assert_true(guard_map_exec(&m) && guard_map_write(&m));
	/* Only len bytes count: the rest of the buffer is another line. */
	assert_int_equal(guard_parse_map_line(code, (size_t)(strstr(code, "1312345") + 7 - code), &m), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(guard_parse_map_line("garbage", 7, &m), -EINVAL);
	assert_int_equal(guard_parse_map_line("2000-1000 r-xp 0 00:00 0", 24, &m), -EINVAL);
}

static void smaps_vmflags(void **state)
{
	static const char smaps[] =
		"7f3a00000000-7f3a10000000 rw-s 00000000 00:01 4242  /memfd:kfv-guest-ram (deleted)\n"
		"Size:             262144 kB\n"
		"VmFlags: rd wr sh mr mw me ms sd\n"
		"7f3b00000000-7f3b00021000 rw-p 00000000 00:00 0\n"
		"Size:                132 kB\n"
		"VmFlags: rd wr mr mw me ac sd mg\n";
	char flags[64];

	(void)state;
	assert_int_equal(guard_smaps_vmflags(smaps, strlen(smaps), 0x7f3a00000000ull, flags, sizeof(flags)), 0);
	assert_string_equal(flags, "rd wr sh mr mw me ms sd");
	assert_false(guard_vmflags_has(flags, "mg"));
	assert_true(guard_vmflags_has(flags, "sh"));
	assert_false(guard_vmflags_has(flags, "s")); /* whole tokens only */
	assert_int_equal(guard_smaps_vmflags(smaps, strlen(smaps), 0x7f3b00000000ull, flags, sizeof(flags)), 0);
	assert_true(guard_vmflags_has(flags, "mg"));
	assert_int_equal(guard_smaps_vmflags(smaps, strlen(smaps), 0x1000, flags, sizeof(flags)), -ENOENT);
}

static void pagemap_bits(void **state)
{
	uint64_t e = GUARD_PM_PRESENT | GUARD_PM_EXCLUSIVE | 0x12345;

	(void)state;
	assert_true(guard_pm_present(e));
	assert_true(guard_pm_pfn(e) == 0x12345);
	assert_false(guard_pm_present(e & ~GUARD_PM_PRESENT));
}

static void guard_lines_parse(void **state)
{
	struct guard_line l;

	(void)state;
	assert_int_equal(guard_parse_line("alarm code_pages byte at 0x1000 differs", &l), 0);
	assert_int_equal(l.kind, GUARD_LINE_ALARM);
	assert_int_equal(l.check, GUARD_CODE_PAGES);
	assert_string_equal(l.name, "code_pages");
	assert_string_equal(l.detail, "byte at 0x1000 differs");
	assert_int_equal(guard_parse_line("alarm something_newer", &l), 0);
	assert_int_equal(l.check, -1);
	assert_int_equal(guard_parse_line("stats checks=12 challenges=3 alarms=1 cpu_ns=99", &l), 0);
	assert_int_equal(l.kind, GUARD_LINE_STATS);
	assert_true(l.checks == 12 && l.challenges == 3 && l.alarms == 1 && l.cpu_ns == 99);
	assert_int_equal(guard_parse_line("info watching", &l), 0);
	assert_int_equal(l.kind, GUARD_LINE_INFO);
	assert_int_equal(guard_parse_line("stats checks=x", &l), -EINVAL);
	assert_int_equal(guard_parse_line("hello", &l), -EINVAL);
	assert_int_equal(guard_parse_line("alarm ", &l), -EINVAL);
	for (int c = 0; c < GUARD_CHECK_COUNT; c++)
		assert_string_not_equal(guard_check_name((enum guard_check)c), "?");
}

/* --- the answer: the running program against its file --- */

static int has_textrel(void)
{
	for (const ElfW(Dyn) *d = _DYNAMIC; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
			return 1;
	return 0;
}

/* The assumption the whole challenge rests on: the code and read-only data
 * of a running PIE are the bytes of its file. */
static void memory_matches_file(void **state)
{
	struct guard_image mem, file;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(guard_image_load(fd, &file), 0);
	close(fd);
	assert_int_equal(guard_image_self(&mem), 0);
	assert_false(has_textrel());
	assert_true(file.pie);
	assert_int_equal(mem.n, file.n);
	assert_true(mem.n >= 2); /* at least headers/rodata and code */
	for (unsigned i = 0; i < mem.n; i++) {
		assert_true(mem.seg[i].vaddr == file.seg[i].vaddr);
		assert_true(mem.seg[i].size == file.seg[i].size);
		assert_memory_equal(mem.seg[i].data, file.seg[i].data, mem.seg[i].size);
	}
	guard_image_free(&file);
}

static void answer_binds_everything(void **state)
{
	uint8_t key[GUARD_KEY_BYTES], nonce[GUARD_NONCE_BYTES], digest[GUARD_DIGEST_BYTES];
	uint8_t a[GUARD_MAC_BYTES], b[GUARD_MAC_BYTES];
	uint8_t code[64], copy[64];
	struct guard_image img = { .n = 1 };

	(void)state;
	assert_true(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(digest, sizeof(digest));
	randombytes_buf(code, sizeof(code));
	memcpy(copy, code, sizeof(code));
	img.seg[0] = (struct guard_segment){ 0x1000, 0x1000, sizeof(code), code };
	guard_answer(key, nonce, &img, digest, 2, a);
	img.seg[0].data = copy; /* the same bytes elsewhere: the same answer */
	guard_answer(key, nonce, &img, digest, 2, b);
	assert_memory_equal(a, b, sizeof(a));
	copy[17] ^= 1; /* one bit of code */
	guard_answer(key, nonce, &img, digest, 2, b);
	assert_memory_not_equal(a, b, sizeof(a));
	copy[17] ^= 1;
	guard_answer(key, nonce, &img, digest, 0, b); /* the seccomp mode */
	assert_memory_not_equal(a, b, sizeof(a));
	digest[0] ^= 1;
	guard_answer(key, nonce, &img, digest, 2, b);
	assert_memory_not_equal(a, b, sizeof(a));
	digest[0] ^= 1;
	nonce[31] ^= 1;
	guard_answer(key, nonce, &img, digest, 2, b);
	assert_memory_not_equal(a, b, sizeof(a));
	nonce[31] ^= 1;
	key[0] ^= 1;
	guard_answer(key, nonce, &img, digest, 2, b);
	assert_memory_not_equal(a, b, sizeof(a));
	key[0] ^= 1;
	img.seg[0].vaddr = 0x2000; /* the same bytes at another address */
	guard_answer(key, nonce, &img, digest, 2, b);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void image_load_rejects(void **state)
{
	struct guard_image img;
	char path[] = "/tmp/kfv-guard-test-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(guard_image_load(fd, &img), -ENOEXEC); /* empty */
	assert_int_equal(write(fd, "\177ELF not really", 15), 15);
	assert_int_equal(guard_image_load(fd, &img), -ENOEXEC);
	close(fd);
}

/* The responder thread answers what the guard computes from the file. */
static void responder_answers(void **state)
{
	uint8_t key[GUARD_KEY_BYTES], digest[GUARD_DIGEST_BYTES], want[GUARD_MAC_BYTES];
	struct guard_challenge ch = { .seq = 1 };
	struct guard_reply rep;
	struct guard_image file;
	int sv[2], fd;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(digest, sizeof(digest));
	assert_int_equal(guard_channel(sv), 0);
	assert_int_equal(guard_responder_start(), -ENOENT); /* not prepared */
	assert_int_equal(guard_responder_prepare(sv[1], key, digest), 0);
	assert_int_equal(guard_responder_start(), 0);
	assert_int_equal(read(sv[0], &rep, sizeof(rep)), sizeof(rep));
	assert_true(rep.seq == 0); /* hello */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_int_equal(guard_image_load(fd, &file), 0);
	close(fd);
	for (int i = 0; i < 3; i++) {
		ch.seq = (uint64_t)i + 1;
		randombytes_buf(ch.nonce, sizeof(ch.nonce));
		assert_int_equal(write(sv[0], &ch, sizeof(ch)), sizeof(ch));
		assert_int_equal(read(sv[0], &rep, sizeof(rep)), sizeof(rep));
		assert_true(rep.seq == ch.seq);
		guard_answer(key, ch.nonce, &file, digest, 0, want); /* unfiltered: seccomp mode 0 */
		assert_memory_equal(rep.mac, want, sizeof(want));
	}
	/* A short message is ignored, not answered. */
	assert_int_equal(write(sv[0], &ch, 5), 5);
	ch.seq = 9;
	assert_int_equal(write(sv[0], &ch, sizeof(ch)), sizeof(ch));
	assert_int_equal(read(sv[0], &rep, sizeof(rep)), sizeof(rep));
	assert_true(rep.seq == 9);
	/* Each count follows its answer: the first three are in by now. */
	assert_true(guard_responder_answered() >= 3);
	guard_image_free(&file);
	close(sv[0]); /* the responder sees the end and returns */
	usleep(20000);
	close(sv[1]);
}

/* --- RAM released --- */

static void ram_released(void **state)
{
	char detail[200] = "";
	struct stat st;
	int fd = gm_memfd_create(1 << 20, 0), p[2];
	uint8_t *m;
	pid_t pid;

	(void)state;
	assert_true(fd >= 0);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	memset(m, 0xab, 1 << 20);
	assert_int_equal(munmap(m, 1 << 20), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_blocks > 0);
	assert_int_equal(guard_check_ram_released(fd, detail, sizeof(detail)), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(st.st_blocks == 0);
	assert_true(st.st_size == 1 << 20); /* punched, not shrunk: the seals hold */

	/* Another process still mapping it: named. */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c = 0;

		m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd); /* the mapping alone holds it */
		m[0] = 1;
		(void)!write(p[1], &c, 1);
		pause();
		_exit(0);
	}
	{
		char c, want[32];

		assert_int_equal(read(p[0], &c, 1), 1);
		assert_int_equal(guard_check_ram_released(fd, detail, sizeof(detail)), 1);
		snprintf(want, sizeof(want), "pid %d still maps", (int)pid);
		assert_non_null(strstr(detail, want));
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* Another process holding only the fd. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c = 0;

		(void)!write(p[1], &c, 1);
		pause();
		_exit(0);
	}
	{
		char c, want[32];

		assert_int_equal(read(p[0], &c, 1), 1);
		assert_int_equal(guard_check_ram_released(fd, detail, sizeof(detail)), 1);
		snprintf(want, sizeof(want), "pid %d still holds", (int)pid);
		assert_non_null(strstr(detail, want));
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(guard_check_ram_released(fd, detail, sizeof(detail)), 0);
	close(p[0]);
	close(p[1]);
	close(fd);
}

static void config_checked(void **state)
{
	struct guard_config c;

	(void)state;
	guard_config_defaults(&c);
	assert_int_equal(c.period_ms, GUARD_DEFAULT_PERIOD_MS);
	assert_int_equal(c.jitter_ms, 0); /* derived from the period */
	assert_int_equal(c.deadline_ms, 0);
	assert_int_equal(guard_start(&c), -EINVAL); /* no pid, no fds */
	c.vmm_pid = getpid();
	c.alarm_fd = c.chan_fd = 1;
	c.jitter_ms = c.period_ms;
	assert_int_equal(guard_start(&c), -EINVAL);
	assert_int_equal(guard_stop(0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_parses),
		cmocka_unit_test(status_missing_fields),
		cmocka_unit_test(stat_parses),
		cmocka_unit_test(maps_lines_parse),
		cmocka_unit_test(smaps_vmflags),
		cmocka_unit_test(pagemap_bits),
		cmocka_unit_test(guard_lines_parse),
		cmocka_unit_test(memory_matches_file),
		cmocka_unit_test(answer_binds_everything),
		cmocka_unit_test(image_load_rejects),
		cmocka_unit_test(responder_answers),
		cmocka_unit_test(ram_released),
		cmocka_unit_test(config_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
