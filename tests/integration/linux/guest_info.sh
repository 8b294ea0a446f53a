#!/usr/bin/env bash
# What a stock kernel finds under kfv: every vCPU online (1, 2 and 4), all
# of RAM above 4 GiB usable across the MMIO hole, the wall clock within a
# minute of the host's, a clean kernel log (no ACPI Error, BUG:, WARNING:,
# Firmware Bug, call trace), virtio-rng behind /dev/hwrng, console output
# to a file intact, and a benign boot - with or without pci=off, and with
# Firecracker's usual command line - raising nothing above notice under
# the default policy, with the guard checking throughout. The runs end in
# the three ways a stock kernel ends one: poweroff (status 0, "guest
# powered off"), reboot by its default method, and reboot=k through the
# i8042 (both status 80). One boot checks several things: the Linux tests
# have a budget of a few minutes in the nested box.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
. tests/integration/linux/lib.sh
linux_images_ok "linux: guest info" || exit 0

# info_checks TAG CPUS MEMORY-MIB STATUS REASON: the last run's markers,
# its exit status and the reason kfv gave.
info_checks() {
	local tag=$1 cpus=$2 mem_mib=$3 status=$4 reason=$5 online want_online epoch now mem_kb bad
	online=$(marker online) epoch=$(marker epoch) mem_kb=$(marker memtotal_kb) bad=$(marker dmesg_bad)
	now=$(date +%s)
	# The guest read its clock some time during the run: between its start
	# (RUN_START) and now, give or take the minute allowed.
	want_online=0
	[ "$cpus" -gt 1 ] && want_online="0-$((cpus - 1))"
	check "linux $tag: the guest ends the run: status $status, '$reason'" "want status $status and '$reason'" \
		eval '[ "$RC" = "$status" ] && printf %s "$ERR" | grep -q "vm stopped: $reason"'
	check "linux $tag: $cpus vCPUs online" "want cpus=$cpus online=$want_online, got cpus=$(marker cpus) online=$online" \
		eval '[ "$(marker cpus)" = "$cpus" ] && [ "$online" = "$want_online" ]'
	# The kernel keeps its image, page tables and reservations: at most
	# 10% plus 64 MiB of RAM may be missing from MemTotal.
	check "linux $tag: MemTotal covers the ${mem_mib} MiB given" "MemTotal ${mem_kb:-?} kB" \
		eval '[ -n "$mem_kb" ] && [ "$mem_kb" -le $((mem_mib * 1024)) ] && [ "$mem_kb" -ge $((mem_mib * 1024 * 9 / 10 - 65536)) ]'
	check "linux $tag: wall clock within a minute of the host's" "guest epoch ${epoch:-?}, host $RUN_START to $now" \
		eval '[ -n "$epoch" ] && [ "$epoch" -ge $((RUN_START - 60)) ] && [ "$epoch" -le $((now + 60)) ]'
	check "linux $tag: kernel log free of errors, warnings and call traces" \
		"$(printf %s "$OUT" | grep '^KFV-BAD' | head -n 3 | tr '\n' '|')" eval '[ "$bad" = 0 ]'
	benign "linux $tag: no event above notice, no action, guard checks with 0 alarms"
}

RUN_START=$(date +%s)
linux_run "pci=off kfv.run=info,rng,bulk" --cpus 2 --memory 512M --rng
info_checks "2 vCPUs, pci=off, poweroff" 2 512 0 "guest powered off"
check "linux: virtio-rng feeds /dev/hwrng" "want 64 bytes from a virtio rng, got $(marker rng_bytes) from $(marker rng_current)" \
	eval '[ "$(marker rng_bytes)" = 64 ] && marker rng_current | grep -q virtio'
# 1000 numbered lines from userspace, each in its place: nothing lost,
# nothing reordered on the way to a file.
check "linux: userspace console output reaches a file intact" "the 1000 lines of the bulk scenario" \
	eval '[ "$(printf %s "$OUT" | tr -d "\r" | sed -n "s/^KFV-BULK //p" | md5sum)" = "$(seq 1 1000 | md5sum)" ]'

# Without pci=off: the kernel probes PCI configuration space. Its default
# reboot method ends at the reset vector, whose stub writes the ACPI reset
# register (docs/boot.md).
RUN_START=$(date +%s)
linux_run "kfv.run=info,reboot" --cpus 4 --memory 5G
info_checks "4 vCPUs, 5 GiB, PCI probed, reboot" 4 5120 80 "guest requested a reset through the ACPI reset register"

# Firecracker's recommended guest command line (less 8250.nr_uarts=0,
# which would leave no console).
# reboot=k: the reset through the i8042, as Firecracker's guests do.
RUN_START=$(date +%s)
linux_run "reboot=k panic=1 pci=off nomodule i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce kfv.run=info,reboot" \
	--cpus 1 --memory 256M
info_checks "1 vCPU, Firecracker's command line, reboot=k" 1 256 80 "guest requested a reset through the i8042"
