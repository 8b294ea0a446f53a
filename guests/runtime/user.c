#include "runtime/user.h"

#include "runtime/image.h"

uint64_t user_enter_asm(user_fn fn, uint64_t arg, uint64_t user_rsp, uint64_t rflags);

static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16), section(".bss.stack")));

uint64_t user_run(user_fn fn, uint64_t arg)
{
	uint64_t top = (uintptr_t)user_stack + sizeof(user_stack);

	return user_enter_asm(fn, arg, top, RFLAGS_RESERVED | RFLAGS_IOPL3);
}
