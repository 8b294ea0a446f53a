#!/usr/bin/env bash
# nohype-exits: exits to the hypervisor for the same guest workload with
# --nohype (plus --dedicated-cpus when the host has two CPUs or more) over
# kfv's default configuration. Target: at most 0.5. Also prints the
# workload's speed ratio (default time over NoHype time; above 1 is faster).
#
# Workload (the headline): hello.elf (every CPU started, APs halt), then
# virtio-blk.elf mode=bench (KFV_BENCH_NOHYPE_BLK_N 4 KiB reads at queue
# depth 1 from ring 3, VIRTIO_F_EVENT_IDX negotiated as any Linux guest
# does) on an image in /dev/shm. With --nohype the device busy-polls its
# ring after each request and tells the driver not to notify meanwhile
# (docs/nohype.md), which takes the notification exits away. A second,
# serial workload is measured too and printed on its own line: hello.elf
# and exitloop.elf (port writes from ring 3), whose exits are port I/O to
# devices kfv keeps, which no NoHype setting removes (the port I/O floor:
# KVM's io_exits with --nohype over the default's exits).
#
# Exits are counted by KVM itself: the "kfv: kvm exits: N" summary line,
# which adds every vCPU's "exits" statistic from KVM_GET_STATS_FD (every
# exit from guest mode, those the kernel handles included: HLT, PAUSE,
# interrupts, NPT faults, port and MMIO exits, ioeventfd notifications).
# The exits that reach kfv (the "exits:" line) are printed too. Runs inside
# the nested-KVM box (tests/kvmbox) where /dev/kvm is missing, directly on
# a software KVM (PVM).
#
# Settings: KFV_BENCH_NOHYPE_REPS (3), KFV_BENCH_NOHYPE_BLK_N (5000 reads),
# KFV_BENCH_NOHYPE_N (20000 port writes).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if [ "${KFV_IN_KVMBOX:-0}" != 1 ] && ! [ -c /dev/kvm ]; then
	exec tests/kvmbox/with-kvm bash bench/nohype-exits.sh "$@"
fi
KFV=build/kfv
G=build/guests
reps=${KFV_BENCH_NOHYPE_REPS:-3}
n=${KFV_BENCH_NOHYPE_N:-20000}
blk_n=${KFV_BENCH_NOHYPE_BLK_N:-5000}
ncpu=$(nproc)
cpus=$(( ncpu >= 2 ? 2 : 1 ))
nohype=(--nohype)
nohype1=(--nohype)
if [ "$ncpu" -ge 2 ]; then
	nohype+=(--dedicated-cpus "$(seq -s, $((ncpu - cpus)) $((ncpu - 1)))")
	nohype1+=(--dedicated-cpus "$((ncpu - 1))")
fi
imgdir=/dev/shm
[ -d "$imgdir" ] && [ -w "$imgdir" ] || imgdir=${TMPDIR:-/tmp}
img=$(mktemp "$imgdir/kfv-bench-nohype.XXXXXX") || { echo "nohype-exits: cannot create an image"; exit 1; }
trap 'rm -f "$img" build/nohype-exits.*' EXIT
head -c $((16 << 20)) /dev/urandom >"$img"

# vm NOHYPE-ARGS... -- KFV-ARGS...: one kfv run (once more after a failure:
# a guest has been seen to stop with a triple fault early in its boot, very
# rarely, docs/bench.md); sets K (KVM exits), O (exits to kfv), I (KVM's
# io_exits) or prints "fail: ..." and returns 1.
vm() {
	local flags=() err
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	err=$("$KFV" run --debug-exit "$@" "${flags[@]}" 2>&1 >/dev/null) ||
		err=$("$KFV" run --debug-exit "$@" "${flags[@]}" 2>&1 >/dev/null) ||
		{ echo "fail: $* ${flags[*]}: $(printf '%s\n' "$err" | grep -v '^kfv: \(security\|sandbox\)' | paste -sd'|' -)"; return 1; }
	K=$(printf '%s\n' "$err" | sed -n 's/^kfv: kvm exits: \([0-9]*\).*/\1/p')
	I=$(printf '%s\n' "$err" | sed -n 's/^kfv: kvm exits: .* io \([0-9]*\),.*/\1/p')
	O=$(printf '%s\n' "$err" | sed -n 's/^kfv: exits:\(.*\)/\1/p' | grep -o '[0-9][0-9]*' | paste -sd+ | bc)
}

# one_run blk|serial default|nohype: prints "kvm_exits kfv_exits nanoseconds
# io_exits" for that workload and configuration.
one_run() {
	local kvm=0 own=0 io=0 t0 t1 all=() one=()
	[ "$2" = nohype ] && all=("${nohype[@]}") one=("${nohype1[@]}")
	t0=$(date +%s%N)
	vm "${all[@]}" -- --kernel "$G/hello.elf" --cpus "$cpus" || return
	kvm=$((kvm + ${K:-0})) own=$((own + ${O:-0})) io=$((io + ${I:-0}))
	if [ "$1" = blk ]; then
		vm "${one[@]}" -- --kernel "$G/virtio-blk.elf" --memory 128M --disk "$img" \
			--cmdline "mode=bench n=$blk_n depth=1 event_idx" || return
	else
		vm "${one[@]}" -- --kernel "$G/exitloop.elf" --cmdline "n=$n" || return
	fi
	kvm=$((kvm + ${K:-0})) own=$((own + ${O:-0})) io=$((io + ${I:-0}))
	t1=$(date +%s%N)
	echo "$kvm $own $((t1 - t0)) $io"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$1" "build/nohype-exits.$2" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

for w in blk serial; do
	: >"build/nohype-exits.$w-default"; : >"build/nohype-exits.$w-nohype"
	for ((i = 0; i < reps; i++)); do
		one_run "$w" default >>"build/nohype-exits.$w-default"
		one_run "$w" nohype >>"build/nohype-exits.$w-nohype"
	done
	if grep -q fail "build/nohype-exits.$w-default" "build/nohype-exits.$w-nohype"; then
		grep -h fail "build/nohype-exits.$w-default" "build/nohype-exits.$w-nohype"
		echo "nohype-exits: a run failed"
		exit 1
	fi
done
echo "nohype-exits: medians of $reps runs each; NoHype: ${nohype[*]} (hello), ${nohype1[*]} (the second guest)"
for w in blk serial; do
	dk=$(col 1 "$w-default") nk=$(col 1 "$w-nohype") do_=$(col 2 "$w-default") no=$(col 2 "$w-nohype")
	dt=$(col 3 "$w-default") nt=$(col 3 "$w-nohype") ni=$(col 4 "$w-nohype")
	if [ "$w" = blk ]; then
		what="hello + virtio-blk $blk_n reads at depth 1"
		headline=$(ratio "$nk" "$dk")
	else
		what="hello + exitloop n=$n"
	fi
	echo "  $what: default $dk kvm exits ($do_ to kfv, $((dt / 1000000)) ms); NoHype $nk ($no to kfv, $((nt / 1000000)) ms);" \
		"ratio $(ratio "$nk" "$dk"); speed (default time / NoHype time) $(ratio "$dt" "$nt")"
	# Port I/O exits are the guest talking to a device kfv emulates: no
	# NoHype setting removes them, so they bound the ratio from below.
	[ "$w" = serial ] && echo "  $what: port I/O floor (NoHype io exits / default kvm exits) $(ratio "$ni" "$dk")"
done
echo "nohype-exits: $headline (kvm exits with --nohype over the default configuration, hello + virtio-blk $blk_n reads; target <= 0.5)"
