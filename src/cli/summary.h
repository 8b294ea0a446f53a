#ifndef KFV_CLI_SUMMARY_H
#define KFV_CLI_SUMMARY_H

#include <stdio.h>

struct vm;

/* The end-of-run report: why the VM stopped, the exits it made, and every
 * access no device claimed. */
void print_run_summary(FILE *out, const struct vm *vm, int status);

#endif
