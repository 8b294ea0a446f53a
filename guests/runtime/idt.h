/* The IDT: every vector has a stub (isr.S) that ends in trap_dispatch().
 * Exceptions, and any vector nobody registered a handler for, print a
 * register dump on COM1 and exit with GUEST_EXIT_EXCEPTION. Vector 0xff
 * (the LAPIC spurious vector) is ignored; USER_RETURN_VECTOR is the ring-3
 * return gate (user.h). */
#ifndef GUEST_RUNTIME_IDT_H
#define GUEST_RUNTIME_IDT_H

#include <stdint.h>

/* The registers isr_common saves, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

typedef void (*trap_handler_fn)(struct trap_frame *frame);

/* Fills the IDT. BSP only, before idt_load(). */
void idt_init(void);

/* Loads the IDT on the calling CPU. */
void idt_load(void);

/* Routes a vector (32..254) to fn instead of the fatal default. Handlers
 * run with interrupts off and must send their own EOI. */
void idt_set_handler(uint8_t vector, trap_handler_fn fn);

/* Called by isr_common. */
void trap_dispatch(struct trap_frame *frame);

#endif
