#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/.

  tests/fuzz/make_seeds.py [<target>...]

Each seed is a valid, interesting input in the harness's own encoding
(tests/fuzz/fuzz_input.h: little-endian integers and length-prefixed byte
strings read front to back; see each <target>_fuzzer.cc for its layout).
Existing seed_* files of a target are replaced; other files (inputs the
fuzzer found and someone checked in) are kept.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.realpath(__file__))


class Enc:
    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b += struct.pack("<B", v & 0xFF)
        return self

    def u16(self, v):
        self.b += struct.pack("<H", v & 0xFFFF)
        return self

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xFFFFFFFF)
        return self

    def u64(self, v):
        self.b += struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)
        return self

    def raw(self, data):
        self.b += bytes(data)
        return self

    def lp(self, data, wide=False):
        data = bytes(data)
        (self.u16 if wide else self.u8)(len(data))
        return self.raw(data)

    def bytes(self):
        return bytes(self.b)


# ---------------------------------------------------------------- virtqueue

F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def vq_desc(e, index, data_off, length, flags, nxt, mod=1):
    e.u8(1).u16(index)
    e.u8(0).u16(data_off)  # PickAddress: data area + offset
    if length < 256:
        e.u8(0).u8(length)  # PickLength: u8
    else:
        e.u8(2).u16(length)
    e.u16(flags).u16(nxt).u8(mod)


def vq_publish(e, head, mod=1):
    e.u8(3).u16(head).u8(mod)


def vq_pop(e, budget=8, exercise=True, chains=1):
    """Pops up to `budget` chains; `chains` of them are there."""
    e.u8(5).u8(budget - 1).u8(1 if exercise else 0)
    for _ in range(chains):
        if exercise:
            e.u32(3).u16(8).u32(2).u16(10).u32(0).u32(16).u8(1).u8(1)
            e.u32(0).u32(8)
        e.u8(0)  # used length = writable bytes


def virtqueue_seeds():
    seeds = {}
    # A readable + writable chain, popped, walked, completed.
    e = Enc().u8(0x03).u8(3)
    e.u8(0).u8(3).u16(0).lp(b"hello, virtqueue")
    vq_desc(e, 0, 0x0000, 16, F_NEXT, 1)
    vq_desc(e, 1, 0x0100, 32, F_WRITE, 0)
    vq_publish(e, 0)
    vq_pop(e)
    seeds["chain"] = e.bytes()
    # An indirect table of three descriptors.
    e = Enc().u8(0x01).u8(2)
    e.u8(2).u16(0x1000).u8(3)
    for off, ln, fl, nx in ((0x2000, 8, F_NEXT, 1), (0x2100, 8, F_NEXT, 2),
                            (0x2200, 64, F_WRITE, 0)):
        e.u8(0).u16(off).u8(0).u8(ln).u8(fl).u8(nx)
    vq_desc(e, 0, 0x1000, 48, F_INDIRECT, 0, mod=0)
    vq_publish(e, 0)
    vq_pop(e)
    seeds["indirect"] = e.bytes()
    # EVENT_IDX: several chains, used_event moved, interrupts decided.
    e = Enc().u8(0x02).u8(4)
    for i in range(6):
        vq_desc(e, i, 0x400 * i, 100, F_WRITE if i % 2 else 0, 0)
        vq_publish(e, i)
    e.u8(4).u8(2).u16(3)  # used_event = 3
    vq_pop(e, budget=3, chains=3)
    e.u8(4).u8(1).u16(1)  # avail flags: NO_INTERRUPT
    vq_pop(e, budget=8, chains=3)
    seeds["event_idx"] = e.bytes()
    # Hostile: a loop, readable after writable, a head out of range, reset.
    e = Enc().u8(0x03).u8(3)
    vq_desc(e, 0, 0, 8, F_NEXT, 0)  # loops on itself
    vq_publish(e, 0)
    vq_desc(e, 1, 0x10, 8, F_WRITE | F_NEXT, 2)
    vq_desc(e, 2, 0x20, 8, 0, 0)
    vq_publish(e, 1)
    vq_pop(e, exercise=False, chains=0)
    vq_publish(e, 100, mod=0)  # head >= size: broken
    vq_pop(e, exercise=False, chains=0)
    e.u8(6).u8(2).u8(0).u8(3)  # reset, configure again (size 8)
    vq_desc(e, 0, 0x40, 8, 0, 0)
    vq_publish(e, 0)
    vq_pop(e)
    seeds["hostile"] = e.bytes()
    # RAM above 4 GiB: descriptors at the 3 GiB hole and in high RAM.
    e = Enc().u8(0x04).u8(2)
    for i, (sel, off) in enumerate(((0, 0x700), (1, 0x900), (2, 0x800))):
        e.u8(1).u16(i).u8(3).u8(sel).u16(off).u8(0).u8(200)
        e.u16(F_NEXT if i < 2 else 0).u16(i + 1).u8(1)
    vq_publish(e, 0)
    vq_pop(e)
    seeds["high_ram"] = e.bytes()
    # avail idx running ahead of the ring.
    e = Enc().u8(0x00).u8(3)
    vq_desc(e, 0, 0, 8, 0, 0)
    vq_publish(e, 0)
    e.u8(4).u8(0).u16(0x100)
    vq_pop(e, exercise=False, chains=0)
    e.u8(7).u16(3).u32(99)
    seeds["avail_ahead"] = e.bytes()
    return seeds


