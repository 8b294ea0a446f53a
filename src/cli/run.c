#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "../boot/boot.h"
#include "../defense/handoff.h"
#include "../defense/telemetry.h"
#include "../guard/responder.h"
#include "../devices/console.h"
#include "../devices/compromise_sim.h"
#include "../devices/i8042.h"
#include "../devices/legacy.h"
#include "../devices/serial.h"
#include "../boot/layout.h"
#include "../sandbox/lockdown.h"
#include "../util/file.h"
#include "../util/hostmem.h"
#include "../util/log.h"
#include "../vmm/exit_status.h"
#include "../vmm/kvm.h"
#include "../vmm/pinning.h"
#include "../vmm/vm.h"
#include "summary.h"
#include "virtio_devices.h"
#include "surface_cmd.h"

#define KVM_DEVICE "/dev/kvm"

_Static_assert(KFV_MAX_CPUS <= TELEMETRY_MAX_VCPUS && KFV_MAX_CPUS <= HANDOFF_MAX_FDS,
	       "every vCPU --cpus allows has a telemetry slot and a statistics fd of its own");
/* How long a --nohype device keeps watching its rings after the last
 * buffer it saw: longer than a busy guest takes between two requests. */
#define NOHYPE_BUSY_POLL_NS 200000ull

struct machine {
	struct vm vm;
	struct serial serial;
	struct i8042 i8042;
	struct post_code post;
	struct console console;
	bool serial_up, i8042_up;
	struct virtio_plan vplan;
	struct virtio_devices virtio;
};

static int fail(struct run_error *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->status = status;
	return status;
}

static int read_image(const char *what, const char *path, uint64_t limit, uint8_t **data, size_t *size,
		      struct run_error *err)
{
	int ret = read_whole_file(path, limit, data, size);

	switch (ret) {
	case 0:
		return 0;
	case -EFBIG:
		return fail(err, KFV_EXIT_BAD_IMAGE, "%s %s: larger than guest memory", what, path);
	case -EISDIR:
		return fail(err, KFV_EXIT_NO_INPUT, "%s %s: is a directory", what, path);
	case -EINVAL:
		return fail(err, KFV_EXIT_NO_INPUT, "%s %s: not a regular file", what, path);
	default:
		return fail(err, KFV_EXIT_NO_INPUT, "%s %s: %s", what, path, strerror(-ret));
	}
}

static int open_kvm(struct run_error *err)
{
	const char *missing;
	int fd = kvm_open(KVM_DEVICE, &missing);

	if (fd >= 0)
		return fd;
	switch (fd) {
	case -ENOENT:
		fail(err, KFV_EXIT_UNAVAILABLE, "%s: not found (is KVM enabled in the kernel and firmware?)", KVM_DEVICE);
		break;
	case -EACCES:
	case -EPERM:
		fail(err, KFV_EXIT_UNAVAILABLE, "%s: permission denied (add the user to the kvm group)", KVM_DEVICE);
		break;
	case -ENOTSUP:
		fail(err, KFV_EXIT_UNAVAILABLE, "%s: KVM lacks %s", KVM_DEVICE, missing);
		break;
	case -ENOTTY:
		fail(err, KFV_EXIT_UNAVAILABLE, "%s: not a KVM device, or an unsupported KVM API version", KVM_DEVICE);
		break;
	default:
		fail(err, KFV_EXIT_UNAVAILABLE, "%s: %s", KVM_DEVICE, strerror(-fd));
	}
	return -1;
}

static int shutdown_by_ctrl_alt_del(void *opaque)
{
	return i8042_send_ctrl_alt_del(opaque);
}

