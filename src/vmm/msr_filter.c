#include "msr_filter.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

/* What a 64-bit Linux guest (and the guest kit) needs, and nothing it can
 * do without. Anything absent is denied: the guest gets #GP, which Linux's
 * rdmsr_safe()/wrmsr_safe() callers expect for features CPUID does not
 * announce. The CPUID profile (cpuid_profile.c) hides the features whose
 * MSRs are denied here (PMU, MCE, VMX/SVM, KVM PV features but kvm-clock),
 * so a well-behaved guest never asks. Keep docs/nohype.md in step. */
const struct msr_allow msr_allow_list[] = {
	{ 0x00000010, 0x00000010, MSR_RW, "TSC", "time stamp counter; Linux reads and may resync it" },
	{ 0x00000011, 0x00000012, MSR_RW, "KVM_WALL_CLOCK/SYSTEM_TIME", "kvm-clock (legacy MSRs), announced by the profile" },
	{ 0x0000001b, 0x0000001b, MSR_RW, "APIC_BASE", "x(2)APIC enable and base, emulated by the in-kernel LAPIC" },
	{ 0x0000003a, 0x0000003a, MSR_R, "FEATURE_CONTROL", "read at boot to see whether VMX is locked off (it is)" },
	{ 0x0000003b, 0x0000003b, MSR_RW, "TSC_ADJUST", "kept consistent with TSC writes" },
	{ 0x00000048, 0x00000048, MSR_RW, "SPEC_CTRL", "speculation controls (IBRS, STIBP, SSBD): the guest defends itself" },
	{ 0x00000049, 0x00000049, MSR_W, "PRED_CMD", "IBPB barrier: write-only" },
	{ 0x0000008b, 0x0000008b, MSR_RW, "BIOS_SIGN_ID", "microcode revision, read by Linux's errata checks (writes are a no-op in KVM)" },
	{ 0x000000fe, 0x000000fe, MSR_R, "MTRRCAP", "MTRR capabilities, read-only" },
	{ 0x0000010a, 0x0000010a, MSR_R, "ARCH_CAPABILITIES", "which CPU bugs need mitigations" },
	{ 0x0000010b, 0x0000010b, MSR_W, "FLUSH_CMD", "L1D flush: write-only" },
	{ 0x00000174, 0x00000176, MSR_RW, "SYSENTER_CS/ESP/EIP", "32-bit system calls (compat tasks)" },
	{ 0x000001a0, 0x000001a0, MSR_RW, "MISC_ENABLE", "fast strings, MONITOR enable: read at boot, emulated by KVM" },
	{ 0x000001d9, 0x000001d9, MSR_RW, "DEBUGCTL", "read and cleared at boot; KVM keeps LBRs off" },
	{ 0x00000200, 0x0000020f, MSR_RW, "MTRR_PHYSBASE/MASK0-7", "variable MTRRs (KVM supports eight pairs)" },
	{ 0x00000250, 0x00000250, MSR_RW, "MTRR_FIX64K", "fixed-range MTRRs" },
	{ 0x00000258, 0x00000259, MSR_RW, "MTRR_FIX16K", "fixed-range MTRRs" },
	{ 0x00000268, 0x0000026f, MSR_RW, "MTRR_FIX4K", "fixed-range MTRRs" },
	{ 0x00000277, 0x00000277, MSR_RW, "PAT", "page attribute table, programmed at boot" },
	{ 0x000002ff, 0x000002ff, MSR_RW, "MTRR_DEF_TYPE", "default memory type" },
	{ 0x000006e0, 0x000006e0, MSR_RW, "TSC_DEADLINE", "LAPIC timer in TSC-deadline mode (in-kernel LAPIC)" },
	{ 0x00000800, 0x000008ff, MSR_RW, "x2APIC", "in-kernel LAPIC in x2APIC mode (KVM does not filter these)" },
	{ 0xc0000080, 0xc0000080, MSR_RW, "EFER", "long mode, NX, SYSCALL enable" },
	{ 0xc0000081, 0xc0000084, MSR_RW, "STAR/LSTAR/CSTAR/SFMASK", "SYSCALL entry points and flag mask" },
	{ 0xc0000100, 0xc0000102, MSR_RW, "FS/GS/KERNEL_GS_BASE", "segment bases, per-CPU data, SWAPGS" },
	{ 0xc0000103, 0xc0000103, MSR_RW, "TSC_AUX", "RDTSCP/RDPID CPU number" },
	{ 0xc0010015, 0xc0010015, MSR_R, "HWCR", "AMD: read at boot (TSC frequency, SMM lock)" },
	{ 0xc001011f, 0xc001011f, MSR_RW, "VIRT_SPEC_CTRL", "AMD: virtualized SSBD, the guest defends itself" },
	{ 0xc0011029, 0xc0011029, MSR_R, "DE_CFG", "AMD: LFENCE serialisation check" },
	{ 0x4b564d00, 0x4b564d01, MSR_RW, "KVM_WALL_CLOCK/SYSTEM_TIME_NEW", "kvm-clock, announced by the profile" },
};
const unsigned msr_allow_count = sizeof(msr_allow_list) / sizeof(msr_allow_list[0]);

