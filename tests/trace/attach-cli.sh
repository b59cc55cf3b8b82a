#!/bin/bash
# attach-cli.sh - `ravtrace list` and `ravtrace attach` as a newcomer runs them.
#
#   attach-cli.sh RAVTRACE ATTACH_TARGET WORKDIR
#
# attach-target is started in the background with no tracing variable (as
# README's "Attach to a running program" does with ./myprog &), then:
#   - `ravtrace list` (and --json) names its PID;
#   - `ravtrace attach PID -o FILE --seconds 1` exits 0, says it detached,
#     and FILE validates and says it is an attach recording;
#   - `ravtrace attach PID --stats` stopped with SIGINT prints the header and
#     one row per second (also while the program is between rounds);
#   - a second client is refused with "already attached by PID N" and exit
#     1, and the file it was asked to write over is left as it was;
#   - a PID nobody listens on gives exit 1 and a sentence, usage errors 2;
#   - the program's output is the same as an unattached run's;
#   - a program that closes the session's socket itself (every descriptor
#     above 2 in main(), attached before main) is said to still run.
# The library-level situations (SIGKILL, garbage, exits, crashes, losses)
# are in attach-session.c; this checks the command line on top of them.
# RAV_TEST_WRAPPER (the valgrindscripts setup) runs the recording, the
# refused attach and the error cases under the checker (its error exit
# code is 99); --stats, whose rows are timed, runs unwrapped.
set -u
WRAP=${RAV_TEST_WRAPPER:-}
RT=$(realpath "$1") TARGET=$(realpath "$2") WORK=$3
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
unset RAVIOLI_TRACE RAVIOLI_LISTEN RAVIOLI_TRACE_ACCESS

# rounds of 2 ms: the program must outlive the checks (longer when each
# ravtrace command runs under the checker); once they are done, SIGUSR1
# has it finish the remaining rounds without pausing
ROUNDS=15000
[ -n "$WRAP" ] && ROUNDS=60000
# (SIGUSR1 ignored until the program installs its handler: never fatal)
(trap '' USR1 && exec "$TARGET" --rounds $ROUNDS --pace-us 2000 >plain.out 2>plain.err) &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
# wait until it listens (the socket appears once its listener thread runs);
# the waits of this script are bounds of 60 s, left as soon as what they
# wait for happens: fixed sleeps failed on a loaded machine
for _ in $(seq 600); do
  "$RT" list --json 2>/dev/null | grep -q "\"pid\": $PID," && break
  sleep 0.1
done

$WRAP "$RT" list >list.out 2>&1
if grep -Eq "^ *$PID " list.out; then pass "list names $PID"; else fail "list: $(cat list.out)"; fi

$WRAP "$RT" attach $PID -o rec.ravtrace --seconds 1 >attach.out 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "detached from process $PID; it keeps running" attach.out; then
  pass "attach -o --seconds 1"
else
  fail "attach -o exit $rc: $(cat attach.out)"
fi
if $WRAP "$RT" validate rec.ravtrace >validate.out 2>&1; then pass "$(cat validate.out)"; else fail "validate: $(cat validate.out)"; fi
if "$RT" info rec.ravtrace 2>&1 | grep -q "attached to process $PID; the client detached"; then
  pass "info says it is an attach recording"
else
  fail "info: $("$RT" info rec.ravtrace 2>&1 | grep session)"
fi

# Every heap is snapshotted once its thread makes an engine call: within
# 1 s here, unless a thread got no CPU for that long (seen under ASan at
# load 28: "heaps_pending": 1), so longer recordings are tried before
# that counts as a failure.
every_heap() {
  "$RT" info --json "$1" 2>&1 | python3 -c '
import json, sys
s = json.load(sys.stdin)["session"]
sys.exit(not (s["end"] == "detached" and s["heaps_pending"] == 0 and s["heaps_snapshotted"] >= 2))'
}
REC=rec.ravtrace
for secs in 5 20; do
  every_heap $REC && break
  echo "(a heap not snapshotted in $REC: recording again for $secs s)"
  REC=rec-$secs.ravtrace
  "$RT" attach $PID -o $REC --seconds $secs >/dev/null 2>&1
done
if every_heap $REC; then
  pass "info --json: the session, every heap snapshotted"
else
  fail "info --json session: $("$RT" info --json $REC 2>&1 | grep session)"
fi

# A thread asleep outside the engine (the main thread between slow rounds)
# is snapshotted only at its next engine call: info says so.
"$TARGET" --rounds 2 --pace-us 4000000 >slow.out 2>&1 &
SLOW=$!
for _ in $(seq 600); do
  "$RT" list --json 2>/dev/null | grep -q "\"pid\": $SLOW," && break
  sleep 0.1
done
sleep 0.3
"$RT" attach $SLOW -o slow.ravtrace --seconds 1 >slow-attach.out 2>&1
if grep -q "not snapshotted yet" slow-attach.out && "$RT" info slow.ravtrace 2>&1 | grep -q "^snapshot .* not yet"; then
  pass "pending heaps: $(grep '^snapshot' <("$RT" info slow.ravtrace 2>&1))"
else
  fail "pending heaps not reported: $(cat slow-attach.out; "$RT" info slow.ravtrace 2>&1 | head -12)"
fi
kill $SLOW 2>/dev/null
wait $SLOW 2>/dev/null

# --stats: header at once, a row per statistics record until Ctrl-C.
"$RT" attach $PID --stats >stats.out 2>stats.err &
SPID=$!
for _ in $(seq 600); do
  [ "$(grep -cE '^ *[0-9.]+s ' stats.out)" -ge 2 ] && break
  sleep 0.1
