#!/bin/sh
# run-traced.sh - run an engine test with recording on, then validate the trace.
#
# Usage: run-traced.sh PROGRAM RAVTRACE TRACE-FILE [PROGRAM ARGS...]
# The engine promises that its recorded events describe every write it makes
# to heap memory (rav-record.h), so replaying a trace of random work must
# rebuild exactly the heaps the program had: `ravtrace validate` replays it.
set -u
prog=$1
ravtrace=$2
trace=$3
shift 3
rm -f "$trace"
RAVIOLI_TRACE=$trace "$prog" "$@" >/dev/null
status=$?
if [ "$status" -ne 0 ]; then
	echo "FAIL: $prog exited with status $status while recording"
	exit 1
fi
if ! "$ravtrace" validate "$trace"; then
	echo "FAIL: the trace of $prog $* does not replay (kept: $trace)"
	exit 1
fi
rm -f "$trace"
echo "ok: recorded and replayed $prog $*"
