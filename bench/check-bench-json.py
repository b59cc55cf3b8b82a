#!/usr/bin/env python3
"""check-bench-json.py - run `rav-bench --quick --json` and check its shape.

Only the structure is checked (one JSON object per line, one per workload,
the fields the README table and trackers read); timings are never judged,
since the machine running tests is shared and noisy.  The quick run covers
every workload `rav-bench --list` names, the tracing ones included (at a
small size), with every row the README's tables take from them, and those
rows measured something (events recorded, streamed, decoded or indexed).
"""
import json
import subprocess
import sys

REQUIRED_WORKLOADS = {"churn", "tree", "fragmentation", "messages", "bulk-free",
                      # eng16's shapes
                      "hash", "graph", "fifo", "requests", "larson", "deep-list"}
REQUIRED_IMPLS = {"ravioli", "glibc"}
# Rows of the tracing workloads, and a count each must show above zero.
TRACE_ROWS = {
    "trace-record": {"tracing off": None, "recording": "events", "recording, no call sites": "events",
                     "call sites": None, "recording, backtraces": "events"},
    "trace-attach": {"listening off": None, "listening, idle": None, "recording to a file": "events",
                     "attached, streaming": "events"},
    "trace-attach-latency": {"event to decoded": "marks"},
    "trace-replay": {"young index": "events", "young seek": "events", "uniform index": "events",
                     "uniform seek": "events"},
}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        print("usage: check-bench-json.py PATH-TO-rav-bench")
        sys.exit(2)
    listed = subprocess.run([sys.argv[1], "--list"], capture_output=True, text=True, timeout=30)
    if listed.returncode != 0:
        fail("rav-bench --list exited with %d: %s" % (listed.returncode, listed.stderr))
    workloads = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    if not set(TRACE_ROWS) <= workloads:
        fail("rav-bench --list lacks %s: update this check" % sorted(set(TRACE_ROWS) - workloads))
    proc = subprocess.run([sys.argv[1], "--quick", "--json"], capture_output=True, text=True, timeout=280)
    if proc.returncode != 0:
        fail("rav-bench exited with %d\nstderr:\n%s" % (proc.returncode, proc.stderr))
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    seen = set()
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            fail("line %d is not a JSON object: %s\n%s" % (n, e, line))
        for key, kind in (("workload", str), ("description", str), ("params", dict), ("machine", dict),
                          ("method", dict), ("results", list)):
            if not isinstance(obj.get(key), kind):
                fail("line %d: '%s' missing or not a %s" % (n, key, kind.__name__))
        if not isinstance(obj["machine"].get("cores"), int) or not obj["machine"].get("cpu"):
            fail("line %d: machine needs cpu and cores" % n)
        impls = set()
        for res in obj["results"]:
            if not isinstance(res.get("impl"), str):
                fail("line %d: a result has no impl" % n)
            impls.add(res["impl"])
            if "seconds" not in res or "ratio_to_mimalloc" not in res:
                fail("line %d: result %s lacks seconds or ratio_to_mimalloc" % (n, res["impl"]))
            if res["seconds"] is not None and not isinstance(res["seconds"], (int, float)):
                fail("line %d: %s seconds is not a number" % (n, res["impl"]))
            if isinstance(res.get("note"), str) and "WRONG RESULT" in res["note"]:
                fail("line %d: %s computed a wrong result: %s" % (n, res["impl"], res["note"]))
        # The allocator comparisons must compare; other workloads (tracing
        # costs, ...) name their rows as they like.
        if obj["workload"] in REQUIRED_WORKLOADS and not REQUIRED_IMPLS <= impls:
            fail("line %d: results lack %s" % (n, sorted(REQUIRED_IMPLS - impls)))
        if not impls:
            fail("line %d: no results" % n)
        if "mimalloc" in impls:
            mi = [r for r in obj["results"] if r["impl"] == "mimalloc"][0]
            if mi["seconds"] is not None and mi["ratio_to_mimalloc"] is None:
                fail("line %d: mimalloc's own ratio is missing" % n)
        if obj["workload"] == "fragmentation":
            for res in obj["results"]:
                for key in ("resident_mib", "live_mib"):
                    if not isinstance(res.get(key), (int, float)):
                        fail("line %d: fragmentation result %s lacks %s" % (n, res["impl"], key))
        for row, count in TRACE_ROWS.get(obj["workload"], {}).items():
            res = [r for r in obj["results"] if r["impl"] == row]
            if not res:
                fail("line %d: %s has no row '%s' (rows: %s)" % (n, obj["workload"], row, sorted(impls)))
            # (an engine built without -Dtracing records nothing: rows only)
            if count and obj["machine"].get("tracing_compiled") is not False and \
                    not (isinstance(res[0].get(count), (int, float)) and res[0][count] > 0):
                fail("line %d: %s row '%s' measured no %s: %s" % (n, obj["workload"], row, count, res[0]))
        if obj["workload"] == "trace-record" and obj["machine"].get("tracing_compiled") is not False:
            # the recording rows' figure is a median of paired differences,
            # with its order statistics and pair count beside it
            if obj["method"].get("statistic") != "median of paired differences":
                fail("line %d: trace-record's method says %r" % (n, obj["method"].get("statistic")))
            for row in ("recording", "recording, no call sites", "call sites", "recording, backtraces"):
                res = [r for r in obj["results"] if r["impl"] == row][0]
                keys = ("ns_min", "ns_q1", "ns_per_event", "ns_q3", "ns_max", "pairs")
                if not all(isinstance(res.get(k), (int, float)) for k in keys):
                    fail("line %d: trace-record row '%s' lacks one of %s: %s" % (n, row, keys, res))
                if not (res["pairs"] >= 1 and res["ns_min"] <= res["ns_q1"] <= res["ns_per_event"] <= res["ns_q3"]
                        <= res["ns_max"]):
                    fail("line %d: trace-record row '%s': order statistics out of order or no pairs: %s" %
                         (n, row, res))
        seen.add(obj["workload"])
    if not (REQUIRED_WORKLOADS | workloads) <= seen:
        fail("workloads missing from the quick JSON: %s" % sorted((REQUIRED_WORKLOADS | workloads) - seen))
    print("ok: %d workload objects, shape as expected" % len(lines))


if __name__ == "__main__":
    main()
