# shellcheck shell=bash
# Shared by the benchmark scripts; sourced, not run. See docs/bench.md.
#
# Every benchmark prints a few detail lines and then, as its last line,
#   <name>: <ratio> (<what over what>)
# Figures are only ever compared with a floor or peer measured in the same
# run, on the same machine, with the same KVM.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_OUT=$BENCH_ROOT/build/bench
BENCH_TMP=$BENCH_OUT/tmp          # scratch: the box's /tmp is private
MEASURE=$BENCH_OUT/measure
RAW_LOOP=$BENCH_OUT/raw_exit_loop
KFV=${KFV_BENCH_KFV:-$BENCH_ROOT/build/kfv}   # another build can be compared
GUESTS=$BENCH_ROOT/build/guests

# KFV_KVMBOX=always (as for tests/kvmbox/with-kvm) takes the box even where
# /dev/kvm works. A software KVM (PVM) counts as working: the benchmarks run
# there directly, the exit benchmarks that can with MMIO exits (EXIT_ARGS
# below), and docs/bench.md says how to read the rest.
bench_have_kvm() {
	if [ "${KFV_KVMBOX:-auto}" = always ] && [ "${KFV_IN_KVMBOX:-0}" != 1 ]; then
		return 1
	fi
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}

# What exittime.elf exits with. Port 0x80 writes from ring 3, except on a
# PVM host that a benchmark with BENCH_MMIO_EXITS=1 runs on directly: there
# a port write from ring 3 faults and is made by the guest's ring 0 instead
# (guests/runtime/user_io.h), a detour inside every sample, so the guest
# reads a virtio-rng device's register instead, an MMIO exit PVM takes
# straight to the VMM. EXIT_ARGS go on kfv's command line, EXIT_CMDLINE on
# the guest's, EXIT_WHAT into the benchmark's description.
EXIT_ARGS=() EXIT_CMDLINE="" EXIT_WHAT="port 0x80 writes"
if [ "${BENCH_MMIO_EXITS:-0}" = 1 ] && [ -d /sys/module/kvm_pvm ] && [ "${KFV_IN_KVMBOX:-0}" != 1 ] &&
	[ "${KFV_KVMBOX:-auto}" != always ]; then
	EXIT_ARGS=(--rng) EXIT_CMDLINE="exit=mmio" EXIT_WHAT="virtio-mmio register reads (PVM host)"
fi

# Builds the helpers (on the host side, where compiling is fast).
bench_build_tools() {
	local f
	for f in "$KFV" "$GUESTS/exitloop.elf" "$GUESTS/hello.elf"; do
		[ -e "$f" ] || { echo "bench: ${f#"$BENCH_ROOT"/} is missing; run make first" >&2; return 1; }
	done
	make --no-print-directory -s -C "$BENCH_ROOT" -f bench/bench.mk bench-tools >&2
}

# Runs "$@" where /dev/kvm works: here when it does, otherwise inside the
# nested-KVM box (one boot for the whole command). Returns its status.
bench_with_kvm() {
	if bench_have_kvm || [ "${KFV_IN_KVMBOX:-0}" = 1 ]; then
		"$@"
	elif [ -x "$BENCH_ROOT/tests/kvmbox/with-kvm" ]; then
		# always: with-kvm itself would run directly on a PVM host, which
		# bench_have_kvm turned down.
		KFV_KVMBOX=always KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT:-1800} \
			"$BENCH_ROOT/tests/kvmbox/with-kvm" "$@"
	else
		KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT:-1800} "$BENCH_ROOT/tests/kvmbox/kvmbox" -- "$@"
	fi
}

# For a benchmark script run on its own: build, then re-run itself where
# /dev/kvm works. Call as: bench_setup "$0" "$@"
# A script that sets BENCH_NEEDS_HW_KVM=1 before sourcing this file runs
# guests a software KVM cannot (a stock Linux kernel: PVM boots only
# PVM-enabled ones), so on a PVM host it goes into the box, KFV_KVMBOX=always
# as with-kvm would otherwise run it directly.
bench_on_pvm() {
	[ -d /sys/module/kvm_pvm ] && [ "${KFV_IN_KVMBOX:-0}" != 1 ]
}

bench_setup() {
	local self=$1
	shift
	if [ "${BENCH_NEEDS_HW_KVM:-0}" = 1 ] && bench_have_kvm && bench_on_pvm; then
		bench_build_tools || exit 1
		echo "bench: $BENCH_NAME needs a hardware KVM, /dev/kvm here is PVM: running it in the nested-KVM box"
		KFV_KVMBOX=always KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT:-1800} \
			"$BENCH_ROOT/tests/kvmbox/with-kvm" bash "$self" "$@"
		exit $?
	fi
	if ! bench_have_kvm && [ "${KFV_IN_KVMBOX:-0}" != 1 ]; then
		bench_build_tools || exit 1
		bench_with_kvm bash "$self" "$@"
		exit $?
	fi
	[ -x "$MEASURE" ] && [ -x "$RAW_LOOP" ] || bench_build_tools || exit 1
	bench_have_kvm || { echo "bench: /dev/kvm is not usable here" >&2; exit 1; }
	mkdir -p "$BENCH_TMP"
}

