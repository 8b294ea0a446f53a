/* The GDT every CPU uses (selectors in image.h) and the BSP's TSS. */
#ifndef GUEST_RUNTIME_GDT_H
#define GUEST_RUNTIME_GDT_H

#include <stdint.h>

#include "runtime/image.h"

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

extern uint64_t gdt[GDT_ENTRIES];

/* Installs the TSS descriptor (rsp0 = the trap stack, no I/O bitmap) and
 * loads TR. BSP only; call once. */
void gdt_init_bsp(void);

/* The ring-0 stack the CPU switches to on a trap from ring 3. */
uint64_t tss_rsp0(void);

#endif
