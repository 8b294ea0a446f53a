#ifndef KFV_VMM_LAPIC_H
#define KFV_VMM_LAPIC_H

/* Wires LINT0 as ExtINT (the legacy PIC) and LINT1 as NMI, as firmware
 * would, so a guest that relies on the MP table's local interrupt entries
 * finds the LAPIC programmed to match them. */
int lapic_init_lints(int vcpu_fd) __attribute__((warn_unused_result));

#endif
