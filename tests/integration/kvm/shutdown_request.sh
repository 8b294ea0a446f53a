#!/usr/bin/env bash
# The operator's graceful-shutdown request (SIGPWR) against a guest that
# ignores it: after --shutdown-timeout the VM is stopped (status 84, the
# reason names the timeout), jailed and unjailed; SIGPWR sent while the VMM
# is still starting is held, not fatal. A bad --shutdown-timeout is refused
# with one line and status 64. (A Linux guest that honours the request is
# tests/integration/linux/net.sh.)
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

for mode in jailed unjailed; do
	extra=()
	[ "$mode" = unjailed ] && extra=(--no-sandbox)
	"$KFV" run "${extra[@]}" --kernel "$GUESTS/exitloop.elf" --debug-exit --cmdline "n=100000000000" \
		--shutdown-timeout 1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
	pid=$!
	# As soon as kfv runs: its VMM may not even exist yet.
	for _ in $(seq 200); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$KFV")" ] && break
		sleep 0.01
	done
	kill -PWR "$pid" 2>/dev/null
	start=$SECONDS
	( trap - EXIT; sleep 60; kill -KILL "$pid" 2>/dev/null ) &
	watchdog=$!
	wait "$pid"
	RC=$?
	kill "$watchdog" 2>/dev/null
	OUT=$(cat "$TEST_TMP/out")
	ERR=$(cat "$TEST_TMP/err")
	check "SIGPWR ignored by the guest: stopped after --shutdown-timeout ($mode)" \
		"want status 84 and the timeout named, within 60 s (took $((SECONDS - start)) s)" \
		eval '[ "$RC" = 84 ] && printf %s "$ERR" | grep -q "did not shut down within 1000 ms of the shutdown request"'
done

run "$KFV" run --kernel "$GUESTS/hello.elf" --shutdown-timeout -1
check "--shutdown-timeout -1 is refused" "want status 64 and one line naming the option" \
	eval '[ "$RC" = 64 ] && [ "$(line_count "$ERR")" = 1 ] && printf %s "$ERR" | grep -q -- "--shutdown-timeout"'
run "$KFV" run --kernel "$GUESTS/hello.elf" --shutdown-timeout 86401
check "--shutdown-timeout above a day is refused" "want status 64" eval '[ "$RC" = 64 ]'
