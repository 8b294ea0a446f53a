#define _GNU_SOURCE
#include "surface.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../defense/telemetry.h"
#include "../util/log.h"
#include "vcpu.h"
#include "vm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define NS_PER_SEC 1000000000ULL

/* Keep in step with vcpu_handle_exit(): tests/unit/test_nohype_surface.c
 * feeds every reason below and a few others through it. */
const struct surface_exit surface_exits[] = {
	{ KVM_EXIT_IO, "port I/O: to the port bus (ranges below); other ports are counted, read all-ones", false },
	{ KVM_EXIT_MMIO, "MMIO: to the MMIO bus (ranges below); other addresses are counted, read all-ones", false },
	{ KVM_EXIT_X86_RDMSR, "MSR read not on the allow-list: counted per index, the guest gets #GP", true },
	{ KVM_EXIT_X86_WRMSR, "MSR write not on the allow-list: counted per index, the guest gets #GP", true },
	{ KVM_EXIT_INTR, "a signal kicked the vCPU (stop request): no guest data, continue", false },
	{ KVM_EXIT_IRQ_WINDOW_OPEN, "interrupt window: no guest data, continue", false },
	{ KVM_EXIT_HLT, "halt with nothing left to wake the vCPU: stops the VM (81)", false },
	{ KVM_EXIT_SHUTDOWN, "triple fault: stops the VM (81)", false },
	{ KVM_EXIT_FAIL_ENTRY, "VM entry failed: stops the VM (82)", false },
	{ KVM_EXIT_INTERNAL_ERROR, "KVM internal error or emulation failure: stops the VM (82)", false },
	{ KVM_EXIT_SYSTEM_EVENT, "power-off (0), reset (80) or crash (81): stops the VM", false },
};
const unsigned surface_exit_count = sizeof(surface_exits) / sizeof(surface_exits[0]);

bool surface_exit_listed(const struct vm *vm, unsigned reason)
{
	for (unsigned i = 0; i < surface_exit_count; i++)
		if (surface_exits[i].reason == reason)
			return !surface_exits[i].needs_msr_filter || vm->surface.cfg.msr_filter;
	return false;
}

int surface_setup_vm(struct vm *vm, const char **what)
{
	struct vm_surface *s = &vm->surface;
	int ret;

	if (s->cfg.msr_filter) {
		ret = msr_filter_install(vm->vm_fd, what);
		if (ret)
			return ret;
		s->msr_filter_on = true;
		s->msr_agent = agent_register(AGENT_KIND_MSR, "msr", 0);
	}
	if (s->cfg.disable_exits) {
		/* Only on dedicated CPUs: a halted vCPU then spins on its own core
		 * instead of giving it back, which is the point of dedicating it. */
		int offered = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS);
		uint32_t want = (uint32_t)(offered > 0 ? offered : 0) &
				(KVM_X86_DISABLE_EXITS_HLT | KVM_X86_DISABLE_EXITS_PAUSE);
		struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_DISABLE_EXITS, .args = { want } };

		if (want && ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) == 0)
			s->disabled_exits = want;
		else
			log_info("KVM does not disable HLT/PAUSE exits here (offered %#x)", offered > 0 ? offered : 0);
	}
	return 0;
}

void surface_handle_msr(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	bool write = run->exit_reason == KVM_EXIT_X86_WRMSR;

	msr_denials_count(&vcpu->vm->surface.msr, run->msr.index, write);
	if (vcpu->vm->surface.msr_agent) {
		agent_count(vcpu->vm->surface.msr_agent, 8);
		agent_reject(vcpu->vm->surface.msr_agent);
	}
	if (!write)
		run->msr.data = 0;
	run->msr.error = 1; /* KVM injects #GP on the next KVM_RUN */
	LOG_RATELIMITED(LOG_INFO, "vcpu %u: denied %s of MSR %#x", vcpu->id, write ? "wrmsr" : "rdmsr",
			run->msr.index);
}

static void peak_update(struct vm_surface *s, uint64_t n)
{
	uint64_t peak = atomic_load_explicit(&s->peak_rate, memory_order_relaxed);

	while (n > peak && !atomic_compare_exchange_weak(&s->peak_rate, &peak, n))
		;
}

bool surface_account_exit(struct vm *vm)
{
	struct vm_surface *s = &vm->surface;
	uint64_t now = monotonic_ns();
	uint64_t start = atomic_load_explicit(&s->window_start_ns, memory_order_relaxed);
	uint64_t n;

	if (now - start >= NS_PER_SEC && atomic_compare_exchange_strong(&s->window_start_ns, &start, now))
		peak_update(s, atomic_exchange(&s->window_exits, 0));
	n = atomic_fetch_add_explicit(&s->window_exits, 1, memory_order_relaxed) + 1;
	return s->cfg.exit_budget && n > s->cfg.exit_budget;
}

