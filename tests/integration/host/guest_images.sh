#!/usr/bin/env bash
# The guest kit's images are well formed (PVH notes, bzImage header), and
# every guest boots under QEMU's emulator, independently of kfv.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

TIMEOUT=120 run make -s guests-check
check "guest images well formed" "want every image ok" \
	eval '[ "$RC" = 0 ] && ! printf %s "$OUT$ERR" | grep -qi "fail\|error"'

if command -v qemu-system-x86_64 >/dev/null; then
	TIMEOUT=300 run make -s guests-qemu
	check "guest kit under QEMU (TCG)" "want every QEMU smoke case to pass" \
		eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q " 0 failed"'
else
	skip "guest kit under QEMU (TCG)" "qemu-system-x86_64 not installed"
fi
