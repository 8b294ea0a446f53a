#!/usr/bin/env bash
# The test guest itself is right: the same kernel and initramfs under QEMU's
# microvm machine, on the same KVM, print the same markers (every vCPU
# online, a clean kernel log) and power off.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
. tests/integration/linux/lib.sh
linux_images_ok "linux: qemu cross-check" || exit 0
qemu=${KFV_TEST_QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null; then
	not_ok "linux: the test guest under QEMU microvm" "$qemu not found (scripts/install-deps.sh)"
	exit 0
fi
# -cpu host passes IA32_ARCH_CAPABILITIES through, which some KVMs refuse.
for cpu in host host,-arch-capabilities max; do
	TIMEOUT=150 run "$qemu" -M microvm,acpi=on,rtc=off -accel kvm -cpu "$cpu" -smp 2 -m 512M -nodefaults -no-user-config \
		-nographic -serial stdio -no-reboot -kernel "$LINUX_KERNEL" -initrd "$LINUX_INITRD" \
		-append "$LINUX_CMDLINE kfv.run=info"
	printf %s "$ERR" | grep -q "failed to set MSR" || break
done
check "linux: the test guest under QEMU microvm (-cpu $cpu) prints its markers and powers off" \
	"want status 0, cpus=2, online=0-1, dmesg_bad=0; got cpus=$(marker cpus) online=$(marker online) dmesg_bad=$(marker dmesg_bad)" \
	eval '[ "$RC" = 0 ] && [ "$(marker cpus)" = 2 ] && [ "$(marker online)" = 0-1 ] && [ "$(marker dmesg_bad)" = 0 ]'
