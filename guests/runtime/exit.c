#include "runtime/exit.h"

#include "runtime/io.h"

#define I8042_CMD_PORT   0x64
#define I8042_CMD_RESET  0xfe

void guest_exit(uint8_t code)
{
	outb(DEBUG_EXIT_PORT, code);
	outb(I8042_CMD_PORT, I8042_CMD_RESET);
	cpu_park();
}
