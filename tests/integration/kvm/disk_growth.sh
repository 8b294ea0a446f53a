#!/usr/bin/env bash
# A compromised VMM tries to grow the disk image past its end, from a
# device thread (the one role that may write the image): pwrite64 at
# 1 TiB, fallocate(ZERO_RANGE|KEEP_SIZE) and fallocate(mode 0) of 512 MiB
# past the end, and an IORING_OP_FALLOCATE through the image's own ring.
# RLIMIT_FSIZE, seccomp's fallocate modes and the ring's opcode list each
# stop one: the image's size and allocated blocks stay as they were. No
# other role's allow-list has pwrite64 or fallocate at all (docs/seccomp.md).
# Test build only.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
KFV_TEST=${KFV_TEST:-build/test/kfv}

if [ "$(id -u)" != 0 ]; then
	not_ok "disk growth" "the jail needs root"
	exit 0
fi
img=$TEST_TMP/disk.img
truncate -s 64M "$img"
dd if=/dev/urandom of="$img" bs=1M count=4 conv=notrunc status=none
before=$(stat -c '%s %b' "$img")

# action  name  how it must end: "refused ERRNO-TEXT" (the VMM goes on) or "seccomp SYSCALL"
while read -r action name how what; do
	TIMEOUT=60 run "$KFV_TEST" run --kernel "$GUESTS/attack-escape.elf" --debug-exit --cmdline "action=$action" \
		--disk "$img"
	after=$(stat -c '%s %b' "$img")
	if [ "$how" = refused ]; then
		check "disk growth: $name from a device thread is refused ($what)" \
			"want the refusal, the VMM going on, and the image's size and blocks unchanged ($before -> $after)" \
			eval 'printf %s "$ERR" | grep -q "disk attack $action from a device thread refused: $what" &&
			      printf %s "$OUT" | grep -q survived && [ "$after" = "$before" ]'
	else
		check "disk growth: $name from a device thread is killed by seccomp" \
			"want status 85 naming $what, and the image's size and blocks unchanged ($before -> $after)" \
			eval '[ "$RC" = 85 ] && printf %s "$ERR" | grep -q "killed by seccomp.*called $what" && [ "$after" = "$before" ]'
	fi
done <<'LIST'
40 pwrite64-at-1TiB refused File too large
41 fallocate-zero-range-keep-size seccomp fallocate
42 fallocate-grow seccomp fallocate
43 io_uring-fallocate refused Permission denied
LIST
