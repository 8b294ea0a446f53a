#include "serial.h"

#include <string.h>
#include <unistd.h>

#include "../vmm/bus.h"
#include "../vmm/irq.h"
#include "../vmm/vm.h"

enum {
	REG_DATA = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7,
};

#define LCR_DLAB      0x80
#define IER_RDI       0x01
#define IER_THRI      0x02
#define IIR_NONE      0x01
#define IIR_THRI      0x02
#define IIR_RDI       0x04
#define IIR_FIFO_ON   0xc0
#define FCR_ENABLE    0x01
#define FCR_CLEAR_RX  0x02
#define LSR_DR        0x01
#define LSR_OE        0x02
#define LSR_THRE      0x20
#define LSR_TEMT      0x40
#define MCR_OUT2      0x08
#define MCR_LOOP      0x10
#define MSR_DCD       0x80
#define MSR_DSR       0x20
#define MSR_CTS       0x10

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->iir_thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

static void serial_update_irq(struct serial *s)
{
	int level = (serial_iir(s) & IIR_NONE) ? 0 : 1;

	if (level != s->irq_level) {
		s->irq_level = level;
		(void)vm_set_irq_line(s->vm, s->irq, level);
	}
}

static unsigned rx_push(struct serial *s, const uint8_t *buf, unsigned len)
{
	unsigned n = 0;

	for (; n < len && s->rx_count < SERIAL_RX_FIFO; n++) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = buf[n];
		s->rx_count++;
	}
	if (n < len) {
		s->lsr_extra |= LSR_OE;
		s->rx_dropped += len - n;
	}
	return n;
}

static void transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP) {
		(void)rx_push(s, &byte, 1);
	} else {
		s->tx_bytes++;
		/* Output the guest floods us with must not stall the vCPU; a
		 * failed write loses the byte, never the VM. */
		ssize_t r = write(s->out_fd, &byte, 1);

		(void)r;
	}
	s->iir_thri_pending = 1; /* the byte left at once: THR is empty again */
}

static uint8_t read_reg(struct serial *s, uint64_t reg)
{
	uint8_t v = 0;

	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_count--;
		}
		return v;
	case REG_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case REG_IIR_FCR:
		v = serial_iir(s);
		/* reading IIR acknowledges a THR-empty interrupt */
		if ((v & 0x0f) == IIR_THRI)
			s->iir_thri_pending = 0;
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0) | s->lsr_extra;
		s->lsr_extra = 0;
		return v;
	case REG_MSR:
		if (s->mcr & MCR_LOOP) /* loopback: outputs wired back to inputs */
			return (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
					 ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		return MSR_DCD | MSR_DSR | MSR_CTS;
	default:
		return s->scr;
	}
}

static void write_reg(struct serial *s, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case REG_DATA:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* enabling THRI with an empty THR raises it at once */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->iir_thri_pending = 1;
			s->ier = v & 0x0f;
		}
		break;
	case REG_IIR_FCR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		break;
	case REG_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static int serial_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;

	if (len != 1)
		return IO_UNHANDLED;
	pthread_mutex_lock(&s->lock);
	data[0] = read_reg(s, offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return IO_HANDLED;
}

static int serial_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;

	if (len != 1)
		return IO_UNHANDLED;
	pthread_mutex_lock(&s->lock);
	write_reg(s, offset, data[0]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return IO_HANDLED;
}

static const struct io_ops serial_ops = { .read = serial_read, .write = serial_write };

int serial_init(struct serial *s, struct vm *vm, uint16_t port, unsigned irq, int out_fd)
{
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	s->irq = irq;
	s->out_fd = out_fd;
	s->lcr = 0x03; /* 8N1 */
	s->mcr = MCR_OUT2;
	pthread_mutex_init(&s->lock, NULL);
	/* Essential: the console stays up whatever the policy denies, so the
	 * operator keeps seeing the guest. */
	return bus_register_ex(&vm->pio, port, 8, "serial", &serial_ops, s, AGENT_ESSENTIAL);
}

unsigned serial_receive(struct serial *s, const uint8_t *buf, unsigned len)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = rx_push(s, buf, len);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned serial_rx_space(struct serial *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}
