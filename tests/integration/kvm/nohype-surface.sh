#!/usr/bin/env bash
# `kfv surface` (docs/nohype.md): the exit surface of a configuration,
# printed without running a guest, with and without devices and NoHype.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

run "$KFV" surface
check "surface: default configuration" "want the legacy ports, no debug-exit, no MSR exits, no filter" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "0x03f8-0x03ff  serial" && ! printf %s "$OUT" | grep -q debug-exit && ! printf %s "$OUT" | grep -q X86_RDMSR && printf %s "$OUT" | grep -q "msrs: no filter"'

run "$KFV" surface --debug-exit
check "surface: a device added" "want the debug-exit range listed" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "0x00f4-0x00f7  debug-exit"'

run "$KFV" surface --nohype --cpus 2
check "surface --nohype: MSR exits and the allow-list" "want X86_RDMSR/WRMSR, EFER allowed, the nohype profile" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "^  X86_RDMSR" && printf %s "$OUT" | grep -q "^  X86_WRMSR" && printf %s "$OUT" | grep -q "0xc0000080-0xc0000080 rw EFER" && printf %s "$OUT" | grep -q "cpuid: profile nohype" && printf %s "$OUT" | grep -q "^configuration: 2 vCPUs, nohype on"'

run "$KFV" surface --kernel /nonexistent --cpus 0
check "surface: bad options refused" "want status 64" eval '[ "$RC" = 64 ]'
