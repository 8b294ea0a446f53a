#include <string.h>

#include "../boot/layout.h"
#include "../vmm/bus.h"
#include "../vmm/exit_status.h"
#include "../vmm/vm.h"
#include "legacy.h"

#define I8042_CMD_RESET_CPU 0xfe

static int i8042_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	/* an idle controller: no byte pending, input buffer empty */
	memset(data, 0, len);
	return IO_HANDLED;
}

static int i8042_data_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	(void)data;
	(void)len;
	return IO_HANDLED;
}

static int i8042_cmd_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct vm *vm = opaque;

	(void)offset;
	if (len == 1 && data[0] == I8042_CMD_RESET_CPU)
		vm_request_stop(vm, KFV_EXIT_GUEST_RESET, "guest requested a reset through the i8042");
	return IO_HANDLED;
}

static const struct io_ops i8042_data_ops = { .read = i8042_read, .write = i8042_data_write };
static const struct io_ops i8042_cmd_ops = { .read = i8042_read, .write = i8042_cmd_write };

int i8042_register(struct vm *vm)
{
	int ret = bus_register(&vm->pio, KFV_I8042_DATA_PORT, 1, "i8042-data", &i8042_data_ops, NULL);

	if (ret)
		return ret;
	return bus_register(&vm->pio, KFV_I8042_CMD_PORT, 1, "i8042-cmd", &i8042_cmd_ops, vm);
}
