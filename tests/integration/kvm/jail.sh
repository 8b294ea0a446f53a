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
own_namespaces() { # VMM-PID: none of its namespaces is this shell's
	local ns
	for ns in mnt net ipc uts pid; do
		[ "$(readlink "/proc/$1/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] || return 1
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
			own_namespaces "$v"
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

# A supervisor killed with SIGKILL cannot clean up: its VMM dies with it
# (PR_SET_PDEATHSIG), but the per-VM directory and cgroups stay. The next
# kfv to start removes them (jail_sweep_stale), and leaves a running VM's
# alone.
leftovers() { ls -d "/run/kfv/vm-$1" /sys/fs/cgroup/kfv/vm-"$1" /sys/fs/cgroup/*/kfv/vm-"$1" 2>/dev/null; }
start_vm "$TEST_TMP/c"; sup3=$!
start_vm "$TEST_TMP/d"; sup4=$!
vmm3=$(vmm_of "$sup3")
vmm_of "$sup4" >/dev/null
kill -KILL "$sup3"
wait "$sup3" 2>/dev/null
for _ in $(seq 100); do [ -n "$vmm3" ] && kill -0 "$vmm3" 2>/dev/null || break; sleep 0.1; done
before=$(leftovers "$sup3" | wc -l)
run "$KFV" run --kernel "$GUESTS/hello.elf" --debug-exit
after=$(leftovers "$sup3" | wc -l)
running=$(leftovers "$sup4" | wc -l)
check "a SIGKILLed supervisor's leftovers are swept by the next start" \
	"want some left after the SIGKILL ($before), none after the next run ($after), the running VM's kept ($running)" \
	eval '[ "$RC" = 0 ] && [ "$before" -gt 0 ] && [ "$after" = 0 ] && [ "$running" -gt 0 ] && kill -0 "$sup4"'
kill -TERM "$sup4" 2>/dev/null
wait "$sup4" 2>/dev/null
