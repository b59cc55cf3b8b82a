#!/bin/sh
# test-cli.sh MODE RAVTRACE [ARGS...] - tests of the ravtrace command line tool.
#
# Modes (each registered as meson tests in trace/cli/meson.build and
# samples/meson.build):
#   usage RAVTRACE                     exit codes and messages for bad usage
#   demo RAVTRACE TRACE PYTHON         every command on a good trace; JSON output parses
#   golden RAVTRACE TRACE EXPECTED     `stats --json` equals the committed expectation
#   threads RAVTRACE GEN PYTHON WORKDIR  many threads: stats and info list some, count the rest
#   fieldnames RAVTRACE V14 V10        a format 1.4 golden trace shows its types' field
#                                      names (info, info --json, dump); a 1.0 one has none
#   corrupt RAVTRACE TRACE WORKDIR     damaged copies: validate exits 1 with offset and
#                                      reason; no command crashes or hangs on them
#   flip RAVTRACE TRACE WORKDIR        single-byte corruptions in the header, the first
#                                      frame and payload, the middle and the end are caught
#   died RAVTRACE ABORT_FLUSH PYTHON WORKDIR  a program the engine's misuse handler
#                                      aborted: info says the error, not only SIGABRT
# Every check prints what it ran; the first failure ends the test with exit 1.
# RAV_TEST_WRAPPER (set by the valgrind test setup) runs each ravtrace
# command under a checker; its own error exit code must be 99.  There the
# commands go through ravtrace-batch (next to RAVTRACE, when built): one
# checker start-up for all of them, a forked process checked on its own for
# each (ravtrace-batch.c).
set -u
WRAP=${RAV_TEST_WRAPPER:-}

mode=$1
rt=$2
shift 2
failures=0
out=$(mktemp)
err=$(mktemp)
batch=
trap 'rm -f "$out" "$err"; [ -z "$batch" ] || rm -rf "$batch"' EXIT

if [ -n "$WRAP" ] && [ -x "$(dirname "$rt")/ravtrace-batch" ]; then
  batch=$(mktemp -d)
  mkfifo "$batch/requests" "$batch/answers"
  # shellcheck disable=SC2086 # the wrapper is a command line
  $WRAP "$(dirname "$rt")/ravtrace-batch" <"$batch/requests" >"$batch/answers" 2>"$batch/checker" &
  batch_pid=$!
  exec 3>"$batch/requests" 4<"$batch/answers"
  checked=0
fi

# run COMMAND...: run a ravtrace command line (under the wrapper, or
# through the batch) with stdout to $out and stderr to $err; sets got.
run() {
  if [ -z "$batch" ]; then
    $WRAP "$@" >"$out" 2>"$err"
    got=$?
    return
  fi
  shift # the ravtrace path: the batch is ravtrace
  {
    printf '600\t%s\t%s\t-' "$out" "$err"
    for a in "$@"; do printf '\t%s' "$a"; done
    printf '\n'
  } >&3
  if ! read -r _ how code <&4; then
    echo "ravtrace-batch ended: $(cat "$batch/checker")"
    exit 1
  fi
  case $how in
    exit) got=$code ;;
    signal) got=$((128 + code)) ;;
    *) got=124 ;; # timeout
  esac
  # what the checker said of this command, as if it had written to $err
  size=$(wc -c <"$batch/checker")
  tail -c +$((checked + 1)) "$batch/checker" | head -c $((size - checked)) >>"$err"
  checked=$size
}

fail() {
  echo "FAIL: $*"
  echo "--- stdout:"
  head -c 3000 "$out"
  echo "--- stderr:"
  head -c 3000 "$err"
  exit 1
}

# expect CODE COMMAND...: run, check the exit status.
expect() {
  want=$1
  shift
  run "$@"
  echo "exit $got: $*"
  [ "$got" -ne 99 ] || fail "the checker ($WRAP) found errors: $*"
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
}

# expect_sane COMMAND...: a damaged file may be readable (0) or not (1),
# but never a crash (signal), a usage error, or a silent failure.
expect_sane() {
  run "$@"
  echo "exit $got: $*"
  case $got in
    0) ;;
    1) [ -s "$err" ] || [ -s "$out" ] || fail "exit 1 without a message: $*" ;;
    *) fail "exit $got (crash or usage error) on a damaged file: $*" ;;
  esac
}

