#!/usr/bin/env python3
"""test-export-sqlite.py RAVTRACE TRACE WORKDIR [SQL_DOC [DOC...]] - check `ravtrace export
--format=sqlite` against what ravtrace itself says about the same trace.

The database is queried the way a user would, and every answer is compared
with `ravtrace stats --json` and `ravtrace info --json` (computed by
libravtrace's own passes, not by the exporter): event counts per kind and per
thread, threads, types, marks, page hand-offs per pair of threads,
contention totals and the hottest lines, also with another line size.  The
cell lives, which nothing else reports, are checked for consistency with the
events: one life per allocation, each starting where its alloc event put it,
its moves chained from there, and its end at a free or page release of the
place where its last move left it.  Then the command's error handling: a
missing -o, an unwritable destination, a damaged trace, and replacing an
existing file only when the new database is complete.  With SQL_DOC
(docs/sql.md), every table and column must be documented there, and every
```sql example of it and of the other DOCs (README.md) must run.

Programs run under $RAV_TEST_WRAPPER when set (the valgrindscripts setup).
"""
import json
import os
import shlex
import sqlite3
import subprocess
import sys

RAVTRACE, TRACE, WORKDIR = sys.argv[1:4]
SQL_DOC = sys.argv[4] if len(sys.argv) > 4 else None
OTHER_DOCS = sys.argv[5:]
WRAPPER = shlex.split(os.environ.get("RAV_TEST_WRAPPER", ""))
failures = []


def run(*args, expect=0):
    p = subprocess.run(WRAPPER + [RAVTRACE, *args], capture_output=True, text=True)
    if p.returncode != expect:
        failures.append("ravtrace %s: exit %d, expected %d: %s" % (" ".join(args), p.returncode, expect, p.stderr.strip()))
    return p


def check(what, got, want):
    if got != want:
        failures.append("%s: database says %r, ravtrace says %r" % (what, got, want))


# A directory of its own: the tests of several traces run in parallel.
name = os.path.basename(TRACE).replace(".ravtrace", "")
WORKDIR = os.path.join(WORKDIR, name)
os.makedirs(WORKDIR, exist_ok=True)
db_path = os.path.join(WORKDIR, name + ".db")
stats = json.loads(run("stats", "--json", "--top=1000", "--pairs=0", "--threads=0", TRACE).stdout)
info = json.loads(run("info", "--json", "--threads=0", "--types=0", TRACE).stdout)

# An existing file at the destination is replaced by a complete database.
with open(db_path, "w") as f:
    f.write("not a database\n")
run("export", "--format=sqlite", "-o", db_path, TRACE)
db = sqlite3.connect(db_path)
q = lambda sql, *args: db.execute(sql, args).fetchall()
one = lambda sql, *args: db.execute(sql, args).fetchone()[0]
meta = dict(q("SELECT key, value FROM meta"))
kind_id = dict(q("SELECT name, id FROM kinds"))

# Events and kinds.
check("events", one("SELECT count(*) FROM events"), stats["events"])
check("meta.events", meta["events"], stats["events"])
check("events per kind",
      dict(q("SELECT k.name, count(*) FROM events e JOIN kinds k ON k.id = e.kind GROUP BY k.name")),
      stats["kinds"])
check("schema_version", meta["schema_version"], 5)
check("page_size", meta["page_size"], info["page_size"])
check("program", meta["program"], info["program"])

# Threads: per-thread counts as stats computes them.
for t in stats["threads"]:
    row = db.execute(
        "SELECT th.name, count(e.idx), coalesce(sum(k.name = 'alloc'), 0), coalesce(sum(k.name = 'free' AND e.aux != 0), 0),"
        " coalesce(sum(k.name = 'move'), 0), coalesce(sum(k.name = 'fixup'), 0)"
        " FROM threads th LEFT JOIN events e ON e.thread = th.heap LEFT JOIN kinds k ON k.id = e.kind"
        " WHERE th.heap = ?", (t["id"],)).fetchone()
    check("thread %d" % t["id"], list(row),
          [t["name"], t["events"], t["allocs"], t["frees"], t["moves"], t["fixups"]])
check("threads", sorted(r[0] for r in q("SELECT heap FROM threads WHERE kind = 'thread'")),
      sorted(t["id"] for t in info["threads"]))
