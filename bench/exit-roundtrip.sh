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
# Each round runs kfv and the raw loop at N1, then at N2, one after the
# other, alternating between rounds which goes first, so that the two sides
# of a round see nearly the same machine. The headline is the median over
# rounds of the round's kfv/raw ratio; the median per-exit cost of each
# side and their ratio are printed too.
#
# Two load-independent figures follow the timings when the tools exist:
# system calls per exit (strace -f -c, from the difference of two runs) and
# user-space instructions per exit (valgrind --tool=callgrind, likewise).
#
# Settings (environment): KFV_BENCH_EXIT_REPS (rounds, 9), KFV_BENCH_EXIT_N1
# (10000), KFV_BENCH_EXIT_N2 (default: sized so N2 - N1 exits take about
# KFV_BENCH_EXIT_SECONDS, 1.5, judged from the warm-up runs),
# KFV_BENCH_EXIT_PROFILE=0 to skip the strace and callgrind figures.
BENCH_NAME="exit-roundtrip"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_EXIT_REPS:-9}
n1=${KFV_BENCH_EXIT_N1:-10000}
target_s=${KFV_BENCH_EXIT_SECONDS:-1.5}

vmm_cmd() { # vmm_cmd kfv|raw N: sets CMD
	if [ "$1" = kfv ]; then
		CMD=("$KFV" run --quiet --debug-exit --memory 128M --kernel "$GUESTS/exitloop.elf" --cmdline "n=$2")
	else
		CMD=("$RAW_LOOP" "$GUESTS/exitloop.elf" "n=$2" 128)
	fi
}

start_one() { # start_one kfv|raw N: runs it, result in $BENCH_TMP/exit-VMM.res
	vmm_cmd "$1" "$2"
	"$MEASURE" time --from "kfv-guest: " --line "exitloop: " --log "$BENCH_TMP/exit-$1.log" \
		--timeout 600 -- "${CMD[@]}" >"$BENCH_TMP/exit-$1.res"
}

check_one() { # check_one kfv|raw N: sets T to the run's time in ns
	local from line status
	read -r from line _ status <"$BENCH_TMP/exit-$1.res"
	if [ "${status:-x}" != 0 ] || [ "${from:--1}" -lt 0 ] || [ "${line:--1}" -lt 0 ] ||
	   ! grep -qx "exitloop: $2 exits" "$BENCH_TMP/exit-$1.log"; then
		sed 's/^/  | /' "$BENCH_TMP/exit-$1.log" >&2
		bench_fail "$1 with n=$2: status ${status:-none}, no \"exitloop: $2 exits\" line"
	fi
	T=$((line - from))
}

run_round_step() { # run_round_step FIRST SECOND N: sets TK and TR
	start_one "$1" "$3"
	start_one "$2" "$3"
	check_one kfv "$3"; TK=$T
	check_one raw "$3"; TR=$T
}

us() { calc '%.3f' "$1 / 1000"; }

# Warm-up (page cache, first-use paths) and a first estimate of the cost of
# one exit, to size N2.
run_round_step kfv raw 0; k0=$TK r0=$TR
run_round_step raw kfv "$n1"; k1=$TK r1=$TR
est_kfv=$(calc '%.0f' "($k1 - $k0) / $n1")
est_raw=$(calc '%.0f' "($r1 - $r0) / $n1")
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
echo "  warm-up estimate: kfv $(us "$est_kfv") us/exit, raw $(us "$est_raw") us/exit"
kfv_costs=() raw_costs=() ratios=()
for ((r = 1; r <= reps; r++)); do
	if ((r % 2)); then first=kfv second=raw; else first=raw second=kfv; fi
	run_round_step "$first" "$second" "$n1"; ka=$TK ra=$TR
	run_round_step "$first" "$second" "$n2"; kb=$TK rb=$TR
	kc=$(calc '%.1f' "($kb - $ka) / $dn")
	rc=$(calc '%.1f' "($rb - $ra) / $dn")
	ratio=$(calc '%.4f' "$kc / $rc")
	kfv_costs+=("$kc") raw_costs+=("$rc") ratios+=("$ratio")
	echo "  round $r: kfv $(us "$kc") us/exit, raw $(us "$rc") us/exit, ratio $(calc '%.3f' "$ratio")"
done
kfv_med=$(median "${kfv_costs[@]}")
raw_med=$(median "${raw_costs[@]}")
ratio_med=$(median "${ratios[@]}")
read -r klo khi < <(minmax "${kfv_costs[@]}")
read -r rlo rhi < <(minmax "${raw_costs[@]}")
read -r qlo qhi < <(minmax "${ratios[@]}")
echo "  kfv:              median $(us "$kfv_med") us/exit (range $(us "$klo") .. $(us "$khi"))"
echo "  raw KVM_RUN loop: median $(us "$raw_med") us/exit (range $(us "$rlo") .. $(us "$rhi"))"
echo "  ratio: median of rounds $(calc '%.3f' "$ratio_med") (range $(calc '%.3f' "$qlo") .. $(calc '%.3f' "$qhi")), of medians $(calc '%.3f' "$kfv_med / $raw_med"); target: at most 1.05"

# Load-independent: what the VMM does per exit, from two short runs each.
if [ "${KFV_BENCH_EXIT_PROFILE:-1}" != 0 ]; then
	pa=2000 pb=4000
	if command -v strace >/dev/null; then
		for vmm in kfv raw; do
			for n in $pa $pb; do
				vmm_cmd "$vmm" "$n"
				strace -f -c -o "$BENCH_TMP/strace-$vmm-$n" "${CMD[@]}" >/dev/null 2>&1
			done
			# "name:calls" for each system call whose count grows with n
			per=$(awk -v d=$((pb - pa)) '
				/^-/ || /^%/ || /total$/ { next }
				FNR == NR { a[$NF] = $4; next }   # columns: % seconds usecs/call calls [errors] name
				{ x = ($4 - a[$NF]) / d; if (x >= 0.01) { printf "%s%s %.2f", sep, $NF, x; sep = ", " } }
				' "$BENCH_TMP/strace-$vmm-$pa" "$BENCH_TMP/strace-$vmm-$pb")
			printf -v "sys_$vmm" '%s' "${per:-none}"
		done
		# shellcheck disable=SC2154 # set through printf -v above
		echo "  system calls per exit: kfv $sys_kfv; raw $sys_raw"
	fi
	if command -v valgrind >/dev/null; then
		for vmm in kfv raw; do
			for n in $pa $pb; do
				vmm_cmd "$vmm" "$n"
				valgrind --tool=callgrind --callgrind-out-file="$BENCH_TMP/callgrind-$vmm-$n" \
					"${CMD[@]}" >/dev/null 2>&1
			done
			ia=$(sed -n 's/^totals: *//p' "$BENCH_TMP/callgrind-$vmm-$pa")
			ib=$(sed -n 's/^totals: *//p' "$BENCH_TMP/callgrind-$vmm-$pb")
			printf -v "ins_$vmm" '%s' "$(calc '%.0f' "(${ib:-0} - ${ia:-0}) / ($pb - $pa)")"
		done
		# shellcheck disable=SC2154 # set through printf -v above
		echo "  user-space instructions per exit: kfv $ins_kfv, raw $ins_raw"
	fi
fi
echo "$BENCH_NAME: $(calc '%.3f' "$ratio_med") (kfv per-exit cost over a raw KVM_RUN loop, port I/O from ring 3)"
