#!/usr/bin/env python3
"""export-sqlite-hostile.py HOSTILE_GEN RAVTRACE WORKDIR [REPLAY_BENCH] - `ravtrace export
--format=sqlite` on hostile traces: proportionate, bounded, never a hang.

- snap-lost-many (a page at index 2^24-1, then 100,000 LOST events): each LOST
  ended the lives of every page index up to the highest one seen, 2^24 of
  them, 100,000 times over (hours; killed by the timeout), with a flat table
  of 2^24 page entries (256 MB).  Now the export is one life, "lost".
- marks-huge (distinct 64 KiB mark texts): each text was stored twice (events
  and marks), 792 MB for the full 600 KB trace.  Now once: the database is about
  the texts' size, and event_list still shows them.
- --max-size: an export that would exceed it stops with a message saying
  so (and how big the whole would be), and leaves no file; a bad value is a
  usage error.
- The cell records (a record per live cell) are charged against the
  trace's memory limit: a uniform-churn trace of replay-bench (REPLAY_BENCH,
  1M events, 100,000 live cells, records of about 5 MB) under
  RAVTRACE_MEMORY_MB=3, which opens it (its replayed heap is packed
  tighter than the records), stops with the error naming the limit and
  RAVTRACE_MEMORY_MB, and leaves no file.  (At 2 the open trace stops
  first, at 5 the contention table: if a change to what the open trace
  charges moves that window, this says which structure stopped it.)  Not
  under the wrapper (memcheck): 750,000 events before the limit.

Every class goes through the export and the queries in hostile.py (the
`sqlite` command there); this test checks the two classes' sizes and
--max-size.

RAV_TEST_SMALL=1 or RAV_TEST_WRAPPER (memcheck) use the generators' small
traces (marks-huge always).
"""
import os
import shlex
import sqlite3
import subprocess
import sys

GEN, RAVTRACE, WORKDIR = sys.argv[1:4]
REPLAY_BENCH = sys.argv[4] if len(sys.argv) > 4 else None
WRAPPER = shlex.split(os.environ.get("RAV_TEST_WRAPPER", ""))
small = bool(WRAPPER) or os.environ.get("RAV_TEST_SMALL") == "1"
os.makedirs(WORKDIR, exist_ok=True)
failures = []


def fail(msg):
    failures.append(msg)


def gen(name, small=small):
    args = [GEN] + (["--small"] if small else []) + [WORKDIR, name]
    subprocess.run(args, check=True, capture_output=True)
    return os.path.join(WORKDIR, name + ".ravtrace")


def export(trace, db, *extra, env=None):
    if os.path.exists(db):
        os.remove(db)
    e = dict(os.environ, **(env or {}))
    return subprocess.run(WRAPPER + [RAVTRACE, "export", "--format=sqlite", "-o", db, *extra, trace],
                          capture_output=True, text=True, env=e)


# snap-lost-many: finishes (the meson timeout is the hang guard), one life.
trace = gen("snap-lost-many")
db = os.path.join(WORKDIR, "snap-lost-many.db")
p = export(trace, db)
if p.returncode != 0:
    fail("snap-lost-many: exit %d: %s" % (p.returncode, p.stderr.strip()))
else:
    c = sqlite3.connect(db)
    lives = c.execute("SELECT end_kind, count(*) FROM cells GROUP BY 1").fetchall()
    if lives != [("lost", 1)]:
        fail("snap-lost-many: cells %r, expected one life ended by the first LOST" % lives)
    c.close()
    size = os.path.getsize(db)
    print("# snap-lost-many: %d bytes of trace, %d bytes of database" % (os.path.getsize(trace), size))

# marks-huge: every text once (its small trace, 120 texts: the full one
# writes 390 MB).
trace = gen("marks-huge", small=True)
db = os.path.join(WORKDIR, "marks-huge.db")
big = {"RAVTRACE_MEMORY_MB": "1024"}  # (the reader's own bound refuses the full trace otherwise)
p = export(trace, db, env=big)
if p.returncode != 0:
    fail("marks-huge: exit %d: %s" % (p.returncode, p.stderr.strip()))
else:
    c = sqlite3.connect(db)
    n, text_bytes = c.execute("SELECT count(*), sum(length(text)) FROM marks").fetchone()
    doubled = c.execute("SELECT count(*) FROM events e JOIN kinds k ON k.id = e.kind"
                        " WHERE k.name = 'mark' AND e.text IS NOT NULL").fetchone()[0]
    shown = c.execute("SELECT count(*) FROM event_list e JOIN marks m ON m.event = e.idx"
                      " WHERE e.text = m.text").fetchone()[0]
    c.close()
    size = os.path.getsize(db)
    print("# marks-huge: %d marks, %d bytes of text, %d bytes of database" % (n, text_bytes, size))
    if doubled:
        fail("marks-huge: %d mark texts stored in events.text as well as in marks" % doubled)
    if shown != n:
        fail("marks-huge: event_list shows the text of %d of %d marks" % (shown, n))
    if size > text_bytes * 1.25 + (4 << 20):
        fail("marks-huge: %d bytes of database for %d bytes of text (stored more than once?)"
             % (size, text_bytes))

# --max-size: refused with a reason, no file left; a bad value is a usage error.
p = export(trace, db, "--max-size=1M", env=big)
if p.returncode != 1 or "--max-size" not in p.stderr or "would be larger than 1.0 MiB" not in p.stderr:
    fail("--max-size=1M: exit %d, %r; expected 1 and a message naming the bound"
         % (p.returncode, p.stderr.strip()))
if os.path.exists(db):
    fail("--max-size=1M: the database was left behind")
leftovers = [f for f in os.listdir(WORKDIR) if ".tmp-" in f]
if leftovers:
    fail("temporary files left: %r" % leftovers)
for bad in ("abc", "0", "-5", "12Q", "99999999999T"):
    p = export(trace, db, "--max-size=" + bad)
    if p.returncode != 2 or "--max-size" not in p.stderr:
        fail("--max-size=%s: exit %d, %r; expected a usage error" % (bad, p.returncode, p.stderr.strip()))
p = export(trace, db, "--max-size=unlimited", env=big)
if p.returncode != 0:
    fail("--max-size=unlimited: exit %d: %s" % (p.returncode, p.stderr.strip()))

# The cell records under the trace's memory limit.
if REPLAY_BENCH and not WRAPPER:
    churn = os.path.join(WORKDIR, "uniform-1m.ravtrace")
    subprocess.run([REPLAY_BENCH, "--generate-only", "--file", churn, "--events", "1000000", "--uniform",
                    "--live", "100000"], check=True, capture_output=True)
    db = os.path.join(WORKDIR, "uniform-1m.db")
    p = export(churn, db, env={"RAVTRACE_MEMORY_MB": "3"})
    if p.returncode != 1 or "following the cells needs more than the trace's memory limit of 3 MiB" \
            not in p.stderr or "RAVTRACE_MEMORY_MB" not in p.stderr:
        fail("cell records over RAVTRACE_MEMORY_MB=3: exit %d, %r; expected 1 and the error of the cell "
             "records naming the limit" % (p.returncode, p.stderr.strip()))
    if os.path.exists(db) or [f for f in os.listdir(WORKDIR) if ".tmp-" in f]:
        fail("cell records over the limit: a database or temporary file was left")
    print("# cell records over the limit: %s" % p.stderr.strip())
    p = export(churn, db)
    if p.returncode != 0:
        fail("uniform-1m with the default limit: exit %d: %s" % (p.returncode, p.stderr.strip()))

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
