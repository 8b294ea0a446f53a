#!/usr/bin/env bash
# The demo: boots the hello guest on two vCPUs in a jailed VMM, with the
# integrity guard beside it and the orchestrator under the default policy
# (policy/default.json), then prints kfv's end-of-run summary: why the VM
# stopped, its exits, how the VMM was confined, and the security summary.
# On a host without a usable /dev/kvm it runs inside the nested-KVM box
# (see docs/testing-kvmbox.md).
cd "$(dirname "$0")/.." || exit 1
events=build/demo-events.jsonl
rm -f "$events"
echo "== kfv demo: hello.elf, 2 vCPUs, jailed, guarded (check every 100 ms), default policy"
tests/kvmbox/with-kvm build/kfv run --kernel build/guests/hello.elf --cpus 2 --debug-exit \
	--name demo --events "$events" --guard-period 100
status=$?
echo "== kfv exited with status $status; security events: $events ($(wc -l <"$events" 2>/dev/null || echo 0) lines)"
exit "$status"
