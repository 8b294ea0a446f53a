/* virtq-flood: the self-defense loop's malformed-virtqueue flood. Opens
 * the virtio-rng device (kfv --rng) and, from ring 3, submits malformed
 * descriptor chains and notifies, one after another, for seconds=
 * (default 10) or until count= chains (default 0: no bound):
 *
 *   kind=oob   a buffer in the MMIO hole, outside RAM (the device refuses it)
 *   kind=loop  a descriptor whose next is itself (refused)
 *   kind=mix   the two in turn (default)
 *   kind=avail avail.idx run ahead by more than the queue size: the queue
 *              itself is broken, so the device asks for a reset each time
 *
 * After each chain it waits up to answer_ms= (default 250) for the used
 * ring, and looks at the device status every 64 chains and after every
 * wait that got no answer. When the device sets DEVICE_NEEDS_RESET (an
 * orchestrator's reset, or kind=avail) it prints
 *
 *   virtq-flood: device needs reset (after N chains)
 *
 * resets and re-initialises the device (status 0, then the normal init
 * sequence) and goes on flooding, so a policy that escalates to killing
 * the VM gets its chance. Once a second it prints progress:
 *
 *   virtq-flood: 1s: 5210 chains, 5210 refused, 0 answered, 0 unanswered, 0 resets
 *
 * Before flooding it writes "KFV-FORENSIC-MARKER-" and marker=HEX (1-32
 * hex digits, default 0) into a static buffer of its own RAM and prints
 * where, so a forensic dump of guest memory can be checked for it. At the
 * end it reads 64 bytes from the device properly; exit code 0 when that
 * works (the device survived the flood). */
#include "runtime/guest.h"
#include "runtime/tsc.h"
#include "runtime/virtio.h"

#define QSIZE          8
#define STATUS_EVERY   64
#define DRAIN_MS       2000
#define MARKER_PREFIX  "KFV-FORENSIC-MARKER-"
#define MARKER_HEX_MAX 32

enum kind { KIND_OOB, KIND_LOOP, KIND_MIX, KIND_AVAIL };

static uint8_t qmem[VQ_MEM_BYTES] __attribute__((aligned(4096)));
static uint8_t buf[256];
static char marker[sizeof(MARKER_PREFIX) + MARKER_HEX_MAX];

static struct vdev dev;
static struct vq q;
static enum kind kind = KIND_MIX;
static uint64_t seconds = 10, count, answer_ms = 250;
static uint64_t sent, refused, answered, unanswered, resets;
static bool broken; /* re-initialisation failed */

