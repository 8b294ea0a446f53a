#!/usr/bin/env bash
# sandbox-cost: what the jail and the seccomp filters cost, as kfv jailed
# (the default) over kfv --no-sandbox (no jail, no seccomp), in the same run.
# Target: at most 1.03 on the per-exit cost. Three measures, in this order:
#
# 1. Exit round trip, timed by the guest (the headline). Each round runs
#    build/bench/exittime.elf (bench/exittime/main.c, n port 0x80 writes
#    from ring 3, each timed with the TSC; it prints their median) once
#    jailed and once with --no-sandbox, alternating which goes first. The
#    headline is the median over rounds of the round's jailed/--no-sandbox
#    ratio of medians. The seccomp filters see every system call the VMM
#    makes, so this is where a system call too many per exit, or a filter
#    too long, shows.
#
# 2. Jail set-up per VM. build/guests/hello.elf (1 vCPU, 128 MiB), jailed
#    and --no-sandbox alternating; a run is timed from just before fork to
#    the arrival of the guest's first line ("kfv-guest: booted ..."), which
#    the guest prints first thing after its entry point. The jail's set-up
#    is the difference of the medians. The time from the guest's last line
#    to the process's exit, jailed minus --no-sandbox, is the jail's
#    teardown (reaping the VMM, emptying and removing its cgroup and root).
#    The first-line times of the runs of measure 1 give the same
#    difference a second time, on another guest.
#
# 3. Where the set-up goes, when perf is there: one jailed hello.elf run
#    under `perf record` with system-call tracepoints (no ptrace stops: the
#    kernel stamps the events, the VMM does not wait for a tracer), split at
#    system calls that mark the jail's steps (docs/bench.md).
#
# Settings (environment): KFV_BENCH_SANDBOX_ROUNDS (rounds of measure 1, 7),
# KFV_BENCH_SANDBOX_SAMPLES (n for exittime, 10000),
# KFV_BENCH_SANDBOX_SETUP_REPS (runs of each for measure 2, 9),
# KFV_BENCH_SANDBOX_TRACE=0 skips measure 3.
BENCH_NAME=sandbox-cost
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

rounds=${KFV_BENCH_SANDBOX_ROUNDS:-7}
samples=${KFV_BENCH_SANDBOX_SAMPLES:-10000}
setup_reps=${KFV_BENCH_SANDBOX_SETUP_REPS:-9}
target=1.03
exittime=$BENCH_OUT/exittime.elf
hello=$GUESTS/hello.elf
first='kfv-guest: booted'
[ -e "$exittime" ] || bench_fail "$exittime is missing (make -f bench/bench.mk bench-tools)"
[ -e "$hello" ] || bench_fail "$hello is missing (make guests)"
((rounds > 0 && setup_reps > 0)) || bench_fail "KFV_BENCH_SANDBOX_ROUNDS and KFV_BENCH_SANDBOX_SETUP_REPS must be at least 1"

# kfv_cmd jail|nosb KERNEL CMDLINE: sets CMD
kfv_cmd() {
	CMD=("$KFV" run --quiet --debug-exit --memory 128M --cpus 1 --kernel "$2" --cmdline "$3")
	[ "$1" = jail ] || CMD+=(--no-sandbox)
}

# run_kfv jail|nosb KERNEL CMDLINE LAST_LINE_PREFIX: runs it to completion;
# sets F (ns from just before fork to the guest's first line), L (to the
# LAST_LINE one), E (to the process's exit) and LOG.
run_kfv() {
	local status
	kfv_cmd "$1" "$2" "$3"
	LOG=$BENCH_TMP/sandbox-$1.log
	read -r F L E status < <("$MEASURE" time --from "$first" --line "$4" --log "$LOG" \
		--timeout 300 -- "${CMD[@]}")
	if [ "${status:-x}" != 0 ] || [ "${F:--1}" -lt 0 ] || [ "${L:--1}" -lt 0 ]; then
		sed 's/^/  | /' "$LOG" >&2
		bench_fail "$1 ${2##*/} $3: status ${status:-none}, no \"$first\" line or no \"$4\" line after it"
	fi
}

