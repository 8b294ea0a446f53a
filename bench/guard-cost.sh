#!/usr/bin/env bash
# guard-cost: what the integrity guard (docs/guard.md) costs, and how soon it
# sees a change. Target: guest workload time with the guard at a 100 ms
# period at most 1.02 times the time without it.
#
# 1. Guard CPU time per check: build/tools/guard-target (the guard against a
#    jailed stand-in VMM: the same guard, responder, jail and seccomp code as
#    kfv, without KVM), clean, for KFV_BENCH_GUARD_SECONDS (10) at 100 ms;
#    cpu_ns / checks and per period from the guard's last stats line.
# 2. Guest slowdown: build/guests/exitloop.elf (n=KFV_BENCH_GUARD_N exits,
#    a few seconds of guest time) under kfv with --guard-period 100 and
#    with --no-guard, alternating, KFV_BENCH_GUARD_REPS rounds (5); a run's
#    time is from the guest's last boot line to its "exitloop: n exits"
#    line. The headline is the median over rounds of guard/no-guard.
#    Where this kfv has no --guard-period the stand-in's own workload (passes
#    over its RAM per second) takes its place, and the line says so.
# 3. Detection latency: guard-target with one byte written into the
#    stand-in's code through /proc/PID/mem at a random time, KFV_BENCH_GUARD_POKES
#    (10) times: ms to the code_pages alarm (the guard's own reading) and to
#    the code_modified alarm (the challenge); and a stopped responder's
#    'unresponsive'.
BENCH_NAME="guard-cost"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

GT=$BENCH_ROOT/build/tools/guard-target
secs=${KFV_BENCH_GUARD_SECONDS:-10}
reps=${KFV_BENCH_GUARD_REPS:-5}
pokes=${KFV_BENCH_GUARD_POKES:-10}
n=${KFV_BENCH_GUARD_N:-200000}
period=100
[ -x "$GT" ] || bench_fail "$GT is missing (make $GT)"

