#include "summary.h"

#include <stdatomic.h>

#include "../devices/virtio/mmio.h"
#include "../vmm/bus.h"
#include "../vmm/vcpu.h"
#include "../vmm/surface.h"
#include "../vmm/vm.h"

static void print_exits(FILE *out, const struct vm *vm)
{
	const char *sep = "";

	fprintf(out, "kfv: exits:");
	for (unsigned r = 0; r < VCPU_EXIT_REASONS; r++) {
		uint64_t n = vm_exit_count(vm, r);

		if (n) {
			fprintf(out, "%s %s %llu", sep, kvm_exit_reason_name(r), (unsigned long long)n);
			sep = ",";
		}
	}
	fprintf(out, "%s\n", *sep ? "" : " none");
}

static void print_unclaimed(FILE *out, const struct bus *bus, const char *space)
{
	uint64_t total = atomic_load(&bus->unclaimed_total);
	unsigned shown = 0;

	fprintf(out, "kfv: unclaimed %s accesses: %llu", space, (unsigned long long)total);
	for (unsigned i = 0; i < BUS_UNCLAIMED_MAX && shown < 8; i++) {
		const struct unclaimed_slot *s = &bus->unclaimed[i];
		uint64_t key = atomic_load(&s->key);

		if (!key)
			continue;
		fprintf(out, "%s %#llx (r%llu w%llu)", shown ? "," : " at", (unsigned long long)(key - 1),
			(unsigned long long)atomic_load(&s->reads), (unsigned long long)atomic_load(&s->writes));
		shown++;
	}
	if (atomic_load(&bus->unclaimed_overflow))
		fprintf(out, " (+%llu at untracked addresses)",
			(unsigned long long)atomic_load(&bus->unclaimed_overflow));
	fprintf(out, "\n");
}

void print_run_summary(FILE *out, const struct vm *vm, int status)
{
	fprintf(out, "kfv: vm stopped: %s (exit status %d)\n", vm->stop_reason, status);
	print_exits(out, vm);
	print_unclaimed(out, &vm->pio, "port");
	print_unclaimed(out, &vm->mmio, "mmio");
	virtio_mmio_print_summary(out); /* one line per virtio device */
	surface_print_summary(out, vm);
}
