#!/usr/bin/env python3
"""Writes the seed corpus of gdb_packet_fuzzer into corpus/ (its directory).

Each seed is one control byte (bit 7: resumes run until Ctrl-C; bit 6: the
target lacks read watchpoints; bits 0-5: chunk size - 1) and the bytes a
debugger sends: real gdb 13 sessions and the corner cases of the protocol.
Run: python3 devices/gdb/fuzz/make_seeds.py
"""
import hashlib
import os

TEXT = 0xffffffff81000000
DATA = 0xffffc90000000000


def pkt(payload):
    if isinstance(payload, str):
        payload = payload.encode("latin-1")
    out = bytearray()
    for b in payload:
        if b in b"$#}*":
            out += bytes([ord("}"), b ^ 0x20])
        else:
            out.append(b)
    return b"$" + bytes(out) + b"#%02x" % (sum(out) & 0xff)


def raw(payload, checksum=None):
    """A packet whose data is sent as it is (no escaping)."""
    if isinstance(payload, str):
        payload = payload.encode("latin-1")
    cs = sum(payload) & 0xff if checksum is None else checksum
    return b"$" + payload + b"#%02x" % cs


def session(*packets, ack=True):
    out = b""
    for p in packets:
        out += (b"+" if ack else b"") + (pkt(p) if isinstance(p, str) else p)
    return out


HANDSHAKE = [
    "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;"
    "vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;"
    "memory-tagging+",
    "vMustReplyEmpty", "QStartNoAckMode",
]
AFTER_NOACK = [
    "Hgp0.0", "qXfer:features:read:target.xml:0,ffb",
    "qXfer:features:read:target.xml:ffb,ffb", "qTStatus", "?",
    "qXfer:threads:read::0,ffb", "qfThreadInfo", "qsThreadInfo", "qAttached",
    "Hc-1", "qC", "qOffsets", "g", "qSymbol::",
    "m%x,40" % (TEXT + 0x100), "qThreadExtraInfo,1", "qThreadExtraInfo,2",
]

G_DATA = "00" * 608

SEEDS = {
    "handshake": (0x3f, session(*HANDSHAKE) + session(*AFTER_NOACK, "D",
                                                      ack=False)),
    "handshake_small_chunks": (0x00, session(*HANDSHAKE[:2], "?", "g", "D")),
    "registers": (0x07, session("g", "G" + G_DATA, "p10", "P10=%016x" % 1,
                                "p3e", "P3e=0010000000000000", "p42",
                                "P0=1234", "Hg2", "g", "Hg0", "Hg-1", "p0")),
    "memory": (0x11, session("m%x,10" % TEXT, "m%x,8" % DATA,
                             "M%x,4:deadbeef" % DATA,
                             "X%x,0:" % DATA,
                             b"X%x,4:" % DATA + b"#$}*",
                             "m0,4", "m%x,ffff" % DATA, "m800000000000,4",
                             "M%x,2:eeee" % (DATA + 0x1fff))),
    "breakpoints": (0x1f, session("Z0,%x,1" % (TEXT + 0x40),
                                  "Z1,%x,1" % (TEXT + 0x80),
                                  "Z2,%x,8" % DATA, "Z3,%x,4" % DATA,
                                  "Z4,%x,1" % DATA, "z0,%x,1" % (TEXT + 0x40),
                                  "z3,%x,4" % DATA, "z0,1234,1", "Z5,0,0",
                                  "Z0,%x,1;X2,0a01" % TEXT)),
    "no_read_watch": (0x5f, session("Z3,%x,4" % DATA, "z3,%x,4" % DATA)),
    "resume_stop": (0x3f, session("qSupported:swbreak+;hwbreak+", "vCont?",
                                  "vCont;c", "?", "vCont;s:1;c", "vCont;c:2",
                                  "c", "s", "Hc2", "s", "C05",
                                  "s%x" % (TEXT + 0x44),
                                  "C00;%x" % (TEXT + 0x48), "vCont;t",
                                  "vCont;c:7", "vCont;x", "g")),
    "resume_ctrl_c": (0xbf, session("vCont;c") + b"\x03" +
                      session("g", "c") + b"\x03\x03" + session("qC")),
    "running_packets": (0x80, session("vCont;c", "g", "m0,4") + b"\x03"),
    "threads": (0x3f, session("T1", "T3", "T4", "T0", "Tx", "Hg3", "Hc0",
                              "Hx1", "H", "qC", "qfThreadInfo")),
    "kill_then_more": (0x3f, session("k", "qSupported", "?", "D", "g")),
    "exit": (0x3f, session("c", "c", "c", "c", "c", "?")),
    "framing": (0x03, b"garbage+++\r\n" + raw("g", 0) + b"-" + raw("g") +
                b"$m10$qC#" + b"%02x" % (sum(b"qC") & 0xff) +
                raw(b"0* x*!y*\x1d") + raw(b"*a") + raw(b"a}") +
                raw(b"a*\x01") + raw(b"X%x,3:}\x03}\x04\x03" % DATA) +
                b"\x03" + raw("g", 0x100 - 1)[:-2] + b"zz"),
    "noack_bad_checksums": (0x3f, session("QStartNoAckMode") +
                            raw("qC", 0) + raw("g", 1) + b"-" + raw("?", 2)),
    "long_packet": (0x3f, pkt("m%x,4000" % TEXT) + pkt("X%x,800:" % DATA +
                                                       "\x7d" * 0x800)),
    "xfer": (0x3f, session("qXfer:features:read:target.xml:0,10",
                           "qXfer:features:read:target.xml:ffffff,10",
                           "qXfer:features:read:other.xml:0,10",
                           "qXfer:features:read:target.xml:zz")),
    "detach_fail_path": (0x3f, session("D;1", "g")),
}


def main():
    here = os.path.dirname(os.path.realpath(__file__))
    corpus = os.path.join(here, "corpus")
    os.makedirs(corpus, exist_ok=True)
    for name, (control, data) in sorted(SEEDS.items()):
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(bytes([control]) + data)
    print(f"{len(SEEDS)} seeds in {corpus}")


if __name__ == "__main__":
    main()
