#!/usr/bin/env bash
# sandbox-cost: what the jail and the seccomp filters cost, as kfv jailed
# (the default) over kfv --no-sandbox (no jail, no seccomp), in the same run.
# Target: at most 1.03 on the per-exit cost. Three measures, in this order:
#
# 1. Exit round trip, timed by the guest (the headline). Each round runs
#    build/bench/exittime.elf (bench/exittime/main.c, n port 0x80 writes
#    from ring 3, each timed with the TSC; it prints their minimum, 10th
#    percentile, median, 90th percentile and mean) once jailed and once
#    with --no-sandbox, alternating which goes first; each round's medians,
#    their ratio and 10th percentiles are printed, then the median of the
#    rounds' ratios. Interference only slows a run down, and in the nested
#    box whole runs settle at about twice the usual exit time, jailed or
#    not (on a PVM host about 1.3 times); so a run whose 10th percentile is
#    more than
#    KFV_BENCH_SANDBOX_DISTURBED (1.2) times the least of all runs' is set
#    aside as disturbed, and the headline is the median 10th percentile of
#    the undisturbed jailed runs over that of the undisturbed --no-sandbox
#    runs (a cost added to every exit moves every percentile alike; where
#    no run is disturbed, as on a quiet machine, this comes close to the
#    median of the rounds' ratios). Both sides run without the integrity
#    guard (its cost is guard-cost's, and its checks differ with and
#    without the jail) unless KFV_BENCH_SANDBOX_GUARD=1. The seccomp
#    filters see every system call the VMM makes, so this is where a
#    system call too many per exit, or a filter too long, shows.
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
# 3. Where the set-up goes, when perf is there: one hello.elf run of each
#    under `perf record` with system-call tracepoints (no ptrace stops: the
#    kernel stamps the events, the VMM does not wait for a tracer), split at
#    system calls that mark the jail's steps (perf_marks below).
#
# Settings (environment): KFV_BENCH_SANDBOX_ROUNDS (rounds of measure 1, 31),
# KFV_BENCH_SANDBOX_SAMPLES (n for exittime, 3000),
# KFV_BENCH_SANDBOX_DISTURBED (1.2), KFV_BENCH_SANDBOX_SETUP_REPS (runs of
# each for measure 2, 9), KFV_BENCH_SANDBOX_TRACE=0 skips measure 3,
# KFV_BENCH_SANDBOX_GUARD=1 keeps the guard on both sides.
BENCH_NAME=sandbox-cost
BENCH_MMIO_EXITS=1
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

rounds=${KFV_BENCH_SANDBOX_ROUNDS:-31}
samples=${KFV_BENCH_SANDBOX_SAMPLES:-3000}
setup_reps=${KFV_BENCH_SANDBOX_SETUP_REPS:-9}
disturbed=${KFV_BENCH_SANDBOX_DISTURBED:-1.2}
target=1.03
exittime=$BENCH_OUT/exittime.elf
hello=$GUESTS/hello.elf
first='kfv-guest: booted'
# The integrity guard is guard-cost's business, and its checks differ with
# and without the jail; both sides run without it unless asked.
guard=()
if [ "${KFV_BENCH_SANDBOX_GUARD:-0}" = 0 ] && "$KFV" run --help 2>&1 | grep -q -e '--no-guard'; then
	guard=(--no-guard)
fi
[ -e "$exittime" ] || bench_fail "$exittime is missing (make -f bench/bench.mk bench-tools)"
[ -e "$hello" ] || bench_fail "$hello is missing (make guests)"
((rounds > 0 && setup_reps > 0)) || bench_fail "KFV_BENCH_SANDBOX_ROUNDS and KFV_BENCH_SANDBOX_SETUP_REPS must be at least 1"