contains() {
  grep -q -- "$1" "$2" || fail "output does not mention '$1'"
}

case $mode in
usage)
  expect 2 "$rt"
  contains "no command" "$err"
  expect 2 "$rt" frobnicate x.ravtrace
  contains "unknown command" "$err"
  # a trace where the command goes; a command in capitals
  expect 2 "$rt" "$rt"
  contains "is a file, not a command: .*'ravtrace info $rt'" "$err"
  expect 2 "$rt" Info x.ravtrace
  contains "did you mean 'info'" "$err"
  # an option before the command (it said "unknown command '--json'")
  expect 2 "$rt" --json info x.ravtrace
  contains "'--json' goes after the command: 'ravtrace info --json ...'" "$err"
  expect 2 "$rt" -v
  contains "unknown option '-v' (before a command ravtrace takes --help and --version" "$err"
  # an export given back to ravtrace
  exported=$(mktemp)
  printf 'SQLite format 3\000 and pages' >"$exported"
  expect 1 "$rt" info "$exported"
  contains "an SQLite database" "$err"
  printf '{"displayTimeUnit":"ns","otherData":{}}' >"$exported"
  expect 1 "$rt" info "$exported"
  contains "trace-event JSON" "$err"
  rm -f "$exported"
  expect 0 "$rt" --help
  contains "validate" "$out"
  expect 0 "$rt" --version
  for c in info dump stats validate export; do
    expect 0 "$rt" "$c" --help
    contains "usage: ravtrace $c" "$out"
    expect 0 "$rt" help "$c"
    expect 2 "$rt" "$c"
    contains "no trace file" "$err"
    expect 2 "$rt" "$c" --no-such-option x.ravtrace
    contains "unknown option" "$err"
    contains "'--no-such-option'" "$err"
    if [ "$c" = export ]; then
      expect 1 "$rt" export --format=chrome /nonexistent/dir/none.ravtrace
    else
      expect 1 "$rt" "$c" /nonexistent/dir/none.ravtrace
    fi
    # the command, the file once, the reason
    contains "^ravtrace $c: cannot open /nonexistent/dir/none.ravtrace: No such file" "$err"
    [ "$(grep -o none.ravtrace "$err" | wc -l)" -eq 1 ] || fail "the file is named more than once"
  done
  # list and attach parse their options themselves: the same wording
  for c in list attach; do
    expect 2 "$rt" "$c" --no-such-option
    contains "^ravtrace $c: unknown option '--no-such-option'" "$err"
    if grep -q "unrecognized" "$err"; then fail "getopt's own message as well"; fi
  done
  expect 2 "$rt" attach -o
  contains "option '-o' needs a value" "$err"
  expect 2 "$rt" info a.ravtrace b.ravtrace
  expect 2 "$rt" dump --kind=bogus x.ravtrace
  contains "unknown event kind 'bogus'" "$err"
  expect 2 "$rt" dump --kind=alloc,moves x.ravtrace
  contains "unknown event kind 'moves' (did you mean 'move'?" "$err"
  # a word as dump writes slots, where a cell goes
  expect 2 "$rt" dump --cell=16.1.2 x.ravtrace
  contains "'16.1.2' is word 2 of cell 16.1 (--cell=16.1)" "$err"
  expect 2 "$rt" dump --from=10 --to=5 x.ravtrace
  expect 2 "$rt" dump --limit=ten x.ravtrace
  expect 2 "$rt" dump --cell=7 x.ravtrace
  expect 2 "$rt" dump --json x.ravtrace
  contains "does not apply" "$err"
  # -o named as typed (it said "--output does not apply" to "-o")
  expect 2 "$rt" info -o x.txt x.ravtrace
  contains "^ravtrace info: -o/--output does not apply" "$err"
  # the help texts: an option's values named (--group=G did not say them),
  # ranges with two names, no pointer into the source tree (info's pointed
  # at trace/FORMAT.md section 12, the live sessions', for the memory limit)
  for c in stats sites; do
    expect 0 "$rt" "$c" --help
    contains "group=line|call|stack" "$out"
    contains "from=N, --to=M  only events in \[N, M)" "$out"
  done
  expect 0 "$rt" info --help
  contains "RAVTRACE_MEMORY_MB=N raises the limit (see ravtrace(1)" "$out"
  for c in info dump stats sites validate export list attach; do
    expect 0 "$rt" "$c" --help
    if grep -q "FORMAT.md" "$out"; then fail "$c --help points into the source tree (FORMAT.md)"; fi
  done
  expect 0 "$rt" list --help
  contains "a JSON array" "$out"
  expect 2 "$rt" stats --to=5 x.ravtrace
  expect 2 "$rt" stats --line-size=48 x.ravtrace
  expect 2 "$rt" export x.ravtrace
  contains "format" "$err"
  expect 2 "$rt" export --format=svg x.ravtrace
  expect 0 "$rt" dump --list-kinds
  contains "move" "$out"
  contains "fixup" "$out"
  ;;

