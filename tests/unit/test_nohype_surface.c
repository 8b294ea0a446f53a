/* NoHype mode without KVM: the exit list agrees with vcpu_handle_exit(),
 * the MSR agent answers #GP and counts, the VM freezes, the MSR filter
 * bitmaps match the allow-list, the CPUID profile masks what it says, and
 * --dedicated-cpus lists parse as documented. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "offline_vm.h"
#include "vmm/cpuid_profile.h"
#include "vmm/exit_status.h"
#include "vmm/msr_filter.h"
#include "vmm/pinning.h"
#include "vmm/surface.h"
#include "vmm/vcpu.h"

static struct offline_vm o;

static int setup(void **state)
{
	(void)state;
	offline_vm_init(&o);
	return 0;
}

/* An exit that carries no access: handled without touching a bus. */
static void fabricate(unsigned reason)
{
	struct kvm_run *run = o.vcpu.run;

	memset(run, 0, sizeof(*run));
	run->exit_reason = reason;
	if (reason == KVM_EXIT_IO) {
		run->io.size = 1;
		run->io.count = 1;
		run->io.port = 0x1234;
		run->io.data_offset = 0x200;
	} else if (reason == KVM_EXIT_MMIO) {
		run->mmio.phys_addr = 0xd0000000;
		run->mmio.len = 4;
	} else if (reason == KVM_EXIT_SYSTEM_EVENT) {
		run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	}
}

static void listed_exits_are_handled_and_others_fail_closed(void **state)
{
	(void)state;
	for (unsigned reason = 0; reason < 64; reason++) {
		offline_vm_init(&o);
		o.vm.surface.cfg.msr_filter = true;
		o.vm.surface.msr_filter_on = true;
		fabricate(reason);
		(void)vcpu_handle_exit(&o.vcpu);
		if (surface_exit_listed(&o.vm, reason))
			assert_int_not_equal(o.vm.stop_status, KFV_EXIT_UNKNOWN_EXIT);
		else
			assert_int_equal(o.vm.stop_status, KFV_EXIT_UNKNOWN_EXIT);
	}
}

static void msr_exits_need_the_filter(void **state)
{
	(void)state;
	assert_false(surface_exit_listed(&o.vm, KVM_EXIT_X86_RDMSR));
	fabricate(KVM_EXIT_X86_RDMSR);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_UNKNOWN_EXIT);
}

static void denied_msr_counted_and_answered_gp(void **state)
{
	struct kvm_run *run = o.vcpu.run;

	(void)state;
	o.vm.surface.cfg.msr_filter = true;
	o.vm.surface.msr_filter_on = true;
	for (int i = 0; i < 3; i++) {
		fabricate(i < 2 ? KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR);
		run->msr.index = 0x4b564d02;
		run->msr.reason = KVM_MSR_EXIT_REASON_FILTER;
		assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
		assert_int_equal(run->msr.error, 1);
	}
	assert_false(vm_stopping(&o.vm));
	assert_int_equal(o.vm.surface.msr.reads, 2);
	assert_int_equal(o.vm.surface.msr.writes, 1);
	for (unsigned i = 0; i < MSR_DENIED_MAX; i++) {
		if (o.vm.surface.msr.slots[i].key == 0x4b564d02 + 1) {
			assert_int_equal(o.vm.surface.msr.slots[i].reads, 2);
			assert_int_equal(o.vm.surface.msr.slots[i].writes, 1);
			return;
		}
	}
	fail_msg("index 0x4b564d02 not in the denial table");
}

static void denial_table_overflows_into_a_counter(void **state)
{
	static struct msr_denials d;

	(void)state;
	for (uint32_t i = 0; i < MSR_DENIED_MAX + 10; i++)
		msr_denials_count(&d, 0x1000 + i, false);
	assert_int_equal(d.overflow, 10);
	assert_int_equal(d.reads, MSR_DENIED_MAX + 10);
}

static void frozen_vm_refuses_slots_vcpus_and_devices(void **state)
{
	struct vcpu extra;
	static const struct io_ops ops;

	(void)state;
	vm_freeze(&o.vm);
	assert_true(o.vm.frozen);
	assert_int_equal(vm_set_memory_slot(&o.vm, 2, 0x100000000ULL, 4096, o.run_page), -EPERM);
	assert_int_equal(vcpu_init(&extra, &o.vm, 1, NULL), -EPERM);
	assert_int_equal(bus_register(&o.vm.pio, 0x500, 1, "late", &ops, NULL), -EPERM);
}

static void allow_list_lies_in_the_windows(void **state)
{
	(void)state;
	for (unsigned i = 0; i < msr_allow_count; i++) {
		const struct msr_allow *a = &msr_allow_list[i];
		bool inside = false;

		assert_true(a->first <= a->last && a->rw && a->why[0]);
		for (unsigned w = 0; w < MSR_WINDOWS; w++)
			if (a->first >= msr_windows[w].base && a->last < msr_windows[w].base + msr_windows[w].count)
				inside = true;
		assert_true(inside);
	}
}

