#include "runtime/report.h"

#include "runtime/exit.h"
#include "runtime/printf.h"

static unsigned passed, failed;

bool report_check(bool ok, const char *file, int line, const char *expr)
{
	if (ok) {
		__atomic_fetch_add(&passed, 1, __ATOMIC_RELAXED);
	} else {
		__atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
		printf("guest-assert: FAIL %s:%d: %s\n", file, line, expr);
	}
	return ok;
}

void report_totals(void)
{
	printf("guest-report: %u passed, %u failed\n", __atomic_load_n(&passed, __ATOMIC_RELAXED),
	       __atomic_load_n(&failed, __ATOMIC_RELAXED));
}

void report_abort(void)
{
	report_totals();
	guest_exit(GUEST_EXIT_FAIL);
}

void report_done(void)
{
	report_totals();
	guest_exit(__atomic_load_n(&failed, __ATOMIC_RELAXED) ? GUEST_EXIT_FAIL : GUEST_EXIT_PASS);
}
