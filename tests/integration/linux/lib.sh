# Helpers of the Linux guest tests: boot Debian's kernel with the test
# initramfs (guests/linux/build.sh) under kfv in its default mode (jailed,
# guarded, default policy), wait on the guest's console markers, read the
# security summary. Sourced after tests/lib.sh.
LINUX_KERNEL=${KFV_TEST_VMLINUZ:-build/kvmbox/kernel/vmlinuz}
LINUX_IMAGES=${KFV_LINUX_IMAGES:-build/guests/linux}
LINUX_INITRD=$LINUX_IMAGES/initramfs.cpio.gz
LINUX_ROOTFS=$LINUX_IMAGES/rootfs.ext4
# quiet: the kernel's log stays out of the console, so the test's markers
# are what arrives; the info scenario reads the whole log with dmesg.
LINUX_CMDLINE="console=ttyS0 quiet panic=-1"

linux_images_ok() {
	local n=$1
	if [ ! -e "$LINUX_KERNEL" ] || [ ! -e "$LINUX_INITRD" ]; then
		not_ok "$n" "no $LINUX_KERNEL or $LINUX_INITRD (scripts/install-deps.sh, then make)"
		return 1
	fi
}

# linux_argv CMDLINE-EXTRA KFV-RUN-OPTIONS...: LINUX_ARGV, the whole kfv
# command line of a boot (LINUX_WRAP, a command prefix such as
# "nsenter --net=/run/netns/NS", first), with a fresh events file.
linux_argv() {
	local extra=$1
	shift
	: >"$TEST_TMP/events"
	# shellcheck disable=SC2206 # LINUX_WRAP is split on purpose
	LINUX_ARGV=(${LINUX_WRAP:-} "$KFV" run --kernel "$LINUX_KERNEL" --initrd "$LINUX_INITRD"
		--cmdline "$LINUX_CMDLINE $extra" --events "$TEST_TMP/events" "$@")
}

# linux_run CMDLINE-EXTRA KFV-RUN-OPTIONS...: boots; sets RC, OUT (the
# console), ERR (kfv's lines) as `run` does.
linux_run() {
	linux_argv "$@"
	TIMEOUT=${TIMEOUT:-120} run "${LINUX_ARGV[@]}"
}

# marker NAME: the value of the guest's "KFV-TEST NAME=VALUE" line.
marker() { printf '%s\n' "$OUT" | tr -d '\r' | sed -n "s/^KFV-TEST $1=//p" | tail -n1; }

# The events of the last linux_run above `notice`, one per line.
events_above_notice() {
	python3 - "$TEST_TMP/events" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("severity") not in ("info", "notice"):
        print(e.get("kind"), e.get("severity"), e.get("detail", e.get("message", "")))
PY
}

# Guard checks that ran and alarms raised, from the security summary.
guard_checks() { printf '%s\n' "$ERR" | sed -n 's/.*guard checks \([0-9]*\), alarms [0-9]*.*/\1/p' | tail -n1; }
guard_alarms() { printf '%s\n' "$ERR" | sed -n 's/.*guard checks [0-9]*, alarms \([0-9]*\).*/\1/p' | tail -n1; }

# benign NAME: the last run was fully jailed (nothing degraded), raised
# nothing above notice, took no action, and the guard checked it
# throughout without an alarm.
benign() {
	local bad
	bad=$(events_above_notice)
	if [ -n "$bad" ]; then
		not_ok "$1" "events above notice: $(printf %s "$bad" | head -n 3 | tr '\n' '|')"
	elif printf %s "$ERR" | grep -q 'sandbox degraded'; then
		not_ok "$1" "the jail ran degraded: $(printf %s "$ERR" | grep 'sandbox degraded')"
	elif ! printf %s "$ERR" | grep -q 'security: actions taken: none'; then
		not_ok "$1" "the policy acted: $(printf %s "$ERR" | grep 'actions taken')"
	elif [ "$(guard_checks)" -lt 1 ] 2>/dev/null || [ "$(guard_alarms)" != 0 ]; then
		not_ok "$1" "want guard checks > 0 and 0 alarms: $(printf %s "$ERR" | grep 'guard checks')"
	else
		ok "$1"
	fi
}

# linux_start CMDLINE-EXTRA KFV-RUN-OPTIONS...: linux_run in the
# background (LINUX_PID); linux_wait_for MARKER waits on the console for
# a line starting with MARKER (up to 150 s, or until kfv ends);
# linux_finish waits for kfv (killed after 150 s more) and sets RC, OUT, ERR.
linux_start() {
	linux_argv "$@"
	: >"$TEST_TMP/out"
	"${LINUX_ARGV[@]}" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
	LINUX_PID=$!
}
linux_wait_for() {
	local i
	for i in $(seq 1500); do
		grep -q "^$1" "$TEST_TMP/out" 2>/dev/null && return 0
		kill -0 "$LINUX_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
linux_finish() {
	local watchdog
	( trap - EXIT; sleep 150; kill -KILL "$LINUX_PID" 2>/dev/null ) &
	watchdog=$!
	wait "$LINUX_PID"
	RC=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	OUT=$(cat "$TEST_TMP/out")
	ERR=$(cat "$TEST_TMP/err")
}
