#!/bin/sh
# record-demo.sh OUTPUT ACCESS PROGRAM [ARGS...] - record a demo trace at build time.
#
# meson's custom_target cannot put @OUTPUT@ into an environment variable,
# so this wrapper does it.  ACCESS=1 also records memory accesses.  The
# program's own output goes to OUTPUT.log (kept for looking at when a
# sample misbehaves) so the build log stays quiet.
set -eu
out=$1
access=$2
shift 2
rm -f "$out" "$out.log"
if [ "$access" = 1 ]; then
  RAVIOLI_TRACE_ACCESS=1
  export RAVIOLI_TRACE_ACCESS
else
  unset RAVIOLI_TRACE_ACCESS
fi
RAVIOLI_TRACE=$out
export RAVIOLI_TRACE
if ! "$@" >"$out.log" 2>&1; then
  echo "record-demo: '$*' failed; its output:" >&2
  cat "$out.log" >&2
  rm -f "$out"
  exit 1
fi
if [ ! -s "$out" ]; then
  echo "record-demo: '$*' ran but wrote no trace to $out (is tracing compiled in?)" >&2
  exit 1
fi
