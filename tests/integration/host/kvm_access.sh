#!/usr/bin/env bash
# /dev/kvm missing, not permitted, or not a KVM device: one line, status 69.
# Each case builds its own /dev in a private mount namespace, so it runs
# the same on hosts with and without KVM.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	for t in "kvm missing" "kvm not permitted" "kvm not a device"; do skip "$t" "needs root and mount namespaces"; done
	exit 0
fi

KERNEL=$(realpath "$GUESTS/hello.elf")
BIN=$(realpath "$KFV")
ASAN_BIN=$(realpath "$KFV_ASAN")

in_private_dev() { # SETUP-SHELL-SNIPPET CMD...
	local setup=$1
	shift
	run unshare -m sh -c "mount -t tmpfs kfv-dev /dev && $setup && exec \"\$@\"" sh "$@"
}

for bin in "$BIN" "$ASAN_BIN"; do
	tag=$(basename "$(dirname "$bin")")/$(basename "$bin")
	in_private_dev "true" "$bin" run --kernel "$KERNEL"
	check "kvm missing [$tag]" "want 69, one line naming /dev/kvm" \
		eval '[ "$RC" = 69 ] && [ "$(line_count "$ERR")" = 1 ] && printf %s "$ERR" | grep -q "/dev/kvm: not found"'

	in_private_dev "mknod /dev/kvm c 10 232 && chmod 600 /dev/kvm" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" run --no-sandbox --kernel "$KERNEL"
	# unjailed (a non-root kfv cannot build a jail) and unguarded (nor give a
	# guard its privileges): the two warnings, then the error, once (a guard
	# that could not watch the VMM once raised an alarm and a restart here)
	check "kvm not permitted [$tag]" "want 69, the two warnings and permission denied, no restart" \
		eval '[ "$RC" = 69 ] && [ "$(line_count "$ERR")" = 3 ] && printf %s "$ERR" | grep -q "/dev/kvm: permission denied" &&
		      printf %s "$ERR" | grep -q "no integrity guard"'

	in_private_dev "touch /dev/kvm" "$bin" run --kernel "$KERNEL"
	check "kvm not a device [$tag]" "want 69, not a KVM device" \
		eval '[ "$RC" = 69 ] && [ "$(line_count "$ERR")" = 1 ] && printf %s "$ERR" | grep -q "not a KVM device"'
done
