#!/usr/bin/env bash
# Fetch the kernel that the kvmbox boots: the Debian kernel package that
# `linux-image-amd64` currently depends on. Keeps only vmlinuz, its config,
# the modules the box loads and the modules a Linux guest of kfv loads (each
# with their dependencies), so the cache stays small.
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
#   guest-modules/                 the same layout for the modules a Linux
#                                  guest of kfv loads (guests/linux/build.sh
#                                  packs them); the box does not load these
# Idempotent: does nothing when the cache already holds every wanted module
# (no apt access at all then). --force fetches again (e.g. for a newer kernel).
# Extra modules: KFV_KVMBOX_EXTRA_MODULES="name ..." for the box,
# KFV_GUEST_EXTRA_MODULES="name ..." for the guest (re-fetches if missing).
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

# What a Linux guest of kfv needs (guests/linux): the virtio-mmio transport
# and its devices (blk, net, rng, vsock) and ext4 for a disk root.
# crc32c_generic is listed because ext4/jbd2 ask the crypto API for "crc32c"
# only at mount time, so no module dependency names it. The box never loads
# these: they go to guest-modules/, not modules/.
GUEST_WANTED="virtio virtio_ring virtio_mmio virtio_blk virtio_net virtio_rng
crc32c_generic ext4 vsock vmw_vsock_virtio_transport_common
vmw_vsock_virtio_transport ${KFV_GUEST_EXTRA_MODULES:-}"

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

wanted=() guest_wanted=()
for m in $WANTED; do wanted+=("$(norm "$m")"); done
for m in $GUEST_WANTED; do guest_wanted+=("$(norm "$m")"); done

# has_set DIR NAME...: DIR/load-order exists and DIR/wanted lists every NAME.
has_set() {
    local dir=$1 m; shift
    [ -s "$dir/load-order" ] || return 1
    for m in "$@"; do
        grep -qx -- "$m" "$dir/wanted" 2>/dev/null || return 1
    done
}
have_all() {
    [ -e "$cache/vmlinuz" ] &&
        has_set "$cache/modules" "${wanted[@]}" &&
        has_set "$cache/guest-modules" "${guest_wanted[@]}"
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
mkdir -p "$tmp/dl" "$tmp/x" "$tmp/out"
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

# extract_set OUTDIR NAME...: copy each wanted module and its dependencies
# into OUTDIR (uncompressed); a post-order walk gives the load order
# (dependencies first), written to OUTDIR/load-order, the wanted names to
# OUTDIR/wanted. Built-in modules are skipped quietly. Sets $nmods.
declare -A state=()
order=()
builtin=$moddir/modules.builtin
visit() { # NAME OUTDIR
    local m=$1 out=$2 d
    case ${state[$m]:-} in seen) return ;; busy) die "dependency cycle at $m" ;; esac
    state[$m]=busy
    if [ -z "${file_of[$m]:-}" ]; then
        if [ -f "$builtin" ] && sed 's|.*/||; s/\.ko$//; s/-/_/g' "$builtin" | grep -qx -- "$m"; then
            state[$m]=seen; return
        fi
        die "module $m not found in $pkg"
    fi
    decomp "${file_of[$m]}" >"$out/$m.ko" || die "cannot decompress ${file_of[$m]}"
    for d in $(deps_of "$out/$m.ko"); do visit "$(norm "$d")" "$out"; done
    order+=("$m")
    state[$m]=seen
}
extract_set() {
    local out=$1 m; shift
    state=() order=()
    mkdir -p "$out"
    for m in "$@"; do visit "$m" "$out"; done
    printf '%s\n' "${order[@]}" >"$out/load-order"
    printf '%s\n' "$@" >"$out/wanted"
    nmods=${#order[@]}
}
extract_set "$tmp/out/modules" "${wanted[@]}"
nbox=$nmods
extract_set "$tmp/out/guest-modules" "${guest_wanted[@]}"
nguest=$nmods

echo "$ver" >"$tmp/out/version"
echo "$pkg" >"$tmp/out/package"
ln -s "vmlinuz-$ver" "$tmp/out/vmlinuz"
chmod -R a+rX "$tmp/out"

rm -rf -- "$cache"
mv "$tmp/out" "$cache"
say "kernel $ver ($pkg, $nbox box modules, $nguest guest modules) in ${cache#"$repo"/}"
