/* KVM's eventfd shortcuts: an ioeventfd turns a guest MMIO write into an
 * eventfd signal without leaving the kernel; an irqfd turns an eventfd
 * write into an interrupt on a GSI. Both return -ENODEV on a VM without a
 * VM fd (unit tests), so callers fall back to exits and KVM_IRQ_LINE. */
#ifndef KFV_VMM_EVENTFD_H
#define KFV_VMM_EVENTFD_H

#include <stdint.h>

struct vm;

/* Creates an eventfd signalled by every guest write of `len` bytes at
 * `addr` (any value). Returns the fd or a negative errno. */
int vm_ioeventfd_add(struct vm *vm, uint64_t addr, uint32_t len) __attribute__((warn_unused_result));

/* Unregisters and closes what vm_ioeventfd_add() gave. */
void vm_ioeventfd_remove(struct vm *vm, int fd, uint64_t addr, uint32_t len);

/* Creates an eventfd that raises `gsi` (edge) when written. Returns the
 * fd or a negative errno. */
int vm_irqfd_add(struct vm *vm, unsigned gsi) __attribute__((warn_unused_result));

void vm_irqfd_remove(struct vm *vm, int fd, unsigned gsi);

#endif
