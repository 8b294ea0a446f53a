#define _GNU_SOURCE
#include "../../sandbox/lockdown.h"
#include "mmio.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../../boot/layout.h"
#include "../../defense/telemetry.h"
#include "../../util/log.h"
#include "../../vmm/bus.h"
#include "../../vmm/eventfd.h"
#include "../../vmm/irq.h"
#include "../../vmm/vm.h"
#include "../compromise_sim.h"
#include "virtio.h"

_Static_assert(KFV_VIRTIO_MMIO_BASE == 0xd0000000ULL, "virtio_mmio_base() and layout.h disagree");

/* Register offsets (§4.2.2). */
enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008, REG_VENDOR_ID = 0x00c,
	REG_DEV_FEATURES = 0x010, REG_DEV_FEATURES_SEL = 0x014,
	REG_DRV_FEATURES = 0x020, REG_DRV_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_INT_STATUS = 0x060, REG_INT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LO = 0x080, REG_QUEUE_DESC_HI = 0x084,
	REG_QUEUE_DRIVER_LO = 0x090, REG_QUEUE_DRIVER_HI = 0x094,
	REG_QUEUE_DEVICE_LO = 0x0a0, REG_QUEUE_DEVICE_HI = 0x0a4,
	REG_SHM_SEL = 0x0ac, REG_SHM_LEN_LO = 0x0b0, REG_SHM_LEN_HI = 0x0b4,
	REG_SHM_BASE_LO = 0x0b8, REG_SHM_BASE_HI = 0x0bc, REG_QUEUE_RESET = 0x0c0,
	REG_CONFIG_GEN = 0x0fc, REG_CONFIG = 0x100,
};

#define MAGIC   0x74726976 /* "virt" */
#define VERSION 2
#define DRIVER_STATUS_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | \
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)

#define DENY_RECHECK_NS 100000000ULL /* 100 ms */

static struct virtio_mmio *registry[VIRTIO_MMIO_MAX_DEVS];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* The transport adds what it implements for every device: modern
 * virtio only, and event-index notification suppression. */
static uint64_t offered(const struct virtio_mmio *t)
{
	return t->ops->features | VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
}

static void refuse(struct virtio_mmio *t, const char *what, uint64_t off)
{
	atomic_fetch_add_explicit(&t->stats.bad_register, 1, memory_order_relaxed);
	if (t->agent)
		agent_reject(t->agent);
	LOG_RATELIMITED(LOG_WARN, "%s: refused %s at +%#llx (status %#x)", t->name, what,
			(unsigned long long)off, t->status);
}

static void raise_irq(struct virtio_mmio *t, uint32_t bits)
{
	t->int_status |= bits;
	if (t->irq_fd >= 0) {
		uint64_t one = 1;

		if (write(t->irq_fd, &one, sizeof(one)) == sizeof(one))
			return;
	}
	/* An edge on the I/O APIC pin, as the DSDT describes it. */
	(void)vm_set_irq_line(t->vm, t->gsi, 1);
	(void)vm_set_irq_line(t->vm, t->gsi, 0);
}

static void set_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	atomic_fetch_add_explicit(&t->stats.needs_reset, 1, memory_order_relaxed);
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

static void device_reset(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		memset(&t->vq[i], 0, sizeof(t->vq[i]));
		t->vq[i].max_size = i < t->ops->nr_queues ? t->ops->queue_max : 0;
		t->requeued[i] = false;
		t->polled_avail[i] = 0; /* a new ring starts at index 0 */
	}
	t->status = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	t->int_status = 0;
	t->irq_pending = false;
	if (t->timer_fd >= 0) {
		struct itimerspec off = { { 0, 0 }, { 0, 0 } };

		(void)timerfd_settime(t->timer_fd, 0, &off, NULL);
	}
	if (t->ops->reset)
		t->ops->reset(t->dev);
	atomic_fetch_add_explicit(&t->stats.resets, 1, memory_order_relaxed);
}

