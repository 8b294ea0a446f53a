/* In-guest test reporting with a totals line a host test parses:
 *
 *   guest-report: N passed, M failed
 *
 * GUEST_CHECK(cond) counts a check and goes on; GUEST_ASSERT(cond) counts
 * it and, when it fails, prints the totals and exits with
 * GUEST_EXIT_FAIL. GUEST_DONE() prints the totals and exits with
 * GUEST_EXIT_PASS when nothing failed, GUEST_EXIT_FAIL otherwise. Each
 * failure prints "guest-assert: FAIL file:line: expression". */
#ifndef GUEST_RUNTIME_REPORT_H
#define GUEST_RUNTIME_REPORT_H

#include <stdbool.h>

#define GUEST_CHECK(cond) report_check(!!(cond), __FILE__, __LINE__, #cond)

#define GUEST_ASSERT(cond)                                              \
	do {                                                            \
		if (!report_check(!!(cond), __FILE__, __LINE__, #cond)) \
			report_abort();                                 \
	} while (0)

#define GUEST_DONE() report_done()

/* Counts one check; prints a FAIL line when ok is false. Returns ok. */
bool report_check(bool ok, const char *file, int line, const char *expr);

/* Prints the totals line. */
void report_totals(void);

/* Prints the totals line and exits with GUEST_EXIT_FAIL. */
__attribute__((noreturn)) void report_abort(void);

/* Prints the totals line and exits: PASS if nothing failed, else FAIL. */
__attribute__((noreturn)) void report_done(void);

#endif