const struct msr_window msr_windows[MSR_WINDOWS] = {
	{ 0x00000000, 0x2000 }, /* architectural MSRs, x2APIC */
	{ 0xc0000000, 0x2000 }, /* AMD64 architectural (EFER, SYSCALL, segment bases) */
	{ 0xc0010000, 0x2000 }, /* AMD model-specific */
	{ 0x4b564d00, 0x100 },  /* KVM paravirtual */
};

bool msr_allowed(uint32_t index, bool write)
{
	for (unsigned i = 0; i < msr_allow_count; i++) {
		const struct msr_allow *a = &msr_allow_list[i];

		if (index >= a->first && index <= a->last)
			return (a->rw & (write ? MSR_W : MSR_R)) != 0;
	}
	return false;
}

void msr_denials_count(struct msr_denials *d, uint32_t index, bool write)
{
	uint64_t key = (uint64_t)index + 1;

	atomic_fetch_add_explicit(write ? &d->writes : &d->reads, 1, memory_order_relaxed);
	for (unsigned n = 0; n < MSR_DENIED_MAX; n++) {
		struct msr_denied_slot *s = &d->slots[(index + n) % MSR_DENIED_MAX];
		uint64_t cur = atomic_load_explicit(&s->key, memory_order_acquire);

		if (cur == 0) {
			uint64_t empty = 0;

			if (atomic_compare_exchange_strong(&s->key, &empty, key))
				cur = key;
			else
				cur = empty; /* another vCPU took it: is it ours? */
		}
		if (cur == key) {
			atomic_fetch_add_explicit(write ? &s->writes : &s->reads, 1, memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&d->overflow, 1, memory_order_relaxed);
}

void msr_filter_build(struct kvm_msr_filter *f, uint8_t *bitmaps)
{
	unsigned r = 0;

	memset(f, 0, sizeof(*f));
	memset(bitmaps, 0, MSR_FILTER_BITMAP_BYTES);
	f->flags = KVM_MSR_FILTER_DEFAULT_DENY;
	for (unsigned w = 0; w < MSR_WINDOWS; w++) {
		const struct msr_window *win = &msr_windows[w];

		for (unsigned dir = 0; dir < 2; dir++) {
			struct kvm_msr_filter_range *range = &f->ranges[r++];

			range->flags = dir ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ;
			range->base = win->base;
			range->nmsrs = win->count;
			range->bitmap = bitmaps;
			for (uint32_t i = 0; i < win->count; i++)
				if (msr_allowed(win->base + i, dir != 0))
					bitmaps[i / 8] |= (uint8_t)(1U << (i % 8));
			bitmaps += win->count / 8;
		}
	}
}

int msr_filter_install(int vm_fd, const char **what)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { KVM_MSR_EXIT_REASON_FILTER },
	};
	uint8_t bitmaps[MSR_FILTER_BITMAP_BYTES]; /* KVM copies them */
	struct kvm_msr_filter filter;

	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
	    ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) <= 0) {
		*what = "KVM_CAP_X86_USER_SPACE_MSR/KVM_CAP_X86_MSR_FILTER";
		return -ENOTSUP;
	}
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		*what = "enabling KVM_CAP_X86_USER_SPACE_MSR";
		return -errno;
	}
	msr_filter_build(&filter, bitmaps);
	if (ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0) {
		*what = "KVM_X86_SET_MSR_FILTER";
		return -errno;
	}
	return 0;
}
