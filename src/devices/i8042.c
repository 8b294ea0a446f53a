/* The i8042 keyboard controller with a PS/2 keyboard behind it: enough of
 * both for Linux's i8042 and atkbd drivers to find a keyboard (controller
 * self test, command byte, keyboard ID and acknowledges), so that the
 * operator's graceful-shutdown request can reach the guest as Ctrl-Alt-Del,
 * as Firecracker's SendCtrlAltDel does. There is no AUX (mouse) port: its
 * tests fail, so the driver does not register one. Command 0xfe (pulse the
 * reset line) ends the run with KFV_EXIT_GUEST_RESET.
 *
 * Each byte the controller hands the guest raises IRQ 1 as an edge: the
 * line drops when the guest reads the byte and rises again for the next,
 * as on a PC, because the I/O APIC pin is edge-triggered. */
#include "i8042.h"

#include <errno.h>
#include <string.h>

#include "../boot/layout.h"
#include "../vmm/bus.h"
#include "../vmm/exit_status.h"
#include "../vmm/irq.h"
#include "../vmm/vm.h"

/* Status register (port 0x64 read) */
#define STS_OBF      0x01 /* output buffer full */
#define STS_SYS      0x04 /* system flag: passed self test */
#define STS_CMD      0x08 /* last write was to the command port */
#define STS_UNLOCKED 0x10 /* keyboard not inhibited */

/* Controller command byte */
#define CTR_KBDINT  0x01
#define CTR_SYS     0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

/* Controller commands (port 0x64 write) */
#define CMD_READ_CTR    0x20
#define CMD_WRITE_CTR   0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE  0xa8
#define CMD_AUX_TEST    0xa9
#define CMD_SELF_TEST   0xaa
#define CMD_KBD_TEST    0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE  0xae
#define CMD_READ_OUTP   0xd0
#define CMD_WRITE_OUTP  0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX   0xd4
#define CMD_RESET_CPU   0xfe

#define SELF_TEST_OK    0x55
#define AUX_TEST_FAILED 0x01 /* "clock line stuck low": no mouse port */

/* Keyboard commands (port 0x60 write) and answers */
#define KBD_SET_LEDS  0xed
#define KBD_ECHO      0xee
#define KBD_SCAN_SET  0xf0
#define KBD_GET_ID    0xf2
#define KBD_TYPEMATIC 0xf3
#define KBD_ENABLE    0xf4
#define KBD_DISABLE   0xf5
#define KBD_RESET     0xff
#define KBD_ACK       0xfa
#define KBD_BAT_OK    0xaa

static void update_irq(struct i8042 *k)
{
	int level = k->count > 0 && (k->ctr & CTR_KBDINT);

	if (level != k->irq_level) {
		k->irq_level = level;
		if (k->vm)
			(void)vm_set_irq_line(k->vm, KFV_I8042_IRQ, level);
	}
}

static bool queue(struct i8042 *k, uint8_t byte)
{
	if (k->count == I8042_QUEUE)
		return false; /* a guest that never reads loses the newest bytes */
	k->out[(k->head + k->count) % I8042_QUEUE] = byte;
	k->count++;
	return true;
}

static void keyboard_byte(struct i8042 *k, uint8_t v)
{
	if (k->kbd_param) { /* the argument of ED, F0 or F3 */
		uint8_t cmd = k->kbd_param;

		k->kbd_param = 0;
		(void)queue(k, KBD_ACK);
		if (cmd == KBD_SCAN_SET && v == 0)
			(void)queue(k, 2); /* "which set": set 2 */
		return;
	}
	switch (v) {
	case KBD_SET_LEDS:
	case KBD_SCAN_SET:
	case KBD_TYPEMATIC:
		k->kbd_param = v;
		(void)queue(k, KBD_ACK);
		break;
	case KBD_ECHO:
		(void)queue(k, KBD_ECHO);
		break;
	case KBD_GET_ID: /* an MF2 keyboard */
		(void)queue(k, KBD_ACK);
		(void)queue(k, 0xab);
		(void)queue(k, (k->ctr & CTR_XLATE) ? 0x41 : 0x83);
		break;
	case KBD_RESET:
		k->kbd_enabled = true;
		(void)queue(k, KBD_ACK);
		(void)queue(k, KBD_BAT_OK);
		break;
	case KBD_ENABLE:
		k->kbd_enabled = true;
		(void)queue(k, KBD_ACK);
		break;
	case KBD_DISABLE:
		k->kbd_enabled = false;
		(void)queue(k, KBD_ACK);
		break;
	default: /* defaults, typematic modes, resend: all acknowledged */
		(void)queue(k, KBD_ACK);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	k->status &= (uint8_t)~STS_CMD;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case CMD_WRITE_OUTP:
		if (!(v & 0x01) && k->vm) /* bit 0 is the CPU's reset line, active low */
			vm_request_stop(k->vm, KFV_EXIT_GUEST_RESET,
					"guest requested a reset through the i8042 output port");
		break;
	case CMD_WRITE_KBD_OBUF:
		(void)queue(k, v);
		break;
	case CMD_WRITE_AUX_OBUF: /* no AUX port: the loopback test must fail */
	case CMD_WRITE_AUX:
		break;
	default:
		keyboard_byte(k, v);
		break;
	}
}

