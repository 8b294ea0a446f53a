/* A VM with buses and one vCPU but no KVM behind it, so exit handling and
 * devices can be driven with fabricated exits. */
#ifndef KFV_TEST_OFFLINE_VM_H
#define KFV_TEST_OFFLINE_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <string.h>

#include "vmm/vm.h"

struct offline_vm {
	struct vm vm;
	struct vcpu vcpu;
	_Alignas(4096) unsigned char run_page[4096];
};

static inline void offline_vm_init(struct offline_vm *o)
{
	memset(o, 0, sizeof(*o));
	o->vm.kvm_fd = -1;
	o->vm.vm_fd = -1;
	o->vm.mem.memfd = -1;
	o->vm.run_size = sizeof(o->run_page);
	o->vm.ncpus = 1;
	o->vm.vcpus = &o->vcpu;
	atomic_init(&o->vm.stop_status, -1);
	pthread_mutex_init(&o->vm.stop_lock, NULL);
	bus_init(&o->vm.pio, BUS_PIO);
	bus_init(&o->vm.mmio, BUS_MMIO);
	o->vcpu.vm = &o->vm;
	o->vcpu.fd = -1;
	o->vcpu.run = (struct kvm_run *)o->run_page;
}

/* Fabricates a port I/O exit with `count` items of `size` bytes at data_offset 0x200. */
static inline unsigned char *offline_io_exit(struct offline_vm *o, int out, uint16_t port, uint8_t size,
					     uint32_t count)
{
	struct kvm_run *run = o->vcpu.run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	run->io.port = port;
	run->io.size = size;
	run->io.count = count;
	run->io.data_offset = 0x200;
	return o->run_page + 0x200;
}

#endif
