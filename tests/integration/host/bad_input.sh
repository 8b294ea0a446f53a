#!/usr/bin/env bash
# Every bad input gets one clear line on stderr, a documented non-zero
# status below 128 and no crash. kfv checks all of these before it opens
# /dev/kvm, so this runs on any host.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

HELLO=$GUESTS/hello.elf
BZ=$GUESTS/hello.bzimage

# expect NAME STATUS PATTERN -- ARGS...: one stderr line matching PATTERN.
expect() {
	local name=$1 status=$2 pattern=$3 bin
	shift 4
	for bin in "$KFV" "$KFV_ASAN"; do
		run "$bin" "$@"
		check "$name [$(basename "$(dirname "$bin")")/$(basename "$bin")]" \
			"want status $status and one line matching '$pattern'" \
			eval '[ "$RC" = "$status" ] && [ "$(line_count "$ERR")" = 1 ] && printf %s "$ERR" | grep -qiE -e "$pattern" && [ -z "$OUT" ]'
	done
}

# Malformed images, made from the real guests.
head -c 100 "$HELLO" >"$TEST_TMP/trunc-header.elf"
head -c 2000 "$HELLO" >"$TEST_TMP/trunc-segment.elf"
cp "$HELLO" "$TEST_TMP/bad-phoff.elf"
printf '\xff\xff\xff\x7f' | dd of="$TEST_TMP/bad-phoff.elf" bs=1 seek=32 conv=notrunc status=none
cp "$HELLO" "$TEST_TMP/bad-machine.elf"
printf '\x03\x00' | dd of="$TEST_TMP/bad-machine.elf" bs=1 seek=18 conv=notrunc status=none
head -c 600 "$BZ" >"$TEST_TMP/trunc.bzimage"
cp "$BZ" "$TEST_TMP/old.bzimage"
printf '\x05\x02' | dd of="$TEST_TMP/old.bzimage" bs=1 seek=$((0x206)) conv=notrunc status=none
cp "$BZ" "$TEST_TMP/bad-setup.bzimage"
printf '\xff' | dd of="$TEST_TMP/bad-setup.bzimage" bs=1 seek=$((0x1f1)) conv=notrunc status=none
head -c $((24 << 20)) /dev/zero >"$TEST_TMP/big.initrd"
mkdir "$TEST_TMP/dir"
: >"$TEST_TMP/empty"

expect "missing kernel"          66 "no such file"            -- run --kernel "$TEST_TMP/nope"
expect "kernel is a directory"   66 "directory"               -- run --kernel "$TEST_TMP/dir"
expect "not a kernel"            65 "not an ELF64 kernel or"  -- run --kernel /etc/passwd
expect "empty kernel"            65 "not an ELF64 kernel or"  -- run --kernel "$TEST_TMP/empty"
expect "kernel is a device"      66 "not a regular file"      -- run --kernel /dev/null
expect "truncated ELF header"    65 "truncat|too short|smaller|outside" -- run --kernel "$TEST_TMP/trunc-header.elf"
expect "truncated ELF segment"   65 "truncat|outside|beyond|past"  -- run --kernel "$TEST_TMP/trunc-segment.elf"
expect "corrupted ELF phoff"     65 "program header"          -- run --kernel "$TEST_TMP/bad-phoff.elf"
expect "ELF for another machine" 65 "x86-64|machine"          -- run --kernel "$TEST_TMP/bad-machine.elf"
expect "truncated bzImage"       65 "truncat|too short|smaller|beyond|past" -- run --kernel "$TEST_TMP/trunc.bzimage"
expect "bzImage protocol too old" 65 "too old"                -- run --kernel "$TEST_TMP/old.bzimage"
expect "corrupted bzImage setup" 65 "setup"                   -- run --kernel "$TEST_TMP/bad-setup.bzimage"
expect "initrd does not fit"     65 "initrd"                  -- run --kernel "$HELLO" --memory 16M --initrd "$TEST_TMP/big.initrd"
expect "missing initrd"          66 "initrd.*no such file"    -- run --kernel "$HELLO" --initrd "$TEST_TMP/nope"
expect "memory 0"                64 "memory"                  -- run --kernel "$HELLO" --memory 0
expect "memory garbage"          64 "memory.*not a size"      -- run --kernel "$HELLO" --memory lots
expect "memory not 4K multiple"  64 "multiple of 4K"          -- run --kernel "$HELLO" --memory 4097K
expect "memory beyond host"      69 "host has only"           -- run --kernel "$HELLO" --memory 1T
expect "hugepages, odd size"     64 "multiple of 2M"          -- run --kernel "$HELLO" --hugepages --memory 3M
expect "cpus 0"                  64 "cpus"                    -- run --kernel "$HELLO" --cpus 0
expect "cpus above limit"        64 "cpus"                    -- run --kernel "$HELLO" --cpus 256
expect "cpus above accounting"   64 "from 1 to 64"            -- run --kernel "$HELLO" --cpus 65
expect "cpus garbage"            64 "cpus"                    -- run --kernel "$HELLO" --cpus two
expect "unknown option"          64 "unknown option --frobnicate" -- run --kernel "$HELLO" --frobnicate
expect "option missing value"    64 "needs a value"           -- run --kernel
expect "no kernel"               64 "--kernel PATH is required" -- run --cpus 2
expect "unknown command"         64 "unknown command"         -- launch
expect "cmdline too long"        64 "cmdline"                 -- run --kernel "$HELLO" --cmdline "$(head -c 5000 /dev/zero | tr '\0' a)"

# An unreadable kernel: only meaningful for a user root's bypass does not cover.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	cp "$HELLO" "$TEST_TMP/secret.elf"
	chmod 600 "$TEST_TMP/secret.elf"
	chmod 755 "$TEST_TMP"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$KFV" run --no-sandbox --kernel "$TEST_TMP/secret.elf"
	check "unreadable kernel" "want 66 and permission denied" \
		eval '[ "$RC" = 66 ] && printf %s "$ERR" | grep -qi "permission denied"'
else
	skip "unreadable kernel" "needs root and setpriv"
fi

run "$KFV" --help
check "--help" "want status 0 and the usage text" eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "Exit status:" && printf %s "$OUT" | grep -q -- "--debug-exit"'
run "$KFV" run --help
check "run --help" "want status 0 and the usage text" eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q -- "--memory SIZE"'
run "$KFV"
check "no arguments" "want 64 and usage on stderr" eval '[ "$RC" = 64 ] && printf %s "$ERR" | grep -q Usage'
