/* kvm-smoke: prove that /dev/kvm works where this runs (the kvmbox, or a
 * host with KVM). Creates a VM with one vCPU in real mode running
 *     mov $N, %cx ; 1: out %al, $0x10 ; loop 1b ; hlt
 * and counts the KVM_EXIT_IO exits until KVM_EXIT_HLT. Prints the API
 * version, the exit count and the mean cost of one exit (KVM_RUN round trip).
 *
 *   kvm-smoke [N]      (default 10000)     exit status 0 on success
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "kvm-smoke: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    if (n == 0 || n > 0xffff) {
        fprintf(stderr, "kvm-smoke: N must be 1..65535\n");
        return 2;
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        return fail("open /dev/kvm");
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        fprintf(stderr, "kvm-smoke: API version %d, want %d\n", api, KVM_API_VERSION);
        return 1;
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return fail("KVM_CREATE_VM");

    const size_t memsz = 0x10000;
    unsigned char *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return fail("mmap guest memory");
    const unsigned char code[] = {
        0xb9, (unsigned char)(n & 0xff), (unsigned char)(n >> 8), /* mov $n, %cx */
        0xe6, 0x10,                                                 /* out %al, $0x10 */
        0xe2, 0xfc,                                                 /* loop .-2 */
        0xf4,                                                       /* hlt */
    };
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = memsz,
        .userspace_addr = (unsigned long)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (runsz <= 0)
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    struct kvm_run *run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        return fail("mmap kvm_run");

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        return fail("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        return fail("KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_REGS");

    unsigned long ios = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                continue;
            return fail("KVM_RUN");
        }
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10 &&
            run->io.direction == KVM_EXIT_IO_OUT) {
            ios++;
            continue;
        }
        break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
    printf("kvm-smoke: api %d, %lu I/O exits then exit reason %u, %.2f us per exit\n",
           api, ios, run->exit_reason, us / (double)(ios + 1));
    if (run->exit_reason != KVM_EXIT_HLT || ios != n) {
        fprintf(stderr, "kvm-smoke: expected %lu I/O exits then KVM_EXIT_HLT (%d)\n", n, KVM_EXIT_HLT);
        return 1;
    }
    return 0;
}