demo)
  trace=$1
  py=$2
  expect 0 "$rt" validate "$trace"
  contains "^OK" "$out"
  expect 0 "$rt" info "$trace"
  contains "threads" "$out"
  # the types count is the types listed (it counted the reserved ids the
  # list leaves out: "types 19" above 13 lines)
  awk '/^types / { n = $2; on = 1; next } on && /^  [0-9]/ { got++ } on && !/^  / { on = 0 }
       END { if (n == "" || n != got) { print "types " n ", listed " got; exit 1 } }' "$out" >"$err" ||
    fail "info's types count is not the types it lists: $(cat "$err")"
  expect 0 "$rt" info --json "$trace"
  "$py" -m json.tool "$out" >/dev/null || fail "info --json is not JSON"
  expect 0 "$rt" dump --limit=200 "$trace"
  [ "$(wc -l <"$out")" -eq 200 ] || fail "dump --limit=200 did not print 200 lines"
  expect 0 "$rt" dump --kind=alloc --limit=5 "$trace"
  if [ -s "$out" ]; then
    awk '$4 != "alloc" { exit 1 }' "$out" || fail "dump --kind=alloc printed other kinds"
  fi
  expect 0 "$rt" dump --from=10 --to=20 "$trace"
  awk '$1 < 10 || $1 >= 20 { exit 1 }' "$out" || fail "dump --from/--to printed events outside [10, 20)"
  # Operations: one line each, their ranges within the selection, and
  # each thread's operations in order without overlap.
  expect 0 "$rt" dump --ops --limit=300 "$trace"
  [ -s "$out" ] || fail "dump --ops printed nothing"
  awk '{ split($1, r, /\.\./); if (r[1] > r[2]) exit 1; t = $3; if (t in last && r[1] <= last[t]) exit 1; last[t] = r[2] }' "$out" ||
    fail "dump --ops printed overlapping or reversed operations"
  expect 0 "$rt" dump --ops --kind=move --limit=3 "$trace"
  if [ -s "$out" ]; then
    contains " into " "$out"
  fi
  expect 0 "$rt" dump --explain --limit=40 "$trace"
  [ "$(wc -l <"$out")" -eq 80 ] || fail "dump --explain did not print a sentence under each of 40 events"
  expect 2 "$rt" dump --ops --explain "$trace"
  expect 0 "$rt" stats "$trace"
  contains "per free" "$out"
  expect 0 "$rt" stats --json --top=3 "$trace"
  "$py" -m json.tool "$out" >/dev/null || fail "stats --json is not JSON"
  expect 0 "$rt" export --format=chrome "$trace"
  "$py" -c 'import json,sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
assert any(e.get("name") == "thread_name" for e in ev), "no thread names"
assert any(e.get("ph") == "i" for e in ev), "no instant events"
if any(e.get("cat") == "page-acquire" for e in ev):
    assert any(e.get("ph") == "C" for e in ev), "pages were used but there are no counters"
' "$out" || fail "export --format=chrome is not usable trace-event JSON"
  ;;

