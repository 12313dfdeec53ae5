#!/bin/busybox sh
# init of the nested KVM host: load KVM, mount the host's file system
# (read-only) and the writable shares, run /ctl/run.sh chrooted into the host
# file system, record its exit status, power off.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
# Loopback TCP (kuml's port: channels).
$bb ip link set lo up
for m in $($bb cat /mods/order); do
  # kvm-intel fails on AMD-style CPUs and vice versa: that is expected.
  $bb insmod /mods/$m 2>/dev/null
done
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 ctl /ctl
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostroot /host
$bb mount --bind /dev /host/dev
# Pseudo-terminals (kuml's pts channels; /dev/ptmx finds them next to it).
$bb mkdir -p /host/dev/pts
$bb mount -t devpts -o ptmxmode=0666 devpts /host/dev/pts
$bb mount -t proc proc /host/proc
$bb mount -t sysfs sys /host/sys
# KVM's own counters (/sys/kernel/debug/kvm), for tests' stall diagnostics.
$bb mount -t debugfs debugfs /host/sys/kernel/debug 2>/dev/null
$bb mount -t tmpfs tmp /host/tmp
$bb mount -t tmpfs run /host/run
$bb mkdir -p /host/run/kvmhost-ctl
$bb mount --bind /ctl /host/run/kvmhost-ctl
# Writable host directories, one 9p share each (tags rw0, rw1, ...).
i=0
while [ -f /ctl/rw$i ]; do
  dir=$($bb cat /ctl/rw$i)
  $bb mkdir -p "/host$dir"  # under the fresh tmpfs of /tmp, say
  $bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 rw$i "/host$dir"
  i=$((i + 1))
done
if [ ! -c /dev/kvm ]; then
  echo "kvmhost: the nested host has no /dev/kvm (KVM modules did not load)" \
    > /ctl/output
  echo 125 > /ctl/rc
else
  $bb chroot /host /bin/bash /run/kvmhost-ctl/run.sh > /ctl/output 2>&1
  echo $? > /ctl/rc
fi
$bb sync
$bb poweroff -f
