#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/serial.h"
#include "offline_vm.h"
#include "vmm/vcpu.h"

static struct offline_vm o;
static struct serial s;
static int pipefd[2];

static int setup(void **state)
{
	(void)state;
	offline_vm_init(&o);
	assert_int_equal(pipe2(pipefd, O_NONBLOCK), 0);
	assert_int_equal(serial_init(&s, &o.vm, 0x3f8, 4, pipefd[1]), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	serial_destroy(&s);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static void outb(uint16_t port, uint8_t v)
{
	offline_io_exit(&o, 1, port, 1, 1)[0] = v;
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
}

static uint8_t inb(uint16_t port)
{
	unsigned char *d = offline_io_exit(&o, 0, port, 1, 1);

	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	return d[0];
}

static void transmit_reaches_host(void **state)
{
	char buf[16] = { 0 };

	(void)state;
	assert_true(inb(0x3fd) & 0x20); /* THR empty */
	outb(0x3f8, 'h');
	outb(0x3f8, 'i');
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	assert_int_equal(s.tx_bytes, 2);
}

static void divisor_latch_does_not_transmit(void **state)
{
	char buf[4];

	(void)state;
	outb(0x3fb, 0x83); /* DLAB on */
	outb(0x3f8, 0x01);
	outb(0x3f9, 0x00);
	assert_int_equal(inb(0x3f8), 0x01);
	outb(0x3fb, 0x03);
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), -1);
	assert_int_equal(inb(0x3fb), 0x03);
}

static void receive_and_interrupt_ids(void **state)
{
	(void)state;
	assert_int_equal(inb(0x3fa) & 0x0f, 0x01); /* nothing pending */
	outb(0x3f9, 0x01);                         /* receive interrupt on */
	assert_int_equal(serial_receive(&s, (const uint8_t *)"ok", 2), 2);
	assert_int_equal(s.irq_level, 1);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x04);
	assert_true(inb(0x3fd) & 0x01);
	assert_int_equal(inb(0x3f8), 'o');
	assert_int_equal(inb(0x3f8), 'k');
	assert_false(inb(0x3fd) & 0x01);
	assert_int_equal(s.irq_level, 0);

	outb(0x3f9, 0x02); /* THR-empty interrupt fires at once */
	assert_int_equal(inb(0x3fa) & 0x0f, 0x02);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x01); /* reading IIR acknowledged it */
}

static void fifo_overrun_is_reported_not_overflowed(void **state)
{
	uint8_t many[64];

	(void)state;
	memset(many, 'x', sizeof(many));
	assert_int_equal(serial_receive(&s, many, sizeof(many)), SERIAL_RX_FIFO);
	assert_int_equal(serial_rx_space(&s), 0);
	assert_int_equal(s.rx_dropped, sizeof(many) - SERIAL_RX_FIFO);
	assert_true(inb(0x3fd) & 0x02); /* overrun error */
	assert_false(inb(0x3fd) & 0x02); /* cleared by reading LSR */
}

static void loopback_for_probing_drivers(void **state)
{
	char buf[4];

	(void)state;
	outb(0x3fc, 0x1a); /* loop + OUT2 + RTS, what Linux's 8250 probe writes */
	assert_int_equal(inb(0x3fe) & 0xf0, 0x90);
	outb(0x3f8, 'L');
	assert_int_equal(read(pipefd[0], buf, sizeof(buf)), -1); /* nothing left the UART */
	assert_int_equal(inb(0x3f8), 'L');
}

static void wide_access_is_unclaimed(void **state)
{
	(void)state;
	offline_io_exit(&o, 0, 0x3f8, 2, 1);
	assert_int_equal(vcpu_handle_exit(&o.vcpu), VCPU_CONTINUE);
	assert_int_equal(o.vm.pio.unclaimed_total, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(transmit_reaches_host, setup, teardown),
		cmocka_unit_test_setup_teardown(divisor_latch_does_not_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(receive_and_interrupt_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(fifo_overrun_is_reported_not_overflowed, setup, teardown),
		cmocka_unit_test_setup_teardown(loopback_for_probing_drivers, setup, teardown),
		cmocka_unit_test_setup_teardown(wide_access_is_unclaimed, setup, teardown),
	};

	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