done
kill -INT $SPID
wait $SPID
rc=$?
rows=$(grep -cE '^ *[0-9.]+s ' stats.out)
if [ $rc -eq 0 ] && head -1 stats.out | grep -q "EVENTS/S" && [ "$rows" -ge 2 ] &&
  grep -q "events counted in" stats.err; then
  pass "attach --stats: $rows rows, $(grep counted stats.err)"
else
  fail "attach --stats exit $rc, $rows rows: $(cat stats.out stats.err)"
fi
# FREES/S counts cells freed: the target's live cells stay a few hundred, so
# over the rows its frees exceed its allocations by at most those (the
# holes a message's arrival makes of empty cells are no frees; counted as
# frees they added ~8000 a second at this pace).
excess=$(awk '/^ *[0-9.]+s /{t=$1; sub(/s$/, "", t); d += ($4 - $3) * (t - p); p = t} END {printf "%d", d}' stats.out)
if [ "$excess" -le 1000 ]; then
  pass "attach --stats: frees exceed allocations by $excess over the rows"
else
  fail "attach --stats: frees exceed allocations by $excess (arrival holes counted as frees?): $(cat stats.out)"
fi

# A second client: refused, and the file it named is not touched.  The
# first client stays attached until told to detach (SIGINT, as Ctrl-C):
# a fixed duration could end before a slow (memcheck) second client runs.
"$RT" attach $PID -o first.ravtrace --seconds 600 >first.out 2>&1 &
FPID=$!
for _ in $(seq 600); do
  grep -q "attached to process" first.out && break
  sleep 0.1
done
echo "keep me" >mine.txt
$WRAP "$RT" attach $PID -o mine.txt --seconds 1 >second.out 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "already attached by PID $FPID" second.out; then
  pass "second client: $(cat second.out)"
else
  fail "second client exit $rc: $(cat second.out)"
fi
if [ "$(cat mine.txt)" = "keep me" ]; then pass "refused attach left -o FILE as it was"; else fail "refused attach changed mine.txt"; fi
"$RT" attach $PID -o new.ravtrace --seconds 1 >/dev/null 2>&1
[ -e new.ravtrace ] && fail "refused attach left new.ravtrace behind" || pass "refused attach created no file"
kill -INT $FPID
wait $FPID || fail "first client exit $?: $(cat first.out)"

# Errors.
$WRAP "$RT" attach 2147483647 -o x.ravtrace >nobody.out 2>&1
rc=$?
if [ $rc -eq 1 ] && [ -s nobody.out ] && [ ! -e x.ravtrace ]; then pass "no such program: $(cat nobody.out)"; else fail "no such program: exit $rc: $(cat nobody.out)"; fi
for args in "attach" "attach $PID" "attach notapid -o x" "attach $PID --seconds=-1 -o x" "attach $PID --queue=1 -o x"; do
  # shellcheck disable=SC2086
  $WRAP "$RT" $args >usage.out 2>&1
  rc=$?
  if [ $rc -eq 2 ]; then pass "usage error ($args): $(head -1 usage.out)"; else fail "'$args' exit $rc: $(cat usage.out)"; fi
done

# The program ends as if nobody had attached.
kill -USR1 $PID 2>/dev/null
wait $PID
rc=$?
trap - EXIT
"$TARGET" --rounds $ROUNDS --pace-us 0 >quiet.out 2>quiet.err
if [ $rc -eq 0 ] && cmp -s plain.out quiet.out && [ ! -s plain.err ]; then
  pass "the program's output and status are unchanged"
else
  fail "program exit $rc, output $(cat plain.out) vs $(cat quiet.out), stderr $(cat plain.err)"
fi

# A program that closes every descriptor above 2 at its start (as daemons
# do), attached to before main() (RAVIOLI_LISTEN_WAIT, as `ravscope -- PROG`
# starts it): its main() closes the session's socket.  The client says the
# program still runs and closed the connection itself (it said the program
# was killed or left through _exit()), and attaching again works.
(trap '' USR1 && RAVIOLI_LISTEN_WAIT=60 exec "$TARGET" --close-fds --rounds $ROUNDS --pace-us 2000 \
  >daemon.out 2>daemon.err) &
DPID=$!
trap 'kill $PID $DPID 2>/dev/null' EXIT
for _ in $(seq 600); do
  "$RT" list --json 2>/dev/null | grep -q "\"pid\": $DPID," && break
  sleep 0.1
done
"$RT" attach $DPID -o daemon1.ravtrace --seconds 30 >daemon1.out 2>&1
if grep -q "process $DPID closed the stream without an end record and still runs" daemon1.out; then
  pass "a program that closed the connection: $(tail -1 daemon1.out)"
else
  fail "a program that closed the connection: $(cat daemon1.out)"
fi
ok=
for _ in $(seq 60); do
  if "$RT" attach $DPID -o daemon2.ravtrace --seconds 1 >daemon2.out 2>&1; then ok=1; break; fi
  sleep 1
done
if [ -n "$ok" ] && grep -q "detached from process $DPID" daemon2.out; then
  pass "attach again after it closed the connection"
else
  fail "attach again after it closed the connection: $(cat daemon2.out)"
fi
kill -USR1 $DPID 2>/dev/null
wait $DPID
rc=$?
trap - EXIT
if [ $rc -eq 0 ] && grep -q "pipes intact" daemon.out; then
  pass "the program that closed its descriptors ends well: $(tail -1 daemon.out)"
else
  fail "the program that closed its descriptors: exit $rc, $(cat daemon.out) $(cat daemon.err)"
fi

if [ $FAILURES -ne 0 ]; then
  echo "$FAILURES failure(s); work directory kept: $WORK"
  exit 1
fi
rm -rf "$WORK"
