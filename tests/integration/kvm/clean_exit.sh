#!/usr/bin/env bash
# The sanitizer build boots, stops and crashes guests without a leak or a
# sanitizer report, every vCPU thread joined and no fd left open. These
# runs are unjailed: LeakSanitizer and valgrind need what seccomp forbids
# (docs/seccomp.md); the jailed runs are in jail.sh.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run "$KFV_ASAN" run --no-sandbox --kernel "$GUESTS/hello.elf" --cpus 4 --debug-exit
check "asan: hello, 4 cpus" "want status 0 and no sanitizer report" \
	eval '[ "$RC" = 0 ] && ! printf %s "$ERR" | grep -qE "Sanitizer|runtime error"'

TIMEOUT=30 run "$KFV_ASAN" run --no-sandbox --kernel "$GUESTS/fault.elf" --cpus 2
check "asan: triple fault" "want status 81 and no sanitizer report" \
	eval '[ "$RC" = 81 ] && ! printf %s "$ERR" | grep -qE "Sanitizer|runtime error"'

run "$KFV_ASAN" run --no-sandbox --kernel "$GUESTS/hello.bzimage" --cpus 2 --debug-exit
check "asan: bzImage" "want status 0 and no sanitizer report" \
	eval '[ "$RC" = 0 ] && ! printf %s "$ERR" | grep -qE "Sanitizer|runtime error"'

# A guest stopped from outside: SIGTERM while the vCPUs run.
"$KFV_ASAN" run --no-sandbox --kernel "$GUESTS/exitloop.elf" --debug-exit --cmdline "n=100000000" --cpus 2 \
	>"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
pid=$!
sleep 2
kill -TERM "$pid"
wait "$pid"
RC=$?
OUT=$(cat "$TEST_TMP/out")
ERR=$(cat "$TEST_TMP/err")
check "asan: SIGTERM stops every vCPU" "want status 84, a clean stop and no sanitizer report" \
	eval '[ "$RC" = 84 ] && printf %s "$ERR" | grep -q "received" && ! printf %s "$ERR" | grep -qE "Sanitizer|runtime error"'

if command -v valgrind >/dev/null; then
	TIMEOUT=300 run valgrind --vgdb=no --track-fds=yes --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 "$KFV" run --no-sandbox --no-guard --kernel "$GUESTS/hello.elf" --cpus 2 --debug-exit
	# The supervisor and its VMM child each report; the most either had open
	# beyond stdin/stdout/stderr and what it inherited from whoever ran the
	# suite. (The guard, a third process, has its own tests:
	# tests/integration/host/guard.sh.)
	fds=$(printf '%s\n' "$ERR" | awk '
		/FILE DESCRIPTORS: [0-9]+ open/ { pid = $1; n[pid] = 0 }
		/Open file descriptor [0-9]+/ { pid = $1; fd = $5; sub(/:$/, "", fd); if (fd > 2) { n[pid]++; last[pid] = 1 } else last[pid] = 0; next }
		/<inherited from parent>/ { if (last[$1]) n[$1]--; last[$1] = 0 }
		END { m = -1; for (p in n) if (n[p] > m) m = n[p]; print m }')
	check "valgrind: no fd or memory left" "want status 0 and no fd of its own open at exit beyond stdin/stdout/stderr (saw ${fds:-?})" \
		eval '[ "$RC" = 0 ] && [ "${fds:-99}" = 0 ] && printf %s "$ERR" | grep -q "in use at exit: 0 bytes in 0 blocks"'
else
	skip "valgrind: no fd or memory left" "valgrind not installed"
fi
