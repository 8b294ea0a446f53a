#!/usr/bin/env bash
# linux-boot: wall time from process start to a Linux guest's userspace, a
# Debian distribution kernel with kfv's test initramfs, under kfv, over the
# same kernel and initramfs under QEMU's microvm machine with the same KVM,
# in the same run. Target: at most 1.0.
#
# Guest: build/kvmbox/kernel/vmlinuz (the Debian kernel that
# tests/kvmbox/fetch-kernel.sh caches, the box's own) with
# build/guests/linux/initramfs.cpio.gz (guests/linux/build.sh), 512 MiB, 2
# vCPUs, command line "console=ttyS0 quiet panic=-1 pci=off
# kfv.run=poweroff": the initramfs's /init prints "KFV-INIT: userspace up"
# once it runs (PID 1, /proc, /sys and /dev mounted), loads its modules,
# starts busybox init, whose scenario prints "KFV-TEST poweroff" and powers
# off at once (poweroff -f). A run's time is from just before fork to the
# arrival of the "KFV-INIT: userspace up" line on the VMM's stdout (the
# headline), and to the process's exit (the guest's module loading, power-
# off and the VMM's teardown included), both printed.
#
# kfv: build/kfv run --quiet --kernel vmlinuz --initrd initramfs.cpio.gz
# --cmdline ... --memory 512M --cpus 2, jailed (the default); it must exit
# with 0 (the guest powered off). QEMU: qemu-system-x86_64 -M microvm -accel
# kvm -cpu MODEL (bench_qemu_cpu) -smp 2 -m 512M -nodefaults
# -no-user-config -nographic -serial stdio -kernel ... -initrd ... -append
# ...; microvm has ACPI (acpi=auto, on for x86), the guest's power-off goes
# through its ACPI sleep control and QEMU exits with 0. Both boot the
# bzImage through the 64-bit boot protocol (QEMU: its linuxboot option ROM
# under qboot), both give the kernel a 16550 at 0x3f8 as ttyS0.
#
# kfv's own share: kfv does not print a line when its vCPUs start (the
# "kfv-vmm: running" marker goes to the supervisor's report pipe, not to
# stdout or stderr, and -v logs nothing at vm_run), so its start-up is
# measured on a guest whose first act is to print: build/guests/hello.elf
# under the same kfv options (jailed, --memory 512M --cpus 2, plus
# --debug-exit), timed from just before fork to hello's first line
# ("kfv-guest: booted ..."), which the guest runtime prints first thing
# after its entry point (serial set-up only before it). That is exec, the
# jail, guest memory, loading and vCPU creation, plus a few port writes;
# the same measure under QEMU microvm (its firmware included) is printed
# beside it.
#
# Stock kernels do not boot on a software KVM (PVM boots only PVM-enabled
# ones), so on a PVM host this benchmark runs in the nested-KVM box
# (BENCH_NEEDS_HW_KVM, bench/lib.sh), where every figure is an emulated
# time: only the ratio means something there.
#
# Medians of KFV_BENCH_LINUX_BOOT_REPS (3) runs each, after one warm-up run
# of each VMM; each round runs kfv and QEMU on Linux and on hello.elf,
# alternating which VMM goes first. Settings: KFV_BENCH_LINUX_BOOT_REPS,
# KFV_BENCH_LINUX_BOOT_TIMEOUT (seconds per run, 300),
# KFV_BENCH_LINUX_KERNEL, KFV_BENCH_LINUX_INITRD, KFV_BENCH_QEMU,
# KFV_BENCH_QEMU_CPU, KFV_BENCH_LINUX_QEMU_MACHINE (microvm,rtc=off: the
# same devices as kfv's; microvm's CMOS RTC, which kfv does not have,
# would cost the guest's rtc_cmos probe about 8 s in the box, see
# docs/bench.md).
BENCH_NAME=linux-boot
BENCH_NEEDS_HW_KVM=1
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_LINUX_BOOT_REPS:-3}
run_timeout=${KFV_BENCH_LINUX_BOOT_TIMEOUT:-300}
qemu=${KFV_BENCH_QEMU:-qemu-system-x86_64}
machine=${KFV_BENCH_LINUX_QEMU_MACHINE:-microvm,rtc=off}
kernel=${KFV_BENCH_LINUX_KERNEL:-$BENCH_ROOT/build/kvmbox/kernel/vmlinuz}
initrd=${KFV_BENCH_LINUX_INITRD:-$GUESTS/linux/initramfs.cpio.gz}
hello=$GUESTS/hello.elf
cmdline="console=ttyS0 quiet panic=-1 pci=off kfv.run=poweroff"
mem=512M cpus=2
up="KFV-INIT: userspace up"
log=$BENCH_TMP/linux-boot.log
command -v "$qemu" >/dev/null || bench_fail "$qemu not found (scripts/install-deps.sh)"
[ -e "$kernel" ] || bench_fail "${kernel#"$BENCH_ROOT"/} is missing (tests/kvmbox/fetch-kernel.sh)"
[ -e "$initrd" ] || bench_fail "${initrd#"$BENCH_ROOT"/} is missing (guests/linux/build.sh build/guests/linux)"
[[ $reps =~ ^[1-9][0-9]*$ ]] || bench_fail "KFV_BENCH_LINUX_BOOT_REPS=$reps: want a count"
qemu_cpu=$(bench_qemu_cpu) || bench_fail "no QEMU -cpu model works with this KVM (KFV_BENCH_QEMU_CPU)"