died)
  # test-format-abort-flush's child passes a null heap; the default
  # handler reports RAV_EINVAL and aborts.  info said only "died of
  # SIGABRT ..., raised by the program (abort())": the engine's error
  # that caused it is named too.
  aborter=$1
  py=$2
  work=$3
  mkdir -p "$work"
  trace=$work/died.ravtrace
  rm -f "$trace"
  RAVIOLI_LISTEN=0 RAV_TEST_KEEP_TRACE=$trace "$aborter" thread >/dev/null 2>&1 ||
    fail "$aborter thread failed"
  expect 0 "$rt" info "$trace"
  contains "^died        the program died of SIGABRT" "$out"
  contains "^            after the engine's error at event [0-9]*: RAV_EINVAL: rav_collect: null heap" "$out"
  expect 0 "$rt" info --json "$trace"
  "$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert "SIGABRT" in d["died"], d
e = d["died_after_error"]
assert e["message"].startswith("RAV_EINVAL: rav_collect: null heap"), e
assert isinstance(e["event"], int), e
' "$out" || fail "info --json has no died_after_error naming the error"
  rm -f "$trace"
  ;;

golden)
  trace=$1
  expected=$2
  expect 0 "$rt" validate "$trace"
  expect 0 "$rt" stats --json "$trace"
  if ! diff -u "$expected" "$out" >"$err"; then
    echo "stats --json of $trace differs from $expected:"
    cat "$err"
    echo "(if the change is intended, run tests/trace/golden/regenerate.sh and review the diff)"
    exit 1
  fi
  # Call sites (format 1.3) as the file records them: objects and offsets,
  # no debug info read (the recorded binary is gone or rebuilt).
  sites="${expected%.stats.json}.sites.json"
  if [ -f "$sites" ]; then
    expect 0 "$rt" stats --sites --json --no-symbols --top=0 "$trace"
    if ! diff -u "$sites" "$out" >"$err"; then
      echo "stats --sites --json --no-symbols of $trace differs from $sites:"
      cat "$err"
      echo "(if the change is intended, run tests/trace/golden/regenerate.sh and review the diff)"
      exit 1
    fi
    # rows the order leaves out (none of its figure) are counted in the
    # header: the listing says where they went (none of these files hands
    # off pages from every site)
    expect 0 "$rt" sites --by=handoffs --top=0 --no-symbols "$trace"
    contains "with no pages handed off: --by=events lists every one" "$out"
    # ... all of them, also when --top cuts the list just after the last
    # row with the figure (it said how many of the top N had none: "3 more"
    # under "23 lines, top 10", 16 lines having none)
    more=$(sed -n 's/^  (\([0-9]*\) more .* with no pages handed off.*/\1/p' "$out")
    rows=$(sed -n '1s/.*(\([0-9]*\) [a-z ]*s*)$/\1/p' "$out")
    if [ -n "$more" ] && [ -n "$rows" ] && [ "$more" -gt 1 ]; then
      expect 0 "$rt" sites --by=handoffs --top=$((rows - more + 1)) --no-symbols "$trace"
      contains "($more more " "$out"
    else
      echo "sites --by=handoffs --top=0 of $trace: no row count or no rows without hand-offs"
      exit 1
    fi
  else
    # no sites: a file from before format 1.3 says so, not "recorded with sites off"
    expect 0 "$rt" sites "$trace"
    contains "from before call sites were recorded" "$out"
  fi
  ;;

pairs)
  # Many threads handing pages to each other (hostile-gen's handoff-pairs,
  # small: 12 threads, 132 pairs, one page each but from -> from+1 with
  # (from % 5) + 1): stats lists the pairs with most pages, counts the rest.
  gen=$1
  py=$2
  work=$3
  mkdir -p "$work"
  "$gen" --small "$work" handoff-pairs >/dev/null || fail "hostile-gen --small $work handoff-pairs failed"
  trace=$work/handoff-pairs.ravtrace
  all=$work/pairs-all.json
  expect 0 "$rt" stats --json --pairs=0 "$trace"
  cp "$out" "$all"
  for n in '' 1 10 131 132 1000; do
    expect 0 "$rt" stats --json ${n:+--pairs=$n} "$trace"
    "$py" -c 'import json, sys