static int attach_devices(struct machine *m, const struct run_options *o, struct run_error *err)
{
	int ret = serial_init(&m->serial, &m->vm, KFV_COM1_PORT, KFV_COM1_IRQ, STDOUT_FILENO);

	if (ret)
		return fail(err, KFV_EXIT_INTERNAL, "registering the serial port: %s", strerror(-ret));
	m->serial_up = true;
	ret = i8042_register(&m->i8042, &m->vm);
	if (ret)
		return fail(err, KFV_EXIT_INTERNAL, "registering the i8042: %s", strerror(-ret));
	m->i8042_up = true;
	/* The operator's graceful shutdown reaches the guest as Ctrl-Alt-Del. */
	m->vm.shutdown_request = shutdown_by_ctrl_alt_del;
	m->vm.shutdown_opaque = &m->i8042;
	m->vm.shutdown_timeout_ms = o->shutdown_timeout_s * 1000u;
	ret = acpi_pm_register(&m->vm);
	if (!ret)
		ret = pci_absent_register(&m->vm);
	if (!ret)
		ret = post_code_register(&m->vm, &m->post);
	if (!ret && o->debug_exit)
		ret = debug_exit_register(&m->vm);
	if (!ret)
		ret = compromise_sim_register(&m->vm); /* test builds only */
	if (ret)
		return fail(err, KFV_EXIT_INTERNAL, "registering legacy devices: %s", strerror(-ret));
	return 0;
}

static int load_kernel(struct guest_mem *mem, const struct run_options *o, const struct virtio_plan *vp,
		       struct boot_entry *entry, struct run_error *err)
{
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_size = 0, initrd_size = 0;
	struct boot_error berr = { "" };
	struct boot_config cfg;
	int ret;

	ret = read_image("kernel", o->kernel, o->memory, &kernel, &kernel_size, err);
	if (ret)
		return ret;
	if (o->initrd) {
		ret = read_image("initrd", o->initrd, o->memory, &initrd, &initrd_size, err);
		if (ret == KFV_EXIT_BAD_IMAGE)
			fail(err, KFV_EXIT_BAD_IMAGE, "initrd %s: does not fit in %llu MiB of guest memory",
			     o->initrd, (unsigned long long)(o->memory >> 20));
		if (ret)
			goto out;
	}
	cfg = (struct boot_config){
		.kernel = kernel, .kernel_size = kernel_size,
		.initrd = initrd, .initrd_size = initrd_size,
		.cmdline = vp->cmdline, .ncpus = o->cpus,
		.acpi_devs = vp->acpi, .nr_acpi_devs = vp->nr,
	};
	ret = boot_load(mem, &cfg, entry, &berr);
	if (ret)
		ret = fail(err, KFV_EXIT_BAD_IMAGE, "%s: %s", o->kernel, berr.msg[0] ? berr.msg : strerror(-ret));
out:
	free(kernel);
	free(initrd);
	return ret;
}

static int create_memory(struct guest_mem *mem, const struct run_options *o, int memfd, struct run_error *err)
{
	uint64_t avail = host_available_memory();
	unsigned flags = o->hugepages ? GM_HUGEPAGES : 0;
	int ret;

	if (memfd < 0 && avail && o->memory > avail)
		return fail(err, KFV_EXIT_UNAVAILABLE, "--memory %llu MiB: the host has only %llu MiB available",
			    (unsigned long long)(o->memory >> 20), (unsigned long long)(avail >> 20));
	if (memfd >= 0)
		ret = gm_create_from_fd(mem, memfd, o->memory, flags);
	else
		ret = gm_create_ex(mem, o->memory, flags);
	if (ret == -ENOMEM && o->hugepages)
		return fail(err, KFV_EXIT_UNAVAILABLE,
			    "--hugepages: the host has not %llu MiB of free 2 MiB huge pages (see /proc/sys/vm/nr_hugepages)",
			    (unsigned long long)(o->memory >> 20));
	if (ret)
		return fail(err, KFV_EXIT_UNAVAILABLE, "guest memory of %llu MiB: %s",
			    (unsigned long long)(o->memory >> 20), strerror(-ret));
	if (o->nohype) {
		/* NoHype: every page present and locked before the guest runs. */
		ret = surface_lock_memory(mem->host, mem->size);
		if (ret) {
			gm_destroy(mem);
			return fail(err, KFV_EXIT_UNAVAILABLE,
				    "--nohype: cannot pre-fault and lock %llu MiB of guest memory: %s (raise "
				    "RLIMIT_MEMLOCK, e.g. ulimit -l, or free memory)",
				    (unsigned long long)(o->memory >> 20), strerror(-ret));
		}
	}
	return 0;
}

