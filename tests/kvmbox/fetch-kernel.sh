#!/usr/bin/env bash
# Fetch the kernel that the kvmbox boots: the Debian kernel package that
# `linux-image-amd64` currently depends on. Keeps only vmlinuz, its config and
# the modules the box loads (and their dependencies), so the cache stays small.
#
#   tests/kvmbox/fetch-kernel.sh [--force] [--quiet]
#
# Cache directory: $KFV_KVMBOX_CACHE, default build/kvmbox/kernel (relative to
# the repository root). Layout:
#   vmlinuz -> vmlinuz-VERSION     the distribution kernel (also used by the
#                                  loader's unit tests as KFV_TEST_VMLINUZ)
#   config-VERSION, version, package
#   modules/NAME.ko                uncompressed, named with underscores
#   modules/load-order             the module names, dependencies first
#   modules/wanted                 the module list this cache was built for
# Idempotent: does nothing when the cache already holds every wanted module
# (no apt access at all then). --force fetches again (e.g. for a newer kernel).
# Extra modules: KFV_KVMBOX_EXTRA_MODULES="name ..." (re-fetches if missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KFV_KVMBOX_CACHE:-$repo/build/kvmbox/kernel}

# What the box needs: KVM (kvm_amd under the emulator's SVM; kvm_intel for
# hosts that nest VMX), virtio-pci + 9p for the host filesystem, virtio-rng
# for early entropy, tun/veth/bridge for network tests. Dependencies are added automatically.
WANTED="irqbypass ccp kvm kvm_amd kvm_intel virtio virtio_ring virtio_pci
virtio_pci_modern_dev virtio_pci_legacy_dev virtio_rng netfs
fscache 9pnet 9pnet_virtio 9p tun veth bridge ${KFV_KVMBOX_EXTRA_MODULES:-}"

force=0 quiet=0
for a in "$@"; do
    case $a in
        --force) force=1 ;;
        --quiet|-q) quiet=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "fetch-kernel: unknown argument '$a' (try --help)" >&2; exit 2 ;;
    esac
done

die() { echo "fetch-kernel: $*" >&2; exit 1; }
say() { [ "$quiet" = 1 ] || echo "fetch-kernel: $*"; }
norm() { local n=${1//-/_}; n=${n%.ko*}; printf '%s' "${n##*/}"; }

wanted=()
for m in $WANTED; do wanted+=("$(norm "$m")"); done

have_all() {
    [ -e "$cache/vmlinuz" ] && [ -s "$cache/modules/load-order" ] || return 1
    local m
    for m in "${wanted[@]}"; do
        grep -qx -- "$m" "$cache/modules/wanted" 2>/dev/null || return 1
    done
}

if [ "$force" = 0 ] && have_all; then
    say "kernel $(cat "$cache/version" 2>/dev/null) already in ${cache#"$repo"/}"
    exit 0
fi

for t in apt-cache apt-get dpkg flock; do
    command -v "$t" >/dev/null || die "'$t' not found (Debian is required)"
done
decomp() { # file.ko[.xz|.zst|.gz] -> stdout
    case $1 in
        *.ko) cat -- "$1" ;;
        *.ko.xz) xz -dc -- "$1" ;;
        *.ko.zst) zstd -dcq -- "$1" ;;
        *.ko.gz) gzip -dc -- "$1" ;;
        *) return 1 ;;
    esac
}
deps_of() { # uncompressed .ko -> dependency names, one per line
    local d
    if command -v modinfo >/dev/null; then
        d=$(modinfo -F depends "$1" 2>/dev/null) || d=
    else
        command -v strings >/dev/null || die "need 'strings' (binutils) or 'modinfo' (kmod)"
        d=$(strings -a "$1" | sed -n 's/^depends=//p' | head -n1)
    fi
    tr ',' '\n' <<<"$d" | sed '/^$/d'
}

mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9 || die "cannot lock $cache.lock"
# Another run may have finished while we waited for the lock.
if [ "$force" = 0 ] && have_all; then
    say "kernel $(cat "$cache/version") already in ${cache#"$repo"/}"
    exit 0
fi

find_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[^ <>|]*\) *$/\1/p' | head -n1
}
pkg=${KFV_KVMBOX_KERNEL_PKG:-$(find_pkg)}
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
    say "apt lists lack linux-image-amd64; running apt-get update"
    apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
    pkg=$(find_pkg)
fi
[ -n "$pkg" ] || die "cannot tell which kernel linux-image-amd64 depends on (run apt-get update as root)"

tmp=$(mktemp -d "$cache.tmp.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "$tmp/dl" "$tmp/x" "$tmp/out/modules"
# apt-get download drops privileges to _apt when run as root: give it the directory.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp/dl" 2>/dev/null || true
fi
say "downloading $pkg"
(cd "$tmp/dl" && apt-get download -q=2 "$pkg" >/dev/null 2>"$tmp/dl.err") || {
    sed 's/^/  /' "$tmp/dl.err" >&2; die "apt-get download $pkg failed"; }
deb=$(ls "$tmp/dl"/*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
dpkg -x "$deb" "$tmp/x" || die "dpkg -x $(basename "$deb") failed"
rm -f -- "$deb"

moddir=
for d in "$tmp"/x/lib/modules/* "$tmp"/x/usr/lib/modules/*; do
    [ -d "$d/kernel" ] && { moddir=$d; break; }
done
[ -n "$moddir" ] || die "$pkg has no lib/modules/VERSION/kernel"
ver=$(basename "$moddir")
[ -f "$tmp/x/boot/vmlinuz-$ver" ] || die "$pkg has no boot/vmlinuz-$ver"
cp "$tmp/x/boot/vmlinuz-$ver" "$tmp/out/"
[ -f "$tmp/x/boot/config-$ver" ] && cp "$tmp/x/boot/config-$ver" "$tmp/out/"

# Index the package's modules by name (underscores).
declare -A file_of=()
while IFS= read -r -d '' f; do
    file_of[$(norm "$f")]=$f
done < <(find "$moddir/kernel" -name '*.ko*' -print0)

# Copy each wanted module and its dependencies; a post-order walk gives the
# load order (dependencies first). Built-in modules are skipped quietly.
declare -A state=()
order=()
builtin=$moddir/modules.builtin
visit() {
    local m=$1 d
    case ${state[$m]:-} in seen) return ;; busy) die "dependency cycle at $m" ;; esac
    state[$m]=busy
    if [ -z "${file_of[$m]:-}" ]; then
        if [ -f "$builtin" ] && sed 's|.*/||; s/\.ko$//; s/-/_/g' "$builtin" | grep -qx -- "$m"; then
            state[$m]=seen; return
        fi
        die "module $m not found in $pkg"
    fi
    decomp "${file_of[$m]}" >"$tmp/out/modules/$m.ko" || die "cannot decompress ${file_of[$m]}"
    for d in $(deps_of "$tmp/out/modules/$m.ko"); do visit "$(norm "$d")"; done
    order+=("$m")
    state[$m]=seen
}
for m in "${wanted[@]}"; do visit "$m"; done

printf '%s\n' "${order[@]}" >"$tmp/out/modules/load-order"
printf '%s\n' "${wanted[@]}" >"$tmp/out/modules/wanted"
echo "$ver" >"$tmp/out/version"
echo "$pkg" >"$tmp/out/package"
ln -s "vmlinuz-$ver" "$tmp/out/vmlinuz"
chmod -R a+rX "$tmp/out"

rm -rf -- "$cache"
mv "$tmp/out" "$cache"
say "kernel $ver ($pkg, ${#order[@]} modules) in ${cache#"$repo"/}"
