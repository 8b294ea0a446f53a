#!/usr/bin/env bash
# Runs every test that needs /dev/kvm. tests/run-all.sh starts this through
# tests/kvmbox/with-kvm, so it runs directly on a KVM host and inside the
# nested-KVM box elsewhere.
cd "$(dirname "$0")/../.." || exit 1
if ! [ -c /dev/kvm ]; then
	echo "not ok - kvm suite: /dev/kvm is not available here"
	exit 1
fi
for t in tests/integration/kvm/*.sh; do
	bash "$t"
done
