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
# (tests/kvmbox), so it pays for one box boot, not one per benchmark. On a
# software KVM (PVM) the suite runs directly, except a benchmark that sets
# BENCH_NEEDS_HW_KVM=1 (linux-boot: a stock kernel does not boot on PVM),
# which bench_setup (bench/lib.sh) sends into a box of its own.
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

# Host side, without /dev/kvm: one box for the suite, watched. A box that
# prints nothing for KFV_BENCH_STALL_S seconds (240) is stopped and the
# benchmarks that had not finished run again in a fresh one, up to
# KFV_BENCH_BOX_TRIES boxes (3) in all. (Long exit loops have been seen to
# wedge the nested box now and then; see docs/bench.md.)
if ! bench_have_kvm && [ "${KFV_IN_KVMBOX:-0}" != 1 ]; then
	bench_build_tools || exit 1
	start=$EPOCHREALTIME
	stall=${KFV_BENCH_STALL_S:-240}
	tries=${KFV_BENCH_BOX_TRIES:-3}
	echo "bench: no usable /dev/kvm here; running in the nested-KVM box (how to read the figures: docs/bench.md)"
	declare -A figure
	todo=("${names[@]}") status=0
	for ((try = 1; try <= tries && ${#todo[@]} > 0; try++)); do
		((try == 1)) || echo "bench: starting a fresh box (try $try of $tries) for: ${todo[*]}"
		# exec all the way down, so that box_pid is the box's own process
		coproc BOX {
			# shellcheck disable=SC2030 # meant for the box only
			# KFV_KVMBOX=always: the box, as bench_have_kvm decided.
			export KFV_BENCH_NESTED=1 KFV_KVMBOX=always KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT:-1800}
			exec 2>&1
			if [ -x tests/kvmbox/with-kvm ]; then
				exec tests/kvmbox/with-kvm bash bench/run-all.sh "${todo[@]}"
			fi
			exec tests/kvmbox/kvmbox -- bash bench/run-all.sh "${todo[@]}"
		}
		# shellcheck disable=SC2153 # BOX_PID is set by coproc
		box_pid=$BOX_PID box_fd=${BOX[0]}
		cur='' prev='' stalled=0
		while :; do
			if IFS= read -r -t "$stall" line <&"$box_fd"; then
				printf '%s\n' "$line"
				case $line in
					"== "*) cur=${line#== } ;;
					"   ($cur took "*) [ -n "$cur" ] && figure[$cur]=$prev ;;
				esac
				prev=$line
			else
				(($? > 128)) && stalled=1
				break
			fi
		done
		if ((stalled)); then
			echo "bench: no output from the box for $stall s${cur:+ (in $cur)}; stopping it"
			kill -TERM "$box_pid" 2>/dev/null
		fi
		wait "$box_pid"
		rc=$?
		((stalled)) || [ "$rc" = 0 ] || status=1
		left=()
		for n in "${todo[@]}"; do [ -n "${figure[$n]:-}" ] || left+=("$n"); done
		todo=("${left[@]}")
		((stalled)) || break # a box that ended by itself is not tried again
	done
	echo
	echo "== summary"
	for n in "${names[@]}"; do
		if [ -n "${figure[$n]:-}" ]; then
			printf '%s\n' "${figure[$n]}"
		else
			echo "$n: no figure (the box failed or stalled)"; status=1
		fi
	done
	echo "bench: total wall time $(calc '%.0f' "${EPOCHREALTIME/,/.} - ${start/,/.}") s, box boot included"
	exit "$status"
fi

[ -x "$MEASURE" ] && [ -x "$RAW_LOOP" ] || bench_build_tools || exit 1
mkdir -p "$BENCH_TMP"
# The QEMU peers' -cpu model, probed once for the suite (exported; see
# bench_qemu_cpu); a benchmark that needs it and finds none says so itself.
command -v "${KFV_BENCH_QEMU:-qemu-system-x86_64}" >/dev/null && bench_qemu_cpu >/dev/null 2>&1
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
# shellcheck disable=SC2031 # set by the host side for the box
if [ "${KFV_BENCH_NESTED:-0}" != 1 ]; then # else the host side prints it
	echo
	echo "== summary (the benchmarks took $(calc '%.0f' "${EPOCHREALTIME/,/.} - ${suite_start/,/.}") s)"
	printf '%s\n' "${summary[@]}"
fi
exit "$status"
