#include "runtime/idt.h"

#include <stddef.h>

#include "runtime/exit.h"
#include "runtime/image.h"
#include "runtime/io.h"
#include "runtime/printf.h"
#include "runtime/traps.h"
#include "runtime/user.h"
#include "runtime/user_io.h"

#define GATE_INTR      0x8e /* present, DPL 0, 64-bit interrupt gate */
#define GATE_INTR_USER 0xee /* present, DPL 3 */
#define SPURIOUS_VECTOR 0xff
#define ISR_STUB_SIZE  16

struct __attribute__((packed)) idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};

extern const char isr_stubs[];
extern const char user_return_gate[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_handler_fn handlers[256];

static const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
	"reserved", "reserved", "reserved", "reserved", "reserved", "reserved",
	"#HV injection", "#VC VMM communication", "#SX security", "reserved",
};

static void set_gate(unsigned vector, const void *target, uint8_t type)
{
	uint64_t addr = (uintptr_t)target;

	idt[vector] = (struct idt_gate){
		.offset_lo = (uint16_t)addr,
		.selector = SEL_CODE64,
		.ist = 0,
		.type = type,
		.offset_mid = (uint16_t)(addr >> 16),
		.offset_hi = (uint32_t)(addr >> 32),
	};
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		set_gate(v, isr_stubs + v * ISR_STUB_SIZE, GATE_INTR);
	set_gate(USER_RETURN_VECTOR, user_return_gate, GATE_INTR_USER);
}

void idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = { sizeof(idt) - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}

void idt_set_handler(uint8_t vector, trap_handler_fn fn)
{
	if (vector >= 32 && vector != SPURIOUS_VECTOR && vector != USER_RETURN_VECTOR)
		handlers[vector] = fn;
}

static uint32_t this_apic_id(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

static __attribute__((noreturn)) void fatal_trap(const struct trap_frame *f)
{
	const char *what = f->vector < 32 ? exception_names[f->vector] : "unexpected interrupt";

	printf("kfv-guest: FATAL %s (vector %lu) on apic id %u, error 0x%lx\n"
	       "kfv-guest:   rip 0x%016lx cs 0x%lx rflags 0x%lx rsp 0x%016lx ss 0x%lx\n"
	       "kfv-guest:   cr2 0x%016lx cr3 0x%016lx\n"
	       "kfv-guest:   rax 0x%016lx rbx 0x%016lx rcx 0x%016lx rdx 0x%016lx\n"
	       "kfv-guest:   rsi 0x%016lx rdi 0x%016lx rbp 0x%016lx r8  0x%016lx\n"
	       "kfv-guest:   r9  0x%016lx r10 0x%016lx r11 0x%016lx r12 0x%016lx\n"
	       "kfv-guest:   r13 0x%016lx r14 0x%016lx r15 0x%016lx\n",
	       what, f->vector, this_apic_id(), f->error, f->rip, f->cs, f->rflags, f->rsp, f->ss,
	       read_cr2(), read_cr3(), f->rax, f->rbx, f->rcx,
	       f->rdx, f->rsi, f->rdi, f->rbp, f->r8, f->r9, f->r10, f->r11, f->r12, f->r13,
	       f->r14, f->r15);
	guest_exit(GUEST_EXIT_EXCEPTION);
}

void trap_dispatch(struct trap_frame *frame)
{
	if (frame->vector == SPURIOUS_VECTOR)
		return;
	if (frame->vector < 256 && handlers[frame->vector]) {
		handlers[frame->vector](frame);
		return;
	}
	if (user_return_trap(frame) || user_io_emulate(frame))
		return; /* ring-3 in/out on a hypervisor that ignores IOPL */
	if (frame->vector < 32 && trap_try_exception_hook(frame))
		return; /* a guest that provoked it on purpose (traps.h) */
	fatal_trap(frame);
}
