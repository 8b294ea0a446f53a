#define _GNU_SOURCE
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../sandbox/lockdown.h"
#include "../vmm/exit_status.h"
#include "../vmm/vm.h"
#include "serial.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */

void console_input_byte(struct console *c, unsigned char byte)
{
	if (c->escape_pending) {
		c->escape_pending = false;
		if (byte == 'x' || byte == 'X') {
			vm_request_stop(c->vm, KFV_EXIT_INTERRUPTED, "console escape (Ctrl-A x)");
			return;
		}
		if (byte != ESCAPE_CHAR)
			return; /* unknown escape: swallow it */
	} else if (byte == ESCAPE_CHAR) {
		c->escape_pending = true;
		return;
	}
	(void)serial_receive(c->serial, &byte, 1);
}

static void *console_thread(void *arg)
{
	struct console *c = arg;
	struct pollfd fds[2] = { { .fd = c->wake_efd, .events = POLLIN }, { .fd = c->in_fd, .events = POLLIN } };

	if (sandbox_thread_role(ROLE_CONSOLE)) {
		vm_request_stop(c->vm, KFV_EXIT_JAIL, "console: cannot install its seccomp filter");
		return NULL;
	}
	while (!vm_stopping(c->vm)) {
		unsigned char buf[SERIAL_RX_FIFO];
		unsigned space = serial_rx_space(c->serial);
		ssize_t n;

		/* A full FIFO means the guest is not reading: wait, do not drop. */
		fds[1].events = space ? POLLIN : 0;
		if (poll(fds, 2, space ? -1 : 10) < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN)
			break;
		if (!(fds[1].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(c->in_fd, buf, space < sizeof(buf) ? space : sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			console_input_byte(c, buf[i]);
	}
	return NULL;
}

int console_start(struct console *c, struct vm *vm, struct serial *serial, int in_fd)
{
	struct termios raw;
	int ret;

	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->serial = serial;
	c->in_fd = in_fd;
	c->wake_efd = -1;
	if (!isatty(in_fd))
		return 0;
	c->wake_efd = eventfd(0, EFD_CLOEXEC);
	if (c->wake_efd < 0)
		return -errno;
	if (tcgetattr(in_fd, &c->saved) == 0) {
		raw = c->saved;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR; /* keep the guest's newlines readable */
		if (tcsetattr(in_fd, TCSANOW, &raw) == 0)
			c->raw = true;
	}
	ret = pthread_create(&c->thread, NULL, console_thread, c);
	if (ret) {
		console_stop(c);
		return -ret;
	}
	c->started = true;
	return 0;
}

void console_stop(struct console *c)
{
	if (c->started) {
		uint64_t one = 1;
		ssize_t r = write(c->wake_efd, &one, sizeof(one));

		(void)r;
		pthread_join(c->thread, NULL);
		c->started = false;
	}
	if (c->raw) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
		c->raw = false;
	}
	if (c->wake_efd >= 0)
		close(c->wake_efd);
	c->wake_efd = -1;
}
