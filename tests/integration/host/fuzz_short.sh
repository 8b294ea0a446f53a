#!/usr/bin/env bash
# A short fixed libFuzzer run of each harness fuzz/fuzz.mk lists in
# FUZZ_NAMES (the chain validator, the virtio-blk and virtio-net request
# parsers, the policy parser, the supervisor's telemetry reader, ...),
# FUZZ_SHORT_TIME seconds each (default 15), from its seed corpus
# fuzz/corpus/NAME/. Skipped when clang cannot build them.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh

secs=${FUZZ_SHORT_TIME:-15}
read -r -a names < <(make -s fuzz-names 2>/dev/null)
[ ${#names[@]} -gt 0 ] || names=(virtq blk_req net_req policy telemetry)
if ! make -s fuzz-build >"$TEST_TMP/build" 2>&1; then
	for n in "${names[@]}"; do
		skip "fuzz_$n short run" "the harnesses do not build here (clang with libFuzzer needed): $(tail -n 1 "$TEST_TMP/build")"
	done
	exit 0
fi
for n in "${names[@]}"; do
	mkdir -p "$TEST_TMP/corpus-$n"
	TIMEOUT=$((secs + 60)) run build/fuzz/fuzz_$n -max_total_time="$secs" -max_len=16384 \
		-artifact_prefix="$TEST_TMP/" "$TEST_TMP/corpus-$n" "fuzz/corpus/$n"
	check "fuzz_$n short run (${secs}s)" "want a clean run: no crash, leak or sanitizer report" \
		eval '[ "$RC" = 0 ] && printf %s "$ERR" | grep -q "^Done [0-9]* runs"'
done
