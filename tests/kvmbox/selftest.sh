#!/usr/bin/env bash
# Self-test of the kvmbox: boots a few boxes and checks what the test suite
# relies on. Prints one "ok"/"not ok" line per check; exit status 0 when all
# pass. Six boots: one to three minutes on a 2-core machine.
#
#   tests/kvmbox/selftest.sh            (as root, from anywhere)
#   KFV_KVMBOX=always tests/kvmbox/selftest.sh   (force the box on a KVM host)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
box=$here/kvmbox
out=build/kvmbox/selftest
rm -rf "$out"
mkdir -p "$out"
fails=0
ok() { echo "ok   $*"; }
nok() { echo "not ok $*"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }

# The in-box checks: run inside one box, one line each.
cat >"$out/inside.sh" <<'EOF'
t() { local name=$1; shift; local o; if o=$("$@" 2>&1); then echo "ok   in-box: $name"; else echo "not ok in-box: $name: $(echo "$o" | tail -n 2 | tr '\n' ' ')"; fi; }
t "KVM_CREATE_VM + KVM_RUN (dynamic binary from the host)" "$1"
echo "     $("$1" 2>&1)"
t "/dev/kvm is a character device" test -c /dev/kvm
t "same directory as the caller" test "$(pwd -P)" = "$2"
t "KFV_ variables passed in" test "${KFV_SELFTEST_VAR:-}" = 'a b $c "d"'
t "KFV_IN_KVMBOX=1" test "${KFV_IN_KVMBOX:-}" = 1
t "stdin is /dev/null, not a terminal" sh -c '! test -t 0 && test "$(cat)" = ""'
t "user namespace" unshare -U -r true
t "mount + pid namespaces" unshare -m -p -f --mount-proc true
t "pivot_root in a new mount namespace" unshare -m sh -c 'mount --make-rprivate / && mkdir -p /tmp/pr && mount -t tmpfs t /tmp/pr && mkdir /tmp/pr/old && cd /tmp/pr && pivot_root . old'
t "cgroup2 with controllers" sh -c 'mkdir -p /sys/fs/cgroup/kvmbox-selftest && grep -qw memory /sys/fs/cgroup/kvmbox-selftest/cgroup.controllers && rmdir /sys/fs/cgroup/kvmbox-selftest'
t "tap device" ip tuntap add dev kvmboxtap0 mode tap
t "veth pair" ip link add kvmboxv0 type veth peer name kvmboxv1
t "bridge" ip link add kvmboxbr0 type bridge
t "loopback up" sh -c 'ip -o addr show dev lo | grep -q 127.0.0.1'
t "unix socket on /tmp" python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.bind("/tmp/s"); s.listen(); socket.socket(socket.AF_UNIX).connect("/tmp/s")'
t "getrandom does not block" python3 -c 'import os; os.getrandom(32)'
t "unprivileged user reads host files" setpriv --reuid=65534 --regid=65534 --clear-groups cat /etc/passwd
t "write a file on the host" sh -c "echo from-the-box > $3"
t "copy 3 MB onto the host" cp "$4" "$4.copy"
t "shared mmap write to a host file" python3 -c '
import mmap, sys
with open(sys.argv[1], "wb") as f: f.truncate(1 << 20)
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 1 << 20); m[4096:4101] = b"mmap!"; m.flush(); m.close()' "$4.mmap"
t "with-kvm inside the box runs directly" sh -c "KFV_KVMBOX=always $5 sh -c 'test \$KFV_IN_KVMBOX = 1 && test -c /dev/kvm'"
EOF

kvm_smoke=$out/kvm-smoke
if ! cc -O2 -o "$kvm_smoke" "$here/kvm-smoke.c"; then
    nok "build kvm-smoke"
fi

# 1. The brief's example: device, cwd, a file that appears on the host, status 7.
t0=$EPOCHREALTIME
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$here/with-kvm" sh -c \
    "ls -l /dev/kvm; pwd; echo hi > $out/probe.txt; exit 7" </dev/null >"$out/1.out" 2>&1
rc=$?
ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
check "exit status 7 passed back (got $rc; $ms ms under env -i, stdin /dev/null)" test "$rc" = 7
check "the box's file is on the host" grep -qx hi "$out/probe.txt"
check "/dev/kvm listed, cwd kept" grep -q "^$repo\$" "$out/1.out"
grep -q 'crw' "$out/1.out" || nok "/dev/kvm listed: $(head -n 3 "$out/1.out")"

# 2. Everything the suite needs, inside one box.
head -c 3000000 /dev/urandom >"$out/blob"
KFV_SELFTEST_VAR='a b $c "d"' "$box" -- bash "$out/inside.sh" "$kvm_smoke" "$repo" "$out/from-box.txt" \
    "$out/blob" "$here/with-kvm" \
    >"$out/2.out" 2>"$out/2.err"
rc=$?
cat "$out/2.out"
grep -q '^not ok' "$out/2.out" && fails=$((fails + $(grep -c '^not ok' "$out/2.out")))
check "in-box checks ran (status $rc)" test "$rc" = 0
check "in-box file arrived on the host" grep -qx from-the-box "$out/from-box.txt"
check "in-box copy byte-exact on the host" cmp -s "$out/blob" "$out/blob.copy"
check "in-box mmap write visible on the host" test "$(dd if="$out/blob.mmap" bs=1 skip=4096 count=5 2>/dev/null)" = "mmap!"

# 3. stdout and stderr kept apart and byte-exact; arguments with odd characters.
"$box" -- sh -c 'cat "$1"; printf "%s|" "$2" "$3" >&2; exit 0' sh "$out/blob" 'sp ace' "q'uo\"te\$x" \
    >"$out/3.out" 2>"$out/3.err"
rc=$?
check "3 MB of binary stdout byte-exact (status $rc)" cmp -s "$out/blob" "$out/3.out"
check "stderr apart, arguments intact" test "$(cat "$out/3.err")" = "sp ace|q'uo\"te\$x|"

# 4. Statuses: command not found, killed by a signal.
"$box" -- sh -c 'kill -9 $$' >/dev/null 2>&1
rc=$?
check "a signal-killed command gives 137 (got $rc)" test "$rc" = 137
"$box" -- no-such-command-kvmbox >/dev/null 2>&1
rc=$?
check "command not found gives 127 (got $rc)" test "$rc" = 127

# 5. Timeout: the box is killed and kvmbox exits 124.
t0=$EPOCHREALTIME
"$box" --timeout 40 -- sleep 600 >/dev/null 2>"$out/5.err"
rc=$?
s=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000000 ))
check "timeout gives 124 after about 40 s (got $rc after $s s)" test "$rc" = 124 -a "$s" -lt 60

if [ "$fails" = 0 ]; then
    echo "kvmbox selftest: all passed"
    rm -rf "$out"
else
    echo "kvmbox selftest: $fails failed (outputs in $out)"
fi
[ "$fails" = 0 ]