uint64_t surface_peak_rate(const struct vm *vm)
{
	uint64_t peak = atomic_load(&vm->surface.peak_rate);
	uint64_t open = atomic_load(&vm->surface.window_exits);

	return open > peak ? open : peak;
}

int surface_lock_memory(void *host, size_t size)
{
	if (madvise(host, size, MADV_POPULATE_WRITE) < 0) {
		if (errno != EINVAL)
			return -errno;
		/* Kernels before 5.14: touch each page (the memfd reads as zeros). */
		for (size_t off = 0; off < size; off += 4096)
			((volatile uint8_t *)host)[off] = ((volatile uint8_t *)host)[off];
	}
	if (mlock(host, size) < 0)
		return -errno;
	return 0;
}

/* Adds the values of the named counters in one binary stats fd. */
int surface_read_stats_fd(int fd, struct surface_kvm_stats *st)
{
	struct kvm_stats_header h;
	size_t desc_size;
	char *descs = NULL;
	int ret = -EIO;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.num_desc > 4096 || h.name_size > 256)
		return -EIO;
	desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(desc_size * h.num_desc);
	if (!descs)
		return -ENOMEM;
	if (pread(fd, descs, desc_size * h.num_desc, h.desc_offset) != (ssize_t)(desc_size * h.num_desc))
		goto out;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * desc_size);
		uint64_t *dst = NULL, v;

		if (!strncmp(d->name, "exits", h.name_size))
			dst = &st->exits;
		else if (!strncmp(d->name, "halt_exits", h.name_size))
			dst = &st->halt_exits;
		else if (!strncmp(d->name, "io_exits", h.name_size))
			dst = &st->io_exits;
		else if (!strncmp(d->name, "mmio_exits", h.name_size))
			dst = &st->mmio_exits;
		else if (!strncmp(d->name, "irq_exits", h.name_size))
			dst = &st->irq_exits;
		if (dst && pread(fd, &v, sizeof(v), (off_t)(h.data_offset + d->offset)) == (ssize_t)sizeof(v))
			*dst += v;
	}
	ret = 0;
out:
	free(descs);
	return ret;
}

int surface_kvm_stats(const struct vm *vm, struct surface_kvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int fd, ret;

		if (vm->vcpus[i].fd < 0)
			return -EBADF;
		fd = ioctl(vm->vcpus[i].fd, KVM_GET_STATS_FD, 0);
		if (fd < 0)
			return errno == ENOTTY || errno == EINVAL ? -ENOTSUP : -errno;
		ret = surface_read_stats_fd(fd, st);
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

static void print_bus(FILE *out, const struct bus *bus, const char *space, int width)
{
	fprintf(out, "%s ranges handled by kfv (each behind its agent):\n", space);
	if (!bus->nr_ranges)
		fprintf(out, "  none\n");
	for (unsigned i = 0; i < bus->nr_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];
		char name[AGENT_NAME_MAX + 1];

		/* The name lives in the telemetry page: bounded like any reader's. */
		fprintf(out, "  0x%0*llx-0x%0*llx  %s\n", width, (unsigned long long)r->base, width,
			(unsigned long long)(r->base + r->size - 1), telemetry_agent_name(r->agent, name));
	}
}

static void print_config(FILE *out, const struct vm *vm)
{
	const struct surface_config *c = &vm->surface.cfg;

	fprintf(out, "configuration: %u vCPU%s, nohype %s, cpuid profile %s, msr filter %s, vCPUs %s, "
		     "exit budget ", vm->ncpus, vm->ncpus == 1 ? "" : "s", c->nohype ? "on" : "off",
		cpuid_profile_name(c->cpuid_profile), c->msr_filter ? "on" : "off",
		c->ndedicated ? "pinned" : "not pinned");
	if (c->exit_budget)
		fprintf(out, "%llu/s\n", (unsigned long long)c->exit_budget);
	else
		fprintf(out, "none\n");
	if (c->ndedicated) {
		fprintf(out, "dedicated host CPUs:");
		for (unsigned i = 0; i < c->ndedicated && i < vm->ncpus; i++)
			fprintf(out, " vcpu%u->cpu%u", i, c->dedicated[i]);
		fprintf(out, "%s\n", c->disable_exits ? " (HLT and PAUSE exits disabled where KVM offers it)" : "");
	}
}