static bool needs_reset(void)
{
	return virtio_read(&dev, VIRTIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

/* Builds chain number n at a head other than the last descriptor (kept
 * for the final good read) and returns the head. */
static uint16_t build(uint64_t n)
{
	uint16_t head = (uint16_t)(n % (QSIZE - 1));
	bool oob = kind == KIND_OOB || (kind == KIND_MIX && !(n & 1));

	if (kind == KIND_AVAIL) {
		q.desc[head] = (struct vring_desc){ (uint64_t)(uintptr_t)buf, 16, VRING_DESC_F_WRITE, 0 };
		q.avail_idx = (uint16_t)(q.avail_idx + QSIZE); /* vq_publish adds one more */
	} else if (oob) {
		q.desc[head] = (struct vring_desc){ VIRTIO_MMIO_BASE, 64, VRING_DESC_F_WRITE, 0 };
	} else {
		q.desc[head] = (struct vring_desc){ (uint64_t)(uintptr_t)buf, 16,
						    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, head };
	}
	return head;
}

/* 1: the device answered (len set); 0: it needs a reset; -1: no answer. */
static int wait_answer(uint32_t *len)
{
	uint64_t start = rdtsc(), limit = tsc_ticks_ms(answer_ms);

	for (unsigned i = 1;; i++) {
		if ((uint16_t)(q.used[0] >> 16) != q.last_used) {
			unsigned slot = q.last_used % q.size;

			__asm__ volatile("" ::: "memory");
			*len = q.used[2 + 2 * slot];
			q.last_used++;
			return 1;
		}
		if (i % 256 == 0 && needs_reset())
			return 0;
		if (rdtsc() - start > limit)
			return needs_reset() ? 0 : -1;
		cpu_relax();
	}
}

/* Waits up to DRAIN_MS for every chain still in flight. Returns 0 when
 * the used ring caught up with the avail ring, -1 otherwise. */
static int drain(void)
{
	uint64_t start = rdtsc();

	while ((uint16_t)(q.used[0] >> 16) != q.avail_idx) {
		if (rdtsc() - start > tsc_ticks_ms(DRAIN_MS))
			return -1;
		cpu_relax();
	}
	q.last_used = q.avail_idx;
	return 0;
}

static int reinit(void)
{
	if (virtio_negotiate(&dev, 0) || virtio_queue_setup(&dev, 0, &q, QSIZE, qmem))
		return -1;
	virtio_driver_ok(&dev);
	return 0;
}

static void progress(uint64_t secs)
{
	printf("virtq-flood: %lus: %lu chains, %lu refused, %lu answered, %lu unanswered, %lu resets\n", secs, sent,
	       refused, answered, unanswered, resets);
}

static uint64_t flood(uint64_t unused)
{
	uint64_t start = rdtsc(), end = start + tsc_ticks_ms(seconds * 1000), next = start + tsc_ticks_ms(1000);
	uint64_t secs = 0;

	(void)unused;
	while (rdtsc() < end && !(count && sent >= count)) {
		uint32_t len = 0;
		int r;

		vq_publish(&q, build(sent));
		sent++;
		r = wait_answer(&len);
		if (r == 1 && sent % STATUS_EVERY == 0 && needs_reset())
			r = 0;
		if (r == 1) {
			if (len == 0)
				refused++;
			else
				answered++;
		} else if (r < 0) {
			unanswered++;
		}
		if (r == 0) {
			resets++;
			printf("virtq-flood: device needs reset (after %lu chains)\n", sent);
			if (reinit()) {
				printf("virtq-flood: the device cannot be set up again; stopping\n");
				broken = true;
				break;
			}
		}
		if (rdtsc() >= next) {
			progress(++secs);
			next += tsc_ticks_ms(1000);
		}
	}
	progress(tsc_to_ns(rdtsc() - start) / 1000000000ull);
	return sent;
}

static int set_marker(void)
{
	char hex[MARKER_HEX_MAX + 2];
	size_t n;

	if (!cmdline_get(boot_info.cmdline, "marker", hex, sizeof(hex)))
		memcpy(hex, "0", 2);
	n = strlen(hex);
	if (n == 0 || n > MARKER_HEX_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return -1;
	}
	snprintf(marker, sizeof(marker), "%s%s", MARKER_PREFIX, hex);
	printf("virtq-flood: marker %s at %p\n", marker, (void *)marker);
	return 0;
}

static int parse_kind(void)
{
	static const char *const names[] = { [KIND_OOB] = "oob", [KIND_LOOP] = "loop", [KIND_MIX] = "mix",
					     [KIND_AVAIL] = "avail" };
	char v[8];

	if (!cmdline_get(boot_info.cmdline, "kind", v, sizeof(v)))
		return 0;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(v) == strlen(names[i]) && !strncmp(v, names[i], strlen(v))) {
			kind = (enum kind)i;
			return 0;
		}
	}
	return -1;
}

int guest_main(void)
{
	if (cmdline_get_u64(boot_info.cmdline, "seconds", 10, &seconds) < 0 || seconds > 3600 ||
	    cmdline_get_u64(boot_info.cmdline, "count", 0, &count) < 0 ||
	    cmdline_get_u64(boot_info.cmdline, "answer_ms", 250, &answer_ms) < 0 || answer_ms == 0 ||
	    answer_ms > 60000 || parse_kind() || set_marker()) {
		printf("virtq-flood: bad seconds=, count=, answer_ms=, kind= or marker= on the command line\n");
		return GUEST_EXIT_BAD_BOOT;
	}
	if (!tsc_calibrate(LAPIC_DEFAULT_BASE)) {
		printf("virtq-flood: cannot calibrate the TSC against the LAPIC clock\n");
		return GUEST_EXIT_FAIL;
	}
	GUEST_ASSERT(virtio_open(VIRTIO_ID_RNG, 0, &dev, &q, QSIZE, qmem) == 0);
	printf("virtq-flood: flooding virtio device %u for %lu s%s\n", dev.index, seconds,
	       count ? " or until count= chains" : "");
	user_run(flood, 0);
	GUEST_CHECK(!broken);
	GUEST_CHECK(sent > 0);
	/* The device survived when it still serves a proper request: first
	 * collect the answers that came too late, or start afresh. */
	if (!broken && (drain() || needs_reset())) {
		if (reinit() == 0)
			resets++;
		else
			broken = true;
	}
	GUEST_CHECK(!broken && virtio_rng_read(&q, buf, 64) == 64);
	printf("virtq-flood: done: %lu chains, %lu resets\n", sent, resets);
	GUEST_DONE();
}
