/* selftest: checks the runtime itself and ends with the report line
 *
 *   guest-report: N passed, M failed
 *
 * (exit 0 when M is 0, else 1). Covers printf, the command-line parser,
 * the string functions, boot information, a registered interrupt
 * handler, ACPI table lookup, the LAPIC clock and the ring-3 round
 * trip.
 *
 * trap=KIND makes it die on purpose after the checks, to exercise the
 * fatal-exception path (exit 3 with a register dump): ud2, int3, pf (read
 * above 4 GiB, which is unmapped), user-gp (hlt in ring 3). */
#include "runtime/guest.h"

#define TEST_VECTOR 0x40
#define POST_PORT   0x80

static const char *fmt_check(const char *want, const char *got)
{
	if (strncmp(want, got, 128) != 0)
		printf("selftest: printf: want \"%s\", got \"%s\"\n", want, got);
	return got;
}

#define FMT(want, ...)                                                 \
	do {                                                           \
		char b_[128];                                          \
		snprintf(b_, sizeof(b_), __VA_ARGS__);                 \
		GUEST_CHECK(strncmp(want, fmt_check(want, b_), 128) == 0); \
	} while (0)

static void test_printf(void)
{
	char small[6];

	FMT("-42 17 ff FF", "%d %u %x %X", -42, 17u, 255u, 255u);
	FMT("[   7][7   ][007]", "[%4d][%-4d][%03d]", 7, 7, 7);
	FMT("-0042", "%05d", -42);
	FMT("18446744073709551615", "%lu", (unsigned long)-1);
	FMT("-9223372036854775808", "%ld", (long)(-9223372036854775807L - 1));
	FMT("0x00000000001000ab", "%p", (void *)0x1000ab);
	FMT("100% a abc [  hi]", "100%% %c %.3s [%*s]", 'a', "abcdef", 4, "hi");
	const char *volatile null_str = 0; /* hidden from the format checker */
	FMT("(null)", "%s", null_str);
	GUEST_CHECK(snprintf(small, sizeof(small), "%s", "truncated") == 9);
	GUEST_CHECK(memcmp(small, "trunc", 6) == 0);
}

static void test_cmdline(void)
{
	const char *line = "  a=1 flag n=0x10 big=18446744073709551616 n2=12x last=x last=y  ";
	char v[8];
	uint64_t n;

	GUEST_CHECK(cmdline_get(line, "last", v, sizeof(v)) && strncmp(v, "y", 8) == 0);
	GUEST_CHECK(!cmdline_get(line, "missing", v, sizeof(v)));
	GUEST_CHECK(cmdline_has(line, "flag") && cmdline_has(line, "a") && !cmdline_has(line, "fla"));
	GUEST_CHECK(cmdline_get_u64(line, "n", 5, &n) == 1 && n == 16);
	GUEST_CHECK(cmdline_get_u64(line, "a", 5, &n) == 1 && n == 1);
	GUEST_CHECK(cmdline_get_u64(line, "nope", 5, &n) == 0 && n == 5);
	GUEST_CHECK(cmdline_get_u64(line, "n2", 5, &n) == -1 && n == 5);
	GUEST_CHECK(cmdline_get_u64(line, "big", 5, &n) == -1 && n == 5);
}

static void test_string(void)
{
	char buf[16] = "abcdefgh";

	memmove(buf + 2, buf, 6);
	GUEST_CHECK(memcmp(buf, "ababcdef", 8) == 0);
	memmove(buf, buf + 2, 6);
	GUEST_CHECK(memcmp(buf, "abcdefef", 8) == 0);
	GUEST_CHECK(strlen("kfv") == 3 && strnlen("kfv", 2) == 2);
	GUEST_CHECK(strncmp("abc", "abd", 2) == 0 && strncmp("abc", "abd", 3) < 0);
}

static void test_bootinfo(void)
{
	GUEST_CHECK(boot_info.mem_count > 0);
	GUEST_CHECK(bootinfo_ram_bytes() >= (16u << 20));
}

static void test_acpi(void)
{
	uint64_t hint = boot_info.rsdp_paddr;
	uint64_t rsdp = acpi_find_rsdp(hint);

	if (!rsdp)
		return; /* no ACPI here: nothing to compare */
	/* Scanning the BIOS area must find the table the loader pointed at
	 * (kfv and QEMU both keep the RSDP below 1 MiB). */
	if (hint)
		GUEST_CHECK(acpi_find_rsdp(0) == hint);
	GUEST_CHECK(acpi_find_table(rsdp, "APIC") != 0);
	GUEST_CHECK(acpi_find_table(rsdp, "NONE") == 0);
}

static volatile uint64_t seen_vector;

static void test_handler(struct trap_frame *f)
{
	seen_vector = f->vector;
}

static void test_interrupt(void)
{
	idt_set_handler(TEST_VECTOR, test_handler);
	__asm__ volatile("int %0" : : "i"(TEST_VECTOR) : "memory");
	GUEST_CHECK(seen_vector == TEST_VECTOR);
}

static void test_clock(void)
{
	struct cpu_topology cpus;

	cpus_discover(&cpus);
	lapic_init(cpus.lapic_base);
	uint64_t t0 = lapic_clock_ns();
	lapic_delay_us(2000);
	uint64_t dt = lapic_clock_ns() - t0;
	GUEST_CHECK(dt >= 2000000 && dt < 1000000000);
}

static uint64_t in_ring3(uint64_t arg)
{
	/* Report what ring 3 sees through the result: CPL and IOPL. */
	uint64_t cpl = read_cs() & 3;
	uint64_t iopl = (read_rflags() >> 12) & 3;

	outb(POST_PORT, 0x55);
	return arg * 100 + cpl * 10 + iopl;
}

static uint64_t ring3_hlt(uint64_t arg)
{
	__asm__ volatile("hlt");
	return arg;
}

static void test_user(void)
{
	GUEST_CHECK(user_run(in_ring3, 7) == 733);
	GUEST_CHECK(user_run(in_ring3, 8) == 833); /* a second round trip works too */
	GUEST_CHECK((read_cs() & 3) == 0 && ((read_rflags() >> 12) & 3) == 0);
}

static void trap(const char *kind)
{
	printf("selftest: trap=%s, expecting a fatal exception\n", kind);
	if (strncmp(kind, "ud2", 8) == 0)
		__asm__ volatile("ud2");
	else if (strncmp(kind, "int3", 8) == 0)
		__asm__ volatile("int3");
	else if (strncmp(kind, "pf", 8) == 0)
		(void)*(volatile uint64_t *)0x100000000ULL;
	else if (strncmp(kind, "user-gp", 8) == 0)
		user_run(ring3_hlt, 0);
	printf("selftest: unknown trap kind or no trap happened\n");
}

int guest_main(void)
{
	char kind[16];

	test_printf();
	test_cmdline();
	test_string();
	test_bootinfo();
	test_acpi();
	test_interrupt();
	test_clock();
	test_user();
	if (cmdline_get(boot_info.cmdline, "trap", kind, sizeof(kind))) {
		report_totals();
		trap(kind);
		return GUEST_EXIT_FAIL;
	}
	GUEST_DONE();
}
