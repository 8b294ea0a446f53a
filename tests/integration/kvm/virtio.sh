#!/usr/bin/env bash
# virtio-mmio devices on KVM: virtio-rng serves entropy; every attack-desc-*
# guest ends with the VMM alive, its bad chain refused and counted on the
# device's summary line (also under ASan+UBSan); virtio-blk writes, flushes
# and reads back, discards and writes zeroes (zeros in the image), a
# read-only disk refuses writes of every kind, rate-limited requests wait
# and pass, and a locked image cannot be opened by a second VM; rng and blk
# again with VIRTIO_F_EVENT_IDX negotiated.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

summary_line() { printf '%s\n' "$ERR" | grep "^kfv: $1 at "; }

run "$KFV" run --kernel "$GUESTS/virtio-rng.elf" --rng --debug-exit
check "virtio-rng.elf" "want status 0, the report line and bytes counted on the device" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "guest-report: [0-9]* passed, 0 failed" && summary_line virtio-rng | grep -q " 12352 bytes, .* 0 chains refused"'

run "$KFV" run --kernel "$GUESTS/virtio-rng.elf" --rng --debug-exit --cmdline event_idx
check "virtio-rng.elf with EVENT_IDX" "want status 0, the report line, the event index negotiated" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" && printf %s "$OUT" | grep -q ", event index" && summary_line virtio-rng | grep -q " 12352 bytes, .* 0 chains refused"'

run "$KFV" run --kernel "$GUESTS/virtio-rng.elf" --rng --rng-rate 2048,0,100 --debug-exit
check "virtio-rng.elf rate-limited" "want status 0, fewer bytes than asked and the bucket throttling at least once" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" && ! printf %s "$OUT" | grep -q " 12352 bytes" && summary_line virtio-rng | grep -q "[1-9][0-9]* throttled"'

# attack guest -> the refusal class(es) its summary line must show
declare -A CLASS=(
	[loop]="loop 2"
	[oob]="oob 3, next 1"
	[overflow]="oob 3"
	[indirect-nested]="indirect 2"
	[too-long]="too-long 2"
	[direction]="direction 2"
	[avail-idx]="avail-idx 1"
)
for kfv in "$KFV" "$KFV_ASAN"; do
	tag=$([ "$kfv" = "$KFV_ASAN" ] && echo " (ASan+UBSan)")
	for a in loop oob overflow indirect-nested too-long direction avail-idx; do
		run "$kfv" run --kernel "$GUESTS/attack-desc-$a.elf" --rng --debug-exit
		want=${CLASS[$a]}
		check "attack-desc-$a$tag" "want status 0, the report line and '($want' on the virtio-rng line" \
			eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" && summary_line virtio-rng | grep -q "($want"'
	done
done
run "$KFV" run --kernel "$GUESTS/attack-desc-avail-idx.elf" --rng --debug-exit
check "attack-desc-avail-idx: needs-reset counted" "want '1 needs-reset' and a reset on the summary line" \
	eval '[ "$RC" = 0 ] && summary_line virtio-rng | grep -q " 1 needs-reset"'

# virtio-blk
img=build/test-virtio-blk.img
rm -f "$img"
truncate -s 1M "$img"
run "$KFV" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img,id=kfv-test-disk" --debug-exit --cmdline "sector=16 seed=5"
check "virtio-blk.elf: write, flush, read back" "want status 0, the id echoed, and the pattern in the image" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "id \"kfv-test-disk\"" && printf %s "$OUT" | grep -q "passed, 0 failed"'
pattern=$(python3 -c "import sys; sys.stdout.write(bytes((i*7+5*13+(i>>9))&255 for i in range(4096)).hex())")
got=$(python3 -c "f=open('$img','rb'); f.seek(16*512); print(f.read(4096).hex())")
check "virtio-blk: data on the image" "want the guest's pattern at sector 16" eval '[ "$pattern" = "$got" ]'
zeroed=$(python3 -c "f=open('$img','rb'); d=f.read(); print(all(b == 0 for s in (25, 26, 29) for b in d[s*512:(s+1)*512]))")
check "virtio-blk: discard and write zeroes" "want the guest's zeroes read back and sectors 25, 26 and 29 zero in the image" \
	eval 'printf %s "$OUT" | grep -q "write zeroes read back as zeros (0 bytes off)" && [ "$zeroed" = True ] &&
	      summary_line virtio-blk | grep -q " 0 denied, 0 agent resets"'
printf '%s\n' "$ERR" | grep "^kfv: virtio-blk" | sed 's/^/# /'

run "$KFV_ASAN" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img" --debug-exit --cmdline "sector=40 event_idx"
check "virtio-blk.elf with EVENT_IDX (ASan+UBSan)" "want status 0, every check passed, the event index negotiated" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" && printf %s "$OUT" | grep -q ", event index"'

cp "$img" "$img.before"
run "$KFV" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img,ro" --debug-exit --cmdline "ro sector=24"
check "virtio-blk.elf read-only" "want status 0 (writes, discards, writes of zeroes refused with IOERR) and the image unchanged" \
	eval '[ "$RC" = 0 ] && cmp -s "$img" "$img.before"'

run "$KFV_ASAN" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img" --debug-exit
check "virtio-blk.elf (ASan+UBSan)" "want status 0" eval '[ "$RC" = 0 ]'

# Rate limits: throttled requests wait (the guest's checks all pass) and
# the waits are counted.
run "$KFV" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img,iops=2,iops_refill_ms=200" --debug-exit
check "virtio-blk.elf with iops=2 per 200 ms" "want status 0, all checks passed and throttling counted" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" && summary_line virtio-blk | grep -q "[1-9][0-9]* throttled"'
run "$KFV_ASAN" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img,bw=4K,bw_burst=0,bw_refill_ms=100" --debug-exit
check "virtio-blk.elf with bw=4K per 100 ms (ASan+UBSan)" "want status 0, all checks passed and throttling counted" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" && summary_line virtio-blk | grep -q "[1-9][0-9]* throttled"'

# A second VM on an image another one holds writable is refused.
"$KFV" run --kernel "$GUESTS/exitloop.elf" --disk "$img" --debug-exit --cmdline "n=100000000" >/dev/null 2>&1 &
holder=$!
sleep 2
run "$KFV" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img" --debug-exit
check "virtio-blk: image locked by another VM" "want status 69 and 'in use by another VM'" \
	eval '[ "$RC" = 69 ] && printf %s "$ERR" | grep -q "in use by another VM"'
run "$KFV" run --kernel "$GUESTS/virtio-blk.elf" --disk "$img,ro" --debug-exit --cmdline ro
check "virtio-blk: read-only open of a writably locked image" "want status 69" eval '[ "$RC" = 69 ]'
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
# ... and free the moment that kfv has exited: its io_uring ring lets go of
# the file only after the process is gone, so kfv drops the lock itself.
RC=0 OUT="" ERR=$(python3 -c '
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))  # F_OFD_SETLK
' "$img" 2>&1) || RC=$?
check "virtio-blk: the image is unlocked as soon as kfv exits" "want an OFD write lock at once" eval '[ "$RC" = 0 ]'
rm -f "$img" "$img.before"
