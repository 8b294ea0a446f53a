#include "virtio_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/exit_status.h"

int virtio_plan(const struct run_options *o, struct virtio_plan *p, char *msg, size_t msglen)
{
	size_t len;

	memset(p, 0, sizeof(*p));
	p->nr = o->nr_disks + (o->rng ? 1 : 0);
	len = (size_t)snprintf(p->cmdline, sizeof(p->cmdline), "%s", o->cmdline);
	for (unsigned i = 0; i < p->nr; i++) {
		p->acpi[i] = (struct boot_acpi_mmio_dev){
			.hid = "LNRO0005", .base = virtio_mmio_base(i), .size = VIRTIO_MMIO_WINDOW,
			.gsi = virtio_mmio_gsi(i),
		};
		if (len < sizeof(p->cmdline))
			len += (size_t)snprintf(p->cmdline + len, sizeof(p->cmdline) - len,
						"%svirtio_mmio.device=4K@%#llx:%u", len ? " " : "",
						(unsigned long long)virtio_mmio_base(i), virtio_mmio_gsi(i));
	}
	if (len >= sizeof(p->cmdline)) {
		snprintf(msg, msglen, "--cmdline: with the virtio_mmio.device= entries it would be %zu bytes, at most 4095",
			 len);
		return -E2BIG;
	}
	return 0;
}

int virtio_devices_create(struct virtio_devices *d, struct vm *vm, const struct run_options *o, char *msg,
			  size_t msglen, int *status)
{
	unsigned index = 0;
	int ret;

	*status = KFV_EXIT_INTERNAL;
	for (unsigned i = 0; i < o->nr_disks; i++, index++) {
		const struct disk_option *disk = &o->disks[i];

		d->disks[i] = calloc(1, sizeof(*d->disks[i]));
		if (!d->disks[i])
			return -ENOMEM;
		d->nr_disks = i + 1;
		ret = virtio_blk_init(d->disks[i], vm, index, disk->path, disk->read_only, disk->id, msg, msglen);
		if (ret) {
			*status = ret == -EAGAIN || ret == -EACCES || ret == -EPERM || ret == -EROFS ||
						  ret == -EBUSY
					  ? KFV_EXIT_UNAVAILABLE
					  : KFV_EXIT_NO_INPUT;
			return ret;
		}
	}
	if (o->rng) {
		struct rate_limit bytes = { o->rng_rate[0], o->rng_rate[1], o->rng_rate[2] };

		d->rng = calloc(1, sizeof(*d->rng));
		if (!d->rng)
			return -ENOMEM;
		ret = virtio_rng_init(d->rng, vm, index, &bytes, NULL);
		if (ret) {
			snprintf(msg, msglen, "virtio-rng: %s", strerror(-ret));
			free(d->rng);
			d->rng = NULL;
			return ret;
		}
	}
	return 0;
}

int virtio_devices_start(struct virtio_devices *d, char *msg, size_t msglen)
{
	int ret;

	for (unsigned i = 0; i < d->nr_disks; i++) {
		ret = virtio_mmio_start(&d->disks[i]->t);
		if (ret) {
			snprintf(msg, msglen, "starting virtio-blk %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	if (d->rng) {
		ret = virtio_mmio_start(&d->rng->t);
		if (ret) {
			snprintf(msg, msglen, "starting virtio-rng: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void virtio_devices_destroy(struct virtio_devices *d)
{
	if (d->rng) {
		virtio_mmio_destroy(&d->rng->t);
		free(d->rng);
		d->rng = NULL;
	}
	for (unsigned i = 0; i < d->nr_disks; i++) {
		if (d->disks[i]) {
			virtio_blk_destroy(d->disks[i]);
			free(d->disks[i]);
			d->disks[i] = NULL;
		}
	}
	d->nr_disks = 0;
}
