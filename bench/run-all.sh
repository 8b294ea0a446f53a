#!/usr/bin/env bash
# Runs the benchmarks (`make bench`). Each prints a few detail lines and, as
# its last line, "<name>: <ratio> (<what over what>)"; a summary of those
# lines comes at the end. See docs/bench.md.
#
#   bench/run-all.sh [NAME...]
#
# NAME is a script bench/NAME.sh; without names: exit-roundtrip, boot,
# overhead-rss, then any other benchmark script in bench/. Where /dev/kvm is
# missing the whole suite runs inside one boot of the nested-KVM box
# (tests/kvmbox), so it pays for one box boot, not one per benchmark.
# Exit status: 0 when every benchmark produced its figure, 1 otherwise (a
# missed target is reported in the benchmark's lines, not as an error).
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT" || exit 1

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	names=(exit-roundtrip boot overhead-rss)
	for f in bench/*.sh; do
		n=$(basename "$f" .sh)
		case " lib run-all ${names[*]} " in *" $n "*) continue ;; esac
		names+=("$n")
	done
fi
for n in "${names[@]}"; do
	case $n in lib|run-all|*/*|'') ok=0 ;; *) [ -f "bench/$n.sh" ] && ok=1 || ok=0 ;; esac
	[ "$ok" = 1 ] || { echo "bench: no benchmark named '$n'" >&2; exit 64; }
done

if ! bench_have_kvm && [ "${KFV_IN_KVMBOX:-0}" != 1 ]; then
	bench_build_tools || exit 1
	start=$EPOCHREALTIME
	echo "bench: no usable /dev/kvm here; running in the nested-KVM box (how to read the figures: docs/bench.md)"
	bench_with_kvm bash bench/run-all.sh "${names[@]}"
	status=$?
	echo "bench: total wall time $(calc '%.0f' "${EPOCHREALTIME/,/.} - ${start/,/.}") s, box boot included"
	exit "$status"
fi

[ -x "$MEASURE" ] && [ -x "$RAW_LOOP" ] || bench_build_tools || exit 1
mkdir -p "$BENCH_TMP"
summary=() status=0
suite_start=$EPOCHREALTIME
for n in "${names[@]}"; do
	echo
	echo "== $n"
	t0=$EPOCHREALTIME
	bash "bench/$n.sh" 2>&1 | tee "$BENCH_TMP/$n.out"
	[ "${PIPESTATUS[0]}" = 0 ] || status=1
	summary+=("$(tail -n 1 "$BENCH_TMP/$n.out")")
	echo "   ($n took $(calc '%.0f' "${EPOCHREALTIME/,/.} - ${t0/,/.}") s)"
done
echo
echo "== summary (the benchmarks took $(calc '%.0f' "${EPOCHREALTIME/,/.} - ${suite_start/,/.}") s)"
printf '%s\n' "${summary[@]}"
exit "$status"
