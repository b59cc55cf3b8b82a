#!/usr/bin/env python3
"""make-listen-seeds.py DIR - seeds of fuzz-listen (see fuzz-listen.c for
the input's language): the conversations ravtrace and ravscope have with a
program, and a few broken ones."""
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus-listen')
os.makedirs(out, exist_ok=True)


def msg(t, payload=b''):
    return bytes([1, t]) + struct.pack('<H', len(payload)) + payload


def raw(b):
    return bytes([0, len(b)]) + b


WAIT = b'\x02'
SLEEP = b'\x04'
HANGUP = b'\x03'


def burst(n):
    # the program makes (n+1)*1024 rounds of work at once
    return bytes([5, n])


def attach(mode=0, queue=0, stats=0):
    return msg(1, struct.pack('<HHIII', 1, mode, queue, stats, 0))


def brk(id, what, flags=0, thread=0, count=0, arg=0, arg2=0, text=b''):
    return msg(19, struct.pack('<IHHIIQQ', id, what, flags, thread, count, arg, arg2) + text)


seeds = {
    'info': msg(2),
    'info-payload': msg(2, b'x'),
    'attach-detach': attach() + WAIT + msg(4) + WAIT + msg(3) + WAIT,
    # in one write: the DETACH came with the ATTACH (attach-pipelined)
    'attach-detach-pipelined': attach() + msg(3) + WAIT * 3,
    'attach-lossless-stats': attach(1, 256, 10) + WAIT * 3 + msg(3),
    'attach-stats-only': attach(4, 0, 1) + WAIT + msg(16) + WAIT,
    'attach-access': attach(2) + WAIT + HANGUP,
    # the smallest queue and a client that does not read
    'attach-behind': attach(2, 256, 100) + SLEEP * 12 + WAIT * 3 + SLEEP * 12 + WAIT * 3 + msg(3),
    # ... while the program makes more than the socket and the queue hold:
    # events lost, then (the client reading again) a resynchronisation
    'attach-burst': attach(0, 256, 0) + WAIT + burst(31) + SLEEP * 4 + WAIT * 10 + msg(3) + WAIT,
    # lossless: the program waits for the client instead
    'attach-burst-lossless': attach(1, 256, 0) + WAIT + burst(31) + SLEEP * 4 + WAIT * 10 + msg(3),
    'attach-bad-proto': msg(1, struct.pack('<HHIII', 2, 0, 0, 0, 0)),
    'attach-bad-fields': msg(1, struct.pack('<HHIII', 1, 8, 5, 7200000, 1)),
    'detach-first': msg(3),
    'unknown-type': msg(9) + msg(1, b'short'),
    'bad-magic': raw(b'GET / HTTP/1.0\r\n\r\n'),
    'partial': raw(struct.pack('<IHH', 0x4C544352, 1, 0)),
    'flags': raw(struct.pack('<IHHII', 0x4C544352, 1, 1, 0, 0)),
    'too-long': msg(1, b'\0' * 1025),
    'pause-step-continue': attach() + WAIT + msg(16) + WAIT + msg(18, struct.pack('<II', 1, 1)) + WAIT +
    msg(18, struct.pack('<II', 1, 2)) + msg(17) + WAIT + msg(3),
    'break-mark': attach() + WAIT + brk(1, 5, text=b'fuzz') + WAIT + msg(17) + WAIT + msg(20, struct.pack('<I', 1)),
    'break-alloc-stopall': attach() + WAIT + brk(2, 2, flags=32, count=3) + WAIT * 2 + msg(17) + msg(3),
    'break-kind-aux': attach() + WAIT + brk(3, 4, flags=16, arg=5, arg2=1) + WAIT + msg(20, b'\0' * 4),
    'break-cell': attach() + WAIT + brk(4, 1, flags=15, arg=(1 << 32) | 1) + WAIT * 2 + msg(17),
    'break-site': attach() + WAIT + brk(5, 2, flags=64, text=struct.pack('<QQ', 0x1000, 0x7fffffffffff)) + WAIT +
    msg(17),
    'break-any-thread': attach() + WAIT + brk(6, 7, thread=2) + WAIT + msg(18, struct.pack('<II', 2, 1)) + WAIT,
    'break-bad': attach() + WAIT + brk(0, 2) + brk(7, 9) + brk(8, 2, flags=128) + brk(9, 1, flags=64) +
    brk(10, 5, text=b'a\0b') + brk(11, 6, arg=999) + msg(20, struct.pack('<I', 77)) + WAIT,
    'second-attach': attach() + WAIT + attach() + msg(2) + WAIT + msg(3),
    'attach-then-garbage': attach() + WAIT + raw(b'\x52\x43\x54\x4c' + b'\xff' * 12),
    'attach-then-partial': attach() + WAIT + raw(struct.pack('<IHH', 0x4C544352, 4, 0)) + WAIT,
}
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(len(seeds), 'seeds in', out)
