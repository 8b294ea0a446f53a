#!/usr/bin/env bash
# exit-roundtrip: what one port-I/O exit from guest ring 3 costs through kfv,
# over what it costs through a raw KVM_RUN loop (bench/raw_exit_loop.c) doing
# the same exits in the same run. Target: at most 1.05.
#
# Both VMMs boot build/guests/exitloop.elf, which prints its runtime's boot
# lines ("kfv-guest: ..."), writes port 0x80 n times from ring 3 and then
# prints "exitloop: n exits". A run's time t(n) is from the arrival of the
# last boot line to the arrival of that final line, so VMM start-up and
# guest boot are outside it; what little else does not depend on n (the
# switch to ring 3, printing the line) cancels in t(N2) - t(N1), so the
# per-exit cost is
#   (t(N2) - t(N1)) / (N2 - N1).
# Rounds alternate which VMM goes first; each side's median is taken.
#
# Settings (environment): KFV_BENCH_EXIT_REPS (rounds, 5), KFV_BENCH_EXIT_N1
# (10000), KFV_BENCH_EXIT_N2 (default: sized so N2 - N1 exits take about
# KFV_BENCH_EXIT_SECONDS, 2, judged from the warm-up runs).
BENCH_NAME="exit-roundtrip"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_EXIT_REPS:-5}
n1=${KFV_BENCH_EXIT_N1:-10000}
target_s=${KFV_BENCH_EXIT_SECONDS:-2}
log=$BENCH_TMP/exit-roundtrip.log

# run_exitloop kfv|raw N: sets T to nanoseconds from the last boot line to
# the "exitloop:" line
run_exitloop() {
	local vmm=$1 n=$2 from line status cmd
	if [ "$vmm" = kfv ]; then
		cmd=("$KFV" run --quiet --debug-exit --memory 128M --kernel "$GUESTS/exitloop.elf" --cmdline "n=$n")
	else
		cmd=("$RAW_LOOP" "$GUESTS/exitloop.elf" "n=$n" 128)
	fi
	read -r from line _ status < <("$MEASURE" time --from "kfv-guest: " --line "exitloop: " --log "$log" \
		--timeout 600 -- "${cmd[@]}")
	if [ "${status:-x}" != 0 ] || [ "${from:--1}" -lt 0 ] || [ "${line:--1}" -lt 0 ] ||
	   ! grep -qx "exitloop: $n exits" "$log"; then
		sed 's/^/  | /' "$log" >&2
		bench_fail "$vmm with n=$n: status ${status:-none}, no \"exitloop: $n exits\" line"
	fi
	T=$((line - from))
}

# Warm-up (page cache, KVM module paths) and a first estimate of the cost
# of one exit, to size N2.
for vmm in kfv raw; do
	run_exitloop "$vmm" 0; t0=$T
	run_exitloop "$vmm" "$n1"; t1=$T
	est_ns=$(calc '%.0f' "($t1 - $t0) / $n1")
	if [ "$vmm" = kfv ]; then est_kfv=$est_ns; else est_raw=$est_ns; fi
done
if [ -n "${KFV_BENCH_EXIT_N2:-}" ]; then
	n2=$KFV_BENCH_EXIT_N2
else
	est=$est_raw
	[ "$est" -gt 0 ] 2>/dev/null || est=1000
	n2=$(calc '%.0f' "$n1 + $target_s * 1e9 / $est")
	n2=$(( n2 < n1 + 10000 ? n1 + 10000 : n2 > 100000000 ? 100000000 : n2 ))
	n2=$(( (n2 + 999) / 1000 * 1000 ))
fi
[ "$n2" -gt "$n1" ] || bench_fail "N2 ($n2) must be larger than N1 ($n1)"
dn=$((n2 - n1))

echo "$BENCH_NAME: guest exitloop.elf (port 0x80 writes from ring 3), N1=$n1 N2=$n2, $reps rounds"
echo "  warm-up estimate: kfv $(calc '%.3f' "$est_kfv / 1000") us/exit, raw $(calc '%.3f' "$est_raw / 1000") us/exit"
kfv_costs=() raw_costs=()
for ((r = 1; r <= reps; r++)); do
	if ((r % 2)); then order="kfv raw"; else order="raw kfv"; fi
	for vmm in $order; do
		run_exitloop "$vmm" "$n1"; a=$T
		run_exitloop "$vmm" "$n2"; b=$T
		cost=$(calc '%.1f' "($b - $a) / $dn")
		if [ "$vmm" = kfv ]; then kfv_cost=$cost; kfv_costs+=("$cost"); else raw_cost=$cost; raw_costs+=("$cost"); fi
	done
	echo "  round $r ($order): kfv $(calc '%.3f' "$kfv_cost / 1000") us/exit, raw $(calc '%.3f' "$raw_cost / 1000") us/exit, ratio $(calc '%.3f' "$kfv_cost / $raw_cost")"
done
kfv_med=$(median "${kfv_costs[@]}")
raw_med=$(median "${raw_costs[@]}")
read -r klo khi < <(minmax "${kfv_costs[@]}")
read -r rlo rhi < <(minmax "${raw_costs[@]}")
echo "  kfv:              median $(calc '%.3f' "$kfv_med / 1000") us/exit (range $(calc '%.3f' "$klo / 1000") .. $(calc '%.3f' "$khi / 1000"))"
echo "  raw KVM_RUN loop: median $(calc '%.3f' "$raw_med / 1000") us/exit (range $(calc '%.3f' "$rlo / 1000") .. $(calc '%.3f' "$rhi / 1000"))"
echo "  kfv overhead per exit: $(calc '%.0f' "$kfv_med - $raw_med") ns (target: ratio at most 1.05)"
echo "$BENCH_NAME: $(calc '%.3f' "$kfv_med / $raw_med") (kfv per-exit cost over a raw KVM_RUN loop, port I/O from ring 3)"