/* AGENT_RESET, written by the orchestrator on the queues' agent or on the
 * register window's, is carried out as "device needs reset" (virtio 1.2
 * §2.1.2): DEVICE_NEEDS_RESET, a configuration change interrupt when
 * DRIVER_OK is set, and no queue served until the driver writes 0 to
 * Status; then it can set the device up again. A device the driver has
 * not started (status 0) is in its reset state already. Called with the
 * lock held at every processing point: the MMIO handlers, each worker
 * wake-up or inline notify, and each pop. */
static void take_agent_reset(struct virtio_mmio *t)
{
	bool asked = false;

	if (t->vq_agent && agent_take_reset(t->vq_agent))
		asked = true;
	if (t->agent && agent_take_reset(t->agent))
		asked = true;
	if (!asked)
		return;
	atomic_fetch_add_explicit(&t->stats.agent_resets, 1, memory_order_relaxed);
	log_warn("%s: reset asked for by the orchestrator%s", t->name,
		 t->status ? ": device needs reset" : " (not in use)");
	if (t->status)
		set_needs_reset(t);
}

/* Serves the queues; the caller holds the lock. */
static void process_locked(struct virtio_mmio *t)
{
	take_agent_reset(t);
	if ((t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		t->ops->process(t, t->dev);
	else
		virtio_mmio_pause_extra(t); /* DRIVER_OK notifies (kick) and resumes it */
	if (t->irq_pending) {
		t->irq_pending = false;
		raise_irq(t, VIRTIO_MMIO_INT_VRING);
	}
}

static void kick(struct virtio_mmio *t)
{
	uint64_t one = 1;

	atomic_fetch_add_explicit(&t->stats.notifies, 1, memory_order_relaxed);
	if (t->thread_started && write(t->kick_fd, &one, sizeof(one)) == sizeof(one))
		return;
	process_locked(t); /* no worker: serve on the vCPU thread */
}

bool virtio_mmio_pop(struct virtio_mmio *t, unsigned qi, enum vq_dir dir, struct vq_chain **out)
{
	struct virtq *q = &t->vq[qi];
	int ret;

	if (qi >= t->ops->nr_queues)
		return false;
	for (;;) {
		bool denied;

		/* A flood keeps the device in this loop: a reset must not wait
		 * for the queue to run dry. */
		take_agent_reset(t);
		if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			return false;
		denied = agent_action(t->vq_agent) == AGENT_DENY;
		if (denied && ((t->ops->deny_holds >> qi) & 1)) {
			/* Nothing may wake the device when the orchestrator lifts
			 * the deny (the driver has nothing new to notify about):
			 * look again now and then. */
			virtio_mmio_retry_after(t, DENY_RECHECK_NS);
			return false;
		}
		ret = virtq_pop(q, &t->vm->mem, virtio_mmio_has(t, VIRTIO_F_INDIRECT_DESC), dir, &t->chain);
		if (ret == VQ_CHAIN) {
			uint64_t bytes = t->chain.readable_bytes + t->chain.writable_bytes;

			if (!t->requeued[qi])
				agent_count(t->vq_agent, bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes);
			t->requeued[qi] = false;
			if (!denied) {
				*out = &t->chain;
				return true;
			}
			/* Denied: answered at once with an error, never served. */
			agent_reject(t->vq_agent);
			atomic_fetch_add_explicit(&t->stats.denied, 1, memory_order_relaxed);
			virtio_mmio_complete(t, qi, t->chain.head,
					     t->ops->refuse ? t->ops->refuse(t->dev, qi, &t->chain) : 0);
			continue;
		}
		t->requeued[qi] = false;
		if (ret == VQ_EMPTY)
			return false;
		atomic_fetch_add_explicit(&t->stats.refused[-ret], 1, memory_order_relaxed);
		agent_anomaly(t->vq_agent);
		if (t->agent)
			agent_reject(t->agent);
		LOG_RATELIMITED(LOG_WARN, "%s: queue %u: refused a descriptor chain (%s)%s", t->name, qi,
				vq_error_name(ret), ret < VQ_E_FATAL ? ", device needs reset" : "");
		if (ret < VQ_E_FATAL) {
			set_needs_reset(t);
			return false;
		}
		/* The chain is consumed: hand it back empty, then go on. */
		virtio_mmio_complete(t, qi, t->chain.head, 0);
	}
}

void virtio_mmio_complete(struct virtio_mmio *t, unsigned qi, uint16_t head, uint32_t len)
{
	struct virtq *q = &t->vq[qi];

	if (virtq_push(q, &t->vm->mem, head, len)) {
		set_needs_reset(t);
		return;
	}
	if (virtq_should_notify(q, &t->vm->mem))
		t->irq_pending = true;
}

void virtio_mmio_unpop(struct virtio_mmio *t, unsigned qi)
{
	if (qi < t->ops->nr_queues) {
		t->vq[qi].last_avail--;
		t->requeued[qi] = true;
	}
}

void virtio_mmio_throttle(struct virtio_mmio *t, unsigned qi, uint64_t ns)
{
	virtio_mmio_unpop(t, qi);
	atomic_fetch_add_explicit(&t->stats.throttled, 1, memory_order_relaxed);
	agent_throttled(t->vq_agent);
	virtio_mmio_retry_after(t, ns);
}

void virtio_mmio_retry_after(struct virtio_mmio *t, uint64_t ns)
{
	struct itimerspec when = { { 0, 0 }, { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) } };

	if (when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0)
		when.it_value.tv_nsec = 1;
	if (t->timer_fd >= 0)
		(void)timerfd_settime(t->timer_fd, 0, &when, NULL);
}

static uint32_t queue_reg_read(const struct virtq *q, uint64_t off)
{
	switch (off) {
	case REG_QUEUE_NUM_MAX: return q->max_size;
	case REG_QUEUE_NUM: return q->size;
	case REG_QUEUE_READY: return q->ready;
	case REG_QUEUE_DESC_LO: return (uint32_t)q->desc;
	case REG_QUEUE_DESC_HI: return (uint32_t)(q->desc >> 32);
	case REG_QUEUE_DRIVER_LO: return (uint32_t)q->avail;
	case REG_QUEUE_DRIVER_HI: return (uint32_t)(q->avail >> 32);
	case REG_QUEUE_DEVICE_LO: return (uint32_t)q->used;
	case REG_QUEUE_DEVICE_HI: return (uint32_t)(q->used >> 32);
	default: return 0;
	}
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	static const struct virtq none;
	const struct virtq *q = t->queue_sel < t->ops->nr_queues ? &t->vq[t->queue_sel] : &none;

	switch (off) {
	case REG_MAGIC: return MAGIC;
	case REG_VERSION: return VERSION;
	case REG_DEVICE_ID: return t->ops->device_id;
	case REG_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case REG_DEV_FEATURES:
		return t->dev_features_sel < 2 ? (uint32_t)(offered(t) >> (32 * t->dev_features_sel)) : 0;
	case REG_QUEUE_NUM_MAX: case REG_QUEUE_NUM: case REG_QUEUE_READY:
	case REG_QUEUE_DESC_LO: case REG_QUEUE_DESC_HI: case REG_QUEUE_DRIVER_LO:
	case REG_QUEUE_DRIVER_HI: case REG_QUEUE_DEVICE_LO: case REG_QUEUE_DEVICE_HI:
		return queue_reg_read(q, off);
	case REG_INT_STATUS: return t->int_status;
	case REG_STATUS: return t->status;
	case REG_SHM_LEN_LO: case REG_SHM_LEN_HI: case REG_SHM_BASE_LO: case REG_SHM_BASE_HI:
		return 0xffffffff; /* no shared memory regions */
	case REG_CONFIG_GEN: return 0; /* config space never changes under the driver */
	default:
		refuse(t, "read of a write-only or unknown register", off);
		return 0;
	}
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status & DRIVER_STATUS_BITS, now, added;

	if (v == 0) {
		device_reset(t);
		return;
	}
	now = v & DRIVER_STATUS_BITS;
	added = now & ~old;
	/* Bits only go away through a reset. */
	if ((old & ~now) || (v & ~(DRIVER_STATUS_BITS | VIRTIO_STATUS_DEVICE_NEEDS_RESET))) {
		refuse(t, "status change", REG_STATUS);
		return;
	}
	if ((added & VIRTIO_STATUS_DRIVER) && !(now & VIRTIO_STATUS_ACKNOWLEDGE)) {
		refuse(t, "DRIVER before ACKNOWLEDGE", REG_STATUS);
		return;
	}
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		/* FEATURES_OK stays clear when the driver's choice is refused;
		 * the driver reads it back to learn that (§3.1.1). */
		if (!(now & VIRTIO_STATUS_DRIVER) || (t->driver_features & ~offered(t)) ||
		    !virtio_mmio_has(t, VIRTIO_F_VERSION_1)) {
			refuse(t, "features", REG_STATUS);
			now &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(now & VIRTIO_STATUS_FEATURES_OK)) {
		refuse(t, "DRIVER_OK without FEATURES_OK", REG_STATUS);
		now &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
	}
	t->status = now | (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if (added & now & VIRTIO_STATUS_DRIVER_OK)
		kick(t); /* the driver may have queued buffers already */
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	if (v == 0) {
		uint16_t size = q->size, max = q->max_size;
		uint64_t d = q->desc, a = q->avail, u = q->used;

		memset(q, 0, sizeof(*q));
		*q = (struct virtq){ .size = size, .max_size = max, .desc = d, .avail = a, .used = u };
		return;
	}
	if (v != 1 || virtq_check_config(q, &t->vm->mem)) {
		refuse(t, "queue configuration", REG_QUEUE_READY);
		return;
	}
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->event_idx = virtio_mmio_has(t, VIRTIO_F_EVENT_IDX);
	q->ready = true;
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
	if (high)
		*field = (*field & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*field = (*field & ~0xffffffffULL) | v;
}

static void queue_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q;

	/* Queues are set up between FEATURES_OK and DRIVER_OK, one at a time,
	 * and never changed while enabled. */
	if (t->queue_sel >= t->ops->nr_queues || !(t->status & VIRTIO_STATUS_FEATURES_OK) ||
	    (t->status & VIRTIO_STATUS_DRIVER_OK)) {
		refuse(t, "queue register write", off);
		return;
	}
	q = &t->vq[t->queue_sel];
	if (q->ready && off != REG_QUEUE_READY) {
		refuse(t, "change to an enabled queue", off);
		return;
	}
	switch (off) {
	case REG_QUEUE_NUM:
		if (v == 0 || v > q->max_size || (v & (v - 1))) {
			refuse(t, "queue size", off);
			return;
		}
		q->size = (uint16_t)v;
		break;
	case REG_QUEUE_READY: write_queue_ready(t, q, v); break;
	case REG_QUEUE_DESC_LO: case REG_QUEUE_DESC_HI: set_half(&q->desc, off & 4, v); break;
	case REG_QUEUE_DRIVER_LO: case REG_QUEUE_DRIVER_HI: set_half(&q->avail, off & 4, v); break;
	case REG_QUEUE_DEVICE_LO: case REG_QUEUE_DEVICE_HI: set_half(&q->used, off & 4, v); break;
	}
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case REG_DEV_FEATURES_SEL: t->dev_features_sel = v; break;
	case REG_DRV_FEATURES_SEL: t->drv_features_sel = v; break;
	case REG_DRV_FEATURES:
		if (!(t->status & VIRTIO_STATUS_DRIVER) || (t->status & VIRTIO_STATUS_FEATURES_OK) ||
		    t->drv_features_sel > 1) {
			refuse(t, "driver features write", off);
			break;
		}
		set_half(&t->driver_features, t->drv_features_sel == 1, v);
		break;
	case REG_QUEUE_SEL: t->queue_sel = v; break;
	case REG_QUEUE_NUM: case REG_QUEUE_READY:
	case REG_QUEUE_DESC_LO: case REG_QUEUE_DESC_HI: case REG_QUEUE_DRIVER_LO:
	case REG_QUEUE_DRIVER_HI: case REG_QUEUE_DEVICE_LO: case REG_QUEUE_DEVICE_HI:
		queue_reg_write(t, off, v);
		break;
	case REG_QUEUE_NOTIFY:
		if (v >= t->ops->nr_queues) {
			refuse(t, "notify of a queue that does not exist", off);
			break;
		}
		kick(t);
		break;
	case REG_INT_ACK: t->int_status &= ~v; break;
	case REG_STATUS: write_status(t, v); break;
	case REG_SHM_SEL: break;
	default: refuse(t, "write to a read-only or unknown register", off);
	}
}

int virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;

	pthread_mutex_lock(&t->lock);
	take_agent_reset(t);
	if (off >= REG_CONFIG) {
		uint64_t c = off - REG_CONFIG;

		if (c < t->ops->config_size && len <= t->ops->config_size - c && t->ops->config_read)
			t->ops->config_read(t->dev, (uint32_t)c, data, len);
		else {
			refuse(t, "config read outside config space", off);
			memset(data, 0, len);
		}
	} else if (len != 4 || (off & 3)) {
		refuse(t, "register read that is not 32-bit aligned", off);
		memset(data, 0, len);
	} else {
		uint32_t v = reg_read(t, off);

		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
	return IO_HANDLED;
}

int virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio *t = opaque;

	pthread_mutex_lock(&t->lock);
	take_agent_reset(t);
	if (off >= REG_CONFIG) {
		uint64_t c = off - REG_CONFIG;

		if (c < t->ops->config_size && len <= t->ops->config_size - c && t->ops->config_write)
			t->ops->config_write(t->dev, (uint32_t)c, data, len);
		else
			refuse(t, "config write", off);
	} else if (len != 4 || (off & 3)) {
		refuse(t, "register write that is not 32-bit aligned", off);
	} else {
		uint32_t v;

		memcpy(&v, data, 4);
		reg_write(t, off, v);
	}
	pthread_mutex_unlock(&t->lock);
	return IO_HANDLED;
}