check("message heaps", one("SELECT count(*) FROM threads WHERE kind = 'message'"), info["message_heaps"])
check("types", [list(r) for r in q("SELECT id, name, f0, f1, f0_name, f1_name FROM types ORDER BY id")],
      [[t["id"], t["name"], t["fields"][0], t["fields"][1], t["field_names"][0], t["field_names"][1]]
       for t in info["types"]])
check("marks", one("SELECT count(*) FROM marks"), info["marks"])
check("marks match their events", one(
    "SELECT count(*) FROM marks m JOIN event_list e ON e.idx = m.event AND e.text = m.text"
    " AND e.kind = 'mark'"), info["marks"])
# (stored once: a trace may carry megabytes of mark texts)
check("mark texts in events", one("SELECT count(*) FROM events WHERE kind = ? AND text IS NOT NULL",
                                  kind_id.get("mark", -1)), 0)

# Page hand-offs between threads (a message's pages count for its builder).
names = dict(q("SELECT heap, coalesce(name, 'heap ' || heap) FROM threads"))
pairs = q("SELECT from_thread, via_message, to_thread, count(*) FROM handoffs GROUP BY 1, 2, 3")
check("hand-off pairs",
      sorted((names[f], bool(m), names[t], n) for f, m, t, n in pairs),
      sorted((p["from"], p["via_message"], p["to"], p["pages"]) for p in stats["handoffs"]["pairs"]))
check("hand-offs", one("SELECT count(*) FROM handoffs"), stats["handoffs"]["pages"])

# Contention: totals, and the lines hottest first.
c = stats["contention"]
for key in ("accesses", "transfers", "invalidations"):
    check("contention " + key, meta["contention_" + key], c[key])
check("lines contended", meta["contention_lines_contended"], c["lines_contended"])
check("lines touched", meta["contention_lines_touched"], c["lines_touched"])
check("contention lines", one("SELECT count(*) FROM contention_lines"), len(c["hottest"]))
rows = q("SELECT rank, line, external, first_page, first_cell, transfers, invalidations, reads, writes"
         " FROM contention_lines ORDER BY rank")
for (rank, line, ext, page, cell, tr, inv, rd, wr), h in zip(rows, c["hottest"]):
    threads = sorted(names[r[0]] for r in q("SELECT heap FROM contention_line_threads WHERE rank = ?", rank))
    check("hottest line %d" % rank,
          [line, bool(ext), None if ext else "%d.%d" % (page, cell), tr, inv, rd, wr, threads],
          [h["line"], h["external"], h["first_cell"], h["transfers"], h["invalidations"], h["reads"],
           h["writes"], sorted(h["threads"])])

# Cell lives.
# A trace recorded by attaching: the cells of each heap's snapshot have a
# row each, starting at the snapshot event (counted by replaying to it).
snapshot_cells = one("SELECT count(*) FROM cells c JOIN events e ON e.idx = c.alloc_event WHERE e.kind = ?",
                     kind_id["snapshot"]) if "snapshot" in kind_id else 0
if stats["kinds"].get("snapshot", 0):
    check("attach trace: some cells come from snapshots", snapshot_cells > 0, True)
else:
    check("no cell comes from a snapshot", snapshot_cells, 0)
check("cells (one per allocation, or per cell of a snapshot)", one("SELECT count(*) FROM cells"),
      stats["kinds"].get("alloc", 0) + snapshot_cells)
check("moves table", one("SELECT count(*) FROM moves"), stats["moves"])
check("sum of moves per cell", one("SELECT coalesce(sum(moves), 0) FROM cells"), stats["moves"])
check("moves per cell agree with the moves table", one(
    "SELECT count(*) FROM cells c WHERE c.moves != (SELECT count(*) FROM moves m WHERE m.cell = c.id)"), 0)
check("cells start where their alloc event put them", one(
    "SELECT count(*) FROM cells c JOIN event_list e ON e.idx = c.alloc_event"
    " WHERE e.kind != 'snapshot' AND (e.kind != 'alloc' OR e.a_page != c.first_page"
    " OR e.a_cell != c.first_cell OR e.aux != c.type)"), 0)
