#!/usr/bin/env bash
# Install what kfv's build, tests and benchmarks need on Debian 12, as root:
# the missing ones among the packages below (apt-get update only when the
# package lists cannot provide them), then the box kernel for the nested-KVM
# test box (tests/kvmbox/fetch-kernel.sh). Idempotent; prints one summary
# line; exits non-zero with a one-line reason on failure (apt's own output is
# shown on failure, or always with V=1).
#
#   scripts/install-deps.sh            (make deps)
set -uo pipefail

PACKAGES="build-essential gcc make clang libseccomp-dev liburing-dev
libcmocka-dev libsodium-dev libjansson-dev qemu-system-x86 busybox-static
cpio acpica-tools valgrind iproute2 python3 e2fsprogs"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
verbose=${V:-0}
log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX") || { echo "install-deps: cannot create a temporary file" >&2; exit 1; }
trap 'rm -f -- "$log"' EXIT

die() {
    if [ "$verbose" != 1 ] && [ -s "$log" ]; then tail -n 15 "$log" | sed 's/^/  /' >&2; fi
    echo "install-deps: $*" >&2
    exit 1
}
run() { # quiet unless V=1; output kept for the failure message
    if [ "$verbose" = 1 ]; then "$@" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; fi
    "$@" >>"$log" 2>&1
}

[ -r /etc/debian_version ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
    die "this script is for Debian (12, bookworm); install the packages by hand: $(echo $PACKAGES)"
[ "$(id -u)" = 0 ] || die "run as root (apt-get install needs it)"

installed() { # dpkg's second status letter is 'i' for an installed package
    local s
    s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
    [ "${s:1:1}" = i ]
}
missing=()
for p in $PACKAGES; do installed "$p" || missing+=("$p"); done

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
summary="all $(echo $PACKAGES | wc -w) packages present"
if [ ${#missing[@]} -gt 0 ]; then
    # Update the lists only when they cannot provide a missing package.
    need_update=0
    for p in "${missing[@]}"; do
        cand=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
        if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
    done
    if [ "$need_update" = 1 ]; then
        run apt-get "${apt_opts[@]}" update || die "apt-get update failed"
    fi
    run apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" ||
        die "apt-get install ${missing[*]} failed"
    for p in "${missing[@]}"; do installed "$p" || die "$p is still not installed"; done
    summary="installed ${missing[*]}"
fi

# The kernel the nested-KVM box boots (also the loader tests' real vmlinuz).
run "$repo/tests/kvmbox/fetch-kernel.sh" || die "cannot fetch the box kernel (tests/kvmbox/fetch-kernel.sh)"
kver=$(cat "${KFV_KVMBOX_CACHE:-$repo/build/kvmbox/kernel}/version" 2>/dev/null)
echo "install-deps: $summary; box kernel ${kver:-?} ready"
