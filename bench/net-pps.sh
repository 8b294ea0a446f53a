#!/usr/bin/env bash
# net-pps: guest TX packets per second from a guest driver loop running in
# ring 3, through kfv's virtio-net on a TAP, over the same guest file with
# the same TAP through QEMU's microvm virtio-net, same KVM, same run.
#
# Both VMMs boot build/guests/virtio-net.elf with `mode=bench n=N`: the
# guest prints "virtio-net: bench start n=N", sends N 60-byte broadcast
# frames (EtherType 0x88b5), one at a time (publish, then poll the used
# ring for it: queue depth 1, no interrupts), and prints "virtio-net: bench
# done n=N frames, 0 errors". A run's time is the gap between those two
# lines as they arrive on the VMM's stdout (bench/measure). The TAP is a
# persistent one this script creates (root needed: the box runs as root)
# and brings up; the host kernel takes every frame the VMM writes into it
# and drops it (nothing listens for that EtherType), so nothing needs
# draining and nothing leaves the machine. The TAP is deleted at the end.
#
# Each round runs both VMMs, alternating which goes first; the headline is
# the median over rounds of the round's kfv/QEMU packet-rate ratio (higher
# is better for kfv).
#
# QEMU: qemu-system-x86_64 -M microvm -enable-kvm -cpu MODEL -m 128M
# -nodefaults -global virtio-mmio.force-legacy=false -netdev
# tap,ifname=TAP,script=no,downscript=no -device virtio-net-device.
#
# Settings (environment): KFV_BENCH_NET_REPS (rounds, 3), KFV_BENCH_NET_N
# (frames per run; default: sized from a warm-up run so one run takes about
# KFV_BENCH_NET_SECONDS, 4), KFV_BENCH_NET_TAP (kfvbench0),
# KFV_BENCH_QEMU (qemu-system-x86_64).
BENCH_NAME=net-pps
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup "$0" "$@"

reps=${KFV_BENCH_NET_REPS:-3}
target_s=${KFV_BENCH_NET_SECONDS:-4}
tap=${KFV_BENCH_NET_TAP:-kfvbench0}
qemu=${KFV_BENCH_QEMU:-qemu-system-x86_64}
guest=$GUESTS/virtio-net.elf
log=$BENCH_TMP/net-pps.log
command -v "$qemu" >/dev/null || bench_fail "$qemu not found (scripts/install-deps.sh)"
qemu_cpu=$(bench_qemu_cpu) || bench_fail "no QEMU -cpu model works with this KVM (KFV_BENCH_QEMU_CPU)"
command -v ip >/dev/null || bench_fail "ip (iproute2) not found"
[ -e "$guest" ] || bench_fail "${guest#"$BENCH_ROOT"/} is missing; run make first"
[ "$(id -u)" = 0 ] || bench_fail "needs root to create the TAP $tap"
[ -e "/sys/class/net/$tap" ] && bench_fail "an interface $tap exists already (KFV_BENCH_NET_TAP)"
ip tuntap add dev "$tap" mode tap || bench_fail "cannot create the TAP $tap"
trap 'ip link del "$tap" 2>/dev/null' EXIT
sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null # no router solicitations towards the guest
ip link set "$tap" up || bench_fail "cannot bring $tap up"

vmm_cmd() { # vmm_cmd kfv|qemu N: sets CMD and WANT (exit status)
	if [ "$1" = kfv ]; then
		CMD=("$KFV" run --quiet --debug-exit --memory 128M --kernel "$guest" --net "tap=$tap"
		     --cmdline "mode=bench n=$2")
		WANT=0
	else
		# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
		CMD=("$qemu" -M microvm -enable-kvm -cpu "$qemu_cpu" -m 128M -nodefaults -no-user-config -nographic
		     -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4
		     -global virtio-mmio.force-legacy=false
		     -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device virtio-net-device,netdev=n0
		     -kernel "$guest" -append "mode=bench n=$2")
		WANT=1 # isa-debug-exit: (0 << 1) | 1
	fi
}

run_one() { # run_one kfv|qemu N: sets T (ns between the start and done lines)
	local from line status
	vmm_cmd "$1" "$2"
	read -r from line _ status < <("$MEASURE" time --from "virtio-net: bench start" \
		--line "virtio-net: bench done" --log "$log" --timeout 300 -- "${CMD[@]}")
	if [ "${status:-x}" != "$WANT" ] || [ "${from:--1}" -lt 0 ] || [ "${line:--1}" -lt 0 ] ||
	   ! grep -q "^virtio-net: bench done n=$2 frames, 0 errors" "$log"; then
		sed 's/^/  | /' "$log" >&2
		bench_fail "$1 with n=$2: status ${status:-none} (want $WANT), no clean \"bench done\" line"
	fi
	T=$((line - from))
}

rx_packets() { cat "/sys/class/net/$tap/statistics/rx_packets" 2>/dev/null || echo 0; }

# Warm-up and the size of a run.
n0=${KFV_BENCH_NET_N:-500}
run_one kfv "$n0"; tk=$T
run_one qemu "$n0"; tq=$T
if [ -n "${KFV_BENCH_NET_N:-}" ]; then
	n=$KFV_BENCH_NET_N
else
	slow=$((tk > tq ? tk : tq))
	n=$(calc '%.0f' "$n0 * $target_s * 1e9 / $slow")
	n=$(( n < 200 ? 200 : n > 5000000 ? 5000000 : n ))
fi

pps() { calc '%.0f' "$1 / ($2 / 1e9)"; } # pps N T_NS

echo "$BENCH_NAME: guest virtio-net.elf mode=bench (60-byte frames, queue depth 1, ring 3), n=$n, TAP $tap, $reps rounds"
echo "  QEMU $("$qemu" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') -M microvm -enable-kvm -cpu $qemu_cpu"
kfv_pps=() qemu_pps=() ratios=()
for ((r = 1; r <= reps; r++)); do
	if ((r % 2)); then order="kfv qemu"; else order="qemu kfv"; fi
	for vmm in $order; do
		before=$(rx_packets)
		run_one "$vmm" "$n"
		printf -v "t_$vmm" '%s' "$T"
		printf -v "seen_$vmm" '%s' "$(( $(rx_packets) - before ))"
	done
	# shellcheck disable=SC2154 # set through printf -v above
	kp=$(pps "$n" "$t_kfv") qp=$(pps "$n" "$t_qemu")
	ratio=$(calc '%.4f' "$t_qemu / $t_kfv")
	kfv_pps+=("$kp") qemu_pps+=("$qp") ratios+=("$ratio")
	# shellcheck disable=SC2154
	echo "  round $r: kfv $kp frames/s ($seen_kfv reached $tap), QEMU $qp frames/s ($seen_qemu reached $tap), ratio $(calc '%.3f' "$ratio")"
done
read -r qlo qhi < <(minmax "${ratios[@]}")
ratio=$(median "${ratios[@]}")
echo "  kfv:          median $(median "${kfv_pps[@]}") frames/s"
echo "  QEMU microvm: median $(median "${qemu_pps[@]}") frames/s"
echo "  ratio: median of rounds $(calc '%.3f' "$ratio") (range $(calc '%.3f' "$qlo") .. $(calc '%.3f' "$qhi"))"
echo "$BENCH_NAME: $(calc '%.3f' "$ratio") (kfv over QEMU microvm, guest TX packets per second)"
