#!/usr/bin/env python3
"""con0's `in,out` forms, one VMM at a time: `console_pairs.py uml|kuml <out>`
boots the real UML (tests/uml/linux, a tiny root_fs whose init writes
PAIR-OUT to the console and powers off once it reads "quit" there) or kuml
(the console_echo payload: it prints on ttyS0 and powers off on "quit")
with each form below, and writes one line per form to <out>:

  <form>  started=<0|1> out=<0|1> in=<0|1>

started: the VMM ran (was not refused at start); out: the guest's console
output reached the output side; in: "quit" written to the input side
reached the guest (it powered off). console_pairs_test.sh compares the two
files: kuml must do what the real UML does with every form.
"""
import os
import pty
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import RUNFILES  # noqa: E402

WAIT = 90  # for the first output (the nested KVM host is slow)

# (form with placeholders, the output side, the input side). Sides: stdout
# (a regular file), fd3w (a write-only file), fd4r (a read-only pipe), tty5
# (fd 5 is a pty slave; the test holds its master), file6 (fd 6 is a regular
# file opened read-only that already holds "quit"), stdin
# (a pipe), pts (the pty kuml/UML announces), none.
FORMS = [
    ("fd:0,fd:1", "stdout", "stdin"),
    ("null,fd:1", "stdout", "none"),
    ("fd:0,null", "none", "stdin"),
    ("fd:3", "fd3w", "none"),                 # output-only line
    ("fd:4,fd:1", "stdout", "fd4r"),
    ("fd:4", "none", "fd4r"),                 # input-only line
    ("fd:5", "tty5", "tty5"),                 # a tty both ways
    ("fd:5,fd:1", "stdout", "tty5"),
    ("fd:6,fd:1", "stdout", "file6"),         # input from a regular file
    ("fd:0,fd:3", "fd3w", "stdin"),
    ("null", "none", "none"),
    ("pts,fd:1", "stdout", "pts"),
    ("fd:0,pts", "pts", "stdin"),
]


def uml_rootfs(work):
    stage = os.path.join(work, "stage")
    for d in ("bin", "dev", "proc"):
        os.makedirs(os.path.join(stage, d), exist_ok=True)
    busybox = os.path.realpath(subprocess.check_output(
        ["sh", "-c", "command -v busybox"], text=True).strip())
    subprocess.check_call(["cp", busybox, os.path.join(stage, "bin/busybox")])
    for a in ("sh", "sleep", "poweroff", "mount", "echo", "cat"):
        os.symlink("busybox", os.path.join(stage, "bin", a))
    with open(os.path.join(stage, "init"), "w") as f:
        f.write("#!/bin/sh\nexport PATH=/bin\n"
                "echo PAIR-OUT > /dev/console\n"
                "while read line < /dev/console; do\n"
                "  [ \"$line\" = quit ] && poweroff -f\n"
                "done\n"
                "sleep 1000\n")
    os.chmod(os.path.join(stage, "init"), 0o755)
    image = os.path.join(work, "rootfs.img")
    subprocess.check_call(["truncate", "-s", "8M", image])
    subprocess.check_call(["mke2fs", "-q", "-F", "-t", "ext2", "-d", stage,
                           image], env=dict(os.environ, PATH=os.environ[
                               "PATH"] + ":/usr/sbin:/sbin"))
    return image


def command(vmm, work, form):
    if vmm == "uml":
        return [os.path.join(RUNFILES, "tests/uml/linux"),
                "ubd0r=" + os.path.join(work, "rootfs.img"), "con0=" + form,
                "con=null", "ssl=none", "mem=128M", "init=/init",
                "uml_dir=" + os.path.join(work, "uml")]
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    return [os.path.join(RUNFILES, "cli/kuml"), "ubd0=" + disk,
            "kernel=" + os.path.join(RUNFILES, "tests/payloads/console_echo.bin"),
            "con0=" + form, "con=null", "ssl=none",
            "uml_dir=" + os.path.join(work, "uml")]


