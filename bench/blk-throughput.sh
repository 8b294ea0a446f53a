#!/usr/bin/env bash
# blk-throughput: MB/s and IOPS of 4 KiB random reads from a guest driver
# loop running in ring 3, through kfv's virtio-blk, over the same guest file
# with the same image through QEMU's microvm virtio-blk, same KVM, same run,
# at queue depth 1 and at a deeper queue.
#
# Both VMMs boot build/guests/virtio-blk.elf with `mode=bench n=N depth=D`:
# the guest prints "virtio-blk: bench start n=N depth=D", does N reads of a
# pseudo-random 4 KiB block with D of them in flight (each completion is
# replaced by the next read and one notify; polling the used ring, no
# interrupts), and prints "virtio-blk: bench done n=N reads, 0 errors".
# A run's time is the gap between those two lines as they arrive
# on the VMM's stdout (bench/measure), so VMM start-up, guest boot and
# device set-up are outside it. The image is a file of random bytes in a
# tmpfs-backed directory (the page cache), so both VMMs are measured on
# their request path, not on a disk.
#
# Each round runs both VMMs at both depths, alternating which VMM goes
# first; the headline is, per depth, the median over rounds of the round's
# kfv/QEMU throughput ratio (higher is better for kfv). With a fixed 4 KiB
# request size, the IOPS ratio is the same number; both are printed. At
# depth 1 each read waits for the one before (latency); deeper, both VMMs
# may overlap requests (kfv through io_uring, QEMU through its thread
# pool) and the driver notifies once per completion.
#
# QEMU: qemu-system-x86_64 -M microvm -enable-kvm -cpu MODEL -m 128M
# -nodefaults -global virtio-mmio.force-legacy=false (modern virtio-mmio,
# which the guest kit's driver requires) -drive ...,format=raw,if=none
# -device virtio-blk-device (QEMU's defaults: cache=writeback, aio=threads).
#
# Settings (environment): KFV_BENCH_BLK_REPS (rounds, 3), KFV_BENCH_BLK_N
# (reads per run; default: sized per depth from a warm-up run so one run
# takes about KFV_BENCH_BLK_SECONDS, 4), KFV_BENCH_BLK_DEPTH (the deeper
# queue, 16; at most 64), KFV_BENCH_BLK_IMAGE_MB (64), KFV_BENCH_QEMU
# (qemu-system-x86_64).
BENCH_NAME=blk-throughput
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_BLK_REPS:-3}
target_s=${KFV_BENCH_BLK_SECONDS:-4}
deep=${KFV_BENCH_BLK_DEPTH:-16}
image_mb=${KFV_BENCH_BLK_IMAGE_MB:-64}
qemu=${KFV_BENCH_QEMU:-qemu-system-x86_64}
guest=$GUESTS/virtio-blk.elf
log=$BENCH_TMP/blk-throughput.log
command -v "$qemu" >/dev/null || bench_fail "$qemu not found (scripts/install-deps.sh)"
qemu_cpu=$(bench_qemu_cpu) || bench_fail "no QEMU -cpu model works with this KVM (KFV_BENCH_QEMU_CPU)"
if ! [[ $deep =~ ^[0-9]+$ ]] || ((deep < 2 || deep > 64)); then
	bench_fail "KFV_BENCH_BLK_DEPTH=$deep: want 2 to 64"
fi
[ -e "$guest" ] || bench_fail "${guest#"$BENCH_ROOT"/} is missing; run make first"

# The image lives in RAM: /dev/shm where there is one (the box's /tmp is a
# tmpfs too), never on a 9p or network file system.
imgdir=/dev/shm
[ -d "$imgdir" ] && [ -w "$imgdir" ] || imgdir=${TMPDIR:-/tmp}
img=$(mktemp "$imgdir/kfv-bench-blk.XXXXXX") || bench_fail "cannot create an image in $imgdir"
trap 'rm -f "$img"' EXIT
head -c "$((image_mb << 20))" /dev/urandom >"$img" || bench_fail "cannot write a $image_mb MiB image"

vmm_cmd() { # vmm_cmd kfv|qemu N DEPTH: sets CMD and WANT (exit status)
	if [ "$1" = kfv ]; then
		CMD=("$KFV" run --quiet --debug-exit --memory 128M --kernel "$guest" --disk "$img"
		     --cmdline "mode=bench n=$2 depth=$3")
		WANT=0
	else
		# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
		CMD=("$qemu" -M microvm -enable-kvm -cpu "$qemu_cpu" -m 128M -nodefaults -no-user-config -nographic
		     -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4
		     -global virtio-mmio.force-legacy=false
		     -drive "id=d0,file=$img,format=raw,if=none" -device virtio-blk-device,drive=d0
		     -kernel "$guest" -append "mode=bench n=$2 depth=$3")
		WANT=1 # isa-debug-exit: (0 << 1) | 1
	fi
}

