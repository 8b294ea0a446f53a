/* Polled 16550 output on COM1 (0x3f8). Output only: the guests read
 * nothing from the console. */
#ifndef GUEST_RUNTIME_SERIAL_H
#define GUEST_RUNTIME_SERIAL_H

#include <stddef.h>

#define COM1_PORT 0x3f8

/* Programs COM1 for 115200 8N1 with FIFOs on and interrupts off. */
void serial_init(void);

/* Writes one byte, waiting (boundedly) for room in the transmitter. */
void serial_putc(char c);

/* Writes n bytes, holding the console lock so lines from different CPUs
 * do not interleave. */
void serial_write(const char *s, size_t n);

#endif
