/* raw_exit_loop: the floor for the exit-roundtrip benchmark.
 *
 * The least a VMM can do and still run build/guests/exitloop.elf: load it
 * with kfv's own loader (gm_create + boot_load + boot_vcpu_state, so the
 * guest boots into exactly the memory image and register state kfv gives
 * it), create a VM with the in-kernel irqchip and PIT and one vCPU with
 * KVM's supported CPUID, then loop on KVM_RUN doing as little as possible
 * per exit:
 *
 *   port 0x80 write        continue (the hot path: one exit per guest outb)
 *   port 0x3f8 write       the byte goes to stdout (unless LCR.DLAB is set)
 *   port 0x3fb write       remember LCR, for DLAB
 *   port 0xf4 write        stop; the byte is the exit status
 *   any other port/MMIO    continue; reads return 0xff
 *   anything else          stop with a message and status 70
 *
 * No threads, no signals, no bus, no counters: the exit-roundtrip benchmark
 * divides kfv's per-exit cost by this loop's, measured in the same run.
 *
 *   raw_exit_loop KERNEL [CMDLINE [MEMORY_MIB]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/entry_state.h"
#include "vmm/guest_mem.h"

#define MMIO_HOLE_END   0x100000000ULL
#define TSS_ADDR        0xfffbd000UL /* same pages kfv gives KVM (Intel only) */
#define IDENTITY_MAP    0xfffbc000ULL

#define PORT_POST       0x80
#define PORT_DEBUG_EXIT 0xf4
#define PORT_COM1       0x3f8
#define PORT_COM1_LCR   0x3fb
#define LCR_DLAB        0x80

#define STATUS_ERROR    70

static int die(const char *what)
{
	fprintf(stderr, "raw_exit_loop: %s: %s\n", what, strerror(errno));
	return STATUS_ERROR;
}

static uint8_t *read_file(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || !(buf = malloc((size_t)st.st_size))) {
		close(fd);
		return NULL;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		done += (size_t)n;
	}
	close(fd);
	*size = done;
	return buf;
}

static int set_cpuid(int kvm_fd, int vcpu_fd)
{
	for (unsigned nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		int ret;

		if (!c)
			return -1;
		c->nent = nent;
		ret = ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (ret == 0)
			ret = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
		free(c);
		if (ret == 0)
			return 0;
		if (errno != E2BIG)
			return -1;
	}
	return -1;
}

static int map_memory(int vm_fd, const struct guest_mem *gm)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = gm->low_size,
		.userspace_addr = (uint64_t)(uintptr_t)gm->host,
	};

	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -1;
	if (!gm->high_size)
		return 0;
	r = (struct kvm_userspace_memory_region){
		.slot = 1, .guest_phys_addr = MMIO_HOLE_END, .memory_size = gm->high_size,
		.userspace_addr = (uint64_t)(uintptr_t)(gm->host + gm->low_size),
	};
	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static int run_loop(int vcpu_fd, struct kvm_run *run)
{
	uint8_t lcr = 0;

	for (;;) {
		if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			uint32_t bytes = run->io.size * run->io.count;

			if (run->io.port == PORT_POST)
				continue;
			if (run->io.direction != KVM_EXIT_IO_OUT) {
				memset(data, 0xff, bytes);
				continue;
			}
			switch (run->io.port) {
			case PORT_COM1:
				if (!(lcr & LCR_DLAB))
					fwrite(data, 1, bytes, stdout);
				break;
			case PORT_COM1_LCR:
				lcr = data[bytes - 1];
				break;
			case PORT_DEBUG_EXIT:
				fflush(stdout);
				return data[0];
			default:
				break;
			}
			continue;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			continue;
		case KVM_EXIT_INTR:
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			continue;
		default:
			fflush(stdout);
			fprintf(stderr, "raw_exit_loop: unexpected exit reason %u\n", run->exit_reason);
			return STATUS_ERROR;
		}
	}
}

int main(int argc, char **argv)
{
	const char *cmdline = argc > 2 ? argv[2] : "";
	uint64_t mem_mib = argc > 3 ? strtoull(argv[3], NULL, 0) : 128;
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t identity = IDENTITY_MAP;
	struct guest_mem gm;
	struct boot_config cfg;
	struct boot_entry entry;
	struct boot_error berr = { "" };
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_run *run;
	uint8_t *kernel;
	size_t kernel_size = 0;
	int kvm_fd, vm_fd, vcpu_fd, run_size, ret;

	if (argc < 2 || argc > 4 || mem_mib < 2) {
		fprintf(stderr, "usage: raw_exit_loop KERNEL [CMDLINE [MEMORY_MIB]]\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	kernel = read_file(argv[1], &kernel_size);
	if (!kernel)
		return die(argv[1]);
	ret = gm_create(&gm, mem_mib << 20);
	if (ret) {
		errno = -ret;
		return die("guest memory");
	}
	cfg = (struct boot_config){ .kernel = kernel, .kernel_size = kernel_size, .cmdline = cmdline, .ncpus = 1 };
	ret = boot_load(&gm, &cfg, &entry, &berr);
	if (ret) {
		fprintf(stderr, "raw_exit_loop: %s: %s\n", argv[1], berr.msg[0] ? berr.msg : strerror(-ret));
		return 65;
	}
	free(kernel);

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return die("/dev/kvm");
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return die("KVM_CREATE_VM");
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0 ||
	    ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return die("creating the irqchip and PIT");
	if (map_memory(vm_fd, &gm) < 0)
		return die("KVM_SET_USER_MEMORY_REGION");
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0UL);
	if (vcpu_fd < 0)
		return die("KVM_CREATE_VCPU");
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(*run))
		return die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED)
		return die("mapping kvm_run");
	if (set_cpuid(kvm_fd, vcpu_fd) < 0)
		return die("setting CPUID");
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return die("KVM_GET_SREGS");
	memset(&regs, 0, sizeof(regs));
	if (boot_vcpu_state(&entry, &regs, &sregs) != 0) {
		fprintf(stderr, "raw_exit_loop: bad entry state\n");
		return STATUS_ERROR;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return die("setting the boot registers");

	return run_loop(vcpu_fd, run); /* the kernel tears the VM down at exit */
}
