#!/usr/bin/env python3
"""End to end with the default guest kernel (slow): Linux's own
virtio_console driver on kuml's lines. An initramfs init (busybox) lists the
ports Linux found (/sys/class/virtio-ports/*/name), then on each line writes
"hello from <name>" and reads one line back, through the devices the
documented mapping names: con<n> -> /dev/tty<n> as under UML (kuml's
kernel, kuml_names=uml: con1 -> tty1, con3 -> tty3, whatever the lines in
between), ssl<n> -> /dev/ttyS<n> (ssl0 -> ttyS0, ssl1 -> ttyS1), all real
ttys. Peers: a pty opened here (con1=pts), a telnet client (con3=port:), a
pty slave (ssl0=tty:), pipes (ssl1=fd:N,fd:M).
"""
import os
import pty
import pwd
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import (TMP, Stream, connect, fail, free_port,  # noqa: E402
                     start_kuml, wait_exit)

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "kuml: $*"; }
ports=""
for d in $(ls /sys/class/virtio-ports | sort -t p -k 3 -n); do
  name=$(cat /sys/class/virtio-ports/$d/name)
  case "$name" in org.kuml.*) continue ;; esac  # kuml's own (the agent's)
  ports="$ports $name"
  case "$name" in
    con*) dev=/dev/tty${name#con} ;;
    ssl*) dev=/dev/ttyS${name#ssl} ;;
    *) dev=/dev/$d ;;
  esac
  echo "$name $dev" >> /lines
done
say "ports:$ports"
# Each device stays open from the hello to the answer: a port the guest has
# closed is closed for the host too (VIRTIO_CONSOLE_PORT_OPEN 0), and what
# the host sends meanwhile is not the guest's to read.
while read name dev; do
  exec 3<>"$dev"
  printf 'hello from %s\r\n' "$name" >&3
  if read -t 120 line <&3; then
    say "$name on $dev read $(echo "$line" | tr -d '\r')"
  else
    say "$name on $dev read nothing"
  fi
  exec 3<&-
done < /lines
say "lines done"
poweroff -f
"""


def initrd():
    root = os.path.join(TMP, "initrd")
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)
    out = os.path.join(TMP, "lines.cpio.gz")
    subprocess.run("find . | cpio -o -H newc --quiet | gzip > " + out,
                   shell=True, cwd=root, check=True)
    return out


def main():
    real_home = pwd.getpwuid(os.getuid()).pw_dir  # Bazel's HOME is a scratch dir
    cache = os.environ.get("KUML_CACHE", os.path.join(real_home, ".cache/kuml"))
    kernel = os.path.join(cache, "guest/vmlinux")
    if not os.path.exists(kernel):
        fail("no guest kernel at %s: run ./setup.sh" % kernel)
    m0, s0 = pty.openpty()
    os.set_blocking(m0, False)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.set_blocking(out_r, False)
    port = free_port()
    p, con0, err = start_kuml(
        ["kernel=" + kernel, "initrd=" + initrd(), "rdinit=/init", "mem=128M",
         "con1=pts", "con3=port:%d" % port, "ssl0=tty:" + os.ttyname(s0),
         "ssl1=fd:%d,fd:%d" % (in_r, out_w)], pass_fds=(in_r, out_w))
    os.close(in_r)
    os.close(out_w)
    err.expect("'\r\n")
    m = re.search(rb"Virtual console 1 assigned device '(/dev/pts/\d+)'", err.data)
    if not m:
        fail("no announcement: %r" % err.data)
    con1 = Stream("con1", fd=os.open(m.group(1), os.O_RDWR | os.O_NOCTTY |
                                     os.O_NONBLOCK))
    telnet = connect(port)
    ssl0 = Stream("ssl0", fd=m0)
    ssl1 = Stream("ssl1", fd=out_r)
    timeout = 400  # a whole kernel boots, emulated (40-90 s seen)
    # con0 is tty0 under Linux's tty layer (ONLCR): lines end in \r\n.
    con0.expect("kuml: ports: con1 con3 ssl0 ssl1\r\n", timeout)
    # The ttys are cooked: CR (or LF) ends the line.
    for name, stream, reply, dev in (
            ("con1", con1, lambda: con1.send("hi-con1\r"), "/dev/tty1"),
            ("con3", telnet, lambda: telnet.send("hi-con3\r\n"), "/dev/tty3"),
            ("ssl0", ssl0, lambda: ssl0.send("hi-ssl0\n"), "/dev/ttyS0"),
            ("ssl1", ssl1, lambda: os.write(in_w, b"hi-ssl1\n"), "/dev/ttyS1")):
        # Line endings differ by path (a cooked console tty adds \r, a pts or
        # telnet peer may add more): match the text.
        stream.expect("hello from %s" % name, timeout)
        reply()
        con0.expect("kuml: %s on %s" % (name, dev), timeout)
        con0.expect("read hi-%s\r\n" % name, timeout)  # the guest's echo
        print("ok: %s both ways through %s" % (name, dev), flush=True)
    con0.expect("kuml: lines done", timeout)
    if wait_exit(p, [con0, err], "guest", timeout) != 0:
        fail("kuml exited %d" % p.returncode)
    print("PASS")


main()
