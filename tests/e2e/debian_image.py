#!/usr/bin/env python3
"""A UML user's own Debian root_fs (guest/build-debian-image.sh), booted the
UML way by one VMM: `debian_image.py uml|kuml <image> <report>`.

The VMM runs `ubd0=<copy of image> con0=fd:0,fd:1 con1=pts con=null
mem=256M` on a terminal (a pty made here). On con0 it must reach Debian's
`umlguest login:`; root logs in, and the shell reports what / is (device,
major:minor, rw or ro) and its tty. A second login on con1's announced pty
reports that line's tty. Then `halt` on con0 must end the VMM with status 0.

The report file gets one `key=value` line per fact, to be compared between
the real UML and kuml; timings go to stdout only (they differ by design).
"""
import os
import pty
import pwd
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import KUML, RUNFILES, TMP, Stream, fail  # noqa: E402

# Boot to login: seconds under UML, a minute or more of emulated kernel work
# under a software-assisted or nested KVM (sysvinit's scripts fork a lot).
BOOT_TIMEOUT = 1500
STEP_TIMEOUT = 300
PROMPT = "root@umlguest:~# "


def expect_alive(stream, text, timeout, p, others=()):
    """stream.expect(text), failing at once when the VMM `p` exits first."""
    end = time.time() + timeout
    while text.encode() not in stream.data:
        if p.poll() is not None:
            for s in others:
                s.pump(0.1)
            fail("the VMM exited (%d) before %r" % (p.returncode, text))
        if time.time() > end:
            fail("%s: no %r within %d s" % (stream.name, text, timeout))
        stream.pump(0.2)
        for s in others:
            s.pump(0)


def shell(stream, n, expression, timeout=STEP_TIMEOUT):
    """Types a command that prints `expression`'s value between the markers
    <n> and </n>, and returns it (whitespace runs made one space). The shell
    computes the markers ($((n))), so the terminal's echo of the typed line
    never matches."""
    stream.send('echo "<$((%d))>%s</$((%d))>"\r' % (n, expression, n))
    stream.expect("</%d>" % n, timeout)
    m = re.search(("<%d>(.*?)</%d>" % (n, n)).encode(), stream.data, re.S)
    if not m:
        fail("no <%d> in %r" % (n, stream.data[-500:]))
    return " ".join(m.group(1).decode(errors="replace").split())


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("uml", "kuml"):
        fail("usage: debian_image.py uml|kuml <image> <report>")
    vmm, image, report_path = sys.argv[1:]
    disk = os.path.join(TMP, vmm + "-root_fs")
    subprocess.run(["cp", "--sparse=always", image, disk], check=True)
    if vmm == "uml":
        cmd = [os.path.join(RUNFILES, "tests/uml/linux")]
    else:
        # kuml's default kernel, named: HOME is Bazel's scratch dir (or /
        # in the nested KVM host), not where ./setup.sh built it.
        home = pwd.getpwuid(os.getuid()).pw_dir
        cache = os.environ.get("KUML_CACHE", os.path.join(home, ".cache/kuml"))
        cmd = [KUML, "kernel=" + os.path.join(cache, "guest/vmlinux")]
    cmd += ["ubd0=" + disk, "con0=fd:0,fd:1", "con1=pts", "con=null",
            "mem=256M", "umid=debian-" + vmm,
            # Not under TMP: in the nested KVM host that is a 9p share,
            # where unix sockets (mconsole) cannot live.
            "uml_dir=" + tempfile.mkdtemp(prefix="kuml-debian-")]
    print("running: " + " ".join(cmd), flush=True)
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    start = time.time()
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE, start_new_session=True)
    os.close(slave)
    os.set_blocking(p.stderr.fileno(), False)
    con0 = Stream(vmm + " con0", fd=master)
    err = Stream(vmm + " stderr", fd=p.stderr.fileno())
    facts = []

    expect_alive(con0, "umlguest login: ", BOOT_TIMEOUT, p, [err])
    boot_s = time.time() - start
    print("%s: boot to login %.1f s" % (vmm, boot_s), flush=True)
    facts.append("login_con0=yes")
    con0.send("root\r")
    con0.expect(PROMPT)
    facts.append("root=" + shell(con0, 1, "$(findmnt -n -o SOURCE,MAJ:MIN /)"))
    facts.append("root_mode=" + shell(
        con0, 2, "$(findmnt -n -o OPTIONS / | cut -d, -f1)"))
    facts.append("con0_tty=" + shell(con0, 3, "$(tty)"))
    facts.append("ubda_node=" + shell(con0, 4, "$(stat -c %F,%t:%T /dev/ubda)"))
    facts.append("fstab_root=" + shell(
        con0, 5, "$(awk '$2 == \"/\" {print $1}' /etc/fstab)"))

    # The second login: con1's pty, announced as UML announces it.
    for s in (err, con0):
        s.pump(0.1)
    m = re.search(rb"Virtual console 1 assigned device '(/dev/pts/\d+)'",
                  err.data + con0.data)
    if not m:
        fail("no announcement of con1's pty")
    con1 = Stream(vmm + " con1", fd=os.open(
        m.group(1), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
    con1.send("\r")
    con1.expect("umlguest login: ")
    con1.send("root\r")
    con1.expect(PROMPT)
    facts.append("login_con1=yes")
    facts.append("con1_tty=" + shell(con1, 6, "$(tty)"))
    con1.send("exit\r")

    con0.send("halt\r")
    end = time.time() + BOOT_TIMEOUT
    while p.poll() is None and time.time() < end:
        for s in (con0, err):
            s.pump(0.1)
    if p.poll() is None:
        p.kill()
        fail("%s did not exit after halt" % vmm)
    print("%s: login to exit %.1f s, total %.1f s" % (
        vmm, time.time() - start - boot_s, time.time() - start), flush=True)
    facts.append("exit_status=%d" % p.returncode)
    with open(report_path, "w") as f:
        f.write("\n".join(facts) + "\n")
    print("\n".join(facts), flush=True)


main()
