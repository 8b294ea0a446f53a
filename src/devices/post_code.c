#include "../vmm/bus.h"
#include "../vmm/vm.h"
#include "legacy.h"

#define POST_CODE_PORT 0x80

static int post_code_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct post_code *pc = opaque;

	(void)offset;
	(void)len;
	atomic_store_explicit(&pc->last, data[0], memory_order_relaxed);
	return IO_HANDLED;
}

static int post_code_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct post_code *pc = opaque;

	(void)offset;
	for (uint32_t i = 0; i < len; i++)
		data[i] = atomic_load_explicit(&pc->last, memory_order_relaxed);
	return IO_HANDLED;
}

static const struct io_ops post_code_ops = { .read = post_code_read, .write = post_code_write };

int post_code_register(struct vm *vm, struct post_code *pc)
{
	atomic_init(&pc->last, 0);
	return bus_register(&vm->pio, POST_CODE_PORT, 1, "post-code", &post_code_ops, pc);
}
