/* Shared between the seccomp files: the policy builder and the handler. */
#ifndef KFV_SANDBOX_SECCOMP_INTERNAL_H
#define KFV_SANDBOX_SECCOMP_INTERNAL_H

#include <seccomp.h>
#include <sys/types.h>

#include "seccomp.h"

/* Builds role's allow-list as a libseccomp context whose default (and
 * wrong-architecture) action is default_action; pid is the process the
 * filter is for (tgkill may target it only). NULL on failure, *err set. */
scmp_filter_ctx seccomp_policy_build(enum thread_role role, uint32_t default_action, pid_t pid, int *err);

/* Resolves syscall names ahead of time and installs the SIGSYS handler. */
int seccomp_report_prepare(void) __attribute__((warn_unused_result));

/* "KVM_CREATE_VCPU" for its request number (the 32 bits the kernel acts
 * on), or NULL for one that is not a KVM or terminal ioctl. */
const char *seccomp_ioctl_name(uint32_t req);

#endif
