/* File descriptors the VMM hands its supervisor before it locks itself
 * down, over their control socket (SCM_RIGHTS): the KVM binary statistics
 * of each vCPU, so that the orchestrator reads the kernel's own exit counts
 * and never needs the VMM's word for them. */
#ifndef KFV_DEFENSE_HANDOFF_H
#define KFV_DEFENSE_HANDOFF_H

#include <stddef.h>

#define HANDOFF_MAX_FDS 64 /* SCM_RIGHTS takes at most 253 per message; one VM's vCPUs fit */
#define HANDOFF_TAG_MAX 32

/* Sends `tag` with fds[0..n) in one message on a SOCK_SEQPACKET socket. */
int handoff_send(int sock, const char *tag, const int *fds, unsigned n) __attribute__((warn_unused_result));

/* Receives one message without blocking: its tag (NUL-terminated) and up
 * to max fds (the rest closed). Returns the number of fds, -EAGAIN when
 * nothing waits, -EPIPE at end of stream, or another negative errno. */
int handoff_recv(int sock, char *tag, size_t taglen, int *fds, unsigned max) __attribute__((warn_unused_result));

#endif
