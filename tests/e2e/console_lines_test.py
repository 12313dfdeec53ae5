#!/usr/bin/env python3
"""End to end: every kind of line channel with a real peer, through kuml and a
guest payload (tests/payloads/console_echo.c) that talks on ttyS0 and on every
virtio-console port.

  all_channels: con0 on pipes, con1=pts (a terminal opened here), con2=port:
    (a telnet client; it leaves and another comes), ssl0=tty:<a pty slave>
    (raw while kuml runs, restored after), ssl1 on pipes (fd:N,fd:M), ssl2=null,
    con3=none, con=null for the rest; checks the guest's view of the lines.
  serial_pair: HOWTO 5.3: two guests joined by a serial line, one on pts, the
    other on the matching tty.
"""
import os
import pty
import re
import sys
import termios

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanlib import (GREETING, RUNFILES, Stream, connect, fail, free_port,  # noqa: E402
                     is_raw, start_kuml as start, tty_in, wait_exit)

PAYLOAD = os.path.join(RUNFILES, "tests/payloads/console_echo.bin")


def start_kuml(args, pass_fds=(), disk_name="disk.img"):
    return start(["kernel=" + PAYLOAD] + args, pass_fds, disk_name)


def all_channels():
    # ssl0's peer: a pty whose slave kuml opens as tty:<slave>.
    m0, s0 = pty.openpty()
    os.set_blocking(m0, False)
    s0_path = os.ttyname(s0)
    before = termios.tcgetattr(s0)
    ssl0 = Stream("ssl0", fd=m0)
    # ssl1's peer: two pipes.
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.set_blocking(out_r, False)
    ssl1_out = Stream("ssl1", fd=out_r)
    # ssl3's peer: one write-only pipe end, as UML's `fd:3 3>file` (an
    # output-only line).
    ssl3_r, ssl3_w = os.pipe()
    os.set_blocking(ssl3_r, False)
    ssl3 = Stream("ssl3", fd=ssl3_r)
    port = free_port()
    p, con0, err = start_kuml(
        ["con=null", "con1=pts", "con2=port:%d" % port, "con3=none",
         "ssl0=tty:" + s0_path, "ssl1=fd:%d,fd:%d" % (in_r, out_w),
         "ssl2=null", "ssl3=fd:%d" % ssl3_w], pass_fds=(in_r, out_w, ssl3_w))
    os.close(in_r)
    os.close(out_w)
    os.close(ssl3_w)

    err.expect("'\r\n")
    m = re.search(rb"Virtual console 1 assigned device '(/dev/pts/\d+)'",
                  err.data)
    con1_fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    con1 = Stream("con1", fd=con1_fd)

    # The guest's view: con3 is gone, con1/con2/con4..con9 are the 8 hvc
    # consoles, con10..15 plain ports, then the serial lines.
    consoles = ["con%d(console)" % n for n in (1, 2, 4, 5, 6, 7, 8, 9)]
    plain = ["con%d" % n for n in range(10, 16)] + ["ssl0", "ssl1", "ssl2", "ssl3"]
    expected = "console payload: %d ports: %s\n" % (
        len(consoles) + len(plain), " ".join(consoles + plain))
    con0.expect(expected)
    print("ok: the guest sees " + expected.strip(), flush=True)

    if not is_raw(s0):
        fail("tty:%s is not in raw mode while kuml runs" % s0_path)

    telnet = connect(port)
    telnet.expect(GREETING + b"con2 ready\r\n")
    for name, stream in (("con1", con1), ("ssl0", ssl0), ("ssl1", ssl1_out),
                         ("ssl3", ssl3)):
        stream.expect(name + " ready\r\n")
    print("ok: every port said ready", flush=True)

    con1.send("ping a\r")
    con1.expect("pong a from con1")
    telnet.send("ping b\r\n")
    telnet.expect("pong b from con2")
    ssl0.send("ping d\r")
    ssl0.expect("pong d from ssl0")
    os.write(in_w, b"ping e\n")
    ssl1_out.expect("pong e from ssl1")
    con0.expect("con2 got: ping b\n")  # CR LF from telnet became one line end
    print("ok: ping/pong on pts, port:, tty:, fd:", flush=True)

    # The telnet client leaves; the guest goes on; the next client gets con2.
    telnet.sock.close()
    telnet = connect(port)
    telnet.expect(GREETING)
    telnet.send("ping c\r\n")
    telnet.expect("pong c from con2")
    print("ok: a new telnet client continues con2", flush=True)

    # Host -> all ports through the guest, from con0.
    tty_in(p, "say hello all\r")
    con0.expect("said\n")
    for stream in (con1, telnet, ssl0, ssl1_out, ssl3):
        stream.expect("hello all\r\n")
    print("ok: con0 input reaches the guest, the guest reaches every port",
          flush=True)

    con1.send("quit\r")
    rc = wait_exit(p, [con0, err], "all_channels")
    if rc != 0:
        fail("kuml exited %d; stderr %r" % (rc, err.data))
    con0.expect("con1 got: quit\nbye\n", timeout=1)
    if termios.tcgetattr(s0) != before:
        fail("tty:%s was not restored on exit" % s0_path)
    print("ok: kuml exited 0 and restored tty:" + s0_path, flush=True)


def serial_pair():
    a, a_con0, a_err = start_kuml(["ssl1=pts"])
    a_err.expect("'\r\n")
    m = re.search(rb"Serial line 1 assigned device '(/dev/pts/\d+)'", a_err.data)
    if not m:
        fail("no announcement for ssl1: %r" % a_err.data)
    path = m.group(1).decode()
    b, b_con0, b_err = start_kuml(["ssl1=tty:" + path], disk_name="disk-b.img")
    a_con0.expect("console payload: 1 ports: ssl1\n")
    b_con0.expect("console payload: 1 ports: ssl1\n")
    # Each guest's "ready" crossed the line to the other.
    a_con0.expect("ssl1 got: ssl1 ready\n")
    b_con0.expect("ssl1 got: ssl1 ready\n")
    tty_in(a, "say ping over the wire\r")
    b_con0.expect("ssl1 got: ping over the wire\n")
    a_con0.expect("ssl1 got: pong over the wire from ssl1\n")
    print("ok: guest A -> " + path + " -> guest B and back", flush=True)
    tty_in(b, "quit\r")
    tty_in(a, "quit\r")
    for p, streams, what in ((a, [a_con0, a_err], "A"), (b, [b_con0, b_err], "B")):
        if wait_exit(p, streams, what) != 0:
            fail("guest %s: kuml exited %d" % (what, p.returncode))
    print("ok: both guests exited 0", flush=True)


if __name__ == "__main__":
    cases = {"all_channels": all_channels, "serial_pair": serial_pair}
    for name in (sys.argv[1:] or list(cases)):
        print("=== " + name, flush=True)
        cases[name]()
    print("PASS")