every = json.load(open(sys.argv[1]))["handoffs"]
got = json.load(open(sys.argv[2]))["handoffs"]
n, k = int(sys.argv[3]), 12
pairs = every["pairs"]
assert len(pairs) == k * (k - 1) and every["more_pairs"] == 0 and every["more_pages"] == 0, every
assert len({(p["from"], p["to"]) for p in pairs}) == len(pairs), "a pair listed twice"
pages = [p["pages"] for p in pairs]
assert sum(pages) == every["pages"], "--pairs=0 does not list every page"
want = sorted(((f % 5) + 1 for f in range(1, k + 1)), reverse=True) + [1] * (k * (k - 2))
assert pages == want, ("not most pages first", pages)
listed = min(n, len(pairs))
assert got["pages"] == every["pages"]
assert got["pairs"] == pairs[:listed], ("not the first pairs of --pairs=0", got["pairs"])
assert got["more_pairs"] == len(pairs) - listed, got["more_pairs"]
assert got["more_pages"] == sum(pages[listed:]), got["more_pages"]
' "$all" "$out" "${n:-20}" || fail "stats --json ${n:+--pairs=$n}: not the pairs with most pages and a count of the rest"
  done
  # the text lists as many and says how many more
  expect 0 "$rt" stats "$trace"
  [ "$(grep -c -- ' -> ' "$out")" -eq 20 ] || fail "stats did not list 20 hand-off pairs"
  contains "and 112 more pairs, 112 pages (--pairs=0 lists all)" "$out"
  expect 0 "$rt" stats --pairs=0 "$trace"
  [ "$(grep -c -- ' -> ' "$out")" -eq 132 ] || fail "stats --pairs=0 did not list all 132 pairs"
  if grep -q "more pairs" "$out"; then fail "stats --pairs=0 says there are more pairs"; fi
  expect 2 "$rt" stats --sites --pairs=3 "$trace"
  contains "does not go with --sites" "$err"
  ;;

threads)
  # Many threads (hostile-gen's threads-many, small: 300 threads, 13 events
  # each, every 7th thread (th % 3) + 1 cells more, 2 events a cell): stats
  # lists the thread rows with most events and info the first threads,
  # each counting the rest; --threads=0 lists all.
  gen=$1
  py=$2
  work=$3
  mkdir -p "$work"
  "$gen" --small "$work" threads-many >/dev/null || fail "hostile-gen --small $work threads-many failed"
  trace=$work/threads-many.ravtrace
  all=$work/threads-all.json
  expect 0 "$rt" stats --json --threads=0 "$trace"
  cp "$out" "$all"
  for n in '' 1 20 21 300 301 1000; do
    expect 0 "$rt" stats --json ${n:+--threads=$n} "$trace"
    "$py" -c 'import json, sys
every = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
n, k = int(sys.argv[3]), 300
rows = every["threads"]
assert every["more_threads"] == 0 and every["more_thread_events"] == 0, every
ids = [r["id"] for r in rows]
assert sorted(ids) == list(range(1, k + 1)), ids
def events(th):
    return 13 + (0 if th % 7 else 2 * (th % 3 + 1))
assert [r["events"] for r in rows] == [events(i) for i in ids], "a row miscounted"
assert ids == sorted(ids, key=lambda th: (-events(th), th)), ("not most events first", ids)
listed = min(n, k)
assert got["threads"] == rows[:listed], ("not the first rows of --threads=0", got["threads"])
assert got["more_threads"] == k - listed, got["more_threads"]
assert got["more_thread_events"] == sum(r["events"] for r in rows[listed:]), got["more_thread_events"]
assert sum(r["events"] for r in got["threads"]) + got["more_thread_events"] == got["events"]
' "$all" "$out" "${n:-20}" || fail "stats --json ${n:+--threads=$n}: not the threads with most events and a count of the rest"
  done
  # the text lists as many and says how many more
  expect 0 "$rt" stats "$trace"
  rows=$(sed -n '/^threads$/,/^$/p' "$out" | grep -c '^  [0-9]')
  [ "$rows" -eq 20 ] || fail "stats listed $rows thread rows, not 20"
  contains "and 280 more threads, 3700 events (--threads=0 lists all)" "$out"
  expect 0 "$rt" stats --threads=0 "$trace"
  rows=$(sed -n '/^threads$/,/^$/p' "$out" | grep -c '^  [0-9]')
  [ "$rows" -eq 300 ] || fail "stats --threads=0 listed $rows thread rows, not 300"
  if grep -q "more threads" "$out"; then fail "stats --threads=0 says there are more threads"; fi
  expect 2 "$rt" stats --sites --threads=3 "$trace"
  contains "does not go with --sites" "$err"
  # info: the first threads in the trace's order, the others counted
  for n in '' 0 5 300; do
    expect 0 "$rt" info --json ${n:+--threads=$n} "$trace"
    "$py" -c 'import json, sys
