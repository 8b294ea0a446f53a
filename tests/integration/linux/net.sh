#!/usr/bin/env bash
# virtio-net with a stock kernel: the guest pings a peer on the TAP's side
# of the test's own network namespace and moves 100 kB each way over TCP
# (busybox nc), checked by md5 on both ends. Nothing leaves the namespace.
# Then the operator's graceful shutdown request: SIGPWR to kfv reaches the
# waiting guest as Ctrl-Alt-Del, and its init powers off cleanly (status 0).
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
. tests/integration/linux/lib.sh
linux_images_ok "linux: net" || exit 0
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
	not_ok "linux: net" "needs root, ip(8) and /dev/net/tun"
	exit 0
fi
ns=kfv-lnet-$$
tap=kfvtap0
if ! ip netns add "$ns" 2>/dev/null; then
	not_ok "linux: net" "cannot create a network namespace"
	exit 0
fi
trap 'kill $(jobs -p) 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns ip tuntap add dev "$tap" mode tap
inns ip addr add 10.77.0.1/24 dev "$tap"
inns ip link set "$tap" up
head -c 100000 /dev/urandom >"$TEST_TMP/to-guest"
want_recv=$(md5sum <"$TEST_TMP/to-guest" | cut -d' ' -f1)
# The peer: receives the guest's upload on 7001, serves the download on 7002.
inns python3 - "$TEST_TMP" <<'PY' >"$TEST_TMP/peer.log" 2>&1 &
import socket, sys, threading
tmp = sys.argv[1]
def serve(port, fn):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.1", port))
    s.listen(1)
    s.settimeout(170)
    c, _ = s.accept()
    fn(c)
    c.close()
def upload(c):
    with open(tmp + "/from-guest", "wb") as f:
        while True:
            d = c.recv(65536)
            if not d:
                break
            f.write(d)
def download(c):
    c.sendall(open(tmp + "/to-guest", "rb").read())
    c.shutdown(socket.SHUT_WR)
t = [threading.Thread(target=serve, args=a) for a in ((7001, upload), (7002, download))]
for x in t: x.start()
print("ready", flush=True)
for x in t: x.join()
PY
for _ in $(seq 100); do grep -q ready "$TEST_TMP/peer.log" 2>/dev/null && break; sleep 0.1; done

# nsenter, not "ip netns exec", which mounts a sysfs of its own and so
# hides the cgroup file system from the jail.
LINUX_WRAP="nsenter --net=/run/netns/$ns" linux_start "pci=off kfv.run=net,wait-cad kfv.ip=10.77.0.2/24 kfv.peer=10.77.0.1" \
	--cpus 2 --net "tap=$tap" --shutdown-timeout 60
linux_wait_for "KFV-TEST waiting" && waited=1 || waited=0
kill -PWR "$LINUX_PID" 2>/dev/null
linux_finish
check "linux: the guest pings the peer over virtio-net" "want ping=ok" eval '[ "$(marker ping)" = ok ]'
got_sent=$(md5sum <"$TEST_TMP/from-guest" 2>/dev/null | cut -d' ' -f1)
check "linux: 100 kB over TCP from the guest arrive intact" "guest sent $(marker sent_md5), peer got $got_sent" \
	eval '[ -n "$got_sent" ] && [ "$(marker sent_md5)" = "$got_sent" ]'
check "linux: 100 kB over TCP to the guest arrive intact" "peer sent $want_recv, guest got $(marker recv_md5) ($(marker recv_bytes) bytes)" \
	eval '[ "$(marker recv_md5)" = "$want_recv" ]'
check "linux: SIGPWR asks the guest to shut down and it powers off (status 0)" \
	"want the waiting marker, then status 0 and 'guest powered off'" \
	eval '[ "$waited" = 1 ] && [ "$RC" = 0 ] && printf %s "$ERR" | grep -q "vm stopped: guest powered off"'
benign "linux: network traffic and a graceful shutdown raise no event above notice"
