#include "eventfd.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm.h"

int vm_ioeventfd_add(struct vm *vm, uint64_t addr, uint32_t len)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len };
	int fd, err;

	if (vm->vm_fd < 0)
		return -ENODEV;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	io.fd = fd;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void vm_ioeventfd_remove(struct vm *vm, int fd, uint64_t addr, uint32_t len)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd,
				    .flags = KVM_IOEVENTFD_FLAG_DEASSIGN };

	if (fd < 0)
		return;
	if (vm->vm_fd >= 0)
		(void)ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
	close(fd);
}

int vm_irqfd_add(struct vm *vm, unsigned gsi)
{
	struct kvm_irqfd irq = { .gsi = gsi };
	int fd, err;

	if (vm->vm_fd < 0)
		return -ENODEV;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	irq.fd = (uint32_t)fd;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irq) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void vm_irqfd_remove(struct vm *vm, int fd, unsigned gsi)
{
	struct kvm_irqfd irq = { .fd = (uint32_t)fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };

	if (fd < 0)
		return;
	if (vm->vm_fd >= 0)
		(void)ioctl(vm->vm_fd, KVM_IRQFD, &irq);
	close(fd);
}
