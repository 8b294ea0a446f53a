#!/usr/bin/env bash
# exit-roundtrip: what one port-I/O exit from guest ring 3 costs through kfv,
# over what it costs through a raw KVM_RUN loop (bench/raw_exit_loop.c, the
# least a VMM can do per exit) doing the same exits in the same run.
# Target: at most 1.05. Three measures, in this order:
#
# 1. Per exit, timed by the guest (the headline). build/bench/exittime.elf
#    (bench/exittime/main.c) writes port 0x80 from ring 3 n times and reads
#    the TSC around each write; it prints the median of the n samples. Boot
#    is outside the samples, and a host preemption spoils only the few
#    samples it lands in, so the median holds even on a loaded host. Rounds
#    run kfv, the raw loop and kfv --no-sandbox one after the other,
#    alternating the order; the headline is the median over rounds of the
#    round's kfv/raw ratio of medians. (--no-sandbox shows what the jail and
#    the seccomp filters, which see every system call, add.)
#
# 2. Per exit, from wall-clock time differences. Both VMMs boot
#    build/guests/exitloop.elf with n=N1 and n=N2; a run's time t(n) is from
#    the arrival of the guest's last boot line ("kfv-guest: ...") to the
#    arrival of its "exitloop: n exits" line, and what does not depend on n
#    cancels in (t(N2) - t(N1)) / (N2 - N1). Whatever else the host does in
#    those seconds lands in the figure: on a shared machine it is the rough
#    cross-check, not the headline.
#
# 3. Load-independent, when the tools exist: system calls per exit (strace
#    -f -c) and user-space instructions per exit (valgrind's callgrind), each
#    from the difference of two short exitloop runs.
#
# Settings (environment): KFV_BENCH_EXIT_REPS (rounds of measure 1, 5),
# KFV_BENCH_EXIT_SAMPLES (n for exittime, 10000), KFV_BENCH_EXIT_WALL_REPS
# (rounds of measure 2, 3; 0 skips it), KFV_BENCH_EXIT_N1 (10000),
# KFV_BENCH_EXIT_N2 (default: sized so N2 - N1 exits take about
# KFV_BENCH_EXIT_SECONDS, 1), KFV_BENCH_EXIT_PROFILE=0 skips measure 3.
BENCH_NAME="exit-roundtrip"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_EXIT_REPS:-5}
samples=${KFV_BENCH_EXIT_SAMPLES:-10000}
wall_reps=${KFV_BENCH_EXIT_WALL_REPS:-3}
n1=${KFV_BENCH_EXIT_N1:-10000}
target_s=${KFV_BENCH_EXIT_SECONDS:-1}
exittime=$BENCH_OUT/exittime.elf
[ -e "$exittime" ] || bench_fail "$exittime is missing (make -f bench/bench.mk bench-tools)"

vmm_cmd() { # vmm_cmd kfv|kfv-ns|raw KERNEL CMDLINE: sets CMD (kfv-ns: kfv --no-sandbox)
	case $1 in
		kfv) CMD=("$KFV" run --quiet --debug-exit --memory 128M --kernel "$2" --cmdline "$3") ;;
		kfv-ns) CMD=("$KFV" run --quiet --debug-exit --memory 128M --no-sandbox --kernel "$2" --cmdline "$3") ;;
		*) CMD=("$RAW_LOOP" "$2" "$3" 128) ;;
	esac
}

# run_vmm kfv|kfv-ns|raw KERNEL CMDLINE LAST_LINE_PREFIX: runs it to completion;
# sets T (ns from the last "kfv-guest:" line to the LAST_LINE one) and LOG.
run_vmm() {
	local from line status
	vmm_cmd "$1" "$2" "$3"
	LOG=$BENCH_TMP/exit-$1.log
	read -r from line _ status < <("$MEASURE" time --from "kfv-guest: " --line "$4" --log "$LOG" \
		--timeout 300 -- "${CMD[@]}")
	if [ "${status:-x}" != 0 ] || [ "${from:--1}" -lt 0 ] || [ "${line:--1}" -lt 0 ]; then
		sed 's/^/  | /' "$LOG" >&2
		bench_fail "$1 ${2##*/} $3: status ${status:-none}, no \"$4\" line"
	fi
	T=$((line - from))
}

