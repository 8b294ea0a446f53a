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
	p->nr = o->nr_disks + o->nr_nets + (o->rng ? 1 : 0);
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
		struct virtio_blk_config cfg = {
			.path = disk->path, .read_only = disk->read_only, .id = disk->id,
			.bw = { disk->bw[0], disk->bw[1], disk->bw[2] },
			.iops = { disk->iops[0], disk->iops[1], disk->iops[2] },
		};

		ret = virtio_blk_init(d->disks[i], vm, index, &cfg, msg, msglen);
		if (ret) {
			*status = ret == -EAGAIN || ret == -EACCES || ret == -EPERM || ret == -EROFS ||
						  ret == -EBUSY
					  ? KFV_EXIT_UNAVAILABLE
					  : KFV_EXIT_NO_INPUT;
			return ret;
		}
	}
	for (unsigned i = 0; i < o->nr_nets; i++, index++) {
		const struct net_option *no = &o->nets[i];
		struct virtio_net_config cfg = {
			.tap = no->tap, .mtu = (uint16_t)no->mtu,
			.mac = { 0x02, 0x4b, 0x46, 0x56, 0x00, (uint8_t)index }, /* locally administered */
			.rx_bw = { no->rx_bw[0], no->rx_bw[1], no->rx_bw[2] },
			.rx_ops = { no->rx_ops[0], no->rx_ops[1], no->rx_ops[2] },
			.tx_bw = { no->tx_bw[0], no->tx_bw[1], no->tx_bw[2] },
			.tx_ops = { no->tx_ops[0], no->tx_ops[1], no->tx_ops[2] },
		};

		if (no->has_mac)
			memcpy(cfg.mac, no->mac, 6);
		d->nets[i] = calloc(1, sizeof(*d->nets[i]));
		if (!d->nets[i])
			return -ENOMEM;
		d->nets[i]->tap_fd = -1;
		d->nr_nets = i + 1;
		ret = virtio_net_init(d->nets[i], vm, index, &cfg, msg, msglen);
		if (ret) {
			/* A missing, busy or wrong TAP is the host's state, not a
			 * bad command line. */
			*status = KFV_EXIT_UNAVAILABLE;
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

int virtio_devices_start(struct virtio_devices *d, uint64_t busy_poll_ns, char *msg, size_t msglen)
{
	int ret;

	for (unsigned i = 0; i < d->nr_disks; i++) {
		ret = virtio_mmio_start(&d->disks[i]->t, busy_poll_ns);
		if (ret) {
			snprintf(msg, msglen, "starting virtio-blk %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	for (unsigned i = 0; i < d->nr_nets; i++) {
		ret = virtio_mmio_start(&d->nets[i]->t, busy_poll_ns);
		if (ret) {
			snprintf(msg, msglen, "starting virtio-net %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	if (d->rng) {
		ret = virtio_mmio_start(&d->rng->t, busy_poll_ns);
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
	for (unsigned i = 0; i < d->nr_nets; i++) {
		if (d->nets[i]) {
			virtio_net_destroy(d->nets[i]);
			free(d->nets[i]);
			d->nets[i] = NULL;
		}
	}
	d->nr_nets = 0;
	for (unsigned i = 0; i < d->nr_disks; i++) {
		if (d->disks[i]) {
			virtio_blk_destroy(d->disks[i]);
			free(d->disks[i]);
			d->disks[i] = NULL;
		}
	}
	d->nr_disks = 0;
}