# ------------------------------------------------------- virtio (mmio guest)

def guest_init(e, nqueues, mode=0, mask=0, how=4, driver_ok=1, raw_size=0):
    """FuzzGuest::Initialize: feature mode [u64], per queue how [u16]."""
    e.u8(mode)
    if mode in (1, 3):
        e.u64(mask)
    for _ in range(nqueues):
        e.u8(how)
        if how & 0x20:
            e.u16(raw_size)
    e.u8(driver_ok)


def step(e, op, q=0):
    e.u8(op).u8(q)


BLK_IN, BLK_OUT, BLK_FLUSH, BLK_GET_ID, BLK_DISCARD = 0, 1, 2, 3, 4


def blk_request(e, kind, sector=0, nsec=1, pieces=1, data=None, how=0,
                indirect=False, discards=None, status_len=None, raw_type=0):
    step(e, 15)
    e.u8(kind)
    if kind % 6 == 5:
        e.u32(raw_type)
    e.u8(0).u8(sector)  # PickSector: u8
    shape = (nsec % 9) | ((pieces - 1) << 4)
    if status_len is not None:
        shape |= 0x08
    e.u8(shape)
    if kind == BLK_DISCARD:
        e.u8(len(discards))
        for sec, num, flags in discards:
            e.u8(0).u8(sec).u8(1).u8(num)
            if flags:
                e.u8(0xF0).u32(flags)
            else:
                e.u8(0)
    elif kind == BLK_OUT and nsec:
        e.raw((data or b"D" * 512 * nsec)[:512 * nsec].ljust(512 * nsec, b"."))
    if status_len is not None:
        e.u8(status_len)
    e.u8(how | (1 if indirect else 0))