# exittime_p50 kfv|kfv-ns|raw: sets P50 to the run's median exit, in TSC cycles
exittime_p50() {
	run_vmm "$1" "$exittime" "n=$samples" "exittime: "
	P50=$(sed -n 's/^exittime: .* p50=\([0-9]*\) .*/\1/p' "$LOG")
	[ -n "$P50" ] || bench_fail "$1: no exittime line"
	sed -n 's/^exittime: //p' "$LOG" >"$BENCH_TMP/exit-$1.stats"
}

# exitloop_t kfv|raw N: sets T for exitloop.elf with n=N
exitloop_t() {
	run_vmm "$1" "$GUESTS/exitloop.elf" "n=$2" "exitloop: "
	grep -qx "exitloop: $2 exits" "$LOG" || bench_fail "$1 exitloop n=$2: wrong count"
}

# TSC cycles to microseconds, where the kernel says what the TSC rate is
# (its calibration in the kernel log, else "cpu MHz", which is the TSC rate
# only on CPUs that report no other)
tsc_mhz=$(dmesg 2>/dev/null | sed -n -e 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' \
	-e 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | tail -n 1)
[ -n "$tsc_mhz" ] || tsc_mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
cyc() {
	if [ -n "$tsc_mhz" ]; then
		echo "$1 cycles ($(calc '%.3f' "$1 / $tsc_mhz") us)"
	else
		echo "$1 cycles"
	fi
}
us() { calc '%.3f' "$1 / 1000"; }

# --- 1. per exit, timed by the guest -------------------------------------
exittime_p50 kfv; exittime_p50 raw  # warm-up
echo "$BENCH_NAME: (1) guest-timed exits: exittime.elf, median of $samples port 0x80 writes from ring 3 per run, $reps rounds"
kfv_p50s=() raw_p50s=() ns_p50s=() ratios=() ns_ratios=()
for ((r = 1; r <= reps; r++)); do
	if ((r % 2)); then order="kfv raw kfv-ns"; else order="kfv-ns raw kfv"; fi
	for vmm in $order; do
		exittime_p50 "$vmm"
		case $vmm in kfv) kp=$P50 ;; kfv-ns) np=$P50 ;; raw) rp=$P50 ;; esac
	done
	ratio=$(calc '%.4f' "$kp / $rp")
	kfv_p50s+=("$kp") raw_p50s+=("$rp") ns_p50s+=("$np") ratios+=("$ratio")
	ns_ratios+=("$(calc '%.4f' "$np / $rp")")
	echo "  round $r: kfv $kp, raw $rp, kfv --no-sandbox $np cycles per exit (median); kfv/raw $(calc '%.3f' "$ratio")"
done
echo "  last kfv run: $(cat "$BENCH_TMP/exit-kfv.stats")"
echo "  last raw run: $(cat "$BENCH_TMP/exit-raw.stats")"
kmed=$(median "${kfv_p50s[@]}") rmed=$(median "${raw_p50s[@]}") nmed=$(median "${ns_p50s[@]}")
qmed=$(median "${ratios[@]}")
read -r qlo qhi < <(minmax "${ratios[@]}")
echo "  kfv $(cyc "$kmed"), raw KVM_RUN loop $(cyc "$rmed") per exit (medians over rounds)"
echo "  kfv --no-sandbox (no jail, no seccomp filters) $(cyc "$nmed"); its ratio to raw $(calc '%.3f' "$(median "${ns_ratios[@]}")")"
echo "  kfv/raw: $(calc '%.3f' "$qmed") (median of rounds; range $(calc '%.3f' "$qlo") .. $(calc '%.3f' "$qhi")); target: at most 1.05"

