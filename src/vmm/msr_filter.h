/* The MSR allow-list (NoHype mode, docs/nohype.md). KVM's MSR filter is
 * installed with "deny by default": an RDMSR or WRMSR of an index that is
 * not on the list never reaches KVM's MSR emulation; it exits to kfv as
 * KVM_EXIT_X86_RDMSR/WRMSR, where the MSR agent counts it per index and
 * answers with an error, so the guest takes #GP. No device code ever sees
 * an MSR access. */
#ifndef KFV_VMM_MSR_FILTER_H
#define KFV_VMM_MSR_FILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MSR_R  1U /* the guest may read it */
#define MSR_W  2U /* the guest may write it */
#define MSR_RW (MSR_R | MSR_W)

/* One allowed range, inclusive, with the reason it is on the list. */
struct msr_allow {
	uint32_t first, last;
	unsigned rw;
	const char *name;
	const char *why;
};

extern const struct msr_allow msr_allow_list[];
extern const unsigned msr_allow_count;

/* The index windows the filter's bitmaps cover. With deny-by-default an
 * index outside every window is denied too; every allowed range lies
 * inside a window (tests check this). */
struct msr_window {
	uint32_t base;
	uint32_t count;
};
#define MSR_WINDOWS 4
extern const struct msr_window msr_windows[MSR_WINDOWS];

/* Whether the allow-list lets the guest read (write = false) or write
 * `index`. Pure, for tests and for `kfv surface`. */
bool msr_allowed(uint32_t index, bool write);

/* Per-index counts of denied accesses: a fixed lock-free table like the
 * bus's unclaimed counters (insertion is a CAS on the key; when full,
 * further indices only count in `overflow`). */
#define MSR_DENIED_MAX 256
struct msr_denied_slot {
	_Atomic uint64_t key; /* index + 1; 0 = empty */
	_Atomic uint64_t reads;
	_Atomic uint64_t writes;
};
struct msr_denials {
	struct msr_denied_slot slots[MSR_DENIED_MAX];
	_Atomic uint64_t overflow;
	_Atomic uint64_t reads;
	_Atomic uint64_t writes;
};

/* Counts one denied access (the MSR agent's hot path: no lock, no syscall). */
void msr_denials_count(struct msr_denials *d, uint32_t index, bool write);

struct kvm_msr_filter;

/* Fills `f` (deny by default, one read and one write range per window)
 * with bitmaps in `bitmaps`, which must hold MSR_FILTER_BITMAP_BYTES.
 * Pure, for tests. */
#define MSR_FILTER_BITMAP_BYTES (2U * (0x2000U / 8) * 3U + 2U * (0x100U / 8))
void msr_filter_build(struct kvm_msr_filter *f, uint8_t *bitmaps);

/* Enables KVM_CAP_X86_USER_SPACE_MSR (filter exits only) and installs
 * the filter on the VM. -ENOTSUP when KVM has neither; *what names the
 * step that failed. */
int msr_filter_install(int vm_fd, const char **what) __attribute__((warn_unused_result));

#endif
