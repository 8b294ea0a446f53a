/* The virtio devices of one VM, from the options to teardown: which
 * window and GSI each gets (disks first, then network devices, each in
 * command-line order, then the rng), how they are described to the guest (ACPI LNRO0005 devices and
 * `virtio_mmio.device=` on the command line), creation and teardown. */
#ifndef KFV_CLI_VIRTIO_DEVICES_H
#define KFV_CLI_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#include "../boot/boot.h"
#include "../devices/virtio/blk.h"
#include "../devices/virtio/mmio.h"
#include "../devices/virtio/net.h"
#include "../devices/virtio/rng.h"
#include "options.h"

struct virtio_plan {
	struct boot_acpi_mmio_dev acpi[VIRTIO_MMIO_MAX_DEVS];
	unsigned nr;
	char cmdline[4096]; /* the user's command line plus one virtio_mmio.device= per device */
};

struct virtio_devices {
	struct virtio_blk *disks[KFV_MAX_DISKS];
	unsigned nr_disks;
	struct virtio_net *nets[KFV_MAX_NETS];
	unsigned nr_nets;
	struct virtio_rng *rng;
};

/* Lays the devices out. Returns 0, or -E2BIG when the command line would
 * grow past 4095 bytes (msg says so). */
int virtio_plan(const struct run_options *o, struct virtio_plan *p, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Opens the backends and registers every device on vm's MMIO bus, in
 * plan order. On failure msg names the device and *status is the exit
 * status to use; what was created is left for virtio_devices_destroy(). */
int virtio_devices_create(struct virtio_devices *d, struct vm *vm, const struct run_options *o, char *msg,
			  size_t msglen, int *status) __attribute__((warn_unused_result));

/* Starts every device's worker (ioeventfd, irqfd); busy_poll_ns as for
 * virtio_mmio_start(). */
int virtio_devices_start(struct virtio_devices *d, uint64_t busy_poll_ns, char *msg, size_t msglen)
	__attribute__((warn_unused_result));

/* Stops the workers and releases everything; safe on a zeroed struct. */
void virtio_devices_destroy(struct virtio_devices *d);

#endif
