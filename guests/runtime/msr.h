/* MSR access that survives #GP: msr_read_safe()/msr_write_safe() return
 * -1 instead of dying when the CPU (or the VMM's MSR filter) refuses the
 * index. Install msr_gp_fixup with trap_set_exception_hook() first (or
 * call msr_safe_init()). Ring 0 only. */
#ifndef GUEST_RUNTIME_MSR_H
#define GUEST_RUNTIME_MSR_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/idt.h"

/* 0 and *val, or -1 when the RDMSR took #GP. */
int msr_read_safe(uint32_t index, uint64_t *val);

/* 0, or -1 when the WRMSR took #GP. */
int msr_write_safe(uint32_t index, uint64_t val);

/* The exception hook: a #GP on the RDMSR/WRMSR inside the two functions
 * above is skipped and reported to them; anything else is not handled. */
bool msr_gp_fixup(struct trap_frame *frame);

/* Installs msr_gp_fixup as the exception hook. */
void msr_safe_init(void);

/* #GPs taken by the safe accessors so far (all CPUs). */
uint64_t msr_gp_count(void);

#endif