# bench_qemu_cpu: prints the -cpu model the QEMU peers run with, one this
# KVM accepts. KFV_BENCH_QEMU_CPU when set; otherwise the first of `host`,
# `host,-arch-capabilities`, `max,-arch-capabilities` and `max` with which
# QEMU (KFV_BENCH_QEMU) starts a stopped (-S) microvm and quits from its
# monitor without aborting. (`host` passes IA32_ARCH_CAPABILITIES through,
# which some KVMs, PVM among them, refuse to have set: QEMU then aborts
# with "failed to set MSR 0x10a" while it resets the vCPUs, before its
# monitor reads anything.) The probe costs a QEMU start per model tried,
# so the answer is kept in BENCH_QEMU_CPU_FOUND, exported for the
# benchmarks run-all.sh starts (not a KFV_ name: kvmbox passes those into
# the box, whose KVM is another). Call it as $(bench_qemu_cpu), once per
# script; returns 1, with QEMU's last complaint on stderr, when none works.
bench_qemu_cpu() {
	local qemu=${KFV_BENCH_QEMU:-qemu-system-x86_64} m out where
	if [ -n "${KFV_BENCH_QEMU_CPU:-}" ]; then
		echo "$KFV_BENCH_QEMU_CPU"
		return 0
	fi
	# keyed by the QEMU and the KVM it was found on
	where="$qemu:${KFV_IN_KVMBOX:-0}:$(hostname 2>/dev/null)"
	if [ -n "${BENCH_QEMU_CPU_FOUND:-}" ] && [ "${BENCH_QEMU_CPU_WHERE:-}" = "$where" ]; then
		echo "$BENCH_QEMU_CPU_FOUND"
		return 0
	fi
	for m in host host,-arch-capabilities max,-arch-capabilities max; do
		if out=$(echo quit | timeout 20 "$qemu" -M microvm -accel kvm -cpu "$m" -nodefaults \
				-no-user-config -display none -S -monitor stdio 2>&1) &&
		   ! grep -qiE 'error|assert|abort' <<<"$out"; then
			export BENCH_QEMU_CPU_FOUND=$m BENCH_QEMU_CPU_WHERE=$where
			echo "$m"
			return 0
		fi
	done
	echo "bench: no -cpu model QEMU accepts with this KVM (tried host, host,-arch-capabilities," \
	     "max,-arch-capabilities, max; set KFV_BENCH_QEMU_CPU); the last said:" >&2
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/  | /' >&2
	return 1
}

# median of the numbers given as arguments (the lower middle for an even count)
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# min and max of the arguments, as "MIN MAX"
minmax() {
	printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo, hi }'
}

# undisturbed_ratio DISTURBED "A_P10S" "B_P10S": the cost of A over B from
# two sets of runs' 10th-percentile exit times, resistant to interference.
# Interference only ever slows a run down, and in the nested box whole runs
# settle at about twice the usual exit time whichever side they are (about
# 1.3 times on a PVM host); so a
# run whose 10th percentile is more than DISTURBED times the least of all
# runs' is set aside, and the figure is the median 10th percentile of A's
# undisturbed runs over B's (a cost added to every exit moves every
# percentile alike). Sets LIMIT, A_OK and B_OK (how many runs counted), AM
# and BM (the two medians) and FIGURE; returns 1, FIGURE unset, when one
# side has no undisturbed run.
undisturbed_ratio() {
	local fastest a b
	read -r fastest _ < <(minmax $2 $3)
	LIMIT=$(calc '%.0f' "$fastest * $1")
	mapfile -t a < <(printf '%s\n' $2 | awk -v l="$LIMIT" '$1 <= l')
	mapfile -t b < <(printf '%s\n' $3 | awk -v l="$LIMIT" '$1 <= l')
	A_OK=${#a[@]} B_OK=${#b[@]} FIGURE=
	((A_OK > 0 && B_OK > 0)) || return 1
	AM=$(median "${a[@]}") BM=$(median "${b[@]}")
	FIGURE=$(calc '%.4f' "$AM / $BM")
}

# paired_headline DISTURBED TARGET A B "A_P10S" "B_P10S" RATIO...: the
# headline of a benchmark that ran sides A and B (their names in the
# printout) once each per round, RATIO being each round's ratio of medians.
# Prints the median of those ratios, how many runs undisturbed_ratio kept,
# and A/B against TARGET. Sets FIGURE (undisturbed_ratio's, or the median
# of the ratios where one side kept no run) and WHAT (which of the two).
paired_headline() {
	local disturbed=$1 target=$2 a=$3 b=$4 a_p10s=$5 b_p10s=$6 qmed qlo qhi how
	shift 6
	qmed=$(median "$@")
	read -r qlo qhi < <(minmax "$@")
	echo "  median of the rounds' ratios of medians $(calc '%.3f' "$qmed") (range $(calc '%.3f' "$qlo") .. $(calc '%.3f' "$qhi"))"
	if undisturbed_ratio "$disturbed" "$a_p10s" "$b_p10s"; then
		how="median 10th percentile of the undisturbed runs, $a $AM, $b $BM cycles per exit"
		WHAT="median 10th percentile of undisturbed runs"
	else
		FIGURE=$qmed
		how="no undisturbed run on one side: the median of the rounds' ratios of medians"
		WHAT="median of the rounds' ratios of medians"
	fi
	echo "  undisturbed runs (10th percentile at most $disturbed times the least, $LIMIT cycles):" \
	     "$a $A_OK of $#, $b $B_OK of $#"
	echo "  $a/$b: $(calc '%.3f' "$FIGURE") ($how); target: at most $target" \
	     "($(calc '%s' "($FIGURE <= $target ? \"met\" : \"missed\")"))"
}

# calc FORMAT EXPRESSION: floating-point arithmetic through awk
calc() {
	awk "BEGIN { printf \"$1\", $2 }"
}

bench_fail() {
	echo "$BENCH_NAME: FAILED: $*" >&2
	echo "$BENCH_NAME: error ($*)"
	exit 1
}
