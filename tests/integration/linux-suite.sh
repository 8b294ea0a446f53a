#!/usr/bin/env bash
# Runs the Linux guest tests (tests/integration/linux/*.sh): Debian's stock
# kernel with the test initramfs and root disk (guests/linux/build.sh).
# tests/run-all.sh starts this through tests/kvmbox/with-kvm with
# KFV_KVM_NEED=hardware: directly on a hardware KVM host, inside the
# nested-KVM box on a host whose KVM is PVM (which cannot run a stock
# kernel) or that has none. They are never skipped: where they cannot run,
# they fail.
cd "$(dirname "$0")/../.." || exit 1
if ! [ -c /dev/kvm ]; then
	echo "not ok - linux suite: /dev/kvm is not available here"
	exit 1
fi
if [ -d /sys/module/kvm_pvm ]; then
	echo "not ok - linux suite: this KVM is PVM, which cannot run a stock kernel (run through with-kvm with KFV_KVM_NEED=hardware)"
	exit 1
fi
# With test files as arguments, just those. Without, all of them but the
# QEMU cross-check, which tests/run-all.sh runs in a box of its own: a
# nested QEMU has been seen to wedge the box now and then, and a wedged box
# must not take the other tests' results with it.
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	for t in tests/integration/linux/*.sh; do
		case $t in */lib.sh|*/qemu_crosscheck.sh) continue ;; esac
		tests+=("$t")
	done
fi
for t in "${tests[@]}"; do
	bash "$t"
done
