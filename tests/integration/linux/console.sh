#!/usr/bin/env bash
# The console as an operator uses it: kfv on a terminal (a pty here), the
# guest's interactive shell answers a typed command, and the escape
# (Ctrl-A x) still ends the run (status 84) with the terminal restored.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
. tests/integration/linux/lib.sh
linux_images_ok "linux: console" || exit 0

timeout --kill-after=5 150 python3 - "$KFV" "$LINUX_KERNEL" "$LINUX_INITRD" "$LINUX_CMDLINE pci=off" \
	>"$TEST_TMP/pty.out" 2>&1 <<'PY'
import os, pty, sys, time, select

kfv, kernel, initrd, cmdline = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execv(kfv, [kfv, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", cmdline, "--cpus", "2"])
seen = b""

def wait_for(marker, timeout):
    global seen
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            seen += data
            if marker in seen:
                return True
    return False

ok = wait_for(b"KFV-INIT: ready", 100) and wait_for(b"# ", 20)
if ok:
    os.write(fd, b"echo typed-$((6*7))-back\r")
    ok = wait_for(b"typed-42-back", 20)
print("shell answered" if ok else "no answer")
os.write(fd, b"\x01x")
wait_for(b"exit status", 30)
_, status = os.waitpid(pid, 0)
print("status", os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)
sys.stdout.flush()
os.write(1, seen[-600:].replace(b"\r", b""))
PY
OUT=$(cat "$TEST_TMP/pty.out") ERR='' RC=$(sed -n 's/^status //p' "$TEST_TMP/pty.out")
check "linux: the interactive shell on a terminal answers a typed command" "want the shell's answer typed-42-back" \
	eval 'printf %s "$OUT" | grep -q "^shell answered"'
check "linux: Ctrl-A x ends an interactive run (status 84)" "want status 84" eval '[ "$RC" = 84 ]'