static const struct io_ops virtio_mmio_io = { .read = virtio_mmio_read, .write = virtio_mmio_write };

int virtio_mmio_init(struct virtio_mmio *t, struct vm *vm, unsigned index, const struct virtio_dev_ops *ops,
		     void *dev)
{
	struct bus_range *r;
	unsigned nth = 0;
	char qname[AGENT_NAME_MAX + 2];
	int ret;

	memset(t, 0, sizeof(*t));
	t->kick_fd = t->irq_fd = t->stop_fd = t->timer_fd = t->extra_fd = -1;
	if (index >= VIRTIO_MMIO_MAX_DEVS || !ops || !ops->process || ops->nr_queues == 0 ||
	    ops->nr_queues > VIRTIO_MMIO_MAX_QUEUES || ops->queue_max == 0 || ops->queue_max > VQ_MAX_SIZE ||
	    (ops->queue_max & (ops->queue_max - 1)) || ops->config_size > VIRTIO_MMIO_WINDOW - REG_CONFIG)
		return -EINVAL;
	t->vm = vm;
	t->ops = ops;
	t->dev = dev;
	t->index = index;
	t->base = virtio_mmio_base(index);
	t->gsi = virtio_mmio_gsi(index);
	pthread_mutex_init(&t->lock, NULL);
	device_reset(t);
	atomic_store(&t->stats.resets, 0);

	/* Agent names an operator (and a policy) can tell apart: the second
	 * disk is virtio-blk1 whatever its window. */
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_DEVS; i++)
		if (registry[i] && registry[i]->vm == vm && registry[i]->ops->device_id == ops->device_id)
			nth++;
	snprintf(t->name, sizeof(t->name), "%s%u", ops->name, nth);
	ret = bus_register(&vm->mmio, t->base, VIRTIO_MMIO_WINDOW, t->name, &virtio_mmio_io, t);
	if (ret) {
		pthread_mutex_unlock(&registry_lock);
		pthread_mutex_destroy(&t->lock);
		t->ops = NULL;
		return ret;
	}
	r = bus_find(&vm->mmio, t->base);
	t->agent = r ? r->agent : NULL;
	snprintf(qname, sizeof(qname), "%s-q", t->name);
	t->vq_agent = agent_register(AGENT_KIND_VIRTQ, qname, 0);
	registry[index] = t;
	t->registered = true;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

