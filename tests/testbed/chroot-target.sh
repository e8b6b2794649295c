#!/bin/bash
# A throw-away chroot target: an overlayfs copy of $TB/rootfs at $TB/chroot/root with /proc,
# /sys, /dev, /dev/pts mounted, so `chroot $TB/chroot/root CMD` (apt-get inside too) works and
# the rootfs stays clean.
#   chroot-target.sh up      -> prints the directory
#   chroot-target.sh down    -> unmount everything and delete the copy
#   chroot-target.sh status
# up/down < 0.1 s.
set -euo pipefail
. "$(dirname "$0")/common.sh"
C=$TB/chroot; R=$C/root

case "${1:-}" in
  up)
    need_pkgs $PKGS_CHROOT
    [ -x "$ROOTFS/bin/sh" ] || die "run build-rootfs.sh first"
    if ! mountpoint -q "$R"; then
      safe_rm "$C"
      mkdir -p "$C/upper" "$C/work" "$R"
      mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$C/upper,workdir=$C/work" "$R"
    fi
    mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
    mountpoint -q "$R/sys" || mount -t sysfs sysfs "$R/sys"
    mountpoint -q "$R/dev" || mount --bind /dev "$R/dev"
    mountpoint -q "$R/dev/pts" || mount --bind /dev/pts "$R/dev/pts"
    echo "$R"
    ;;
  down)
    umount_under "$R"
    safe_rm "$C"
    ;;
  status)
    if mountpoint -q "$R"; then echo "chroot $R up"; else echo "chroot down"; fi
    ;;
  *) sed -n '2,8p' "$0"; exit 2;;
esac
