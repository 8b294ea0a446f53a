#!/usr/bin/env bash
# The integrity guard against a stand-in VMM (build/tools/guard-target: the
# guard, the responder and, with --jail, kfv's own jail and seccomp lists,
# without KVM). Needs root: the jail, and the guard's CAP_SYS_PTRACE.
# docs/guard.md describes each check.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

GT=${GUARD_TARGET:-build/tools/guard-target}
PERIOD=100

if [ "$(id -u)" != 0 ]; then
	skip "guard" "needs root (the jail, and CAP_SYS_PTRACE for the guard)"
	exit 0
fi
if [ ! -x "$GT" ]; then
	not_ok "guard" "$GT is missing (make $GT)"
	exit 0
fi

gt() { TIMEOUT=60 run "$GT" --period $PERIOD "$@"; }

# alarm_at CHECK: the time of the first alarm of that check, or nothing.
alarm_at() { printf '%s\n' "$OUT" | awk -v c="$1" '$2 == "guard" && $3 == "alarm" && $4 == c { sub("t=", "", $1); print $1; exit }'; }
action_at() { printf '%s\n' "$OUT" | awk -v a="$1" '$2 == "action" && $3 == a { sub("t=", "", $1); print $1; exit }'; }
alarms() { printf '%s\n' "$OUT" | grep -c ' guard alarm '; }
last_stats() { printf '%s\n' "$OUT" | grep ' guard stats ' | tail -n 1; }
stat_of() { last_stats | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
ended() { printf '%s\n' "$OUT" | grep -q "^end target=$1 "; }
released() { printf '%s\n' "$OUT" | grep -q '^end .* ram=released$'; }

# --- no false positives: clean targets, jailed and not, for many periods ---
for mode in jail nojail; do
	flags=; [ $mode = jail ] && flags=--jail
	gt $flags --duration 5000 --sharing-every 5
	checks=$(stat_of checks); challenges=$(stat_of challenges)
	check "guard: clean target ($mode) raises no alarm over 50 periods ($checks checks, $challenges challenges)" \
		"want no alarm, a full stats line and a normal end" \
		eval '[ "$RC" = 0 ] && [ "$(alarms)" = 0 ] && [ "${challenges:-0}" -ge 30 ] && [ "${checks:-0}" -ge 200 ] && ended exit:0'
	check "guard: clean target ($mode): guest RAM released at the end" "want ram=released" released
done

# --- one byte of code changed through /proc/PID/mem, jailed VMM ---
gt --jail --duration 2500 --at 1000:poke-code
poke=$(action_at poke-code); pages=$(alarm_at code_pages); modified=$(alarm_at code_modified)
check "guard: a byte written into the code through /proc/PID/mem is seen by the page check within two periods ($((pages - poke)) ms)" \
	"want alarm code_pages no later than $((2 * PERIOD)) ms after the write" \
	eval '[ -n "$poke" ] && [ -n "$pages" ] && [ $((pages - poke)) -le $((2 * PERIOD)) ]'
check "guard: ... and by the challenge within two periods ($((modified - poke)) ms)" \
	"want alarm code_modified no later than $((2 * PERIOD)) ms after the write" \
	eval '[ -n "$poke" ] && [ -n "$modified" ] && [ $((modified - poke)) -le $((2 * PERIOD)) ]'

# --- the responder's hooks (compromise simulation 30, 31), jailed ---
gt --jail --duration 2500 --at 1000:stop-responder --kill-on-alarm
t=$(alarm_at unresponsive); a=$(action_at stop-responder)
check "guard: a stopped responder is 'unresponsive' ($((t - a)) ms), and the policy kills the VM" \
	"want alarm unresponsive, then policy kill check=unresponsive and the target killed" \
	eval '[ -n "$t" ] && printf "%s\n" "$OUT" | grep -q "policy kill check=unresponsive" && ended signal:9'
gt --jail --duration 2500 --at 1000:replay --kill-on-alarm
check "guard: a replayed answer is 'replayed_answer', and the policy kills the VM" \
	"want alarm replayed_answer then the kill" \
	eval '[ -n "$(alarm_at replayed_answer)" ] && printf "%s\n" "$OUT" | grep -q "policy kill check=replayed_answer" && ended signal:9'

# --- an executable page and an extra fd (hooks 32, 33): seccomp stops them in
# a jailed VMM; the guard catches them in an unjailed one ---
for hook in exec-page:maps extra-fd:fds; do
	action=${hook%%:*}; want=${hook#*:}
	gt --duration 2500 --at 1000:$action --kill-on-alarm
	check "guard: $action in an unjailed VMM is alarm '$want', and the policy kills the VM" \
		"want alarm $want then the kill" \
		eval '[ -n "$(alarm_at $want)" ] && printf "%s\n" "$OUT" | grep -q "policy kill check=$want" && ended signal:9'
	gt --jail --duration 2500 --at 1000:$action
	check "guard: $action in a jailed VMM is stopped by seccomp first (status 85)" \
		"want the target ended by its seccomp report" \
		eval 'ended exit:85 && printf "%s\n" "$ERR" | grep -q "kfv-seccomp: "'
done

# --- memory ownership ---
"$GT" --period $PERIOD --duration 3000 --sharing-every 2 >"$TEST_TMP/a" 2>&1 </dev/null &
a=$!
sleep 0.5
gt --duration 2000 --sharing-every 2
wait $a
other=$(sed -n 's/^target pid=\([0-9]*\).*/\1/p' "$TEST_TMP/a")
check "guard: two VMs side by side share no frame (RAM of the other compared)" \
	"want no alarm in either and the comparison reported" \
	eval '[ "$(alarms)" = 0 ] && ! grep -q " guard alarm " "$TEST_TMP/a" && grep -q "no frame shared with pid $other" <(printf "%s\n" "$OUT")'

"$GT" --period $PERIOD --duration 3000 --sharing-every 2 >"$TEST_TMP/a" 2>&1 </dev/null &
a=$!
sleep 0.5
owner=$(sed -n 's/^target pid=\([0-9]*\).*/\1/p' "$TEST_TMP/a")
gt --duration 1500 --sharing-every 2 --map-ram-of "$owner"
wait $a
OUT=$(cat "$TEST_TMP/a")
check "guard: a second process mapping a VM's RAM memfd is 'page_sharing'" \
	"want alarm page_sharing from the owner's guard" \
	eval '[ -n "$(alarm_at page_sharing)" ]'
