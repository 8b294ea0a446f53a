#!/usr/bin/env bash
# virtio-net on a TAP inside a network namespace of the test's own: the
# guest's broadcast frame appears on the TAP (seen by an AF_PACKET socket
# bound to it), the frame written back reaches the guest; MAC and MTU
# from the command line are what the guest reads (also with
# VIRTIO_F_EVENT_IDX negotiated); a missing, busy or
# non-TAP interface is refused with one line and status 69. Nothing
# leaves the namespace: the TAP is created inside it and nothing routes.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
	skip "virtio-net" "needs root, ip(8) and /dev/net/tun"
	exit 0
fi
ns=kfv-net-$$
tap=kfvtap0
if ! ip netns add "$ns" 2>/dev/null; then
	skip "virtio-net" "cannot create a network namespace"
	exit 0
fi
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
inns() { ip netns exec "$ns" "$@"; }
inns ip tuntap add dev "$tap" mode tap
inns ip tuntap add dev kfvtun0 mode tun
inns sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1" 2>/dev/null
inns ip link set lo up
inns ip link set "$tap" up

# The host side: waits for the guest's ping, answers to its MAC.
peer() {
	inns python3 -u - "$tap" <<'PY'
import socket, sys
tap = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind((tap, 0x88b5))
s.settimeout(120)
print("ready")
while True:
    f, addr = s.recvfrom(65536)
    if addr[2] != socket.PACKET_OUTGOING and f[12:14] == b"\x88\xb5" and f[14:26] == b"kfv-net-ping":
        break
print("ping from %s to %s, %d bytes" % (f[6:12].hex(":"), f[0:6].hex(":"), len(f)))
s.send(f[6:12] + bytes.fromhex("020000000001") + b"\x88\xb5" + b"kfv-net-pong" + bytes(34))
print("pong sent")
PY
}

for v in plain asan event_idx nohype; do
	kfv=$KFV tag='' gcmd=()
	[ "$v" = asan ] && kfv=$KFV_ASAN tag=" (ASan+UBSan)"
	[ "$v" = event_idx ] && tag=" (EVENT_IDX)" gcmd=(--cmdline event_idx)
	# --nohype: the device busy-polls its rings (receive buffers included)
	[ "$v" = nohype ] && tag=" (--nohype: busy poll, EVENT_IDX)" gcmd=(--nohype --cmdline event_idx)
	peer >"$TEST_TMP/peer.out" 2>&1 &
	peer_pid=$!
	for _ in $(seq 100); do grep -q ready "$TEST_TMP/peer.out" && break; sleep 0.1; done
	run ip netns exec "$ns" "$kfv" run --kernel "$GUESTS/virtio-net.elf" --net "tap=$tap,mac=02:11:22:33:44:55,mtu=1400" --debug-exit \
		"${gcmd[@]}"
	kill "$peer_pid" 2>/dev/null
	wait "$peer_pid" 2>/dev/null
	PEER=$(cat "$TEST_TMP/peer.out")
	check "virtio-net.elf: frames both ways through the TAP$tag" \
		"want status 0, the MAC and MTU echoed, the ping seen on the TAP, the pong received (peer: $(printf %s "$PEER" | tr '\n' '|'))" \
		eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "mac 02:11:22:33:44:55, mtu 1400" &&
		      printf %s "$OUT" | grep -q "received \"kfv-net-pong\"" && printf %s "$OUT" | grep -q "passed, 0 failed" &&
		      printf %s "$PEER" | grep -q "ping from 02:11:22:33:44:55 to ff:ff:ff:ff:ff:ff" &&
		      printf "%s\n" "$ERR" | grep -q "^kfv: virtio-net at .* 0 chains refused"'
done
printf '%s\n' "$ERR" | grep "^kfv: virtio-net" | sed 's/^/# /'

# A transmit limit of one frame per 300 ms: the second ping waits, and
# everything still arrives.
peer >"$TEST_TMP/peer.out" 2>&1 &
peer_pid=$!
for _ in $(seq 100); do grep -q ready "$TEST_TMP/peer.out" && break; sleep 0.1; done
run ip netns exec "$ns" "$KFV" run --kernel "$GUESTS/virtio-net.elf" --net "tap=$tap,tx_ops=1,tx_ops_refill_ms=3000" --debug-exit
kill "$peer_pid" 2>/dev/null
wait "$peer_pid" 2>/dev/null
check "virtio-net.elf with tx_ops=1 per 3 s" "want status 0, the pong received and throttling counted" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "passed, 0 failed" &&
	      printf "%s\n" "$ERR" | grep -q "^kfv: virtio-net at .* [1-9][0-9]* throttled"'

run ip netns exec "$ns" "$KFV" run --kernel "$GUESTS/virtio-net.elf" --net tap=nosuchtap0 --debug-exit
check "virtio-net: missing TAP" "want status 69 and one 'no such interface' line" \
	eval '[ "$RC" = 69 ] && [ "$(printf "%s\n" "$ERR" | grep -c "tap=nosuchtap0: no such interface")" = 1 ] && ! inns ip link show nosuchtap0 >/dev/null 2>&1'

run ip netns exec "$ns" "$KFV" run --kernel "$GUESTS/virtio-net.elf" --net tap=kfvtun0 --debug-exit
check "virtio-net: a TUN is not a TAP" "want status 69 and 'not a TAP'" \
	eval '[ "$RC" = 69 ] && printf %s "$ERR" | grep -q "not a TAP"'

# Another process holds the TAP (TUNSETIFF, IFF_TAP | IFF_NO_PI).
inns python3 -u -c '
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", sys.argv[1].encode(), 0x1002))
print("held")
time.sleep(60)' "$tap" >"$TEST_TMP/holder.out" 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q held "$TEST_TMP/holder.out" && break; sleep 0.1; done
run ip netns exec "$ns" "$KFV" run --kernel "$GUESTS/virtio-net.elf" --net "tap=$tap" --debug-exit
check "virtio-net: busy TAP" "want status 69 and 'in use by another process'" \
	eval '[ "$RC" = 69 ] && printf %s "$ERR" | grep -q "tap=kfvtap0: in use by another process"'
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

check "virtio-net: nothing outside the namespace" "want no $tap in the root namespace" \
	eval '! ip link show "$tap" >/dev/null 2>&1'
