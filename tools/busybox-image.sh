#!/usr/bin/env bash
# tools/busybox-image.sh OUT.tar: a busybox root filesystem as a tar, made
# from Debian's busybox-static (/usr/bin/busybox): /bin/busybox with one
# symlink per applet, /etc/passwd and /etc/group with root and nobody,
# /tmp (1777), /root (0700) and the usual empty directories. Import it with
# `wharf import OUT.tar busybox` (or `docker import`).
set -euo pipefail

out=${1:?usage: tools/busybox-image.sh OUT.tar}
busybox=${BUSYBOX:-/usr/bin/busybox}
[[ -x $busybox ]] || { echo "no $busybox: apt-get install busybox-static" >&2; exit 1; }

dir=$(mktemp -d /tmp/wharf-busybox.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,etc,dev,proc,sys,tmp,root,var,home,usr/bin,usr/sbin,sbin}
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
  [[ $applet == busybox || -e $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
  >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
chmod 1777 "$dir/tmp"
chmod 0700 "$dir/root"
tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf "$out" .
