/* Dedicated host CPUs (--dedicated-cpus): each vCPU thread pinned to a host
 * CPU of its own, and every other kfv thread kept off those CPUs, so no
 * two guests (and no VMM housekeeping) share a core's caches and timers. */
#ifndef KFV_VMM_PINNING_H
#define KFV_VMM_PINNING_H

#include <stddef.h>

/* Parses "2,3", "2-3" or "0-1,4" into cpus[] (at most max entries).
 * Refuses empty items, ranges that run backwards, numbers past 1023 and
 * duplicates, with one line in msg. 0 or -EINVAL. Pure, for tests. */
int pinning_parse(const char *list, unsigned *cpus, unsigned max, unsigned *n, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Checks that every CPU is online and in kfv's affinity mask; on failure
 * *bad is the first that is not. 0 or -ENOENT. */
int pinning_check_online(const unsigned *cpus, unsigned n, unsigned *bad) __attribute__((warn_unused_result));

/* Moves the calling thread (and so the threads it creates later) off the
 * given CPUs. -ENOSPC when no CPU would be left (nothing is changed). */
int pinning_keep_off(const unsigned *cpus, unsigned n) __attribute__((warn_unused_result));

/* Pins the calling thread to one CPU. 0 or a negative errno. */
int pinning_pin_self(unsigned cpu) __attribute__((warn_unused_result));

#endif
