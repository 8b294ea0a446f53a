#!/usr/bin/env bash
# A root filesystem on virtio-blk: root=/dev/vda rw on an ext4 image the
# build made (guests/linux/build.sh). The guest writes and syncs files and
# powers off; the host finds the data and a clean filesystem (e2fsck -n).
# A second disk given with --disk PATH,ro mounts read-only, writes to it
# fail in the guest (through the file system and raw) and its image is
# unchanged.
cd "$(dirname "$0")/../../.." || exit 1
. tests/lib.sh
. tests/integration/linux/lib.sh
linux_images_ok "linux: rootfs" || exit 0
if [ ! -e "$LINUX_ROOTFS" ] || ! command -v e2fsck >/dev/null || ! command -v debugfs >/dev/null; then
	not_ok "linux: rootfs" "no $LINUX_ROOTFS or no e2fsprogs"
	exit 0
fi
img=$TEST_TMP/root.ext4
cp "$LINUX_ROOTFS" "$img"

# The second disk, read-only, is the same file system.
roimg=$TEST_TMP/ro.ext4
cp "$LINUX_ROOTFS" "$roimg"
ro_before=$(md5sum <"$roimg")
linux_run "pci=off root=/dev/vda rw" --cpus 2 --disk "$img" --disk "$roimg,ro"
blk_md5=$(printf %s "$OUT" | tr -d '\r' | sed -n 's/^KFV-ROOT: blob_md5=//p')
check "linux: root=/dev/vda rw mounts, writes, syncs and powers off (status 0)" \
	"want the root's markers and status 0" \
	eval '[ "$RC" = 0 ] && printf %s "$OUT" | grep -q "^KFV-ROOT: synced" && [ -n "$blk_md5" ]'
check "linux: the host finds a clean filesystem after the guest's poweroff" "e2fsck -n: $(e2fsck -n "$img" 2>&1 | tail -n 2 | tr '\n' '|')" \
	e2fsck -n "$img"
written=$(debugfs -R "cat /data/written.txt" "$img" 2>/dev/null)
host_md5=$(debugfs -R "cat /data/blob" "$img" 2>/dev/null | md5sum | cut -d' ' -f1)
check "linux: the guest's files are on the host's image" "written.txt '$written', blob $host_md5 vs guest $blk_md5" \
	eval '[ "$written" = "kfv rootfs write ok" ] && [ "$host_md5" = "$blk_md5" ]'
benign "linux: a root on virtio-blk raises no event above notice"

check "linux: --disk PATH,ro mounts read-only and the guest's writes fail" \
	"want vdb mounted ro, file and raw writes failing: $(printf %s "$OUT" | grep "^KFV-ROOT: vdb" | tr '\n' '|')" \
	eval 'printf %s "$OUT" | grep -q "^KFV-ROOT: vdb ro[, ]" && printf %s "$OUT" | grep -q "^KFV-ROOT: vdb_write_failed=yes" &&
	      printf %s "$OUT" | grep -q "^KFV-ROOT: vdb_raw_write_failed=yes"'
check "linux: a read-only disk is unchanged on the host" "the image changed" eval '[ "$(md5sum <"$roimg")" = "$ro_before" ]'
