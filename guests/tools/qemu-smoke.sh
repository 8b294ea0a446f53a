#!/bin/sh
# Boots the kit's guests under QEMU (TCG, -M microvm) and checks what they
# print and how they exit. Usage: qemu-smoke.sh BUILD_DIR/guests
# Environment: QEMU (default qemu-system-x86_64), ACCEL (default tcg; set
# ACCEL=kvm where /dev/kvm exists). Skips, successfully, without QEMU.
#
# QEMU's isa-debug-exit turns a guest's exit code C into status (C << 1) | 1:
# code 0 -> 1, 1 -> 3, 2 -> 5, 3 -> 7. A triple fault with -no-reboot is 0.
set -u

dir=${1:?usage: qemu-smoke.sh GUEST_BUILD_DIR}
qemu=${QEMU:-qemu-system-x86_64}
accel=${ACCEL:-tcg}
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "qemu-smoke: $qemu not found, skipped"
	exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0
fail=0

# run NAME WANT_STATUS WANT_LINE SMP KERNEL [QEMU ARGS...]
# WANT_LINE is an extended regular expression that must match a whole line.
run() {
	name=$1 want_status=$2 want_line=$3 smp=$4 kernel=$5
	shift 5
	timeout 120 "$qemu" -M microvm -accel "$accel" -cpu qemu64 -smp "$smp" -m 128M \
		-nodefaults -nographic -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$kernel" "$@" \
		>"$log" 2>&1 </dev/null
	status=$?
	if [ "$status" -eq "$want_status" ] && line=$(grep -xE -m1 -- "$want_line" "$log"); then
		pass=$((pass + 1))
		echo "qemu-smoke: ok   $name (status $status: $line)"
	else
		fail=$((fail + 1))
		echo "qemu-smoke: FAIL $name: status $status (want $want_status), want line \"$want_line\"; output:"
		sed 's/^/    /' "$log"
	fi
}

for n in 1 2 4; do
	run "hello smp $n" 1 "hello: $n cpus online" "$n" "$dir/hello.elf"
done
run "hello cmdline" 1 'kfv-guest: booted via pvh, cmdline "a=1 b"' 1 "$dir/hello.elf" -append "a=1 b"
for p in 32 64; do
	if [ -f "$dir/test/hello-bzshim$p.elf" ]; then
		run "hello.bzimage via linux$p" 1 "hello: 2 cpus online" 2 "$dir/test/hello-bzshim$p.elf"
		run "hello.bzimage linux$p cmdline" 1 "kfv-guest: booted via linux$p, cmdline \"x=y\"" 1 \
			"$dir/test/hello-bzshim$p.elf" -append "x=y"
	fi
done
run "fault" 0 "fault: about to triple-fault \\(IDT limit 0, then ud2\\)" 1 "$dir/fault.elf"
if grep -q "still running" "$log"; then
	fail=$((fail + 1))
	echo "qemu-smoke: FAIL fault: the guest survived its triple fault"
fi
run "exitloop n=1000" 1 "exitloop: 1000 exits" 1 "$dir/exitloop.elf" -append "n=1000"
run "exitloop default" 1 "exitloop: 100000 exits" 1 "$dir/exitloop.elf"
run "exitloop bad n" 5 "exitloop: bad n= on the command line" 1 "$dir/exitloop.elf" -append "n=12x"
run "selftest" 1 "guest-report: [0-9]+ passed, 0 failed" 2 "$dir/selftest.elf"
run "selftest trap=ud2" 7 "guest-report: [0-9]+ passed, 0 failed" 1 "$dir/selftest.elf" -append "trap=ud2"
run "selftest trap=user-gp" 7 "guest-report: [0-9]+ passed, 0 failed" 1 "$dir/selftest.elf" -append "trap=user-gp"
if ! grep -q "FATAL #GP general protection (vector 13)" "$log" || ! grep -q "cs 0x23" "$log"; then
	fail=$((fail + 1))
	echo "qemu-smoke: FAIL selftest trap=user-gp: no #GP dump from ring 3"
fi

echo "qemu-smoke: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
