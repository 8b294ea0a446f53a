#ifndef KFV_VMM_IRQ_H
#define KFV_VMM_IRQ_H

struct vm;

/* Drives a level-triggered GSI on the in-kernel PIC/IOAPIC. A VM without a
 * VM fd (unit tests) accepts and ignores it. */
int vm_set_irq_line(struct vm *vm, unsigned gsi, int level);

#endif
