#include "irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "vm.h"

int vm_set_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level line = { .irq = gsi, .level = (uint32_t)level };

	if (vm->vm_fd < 0)
		return 0;
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &line) < 0 ? -errno : 0;
}