got = json.load(open(sys.argv[1]))
n, k = int(sys.argv[2]), 300
listed = min(n, k) if n else k
assert [t["id"] for t in got["threads"]] == list(range(1, listed + 1)), got["threads"]
assert got["more_threads"] == k - listed, got["more_threads"]
' "$out" "${n:-20}" || fail "info --json ${n:+--threads=$n}: not the first threads and a count of the rest"
  done
  expect 0 "$rt" info "$trace"
  rows=$(grep -c '^  heap ' "$out")
  [ "$rows" -eq 20 ] || fail "info listed $rows threads, not 20"
  contains "threads     300, plus 0 message heaps" "$out"
  contains "and 280 more threads (--threads=0 lists all)" "$out"
  expect 0 "$rt" info --threads=0 "$trace"
  rows=$(grep -c '^  heap ' "$out")
  [ "$rows" -eq 300 ] || fail "info --threads=0 listed $rows threads, not 300"
  expect 2 "$rt" info --threads=x "$trace"
  # info's types: the first 100 in id order, the others counted
  # (types-many, small: 5185 types, ids 16 to 5200)
  "$gen" --small "$work" types-many >/dev/null || fail "hostile-gen --small $work types-many failed"
  trace=$work/types-many.ravtrace
  for n in '' 0 1 5185 6000; do
    expect 0 "$rt" info --json ${n:+--types=$n} "$trace"
    "$py" -c 'import json, sys
got = json.load(open(sys.argv[1]))
n, k = int(sys.argv[2]), 5185
listed = min(n, k) if n else k
assert [t["id"] for t in got["types"]] == list(range(16, 16 + listed)), got["types"][:3]
assert got["more_types"] == k - listed, got["more_types"]
' "$out" "${n:-100}" || fail "info --json ${n:+--types=$n}: not the first types and a count of the rest"
  done
  expect 0 "$rt" info "$trace"
  rows=$(grep -c '^  [0-9]' "$out")
  [ "$rows" -eq 100 ] || fail "info listed $rows types, not 100"
  contains "types       5185 (5185 the program's, 0 built in)" "$out"
  contains "and 5085 more types (--types=0 lists all)" "$out"
  expect 0 "$rt" info --types=0 "$trace"
  rows=$(grep -c '^  [0-9]' "$out")
  [ "$rows" -eq 5185 ] || fail "info --types=0 listed $rows types, not 5185"
  ;;

msgpages)
  # Format 1.6: the golden file holds page-to-msg events, shown by dump
  # with their page, heaps, fill and place, explained by explain, and
  # replayed (validate above) to the same heaps as the engine had.
  trace=$1
  expect 0 "$rt" info "$trace"
  contains "format      1.6" "$out"
  expect 0 "$rt" dump --kind=page-to-msg "$trace"
  contains "page-to-msg    page=[0-9]* from=[0-9]* to=[0-9]* fill=[0-9]* before=[0-9]*" "$out"
  [ "$(grep -c page-to-msg "$out")" -ge 2 ] || fail "fewer than two page-to-msg events in $trace"
  expect 0 "$rt" dump --kind=page-to-msg --explain "$trace"
  contains "join the message as they are" "$out"
  expect 0 "$rt" validate "$trace"
  contains "replay consistent" "$out"
  ;;

