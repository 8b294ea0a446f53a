/* The i8042 and its keyboard as Linux's i8042 and atkbd drivers probe
 * them (drivers/input/serio/i8042.c, drivers/input/keyboard/atkbd.c), and
 * the Ctrl-Alt-Del that carries a shutdown request. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "boot/layout.h"
#include "devices/i8042.h"

#define DATA KFV_I8042_DATA_PORT
#define CMD  KFV_I8042_CMD_PORT
#define OBF  0x01

static struct i8042 k;

static int setup(void **state)
{
	(void)state;
	i8042_init(&k, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	i8042_destroy(&k);
	return 0;
}

/* What i8042_command() does: wait for an empty input buffer, write, then
 * collect `n` answers, each one announced by OBF. */
static void command(uint8_t cmd, int param, const uint8_t *want, unsigned n)
{
	assert_int_equal(i8042_read_port(&k, CMD) & 0x02, 0);
	i8042_write_port(&k, CMD, cmd);
	if (param >= 0)
		i8042_write_port(&k, DATA, (uint8_t)param);
	for (unsigned i = 0; i < n; i++) {
		assert_true(i8042_read_port(&k, CMD) & OBF);
		assert_int_equal(i8042_read_port(&k, DATA), want[i]);
	}
	assert_false(i8042_read_port(&k, CMD) & OBF);
}

static void keyboard(uint8_t byte, const uint8_t *want, unsigned n)
{
	i8042_write_port(&k, DATA, byte);
	for (unsigned i = 0; i < n; i++) {
		assert_true(i8042_read_port(&k, CMD) & OBF);
		assert_int_equal(i8042_read_port(&k, DATA), want[i]);
	}
	assert_false(i8042_read_port(&k, CMD) & OBF);
}

static void linux_probe_finds_a_keyboard_and_no_mouse(void **state)
{
	static const uint8_t self_ok[] = { 0x55 }, kbd_ok[] = { 0x00 }, aux_bad[] = { 0x01 };
	static const uint8_t ack[] = { 0xfa }, id[] = { 0xfa, 0xab, 0x41 }, reset[] = { 0xfa, 0xaa };
	uint8_t ctr;

	(void)state;
	command(0xaa, -1, self_ok, 1);
	command(0xab, -1, kbd_ok, 1);
	/* the command byte a BIOS leaves: interrupts, translation, no mouse */
	i8042_write_port(&k, CMD, 0x20);
	ctr = i8042_read_port(&k, DATA);
	assert_int_equal(ctr & 0x61, 0x61);
	command(0x60, ctr & ~0x01, NULL, 0);
	command(0x20, -1, (const uint8_t[]){ (uint8_t)(ctr & ~0x01) }, 1);
	/* the AUX loopback answers nothing and the AUX test fails: no port */
	command(0xd3, 0x5a, NULL, 0);
	command(0xa9, -1, aux_bad, 1);
	command(0x60, ctr, NULL, 0);
	/* atkbd: reset-disable, get ID, set LEDs, typematic, enable */
	keyboard(0xf5, ack, 1);
	keyboard(0xf2, id, 3);
	keyboard(0xed, ack, 1);
	keyboard(0x00, ack, 1);
	keyboard(0xf3, ack, 1);
	keyboard(0x20, ack, 1);
	keyboard(0xf4, ack, 1);
	keyboard(0xff, reset, 2);
	keyboard(0xee, (const uint8_t[]){ 0xee }, 1);
}

static void ctrl_alt_del_in_the_set_the_guest_reads(void **state)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
	uint8_t ctr;

	(void)state;
	assert_int_equal(i8042_send_ctrl_alt_del(&k), 0);
	for (unsigned i = 0; i < sizeof(set1); i++)
		assert_int_equal(i8042_read_port(&k, DATA), set1[i]);
	assert_false(i8042_read_port(&k, CMD) & OBF);
	/* without translation the keyboard's own set 2 */
	i8042_write_port(&k, CMD, 0x20);
	ctr = i8042_read_port(&k, DATA);
	command(0x60, ctr & ~0x40, NULL, 0);
	assert_int_equal(i8042_send_ctrl_alt_del(&k), 0);
	for (unsigned i = 0; i < sizeof(set2); i++)
		assert_int_equal(i8042_read_port(&k, DATA), set2[i]);
}

static void ctrl_alt_del_refused_when_nobody_listens(void **state)
{
	(void)state;
	i8042_write_port(&k, DATA, 0xf5); /* the driver disabled the keyboard */
	(void)i8042_read_port(&k, DATA);
	assert_int_equal(i8042_send_ctrl_alt_del(&k), -ENODEV);
	i8042_write_port(&k, DATA, 0xf4);
	(void)i8042_read_port(&k, DATA);
	/* a guest that never reads: the queue fills, nothing overflows */
	assert_int_equal(i8042_send_ctrl_alt_del(&k), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(&k), 0); /* 16 bytes: two fit */
	assert_int_equal(i8042_send_ctrl_alt_del(&k), -EBUSY);
	assert_int_equal(k.count, I8042_QUEUE);
	for (unsigned i = 0; i < 100; i++)
		i8042_write_port(&k, DATA, 0xf2); /* answers beyond the queue are dropped */
	assert_int_equal(k.count, I8042_QUEUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(linux_probe_finds_a_keyboard_and_no_mouse, setup, teardown),
		cmocka_unit_test_setup_teardown(ctrl_alt_del_in_the_set_the_guest_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(ctrl_alt_del_refused_when_nobody_listens, setup, teardown),
	};

	return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
