#!/bin/sh
# record-cost.sh [--all] [BUILD_DIR [DEPTH STORES]] - the instructions
# recording adds per event on the recording thread (callgrind), the figure
# of issue #14 that does not move with the machine's load.
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
#
# --all: then the same figure for the engine's other shapes, each run by
# its probe (bench/*-probe.c) with callgrind counting the probe's phase
# function(s) only, not recording and recording (call sites on): churn in
# immediate and deferred mode (probe_steps: a list pop and a push per
# step), tree (probe_tree_build + probe_tree_teardown: allocations into
# fields, a whole-tree free), binary-trees (probe_bt_*: build, check,
# drop).  The events of the measured phase are
# counted natively: the trace of the same run less the trace of a run
# whose phase is one step (churn) or that has no phase (the others: the
# setup's and the process's own events).  ~3 minutes more.
set -eu
all=0
if [ "${1:-}" = --all ]; then
  all=1
  shift
fi
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

[ "$all" = 1 ] || exit 0
probe_dir="$build/bench"
# probe NAME BASE TOGGLES PROBE ARGS...: callgrind on PROBE ARGS without and
# with recording, counting the functions in TOGGLES (comma-separated); the
# phase's events are those of a native recording of PROBE ARGS less those
# of PROBE BASE (its setup and the process's own events).
probe() {
  name=$1 base=$2 toggles=$3 cmd=$4
  shift 4
  tg=""
  for f in $(echo "$toggles" | tr , ' '); do tg="$tg --toggle-collect=$f"; done
  for mode in off on; do
    trace=""
    [ $mode = on ] && trace="RAVIOLI_TRACE=$tmp/$name-cg.ravtrace"
    # shellcheck disable=SC2086
    env $trace valgrind --tool=callgrind $tg --callgrind-out-file="$tmp/$name-$mode.out" "$cmd" "$@" \
      >/dev/null 2>"$tmp/$name-$mode.log" || { echo "record-cost: $name ($mode) failed:" >&2; cat "$tmp/$name-$mode.log" >&2; exit 1; }
  done
  ins_off=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/$name-off.out")
  ins_on=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/$name-on.out")
  RAVIOLI_TRACE="$tmp/$name.ravtrace" "$cmd" "$@" >/dev/null 2>&1 || { echo "record-cost: $name (native) failed" >&2; exit 1; }
  # shellcheck disable=SC2086
  RAVIOLI_TRACE="$tmp/$name-base.ravtrace" "$cmd" $base >/dev/null 2>&1 || { echo "record-cost: $name (base) failed" >&2; exit 1; }
  ev=$(events "$name")
  evb=$(events "$name-base")
  "$py" - "$name" "$ins_off" "$ins_on" "$ev" "$evb" <<'PY'
import sys
name = sys.argv[1]
off, on, ev, evb = (int(a) for a in sys.argv[2:])
print("  %-14s %11d -> %11d instructions, %8d events: %.2f added per event" % (name + ":", off, on, ev - evb, (on - off) / (ev - evb)))
PY
}
echo "the engine's shapes (probes; callgrind on the phase's functions; the phase's events, natively)"
probe churn-imm "imm 100000 1" probe_steps "$probe_dir/churn-probe" imm 100000 200000
probe churn-def "def 100000 1" probe_steps "$probe_dir/churn-probe" def 100000 200000
probe tree "tree 1 1" probe_tree_build,probe_tree_teardown "$probe_dir/tree-probe" tree 200000 2
probe binary-trees "bt 4 1" probe_bt_build,probe_bt_check,probe_bt_drop "$probe_dir/tree-probe" bt 14 1
