#!/usr/bin/env bash
# Runs every test: the unit tests (ASan+UBSan builds), the integration tests
# that need no KVM, then the KVM integration tests (directly on a KVM host,
# inside the nested-KVM box otherwise). Ends with "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

section() { printf '\n== %s\n' "$1"; }

section "unit tests (cmocka, ASan+UBSan)"
if [ -z "${KFV_TEST_VMLINUZ:-}" ] && [ -e build/kvmbox/kernel/vmlinuz ]; then
	export KFV_TEST_VMLINUZ=$PWD/build/kvmbox/kernel/vmlinuz
fi
for t in build/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log.one" 2>&1
	status=$?
	sed -n -e "s/^\(not ok\|ok\) [0-9]* - \(.*\)/\1 - $name: \2/p" -e 's/^# \(.*\)/  # \1/p' "$log.one" | tee -a "$log"
	# A crash or a sanitizer abort leaves no "not ok" line of its own.
	if [ "$status" != 0 ] && ! grep -q '^not ok' "$log.one"; then
		echo "not ok - $name: exited with status $status" | tee -a "$log"
		tail -n 20 "$log.one"
	fi
done
rm -f "$log.one"

section "integration tests without KVM"
for t in tests/integration/host/*.sh; do
	bash "$t" 2>&1 | tee -a "$log"
done

section "integration tests on KVM"
# 6G: one test gives a guest RAM above the 4 GiB line (the box allocates lazily).
# The box is only for hosts with no /dev/kvm at all, where the suite takes
# about an hour (every instruction emulated); on a KVM host, PVM included,
# it runs directly in a few minutes and the timeout does not apply.
KFV_KVMBOX_MEM=${KFV_KVMBOX_MEM:-6G} KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT:-4500} \
	bash tests/kvmbox/with-kvm bash tests/integration/kvm-suite.sh 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
if [ "$status" != 0 ] && ! grep -q "^not ok" "$log"; then
	echo "not ok - kvm suite: the KVM run ended with status $status" | tee -a "$log"
fi

section "Linux guest tests (Debian's kernel, on hardware KVM or in the box)"
# A stock kernel does not boot on a software KVM (PVM): on such a host, and
# on one without KVM, these run in one boot of the nested-KVM box. 8G: one
# guest has RAM above 4 GiB (the box allocates lazily).
linux_start=$SECONDS
KFV_KVM_NEED=hardware KFV_KVMBOX_MEM=${KFV_KVMBOX_MEM_LINUX:-8G} KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT_LINUX:-1500} \
	bash tests/kvmbox/with-kvm bash tests/integration/linux-suite.sh 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
if [ "$status" != 0 ] && ! grep -q "^not ok - linux" "$log"; then
	echo "not ok - linux suite: the run ended with status $status" | tee -a "$log"
fi
KFV_KVM_NEED=hardware KFV_KVMBOX_MEM=2G KFV_KVMBOX_TIMEOUT=${KFV_KVMBOX_TIMEOUT_QEMU:-300} \
	bash tests/kvmbox/with-kvm bash tests/integration/linux-suite.sh tests/integration/linux/qemu_crosscheck.sh 2>&1 |
	tee "$log.qemu" | tee -a "$log"
status=${PIPESTATUS[0]}
if [ "$status" != 0 ] && ! grep -q "^not ok" "$log.qemu"; then
	echo "not ok - linux: the QEMU cross-check's run ended with status $status (its box may have wedged)" | tee -a "$log"
fi
rm -f "$log.qemu"
echo "  # Linux guest tests took $((SECONDS - linux_start)) s"

passed=$(grep -c '^ok - ' "$log" | tr -d ' ')
skipped=$(grep -c '^ok - .*# SKIP' "$log" | tr -d ' ')
failed=$(grep -c '^not ok - ' "$log" | tr -d ' ')
passed=$((passed - skipped))
echo
if [ "$failed" != 0 ]; then
	echo "failed:"
	grep '^not ok - ' "$log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
