#include "lapic.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static uint32_t lvt_get(const struct kvm_lapic_state *s, unsigned reg)
{
	uint32_t v;

	memcpy(&v, &s->regs[reg], sizeof(v));
	return v;
}

static void lvt_set_mode(struct kvm_lapic_state *s, unsigned reg, uint32_t mode)
{
	/* delivery mode lives in bits 10:8 */
	uint32_t v = (lvt_get(s, reg) & ~0x700U) | (mode << 8);

	memcpy(&s->regs[reg], &v, sizeof(v));
}

int lapic_init_lints(int vcpu_fd)
{
	struct kvm_lapic_state state;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &state) < 0)
		return -errno;
	lvt_set_mode(&state, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lvt_set_mode(&state, APIC_LVT_LINT1, APIC_MODE_NMI);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &state) < 0)
		return -errno;
	return 0;
}