fieldnames)
  new=$1
  old=$2
  expect 0 "$rt" info "$new"
  contains "format      1.4" "$out"
  contains "bst_node  *ref left, ref right" "$out"
  contains "vector-node  *ref left, ref right" "$out"
  expect 0 "$rt" info --json "$new"
  contains '"name": "bst_node", "fields": \["ref", "ref"\], "field_names": \["left", "right"\]' "$out"
  expect 0 "$rt" dump --kind=type-def "$new"
  contains 'name="bst_node" field_names="left","right"' "$out"
  expect 0 "$rt" info "$old"
  contains "format      1.0" "$out"
  contains "bst_node  *ref, ref$" "$out"
  expect 0 "$rt" info --json "$old"
  contains '"name": "bst_node", "fields": \["ref", "ref"\], "field_names": \[null, null\]' "$out"
  expect 0 "$rt" dump --kind=type-def "$old"
  if grep -q field_names "$out"; then fail "a 1.0 trace shows field names"; fi
  ;;

corrupt)
  trace=$1
  work=$2
  mkdir -p "$work"
  size=$(wc -c <"$trace")
  name=$(basename "$trace" .ravtrace)
  : >"$work/$name-empty.ravtrace"
  printf 'not a trace at all, just text\n' >"$work/$name-text.ravtrace"
  { printf 'XXXXXXXX'; tail -c +9 "$trace"; } >"$work/$name-magic.ravtrace"
  head -c 100 "$trace" >"$work/$name-header-cut.ravtrace"
  head -c $((size - 5)) "$trace" >"$work/$name-tail-cut.ravtrace"
  head -c $((size / 2)) "$trace" >"$work/$name-half.ravtrace"
  # every chunk, not the trailer (whose offset is the last 8 bytes)
  head -c "$(tail -c 8 "$trace" | od -An -tu8 | tr -d ' ')" "$trace" >"$work/$name-no-trailer.ravtrace"
  { cat "$trace"; printf 'RCHK\377\377\377\377garbage after the end'; } >"$work/$name-trailing.ravtrace"
  for f in empty text magic header-cut tail-cut half trailing no-trailer; do
    damaged="$work/$name-$f.ravtrace"
    expect 1 "$rt" validate "$damaged"
    contains "INVALID" "$out"
    contains "offset" "$out"
    for c in info stats; do
      expect_sane "$rt" "$c" "$damaged"
    done
    expect_sane "$rt" dump --limit=20 "$damaged"
  done
  expect 1 "$rt" validate "$work/$name-empty.ravtrace"
  contains "empty\|zero" "$out"
  expect 1 "$rt" validate "$work/$name-half.ravtrace"
  contains "truncated" "$out"
  contains "inside chunk" "$out"
  # not "inside chunk N": every chunk is whole, the trailer is missing
  expect 1 "$rt" validate "$work/$name-no-trailer.ravtrace"
  contains "without the trailer" "$out"
  if grep -q "inside chunk" "$out"; then fail "a file without its trailer is said to end inside a chunk"; fi
  ;;

flip)
  trace=$1
  work=$2
  mkdir -p "$work"
  name=$(basename "$trace" .ravtrace)
  # Offsets: version and geometry fields, the first chunk frame (the header
  # size is the u32 at byte 24), its payload, the middle, near the end.
  hs=$(od -An -tu4 -j24 -N4 "$trace" | tr -d ' ')
  size=$(wc -c <"$trace")
  for off in 9 20 $((hs + 1)) $((hs + 6)) $((hs + 45)) $((size / 2)) $((size - 20)); do
    damaged="$work/$name-flip-$off.ravtrace"
    cp "$trace" "$damaged"
    # Invert the byte at $off.
    byte=$(od -An -tu1 -j "$off" -N1 "$trace" | tr -d ' ')
    printf "$(printf '\\%03o' $((255 - byte)))" | dd of="$damaged" bs=1 seek="$off" conv=notrunc 2>/dev/null
    expect 1 "$rt" validate "$damaged"
    contains "INVALID" "$out"
    expect_sane "$rt" stats "$damaged"
  done
  ;;

*)
  echo "test-cli.sh: unknown mode '$mode'" >&2
  exit 2
  ;;
esac
if [ -n "$batch" ]; then
  exec 3>&- # the end of the requests: the batch exits, checked as a command is
  wait "$batch_pid"
  rc=$?
  if [ "$rc" -ne 0 ] || [ "$(wc -c <"$batch/checker")" -ne "$checked" ]; then
    echo "ravtrace-batch itself: exit $rc"
    tail -c +$((checked + 1)) "$batch/checker"
    exit 1
  fi
fi
echo "all checks passed"
