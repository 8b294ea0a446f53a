#include "runtime/msr.h"

#include "runtime/traps.h"

/* The two instructions the fixup may skip; each is 2 bytes (0f 32, 0f 30).
 * %r8 is the fault flag the handler sets in the saved frame. */
extern const char msr_rdmsr_insn[], msr_wrmsr_insn[];
__asm__(".pushsection .text\n"
	".globl msr_read_safe_asm\n"
	"msr_read_safe_asm:\n"         /* edi = index, rsi = out; returns eax 0 / -1 */
	"	movl %edi, %ecx\n"
	"	xorl %r8d, %r8d\n"
	".globl msr_rdmsr_insn\n"
	"msr_rdmsr_insn:\n"
	"	rdmsr\n"
	"	testl %r8d, %r8d\n"
	"	jnz 1f\n"
	"	movl %eax, (%rsi)\n"
	"	movl %edx, 4(%rsi)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"1:	movl $-1, %eax\n"
	"	ret\n"
	".globl msr_write_safe_asm\n"
	"msr_write_safe_asm:\n"        /* edi = index, rsi = value */
	"	movl %edi, %ecx\n"
	"	movl %esi, %eax\n"
	"	movq %rsi, %rdx\n"
	"	shrq $32, %rdx\n"
	"	xorl %r8d, %r8d\n"
	".globl msr_wrmsr_insn\n"
	"msr_wrmsr_insn:\n"
	"	wrmsr\n"
	"	negl %r8d\n"               /* 0 or -1 */
	"	movl %r8d, %eax\n"
	"	ret\n"
	".popsection\n");

int msr_read_safe_asm(uint32_t index, uint64_t *val);
int msr_write_safe_asm(uint32_t index, uint64_t val);

static uint64_t gp_count;

int msr_read_safe(uint32_t index, uint64_t *val)
{
	return msr_read_safe_asm(index, val);
}

int msr_write_safe(uint32_t index, uint64_t val)
{
	return msr_write_safe_asm(index, val);
}

bool msr_gp_fixup(struct trap_frame *frame)
{
	if (frame->vector != 13 ||
	    (frame->rip != (uintptr_t)msr_rdmsr_insn && frame->rip != (uintptr_t)msr_wrmsr_insn))
		return false;
	frame->rip += 2;
	frame->r8 = 1;
	__atomic_fetch_add(&gp_count, 1, __ATOMIC_RELAXED);
	return true;
}

void msr_safe_init(void)
{
	trap_set_exception_hook(msr_gp_fixup);
}

uint64_t msr_gp_count(void)
{
	return __atomic_load_n(&gp_count, __ATOMIC_RELAXED);
}