int run_describe_surface(const struct run_options *o, FILE *out, struct run_error *err)
{
	struct machine *m = calloc(1, sizeof(*m));
	int status;

	err->msg[0] = '\0';
	if (!m)
		return fail(err, KFV_EXIT_OS_ERROR, "out of memory");
	/* The same devices as a run, on buses with no KVM behind them. */
	m->vm.vm_fd = m->vm.kvm_fd = -1;
	m->vm.mem.memfd = -1;
	m->vm.ncpus = o->cpus;
	atomic_init(&m->vm.stop_status, -1);
	pthread_mutex_init(&m->vm.stop_lock, NULL);
	bus_init(&m->vm.pio, BUS_PIO);
	bus_init(&m->vm.mmio, BUS_MMIO);
	options_surface_config(o, &m->vm.surface.cfg);
	status = attach_devices(m, o, err);
	if (!status)
		surface_print(out, &m->vm);
	if (m->serial_up)
		serial_destroy(&m->serial);
	if (m->i8042_up)
		i8042_destroy(&m->i8042);
	pthread_mutex_destroy(&m->vm.stop_lock);
	free(m);
	return status;
}

int run_validate(const struct run_options *o, struct run_error *err)
{
	struct virtio_plan plan;
	struct guest_mem mem;
	struct boot_entry entry;
	int status;

	err->msg[0] = '\0';
	memset(&plan, 0, sizeof(plan));
	if (virtio_plan(o, &plan, err->msg, sizeof(err->msg)))
		return err->status = KFV_EXIT_USAGE;
	status = create_memory(&mem, o, -1, err);
	if (status)
		return status;
	status = load_kernel(&mem, o, &plan, &entry, err);
	gm_destroy(&mem);
	return status;
}

int run_vm(const struct run_options *o, struct run_error *err)
{
	return run_vm_locked(o, NULL, err);
}

/* The kernel's own count of this VM's exits, for the orchestrator to hold
 * against the agents' (docs/policy.md, reports_diverge). */
static int hand_over_stats(const struct vm *vm, int ctl_fd)
{
	int fds[HANDOFF_MAX_FDS];
	unsigned n = vm->ncpus < HANDOFF_MAX_FDS ? vm->ncpus : HANDOFF_MAX_FDS;
	int ret = 0;

	for (unsigned i = 0; i < n; i++) {
		fds[i] = ioctl(vm->vcpus[i].fd, KVM_GET_STATS_FD, 0);
		if (fds[i] < 0) {
			ret = errno == ENOTTY || errno == EINVAL ? -ENOTSUP : -errno;
			n = i;
			break;
		}
	}
	if (ret == -ENOTSUP) /* an old kernel: the orchestrator goes without */
		ret = handoff_send(ctl_fd, "kvm-stats-none", NULL, 0);
	else if (!ret)
		ret = handoff_send(ctl_fd, "kvm-stats", fds, n);
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	return ret;
}

static int lock_down(const struct run_lockdown *lock, struct run_error *err)
{
	struct jail_error jerr = { 0 };

	if (sandbox_lockdown(lock->jail, lock->report_fd, &jerr))
		return fail(err, KFV_EXIT_JAIL, "jail: %s", jerr.msg);
	/* Tells the supervisor the VM got as far as running, jailed. */
	if (write(lock->report_fd, RUN_LOCKED_MARKER "\n", sizeof(RUN_LOCKED_MARKER)) < 0)
		log_debug("report pipe: %s", strerror(errno));
	return 0;
}

