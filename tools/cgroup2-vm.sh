#!/usr/bin/env bash
# cgroup2-vm.sh — run one command inside a throwaway Linux guest whose only
# cgroup hierarchy is cgroup v2, and exit with the command's status.
#
#   tools/cgroup2-vm.sh [CMD [ARG...]]     (no CMD: print the guest's cgroup setup)
#
# Wharf's CI host mounts cgroups in hybrid mode, so code paths that need a
# pure cgroup2 hierarchy (device filtering by BPF, io.max, cgroup.freeze, …)
# are tested here: QEMU boots the Debian kernel from /boot with
# `cgroup_no_v1=all` and a busybox initramfs built on the fly. The guest sees
# the host's / read-only and the current directory read-write (both over
# virtio-9p), chroots into that view and runs CMD from the same $PWD as root.
#
# Inside the guest:
#   /sys/fs/cgroup   cgroup2 (nsdelegate), every controller enabled in the
#                    root's cgroup.subtree_control, as systemd hosts do
#   /sys/fs/bpf      bpffs;  /tmp, /run, /var/tmp: tmpfs;  HOME=/tmp
#   /dev/vda         a blank 64 MiB virtio disk (for io.max tests)
#
# Exit status: CMD's, or 125 when the guest never reported one (boot failure,
# timeout). Needs the Debian packages qemu-system-x86, linux-image-amd64,
# busybox-static, cpio and xz-utils (see tools/README.md).
#
# Environment:
#   KERNEL    vmlinuz to boot (default: newest /boot/vmlinuz-*)
#   ACCEL     kvm | tcg (default: kvm when /dev/kvm is usable with kvm_intel
#             or kvm_amd loaded, else tcg)
#   MEM, SMP  guest memory in MiB (1024) and CPUs (2)
#   TIMEOUT   seconds before the guest is killed (900)
#   VM_ENV    names of variables to copy into the guest, e.g. "RUST_BACKTRACE"
#   VM_QUIET  1: hide the guest console's kernel messages (default 1)
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
  exit 0
fi

die() { echo "cgroup2-vm: $*" >&2; exit 125; }

KERNEL=${KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)}
[[ -n $KERNEL && -r $KERNEL ]] || die "no kernel in /boot (apt-get install linux-image-amd64)"
KVER=${KERNEL##*/vmlinuz-}
MODDIR=/lib/modules/$KVER
[[ -r $MODDIR/modules.dep ]] || die "no modules for $KVER in $MODDIR"
QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
BUSYBOX=$(command -v busybox) || die "busybox missing (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio missing"

if [[ -z ${ACCEL:-} ]]; then
  ACCEL=tcg
  if [[ -w /dev/kvm ]] && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then ACCEL=kvm; fi
fi
case $ACCEL in
  kvm) ACCEL_ARGS=(-enable-kvm -cpu host) ;;
  tcg) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
  *) die "ACCEL must be kvm or tcg" ;;
esac

S=$(mktemp -d /tmp/cgroup2-vm.XXXXXX)
trap 'rm -rf "$S"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$S"/root/{bin,mod,proc,sys,dev,newroot} "$S/out"
cp "$BUSYBOX" "$S/root/bin/busybox"

# The modules for 9p over virtio-pci and for virtio-blk, dependencies first,
# decompressed so that busybox insmod can load them.
awk -v want="virtio_pci 9pnet_virtio 9p virtio_blk" '
  function base(p) { sub(/.*\//, "", p); sub(/\.ko.*/, "", p); return p }
  function visit(p,   n, i, d) {
    if (p in seen) return
    seen[p] = 1
    n = split(deps[p], d, " ")
    for (i = n; i >= 1; i--) visit(d[i])
    print p
  }
  { i = index($0, ":"); deps[substr($0, 1, i - 1)] = substr($0, i + 1) }
  END { n = split(want, w, " "); for (i = 1; i <= n; i++) for (p in deps) if (base(p) == w[i]) visit(p) }
' "$MODDIR/modules.dep" > "$S/modules"
: > "$S/root/mod/order"
while read -r m; do
  b=${m##*/}; b=${b%%.ko*}
  case $m in
    *.xz) xz -dc ;;
    *.zst) zstd -dc ;;
    *.gz) gzip -dc ;;
    *) cat ;;
  esac < "$MODDIR/$m" > "$S/root/mod/$b.ko"
  echo "$b" >> "$S/root/mod/order"
