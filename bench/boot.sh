#!/usr/bin/env bash
# boot: wall time from process start to the guest's debug-exit for
# build/guests/hello.elf under kfv, over the same file under QEMU's microvm
# machine with the same KVM, in the same run. Target: below 0.5.
#
# A run's time is from just before fork until the guest's last line
# ("hello: N cpus online") arrives on the VMM's stdout; the guest's next and
# final act is its one-byte write to the debug-exit port. The time until the
# process has exited and been reaped (teardown included) is shown as well.
# Both 1 and 2 vCPUs are measured (2 adds the guest's INIT/SIPI sequence);
# the headline is the worse of the two ratios. kfv --no-sandbox (no jail,
# no seccomp) is timed alongside, to show what confinement costs at start. Medians of
# KFV_BENCH_BOOT_REPS (5) runs each, after one warm-up run of each VMM; runs
# alternate between the two VMMs.
#
# QEMU: qemu-system-x86_64 -M microvm -enable-kvm -cpu MODEL, MODEL from
# bench_qemu_cpu (bench/lib.sh): KFV_BENCH_QEMU_CPU, else the first of host
# (KVM's supported CPUID, which is also what kfv gives its guests),
# host,-arch-capabilities, ... that this KVM accepts.
BENCH_NAME=boot
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_BOOT_REPS:-5}
qemu=${KFV_BENCH_QEMU:-qemu-system-x86_64}
kernel=$GUESTS/hello.elf
log=$BENCH_TMP/boot.log
command -v "$qemu" >/dev/null || bench_fail "$qemu not found (scripts/install-deps.sh)"
qemu_cpu=$(bench_qemu_cpu) || bench_fail "no QEMU -cpu model works with this KVM (KFV_BENCH_QEMU_CPU)"

# run_boot kfv|kfv-ns|qemu CPUS: sets LINE and EXIT (nanoseconds)
run_boot() {
	local vmm=$1 cpus=$2 want l e s cmd
	if [ "$vmm" != qemu ]; then
		cmd=("$KFV" run --quiet --debug-exit --memory 128M --cpus "$cpus" --kernel "$kernel")
		[ "$vmm" = kfv ] || cmd+=(--no-sandbox)
		want=0
	else
		# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
		cmd=("$qemu" -M microvm -enable-kvm -cpu "$qemu_cpu" -smp "$cpus" -m 128M -nodefaults
		     -no-user-config -nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4
		     -kernel "$kernel")
		want=1 # isa-debug-exit: (0 << 1) | 1
	fi
	read -r _ l e s < <("$MEASURE" time --line "hello: " --log "$log" --timeout 120 -- "${cmd[@]}")
	if [ "${s:-x}" != "$want" ] || [ "${l:--1}" -lt 0 ] || ! grep -qx "hello: $cpus cpus online" "$log"; then
		sed 's/^/  | /' "$log" >&2
		bench_fail "$vmm with $cpus vCPU(s): status ${s:-none} (want $want), no \"hello: $cpus cpus online\" line"
	fi
	LINE=$l EXIT=$e
}

ms() { calc '%.1f' "$1 / 1e6"; }

run_boot kfv 1
run_boot qemu 1
declare -A lines exits
for ((r = 1; r <= reps; r++)); do
	for cpus in 1 2; do
		if ((r % 2)); then order="kfv qemu kfv-ns"; else order="kfv-ns qemu kfv"; fi
		for vmm in $order; do
			run_boot "$vmm" "$cpus"
			lines[$vmm,$cpus]+=" $LINE"
			exits[$vmm,$cpus]+=" $EXIT"
		done
	done
done

echo "$BENCH_NAME: guest hello.elf, 128 MiB, medians of $reps runs; QEMU $("$qemu" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') -M microvm -enable-kvm -cpu $qemu_cpu"
worst=0
for cpus in 1 2; do
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	{
		kl=$(median ${lines[kfv,$cpus]}); ke=$(median ${exits[kfv,$cpus]})
		ql=$(median ${lines[qemu,$cpus]}); qe=$(median ${exits[qemu,$cpus]})
		nl=$(median ${lines[kfv-ns,$cpus]})
	}
	ratio=$(calc '%.3f' "$kl / $ql")
	echo "  $cpus vCPU(s): to debug-exit kfv $(ms "$kl") ms, QEMU $(ms "$ql") ms, ratio $ratio;" \
	     "to process exit kfv $(ms "$ke") ms, QEMU $(ms "$qe") ms, ratio $(calc '%.3f' "$ke / $qe");" \
	     "kfv --no-sandbox to debug-exit $(ms "$nl") ms"
	worst=$(calc '%.3f' "($ratio > $worst ? $ratio : $worst)")
done
echo "  target: below 0.5"
echo "$BENCH_NAME: $worst (kfv boot time over QEMU microvm, hello.elf start to debug-exit, worse of 1 and 2 vCPUs)"