# --- 2. per exit, from wall-clock differences ----------------------------
if [ "$wall_reps" -gt 0 ]; then
	exitloop_t kfv 0; k0=$T; exitloop_t kfv "$n1"; k1=$T  # warm-up, and sizing N2
	exitloop_t raw 0; r0=$T; exitloop_t raw "$n1"; r1=$T
	est=$(calc '%.0f' "($r1 - $r0) / $n1")
	if [ -n "${KFV_BENCH_EXIT_N2:-}" ]; then
		n2=$KFV_BENCH_EXIT_N2
	else
		[ "$est" -gt 0 ] 2>/dev/null || est=$(calc '%.0f' "($k1 - $k0) / $n1")
		[ "$est" -gt 0 ] 2>/dev/null || est=1000
		n2=$(calc '%.0f' "$n1 + $target_s * 1e9 / $est")
		n2=$(( n2 < n1 + 10000 ? n1 + 10000 : n2 > 100000000 ? 100000000 : n2 ))
		n2=$(( (n2 + 999) / 1000 * 1000 ))
	fi
	[ "$n2" -gt "$n1" ] || bench_fail "N2 ($n2) must be larger than N1 ($n1)"
	dn=$((n2 - n1))
	echo "$BENCH_NAME: (2) wall-clock differences: exitloop.elf, (t(N2) - t(N1)) / (N2 - N1), N1=$n1 N2=$n2, $wall_reps rounds"
	kfv_costs=() raw_costs=()
	for ((r = 1; r <= wall_reps; r++)); do
		if ((r % 2)); then order="kfv raw"; else order="raw kfv"; fi
		for vmm in $order; do
			exitloop_t "$vmm" "$n1"; a=$T
			exitloop_t "$vmm" "$n2"; b=$T
			c=$(calc '%.1f' "($b - $a) / $dn")
			if [ "$vmm" = kfv ]; then kc=$c; kfv_costs+=("$c"); else rc=$c; raw_costs+=("$c"); fi
		done
		echo "  round $r: kfv $(us "$kc") us/exit, raw $(us "$rc") us/exit, ratio $(calc '%.3f' "$kc / $rc")"
	done
	kw=$(median "${kfv_costs[@]}") rw=$(median "${raw_costs[@]}")
	echo "  kfv $(us "$kw") us/exit, raw KVM_RUN loop $(us "$rw") us/exit (medians); kfv/raw $(calc '%.3f' "$kw / $rw")"
fi

# --- 3. load-independent counts ------------------------------------------
if [ "${KFV_BENCH_EXIT_PROFILE:-1}" != 0 ]; then
	pa=2000 pb=4000
	if command -v strace >/dev/null; then
		line="  system calls per exit:"
		for vmm in kfv raw; do
			for n in $pa $pb; do
				vmm_cmd "$vmm" "$GUESTS/exitloop.elf" "n=$n"
				strace -f -c -o "$BENCH_TMP/strace-$vmm-$n" "${CMD[@]}" >/dev/null 2>&1
			done
			# every system call whose count grows with n, with its calls per exit
			per=$(awk -v d=$((pb - pa)) '
				/^-/ || /^%/ || /total$/ { next }
				FNR == NR { a[$NF] = $4; next }   # columns: % seconds usecs/call calls [errors] name
				{ x = ($4 - a[$NF]) / d; if (x >= 0.01) { printf "%s%s %.2f", sep, $NF, x; sep = ", " } }
				' "$BENCH_TMP/strace-$vmm-$pa" "$BENCH_TMP/strace-$vmm-$pb")
			line+=" $vmm: ${per:-none};"
		done
		echo "${line%;}"
	fi
	if command -v valgrind >/dev/null; then
		line="  user-space instructions per exit (callgrind; kfv with --no-sandbox, which valgrind needs):"
		for vmm in kfv-ns raw; do
			for n in $pa $pb; do
				vmm_cmd "$vmm" "$GUESTS/exitloop.elf" "n=$n"
				rm -f "$BENCH_TMP/callgrind-$vmm-$n".*
				valgrind --tool=callgrind --callgrind-out-file="$BENCH_TMP/callgrind-$vmm-$n.%p" \
					"${CMD[@]}" >/dev/null 2>&1
			done
			# every process of the run (a forked child writes its own file)
			ia=$(cat "$BENCH_TMP/callgrind-$vmm-$pa".* 2>/dev/null | awk '/^totals:/ { t += $2; n++ } END { if (n) print t }')
			ib=$(cat "$BENCH_TMP/callgrind-$vmm-$pb".* 2>/dev/null | awk '/^totals:/ { t += $2; n++ } END { if (n) print t }')
			if [ -n "$ia" ] && [ -n "$ib" ]; then
				line+=" $vmm $(calc '%.0f' "($ib - $ia) / ($pb - $pa)"),"
			else
				line+=" $vmm (valgrind failed),"
			fi
		done
		echo "${line%,}"
	fi
fi
echo "$BENCH_NAME: $(calc '%.3f' "$qmed") (kfv per-exit cost over a raw KVM_RUN loop, port I/O from ring 3, guest-timed median)"