void surface_print(FILE *out, const struct vm *vm)
{
	const struct surface_config *c = &vm->surface.cfg;

	print_config(out, vm);
	fprintf(out, "exit reasons a guest can cause (any other stops the VM, status 83):\n");
	for (unsigned i = 0; i < surface_exit_count; i++)
		if (surface_exit_listed(vm, surface_exits[i].reason))
			fprintf(out, "  %-16s %s\n", kvm_exit_reason_name(surface_exits[i].reason),
				surface_exits[i].verdict);
	print_bus(out, &vm->pio, "port", 4);
	fprintf(out, "port ranges handled inside KVM (no exit to kfv):\n"
		     "  0x0020-0x0021  pic-master\n  0x0040-0x0043  pit\n  0x0061-0x0061  pit-speaker-gate\n"
		     "  0x00a0-0x00a1  pic-slave\n  0x04d0-0x04d1  elcr\n");
	fprintf(out, "any other port: exits to kfv as unclaimed\n");
	print_bus(out, &vm->mmio, "mmio", 8);
	fprintf(out, "mmio ranges handled inside KVM (no exit to kfv):\n"
		     "  0xfec00000-0xfec000ff  ioapic\n  0xfee00000-0xfee00fff  lapic (per vCPU)\n");
	fprintf(out, "any other address outside RAM: exits to kfv as unclaimed\n");
	if (c->msr_filter) {
		fprintf(out, "msr allow-list (%u ranges; deny by default: a denied access exits to kfv and gets #GP):\n",
			msr_allow_count);
		for (unsigned i = 0; i < msr_allow_count; i++) {
			const struct msr_allow *a = &msr_allow_list[i];

			fprintf(out, "  0x%08x-0x%08x %s%s %-30s %s\n", a->first, a->last,
				a->rw & MSR_R ? "r" : "-", a->rw & MSR_W ? "w" : "-", a->name, a->why);
		}
	} else {
		fprintf(out, "msrs: no filter: KVM's own MSR emulation answers every index (unknown ones #GP)\n");
	}
	fprintf(out, "cpuid: profile %s, answered inside KVM from a table fixed at start (see kfv cpuid)",
		cpuid_profile_name(c->cpuid_profile));
	if (c->cpuid_profile == CPUID_PROFILE_NOHYPE) {
		fprintf(out, "; hidden leaves");
		for (unsigned i = 0; i < cpuid_nohype_hidden_leaf_count; i++)
			fprintf(out, " %#x", cpuid_nohype_hidden_leaves[i]);
		fprintf(out, "; hidden features");
		for (unsigned i = 0; i < cpuid_nohype_rule_count; i++)
			fprintf(out, "%s %s", i ? "," : "", cpuid_nohype_rules[i].what);
	}
	fprintf(out, "\n");
}

static void print_msr_denials(FILE *out, const struct msr_denials *d)
{
	unsigned shown = 0;

	fprintf(out, "kfv: denied msr accesses: %llu (rdmsr %llu, wrmsr %llu)",
		(unsigned long long)(atomic_load(&d->reads) + atomic_load(&d->writes)),
		(unsigned long long)atomic_load(&d->reads), (unsigned long long)atomic_load(&d->writes));
	for (unsigned i = 0; i < MSR_DENIED_MAX && shown < 8; i++) {
		uint64_t key = atomic_load(&d->slots[i].key);

		if (!key)
			continue;
		fprintf(out, "%s %#llx (r%llu w%llu)", shown ? "," : " at", (unsigned long long)(key - 1),
			(unsigned long long)atomic_load(&d->slots[i].reads),
			(unsigned long long)atomic_load(&d->slots[i].writes));
		shown++;
	}
	if (atomic_load(&d->overflow))
		fprintf(out, " (+%llu at untracked indices)", (unsigned long long)atomic_load(&d->overflow));
	fprintf(out, "\n");
}

void surface_print_summary(FILE *out, const struct vm *vm)
{
	struct surface_kvm_stats st;

	if (vm->surface.msr_filter_on)
		print_msr_denials(out, &vm->surface.msr);
	fprintf(out, "kfv: peak exits to kfv: %llu/s", (unsigned long long)surface_peak_rate(vm));
	if (vm->surface.cfg.exit_budget)
		fprintf(out, " (budget %llu/s)", (unsigned long long)vm->surface.cfg.exit_budget);
	fprintf(out, "\n");
	if (surface_kvm_stats(vm, &st) == 0)
		fprintf(out, "kfv: kvm exits: %llu (halt %llu, io %llu, mmio %llu, irq %llu)\n",
			(unsigned long long)st.exits, (unsigned long long)st.halt_exits,
			(unsigned long long)st.io_exits, (unsigned long long)st.mmio_exits,
			(unsigned long long)st.irq_exits);
}
