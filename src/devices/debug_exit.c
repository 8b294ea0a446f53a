#include "../boot/layout.h"
#include "../vmm/bus.h"
#include "../vmm/vm.h"
#include "legacy.h"

static int debug_exit_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;

	(void)offset;
	(void)len;
	vm_request_stop(vm, data[0], "guest wrote %u to the debug-exit port", data[0]);
	return IO_HANDLED;
}

static int debug_exit_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
	return IO_HANDLED;
}

static const struct io_ops debug_exit_ops = { .read = debug_exit_read, .write = debug_exit_write };

int debug_exit_register(struct vm *vm)
{
	/* Essential: a denied guest must still be able to end its run. */
	return bus_register_ex(&vm->pio, KFV_DEBUG_EXIT_PORT, 4, "debug-exit", &debug_exit_ops, vm, AGENT_ESSENTIAL);
}