# exittime_run jail|nosb: sets P50 (the run's median exit, TSC cycles) and F
exittime_run() {
	run_kfv "$1" "$exittime" "n=$samples" "exittime: "
	P50=$(sed -n 's/^exittime: .* p50=\([0-9]*\) .*/\1/p' "$LOG")
	[ -n "$P50" ] || bench_fail "$1: no exittime line"
}

ms() { calc '%.1f' "$1 / 1e6"; }
name() { if [ "$1" = jail ]; then echo jailed; else echo --no-sandbox; fi; }

# --- 1. exit round trip, timed by the guest --------------------------------
run_kfv jail "$exittime" n=1000 "exittime: "; run_kfv nosb "$exittime" n=1000 "exittime: "  # warm-up
echo "$BENCH_NAME: (1) guest-timed exits: exittime.elf, median of $samples port 0x80 writes from ring 3 per run, $rounds rounds, jailed and --no-sandbox alternating"
jail_p50s=() nosb_p50s=() ratios=() jail_firsts=() nosb_firsts=()
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then order="jail nosb"; else order="nosb jail"; fi
	for v in $order; do
		exittime_run "$v"
		if [ "$v" = jail ]; then jp=$P50 jail_firsts+=("$F"); else np=$P50 nosb_firsts+=("$F"); fi
	done
	ratio=$(calc '%.4f' "$jp / $np")
	jail_p50s+=("$jp") nosb_p50s+=("$np") ratios+=("$ratio")
	echo "  round $r: jailed $jp, --no-sandbox $np cycles per exit (median); jailed/--no-sandbox $(calc '%.3f' "$ratio")"
done
qmed=$(median "${ratios[@]}")
read -r qlo qhi < <(minmax "${ratios[@]}")
verdict=$(calc '%s' "($qmed <= $target ? \"met\" : \"missed\")")
echo "  jailed $(median "${jail_p50s[@]}"), --no-sandbox $(median "${nosb_p50s[@]}") cycles per exit (medians over rounds)"
echo "  jailed/--no-sandbox: $(calc '%.3f' "$qmed") (median of rounds; range $(calc '%.3f' "$qlo") .. $(calc '%.3f' "$qhi")); target: at most $target ($verdict)"

# --- 2. jail set-up per VM ---------------------------------------------------
run_kfv jail "$hello" "" "hello: "; run_kfv nosb "$hello" "" "hello: "  # warm-up
declare -A firsts tails
for ((r = 1; r <= setup_reps; r++)); do
	if ((r % 2)); then order="jail nosb"; else order="nosb jail"; fi
	for v in $order; do
		run_kfv "$v" "$hello" "" "hello: "
		grep -qx "hello: 1 cpus online" "$LOG" || bench_fail "$v hello.elf: no \"hello: 1 cpus online\" line"
		firsts[$v]+=" $F"
		tails[$v]+=" $((E - L))"
	done
done
# shellcheck disable=SC2086 # the lists are space-separated numbers
{
	jf=$(median ${firsts[jail]}) nf=$(median ${firsts[nosb]})
	jt=$(median ${tails[jail]}) nt=$(median ${tails[nosb]})
}
setup=$((jf - nf))
echo "$BENCH_NAME: (2) jail set-up per VM: hello.elf, 1 vCPU, 128 MiB, medians of $setup_reps runs each, alternating"
echo "  process start to the guest's first line: jailed $(ms "$jf") ms, --no-sandbox $(ms "$nf") ms; the jail adds $(ms "$setup") ms per VM"
echo "  the guest's last line to process exit: jailed $(ms "$jt") ms, --no-sandbox $(ms "$nt") ms; the jail's teardown adds $(ms "$((jt - nt))") ms"
echo "  the same from the runs of (1), exittime.elf: first line jailed $(ms "$(median "${jail_firsts[@]}")") ms," \
     "--no-sandbox $(ms "$(median "${nosb_firsts[@]}")") ms; the jail adds $(ms "$(( $(median "${jail_firsts[@]}") - $(median "${nosb_firsts[@]}") ))") ms"