# kfv_cmd jail|nosb KERNEL CMDLINE: sets CMD
kfv_cmd() {
	CMD=("$KFV" run --quiet --debug-exit --memory 128M --cpus 1 "${guard[@]}" "${EXIT_ARGS[@]}" --kernel "$2" --cmdline "$3")
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

# exittime_run jail|nosb: sets P50 and P10 (the run's median and 10th
# percentile exit, TSC cycles) and F
exittime_run() {
	run_kfv "$1" "$exittime" "n=$samples $EXIT_CMDLINE" "exittime: "
	read -r P10 P50 < <(sed -n 's/^exittime: .* p10=\([0-9]*\) p50=\([0-9]*\) .*/\1 \2/p' "$LOG")
	[ -n "$P50" ] || bench_fail "$1: no exittime line"
}

ms() { calc '%.1f' "$1 / 1e6"; }

# --- 1. exit round trip, timed by the guest --------------------------------
exittime_run jail; exittime_run nosb  # warm-up
echo "$BENCH_NAME: (1) guest-timed exits: exittime.elf, $samples $EXIT_WHAT from ring 3 per run, $rounds rounds," \
     "jailed and --no-sandbox alternating${guard:+, both ${guard[*]}}"
jail_p50s=() nosb_p50s=() jail_p10s=() nosb_p10s=() ratios=() jail_firsts=() nosb_firsts=()
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then order="jail nosb"; else order="nosb jail"; fi
	for v in $order; do
		exittime_run "$v"
		if [ "$v" = jail ]; then
			jp=$P50 jq=$P10 jail_p50s+=("$P50") jail_p10s+=("$P10") jail_firsts+=("$F")
		else
			np=$P50 nq=$P10 nosb_p50s+=("$P50") nosb_p10s+=("$P10") nosb_firsts+=("$F")
		fi
	done
	ratios+=("$(calc '%.4f' "$jp / $np")")
	echo "  round $r: median jailed $jp, --no-sandbox $np cycles per exit, ratio $(calc '%.3f' "$jp / $np");" \
	     "10th percentile jailed $jq, --no-sandbox $nq"
done
# The headline resists interference: see undisturbed_ratio (bench/lib.sh).
paired_headline "$disturbed" "$target" jailed --no-sandbox "${jail_p10s[*]}" "${nosb_p10s[*]}" "${ratios[@]}"
figure=$FIGURE what=$WHAT

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
# perf_marks jail|nosb: one hello.elf run under perf record; sets MARKS to
# "A B C D E F G N W" ("-" where the mode has no such step), times in ms,
# from kernel timestamps of system-call tracepoints:
#   A  the supervisor's execve returning, to its fork of the VMM (its first
#      clone() without CLONE_THREAD; jail_spawn() forks after
#      unshare(CLONE_NEWPID))
#   B  the fork to the guest's first byte (the VMM's first write to fd 1)
#   C  the fork to the VMM's unshare(... CLONE_NEWNET ...), where
#      jail_enter() begins: the VMM's start and the VM's own set-up; N
#      write() calls of the VMM's in it took W ms together (the cgroup
#      joins are among them)
#   D  that unshare to the VMM's first seccomp(): jail_enter()
#   E  that seccomp() (libseccomp's probes, as it starts building) to the
#      first SECCOMP_SET_MODE_FILTER with a filter: the allow-lists built
#      and the first installed
#   F  from there to the guest's first byte
#   G  the VMM's exit_group to the supervisor's: reaping, stopping the
#      guard where it runs, the jail's cleanup
# Returns 1 (MARKS says why) when perf fails or a mark is missing.
perf_marks() {
	local data=$BENCH_TMP/sandbox-perf-$1.data
	local events=syscalls:sys_exit_execve,syscalls:sys_enter_clone,syscalls:sys_enter_unshare
	events+=,syscalls:sys_enter_seccomp,syscalls:sys_enter_exit_group,syscalls:sys_enter_write
	events+=,syscalls:sys_exit_write
	kfv_cmd "$1" "$hello" ""
	if ! perf record -q -o "$data" -e "$events" -- "${CMD[@]}" >"$BENCH_TMP/sandbox-perf-$1.log" 2>&1; then
		MARKS="perf record failed: $(grep -v '^kfv' "$BENCH_TMP/sandbox-perf-$1.log" | head -n 1)"
		return 1
	fi
	# perf script -F pid,tid,time,event,trace: "PID/TID TIME: syscalls:EVENT: ARGS"
	MARKS=$(perf script -i "$data" -F pid,tid,time,event,trace 2>/dev/null | awk -v mode="$1" '
		function hex(s,  i, c, v) { # "0x1f," -> 31 (no strtonum in every awk)
			sub(/^0x/, "", s); v = 0
			for (i = 1; i <= length(s); i++) {
				c = index("0123456789abcdef", tolower(substr(s, i, 1)))
				if (!c)
					break
				v = v * 16 + c - 1
			}
			return v
		}
		function has(v, flag) { return int(v / flag) % 2 }
		function ms(a, b) { return sprintf("%.1f", (b - a) * 1e3) }
		{
			split($1, id, "/"); pid = id[1]; tid = id[2]
			t = $2; sub(/:$/, "", t); ev = $3; sub(/:$/, "", ev); sub(/^syscalls:/, "", ev)
		}
		ev == "sys_exit_execve" && !sup { sup = pid; t0 = t; next }
		!sup { next }
		pid == sup {
			# "clone_flags: 0x01200011, ...": 0x10000 is CLONE_THREAD
			if (ev == "sys_enter_clone" && !tf && !has(hex($5), 65536))
				tf = t
			else if (ev == "sys_enter_exit_group")
				t6 = t
			next
		}
		!tf { next }
		# "fd: 0x00000001, buf: ...": the first byte of the guest, from the
		# VMM (the supervisor writes only to stderr); before jail_enter(),
		# how long each process spends in write()
		ev == "sys_enter_write" && hex($5) == 1 { if (!tg) tg = t; next }
		ev == "sys_enter_write" { if (mode == "jail" && !t2) wt[tid] = t; next }
		ev == "sys_exit_write" { if (tid in wt) { nw[pid]++; w[pid] += t - wt[tid]; delete wt[tid] } next }
		# 0x40000000 is CLONE_NEWNET
		ev == "sys_enter_unshare" && !t2 && has(hex($NF), 1073741824) { vmm = pid; t2 = t; next }
		ev == "sys_enter_seccomp" && pid == vmm && !t3 { t3 = t }
		# "op: 0x00000001, flags: ..., uargs: 0x...": a filter, not a probe
		ev == "sys_enter_seccomp" && pid == vmm && !t4 && hex($5) == 1 && hex($NF) != 0 { t4 = t }
		ev == "sys_enter_exit_group" && !t5 { t5 = t }
		END {
			if (!(t0 && tf && tg && t5 && t6) || (mode == "jail" && !(t2 && t3 && t4 && t4 <= tg)))
				exit
			if (mode == "jail")
				print ms(t0, tf), ms(tf, tg), ms(tf, t2), ms(t2, t3), ms(t3, t4), ms(t4, tg), ms(t5, t6), nw[vmm] + 0, sprintf("%.1f", w[vmm] * 1e3)
			else
				print ms(t0, tf), ms(tf, tg), "-", "-", "-", "-", ms(t5, t6), "-", "-"
		}')
	[ -n "$MARKS" ] && return 0
	MARKS="the marks were not all found (has the order of the jail's steps changed? docs/bench.md)"
	return 1
}

if [ "${KFV_BENCH_SANDBOX_TRACE:-1}" != 0 ]; then
	head="$BENCH_NAME: (3) where the set-up goes: one run of each under perf record, system-call tracepoints"
	if ! command -v perf >/dev/null; then
		echo "$head: skipped (no perf)"
	elif ! perf_marks jail || ! { read -r ja jb jc jd je jf jg jn jw <<<"$MARKS"; perf_marks nosb; }; then
		echo "$head: skipped ($MARKS)"
	else
		read -r na nb _ _ _ _ ng _ _ <<<"$MARKS"
		echo "$head"
		echo "  supervisor, start to forking the VMM: jailed $ja ms, --no-sandbox $na ms" \
		     "(the difference: the uid lease, the VM's root directory and cgroup)"
		echo "  VMM, its fork to the guest's first byte: jailed $jb ms, --no-sandbox $nb ms"
		echo "  jailed VMM: its start and the VM's set-up $jc ms ($jn write() calls, the cgroup joins among them, $jw ms);" \
		     "jail_enter() $jd ms; building the seccomp allow-lists and installing the first $je ms; then to the guest's first byte $jf ms"
		echo "  supervisor, the VMM's exit to its own: jailed $jg ms, --no-sandbox $ng ms (reaping, the jail's cleanup, stopping the guard where it runs)"
		echo "  in these two runs the jailed start is $(calc '%.1f' "$ja + $jb - $na - $nb") ms longer" \
		     "($(ms "$setup") ms from the first-line medians of (2))"
	fi
fi
echo "$BENCH_NAME: $(calc '%.3f' "$figure") (kfv jailed over kfv --no-sandbox, per-exit cost, guest-timed, $what, target <= $target; jail set-up $(ms "$setup") ms per VM)"
