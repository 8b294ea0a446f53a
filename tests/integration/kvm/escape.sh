#!/usr/bin/env bash
# Compromise simulation: a test build of the VMM, driven by the guest,
# tries what an attacker owning device emulation would. Each attempt must
# kill that VMM (status 85, the syscall named by the supervisor) while a
# second VM beside it runs on and passes its own test.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
KFV_TEST=${KFV_TEST:-build/test/kfv}

if [ "$(id -u)" != 0 ]; then
	skip "escape attempts" "the jail needs root"
	exit 0
fi

# action  name                  syscall the supervisor must name [and the ioctl request]
while read -r action name syscall request; do
	[ -n "$request" ] && syscall="$syscall $request (syscall"
	"$KFV" run --kernel "$GUESTS/exitloop.elf" --debug-exit --cmdline "n=20000" \
		>"$TEST_TMP/beside.out" 2>"$TEST_TMP/beside.err" </dev/null &
	beside=$!
	TIMEOUT=60 run "$KFV_TEST" run --kernel "$GUESTS/attack-escape.elf" --debug-exit --cmdline "action=$action"
	check "escape: $name is stopped" "want status 85 and the supervisor naming $syscall" \
		eval '[ "$RC" = 85 ] && printf %s "$ERR" | grep -q "killed by seccomp.*called $syscall" && ! printf %s "$OUT" | grep -q survived'
	wait "$beside"
	RC=$? OUT=$(cat "$TEST_TMP/beside.out") ERR=$(cat "$TEST_TMP/beside.err")
	check "escape: $name: the VM beside it passes" "want exitloop to finish with status 0" \
		eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "exitloop: 20000 exits"'
done <<'LIST'
1 open-/etc/shadow openat
2 execve-/bin/sh execve
3 socket socket
4 ptrace ptrace
5 kill kill
6 mmap-exec mmap
7 mount mount
8 other-vm-memory openat
9 fork clone
10 new-memory-slot ioctl KVM_SET_USER_MEMORY_REGION
11 new-vcpu ioctl KVM_CREATE_VCPU
LIST

TIMEOUT=60 run "$KFV_TEST" run --no-sandbox --kernel "$GUESTS/attack-escape.elf" --debug-exit --cmdline "action=5"
check "escape: never attempted unjailed" "want the refusal and the guest going on" \
	eval 'printf %s "$ERR" | grep -q "compromise simulation refused" && printf %s "$OUT" | grep -q survived'

# Unjailed, the frozen configuration is the VMM's own answer: -EPERM.
for spec in "10 vm_set_memory_slot()" "11 vcpu_init()"; do
	TIMEOUT=60 run "$KFV_TEST" run --no-sandbox --kernel "$GUESTS/attack-escape.elf" --debug-exit --cmdline "action=${spec%% *}"
	check "escape ${spec%% *}, unjailed: ${spec#* } refuses after boot" "want EPERM from ${spec#* } and the guest going on" \
		eval 'printf %s "$ERR" | grep -qF "unjailed: ${spec#* } after boot: Operation not permitted" && printf %s "$OUT" | grep -q survived'
done
