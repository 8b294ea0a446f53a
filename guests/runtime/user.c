#include "runtime/user.h"

#include "runtime/image.h"

uint64_t user_enter_asm(user_fn fn, uint64_t arg, uint64_t user_rsp, uint64_t rflags);

static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16), section(".bss.stack")));

uint64_t user_run(user_fn fn, uint64_t arg)
{
	uint64_t top = (uintptr_t)user_stack + sizeof(user_stack);

	return user_enter_asm(fn, arg, top, RFLAGS_RESERVED | RFLAGS_IOPL3);
}

#define UD_VECTOR 6

extern const char user_return_int[];
extern const char user_return_fallback[];

bool user_return_trap(struct trap_frame *frame)
{
	if (frame->vector != UD_VECTOR || (frame->cs & 3) != 3)
		return false;
	if (frame->rip != (uintptr_t)user_return_int && frame->rip != (uintptr_t)user_return_fallback)
		return false;
	/* The gate drops whatever is on this stack and resumes user_run(). */
	__asm__ volatile("jmp user_return_gate" : : "D"(frame->rdi) : "memory");
	__builtin_unreachable();
}
