#!/usr/bin/env bash
# The integrity guard beside a real, jailed kfv VMM (docs/guard.md), under
# the default policy (a guard alarm: dump, kill, restart from a clean
# process):
#  - a clean VM for many periods raises no alarm (the run summary's count of
#    guard checks is printed);
#  - one byte written into the running VMM's code through /proc/PID/mem is
#    an alarm within two periods, and the policy kills and restarts the VM;
#  - the responder stopped (compromise simulation 30) is 'unresponsive', a
#    replayed answer (31) 'replayed_answer';
#  - unjailed, an executable page (32) is 'maps' and an extra fd (33) 'fds'
#    (jailed, seccomp stops both first: tests/integration/host/guard.sh).
# tests/integration/host/guard.sh covers the same checks without KVM.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
KFV_TEST=${KFV_TEST:-build/test/kfv}
PERIOD=100
GUEST=$GUESTS/guard-hook.elf

if [ "$(id -u)" != 0 ]; then
	skip "guard (KVM)" "the jail needs root"
	exit 0
fi
if [ ! -e "$GUEST" ]; then
	not_ok "guard (KVM)" "$GUEST is missing (make guests)"
	exit 0
fi

# events FILE KIND: "resource|time_ns|detail" of each event of that kind
events() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["kind"] == sys.argv[2]:
        print("%s|%s|%s|%s" % (e["resource"], e["time_ns"], e.get("action") or "", e["detail"]))' "$1" "$2" 2>/dev/null
}
first_alarm() { events "$1" guard_alarm | head -n 1; }

# --- a clean VM: no alarm ----------------------------------------------------
ev=$TEST_TMP/clean.jsonl
TIMEOUT=240 run "$KFV" run --kernel "$GUEST" --debug-exit --memory 64M --guard-period $PERIOD --events "$ev" \
	--cmdline "seconds=8"
checks=$(printf '%s\n' "$ERR" | sed -n 's/.*guard checks \([0-9]*\), alarms \([0-9]*\).*/\1/p' | tail -n 1)
check "guard (KVM): a clean jailed VM raises no alarm over 8 s at $PERIOD ms (${checks:-?} checks)" \
	"want status 0, the guest's last line, no guard_alarm event and many checks" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "still running after 8 s" && [ -z "$(events "$ev" guard_alarm)" ] &&
	      [ "${checks:-0}" -ge 200 ]'

# --- one byte of the VMM's code, from outside --------------------------------
# A function no run calls (the `kfv surface` command's), so the VMM keeps
# running on the changed code until the guard sees it.
sym=$(nm "$KFV_TEST" | awk '$3 == "run_describe_surface" { print $1 }')
exe=$(readlink -f "$KFV_TEST")
ev=$TEST_TMP/poke.jsonl
"$KFV_TEST" run --kernel "$GUEST" --debug-exit --memory 64M --guard-period $PERIOD --events "$ev" \
	--cmdline "seconds=12" >"$TEST_TMP/poke.out" 2>"$TEST_TMP/poke.err" </dev/null &
sup=$!
vmm=
for _ in $(seq 100); do
	grep -q "guard-hook: boot" "$TEST_TMP/poke.out" 2>/dev/null && break
	sleep 0.1
done
sleep 2 # the guard's baseline
# The jailed VMM: the supervisor's child that is PID 1 of its own namespace.
for c in $(pgrep -P $sup); do grep -qE '^NSpid:\s+[0-9]+\s+1$' "/proc/$c/status" 2>/dev/null && vmm=$c; done
kids=$(ps -o pid=,comm=,stat= --ppid $sup 2>/dev/null | tr '\n' ';')
# The VMM is a fork of the supervisor: the binary sits at the same address.
base=$(awk -v exe="$exe" '$6 == exe && $3 == "00000000" { split($1, r, "-"); print r[1]; exit }' "/proc/$sup/maps" 2>/dev/null)
poked=
if [ -n "$sym" ] && [ -n "$base" ]; then
	poked=$(python3 -c '
import os, sys, time
fd = os.open("/proc/%s/mem" % sys.argv[1], os.O_RDWR)
addr = int(sys.argv[2], 16) + int(sys.argv[3], 16) + 1
b = os.pread(fd, 1, addr)
t = time.time_ns()
os.pwrite(fd, bytes([b[0] ^ 0xff]), addr)
print(t)' "$vmm" "$base" "$sym")
fi
timeout 120 tail --pid=$sup -f /dev/null
wait $sup
RC=$?
OUT=$(cat "$TEST_TMP/poke.out"); ERR=$(cat "$TEST_TMP/poke.err")
IFS='|' read -r what at _ detail <<<"$(first_alarm "$ev")"
lat=$(( ${at:-0} / 1000000 - ${poked:-0} / 1000000 ))
check "guard (KVM): a byte written into the VMM's code is '$what' within two periods (${lat} ms: $detail)" \
	"want alarm code_pages or code_modified no later than $((2 * PERIOD)) ms after the write (vmm ${vmm:-?} of children $kids base ${base:-?}, symbol ${sym:-?})" \
	eval '[ -n "$poked" ] && case "$what" in code_pages|code_modified) true ;; *) false ;; esac && [ "$lat" -ge 0 ] &&
	      [ "$lat" -le $((2 * PERIOD)) ]'
boots=$(grep -c "guard-hook: boot" "$TEST_TMP/poke.out")
check "guard (KVM): ... and the policy's actions follow: kill, restart from a clean process that boots again" \
	"want policy_action kill and restart, no quarantine (the second check's alarm only on record), two boots ($boots) and status 0" \
	eval 'events "$ev" policy_action | grep -q "|kill|" && events "$ev" policy_action | grep -q "|restart|" &&
	      ! events "$ev" policy_action | grep -q "|quarantine|" && [ "$boots" = 2 ] && [ "$RC" = 0 ]'

# --- the responder's hooks, jailed; the VMM's, unjailed ----------------------
for c in 30:unresponsive: 31:replayed_answer: 32:maps:--no-sandbox 33:fds:--no-sandbox; do
	IFS=: read -r action want flags <<<"$c"
	ev=$TEST_TMP/hook-$action.jsonl
	# shellcheck disable=SC2086 # flags is one option or none
	TIMEOUT=240 run "$KFV_TEST" run $flags --kernel "$GUEST" --debug-exit --memory 64M --guard-period $PERIOD \
		--events "$ev" --cmdline "action=$action delay_ms=3000 seconds=10"
	IFS='|' read -r what _ _ detail <<<"$(first_alarm "$ev")"
	check "guard (KVM): compromise simulation $action${flags:+ ($flags)} is '$want', and the VM is killed" \
		"want the first guard alarm $want (got '$what': $detail), then the policy's kill" \
		eval '[ "$what" = "$want" ] && events "$ev" policy_action | grep -q "|kill|"'
done
