#!/usr/bin/env python3
"""dump-ops-threads.py REPLAY_BENCH RAVTRACE WORKDIR - `ravtrace dump --ops`
on a trace whose threads interleave (replay-bench's generator: 120 threads,
their events mixed in the global order).

Each operation is listed once (the old list of the 64 threads seen last
printed an operation again when more than 64 other threads came between
two of its events); a thread's operations follow each other without
overlapping; `--thread=N` lists that thread's lines of the whole list; and
every event of the trace lies in one listed operation of its thread.
Before operations were found along their thread's own runs, the walk read
every other thread's events in between (minutes on such traces).

RAV_TEST_WRAPPER (memcheck) runs ravtrace under it on a smaller trace."""
import os
import re
import shlex
import subprocess
import sys

BENCH, RAVTRACE, WORK = sys.argv[1:4]
WRAPPER = shlex.split(os.environ.get("RAV_TEST_WRAPPER", ""))
SMALL = bool(WRAPPER) or bool(os.environ.get("RAV_TEST_SMALL"))
EVENTS, THREADS = (20000, 80) if SMALL else (200000, 120)
os.makedirs(WORK, exist_ok=True)
trace = os.path.join(WORK, "interleaved.ravtrace")
subprocess.run([BENCH, "--events", str(EVENTS), "--threads", str(THREADS), "--file", trace,
                "--keep", "--generate-only"], check=True, stdout=subprocess.DEVNULL)

LINE = re.compile(r"^\s*(\d+)\.\.(\d+)\s+\S+\s+(\d+)\S*\s+(\S+)")


def ops(*args):
    p = subprocess.run(WRAPPER + [RAVTRACE, "dump", "--ops", *args, trace], capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        sys.exit(f"dump --ops {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    out = []
    for line in p.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            sys.exit(f"dump --ops {' '.join(args)}: a line not FIRST..LAST TIME THREAD KIND: {line!r}")
        out.append((int(m[1]), int(m[2]), int(m[3]), line))
    return out


every = ops()
keys = [(a, b, th) for a, b, th, _ in every]
dups = {k for k in keys if keys.count(k) > 1} if len(keys) < 5000 else None
if dups is None:
    seen, dups = set(), set()
    for k in keys:
        (dups if k in seen else seen).add(k)
assert not dups, f"operations listed more than once: {sorted(dups)[:5]}"
by_thread = {}
for a, b, th, line in every:
    assert a <= b, line
    by_thread.setdefault(th, []).append((a, b, line))
assert len(by_thread) >= THREADS, f"{len(by_thread)} threads have operations, not {THREADS}"
for th, lst in by_thread.items():
    for (a0, b0, l0), (a1, b1, l1) in zip(lst, lst[1:]):
        assert b0 < a1, f"thread {th}: operations overlap or go back:\n{l0}\n{l1}"

# every event in one operation of its thread
p = subprocess.run([RAVTRACE, "dump", trace], capture_output=True, text=True, timeout=600, check=True)
owner = {}
for line in p.stdout.splitlines():
    f = line.split()
    owner[int(f[0])] = int(f[2].split(":")[0])
assert len(owner) >= EVENTS, f"dump listed {len(owner)} events"
for th, lst in by_thread.items():
    for a, b, line in lst:
        assert owner[a] == th and owner[b] == th, f"an operation's ends are not thread {th}'s:\n{line}"
covered = {}
for th, lst in by_thread.items():
    for a, b, _ in lst:
        covered.setdefault(th, []).append((a, b))
for th in covered:
    covered[th].sort()
import bisect
starts = {th: [a for a, _ in v] for th, v in covered.items()}
for i, th in owner.items():
    k = bisect.bisect_right(starts.get(th, []), i) - 1
    assert k >= 0 and covered[th][k][0] <= i <= covered[th][k][1], f"event {i} of thread {th} in no operation"

# one thread alone: its lines of the whole list
for th in sorted(by_thread)[:: max(1, len(by_thread) // 4)]:
    alone = ops(f"--thread={th}")
    assert [l for *_, l in alone] == [l for *_, l in by_thread[th]], f"--thread={th} differs from its lines"
print(f"ok: {len(every)} operations of {len(by_thread)} threads, each once, every event in one")