# run_vm kfv|qemu linux|hello: sets LINE and EXIT (nanoseconds)
run_vm() {
	local vmm=$1 guest=$2 want=0 line marker l e s cmd
	if [ "$guest" = linux ]; then
		line=$up marker="KFV-TEST poweroff"
		if [ "$vmm" = kfv ]; then
			cmd=("$KFV" run --quiet --kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline"
			     --memory "$mem" --cpus "$cpus")
		else
			cmd=("$qemu" -M "$machine" -accel kvm -cpu "$qemu_cpu" -smp "$cpus" -m "$mem" -nodefaults
			     -no-user-config -nographic -serial stdio -kernel "$kernel" -initrd "$initrd"
			     -append "$cmdline")
		fi
	else
		line="kfv-guest: booted" marker="hello: $cpus cpus online"
		if [ "$vmm" = kfv ]; then
			cmd=("$KFV" run --quiet --debug-exit --memory "$mem" --cpus "$cpus" --kernel "$hello")
		else
			# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
			cmd=("$qemu" -M microvm -accel kvm -cpu "$qemu_cpu" -smp "$cpus" -m "$mem" -nodefaults
			     -no-user-config -nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4
			     -kernel "$hello")
			want=1 # isa-debug-exit: (0 << 1) | 1
		fi
	fi
	read -r _ l e s < <("$MEASURE" time --line "$line" --log "$log" --timeout "$run_timeout" -- "${cmd[@]}")
	if [ "${s:-x}" != "$want" ] || [ "${l:--1}" -lt 0 ] || ! grep -q "^$marker" "$log"; then
		sed 's/^/  | /' "$log" | tail -n 40 >&2
		bench_fail "$vmm on $guest: status ${s:-none} (want $want), line \"$line\" ${l:+at $l ns}, \"$marker\" $(grep -q "^$marker" "$log" && echo seen || echo missing)"
	fi
	LINE=$l EXIT=$e
}

ms() { calc '%.1f' "$1 / 1e6"; }

run_vm kfv linux
run_vm qemu linux
declare -A lines exits
for ((r = 1; r <= reps; r++)); do
	if ((r % 2)); then order="kfv qemu"; else order="qemu kfv"; fi
	for guest in linux hello; do
		for vmm in $order; do
			run_vm "$vmm" "$guest"
			lines[$vmm,$guest]+=" $LINE"
			exits[$vmm,$guest]+=" $EXIT"
		done
	done
done

# shellcheck disable=SC2086 # the lists are space-separated numbers
{
	kl=$(median ${lines[kfv,linux]}) ke=$(median ${exits[kfv,linux]})
	ql=$(median ${lines[qemu,linux]}) qe=$(median ${exits[qemu,linux]})
	read -r kllo klhi < <(minmax ${lines[kfv,linux]})
	read -r qllo qlhi < <(minmax ${lines[qemu,linux]})
	ks=$(median ${lines[kfv,hello]}) qs=$(median ${lines[qemu,hello]})
}
where=host
[ "${KFV_IN_KVMBOX:-0}" = 1 ] && where="nested-KVM box (emulated times)"
ratio=$(calc '%.3f' "$kl / $ql")
echo "$BENCH_NAME: guest $(cat "$(dirname "$kernel")/version" 2>/dev/null || basename "$kernel") + ${initrd#"$BENCH_ROOT"/}, $mem, $cpus vCPUs, medians of $reps runs, $where; QEMU $("$qemu" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') -M $machine -accel kvm -cpu $qemu_cpu (hello.elf: -M microvm)"
echo "  to \"$up\": kfv $(ms "$kl") ms ($(ms "$kllo") .. $(ms "$klhi")), QEMU $(ms "$ql") ms ($(ms "$qllo") .. $(ms "$qlhi")), ratio $ratio"
echo "  to process exit (power-off): kfv $(ms "$ke") ms, QEMU $(ms "$qe") ms, ratio $(calc '%.3f' "$ke / $qe")"
echo "  kfv's own start-up (hello.elf, same options, to its first line): $(ms "$ks") ms, $(calc '%.0f' "100 * $ks / $kl") % of kfv's boot to userspace; QEMU microvm's the same way $(ms "$qs") ms"
echo "  target: at most 1.0 ($(calc '%s' "($ratio <= 1.0 ? \"met\" : \"missed\")"))"
echo "$BENCH_NAME: $ratio (kfv over QEMU microvm, boot to userspace, medians; target <= 1.0); kfv start-up $(ms "$ks") ms of $(ms "$kl") ms"
