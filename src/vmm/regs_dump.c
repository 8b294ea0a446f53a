#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vcpu.h"

static void dump_segment(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s sel=%04x base=%016llx limit=%08x type=%x dpl=%u p=%u l=%u db=%u\n", name,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->present, s->l, s->db);
}

void vcpu_dump_registers(const struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (vcpu->fd < 0 || ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "kfv: vcpu %u: registers unavailable\n", vcpu->id);
		return;
	}
	fprintf(stderr, "kfv: vcpu %u registers:\n", vcpu->id);
	fprintf(stderr, "  rip=%016llx rflags=%016llx rsp=%016llx rbp=%016llx\n",
		(unsigned long long)r.rip, (unsigned long long)r.rflags, (unsigned long long)r.rsp,
		(unsigned long long)r.rbp);
	fprintf(stderr, "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
		(unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx);
	fprintf(stderr, "  rsi=%016llx rdi=%016llx r8 =%016llx r9 =%016llx\n",
		(unsigned long long)r.rsi, (unsigned long long)r.rdi, (unsigned long long)r.r8,
		(unsigned long long)r.r9);
	fprintf(stderr, "  r10=%016llx r11=%016llx r12=%016llx r13=%016llx\n",
		(unsigned long long)r.r10, (unsigned long long)r.r11, (unsigned long long)r.r12,
		(unsigned long long)r.r13);
	fprintf(stderr, "  r14=%016llx r15=%016llx\n", (unsigned long long)r.r14, (unsigned long long)r.r15);
	fprintf(stderr, "  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n",
		(unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		(unsigned long long)s.cr4, (unsigned long long)s.efer);
	dump_segment("cs", &s.cs);
	dump_segment("ss", &s.ss);
	dump_segment("ds", &s.ds);
	fprintf(stderr, "  gdt base=%016llx limit=%04x idt base=%016llx limit=%04x\n",
		(unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base, s.idt.limit);
}
