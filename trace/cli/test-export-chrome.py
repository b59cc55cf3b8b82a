#!/usr/bin/env python3
"""test-export-chrome.py RAVTRACE TRACE WORKDIR - `ravtrace export --format=chrome`:
its size bound (--max-size) and its range of events (--from/--to).

- The whole export (--max-size=unlimited) is JSON with one instant event per
  event of the kinds kept; the default bound lets a small trace through.
- A bound below what the events alone take is refused before anything is
  written: exit 1, nothing on standard output, no file, a message naming
  --max-size, --from/--to and --kind.
- A bound just below the whole export's size, above that lower bound, stops
  the export while it writes: to a file, no file is left (nor its temporary);
  to standard output, no more than the bound is written and the message says
  the JSON is incomplete.
- A bound equal to the whole export's size lets it through, byte for byte
  the same output.
- --from/--to keep exactly the events with index in [from, to); they are
  refused for sqlite; a bad --max-size is a usage error.

Programs run under $RAV_TEST_WRAPPER when set (the valgrindscripts setup).
"""
import json
import os
import shlex
import subprocess
import sys

RAVTRACE, TRACE, WORKDIR = sys.argv[1:4]
WRAPPER = shlex.split(os.environ.get("RAV_TEST_WRAPPER", ""))
failures = []


def fail(msg):
    failures.append(msg)


def export(*args):
    p = subprocess.run(WRAPPER + [RAVTRACE, "export", "--format=chrome", *args, TRACE],
                       capture_output=True)
    p.err = p.stderr.decode("utf-8", "replace")
    return p


os.makedirs(WORKDIR, exist_ok=True)
out = os.path.join(WORKDIR, "chrome-%d.json" % os.getpid())


def leftovers():
    base = os.path.basename(out)
    return [n for n in os.listdir(WORKDIR) if n.startswith(base)]


# The whole export, unbounded, and with the default bound: the same.
whole = export("--max-size=unlimited")
if whole.returncode != 0:
    sys.exit("export --max-size=unlimited: exit %d: %s" % (whole.returncode, whole.err))
doc = json.loads(whole.stdout)
instants = [e for e in doc["traceEvents"] if e.get("ph") == "i"]
if not instants:
    sys.exit("the whole export has no instant events")
default = export()
if default.returncode != 0 or default.stdout != whole.stdout:
    fail("the default bound changed a small trace's export: exit %d, %s" % (default.returncode, default.err))
size = len(whole.stdout)

# Refused before writing: every event takes some 90 bytes at least.
for dest in ([], ["-o", out]):
    p = export("--max-size=1K", *dest)
    if p.returncode != 1 or p.stdout:
        fail("--max-size=1K %s: exit %d, %d bytes out; expected 1 and nothing" % (dest, p.returncode, len(p.stdout)))
    for word in ("--max-size", "--from", "--to", "--kind", "nothing written", "larger than"):
        if word not in p.err:
            fail("--max-size=1K %s: the message lacks %r: %r" % (dest, word, p.err))
    if leftovers():
        fail("--max-size=1K -o: left %s" % leftovers())

# Stopped while writing: one byte short of the whole.
short = "--max-size=%d" % (size - 1)
p = export(short)
if p.returncode != 1 or len(p.stdout) > size - 1 or "incomplete JSON" not in p.err or "--max-size" not in p.err:
    fail("%s to standard output: exit %d, %d bytes; expected 1, at most %d bytes, a message: %r"
         % (short, p.returncode, len(p.stdout), size - 1, p.err))
elif not whole.stdout.startswith(p.stdout):
    fail("%s to standard output: what was written is not the start of the whole export" % short)
p = export(short, "-o", out)
if p.returncode != 1 or "no file written" not in p.err or leftovers():
    fail("%s -o: exit %d, left %s; expected 1, no file: %r" % (short, p.returncode, leftovers(), p.err))

# Exactly the whole size: written, the same bytes, to a file too.
p = export("--max-size=%d" % size, "-o", out)
if p.returncode != 0:
    fail("--max-size=%d -o: exit %d: %s" % (size, p.returncode, p.err))
else:
    with open(out, "rb") as f:
        if f.read() != whole.stdout:
            fail("--max-size=%d -o wrote other bytes than standard output" % size)
    if leftovers() != [os.path.basename(out)]:
        fail("-o left %s" % leftovers())
    os.unlink(out)

# -o naming something that is not a regular file (here /dev/null) is
# written to, not replaced by a file renamed over it.
p = export("-o", os.devnull)
if p.returncode != 0 or not os.path.exists(os.devnull) or os.path.isfile(os.devnull):
    fail("-o %s: exit %d: %s" % (os.devnull, p.returncode, p.err))
p = export(short, "-o", os.devnull)
if p.returncode != 1 or os.devnull + " got the first" not in p.err:
    fail("%s -o %s: exit %d, expected 1 and a message naming it: %r" % (short, os.devnull, p.returncode, p.err))

# --from/--to: exactly the instant events of the range.
indexes = sorted(e["args"]["event"] for e in instants)
lo, hi = indexes[len(indexes) // 4], indexes[3 * len(indexes) // 4]
p = export("--from=%d" % lo, "--to=%d" % hi)
if p.returncode != 0:
    fail("--from=%d --to=%d: exit %d: %s" % (lo, hi, p.returncode, p.err))
else:
    got = sorted(e["args"]["event"] for e in json.loads(p.stdout)["traceEvents"] if e.get("ph") == "i")
    want = [i for i in indexes if lo <= i < hi]
    if got != want:
        fail("--from=%d --to=%d: events %s..., expected %s..." % (lo, hi, got[:5], want[:5]))
p = export("--from=%d" % (indexes[-1] + 1))
if p.returncode != 0 or any(e.get("ph") == "i" for e in json.loads(p.stdout or b"{}").get("traceEvents", [])):
    fail("--from past the last event: exit %d, expected 0 and no instant events: %s" % (p.returncode, p.err))

# Usage errors.
for args in (["--max-size=0"], ["--max-size=-1"], ["--max-size=2X"], ["--from=5", "--to=5"]):
    p = export(*args)
    if p.returncode != 2:
        fail("%s: exit %d, expected a usage error (2): %s" % (args, p.returncode, p.err))
p = subprocess.run(WRAPPER + [RAVTRACE, "export", "--format=sqlite", "--from=1", "-o", out, TRACE],
                   capture_output=True, text=True)
if p.returncode != 2 or "--format=chrome only" not in p.stderr:
    fail("--format=sqlite --from: exit %d, expected 2 and a message: %r" % (p.returncode, p.stderr))

for f in leftovers():
    os.unlink(os.path.join(WORKDIR, f))
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("export --format=chrome: %d bytes, %d instant events; bounds and ranges as documented" % (size, len(instants)))
