#!/usr/bin/env bash
# The demo: boots the hello guest on two vCPUs and prints kfv's end-of-run
# summary. On a host without a usable /dev/kvm it runs inside the
# nested-KVM box (see docs/testing-kvmbox.md).
cd "$(dirname "$0")/.." || exit 1
echo "== kfv demo: hello.elf, 2 vCPUs"
tests/kvmbox/with-kvm build/kfv run --kernel build/guests/hello.elf --cpus 2 --debug-exit
status=$?
echo "== kfv exited with status $status"
exit "$status"