static void drain(int fd)
{
	uint64_t v;

	if (fd >= 0)
		while (read(fd, &v, sizeof(v)) == sizeof(v))
			;
}

/* NoHype's busy poll: whether the driver added buffers since the last
 * look, having told it not to notify (virtq_poll_avail()). Buffers already
 * there (receive buffers waiting for frames) do not count, only new ones. */
static bool rings_moved(struct virtio_mmio *t)
{
	bool moved = false;

	pthread_mutex_lock(&t->lock);
	if ((t->status & VIRTIO_STATUS_DRIVER_OK) && !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		for (unsigned i = 0; i < t->ops->nr_queues; i++)
			moved |= virtq_poll_avail(&t->vq[i], &t->vm->mem, &t->polled_avail[i]);
	pthread_mutex_unlock(&t->lock);
	return moved;
}

static void rearm_rings(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->ops->nr_queues; i++)
		virtq_rearm(&t->vq[i], &t->vm->mem);
	pthread_mutex_unlock(&t->lock);
}

static void *worker(void *arg)
{
	struct virtio_mmio *t = arg;
	uint64_t poll_until = 0; /* busy polling, without sleeping, until then */

	if (sandbox_thread_role(ROLE_DEVICE_IO)) {
		log_error("%s: cannot install the device thread's seccomp filter", t->ops->name);
		return NULL;
	}
	for (;;) {
		bool polling = false, closing = false, moved = false;

		if (poll_until) {
			if (monotonic_ns() < poll_until) {
				polling = true;
			} else {
				/* The window closed: notifications again, and one more
				 * pass for what came before they were asked for. */
				poll_until = 0;
				closing = true;
				rearm_rings(t);
			}
		}
		struct pollfd fds[4] = {
			{ .fd = t->stop_fd, .events = POLLIN }, { .fd = t->kick_fd, .events = POLLIN },
			{ .fd = t->timer_fd, .events = POLLIN },
			{ .fd = atomic_load(&t->extra_paused) ? -1 : t->extra_fd, .events = POLLIN },
		};
		int n = poll(fds, 4, polling || closing ? 0 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: worker poll: %s", t->ops->name, strerror(errno));
			break;
		}
		if (fds[0].revents)
			break;
		if (polling && n == 0) {
			moved = rings_moved(t);
			if (!moved) {
				__builtin_ia32_pause();
				continue;
			}
		}
		drain(t->kick_fd);
		compromise_sim_device_thread(); /* test builds only */
		if (fds[2].revents)
			drain(t->timer_fd);
		if (t->kick_is_ioeventfd && fds[1].revents)
			atomic_fetch_add_explicit(&t->stats.notifies, 1, memory_order_relaxed);
		if (fds[1].revents || moved || closing)
			atomic_store(&t->extra_paused, false); /* the driver may have added buffers */
		pthread_mutex_lock(&t->lock);
		process_locked(t);
		pthread_mutex_unlock(&t->lock);
		if (t->busy_poll_ns && (n > 0 || moved))
			poll_until = monotonic_ns() + t->busy_poll_ns;
	}
	return NULL;
}

