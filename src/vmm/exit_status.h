/* kfv's exit statuses. Documented in docs/exit-status.md and `kfv --help`;
 * all are below 128 so a status is never mistaken for a death by signal.
 * With --debug-exit the guest chooses the status itself (0-255). */
#ifndef KFV_VMM_EXIT_STATUS_H
#define KFV_VMM_EXIT_STATUS_H

enum kfv_exit_status {
	KFV_EXIT_OK            = 0,  /* guest powered off */
	KFV_EXIT_USAGE         = 64, /* bad command line or option value */
	KFV_EXIT_BAD_IMAGE     = 65, /* kernel or initrd rejected: not a kernel, malformed, does not fit */
	KFV_EXIT_NO_INPUT      = 66, /* kernel, initrd or config cannot be opened or read */
	KFV_EXIT_UNAVAILABLE   = 69, /* /dev/kvm missing or not permitted, KVM lacks a feature, host lacks memory */
	KFV_EXIT_INTERNAL      = 70, /* a bug in kfv */
	KFV_EXIT_OS_ERROR      = 71, /* any other host failure */
	KFV_EXIT_GUEST_RESET   = 80, /* the guest asked for a reset (i8042 or KVM reset event) */
	KFV_EXIT_GUEST_CRASH   = 81, /* triple fault or a crash event reported by KVM */
	KFV_EXIT_KVM_ERROR     = 82, /* KVM internal error, emulation failure or failed VM entry */
	KFV_EXIT_UNKNOWN_EXIT  = 83, /* an exit reason kfv does not handle: fail closed */
	KFV_EXIT_INTERRUPTED   = 84, /* stopped by SIGINT/SIGTERM or the console escape */
	KFV_EXIT_BUDGET        = 86, /* the guest went over --exit-budget (exits to kfv per second) */
	KFV_EXIT_SECCOMP       = 85, /* the VMM made a syscall its thread's allow-list forbids */
	KFV_EXIT_JAIL          = 87, /* the jail or the seccomp filters could not be set up */
	KFV_EXIT_VMM_DIED      = 88, /* the VMM process died from a signal */
	KFV_EXIT_POLICY_KILL   = 89, /* the orchestrator killed the VM by policy */
};

#endif
