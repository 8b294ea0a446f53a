#!/usr/bin/env bash
# Extract the uncompressed kernel (ELF vmlinux) from a bzImage, for QEMU to
# boot through the PVH entry point (skips the slow self-decompression).
#   tests/kvmbox/extract-vmlinux.sh VMLINUZ OUTPUT
# Fails (status 1, OUTPUT untouched) unless the result is an ELF with a PVH
# entry note (Xen note type 0x12).
set -euo pipefail
in=${1:?usage: extract-vmlinux.sh VMLINUZ OUTPUT}
out=${2:?usage: extract-vmlinux.sh VMLINUZ OUTPUT}
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT

# magic (as a grep -P pattern) and the decompressor reading stdin
formats=(
    '\xfd7zXZ\x00|xz -dc --single-stream'
    '\x28\xb5\x2f\xfd|zstd -dcq'
    '\x1f\x8b\x08|gzip -dc'
    '\x02\x21\x4c\x18|lz4 -dc'
)
ok=0
for f in "${formats[@]}"; do
    magic=${f%%|*} cmd=${f#*|}
    command -v "${cmd%% *}" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "$magic" "$in" 2>/dev/null | cut -d: -f1 | head -n 4); do
        tail -c +$((off + 1)) "$in" | $cmd >"$tmp" 2>/dev/null || true
        if [ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
            ok=1; break 2
        fi
    done
done
[ "$ok" = 1 ] || { echo "extract-vmlinux: no compressed ELF kernel found in $in" >&2; exit 1; }
if command -v readelf >/dev/null &&
   ! readelf -n "$tmp" 2>/dev/null | grep -q 'note type: (0x00000012)'; then
    echo "extract-vmlinux: $in has no PVH entry point" >&2; exit 1
fi
chmod 644 "$tmp"
mv -f -- "$tmp" "$out"
