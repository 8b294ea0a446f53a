#include "runtime/traps.h"

static trap_exception_hook_fn exception_hook;

void trap_set_exception_hook(trap_exception_hook_fn fn)
{
	__atomic_store_n(&exception_hook, fn, __ATOMIC_RELEASE);
}

bool trap_try_exception_hook(struct trap_frame *frame)
{
	trap_exception_hook_fn fn = __atomic_load_n(&exception_hook, __ATOMIC_ACQUIRE);

	return fn && fn(frame);
}
