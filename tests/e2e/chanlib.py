"""Helpers for kuml's end-to-end tests written in Python: peers for line
channels (fds, ptys, telnet clients) and kuml runs with con0 on pipes."""
import os
import select
import socket
import subprocess
import sys
import tempfile
import termios
import time

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", "."), "kuml")
KUML = os.environ.get("KUML_BIN", os.path.join(RUNFILES, "cli/kuml"))
TMP = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
TIMEOUT = 240  # guests run emulated in the nested KVM host: slow exits


_streams = []  # every Stream made, shown when a test fails


def fail(msg):
    for s in _streams:
        print("--- %s (last 3000 bytes):\n%s" % (
            s.name, s.data[-3000:].decode(errors="replace")), file=sys.stderr)
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Stream:
    """Collects what arrives on a non-blocking fd (or socket)."""

    def __init__(self, name, fd=None, sock=None):
        self.name, self.fd, self.sock, self.data = name, fd, sock, b""
        _streams.append(self)

    def fileno(self):
        return self.sock.fileno() if self.sock else self.fd

    def pump(self, wait):
        r, _, _ = select.select([self], [], [], wait)
        if not r:
            return
        try:
            chunk = self.sock.recv(65536) if self.sock else os.read(self.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        self.data += chunk

    def expect(self, text, timeout=TIMEOUT):
        want = text.encode() if isinstance(text, str) else text
        end = time.time() + timeout
        while want not in self.data:
            if time.time() > end:
                fail("%s: no %r within %d s; got %r" % (self.name, want, timeout,
                                                       self.data[-2000:]))
            self.pump(0.2)
        return self.data

    def send(self, text):
        b = text.encode()
        if self.sock:
            self.sock.sendall(b)
        else:
            os.write(self.fd, b)


def disk(name="disk.img"):
    # One file per guest: a second kuml on a writable image is refused
    # (UML's host lock), and truncating a running guest's disk is no help.
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.truncate(1 << 20)
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_kuml(args, pass_fds=(), disk_name="disk.img"):
    """kuml with con0 on pipes; returns (process, con0 stream, stderr stream)."""
    cmd = [KUML, "ubd0=" + disk(disk_name), "con0=fd:0,fd:1"] + args
    print("running: " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, pass_fds=pass_fds)
    for f in (p.stdout, p.stderr):
        os.set_blocking(f.fileno(), False)
    return p, Stream("con0", fd=p.stdout.fileno()), Stream("stderr",
                                                             fd=p.stderr.fileno())


def tty_in(p, text):
    p.stdin.write(text.encode())
    p.stdin.flush()


def wait_exit(p, streams, what, timeout=TIMEOUT):
    end = time.time() + timeout
    while p.poll() is None and time.time() < end:
        for s in streams:
            s.pump(0.1)
    if p.poll() is None:
        p.kill()
        fail(what + ": kuml did not exit")
    return p.returncode


def is_raw(fd):
    lflag = termios.tcgetattr(fd)[3]
    return not (lflag & (termios.ECHO | termios.ICANON | termios.ISIG))


def connect(port):
    end = time.time() + 30
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.setblocking(False)
            return Stream("telnet", sock=s)
        except ConnectionRefusedError:
            if time.time() > end:
                raise
            time.sleep(0.2)


GREETING = b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x03"
