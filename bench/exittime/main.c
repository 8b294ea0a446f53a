/* exittime: times port-I/O exits one by one, from inside the guest.
 *
 * The exit-roundtrip benchmark's second measure, built with the guest kit
 * (docs/guest-kit.md) by bench/bench.mk. It does the same exits as
 * exitloop.elf, one-byte writes to port 0x80 from ring 3, but reads the TSC
 * around each one:
 *
 *     lfence; rdtsc; outb %al, $0x80; lfence; rdtsc
 *
 * and reports the distribution of the n samples (after `warm` unrecorded
 * writes) in TSC cycles:
 *
 *     exittime: n=20000 min=... p10=... p50=... p90=... mean=... cycles
 *
 * A sample contains one exit and its return, two TSC reads and nothing
 * else. Its median is barely moved by what else the host does: a host
 * preemption lands in a few samples and makes them very long, where a
 * wall-clock time over the whole loop takes all of it in.
 *
 * With exit=mmio the exit is a 32-bit read of the first virtio-mmio
 * device's MagicValue register instead (run kfv with a device, --rng say):
 * an MMIO exit that a software KVM running guest ring 3 as host user code
 * (PVM) takes straight to the VMM, where its port I/O from ring 3 faults
 * and goes through the guest's ring 0 first (guests/runtime/user_io.h).
 *
 * Command line: n=SAMPLES (default 20000, at most 65536), warm=N (1000),
 * exit=pio|mmio (pio). */
#include "runtime/guest.h"
#include "runtime/virtio.h"

#define POST_PORT   0x80
#define MAX_SAMPLES 65536

static uint32_t samples[MAX_SAMPLES];
/* NULL: port 0x80; else the register an MMIO exit reads. */
static volatile const uint32_t *mmio_reg;

static inline void do_exit(uint64_t i)
{
	if (mmio_reg)
		(void)*mmio_reg;
	else
		outb(POST_PORT, (uint8_t)i);
}

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t measure(uint64_t arg)
{
	uint64_t n = arg >> 32, warm = arg & 0xffffffffU, i;

	for (i = 0; i < warm; i++)
		do_exit(i);
	for (i = 0; i < n; i++) {
		uint64_t t0 = tsc();

		do_exit(i);
		uint64_t d = tsc() - t0;

		samples[i] = d > 0xffffffffU ? 0xffffffffU : (uint32_t)d;
	}
	return n;
}

static void sift_down(uint32_t *a, uint64_t root, uint64_t n)
{
	for (;;) {
		uint64_t child = 2 * root + 1;

		if (child >= n)
			return;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		uint32_t t = a[root];

		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

/* Heapsort: no recursion, no extra memory. Runs in ring 3 (user_run), where
 * the slowest hosts still run guest code at full speed. */
static uint64_t sort_samples(uint64_t n)
{
	uint64_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(samples, i, n);
	for (i = n; i-- > 1;) {
		uint32_t t = samples[0];

		samples[0] = samples[i];
		samples[i] = t;
		sift_down(samples, 0, i);
	}
	return 0;
}

static uint64_t sum_samples(uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += samples[i];
	return sum;
}

int guest_main(void)
{
	uint64_t n, warm, sum;

	if (cmdline_get_u64(boot_info.cmdline, "n", 20000, &n) < 0 ||
	    cmdline_get_u64(boot_info.cmdline, "warm", 1000, &warm) < 0 || n == 0 || n > MAX_SAMPLES ||
	    warm > 0xffffffffU) {
		printf("exittime: bad n= or warm= (n: 1 to %u)\n", MAX_SAMPLES);
		return GUEST_EXIT_BAD_BOOT;
	}
	if (cmdline_has(boot_info.cmdline, "exit=mmio")) {
		struct vdev d;

		if (virtio_find(VIRTIO_ID_RNG, &d) < 0) {
			printf("exittime: exit=mmio needs a virtio device (kfv --rng)\n");
			return GUEST_EXIT_BAD_BOOT;
		}
		mmio_reg = phys_ptr(d.base);
	}
	if (user_run(measure, (n << 32) | warm) != n)
		return GUEST_EXIT_FAIL;
	user_run(sort_samples, n);
	sum = user_run(sum_samples, n);
	printf("exittime: n=%lu min=%u p10=%u p50=%u p90=%u mean=%lu cycles\n", n, samples[0],
	       samples[n / 10], samples[n / 2], samples[n * 9 / 10], sum / n);
	return GUEST_EXIT_PASS;
}