def read_all(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return data
        if not chunk:
            return data
        data += chunk


def announced_pts(text, pts_before):
    """The pty slave the VMM opened: kuml names it on stderr; UML's printk
    goes to the console, so it lands on the output side (fd:1) or, when the
    pts is the output side, in the pts itself -- then the one /dev/pts entry
    that appeared since the start is it."""
    if b"assigned device '" in text:
        return text.split(b"assigned device '")[1].split(b"'")[0].decode()
    new = set(os.listdir("/dev/pts")) - pts_before - {"ptmx"}
    if len(new) == 1:
        return "/dev/pts/" + new.pop()
    return None


def run_form(vmm, work, form, out_side, in_side):
    marker = b"PAIR-OUT" if vmm == "uml" else b"console payload:"
    stdout_path = os.path.join(work, "stdout")
    fd3_path = os.path.join(work, "fd3")
    stdout = open(stdout_path, "wb")
    fd3 = os.open(fd3_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    stdin_r, stdin_w = os.pipe()
    fd4_r, fd4_w = os.pipe()
    tty5_master, tty5_slave = pty.openpty()
    os.set_blocking(tty5_master, False)
    file6_path = os.path.join(work, "file6")
    with open(file6_path, "wb") as f:
        f.write(b"quit\n")
    file6 = os.open(file6_path, os.O_RDONLY)
    stderr_r, stderr_w = os.pipe()
    os.set_blocking(stderr_r, False)
    # The fds the forms name: 0 stdin pipe, 1 stdout file, 3 write-only
    # file, 4 read-only pipe.
    def child_fds():
        os.dup2(fd3, 3)
        os.dup2(fd4_r, 4)
        os.dup2(tty5_slave, 5)
        os.dup2(file6, 6)
    # close_fds=False: subprocess closes the fds above 2 after preexec_fn,
    # which would undo the dup2s; every other fd here is close-on-exec.
    pts_before = set(os.listdir("/dev/pts"))
    p = subprocess.Popen(command(vmm, work, form), stdin=stdin_r,
                         stdout=stdout, stderr=stderr_w,
                         preexec_fn=child_fds, close_fds=False)
    os.close(stdin_r)
    os.close(stderr_w)
    stderr = b""
    pts_fd = None
    tty5_seen = []
    out_seen = False
    end = time.time() + WAIT
    started = False
    while time.time() < end:
        time.sleep(0.2)
        stderr += read_all(stderr_r)
        if p.poll() is not None and not out_seen:
            break
        started = True
        if pts_fd is None and "pts" in form:
            path = announced_pts(stderr + open(stdout_path, "rb").read(),
                                 pts_before)
            if path:
                pts_fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        outputs = {"stdout": lambda: open(stdout_path, "rb").read(),
                   "fd3w": lambda: open(fd3_path, "rb").read(),
                   "tty5": lambda: tty5_seen.append(read_all(tty5_master))
                   or b"".join(tty5_seen),
                   "pts": lambda: read_all(pts_fd) if pts_fd else b"",
                   "none": lambda: b""}
        if marker in outputs[out_side]():
            out_seen = True
        if out_seen or out_side == "none":
            # No output to wait for: give the guest time to get there.
            if out_side == "none" and time.time() < end - WAIT + 20:
                continue
            break
    started = started and p.poll() is None
    # "quit" on the input side.
    inputs = {"stdin": stdin_w, "fd4r": fd4_w, "pts": pts_fd,
              "tty5": tty5_master}
    if in_side in inputs and inputs[in_side] is not None:
        try:
            os.write(inputs[in_side], b"quit\r\n" if in_side in ("pts", "tty5")
                     else b"quit\n")
        except OSError:
            pass
    got_in = False
    end = time.time() + 20
    while p.poll() is None and time.time() < end:
        time.sleep(0.2)
    if p.poll() is not None and started:
        got_in = True
    if p.poll() is None:
        p.kill()
        p.wait()
    for fd in (stdin_w, fd4_w, fd4_r, fd3, stderr_r, tty5_master, tty5_slave,
               file6):
        os.close(fd)
    if pts_fd is not None:
        os.close(pts_fd)
    stdout.close()
    return started, out_seen, got_in, stderr


def main():
    vmm, out = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    os.environ["TMPDIR"] = work  # UML's memory file
    if vmm == "uml":
        uml_rootfs(work)
    lines = []
    for form, out_side, in_side in FORMS:
        started, out_seen, got_in, stderr = run_form(vmm, work, form,
                                                      out_side, in_side)
        line = "%-10s started=%d out=%d in=%d" % (form, started, out_seen,
                                                   got_in)
        print(line, flush=True)
        if not started:
            print("  stderr: " + stderr.decode(errors="replace")[-500:],
                  flush=True)
        lines.append(line)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
