#!/usr/bin/env python3
"""The reading end of a console channel for console_bench.sh: drains it until
the VMM exits and prints how many bytes it read.

  console_peer.py pty <path file>        opens a pty, writes its slave path to
                                          <path file>, drains the master
  console_peer.py pts <log> <pattern>    waits for "<pattern> '<dev>'" in <log>
                                          (the VMM's announcement), drains <dev>
  console_peer.py telnet <port>          connects to localhost:<port>, drains
"""
import os
import re
import select
import socket
import sys
import time


def drain(fd, read):
    total = 0
    while True:
        r, _, _ = select.select([fd], [], [], 600)
        if not r:
            break
        try:
            chunk = read()
        except OSError:
            break
        if not chunk:
            break
        total += len(chunk)
    print(total)


def main():
    mode = sys.argv[1]
    if mode == "pty":
        master, slave = os.openpty()
        with open(sys.argv[2], "w") as f:
            f.write(os.ttyname(slave))
        # The slave stays open (UML opens it only when its guest opens the
        # line, and the master would hang up in between); the bench kills
        # this reader once the VMM is gone.
        drain(master, lambda: os.read(master, 65536))
    elif mode == "pts":
        log, pattern = sys.argv[2], sys.argv[3]
        while True:
            m = re.search(re.escape(pattern) + r" '(/dev/pts/\d+)'",
                          open(log, errors="replace").read())
            if m:
                break
            time.sleep(0.1)
        fd = os.open(m.group(1), os.O_RDONLY | os.O_NOCTTY)
        drain(fd, lambda: os.read(fd, 65536))
    elif mode == "telnet":
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
                break
            except ConnectionRefusedError:
                time.sleep(0.2)
        drain(s, lambda: s.recv(65536))


main()
