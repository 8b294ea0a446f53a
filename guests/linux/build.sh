#!/usr/bin/env bash
# Build the Linux test guest that kfv's Linux tests and demo boot, with the
# Debian kernel that tests/kvmbox/fetch-kernel.sh caches (its vmlinuz is the
# guest's kernel too):
#
#   guests/linux/build.sh [--force] [OUT_DIR]     (default build/guests/linux)
#
#   OUT_DIR/initramfs.cpio.gz  static busybox (every applet linked), the guest
#       modules (virtio-mmio, blk, net, rng, vsock, ext4) in
#       /lib/modules/VERSION, initramfs/init as /init, the scenarios in
#       /scenarios. /init boots a root disk (root=/dev/vdX), runs a scenario
#       (kfv.run=NAME) or gives a shell on the console; see its header.
#   OUT_DIR/rootfs.ext4        a 64 MiB ext4 root disk (label kfvroot) with
#       the same busybox and rootfs/etc: its rcS reports how the root is
#       mounted, writes to it when it is read-write (tries and fails when
#       read-only) and powers off cleanly.
#
# Why: a real distribution kernel with a tiny, predictable userland, so that
# a test can boot Linux under kfv in about a second, grep the console for
# "KFV-INIT:", "KFV-TEST" and "KFV-ROOT:" markers and check the disk with
# e2fsck afterwards.
#
# Inputs: /bin/busybox (busybox-static; KFV_BUSYBOX to override), the modules
# in build/kvmbox/kernel/guest-modules (KFV_GUEST_MODULES; fetched with
# tests/kvmbox/fetch-kernel.sh when the default cache lacks them), the files
# under guests/linux/. Each image is rebuilt only when it is missing or older
# than one of its inputs (--force: always). Needs cpio, gzip and mkfs.ext4
# (e2fsprogs); mkfs.ext4 -d must be able to read every file (run as root, or
# any user: the staging tree is ours).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KFV_KVMBOX_CACHE:-$repo/build/kvmbox/kernel}
busybox=${KFV_BUSYBOX:-/bin/busybox}
mods=${KFV_GUEST_MODULES:-$cache/guest-modules}
rootfs_size=64M

die() { echo "guests/linux/build.sh: $*" >&2; exit 1; }

force=0 out=
for a in "$@"; do
    case $a in
        --force) force=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) die "unknown option '$a' (try --help)" ;;
        *) [ -z "$out" ] || die "one OUT_DIR only"; out=$a ;;
    esac
done
out=${out:-$repo/build/guests/linux}

for t in cpio gzip mkfs.ext4 find; do
    command -v "$t" >/dev/null || die "'$t' not found (apt-get install cpio gzip e2fsprogs)"
done
[ -x "$busybox" ] || die "$busybox not found (apt-get install busybox-static)"
if command -v readelf >/dev/null && readelf -l "$busybox" 2>/dev/null | grep -q INTERP; then
    die "$busybox is dynamically linked; install busybox-static"
fi
if [ ! -s "$mods/load-order" ] && [ -z "${KFV_GUEST_MODULES:-}" ]; then
    KFV_KVMBOX_CACHE=$cache "$repo/tests/kvmbox/fetch-kernel.sh" --quiet ||
        die "cannot fetch the guest modules"
fi
[ -s "$mods/load-order" ] || die "no $mods/load-order (run tests/kvmbox/fetch-kernel.sh)"
kver=$(cat "$mods/../version" 2>/dev/null) ||
    kver=$(strings -a "$mods/$(head -n1 "$mods/load-order").ko" | sed -n 's/^vermagic=\([^ ]*\).*/\1/p' | head -n1)
[ -n "$kver" ] || die "cannot tell the modules' kernel version"

# The scripts must at least parse (busybox sh, as in the guest).
for f in "$here"/initramfs/init "$here"/initramfs/etc/rc.scenario "$here"/initramfs/scenarios/* \
         "$here"/rootfs/etc/init.d/rcS; do
    "$busybox" sh -n "$f" || die "${f#"$repo"/}: syntax error"
done

# stale OUTPUT INPUT...: OUTPUT is missing, --force, or an input is newer.
stale() {
    local o=$1; shift
    [ "$force" = 1 ] || [ ! -s "$o" ] || [ -n "$(find "$@" -newer "$o" -print -quit)" ]
}

# userland DIR: busybox with a link for each applet, the base directories,
# /etc/passwd and /etc/group, /dev/console.
userland() {
    local d=$1 a
    mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,mnt}
    chmod 1777 "$d/tmp"
    chmod 700 "$d/root"
    cp "$busybox" "$d/bin/busybox"
    chmod 755 "$d/bin/busybox"
    while read -r a; do
        case $a in linuxrc|bin/busybox|'') continue ;; esac
        mkdir -p "$d/$(dirname "$a")"
        ln -sf /bin/busybox "$d/$a"
    done < <("$busybox" --list-full)
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
    printf 'root:x:0:\n' >"$d/etc/group"
    # The kernel opens /dev/console for PID 1 before devtmpfs is mounted.
    mknod -m 600 "$d/dev/console" c 5 1 2>/dev/null || true
}

mkdir -p "$out"
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT

initrd=$out/initramfs.cpio.gz
if stale "$initrd" "$busybox" "$mods" "$here/initramfs" "$here/build.sh"; then
    s=$stage/initramfs
    userland "$s"
    cp -R "$here/initramfs/." "$s/"
    chmod 755 "$s/init" "$s/etc/rc.scenario" "$s"/scenarios/*
    m=$s/lib/modules/$kver
    mkdir -p "$m"
    while read -r n; do
        [ -n "$n" ] || continue
        cp "$mods/$n.ko" "$m/" || die "module $n missing; run tests/kvmbox/fetch-kernel.sh --force"
    done <"$mods/load-order"
    cp "$mods/load-order" "$mods/wanted" "$m/"
    # modules.dep and aliases, so modprobe works in the guest too.
    "$busybox" depmod -b "$s" "$kver" 2>/dev/null || echo "guests/linux/build.sh: warning: depmod failed; modprobe will not work in the guest" >&2
    (cd "$s" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
        gzip -6n >"$initrd.tmp" || die "cannot pack the initramfs"
    mv -f "$initrd.tmp" "$initrd"
    echo "guests/linux/build.sh: ${initrd#"$repo"/} ($(du -k "$initrd" | cut -f1) KiB, kernel $kver)"
fi

rootfs=$out/rootfs.ext4
if stale "$rootfs" "$busybox" "$here/rootfs" "$here/build.sh"; then
    s=$stage/rootfs
    userland "$s"
    cp -R "$here/rootfs/." "$s/"
    chmod 755 "$s/etc/init.d/rcS"
    mkdir -p "$s/data"
    rm -f "$rootfs.tmp"
    truncate -s "$rootfs_size" "$rootfs.tmp" # (mkfs.ext4 -q still says "Creating regular file")
    mkfs.ext4 -q -F -d "$s" -L kfvroot "$rootfs.tmp" "$rootfs_size" || die "mkfs.ext4 failed"
    mv -f "$rootfs.tmp" "$rootfs"
    echo "guests/linux/build.sh: ${rootfs#"$repo"/} ($rootfs_size ext4, label kfvroot)"
fi