check("each move starts where the cell was", one(
    "SELECT count(*) FROM moves m JOIN cells c ON c.id = m.cell"
    " LEFT JOIN moves p ON p.event = (SELECT max(event) FROM moves WHERE cell = m.cell AND event < m.event)"
    " WHERE m.from_page != coalesce(p.to_page, c.first_page) OR m.from_cell != coalesce(p.to_cell, c.first_cell)"), 0)
check("the last move leaves the cell where it ends", one(
    "SELECT count(*) FROM cells c JOIN moves m ON m.event = (SELECT max(event) FROM moves WHERE cell = c.id)"
    " WHERE m.to_page != c.last_page OR m.to_cell != c.last_cell"), 0)
check("freed cells end at a free of their last place", one(
    "SELECT count(*) FROM cells c JOIN event_list e ON e.idx = c.end_event WHERE c.end_kind = 'free'"
    " AND (e.kind != 'free' OR e.a_page != c.last_page OR e.a_cell != c.last_cell)"), 0)
check("released cells end at a release of their page", one(
    "SELECT count(*) FROM cells c JOIN event_list e ON e.idx = c.end_event WHERE c.end_kind = 'page-release'"
    " AND (e.kind != 'page-release' OR e.a_page != c.last_page)"), 0)
check("how cells end", sorted(r[0] or "live" for r in q("SELECT DISTINCT end_kind FROM cells")
                              if r[0] not in (None, "free", "page-release", "lost")), [])
check("lives end after they start", one("SELECT count(*) FROM cells WHERE end_event <= alloc_event"), 0)
# Cells live at the end, as replay counts them (the last "live cells"
# counter of each thread's heap in the chrome export; roots left out).
chrome = json.loads(run("export", "--format=chrome", TRACE).stdout)
last = {}
for e in chrome["traceEvents"]:
    if e.get("ph") == "C":
        last[e["tid"]] = e["args"]["live cells"]
check("cells live at the end (roots aside)",
      one("SELECT count(*) FROM cells WHERE end_event IS NULL AND type != 3"), int(sum(last.values())))
check("root cells of released pages end there", one(
    "SELECT count(*) FROM cells c WHERE c.end_event IS NULL AND EXISTS (SELECT 1 FROM event_list e"
    " WHERE e.kind = 'page-release' AND e.a_page IS c.last_page AND e.idx > c.alloc_event"
    " AND NOT EXISTS (SELECT 1 FROM event_list r WHERE r.kind = 'page-acquire' AND r.a_page IS c.last_page"
    "  AND r.idx > e.idx))"), 0)
check("frees that end a life", one("SELECT count(*) FROM cells WHERE end_kind = 'free'"),
      one("SELECT count(*) FROM events e WHERE e.kind = ? AND e.idx IN (SELECT end_event FROM cells)",
          kind_id["free"]))

# Call sites (format 1.3): one row per site, and what each site did agrees
# with `stats --sites` (rows per call site, objects and offsets).
sites = json.loads(run("stats", "--sites", "--json", "--group=call", "--no-symbols", "--top=0", TRACE).stdout)
check("sites", one("SELECT count(*) FROM sites"), sites["sites_recorded"])
check("meta.sites", meta["sites"], sites["sites_recorded"])
call_of = {}
for r in q("SELECT id, object, offset FROM sites"):
    call_of[r[0]] = (r[1], r[2])
by_call = {}
for r in q("SELECT e.site, k.name, count(*) FROM events e JOIN kinds k ON k.id = e.kind"
           " WHERE e.site IS NOT NULL GROUP BY e.site, k.name"):
    by_call.setdefault(call_of.get(r[0]), {}).setdefault(r[1], 0)
    by_call[call_of.get(r[0])][r[1]] += r[2]
for row in sites["sites"]:
    call = row["site"]["call"]
    key = (call["object"], int(call["offset"], 16))
    got = by_call.get(key, {})
    check("site %s+%s" % (call["object"], call["offset"]),
          [got.get("alloc", 0), got.get("move", 0), got.get("fixup", 0)],
          [row["allocs"], row["moves"], row["fixups"]])
check("events without a site", one("SELECT count(*) FROM events WHERE site IS NULL"), sites["unknown"]["events"])
check("cells by allocating site", one("SELECT count(*) FROM cells WHERE alloc_site IS NOT NULL"),
      sum(r["allocs"] for r in sites["sites"]))