static bool bit(const struct kvm_msr_filter *f, uint32_t index, bool write)
{
	for (unsigned r = 0; r < KVM_MSR_FILTER_MAX_RANGES; r++) {
		const struct kvm_msr_filter_range *range = &f->ranges[r];

		if (!range->nmsrs || !(range->flags & (write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ)))
			continue;
		if (index >= range->base && index - range->base < range->nmsrs) {
			uint32_t i = index - range->base;

			return range->bitmap[i / 8] & (1U << (i % 8));
		}
	}
	return false; /* deny by default */
}

static void filter_bitmaps_match_the_allow_list(void **state)
{
	static uint8_t bitmaps[MSR_FILTER_BITMAP_BYTES];
	struct kvm_msr_filter f;
	static const uint32_t probes[] = { 0x0, 0x10, 0x1b, 0x3a, 0x49, 0x186, 0x277, 0x38f, 0x800, 0x8ff,
					   0x1fff, 0xc0000080, 0xc0000084, 0xc0000103, 0xc0000104, 0xc0010000,
					   0xc0010015, 0xc0010117, 0x4b564d00, 0x4b564d02, 0x40000000 };

	(void)state;
	msr_filter_build(&f, bitmaps);
	assert_int_equal(f.flags, KVM_MSR_FILTER_DEFAULT_DENY);
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		assert_int_equal(bit(&f, probes[i], false), msr_allowed(probes[i], false));
		assert_int_equal(bit(&f, probes[i], true), msr_allowed(probes[i], true));
	}
	assert_true(msr_allowed(0xc0000080, true));
	assert_true(msr_allowed(0x3a, false));
	assert_false(msr_allowed(0x3a, true));      /* FEATURE_CONTROL is read-only */
	assert_false(msr_allowed(0x49, false));     /* PRED_CMD is write-only */
	assert_false(msr_allowed(0x186, false));    /* PMU */
	assert_false(msr_allowed(0x4b564d02, false)); /* async PF */
	assert_false(msr_allowed(0xc0010117, true));  /* VM_HSAVE_PA: nested SVM */
}

static void nohype_profile_masks(void **state)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + 4 * sizeof(t->entries[0]));

	(void)state;
	assert_non_null(t);
	t->nent = 4;
	t->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = 0xffffffff, .edx = 0xffffffff };
	t->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xa, .eax = 0x07300805, .ebx = 1, .edx = 0x603 };
	t->entries[2] = (struct kvm_cpuid_entry2){ .function = 0x40000001, .eax = 0x01007efb };
	t->entries[3] = (struct kvm_cpuid_entry2){ .function = 2, .eax = 0x1234 };
	cpuid_profile_apply(t, CPUID_PROFILE_HOST);
	assert_int_equal(t->entries[1].eax, 0x07300805);
	cpuid_profile_apply(t, CPUID_PROFILE_NOHYPE);
	assert_int_equal(t->entries[0].ecx & (1U << 5), 0);  /* VMX */
	assert_int_equal(t->entries[0].ecx & (1U << 3), 0);  /* MONITOR */
	assert_int_equal(t->entries[0].edx & (1U << 7), 0);  /* MCE */
	assert_int_not_equal(t->entries[0].ecx & (1U << 31), 0); /* hypervisor bit kept */
	assert_int_equal(t->entries[1].eax | t->entries[1].ebx | t->entries[1].edx, 0);
	assert_int_equal(t->entries[2].eax, 0x0100000b); /* clocksource, nop io delay, clocksource2, stable */
	assert_int_equal(t->entries[3].eax, 0x1234);
	free(t);
}

static void dedicated_cpu_lists(void **state)
{
	unsigned cpus[8], n;
	char msg[160];

	(void)state;
	assert_int_equal(pinning_parse("2,3", cpus, 8, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cpus[0], 2);
	assert_int_equal(cpus[1], 3);
	assert_int_equal(pinning_parse("0-2,5", cpus, 8, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 4);
	assert_int_equal(cpus[3], 5);
	assert_int_equal(pinning_parse("1,1", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "listed twice"));
	assert_int_equal(pinning_parse("0-3,2", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("3-1", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("1,", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("a", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("-1", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("1024", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(pinning_parse("0-9", cpus, 8, &n, msg, sizeof(msg)), -EINVAL);
}

static void exit_budget_stops_the_vm(void **state)
{
	(void)state;
	o.vm.surface.cfg.exit_budget = 5;
	for (int i = 0; i < 5; i++) {
		fabricate(KVM_EXIT_INTR);
		assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	}
	fabricate(KVM_EXIT_INTR);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_STOP);
	assert_int_equal(o.vm.stop_status, KFV_EXIT_BUDGET);
	assert_true(surface_peak_rate(&o.vm) >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(listed_exits_are_handled_and_others_fail_closed, setup),
		cmocka_unit_test_setup(msr_exits_need_the_filter, setup),
		cmocka_unit_test_setup(denied_msr_counted_and_answered_gp, setup),
		cmocka_unit_test_setup(denial_table_overflows_into_a_counter, setup),
		cmocka_unit_test_setup(frozen_vm_refuses_slots_vcpus_and_devices, setup),
		cmocka_unit_test_setup(allow_list_lies_in_the_windows, setup),
		cmocka_unit_test_setup(filter_bitmaps_match_the_allow_list, setup),
		cmocka_unit_test_setup(nohype_profile_masks, setup),
		cmocka_unit_test_setup(dedicated_cpu_lists, setup),
		cmocka_unit_test_setup(exit_budget_stops_the_vm, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