int virtio_mmio_start(struct virtio_mmio *t, uint64_t busy_poll_ns)
{
	int ret;

	t->busy_poll_ns = busy_poll_ns;
	ret = vm_ioeventfd_add(t->vm, t->base + REG_QUEUE_NOTIFY, 4);
	if (ret >= 0) {
		t->kick_fd = ret;
		t->kick_is_ioeventfd = true;
	} else {
		log_info("%s: no ioeventfd (%s): notifications go through MMIO exits", t->ops->name,
			 strerror(-ret));
		t->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick_fd < 0)
			return -errno;
	}
	ret = vm_irqfd_add(t->vm, t->gsi);
	if (ret >= 0)
		t->irq_fd = ret;
	else
		log_info("%s: no irqfd (%s): interrupts through KVM_IRQ_LINE", t->ops->name, strerror(-ret));
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->stop_fd < 0 || t->timer_fd < 0)
		return -errno;
	ret = pthread_create(&t->thread, NULL, worker, t);
	if (ret)
		return -ret;
	t->thread_started = true;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t->ops)
		return;
	if (t->thread_started) {
		uint64_t one = 1;

		if (write(t->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_error("%s: cannot stop the worker", t->ops->name);
		pthread_join(t->thread, NULL);
		t->thread_started = false;
	}
	if (t->kick_is_ioeventfd)
		vm_ioeventfd_remove(t->vm, t->kick_fd, t->base + REG_QUEUE_NOTIFY, 4);
	else if (t->kick_fd >= 0)
		close(t->kick_fd);
	vm_irqfd_remove(t->vm, t->irq_fd, t->gsi);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	t->kick_fd = t->irq_fd = t->stop_fd = t->timer_fd = -1;
	t->kick_is_ioeventfd = false;
	pthread_mutex_lock(&registry_lock);
	if (t->registered && registry[t->index] == t)
		registry[t->index] = NULL;
	t->registered = false;
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_destroy(&t->lock);
	t->ops = NULL;
}

void virtio_mmio_print_summary(FILE *out)
{
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_DEVS; i++) {
		struct virtio_mmio *t = registry[i];
		uint64_t refused = 0;
		const char *sep = " (";

		if (!t)
			continue;
		for (unsigned e = 1; e <= VQ_NR_ERRORS; e++)
			refused += atomic_load(&t->stats.refused[e]);
		fprintf(out, "kfv: %s at %#llx (gsi %u): %llu notifies, %llu requests, %llu bytes, %llu io errors, "
			     "%llu chains refused",
			t->ops->name, (unsigned long long)t->base, t->gsi,
			(unsigned long long)atomic_load(&t->stats.notifies),
			(unsigned long long)atomic_load(&t->stats.requests),
			(unsigned long long)atomic_load(&t->stats.bytes),
			(unsigned long long)atomic_load(&t->stats.io_errors), (unsigned long long)refused);
		for (unsigned e = 1; e <= VQ_NR_ERRORS; e++) {
			uint64_t n = atomic_load(&t->stats.refused[e]);

			if (n) {
				fprintf(out, "%s%s %llu", sep, vq_error_name(-(int)e), (unsigned long long)n);
				sep = ", ";
			}
		}
		fprintf(out, "%s, %llu bad register accesses, %llu needs-reset, %llu resets, %llu throttled, "
			     "%llu denied, %llu agent resets\n",
			*sep == ',' ? ")" : "", (unsigned long long)atomic_load(&t->stats.bad_register),
			(unsigned long long)atomic_load(&t->stats.needs_reset),
			(unsigned long long)atomic_load(&t->stats.resets),
			(unsigned long long)atomic_load(&t->stats.throttled),
			(unsigned long long)atomic_load(&t->stats.denied),
			(unsigned long long)atomic_load(&t->stats.agent_resets));
	}
	pthread_mutex_unlock(&registry_lock);
}