# --- 3. where the set-up goes ------------------------------------------------
# Marks, all kernel timestamps of system-call tracepoints:
#   t0  the supervisor's execve returns
#   t1  the supervisor's unshare(CLONE_NEWPID), just before it forks the VMM
#   t2  the VMM's unshare(... CLONE_NEWNET ...): jail_enter() begins (before
#       it: fork, cgroup join, fd closing and the VM's own set-up, which
#       --no-sandbox does too)
#   t3  the VMM's first seccomp(): jail_enter() is done, libseccomp probes
#   t4  the VMM's first seccomp(SECCOMP_SET_MODE_FILTER) with a filter: the
#       allow-lists are built and the union installed
#   t5  the VMM's exit_group, t6 the supervisor's (teardown between them)
if [ "${KFV_BENCH_SANDBOX_TRACE:-1}" != 0 ]; then
	line="  where it goes, one jailed hello.elf run under perf record (system-call tracepoints):"
	data=$BENCH_TMP/sandbox-perf.data
	events=syscalls:sys_exit_execve,syscalls:sys_enter_unshare,syscalls:sys_enter_seccomp,syscalls:sys_enter_exit_group
	kfv_cmd jail "$hello" ""
	if ! command -v perf >/dev/null; then
		echo "$line skipped (no perf)"
	elif ! perf record -q -o "$data" -e "$events" -- "${CMD[@]}" >"$BENCH_TMP/sandbox-perf.log" 2>&1; then
		echo "$line skipped (perf record failed: $(grep -v '^kfv' "$BENCH_TMP/sandbox-perf.log" | head -n 1))"
	else
		# perf script -F pid,time,event,trace: "PID TIME: EVENT: ARGS"
		marks=$(perf script -i "$data" -F pid,time,event,trace 2>/dev/null | awk '
			function hex(s,  i, c, v) { # "0x1f," -> 31 (no strtonum in every awk)
				sub(/^0x/, "", s); v = 0
				for (i = 1; (c = index("0123456789abcdef", tolower(substr(s, i, 1)))) > 0; i++)
					v = v * 16 + c - 1
				return v
			}
			function has(v, flag) { return int(v / flag) % 2 }
			{ pid = $1; t = $2; sub(/:$/, "", t); ev = $3; sub(/:$/, "", ev) }
			ev ~ /sys_exit_execve$/ && !sup { sup = pid; t0 = t; next }
			!sup { next }
			ev ~ /sys_enter_unshare$/ && pid == sup && !t1 && has(hex($NF), 536870912) { t1 = t; next }
			pid == sup || !t1 { if (ev ~ /sys_enter_exit_group$/ && pid == sup) t6 = t; next }
			!vmm { vmm = pid }
			pid != vmm { next }
			ev ~ /sys_enter_unshare$/ && !t2 && has(hex($NF), 1073741824) { t2 = t; next }
			ev ~ /sys_enter_seccomp$/ && t2 && !t3 { t3 = t }
			# "op: 0x00000001, flags: ..., uargs: 0x...": a filter, not a probe
			ev ~ /sys_enter_seccomp$/ && t3 && !t4 && hex($5) == 1 && hex($NF) != 0 { t4 = t }
			ev ~ /sys_enter_exit_group$/ { t5 = t }
			END { if (t0 && t1 && t2 && t3 && t4 && t5 && t6)
				printf "%.1f %.1f %.1f %.1f %.1f\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3,
					(t4 - t3) * 1e3, (t6 - t5) * 1e3 }')
		if [ -z "$marks" ]; then
			echo "$line skipped (the marks were not all found; has the jail's order of steps changed? see docs/bench.md)"
		else
			read -r pa pb pc pd pe <<<"$marks"
			echo "$line supervisor before forking the VMM (validation, uid lease, root directory, cgroup) $pa ms;" \
			     "VMM start and VM set-up, not jail cost $pb ms; jail_enter() $pc ms;" \
			     "building the seccomp allow-lists and installing them $pd ms; after the VMM's exit (reaping, cleanup) $pe ms"
			echo "  jail steps at start, summed: $(calc '%.1f' "$pa + $pc + $pd") ms (against $(ms "$setup") ms from the first-line times)"
		fi
	fi
fi
echo "$BENCH_NAME: $(calc '%.3f' "$qmed") (kfv jailed over kfv --no-sandbox, per-exit cost, guest-timed median, target <= $target; jail set-up $(ms "$setup") ms per VM)"
