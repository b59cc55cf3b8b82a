#!/usr/bin/env python3
"""hostile-live.py RAVTRACE WORKDIR - a "program" at the other end of the attach socket that is hostile.

`ravtrace list` and `ravtrace attach` talk to whatever listens at
DIR/PID.sock (FORMAT.md section 12.1); the directory keeps other users
out, not other programs of the same user.  This script poses as such a
program (a socket named after its own PID, so that the PID is alive) and
answers every way a broken or malicious program could:

  evil      a valid stream whose command line and SESSION texts hold
            terminal escapes, a newline that fakes a line, bytes that are
            not UTF-8, and whose counters are negative
  evilinfo  the same as an answer to `list` (an INFO record)
  garbage   random bytes instead of a trace header
  silent    accepts and never answers
  flood     endless unknown chunks, never an END, ignoring DETACH
  halfhead  half a trace header, then it hangs up: the client says so at
            once (it peeked for 5 s at what had come, fuzz-attach)
  longtext  texts longer than the client's fields, of two-byte characters:
            cut at a character, not in one (an END's text was cut to 255
            bytes inside an 'é', which is no UTF-8; fuzz-attach)
  longerror the same in a refusal (the message that names the process)
  bighead   a valid header of 12 KB (the format allows 64 KB) before its
            answer: the client takes it (its peek held 8 KB and waited
            5 s for an answer that was past its end)

and checks that the client always ends within its stated time, exits 0
or 1 with a sentence, prints only clean UTF-8 text (no control character
but newlines between its own lines, no line that the program wrote), and
that `list --json` is valid JSON.  No engine is involved: the library-level
attach tests (attach-session.c) are about real programs.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ravtrace, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
failures = []


def fail(msg):
    print('FAIL: ' + msg, flush=True)
    failures.append(msg)


def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def header(cmd):
    size = (128 + len(cmd) + 7) // 8 * 8
    h = bytearray(size)
    struct.pack_into('<8sHHBBHIII', h, 0, b'RAVTRACE', 1, 6, 1, 8, 32, 4096, 128, size)
    struct.pack_into('<QQQQ', h, 32, 1000000000, 0, 1700000000000000000, 0)
    struct.pack_into('<I', h, 64, len(cmd))
    h[128:128 + len(cmd)] = cmd
    struct.pack_into('<I', h, 68, crc32c(bytes(h)))
    return bytes(h)


def chunk(kind, payload):
    f = bytearray(40)
    struct.pack_into('<IHHIIIIQI', f, 0, 0x4B484352, kind, 0, len(payload), len(payload), 0, 0, 0,
                     crc32c(payload))
    struct.pack_into('<I', f, 36, crc32c(bytes(f[:36])))
    return bytes(f) + payload + b'\0' * ((-len(payload)) % 8)


def session(kind, v, text=b''):
    v = list(v) + [0] * (16 - len(v))
    return chunk(4, struct.pack('<HHIQ16q', kind, 0, len(text), 0, *v) + text)


EVIL = b'\x1b]0;pwned\x07\x1b[2J\xff\xfe\xc0\x80"\\\nFAKE LINE \xe2\x82'
EVIL_CMD = b'evil\x1b[31m\xff\0--arg\n\x9b2J'


class Program:
    """A listening "program" serving one mode until stopped."""

    def __init__(self, mode, sockdir):
        self.mode = mode
        self.path = os.path.join(sockdir, '%d.sock' % os.getpid())
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.answer, args=(c,), daemon=True).start()

    def answer(self, c):
        try:
            c.settimeout(20)
            c.recv(4096)
            pid = os.getpid()
            if self.mode == 'garbage':
                c.sendall(bytes((i * 97 + 13) & 0xff for i in range(65536)))
            elif self.mode == 'silent':
                t0 = time.time()
                while not self.stop and time.time() - t0 < 20:
                    time.sleep(0.1)
            elif self.mode == 'flood':
                c.sendall(header(b'flood'))
                c.sendall(session(1, [pid, 0, 0, 0, 0, 1, 0, 1]))
                blob = chunk(99, b'x' * 65536)
                while not self.stop:
                    c.sendall(blob)
                    time.sleep(0.005)
            elif self.mode == 'evil':
                c.sendall(header(EVIL_CMD))
                c.sendall(session(1, [pid, 0, 0, 0, 0, 1, 0, 1]))
                c.sendall(session(2, [-1] * 16))
                c.sendall(session(7, [-1, -1, -1, 1 << 30]))
                c.sendall(session(4, [3], EVIL))
                c.sendall(session(3, [99, -1, -1, -1], EVIL))
            elif self.mode == 'halfhead':
                c.sendall(header(b'half')[:64])
            elif self.mode == 'longtext':
                c.sendall(header(b'long'))
                c.sendall(session(1, [pid, 0, 0, 0, 0, 1, 0, 1]))
                c.sendall(session(3, [4, 0, 0, 0], 'é'.encode() * 200))
            elif self.mode == 'longerror':
                # "process PID: " and the text cut at 511 bytes: an odd
                # number of the text's bytes left, whatever PID's digits
                c.sendall(header(b'long'))
                c.sendall(session(4, [1], (b'x' if len(str(pid)) % 2 else b'') + 'é'.encode() * 300))
            elif self.mode == 'bighead':
                c.sendall(header(b'big ' * 3000))
                c.sendall(session(1, [pid, 0, 0, 0, 0, 1, 0, 1]))
                c.sendall(session(3, [1, 0, 0, 0], b'detached'))
            elif self.mode == 'evilinfo':
                c.sendall(header(EVIL_CMD))
                # (claims to be pid 1: the list must show the pid its socket is named for)
                c.sendall(session(5, [1, os.getuid(), -(1 << 62), -1, -1, -1, 0, 0], EVIL))
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def run(args, env, limit):
    t0 = time.monotonic()
    try:
        p = subprocess.run([ravtrace] + args, capture_output=True, env=env, timeout=limit)
    except subprocess.TimeoutExpired:
        return None, b'', b'', limit
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def clean(what, data):
    """Output is UTF-8 with no control character but newlines and no line the program wrote."""
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        fail(f'{what}: output is not UTF-8 ({e}): {data[:300]!r}')
        return
    bad = [c for c in text if (ord(c) < 32 and c != '\n') or 0x7f <= ord(c) < 0xa0]
    if bad:
        fail(f'{what}: control characters {bad[:5]!r} in the output: {text[:300]!r}')
    if any(line.startswith('FAKE LINE') for line in text.split('\n')):
        fail(f'{what}: a line written by the program: {text[:300]!r}')


def main():
    with tempfile.TemporaryDirectory(dir=work) as xdg:
        os.chmod(xdg, 0o700)
        sockdir = os.path.join(xdg, 'ravioli')
        os.mkdir(sockdir, 0o700)
        # The client's waits for a program (5 s for an answer to ATTACH,
        # 2 s for `list`, 15 s after DETACH) shortened for this test: the
        # silent and flooding programs would otherwise cost their full
        # 22 s of waiting in each step that runs the test.  What is
        # checked stays the same: the client gives up, in time, saying so.
        env = dict(os.environ, XDG_RUNTIME_DIR=xdg, RAV_TEST_ATTACH_WAIT_MS='1500')
        for k in ('RAVIOLI_TRACE', 'RAVIOLI_LISTEN'):
            env.pop(k, None)
        pid = str(os.getpid())
        out = os.path.join(work, 'session.ravtrace')
        # (mode, command, exit statuses allowed, time limit, what stderr or stdout must say)
        cases = [
            ('evil', ['attach', pid, '-o', out, '--seconds=5'], (0,), 30, b'ended the session'),
            ('evil', ['attach', pid, '--stats', '--seconds=5'], (0,), 30, b'ended the session'),
            ('evilinfo', ['list'], (0,), 10, pid.encode()),
            ('evilinfo', ['list', '--json'], (0,), 10, pid.encode()),
            ('garbage', ['attach', pid, '-o', out], (1,), 30, b'did not answer with a trace stream'),
            ('garbage', ['list'], (0,), 10, b''),
            ('silent', ['attach', pid, '-o', out], (1,), 30, b'did not answer'),
            ('silent', ['list', '--json'], (0,), 10, b''),  # (other programs of the user may be listed)
            # ignores DETACH: the client gives up 15 s (here 1.5 s) after detaching
            ('flood', ['attach', pid, '--stats', '--seconds=1'], (0, 1), 40, b'gave up waiting'),
            # (both took 5 s of peeking before the client gave up)
            ('halfhead', ['attach', pid, '-o', out], (1,), 30, b'closed the connection'),
            ('longtext', ['attach', pid, '-o', out, '--seconds=5'], (0,), 30, b'ended the session'),
            ('longerror', ['attach', pid, '-o', out], (1,), 30, b'process ' + pid.encode()),
            ('bighead', ['attach', pid, '-o', out, '--seconds=5'], (0,), 30, b'detached from process'),
        ]
        quick = {'halfhead': 3.5, 'bighead': 3.5}
        for mode, args, codes, limit, says in cases:
            prog = Program(mode, sockdir)
            try:
                rc, so, se, secs = run(args, env, limit)
            finally:
                prog.close()
            what = f'{mode}: ravtrace {" ".join(args)}'
            print(f'{what}: exit {rc}, {secs:.1f} s', flush=True)
            if rc is None:
                fail(f'{what}: still running after {limit} s')
                continue
            if rc not in codes:
                fail(f'{what}: exit {rc}, expected {codes}: {se[-500:]!r}')
            if mode in quick and secs > quick[mode]:
                fail(f'{what}: took {secs:.1f} s (at most {quick[mode]} s: the program hung up at once)')
            if says not in so + se:
                fail(f'{what}: does not say {says!r}: {(so + se)[-500:]!r}')
            clean(what + ' (stdout)', so)
            clean(what + ' (stderr)', se)
            if args[:2] == ['list', '--json']:
                try:
                    doc = json.loads(so.decode('utf-8'))
                except (UnicodeDecodeError, ValueError) as e:
                    fail(f'{what}: not valid JSON ({e}): {so[:300]!r}')
                    continue
                for p in doc:
                    clean(what + ' (command)', p.get('command', '').encode())
                listed = any(p.get('pid') == os.getpid() for p in doc)
                if listed != (mode == 'evilinfo'):
                    fail(f'{what}: this program is {"" if listed else "not "}listed: {so[:300]!r}')
            if os.path.exists(out):
                os.unlink(out)
    if failures:
        print(f'{len(failures)} failure(s)')
        return 1
    print('all hostile programs handled')
    return 0


sys.exit(main())