run_one() { # run_one kfv|qemu N DEPTH: sets T (ns between the start and done lines)
	local from line status
	vmm_cmd "$1" "$2" "$3"
	read -r from line _ status < <("$MEASURE" time --from "virtio-blk: bench start" \
		--line "virtio-blk: bench done" --log "$log" --timeout 300 -- "${CMD[@]}")
	if [ "${status:-x}" != "$WANT" ] || [ "${from:--1}" -lt 0 ] || [ "${line:--1}" -lt 0 ] ||
	   ! grep -q "^virtio-blk: bench done n=$2 reads, 0 errors" "$log"; then
		sed 's/^/  | /' "$log" >&2
		bench_fail "$1 with n=$2 depth=$3: status ${status:-none} (want $WANT), no clean \"bench done\" line"
	fi
	T=$((line - from))
}

# Warm-up (page cache, first-use paths) and the size of a run at each depth.
n0=${KFV_BENCH_BLK_N:-500}
declare -A N
for depth in 1 "$deep"; do
	run_one kfv "$n0" "$depth"; tk=$T
	run_one qemu "$n0" "$depth"; tq=$T
	if [ -n "${KFV_BENCH_BLK_N:-}" ]; then
		N[$depth]=$KFV_BENCH_BLK_N
	else
		slow=$((tk > tq ? tk : tq))
		n=$(calc '%.0f' "$n0 * $target_s * 1e9 / $slow")
		N[$depth]=$(( n < 200 ? 200 : n > 2000000 ? 2000000 : n ))
	fi
done

mbs() { calc '%.2f' "$1 * 4096 / ($2 / 1e9) / 1e6"; } # mbs N T_NS
iops() { calc '%.0f' "$1 / ($2 / 1e9)"; }

echo "$BENCH_NAME: guest virtio-blk.elf mode=bench (4 KiB random reads, ring 3) at queue depth 1 (n=${N[1]}) and $deep (n=${N[$deep]}), $image_mb MiB image in $imgdir, $reps rounds"
echo "  QEMU $("$qemu" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') -M microvm -enable-kvm -cpu $qemu_cpu"
declare -A kfv_mb qemu_mb ratios
for ((r = 1; r <= reps; r++)); do
	if ((r % 2)); then order="kfv qemu"; else order="qemu kfv"; fi
	for depth in 1 "$deep"; do
		n=${N[$depth]}
		for vmm in $order; do
			run_one "$vmm" "$n" "$depth"
			printf -v "t_$vmm" '%s' "$T"
		done
		# shellcheck disable=SC2154 # set through printf -v above
		km=$(mbs "$n" "$t_kfv") qm=$(mbs "$n" "$t_qemu")
		ratio=$(calc '%.4f' "$t_qemu / $t_kfv")
		kfv_mb[$depth]+=" $km" qemu_mb[$depth]+=" $qm" ratios[$depth]+=" $ratio"
		echo "  round $r, depth $depth: kfv $km MB/s ($(iops "$n" "$t_kfv") IOPS), QEMU $qm MB/s ($(iops "$n" "$t_qemu") IOPS), ratio $(calc '%.3f' "$ratio")"
	done
done
declare -A R
for depth in 1 "$deep"; do
	# shellcheck disable=SC2086 # word splitting wanted: the lists are space-separated
	km=$(median ${kfv_mb[$depth]}) qm=$(median ${qemu_mb[$depth]}) R[$depth]=$(median ${ratios[$depth]})
	# shellcheck disable=SC2086
	read -r qlo qhi < <(minmax ${ratios[$depth]})
	echo "  depth $depth: kfv median $km MB/s, $(calc '%.0f' "$km * 1e6 / 4096") IOPS; QEMU microvm median $qm MB/s, $(calc '%.0f' "$qm * 1e6 / 4096") IOPS"
	echo "  depth $depth: ratio: median of rounds $(calc '%.3f' "${R[$depth]}") (range $(calc '%.3f' "$qlo") .. $(calc '%.3f' "$qhi"))"
done
echo "$BENCH_NAME: $(calc '%.3f' "${R[1]}") (kfv over QEMU microvm, 4 KiB random reads MB/s = IOPS ratio, queue depth 1); queue depth $deep: $(calc '%.3f' "${R[$deep]}")"
