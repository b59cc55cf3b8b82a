#!/bin/sh
# record-cost.sh [BUILD_DIR [DEPTH STORES]] - the instructions recording adds
# per event on the recording thread (callgrind), the figure of issue #14
# that does not move with the machine's load.
#
# Runs rav-bench's trace-record child (the workload of
# `rav-bench --workloads trace-record`, at depth 16 and 20000 sharing stores
# unless told: 1.35M events, ~1 minute under callgrind) three times under
# callgrind, counting only bench_record_workload and what it calls on the
# workload's thread: without recording, recording (call sites on, the
# default) and recording with RAVIOLI_TRACE_SITES=0.  Prints each run's
# instructions, the trace's events (`ravtrace stats`) and the instructions
# added per event, with and without call sites.  Use a release build
# (build-rel, HACKING.md): a debug build's figures are not the README's.
set -eu
build=${1:-build-rel}
depth=${2:-16}
stores=${3:-20000}
bench="$build/bench/rav-bench"
rt="$build/trace/cli/ravtrace"
[ -x "$bench" ] || { echo "record-cost: no $bench (build first)" >&2; exit 1; }
[ -x "$rt" ] || { echo "record-cost: no $rt (build first)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "record-cost: needs valgrind" >&2; exit 1; }
py=$(command -v python3) || { echo "record-cost: needs python3" >&2; exit 1; }
unset RAV_BENCH_TRACE RAVIOLI_TRACE_SITES RAVIOLI_TRACE RAVIOLI_TRACE_STACK
tmp=$(mktemp -d "${TMPDIR:-/tmp}/record-cost.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# run NAME [VAR=VALUE...]: the child under callgrind; prints its total.
run() {
  name=$1
  shift
  env RAV_BENCH_REEXEC=1 "$@" valgrind --tool=callgrind --toggle-collect=bench_record_workload \
    --callgrind-out-file="$tmp/$name.out" "$bench" --child trace-record "$depth" "$stores" 1 \
    >/dev/null 2>"$tmp/$name.log" || { echo "record-cost: the $name run failed:" >&2; cat "$tmp/$name.log" >&2; exit 1; }
  total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/$name.out")
  [ -n "$total" ] || { echo "record-cost: no total in $tmp/$name.out" >&2; exit 1; }
  echo "$total"
}
# events NAME: the events of the trace the run NAME recorded.
events() {
  "$rt" stats --json "$tmp/$1.ravtrace" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["events"])'
}

off=$(run off)
on=$(run on RAV_BENCH_TRACE="$tmp/on.ravtrace")
nosites=$(run nosites RAV_BENCH_TRACE="$tmp/nosites.ravtrace" RAVIOLI_TRACE_SITES=0)
ev_on=$(events on)
ev_ns=$(events nosites)
"$py" - "$off" "$on" "$nosites" "$ev_on" "$ev_ns" "$depth" "$stores" <<'PY'
import sys
off, on, ns, ev_on, ev_ns, depth, stores = (int(a) for a in sys.argv[1:])
print("trace-record child, depth %d, %d sharing stores, callgrind (bench_record_workload, workload thread)" % (depth, stores))
print("  not recording:          %12d instructions" % off)
print("  recording:              %12d instructions, %d events: %.2f added per event" % (on, ev_on, (on - off) / ev_on))
print("  recording, no sites:    %12d instructions, %d events: %.2f added per event" % (ns, ev_ns, (ns - off) / ev_ns))
print("  call sites:             %.2f per event" % ((on - off) / ev_on - (ns - off) / ev_ns))
PY
