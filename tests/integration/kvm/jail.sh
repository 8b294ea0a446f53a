#!/usr/bin/env bash
# The VMM runs jailed: checked from outside, through /proc, while two VMs
# run side by side; and everything is gone when they end.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

if [ "$(id -u)" != 0 ]; then
	skip "jailed VMM" "needs root"
	exit 0
fi

start_vm() { # OUTFILE: starts a long guest; its supervisor's pid is $!
	"$KFV" run --kernel "$GUESTS/exitloop.elf" --debug-exit --cmdline "n=200000000" \
		>"$1.out" 2>"$1.err" </dev/null &
}
vmm_of() { # SUPERVISOR-PID: the VMM child, once it is locked down
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
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | awk '{print $1}'; }

start_vm "$TEST_TMP/a"
sup1=$!
start_vm "$TEST_TMP/b"
sup2=$!
vmm1=$(vmm_of "$sup1")
vmm2=$(vmm_of "$sup2")

if [ -z "$vmm1" ] || [ -z "$vmm2" ]; then
	not_ok "jailed VMMs start" "no locked-down VMM found ($(cat "$TEST_TMP/a.err" "$TEST_TMP/b.err" | tr '\n' '|'))"
else
	ok "jailed VMMs start"
	for v in "$vmm1" "$vmm2"; do
		RC=0 OUT="" ERR="pid $v: $(grep -E '^(Uid|Seccomp|NoNewPrivs|Cap(Eff|Prm|Bnd|Inh|Amb)):' /proc/$v/status | tr '\n' ' ')"
		check "VMM $v: seccomp filter mode, no_new_privs" "want Seccomp 2 and NoNewPrivs 1" \
			eval '[ "$(field $v Seccomp)" = 2 ] && [ "$(field $v NoNewPrivs)" = 1 ]'
		check "VMM $v: no capabilities" "want CapEff, CapPrm, CapBnd, CapAmb all zero" \
			eval '[ "$(field $v CapEff)" = 0000000000000000 ] && [ "$(field $v CapPrm)" = 0000000000000000 ] && [ "$(field $v CapBnd)" = 0000000000000000 ] && [ "$(field $v CapAmb)" = 0000000000000000 ]'
		check "VMM $v: unprivileged uid" "want a non-zero uid" eval '[ "$(field $v Uid)" != 0 ]'
		check "VMM $v: own namespaces" "want mnt, net, pid, ipc, uts inodes unlike the host's" \
			eval 'for ns in mnt net ipc uts; do [ "$(readlink /proc/$v/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] || exit 1; done; [ "$(readlink /proc/$v/ns/pid)" != "$(readlink /proc/self/ns/pid)" ]'
		check "VMM $v: empty root" "want nothing in the VMM's /" eval '[ -z "$(ls -A /proc/$v/root/ 2>&1)" ]'
		check "VMM $v: not dumpable" "want its /proc/PID/environ owned by root (what PR_SET_DUMPABLE 0 does)" \
			eval '[ "$(stat -c %u /proc/$v/environ)" = 0 ]'
	done
	RC=0 OUT="" ERR="uids $(field "$vmm1" Uid) $(field "$vmm2" Uid)"
	check "two VMs, two uids" "want different uids" eval '[ "$(field $vmm1 Uid)" != "$(field $vmm2 Uid)" ]'
fi

kill -TERM "$sup1" "$sup2" 2>/dev/null
wait "$sup1"; rc1=$?
wait "$sup2"; rc2=$?
RC="$rc1/$rc2" OUT="" ERR=$(cat "$TEST_TMP/a.err")
check "SIGTERM reaches the jailed VMM" "want 84 from both and the sandbox line" \
	eval '[ "$rc1" = 84 ] && [ "$rc2" = 84 ] && grep -q "kfv: sandbox: VMM jailed" "$TEST_TMP/a.err"'
check "nothing left behind" "want no per-VM directory or cgroup" \
	eval '[ ! -e /run/kfv/vm-$sup1 ] && [ ! -e /run/kfv/vm-$sup2 ] && ! ls -d /sys/fs/cgroup/kfv/vm-$sup1 /sys/fs/cgroup/*/kfv/vm-$sup1 2>/dev/null | grep -q .'

run "$KFV" run --no-sandbox --kernel "$GUESTS/hello.elf" --debug-exit
check "--no-sandbox warns" "want the warning and a normal run" \
	eval '[ "$RC" = 0 ] && printf %s "$ERR" | grep -q "warning: --no-sandbox"'
