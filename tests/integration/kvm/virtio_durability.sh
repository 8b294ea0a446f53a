#!/usr/bin/env bash
# No data lost on virtio-blk: (1) a guest writes and flushes, kfv is killed
# with SIGKILL right after the guest saw the flush complete, and the data
# is in the image; (2) the host file system under the image is full: the
# guest's writes fail with VIRTIO_BLK_S_IOERR, the device keeps answering
# and kfv exits normally (also under ASan+UBSan).
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

pattern_hex() { python3 -c "import sys; s=$1; sys.stdout.write(bytes((i*7+s*13+(i>>9))&255 for i in range(4096)).hex())"; }
image_hex() { python3 -c "f=open('$1','rb'); f.seek($2*512); print(f.read(4096).hex())"; }

# 1. SIGKILL after a completed flush.
img=build/test-durability.img
rm -f "$img"
truncate -s 1M "$img"
log=$TEST_TMP/write-flush-wait.out
"$KFV" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img" --cmdline "mode=write-flush-wait sector=40 seed=9" \
	>"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 600); do
	grep -q "virtio-blk: flushed" "$log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if grep -q "virtio-blk: flushed" "$log"; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$rc" = 137 ] && [ "$(pattern_hex 9)" = "$(image_hex "$img" 40)" ]; then
		ok "virtio-blk: flushed data survives SIGKILL of kfv"
	else
		not_ok "virtio-blk: flushed data survives SIGKILL of kfv" "status $rc (want 137) or the pattern is not at sector 40"
	fi
else
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	not_ok "virtio-blk: flushed data survives SIGKILL of kfv" "no flush marker within 60 s: $(tail -n 3 "$log" | tr '\n' '|')"
fi
rm -f "$img"

# 2. A full host file system under the image.
if [ "$(id -u)" != 0 ]; then
	skip "virtio-blk: full host file system" "needs root to mount a small tmpfs"
	exit 0
fi
mnt=build/test-fullfs.$$
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=256k kfv-fullfs "$mnt"; then
	rmdir "$mnt"
	skip "virtio-blk: full host file system" "cannot mount a tmpfs"
	exit 0
fi
trap 'umount "$mnt" 2>/dev/null; rmdir "$mnt" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
for kfv in "$KFV" "$KFV_ASAN"; do
	tag=$([ "$kfv" = "$KFV_ASAN" ] && echo " (ASan+UBSan)")
	rm -f "$mnt/disk.img"
	truncate -s 2M "$mnt/disk.img" # sparse: only 256 KiB of it can be written
	run "$kfv" run --kernel "$GUESTS/virtio-blk.elf" --disk "$mnt/disk.img" --debug-exit --cmdline "mode=fill"
	check "virtio-blk: full host file system gives the guest IOERR$tag" \
		"want status 0, the writes stopped with status 1 (IOERR) and io errors counted" \
		eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "writes stopped at sector [0-9]* of 4096 with status 1" &&
		      printf %s "$OUT" | grep -q "passed, 0 failed" &&
		      printf "%s\n" "$ERR" | grep -q "^kfv: virtio-blk at .* [1-9][0-9]* io errors"'
done
