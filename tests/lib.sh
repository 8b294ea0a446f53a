# Shared helpers for the integration tests. Each test prints one TAP-style
# line: "ok - NAME", "not ok - NAME: WHY" or "ok - NAME # SKIP WHY";
# tests/run-all.sh counts them.
KFV=${KFV:-build/kfv}
KFV_ASAN=${KFV_ASAN:-build/asan/kfv}
GUESTS=${GUESTS:-build/guests}
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kfv-test.XXXXXX")
trap 'rm -rf "$TEST_TMP"' EXIT

ok()     { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; }
skip()   { echo "ok - $1 # SKIP $2"; }

# run CMD...: runs with no stdin and a timeout; sets RC, OUT, ERR.
run() {
	timeout --kill-after=5 "${TIMEOUT:-60}" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null
	RC=$?
	OUT=$(cat "$TEST_TMP/out")
	ERR=$(cat "$TEST_TMP/err")
}

# check NAME CONDITION-DESCRIPTION: reports the last `run` against a test
# expression given as the remaining arguments.
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "$why (status $RC; stdout: $(printf %s "$OUT" | tail -n 3 | tr '\n' '|'); stderr: $(printf %s "$ERR" | tail -n 5 | tr '\n' '|'))"
	fi
}

has_kvm() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }
# vmm_of SUPERVISOR-PID: the pid of its VMM child once that is locked down
# (under seccomp), after up to 30 s; nothing if it never is.
vmm_of() {
	local i pid
	for i in $(seq 1 150); do
		pid=$(pgrep -P "$1" | head -n1)
		if [ -n "$pid" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" 2>/dev/null; then
			echo "$pid"
			return
		fi
		sleep 0.2
	done
}
# A software KVM (module kvm_pvm): guest ring 3 runs as host user code.
on_pvm() { [ -d /sys/module/kvm_pvm ]; }

line_count() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }
