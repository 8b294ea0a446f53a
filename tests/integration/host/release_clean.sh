#!/usr/bin/env bash
# The compromise-simulation port exists in the test build only: the
# release binary carries no symbol or string of it.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

run sh -c "nm --defined-only build/test/kfv | grep -ci compromise_sim; strings build/test/kfv | grep -c 'compromise simulation'"
check "test build has the compromise simulation" "want its symbols and strings (else the next check proves nothing)" \
	eval '[ "$(printf %s "$OUT" | head -n1)" -gt 0 ] && [ "$(printf %s "$OUT" | tail -n1)" -gt 0 ]'
# (debug info may name the empty header stub; no code or message may remain)
run sh -c "nm --defined-only build/kfv | grep -ci compromise; strings build/kfv | grep -ci -e 'compromise simulation' -e 'compromise-sim'"
check "release build has no compromise simulation" "want no symbol or string of it in build/kfv" \
	eval '[ "$(printf %s "$OUT" | head -n1)" = 0 ] && [ "$(printf %s "$OUT" | tail -n1)" = 0 ]'