# The stand-in jailed when this host can build kfv's jail, else not.
jail=--jail
"$GT" --jail --duration 300 >/dev/null 2>&1 || jail=
# gt ARGS...: runs guard-target, output in OUT
gt() { OUT=$("$GT" $jail --period $period "$@" 2>/dev/null); }
stat_of() { printf '%s\n' "$OUT" | grep ' guard stats ' | tail -n 1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
# at action NAME | at alarm CHECK: ms of the first such line
at() { printf '%s\n' "$OUT" | awk -v k="$1" -v c="$2" '($2 == k && $3 == c) || ($2 == "guard" && $3 == k && $4 == c) { sub("t=", "", $1); print $1; exit }'; }

# --- 1. guard CPU per check ---------------------------------------------
gt --duration $((secs * 1000))
checks=$(stat_of checks) challenges=$(stat_of challenges) cpu=$(stat_of cpu_ns)
alarms=$(printf '%s\n' "$OUT" | grep -c ' guard alarm ')
[ -n "$checks" ] && [ "$checks" -gt 0 ] || bench_fail "no stats line from the guard"
mode=unjailed; [ -n "$jail" ] && mode=jailed
echo "$BENCH_NAME: (1) guard CPU: ${secs} s at ${period} ms, stand-in $mode: $checks checks, $challenges challenges, $alarms alarms"
echo "  $(calc '%.1f' "$cpu / $checks / 1000") us of guard CPU per check, $(calc '%.2f' "$cpu / $challenges / 1000000") ms per period" \
	"($(calc '%.2f' "$cpu / ($secs * 1e9) * 100") % of one CPU, start-up included)"

# --- 2. guest slowdown --------------------------------------------------
run_exitloop() { # run_exitloop ARGS...: sets T (ns of the guest's exit loop)
	local from line status
	read -r from line _ status < <("$MEASURE" time --from "kfv-guest: " --line "exitloop: " \
		--log "$BENCH_TMP/guard-exitloop.log" --timeout 600 -- \
		"$KFV" run --quiet --debug-exit --memory 128M "$@" --kernel "$GUESTS/exitloop.elf" --cmdline "n=$n")
	if [ "${status:-x}" != 0 ] || [ "${from:--1}" -lt 0 ] || [ "${line:--1}" -lt 0 ]; then
		sed 's/^/  | /' "$BENCH_TMP/guard-exitloop.log" >&2
		bench_fail "kfv $*: status ${status:-none}, no exitloop line"
	fi
	T=$((line - from))
}
ratios=()
if "$KFV" run --help 2>&1 | grep -q -- '--guard-period'; then
	what="exitloop.elf time under kfv with the guard at $period ms over --no-guard"
	run_exitloop --no-guard # warm-up
	echo "$BENCH_NAME: (2) guest slowdown: exitloop.elf n=$n, $reps rounds"
	for ((r = 1; r <= reps; r++)); do
		if ((r % 2)); then
			run_exitloop --guard-period $period; on=$T; run_exitloop --no-guard; off=$T
		else
			run_exitloop --no-guard; off=$T; run_exitloop --guard-period $period; on=$T
		fi
		ratios+=("$(calc '%.4f' "$on / $off")")
		echo "  round $r: guard on $(calc '%.1f' "$on / 1e6") ms, off $(calc '%.1f' "$off / 1e6") ms, ratio ${ratios[-1]}"
	done
else
	what="the stand-in's RAM workload time with the guard at $period ms over none (this kfv has no --guard-period)"
	echo "$BENCH_NAME: (2) guest slowdown, stand-in: guard-target --workload, $reps rounds of 3 s"
	for ((r = 1; r <= reps; r++)); do
		gt --workload --duration 3000; on=$(printf '%s\n' "$OUT" | sed -n 's/^workload passes=\([0-9]*\) ns=\([0-9]*\)/\2 \/ \1/p')
		gt --workload --no-guard --duration 3000; off=$(printf '%s\n' "$OUT" | sed -n 's/^workload passes=\([0-9]*\) ns=\([0-9]*\)/\2 \/ \1/p')
		[ -n "$on" ] && [ -n "$off" ] || bench_fail "no workload line from guard-target"
		ratios+=("$(calc '%.4f' "($on) / ($off)")")
		echo "  round $r: ns per pass with the guard $(calc '%.0f' "$on"), without $(calc '%.0f' "$off"), ratio ${ratios[-1]}"
	done
fi
q=$(median "${ratios[@]}")
read -r lo hi < <(minmax "${ratios[@]}")
echo "  guard on / off: $(calc '%.3f' "$q") (median; range $(calc '%.3f' "$lo") .. $(calc '%.3f' "$hi")); target: at most 1.02"

# --- 3. detection latency -----------------------------------------------
pages=() modified=()
for ((i = 1; i <= pokes; i++)); do
	when=$((800 + RANDOM % 400))
	gt --duration $((when + 600)) --at "$when:poke-code"
	p=$(at action poke-code) a=$(at alarm code_pages) b=$(at alarm code_modified)
	[ -n "$p" ] && [ -n "$a" ] && [ -n "$b" ] || bench_fail "a poke went unseen: $(printf '%s' "$OUT" | tr '\n' '|')"
	pages+=($((a - p))) modified+=($((b - p)))
done
read -r plo phi < <(minmax "${pages[@]}")
read -r mlo mhi < <(minmax "${modified[@]}")
gt --duration 2000 --at 1000:stop-responder
u=$(( $(at alarm unresponsive) - $(at action stop-responder) ))
deadline=$(printf '%s\n' "$OUT" | sed -n 's/.* deadline \([0-9]*\) ms.*/\1/p' | head -n 1)
echo "$BENCH_NAME: (3) detection latency at $period ms (+-$((period / 10)) ms jitter), $pokes one-byte code writes:"
echo "  code_pages (guard reads the code) median $(median "${pages[@]}") ms, range $plo .. $phi ms"
echo "  code_modified (challenge answer) median $(median "${modified[@]}") ms, range $mlo .. $mhi ms"
echo "  unresponsive (responder stopped) $u ms (the next challenge, then its deadline of ${deadline:-?} ms)"
echo "$BENCH_NAME: $(calc '%.3f' "$q") ($what; target <= 1.02)"
