#!/usr/bin/env bash
# The demo (make demo): Debian's stock kernel with a small busybox
# userland (guests/linux/build.sh) on two vCPUs in a jailed VMM, with the
# integrity guard beside it and the orchestrator under the default policy
# (policy/default.json), a virtio disk, a virtio-net TAP in a network
# namespace the demo creates, and virtio-rng. The guest runs a short
# scripted session (uname, the CPUs, a disk write, a ping, an rng read) and
# powers off; kfv then prints its end-of-run and security summaries.
# A stock kernel needs hardware KVM: on a host whose /dev/kvm is a software
# KVM (PVM), or that has none, the demo runs inside the nested-KVM box and
# says so (docs/testing-kvmbox.md).
#
#   scripts/demo.sh          the Linux demo (make demo)
#   scripts/demo.sh --mini   the small one: build/guests/hello.elf (make demo-mini)
cd "$(dirname "$0")/.." || exit 1
events=build/demo-events.jsonl
rm -f "$events"

if [ "${1:-}" = --mini ]; then
	echo "== kfv demo: hello.elf, 2 vCPUs, jailed, guarded (check every 100 ms), default policy"
	tests/kvmbox/with-kvm build/kfv run --kernel build/guests/hello.elf --cpus 2 --debug-exit \
		--name demo --events "$events" --guard-period 100
	status=$?
	echo "== kfv exited with status $status; security events: $events ($(wc -l <"$events" 2>/dev/null || echo 0) lines)"
	exit "$status"
fi

if [ "${1:-}" != --linux ] && [ "${KFV_IN_KVMBOX:-0}" != 1 ]; then
	if ! [ -c /dev/kvm ]; then
		echo "== this host has no /dev/kvm: the demo runs inside the nested-KVM box (every instruction emulated; a minute or two)"
	elif [ -d /sys/module/kvm_pvm ]; then
		echo "== this host's /dev/kvm is a software KVM (PVM), which cannot run a stock kernel: the demo runs inside the nested-KVM box (a minute or two)"
	fi
	KFV_KVM_NEED=hardware exec tests/kvmbox/with-kvm "$0" --linux
fi

kernel=${KFV_TEST_VMLINUZ:-build/kvmbox/kernel/vmlinuz}
images=build/guests/linux
for f in "$kernel" "$images/initramfs.cpio.gz" "$images/rootfs.ext4"; do
	[ -e "$f" ] || { echo "demo: $f is missing (run scripts/install-deps.sh, then make demo)" >&2; exit 66; }
done
ns=kfv-demo-$$
tap=kfvdemo0
disk=$(mktemp "${TMPDIR:-/tmp}/kfv-demo-disk.XXXXXX")
cleanup() { ip netns del "$ns" 2>/dev/null; rm -f -- "$disk"; }
trap cleanup EXIT
cp "$images/rootfs.ext4" "$disk"
ip netns add "$ns" || { echo "demo: cannot create a network namespace (needs root and iproute2)" >&2; exit 71; }
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev "$tap" mode tap
ip -n "$ns" addr add 10.99.0.1/24 dev "$tap"
ip -n "$ns" link set "$tap" up

echo "== kfv demo: Debian's kernel $(cat build/kvmbox/kernel/version 2>/dev/null), busybox userland, 2 vCPUs, 512 MiB;"
echo "   jailed, guarded (check every 100 ms), default policy; virtio disk, net (TAP $tap in netns $ns, peer 10.99.0.1), rng"
# nsenter, not "ip netns exec": that one mounts a sysfs of its own, which
# hides the cgroup file system the jail puts the VMM in.
nsenter --net="/run/netns/$ns" build/kfv run --kernel "$kernel" --initrd "$images/initramfs.cpio.gz" \
	--cmdline "console=ttyS0 quiet panic=-1 pci=off kfv.run=demo kfv.ip=10.99.0.2/24 kfv.peer=10.99.0.1" \
	--cpus 2 --memory 512M --disk "$disk" --net "tap=$tap" --rng \
	--name demo --events "$events" --guard-period 100 </dev/null 2>&1 |
	grep --line-buffered -v '^KFV-INIT: \(insmod\|scenario\)'
status=${PIPESTATUS[0]}
echo "== kfv exited with status $status; security events: $events ($(wc -l <"$events" 2>/dev/null || echo 0) lines)"
exit "$status"
