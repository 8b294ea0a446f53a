/* The i8042 keyboard controller and its PS/2 keyboard (ports 0x60/0x64,
 * IRQ 1): the guest's reset line and the path of the operator's graceful
 * shutdown request (Ctrl-Alt-Del). See i8042.c and docs/boot.md. */
#ifndef KFV_DEVICES_I8042_H
#define KFV_DEVICES_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct i8042;

#define I8042_QUEUE 16 /* bytes waiting for the guest; more are dropped */

struct i8042_port {
	struct i8042 *dev;
	uint16_t port;
};

struct i8042 {
	struct vm *vm; /* NULL in unit tests: no interrupt line, no stop */
	pthread_mutex_t lock; /* vCPU threads and the shutdown request share it */
	uint8_t out[I8042_QUEUE];
	unsigned head, count;
	uint8_t last;        /* what an empty output buffer reads */
	uint8_t ctr;         /* the controller's command byte */
	uint8_t status;      /* STS_CMD only; OBF is derived from count */
	uint8_t pending_cmd; /* a controller command awaiting its data byte */
	uint8_t kbd_param;   /* a keyboard command awaiting its argument */
	bool kbd_enabled;
	int irq_level;
	struct i8042_port ports[2];
};

/* Sets up the controller as a PC BIOS leaves it. */
void i8042_init(struct i8042 *k, struct vm *vm);

/* i8042_init() and both ports on the VM's port bus, as essential
 * resources (a policy deny leaves them alone). */
int i8042_register(struct i8042 *k, struct vm *vm) __attribute__((warn_unused_result));

/* One guest access, port KFV_I8042_DATA_PORT or KFV_I8042_CMD_PORT. */
uint8_t i8042_read_port(struct i8042 *k, uint16_t port);
void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t v);

/* Queues Ctrl-Alt-Del, pressed and released, for the guest's keyboard
 * driver. -ENODEV when no driver has enabled the keyboard, -EBUSY when the
 * guest has not read what is queued already. */
int i8042_send_ctrl_alt_del(struct i8042 *k);

void i8042_destroy(struct i8042 *k);

#endif