static void command_write(struct i8042 *k, uint8_t v)
{
	k->status |= STS_CMD;
	k->pending_cmd = 0;
	switch (v) {
	case CMD_READ_CTR:
		(void)queue(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending_cmd = v;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE: /* there is nothing to enable */
		break;
	case CMD_AUX_TEST:
		(void)queue(k, AUX_TEST_FAILED);
		break;
	case CMD_SELF_TEST:
		(void)queue(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		(void)queue(k, 0x00);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP: /* reset line high, A20 on */
		(void)queue(k, 0x03);
		break;
	case CMD_RESET_CPU:
		if (k->vm)
			vm_request_stop(k->vm, KFV_EXIT_GUEST_RESET, "guest requested a reset through the i8042");
		break;
	default: /* other pulses, vendor commands: ignored */
		break;
	}
}

static uint8_t data_read(struct i8042 *k)
{
	uint8_t v;

	if (!k->count)
		return k->last; /* an empty buffer reads the last byte again */
	v = k->out[k->head];
	k->head = (k->head + 1) % I8042_QUEUE;
	k->count--;
	k->last = v;
	/* The line drops with OBF; the next byte raises a fresh edge. */
	if (k->irq_level && k->vm) {
		k->irq_level = 0;
		(void)vm_set_irq_line(k->vm, KFV_I8042_IRQ, 0);
	}
	return v;
}

uint8_t i8042_read_port(struct i8042 *k, uint16_t port)
{
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	if (port == KFV_I8042_DATA_PORT)
		v = data_read(k);
	else
		v = (uint8_t)(k->status | STS_SYS | STS_UNLOCKED | (k->count ? STS_OBF : 0));
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

void i8042_write_port(struct i8042 *k, uint16_t port, uint8_t v)
{
	pthread_mutex_lock(&k->lock);
	if (port == KFV_I8042_DATA_PORT)
		data_write(k, v);
	else
		command_write(k, v);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	/* Make codes then break codes, in the set the guest reads: set 1 when
	 * the controller translates (the command byte's XLATE bit), else set 2. */
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
	const uint8_t *seq;
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	if (k->ctr & CTR_XLATE) {
		seq = set1;
		n = sizeof(set1);
	} else {
		seq = set2;
		n = sizeof(set2);
	}
	if (!k->kbd_enabled || (k->ctr & CTR_KBDDIS))
		ret = -ENODEV; /* no driver has taken the keyboard */
	else if (I8042_QUEUE - k->count < n)
		ret = -EBUSY;
	else
		for (size_t i = 0; i < n; i++)
			(void)queue(k, seq[i]);
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return ret;
}

static int i8042_io_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042_port *p = opaque;

	(void)offset;
	memset(data, 0xff, len);
	if (len == 1)
		data[0] = i8042_read_port(p->dev, p->port);
	return IO_HANDLED;
}

static int i8042_io_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042_port *p = opaque;

	(void)offset;
	if (len == 1)
		i8042_write_port(p->dev, p->port, data[0]);
	return IO_HANDLED;
}

static const struct io_ops i8042_ops = { .read = i8042_io_read, .write = i8042_io_write };

void i8042_init(struct i8042 *k, struct vm *vm)
{
	memset(k, 0, sizeof(*k));
	k->vm = vm;
	/* What a PC BIOS leaves: interrupts on, translation on, no mouse. */
	k->ctr = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	k->kbd_enabled = true;
	pthread_mutex_init(&k->lock, NULL);
	k->ports[0] = (struct i8042_port){ .dev = k, .port = KFV_I8042_DATA_PORT };
	k->ports[1] = (struct i8042_port){ .dev = k, .port = KFV_I8042_CMD_PORT };
}

int i8042_register(struct i8042 *k, struct vm *vm)
{
	int ret;

	i8042_init(k, vm);
	/* Essential: a guest the policy has denied the port bus can still
	 * reset itself and still hear the operator's shutdown request. */
	ret = bus_register_ex(&vm->pio, KFV_I8042_DATA_PORT, 1, "i8042-data", &i8042_ops, &k->ports[0],
			      AGENT_ESSENTIAL);
	if (ret)
		return ret;
	return bus_register_ex(&vm->pio, KFV_I8042_CMD_PORT, 1, "i8042-cmd", &i8042_ops, &k->ports[1],
			       AGENT_ESSENTIAL);
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