def mmio_blk_seeds():
    seeds = {}
    def hdr(flags=0x02, sectors=127, serial=b"kuml-disk"):
        e = Enc().u8(flags)
        if not flags & 4:  # bit 2: an empty disk, no sector count
            e.u8(sectors)
        return e.lp(serial)
    e = hdr()
    guest_init(e, 1, how=8)
    blk_request(e, BLK_OUT, sector=2, nsec=2, pieces=2, data=b"x" * 1024)
    blk_request(e, BLK_IN, sector=2, nsec=2, pieces=3, how=4)
    blk_request(e, BLK_FLUSH, nsec=0)
    blk_request(e, BLK_GET_ID, nsec=0, how=0, status_len=1)
    seeds["rw"] = e.bytes()
    e = hdr()
    guest_init(e, 1, how=8)
    blk_request(e, BLK_DISCARD, discards=[(0, 8, 0), (8, 8, 0)])
    blk_request(e, BLK_DISCARD, discards=[(0, 8, 1)])  # flags: UNSUPP
    blk_request(e, BLK_IN, sector=200, nsec=1)  # past the end: IOERR
    blk_request(e, 5, nsec=0, raw_type=99)  # unknown type: UNSUPP
    seeds["discard"] = e.bytes()
    # Read-only disk: OUT refused; empty serial; indirect chains.
    e = hdr(flags=0x01, sectors=7, serial=b"")
    guest_init(e, 1, how=5)
    blk_request(e, BLK_OUT, sector=0, nsec=1, indirect=True)
    blk_request(e, BLK_IN, sector=0, nsec=4, pieces=4, indirect=True)
    seeds["read_only"] = e.bytes()
    # More requests than one notification serves (notify_again).
    e = hdr()
    guest_init(e, 1, how=8)
    for _ in range(200):
        blk_request(e, BLK_FLUSH, nsec=0, how=2, indirect=True)
    step(e, 8)
    e.u8(0)
    seeds["budget"] = e.bytes()
    # Register file: every register read, config space, reset, again.
    e = hdr(flags=0x06, sectors=0)
    guest_init(e, 1, how=8)
    for off in (0, 4, 8, 0xC, 0x10, 0x34, 0x44, 0x60, 0x70, 0xFC, 0x100,
                0x108, 0x114, 0x124, 0x200):
        step(e, 1)
        e.u16(off).u8(2).u8(0)
    step(e, 2)
    e.u8(0).u8(3).u8(0)
    step(e, 11)
    e.u8(1)
    guest_init(e.u8(3).u8(0), 1, mode=2, how=3)
    blk_request(e, BLK_IN, sector=1, nsec=1)
    step(e, 10)
    e.u8(0)
    seeds["registers"] = e.bytes()
    # A driver that sets up the queue wrong, then kicks anyway.
    e = hdr()
    guest_init(e, 1, mode=3, mask=(1 << 32) | (1 << 40), how=0x28,
               raw_size=300)
    blk_request(e, BLK_IN, sector=0, nsec=1)
    guest_init(e.u8(3).u8(0), 1, mode=0, how=8)
    blk_request(e, BLK_IN, sector=0, nsec=1)
    seeds["bad_setup"] = e.bytes()
    return seeds


def console_seeds():
    seeds = {}

    def start(ports):
        e = Enc().u8(len(ports) - 1)
        for flags, name in ports:
            e.u8(flags)
            if flags & 8:
                e.lp(name)
        guest_init(e, 2 * (len(ports) + 1), how=4)
        return e

    def op(e, o, port=0):
        step(e, 15)
        e.u8(o).u8(port)

    def output(e, port, data, pieces=1, how=0):
        op(e, 4, port)
        e.lp(data, wide=True).u8(pieces - 1).u8(how)

    e = start([(0x01, b""), (0x08 | 0x04, b"org.kuml.agent")])
    op(e, 0)  # handshake
    output(e, 0, b"login: ")
    op(e, 5, 0)
    e.lp(b"root\n", wide=True)
    op(e, 3, 1)
    e.u8(1).u16(64)
    output(e, 1, b"proc uptime", pieces=2, how=1)
    seeds["handshake"] = e.bytes()
    e = start([(0x01, b""), (0x08, b"con1")])
    op(e, 0)
    op(e, 8, 0)
    e.u8(3).u8(1).u8(1).u8(1).u8(0).u8(0).u16(100).u8(2).u8(1)
    output(e, 0, b"A" * 600, pieces=3)
    op(e, 6, 0)
    e.u8(1)
    output(e, 0, b"B" * 100, how=2)
    seeds["backpressure"] = e.bytes()
    e = start([(0x02, b""), (0x09, b"ssl0")])
    op(e, 1)  # DEVICE_READY
    e.u8(0).u8(0).u8(1)
    op(e, 2)
    e.u8(7).u16(256)
    op(e, 1, 1)
    e.u8(0x01).u32(77).u8(3).u8(1)  # PORT_READY for a port that is not
    op(e, 1, 1)
    e.u8(0).u8(6).u8(1)  # PORT_OPEN
    op(e, 1, 1)
    e.u8(0).u8(6).u8(0)  # and closed again
    op(e, 1, 0)
    e.u8(0x20).u8(0).u8(0).lp(b"\x00\x00\x00")  # a short message
    op(e, 1, 0)
    e.u8(0x18).u8(7).u8(1).lp(b"name")  # PORT_NAME from the guest, split
    op(e, 2)
    e.u8(1).u16(4)  # a control buffer too small for PORT_NAME
    seeds["control"] = e.bytes()
    e = start([(0x19, b"x" * 100), (0x08, b"a"), (0x00, b""), (0x0C, b"agent")])
    op(e, 0)
    op(e, 7, 3)
    e.lp(b"pending input").u8(3)
    op(e, 3, 3)
    e.u8(2).u16(8)
    output(e, 3, b"echo me", how=1)
    op(e, 9, 2)
    e.u32(9)
    seeds["four_ports"] = e.bytes()
    return seeds


