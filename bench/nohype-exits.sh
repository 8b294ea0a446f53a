#!/usr/bin/env bash
# nohype-exits: exits to the hypervisor for the same guest workload with
# --nohype (plus --dedicated-cpus when the host has two CPUs or more) over
# kfv's default configuration. Target: at most 0.5. Also prints the
# workload's speed ratio (default time over NoHype time; above 1 is faster).
#
# Workload: hello.elf (every CPU started, APs halt) and exitloop.elf (port
# writes from ring 3, the serial console), run one after the other.
# Exits are counted by KVM itself: the "kfv: kvm exits: N" summary line,
# which adds every vCPU's "exits" statistic from KVM_GET_STATS_FD (every
# exit from guest mode, those the kernel handles included: HLT, PAUSE,
# interrupts, NPT faults, port and MMIO exits). The exits that reach kfv
# (the "exits:" line) are printed too, and the port I/O floor: KVM's
# io_exits with --nohype over the default's exits, the lowest ratio any
# setting that leaves the guest's devices alone can reach (docs/nohype.md,
# "Benchmark"). Runs inside the nested-KVM box (tests/kvmbox) where
# /dev/kvm is missing, directly on a software KVM (PVM).
#
# Settings: KFV_BENCH_NOHYPE_REPS (3), KFV_BENCH_NOHYPE_N (20000 port writes).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if [ "${KFV_IN_KVMBOX:-0}" != 1 ] && ! [ -c /dev/kvm ]; then
	exec tests/kvmbox/with-kvm bash bench/nohype-exits.sh "$@"
fi
KFV=build/kfv
G=build/guests
reps=${KFV_BENCH_NOHYPE_REPS:-3}
n=${KFV_BENCH_NOHYPE_N:-20000}
ncpu=$(nproc)
cpus=$(( ncpu >= 2 ? 2 : 1 ))
nohype=(--nohype)
if [ "$ncpu" -ge 2 ]; then
	nohype+=(--dedicated-cpus "$(seq -s, $((ncpu - cpus)) $((ncpu - 1)))")
fi

# one_run ARGS...: prints "kvm_exits kfv_exits nanoseconds io_exits" for the
# workload (io_exits: KVM's io_exits statistic, the port I/O among them).
one_run() {
	local kvm=0 own=0 io=0 t0 t1 err out k o i
	t0=$(date +%s%N)
	for spec in "hello.elf --cpus $cpus" "exitloop.elf --cmdline n=$n"; do
		# One more try after a failed run: a guest has been seen to stop
		# with a triple fault early in its boot, very rarely (docs/bench.md).
		# shellcheck disable=SC2086
		err=$("$KFV" run --kernel "$G/"$spec --debug-exit "$@" 2>&1 >/dev/null) ||
			err=$("$KFV" run --kernel "$G/"$spec --debug-exit "$@" 2>&1 >/dev/null) ||
			{ echo "fail: $spec $*: $(printf '%s\n' "$err" | grep -v '^kfv: \(security\|sandbox\)' | paste -sd'|' -)"; return; }
		k=$(printf '%s\n' "$err" | sed -n 's/^kfv: kvm exits: \([0-9]*\).*/\1/p')
		i=$(printf '%s\n' "$err" | sed -n 's/^kfv: kvm exits: .* io \([0-9]*\),.*/\1/p')
		o=$(printf '%s\n' "$err" | sed -n 's/^kfv: exits:\(.*\)/\1/p' | grep -o '[0-9][0-9]*' | paste -sd+ | bc)
		kvm=$((kvm + ${k:-0})); own=$((own + ${o:-0})); io=$((io + ${i:-0}))
	done
	t1=$(date +%s%N)
	echo "$kvm $own $((t1 - t0)) $io"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >build/nohype-exits.default; : >build/nohype-exits.nohype
for ((i = 0; i < reps; i++)); do
	one_run >>build/nohype-exits.default
	one_run "${nohype[@]}" >>build/nohype-exits.nohype
done
if grep -q fail build/nohype-exits.default build/nohype-exits.nohype; then
	grep -h fail build/nohype-exits.default build/nohype-exits.nohype
	echo "nohype-exits: a run failed"
	exit 1
fi
dk=$(cut -d' ' -f1 build/nohype-exits.default | median); nk=$(cut -d' ' -f1 build/nohype-exits.nohype | median)
do_=$(cut -d' ' -f2 build/nohype-exits.default | median); no=$(cut -d' ' -f2 build/nohype-exits.nohype | median)
dt=$(cut -d' ' -f3 build/nohype-exits.default | median); nt=$(cut -d' ' -f3 build/nohype-exits.nohype | median)
ni=$(cut -d' ' -f4 build/nohype-exits.nohype | median)
rm -f build/nohype-exits.default build/nohype-exits.nohype
echo "default: $dk kvm exits, $do_ to kfv, $((dt / 1000000)) ms"
echo "nohype (${nohype[*]}): $nk kvm exits, $no to kfv, $((nt / 1000000)) ms"
echo "speed ratio (default time / nohype time): $(awk -v a="$dt" -v b="$nt" 'BEGIN { printf "%.2f", a / b }')"
# Port I/O exits are the guest talking to a device kfv emulates: no NoHype
# setting removes them, so they bound the ratio from below.
echo "port I/O floor (nohype io exits / default kvm exits): $(awk -v a="$ni" -v b="$dk" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
echo "nohype-exits: $(awk -v a="$nk" -v b="$dk" 'BEGIN { printf "%.2f", b ? a / b : 0 }') (kvm exits with ${nohype[*]} over the default configuration, hello + exitloop n=$n; target <= 0.5)"