done < "$S/modules"

# The command as a shell script, quoted word by word.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
  for v in ${VM_ENV:-}; do
    if [[ -n ${!v+x} ]]; then printf 'export %s=%s\n' "$v" "$(quote "${!v}")"; fi
  done
  printf 'cd %s || exit 126\n' "$(quote "$PWD")"
  if [[ $# -eq 0 ]]; then
    echo 'echo "fs: $(stat -f -c %T /sys/fs/cgroup)"'
    echo 'echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"'
    echo 'echo "subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"'
    echo 'echo "kernel: $(uname -r)"'
  else
    printf 'exec'
    for a in "$@"; do printf ' %s' "$(quote "$a")"; done
    echo
  fi
} > "$S/root/cmd"
printf '%s\n' "$PWD" > "$S/root/workdir"

cat > "$S/root/init" <<'INIT'
#!/bin/busybox sh
# PID 1 of the guest: mount the shares, build the chroot, run the command,
# report its status through the "out" share and power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mod/order); do insmod /mod/$m.ko || echo "cgroup2-vm: insmod $m failed"; done
O=trans=virtio,version=9p2000.L,msize=524288
R=/newroot
W=$(cat /workdir)
mount -t 9p -o $O,ro,cache=loose hostroot $R || { echo "cgroup2-vm: cannot mount host root"; poweroff -f; }
mkdir -p /out && mount -t 9p -o $O out /out
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs shm $R/dev/shm
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup
mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null
for d in tmp run var/tmp; do mount -t tmpfs tmpfs $R/$d 2>/dev/null; done
mkdir -p $R$W 2>/dev/null; mount -t 9p -o $O work $R$W || echo "cgroup2-vm: cannot mount $W"
for c in $(cat $R/sys/fs/cgroup/cgroup.controllers); do
  echo +$c > $R/sys/fs/cgroup/cgroup.subtree_control
done
ip link set lo up 2>/dev/null
cp /cmd $R/tmp/.cgroup2-vm-cmd
HOME=/tmp TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  chroot $R /bin/sh /tmp/.cgroup2-vm-cmd < /dev/null
echo $? > /out/rc
sync
echo 0 > /proc/sys/kernel/printk
poweroff -f
INIT
chmod +x "$S/root/init"
(cd "$S/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$S/initrd.gz"

# Under TCG the kernel's own decompressor costs seconds: boot the ELF vmlinux
# inside the bzImage (an xz stream) through PVH when it can be extracted.
BOOT=$KERNEL
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$KERNEL" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
if [[ -n $off ]]; then
  tail -c +$((off + 1)) "$KERNEL" | xz -dc --single-stream > "$S/vmlinux" 2>/dev/null || true
  if [[ $(head -c 4 "$S/vmlinux" | od -An -c | tr -d ' ') == '177ELF' ]]; then BOOT=$S/vmlinux; fi
fi
truncate -s 64M "$S/disk.img"

# no_timer_check: under a loaded TCG host the IO-APIC timer check can fail
# and panic the guest ("IO-APIC + timer doesn't work").
APPEND="console=ttyS0 panic=-1 no_timer_check cgroup_no_v1=all"
[[ ${VM_QUIET:-1} == 1 ]] && APPEND+=" quiet loglevel=1"
FS="security_model=none,multidevs=remap"
timeout "${TIMEOUT:-900}" "$QEMU" "${ACCEL_ARGS[@]}" -m "${MEM:-1024}" -smp "${SMP:-2}" \
  -nographic -no-reboot -nic none -bios qboot.rom \
  -kernel "$BOOT" -initrd "$S/initrd.gz" -append "$APPEND" \
  -virtfs "local,path=/,mount_tag=hostroot,readonly=on,$FS" \
  -virtfs "local,path=$PWD,mount_tag=work,$FS" \
  -virtfs "local,path=$S/out,mount_tag=out,$FS" \
  -drive "file=$S/disk.img,if=virtio,format=raw" < /dev/null || true
[[ -s $S/out/rc ]] || die "the guest reported no exit status"
exit "$(cat "$S/out/rc")"
