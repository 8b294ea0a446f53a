#!/usr/bin/env bash
# Boots the guest kit on KVM: the CPU count follows --cpus for both loaders,
# a triple fault ends the run with the crash status and a register dump.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

for n in 1 2 4; do
	run "$KFV" run --kernel "$GUESTS/hello.elf" --cpus "$n" --debug-exit
	check "hello.elf --cpus $n" "want status 0 and 'hello: $n cpus online'" \
		eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -qx "hello: $n cpus online"'
done

# The most vCPUs --cpus allows, jailed and guarded: each one is accounted
# in a telemetry slot and a KVM statistics fd of its own, so the agents'
# counts match the kernel's (no reports_diverge, whose answer is a kill).
TIMEOUT=180 run "$KFV" run --kernel "$GUESTS/hello.elf" --cpus 64 --debug-exit --events "$TEST_TMP/ev64"
check "hello.elf --cpus 64 (the most allowed), jailed: every vCPU accounted" \
	"want status 0, 'hello: 64 cpus online' and no reports_diverge event" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -qx "hello: 64 cpus online" && ! grep -q reports_diverge "$TEST_TMP/ev64"'

for n in 1 2 4; do
	run "$KFV" run --kernel "$GUESTS/hello.bzimage" --cpus "$n" --debug-exit
	check "hello.bzimage --cpus $n" "want status 0 and 'hello: $n cpus online'" \
		eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -qx "hello: $n cpus online"'
done

run "$KFV" run --kernel "$GUESTS/hello.elf" --cpus 2 --debug-exit --cmdline "console=ttyS0 marker=kfv-42"
check "cmdline reaches the guest" "want the marker echoed by the guest" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "marker=kfv-42"'

run "$KFV" run --kernel "$GUESTS/hello.elf" --memory 3584M --debug-exit
check "RAM above the 4 GiB line" "want a clean boot with 3.5 GiB (RAM split around the MMIO hole)" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "cpus online"'

start=$(date +%s)
TIMEOUT=30 run "$KFV" run --kernel "$GUESTS/fault.elf"
took=$(( $(date +%s) - start ))
check "fault.elf: crash status" "want 81 with a register dump, within seconds (took ${took}s)" \
	eval '[ "$RC" = 81 ] && printf %s "$ERR" | grep -q "triple fault" && printf %s "$ERR" | grep -q "rip=" && printf %s "$ERR" | grep -q "cr0="'

run "$KFV" run --kernel "$GUESTS/hello.elf"
check "no --debug-exit: the port is unclaimed" "want the reset fallback (80) and port 0xf4 counted as unclaimed" \
	eval '[ "$RC" = 80 ] && printf %s "$ERR" | grep -q "unclaimed port accesses: [1-9].*0xf4"'

run "$KFV" run --kernel "$GUESTS/exitloop.elf" --debug-exit --cmdline "n=5000"
check "ring-3 exit loop" "want 'exitloop: 5000 exits' and at least 5000 IO exits counted" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "exitloop: 5000 exits" && [ "$(printf %s "$ERR" | sed -n "s/.*IO \([0-9]*\).*/\1/p")" -ge 5000 ]'
