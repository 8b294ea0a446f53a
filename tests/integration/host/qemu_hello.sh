#!/usr/bin/env bash
# The same hello.elf boots under QEMU's microvm (the PVH note is standard),
# with KVM where the host has it and QEMU's own emulator otherwise.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

if ! command -v qemu-system-x86_64 >/dev/null; then
	skip "qemu microvm boots hello.elf" "qemu-system-x86_64 not installed"
	exit 0
fi
if has_kvm; then accel="-enable-kvm"; else accel="-accel tcg"; fi
for n in 1 2; do
	# shellcheck disable=SC2086
	TIMEOUT=120 run qemu-system-x86_64 -M microvm $accel -cpu qemu64 -smp "$n" -m 128M -nodefaults \
		-no-user-config -nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$GUESTS/hello.elf"
	# isa-debug-exit turns the guest's 0 into QEMU's status (0 << 1) | 1
	check "qemu microvm ($accel) boots hello.elf, $n cpus" "want 'hello: $n cpus online' and status 1" \
		eval '[ "$RC" = 1 ] && printf %s "$OUT" | tr -d "\r" | grep -qx "hello: $n cpus online"'
done
