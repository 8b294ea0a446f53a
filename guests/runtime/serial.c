/* 16550 UART, polled. Every register access is a port I/O exit under a
 * VMM, so the driver does the minimum: a fixed init sequence, and one LSR
 * poll per FIFO-full of bytes (THRE set means the whole transmit FIFO is
 * empty; a UART without FIFOs gets a poll per byte). The poll is bounded:
 * a UART that never reports an empty transmitter must not hang the
 * guest. */
#include "runtime/serial.h"

#include <stdint.h>

#include "runtime/io.h"

#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LCR_8N1     0x03
#define LCR_DLAB    0x80
#define FCR_ENABLE  0xc7 /* enable + clear both FIFOs, 14-byte trigger */
#define MCR_DTR_RTS 0x03
#define LSR_THRE    0x20
#define IIR_FIFO_ON 0xc0 /* both bits set: a 16550A with working FIFOs */
#define FIFO_SIZE   16

#define TX_SPIN_MAX 100000
#define LOCK_SPIN_MAX 10000000

static volatile uint32_t console_lock;
static unsigned tx_burst = 1;  /* bytes we may write per THRE */
static unsigned tx_room;       /* bytes we may still write before polling */

void serial_init(void)
{
	outb(COM1_PORT + UART_IER, 0x00);
	outb(COM1_PORT + UART_LCR, LCR_DLAB);
	outb(COM1_PORT + UART_DLL, 0x01); /* 115200 baud */
	outb(COM1_PORT + UART_DLM, 0x00);
	outb(COM1_PORT + UART_LCR, LCR_8N1);
	outb(COM1_PORT + UART_FCR, FCR_ENABLE);
	outb(COM1_PORT + UART_MCR, MCR_DTR_RTS);
	if ((inb(COM1_PORT + UART_IIR) & IIR_FIFO_ON) == IIR_FIFO_ON)
		tx_burst = FIFO_SIZE;
	tx_room = 0;
}

void serial_putc(char c)
{
	if (tx_room == 0) {
		for (unsigned i = 0; i < TX_SPIN_MAX; i++) {
			if (inb(COM1_PORT + UART_LSR) & LSR_THRE)
				break;
			cpu_relax();
		}
		tx_room = tx_burst;
	}
	tx_room--;
	outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	/* A CPU that faults while holding the lock, or a lock that is never
	 * released, must not silence the console: give up waiting after a
	 * while and write anyway. */
	unsigned spins = 0;

	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE)) {
		if (++spins > LOCK_SPIN_MAX)
			break;
		cpu_relax();
	}
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}