int run_vm_locked(const struct run_options *o, const struct run_lockdown *lock, struct run_error *err)
{
	struct machine *m;
	struct guest_mem mem;
	struct boot_entry entry;
	struct surface_config scfg;
	const char *what = "";
	int kvm_fd = -1, ret, status;
	unsigned max;

	err->msg[0] = '\0';
	m = calloc(1, sizeof(*m));
	if (!m)
		return fail(err, KFV_EXIT_OS_ERROR, "out of memory");
	m->vm.vm_fd = -1;

	/* Everything the user gave is checked before KVM is touched. */
	if (virtio_plan(o, &m->vplan, err->msg, sizeof(err->msg))) {
		status = err->status = KFV_EXIT_USAGE;
		goto out_free;
	}
	status = create_memory(&mem, o, lock ? lock->guest_memfd : -1, err);
	if (status)
		goto out_free;
	status = load_kernel(&mem, o, &m->vplan, &entry, err);
	if (status)
		goto out_mem;

	kvm_fd = open_kvm(err);
	if (kvm_fd < 0) {
		status = err->status;
		goto out_mem;
	}
	max = kvm_max_vcpus(kvm_fd);
	if (o->cpus > max) {
		status = fail(err, KFV_EXIT_USAGE, "--cpus %u: KVM on this host allows at most %u", o->cpus, max);
		goto out_kvm;
	}
	options_surface_config(o, &scfg);
	if (o->ndedicated && pinning_keep_off(o->dedicated, scfg.ndedicated))
		log_warn("--dedicated-cpus: no host CPU left for kfv's other threads; they share the vCPUs' CPUs");
	ret = vm_create_ex(&m->vm, kvm_fd, &mem, o->cpus, &scfg, &what);
	if (ret) {
		status = fail(err, ret == -ENOMEM || ret == -ENOTSUP ? KFV_EXIT_UNAVAILABLE : KFV_EXIT_OS_ERROR,
			      "%s: %s", what, strerror(-ret));
		goto out_kvm;
	}
	m->vm.debug_exit = o->debug_exit;
	status = attach_devices(m, o, err);
	if (status)
		goto out_vm;
	if (virtio_devices_create(&m->virtio, &m->vm, o, err->msg, sizeof(err->msg), &status)) {
		err->status = status;
		goto out_vm;
	}
	ret = vm_load_boot_state(&m->vm, &entry);
	if (ret) {
		status = fail(err, KFV_EXIT_OS_ERROR, "setting the boot vCPU's registers: %s", strerror(-ret));
		goto out_vm;
	}
	if (lock && lock->ctl_fd >= 0) {
		ret = hand_over_stats(&m->vm, lock->ctl_fd);
		if (ret) {
			status = fail(err, KFV_EXIT_OS_ERROR, "handing the KVM statistics to the supervisor: %s",
				      strerror(-ret));
			goto out_vm;
		}
	}
	if (lock && lock->guard_fd >= 0) {
		ret = guard_responder_prepare(lock->guard_fd, lock->guard_key, lock->config_digest);
		if (ret) {
			status = fail(err, KFV_EXIT_OS_ERROR, "preparing the guard's responder: %s", strerror(-ret));
			goto out_vm;
		}
	}
	/* Every fd is open: from here on the VMM opens nothing by path. */
	if (lock && lock->jail) {
		status = lock_down(lock, err);
		if (status)
			goto out_vm;
	}
	/* Before any guest instruction: the guard's first challenge finds the
	 * VMM as it locked down. */
	if (lock && lock->guard_fd >= 0) {
		ret = guard_responder_start();
		if (ret) {
			status = fail(err, KFV_EXIT_OS_ERROR, "starting the guard's responder: %s", strerror(-ret));
			goto out_vm;
		}
	}
	ret = console_start(&m->console, &m->vm, &m->serial, STDIN_FILENO);
	if (ret) {
		status = fail(err, KFV_EXIT_OS_ERROR, "starting the console: %s", strerror(-ret));
		goto out_vm;
	}

	/* NoHype: a device keeps watching its rings for a while after each
	 * pass, so a busy guest need not exit to say it has added buffers. */
	if (virtio_devices_start(&m->virtio, o->nohype ? NOHYPE_BUSY_POLL_NS : 0, err->msg, sizeof(err->msg))) {
		console_stop(&m->console);
		status = err->status = KFV_EXIT_OS_ERROR;
		goto out_vm;
	}
	/* Tells the supervisor the guest got to run: a run refused before
	 * this stays one line, with no security summary. */
	if (lock && write(lock->report_fd, RUN_STARTED_MARKER "\n", sizeof(RUN_STARTED_MARKER)) < 0)
		log_debug("report pipe: %s", strerror(errno));
	status = vm_run(&m->vm);
	console_stop(&m->console);
	if (!o->quiet)
		print_run_summary(stderr, &m->vm, status);

out_vm:
	virtio_devices_destroy(&m->virtio); /* workers stop before guest RAM goes */
	if (m->serial_up)
		serial_destroy(&m->serial);
	if (m->i8042_up)
		i8042_destroy(&m->i8042);
	vm_destroy(&m->vm);
out_kvm:
	close(kvm_fd);
out_mem:
	gm_destroy(&mem); /* a no-op once the VM owns it */
out_free:
	free(m);
	return status;
}