def net_seeds():
    seeds = {}
    mac = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
    eth = bytes([0xff] * 6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + \
        bytes(range(46))

    def op(e, o):
        step(e, 15)
        e.u8(o)

    def header(e, fields=None):
        if fields is None:
            e.u8(0)
        else:
            e.u8(1).u8(fields[0]).u8(fields[1])
            for f in fields[2:]:
                e.u16(f)

    def frame(e, data=None, big=None):
        if big is not None:
            e.u8(0xF0).u32(big)
        else:
            e.u8(0).lp(data, wide=True)

    def rx_buffers(e, n, lsel, split=False, flags=0):
        op(e, 2 | flags)
        e.u8(n - 1).u8(lsel)
        for _ in range(n):
            e.u8(1 if split else 0)

    # Plain transport: receive and send one frame.
    e = Enc().u8(0)
    guest_init(e, 2, how=8)
    rx_buffers(e, 4, 6)
    op(e, 0 | 0x40)
    frame(e, eth)
    op(e, 1 | 0x10)
    header(e)
    frame(e, eth)
    e.u8(0)
    op(e, 5)
    seeds["plain"] = e.bytes()
    # vnet transport: offload headers, a 64 KiB frame over merged buffers.
    e = Enc().u8(1)
    guest_init(e, 2, how=8)
    rx_buffers(e, 8, 7, split=True)
    op(e, 0 | 0x40)
    header(e, [1, 1, 54, 1448, 34, 16, 0])
    frame(e, big=65000)
    op(e, 1)
    header(e, [1, 4, 54, 1448, 34, 16, 0])
    frame(e, big=20000)
    e.u8(3)
    rx_buffers(e, 8, 7)
    seeds["vnet_tso"] = e.bytes()
    # Without MRG_RXBUF: a frame that does not fit is dropped.
    e = Enc().u8(0)
    guest_init(e, 2, mode=1, mask=~(1 << 15), how=6)
    rx_buffers(e, 2, 6)
    op(e, 0 | 0x40)
    frame(e, big=5000)
    op(e, 0 | 0x40)
    frame(e, eth)
    op(e, 0 | 0x40 | 0x80)  # our own MAC as source: dropped
    frame(e, eth)
    seeds["no_mrg"] = e.bytes()
    # Bounce path (70 pieces), runt, failures, the event loop.
    e = Enc().u8(2)
    guest_init(e, 2, how=8)
    op(e, 1)
    header(e)
    frame(e, eth * 3)
    e.u8(69)
    op(e, 1 | 0x80)
    header(e)
    frame(e, eth)
    e.u8(10).u8(0)
    op(e, 3)
    e.u8(3)
    op(e, 0)
    frame(e, eth)
    op(e, 4)
    op(e, 3)
    e.u8(0)
    rx_buffers(e, 2, 5)
    seeds["errors_loop"] = e.bytes()
    _ = mac
    return seeds


# --------------------------------------------------------------------- uart

def uart_seeds():
    seeds = {}

    def w(e, off, v):
        e.u8(0).u8(off).u8(v)

    def r(e, off):
        e.u8(1).u8(off)

    def probe(e):
        for off, v in ((3, 0x80), (0, 0x01), (1, 0x00), (3, 0x03),
                       (2, 0xC7), (4, 0x0B), (1, 0x0F)):
            w(e, off, v)
        for off in (2, 5, 6, 2):
            r(e, off)

    e = Enc().u8(0)
    probe(e)
    for c in b"hello\n":
        w(e, 0, c)
    e.u8(3).lp(b"abc")
    for _ in range(4):
        r(e, 0)
    r(e, 5)
    seeds["probe"] = e.bytes()
    # A host side that stops taking, a burst past the buffer, then room.
    e = Enc().u8(0)
    probe(e)
    e.u8(6).u8(1).u8(1).u8(0)  # takes: [0]
    for i in range(17):  # 17 x 299 bytes: past the 4 KiB transmit buffer
        e.u8(9).u16(299).u8(0x41 + i)
    r(e, 5)
    e.u8(6).u8(0)  # takes everything
    e.u8(5)
    r(e, 2)
    seeds["backpressure"] = e.bytes()
    # Loopback: transmitted bytes come back, the FIFO overruns.
    e = Enc().u8(0)
    probe(e)
    w(e, 4, 0x1F)
    for c in range(20):
        w(e, 0, c)
    r(e, 5)
    r(e, 0)
    r(e, 6)
    w(e, 2, 0x00)  # FIFOs off
    w(e, 0, 1)
    w(e, 0, 2)
    r(e, 5)
    seeds["loopback"] = e.bytes()
    # Observer, break + key, room callback, wide accesses.
    e = Enc().u8(0)
    probe(e)
    e.u8(7).u8(1)
    e.u8(4).u8(ord("h"))
    r(e, 5)
    r(e, 0)
    r(e, 0)
    e.u8(8).lp(b"more").u8(2)
    e.u8(3).lp(b"x" * 20)
    e.u8(2).u8(0).u8(1).u64(0x0102030405060708).u8(1)  # 4-byte write at 0
    e.u8(2).u8(4).u8(2).u64(0).u8(0)  # 8-byte read at 4
    for _ in range(17):
        r(e, 0)
    e.u8(9).u16(40).u8(ord("a"))
    seeds["observer_break"] = e.bytes()
    # The hard limit: a reader that never reads.
    e = Enc().u8(0)
    probe(e)
    e.u8(6).u8(1).u8(1).u8(0)
    e.u8(9).u16(0xBEEF).u16(4096).u8(0)  # 64 KiB + 4 KiB
    r(e, 5)
    e.u8(5)
    seeds["hard_limit"] = e.bytes()
    # No output sink at all.
    e = Enc().u8(1)
    probe(e)
    for c in b"discarded":
        w(e, 0, c)
    seeds["no_sink"] = e.bytes()
    return seeds


# ------------------------------------------------------------------ mconsole

def mc_request(command, version=2, magic=0xCAFEBABE, length=None):
    body = command.encode() if isinstance(command, str) else command
    pkt = struct.pack("<III", magic, version,
                      len(body) if length is None else length)
    return (pkt + body[:512]).ljust(12 + 512, b"\0")


def mconsole_wire_seeds():
    seeds = {}
    commands = ["version", "help", "config ubd1=/srv/hot.img", "config ubd0",
                "config ubd1", "remove ubd1", "remove ubd0", "remove ubdz",
                "stop", "stop", "version", "go", "go", "sysrq s", "sysrq",
                "sysrq b", "proc uptime", "proc big", "proc nothing",
                "stack 1", "stack 0x2", "stack", "log hello world", "cad",
                "config con0", "config con1=pts", "config eth0",
                "config eth0=tuntap,tap0", "remove eth 5", "remove ssl70",
                "remove mem", "config mem=128M", "halt", "reboot",
                "versionXYZ", "vers", "  config   ubd1"]
    # In inputs of at most 14 datagrams (7.4 KB: -max_len is 8192).
    for i in range(0, len(commands), 14):
        e = Enc().u8(0)
        for c in commands[i:i + 14]:
            e.lp(mc_request(c), wide=True)
        seeds[f"legacy_commands{i // 14}"] = e.bytes()
    e = Enc().u8(0)
    e.lp(b"hello", wide=True)  # version 0 client
    e.lp(mc_request("version", version=1), wide=True)
    e.lp(mc_request("version")[:8], wide=True)  # truncated header
    e.lp(mc_request("version", length=512), wide=True)  # too large
    e.lp(mc_request("version", length=100)[:50], wide=True)  # truncated
    e.lp(mc_request(b"go\0stop"), wide=True)
    seeds["bad_datagrams"] = e.bytes()
    e = Enc().u8(1)
    for c in ("proc huge", "help", "x" * 600, "config ubd3=/a,/b", ""):
        e.lp(c.encode(), wide=True)
    seeds["encoded"] = e.bytes()
    e = Enc().u8(2)
    e.lp(struct.pack("<iII", 0, 0, 6) + b"hello\0", wide=True)
    e.lp(struct.pack("<iII", 1, 1, 512) + b"y" * 511 + b"\0", wide=True)
    e.lp(struct.pack("<iII", -16, 0, 600) + b"z" * 10, wide=True)
    e.lp(b"\0" * 11, wide=True)
    seeds["replies"] = e.bytes()
    e = Enc().u8(3)
    e.lp(b"\x00/home/u/.uml/x/mconsole", wide=True)
    e.lp(b"\x01Kernel panic" + b"!" * 600, wide=True)
    seeds["notify"] = e.bytes()
    return seeds


# -------------------------------------------------------------------- agent

def agent_frame(seq, status, text):
    body = status + text
    return struct.pack("<II", len(body), seq) + body


def agent_frames_seeds():
    return {
        "ok": bytes([0]) + agent_frame(1, b"0", b"8.63 7.17\n"),
        "late_and_errors": bytes([3])
        + agent_frame(7, b"0", b"late")
        + agent_frame(1, b"1", b"Failed to open file")
        + agent_frame(2, b"1", b"Couldn't find that pid")
        + agent_frame(4, b"1", b"bind: no such device"),
        "bad_length": bytes([1]) + struct.pack("<II", 0, 1) + b"0"
        + agent_frame(2, b"0", b"after"),
        "huge_length": bytes([0]) + struct.pack("<II", 1 << 20, 1) + b"0abc",
        "truncated": bytes([2]) + agent_frame(1, b"0", b"x" * 100)[:60],
        "empty_text": bytes([1]) + agent_frame(1, b"0", b"")
        + agent_frame(2, b"0", b"second"),
    }


# ------------------------------------------------------------------ cmdline

def cmdline_seeds():
    lines = {
        "basic": ["ubd0=root_fs", "con0=fd:0,fd:1", "mem=128M", "init=/init"],
        "disks": ["ubd0r=cow.img,backing.img", "ubd1sc=disk2.img",
                  "ubdb=other.img", "ubd=sync", "root=/dev/ubda1",
                  "umid=foo", "umid=bar", "uml_dir=/tmp/uml"],
        "net": ["eth0=tuntap,tap0,fe:fd:00:00:00:01,192.168.0.1",
                "eth1=mcast,,239.192.168.1,1102,1",
                "eth2=daemon,,unix,/tmp/uml.ctl", "eth3=slirp",
                "eth4=vde,/tmp/vde.ctl", "eth5=pcap,eth0,tcp,1,0",
                "eth6=ucast,127.0.0.1,1234,127.0.0.1,1235",
                "vec0:transport=tap,ifname=tap0,depth=128",
                "vec1:transport=gre,src=1.2.3.4,dst=5.6.7.8"],
        "lines": ["con=pts", "con1=port:9000", "con2=tty:/dev/tty1",
                  "con3=null", "con4=xterm", "ssl=null", "ssl0=fd:3,fd:4",
                  "ssl1=pty", "ssl-non-raw", "xterm=konsole,-T,-e",
                  "console=ttyS0", "consoleblank=0"],
        "misc": ["kernel=/boot/vmlinux", "initrd=/boot/initrd", "mem=64K",
                 "iomem=foo,/tmp/file", "hostfs=/srv",
                 "mconsole=notify:/tmp/sock", "stderr=1", "debug",
                 "nosysemu", "quiet", "noreboot", "fake_ide", "udb0=x",
                 "virtio_uml.device=/tmp/sock:1", "--", "single", "ubd5=x"],
        "help": ["--help", "ubd0=x"],
        "version": ["mem=1G", "--version"],
        "showconfig": ["--showconfig"],
        "errors": ["ubd0x=foo", "mem=lots", "eth0=bogus", "con99=null"],
    }
    return {k: b"\0".join(a.encode() for a in v) for k, v in lines.items()}


# ----------------------------------------------------------------- manifest

def manifest_seeds():
    return {
        "template": b'''default_restart: ON_FAILURE
default_limits { memory_max: "max" cpu_max: "100000 100000" }
restart_backoff_ms: 500
restart_backoff_max_ms: 8000
guest {
  umid: "web{i}"
  count: 3
  first_index: 1
  cmdline: "kernel=idle.bin mem=16M ubd0=/var/lib/kuml/{umid}.img"
  prepare { path: "/var/lib/kuml/{umid}.img" copy_of: "/srv/base.img" }
  limits { memory_max: "96M" cpu_max: "50%" }
  ready_pattern: "ready"
  stop_timeout_ms: 3000
  workdir: "/srv/{umid}"
}
guest { umid: "db" arg: "mem=32M" restart: ALWAYS vmm: "/usr/bin/linux" }
''',
        "cow": b'guest { umid: "w{i}" count: 2 cmdline: '
               b'"ubd0=/var/lib/kuml/{umid}.cow,/srv/base.img mem=64M" }\n',
        "errors": b'guest {\n  umid: "a"\n\n  cmdline: "mem=lots"\n}\n'
                  b'guest { umid: "a" }\n',
        "syntax": b'guest {\n  umid: "a"\n  cmdlin: "mem=16M"\n}\n',
        "placeholders": b'guest { umid: "g{i}" count: 2 cmdline: "{bogus}" }\n'
                        b'guest { umid: "h" arg: "uml_dir=/x" arg: "--" '
                        b'arg: "umid=x" vmm: "kuml" }\n',
        "limits": b'50%\nguest { umid: "x" limits { cpu_max: "150%" '
                  b'memory_max: "1G" } }\n',
    }


# --------------------------------------------------------------------- cow

COW_MAGIC = 0x4F4F4F4D


def cow_v3(path, size, mtime, alignment=512, sector=512):
    h = struct.pack(">IIIQII", COW_MAGIC, 3, mtime, size, sector, alignment)
    h += struct.pack(">I", 0) + path.ljust(4096, b"\0")
    assert len(h) == 4128
    bitmap_off = (4128 + alignment - 1) // alignment * alignment
    bitmap_bytes = ((size + sector - 1) // sector + 7) // 8
    data_off = (bitmap_off + bitmap_bytes + alignment - 1) // alignment * alignment
    return h, bitmap_off, bitmap_bytes, data_off


def cow_file(header, bitmap_off, bitmap, data_off, sectors):
    """sectors: {index: 512 bytes} present in the COW file."""
    f = bytearray(header.ljust(bitmap_off, b"\0"))
    bm = bytearray(bitmap)
    for s in sectors:
        bm[s // 8] |= 1 << (s % 8)
    f += bm
    end = data_off + 512 * (max(sectors) + 1) if sectors else len(f)
    f = f.ljust(end, b"\0")
    for s, data in sectors.items():
        f[data_off + 512 * s:data_off + 512 * s + 512] = data
    return bytes(f)


def cow_v1(path, size, mtime):
    h = struct.pack("<II", COW_MAGIC, 1) + path.ljust(256, b"\0")
    h += struct.pack("<IQI", mtime, size, 512)
    assert len(h) == 280
    bitmap_bytes = (size + 511) // (8 * 512)
    data_off = (280 + bitmap_bytes + 511) // 512 * 512
    return h, 280, bitmap_bytes, data_off


def cow_v2(path, size, mtime):
    h = struct.pack(">II", COW_MAGIC, 2) + path.ljust(4096, b"\0")
    h += struct.pack(">IQI", mtime, size, 512)
    assert len(h) == 4120
    bitmap_bytes = (size + 511) // (8 * 512)
    data_off = (4120 + bitmap_bytes + 511) // 512 * 512
    return h, 4120, bitmap_bytes, data_off


def cow_input(f1, f2, backing, cow, ops, bmtime=1234567, omtime=7654321):
    e = Enc().u8(f1).u8(f2).u32(bmtime).u32(omtime)
    e.lp(backing, wide=True).lp(cow, wide=True)
    e.u8(len(ops))
    for op in ops:
        e.raw(op)
    return e.bytes()


def cow_op(kind, sector, nsec, fill=None):
    e = Enc().u8(kind).u8(0).u8(sector).u8(nsec)
    if kind % 5 == 2:
        e.u8(fill)
    return e.bytes()


def cow_disk_seeds():
    seeds = {}
    size = 64 * 1024
    mtime = 1234567
    backing = bytes((i * 7) & 0xFF for i in range(2048))
    h, bo, bb, do = cow_v3(b"@B", size, mtime)
    present = {0: b"C" * 512, 3: b"D" * 512}
    cow = cow_file(h, bo, bytes(bb), do, present)
    ops = [cow_op(0, 0, 8), cow_op(2, 1, 2, 0x55), cow_op(1, 0, 4),
           cow_op(3, 0, 0), cow_op(4, 8, 8), cow_op(2, 100, 1, 0x66),
           cow_op(0, 120, 8), cow_op(2, 127, 2, 1)]
    # OpenUbd with the backing file named, header naming it: merge after.
    seeds["ubd_cow"] = cow_input(0x80, 0x06, backing, cow, ops)
    # Sniffed (no backing on the command line), write-through, shared.
    seeds["ubd_sniff"] = cow_input(0x01 | 0x08 | 0x20 | 0x80, 0x06, backing,
                                   cow, ops)
    # Header naming another file; the requested backing matches: a switch
    # that rewrites the v3 header (OpenCowDisk, mode 3).
    h2, _, _, _ = cow_v3(b"@O", size, mtime)
    cow2 = cow_file(h2, bo, bytes(bb), do, present)
    seeds["switch"] = cow_input(0x03 | 0x80, 0x06, backing, cow2, ops)
    # A header naming a file outside: only ever opened forced (mode 2).
    h3, _, _, _ = cow_v3(b"/nonexistent/base.img", size, mtime)
    seeds["forced"] = cow_input(0x02 | 0x80, 0x02 | 0x01, backing,
                                cow_file(h3, bo, bytes(bb), do, present), ops)
    # v1 and v2 headers: no bits for the last sectors % 8.
    for name, maker in (("v1", cow_v1), ("v2", cow_v2)):
        hs, bos, bbs, dos = maker(b"@B", size + 3 * 512, mtime)
        c = cow_file(hs, bos, bytes(bbs), dos, {1: b"E" * 512})
        seeds[name] = cow_input(0x80, 0x06, backing, c,
                                ops + [cow_op(2, 129, 2, 9)])
    # A raw image (no magic): RawFileBackend, discard on.
    seeds["raw"] = cow_input(0x01, 0x00, b"", bytes(range(256)) * 16,
                             [cow_op(0, 0, 8), cow_op(2, 2, 1, 3),
                              cow_op(4, 0, 1), cow_op(0, 0, 2)])
    # No COW file yet: OpenUbd creates it over the backing file.
    seeds["create"] = cow_input(0x40 | 0x80, 0x00, backing, b"", ops)
    # In-place merge (uml_moo -d) with the backing file forced.
    seeds["in_place"] = cow_input(0x80, 0x80 | 0x06 | 0x01, backing, cow, ops)
    # A header naming the COW file itself; read-only; missing backing.
    h4, _, _, _ = cow_v3(b"@C", size, mtime)
    seeds["itself"] = cow_input(0x03, 0x02, backing,
                                cow_file(h4, bo, bytes(bb), do, {}), ops,
                                bmtime=42)
    h5, _, _, _ = cow_v3(b"@M", size, mtime)
    seeds["missing"] = cow_input(0x01, 0x06, backing,
                                 cow_file(h5, bo, bytes(bb), do, {}), ops)
    seeds["read_only"] = cow_input(0x04 | 0x80, 0x06, backing, cow, ops)
    # Header only: too short for its bitmap.
    seeds["short"] = cow_input(0x00, 0x06, backing, h[:4128], ops)
    return seeds


TARGETS = {
    "virtqueue": virtqueue_seeds,
    "mmio_blk": mmio_blk_seeds,
    "virtio_console": console_seeds,
    "virtio_net": net_seeds,
    "uart": uart_seeds,
    "mconsole_wire": mconsole_wire_seeds,
    "agent_frames": agent_frames_seeds,
    "cmdline": cmdline_seeds,
    "manifest": manifest_seeds,
    "cow_disk": cow_disk_seeds,
}


def main(argv):
    names = argv[1:] or sorted(TARGETS)
    for name in names:
        if name not in TARGETS:
            print(f"unknown target {name}; targets: {' '.join(TARGETS)}")
            return 2
        out = os.path.join(HERE, "corpus", name)
        os.makedirs(out, exist_ok=True)
        for f in os.listdir(out):
            if f.startswith("seed_"):
                os.unlink(os.path.join(out, f))
        seeds = TARGETS[name]()
        for key, data in sorted(seeds.items()):
            with open(os.path.join(out, f"seed_{key}"), "wb") as fh:
                fh.write(data)
        print(f"{name}: {len(seeds)} seeds in {os.path.relpath(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
