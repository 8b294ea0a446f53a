/* Leaving the guest. The exit code travels through the debug-exit port
 * (0xf4): kfv reports it as its own exit status, QEMU's isa-debug-exit
 * exits with (code << 1) | 1. */
#ifndef GUEST_RUNTIME_EXIT_H
#define GUEST_RUNTIME_EXIT_H

#include <stdint.h>

#define DEBUG_EXIT_PORT 0xf4

/* Exit codes the kit's guests use. */
#define GUEST_EXIT_PASS       0 /* success */
#define GUEST_EXIT_FAIL       1 /* a GUEST_ASSERT/GUEST_CHECK failed */
#define GUEST_EXIT_BAD_BOOT   2 /* unusable boot information or command line */
#define GUEST_EXIT_EXCEPTION  3 /* unexpected exception or interrupt */
#define GUEST_EXIT_NO_FAULT   4 /* fault.elf: the triple fault did not happen */

/* Writes code to the debug-exit port. If the VMM has no such port, asks
 * the i8042 for a reset (0xfe to port 0x64), then parks the CPU. */
__attribute__((noreturn)) void guest_exit(uint8_t code);

#endif
