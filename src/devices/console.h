/* The interactive console: when stdin is a terminal, its bytes go to the
 * UART's receive FIFO, and Ctrl-A x ends the run (Ctrl-A Ctrl-A sends one
 * Ctrl-A), as in QEMU. The terminal is restored however the run ends. */
#ifndef KFV_DEVICES_CONSOLE_H
#define KFV_DEVICES_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <termios.h>

struct vm;
struct serial;

struct console {
	struct vm *vm;
	struct serial *serial;
	int in_fd;
	int wake_efd;
	bool started;
	bool raw;
	bool escape_pending;
	struct termios saved;
	pthread_t thread;
};

/* Starts the input thread when in_fd is a terminal; otherwise does nothing
 * and returns 0 (input is then simply not connected). */
int console_start(struct console *c, struct vm *vm, struct serial *serial, int in_fd)
	__attribute__((warn_unused_result));

/* Feeds one byte typed by the user through the escape handling. */
void console_input_byte(struct console *c, unsigned char byte);

/* Stops the thread and restores the terminal; safe if never started. */
void console_stop(struct console *c);

#endif
