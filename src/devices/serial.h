/* A 16550A UART: what Linux's 8250 driver and our guest kit need, with the
 * transmitter writing straight to a host fd and a 16-byte receive FIFO fed
 * by the console. */
#ifndef KFV_DEVICES_SERIAL_H
#define KFV_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define SERIAL_RX_FIFO 16

struct serial {
	struct vm *vm;
	unsigned irq;
	int out_fd;
	pthread_mutex_t lock; /* vCPU threads and the console thread share it */
	uint8_t ier, iir_thri_pending, lcr, mcr, lsr_extra, msr, scr, dll, dlm, fcr;
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
	int irq_level;
	uint64_t tx_bytes;
	uint64_t rx_dropped;
};

int serial_init(struct serial *s, struct vm *vm, uint16_t port, unsigned irq, int out_fd)
	__attribute__((warn_unused_result));

/* Queues bytes from the host side; returns how many fitted in the FIFO. */
unsigned serial_receive(struct serial *s, const uint8_t *buf, unsigned len);

/* Space left in the receive FIFO. */
unsigned serial_rx_space(struct serial *s);

void serial_destroy(struct serial *s);

#endif