check("moves by causing site", one("SELECT count(*) FROM moves WHERE site IS NOT NULL"),
      sum(r["moves"] for r in sites["sites"]))
check("cells allocated where their alloc event says", one(
    "SELECT count(*) FROM cells c JOIN events e ON e.idx = c.alloc_event WHERE c.alloc_site IS NOT e.site"), 0)
check("site frames: one per recorded frame at least", one(
    "SELECT count(*) FROM sites s WHERE (SELECT count(*) FROM site_frames f WHERE f.site = s.id) < s.frames"), 0)
if sites["all"]["transfers"]:
    check("transfers by site", one("SELECT coalesce(sum(transfers), 0) FROM contention_line_sites"),
          sites["all"]["transfers"])

# The documented schema and examples work on this database.
if SQL_DOC:
    doc = open(SQL_DOC).read()
    for path in [SQL_DOC] + OTHER_DOCS:
        text = open(path).read()
        examples = [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]
        if len(examples) < 3:
            failures.append("%s: found %d SQL examples" % (path, len(examples)))
        for sql in examples:
            try:
                db.execute(sql).fetchall()
            except sqlite3.Error as e:
                failures.append("example of %s fails: %s\n%s" % (path, e, sql))
    for table in [r[0] for r in q("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                                  " AND name NOT LIKE 'sqlite_%'")]:
        if "`%s`" % table not in doc:
            failures.append("%s does not document table %s" % (SQL_DOC, table))
        for col in [r[1] for r in q("PRAGMA table_info(%s)" % table)]:
            if "`%s`" % col not in doc:
                failures.append("%s does not document %s.%s" % (SQL_DOC, table, col))
db.close()

# --kind limits the events table, nothing else; --line-size reaches the model.
small = os.path.join(WORKDIR, name + "-moves.db")
run("export", "--format=sqlite", "--kind=move,mark", "--line-size=128", "-o", small, TRACE)
stats128 = json.loads(run("stats", "--json", "--line-size=128", TRACE).stdout)
db = sqlite3.connect(small)
check("--kind=move,mark events",
      db.execute("SELECT count(*) FROM events").fetchone()[0],
      stats["kinds"].get("move", 0) + stats["kinds"].get("mark", 0))
check("--kind leaves cells complete", db.execute("SELECT count(*) FROM cells").fetchone()[0] - snapshot_cells,
      stats["kinds"].get("alloc", 0))
m = dict(db.execute("SELECT key, value FROM meta").fetchall())
check("--line-size=128", [m["line_size"], m["contention_transfers"]],
      [128, stats128["contention"]["transfers"]])
db.close()

# Errors: precise, and no file left behind.
p = run("export", "--format=sqlite", TRACE, expect=2)
if "-o" not in p.stderr:
    failures.append("missing -o: message does not say so: " + p.stderr)
run("export", "--format=sqlite", "--counters=5", "-o", small, TRACE, expect=2)
run("export", "--format=chrome", "--line-size=128", TRACE, expect=2)
missing_dir = os.path.join(WORKDIR, "no-such-dir", "x.db")
p = run("export", "--format=sqlite", "-o", missing_dir, TRACE, expect=1)
if "no-such-dir" not in p.stderr:
    failures.append("unwritable destination: message does not name it: " + p.stderr)
damaged = os.path.join(WORKDIR, name + "-damaged.ravtrace")
with open(TRACE, "rb") as f:
    data = bytearray(f.read())
data[200] ^= 0xFF  # inside the first chunk
with open(damaged, "wb") as f:
    f.write(data)
before = open(small, "rb").read()
run("export", "--format=sqlite", "-o", small, damaged, expect=1)
if open(small, "rb").read() != before:
    failures.append("a failed export changed the existing file at the destination")
left = [f for f in os.listdir(WORKDIR) if ".tmp-" in f]
if left:
    failures.append("temporary files left behind: %s" % left)

if failures:
    print("%s: %d check(s) failed" % (TRACE, len(failures)))
    for f in failures:
        print("FAIL:", f)
    sys.exit(1)
print("%s: the database agrees with ravtrace stats and info (%d events, %d cells)"
      % (TRACE, stats["events"], stats["kinds"].get("alloc", 0)))
