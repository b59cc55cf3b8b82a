#!/bin/bash
# test-uninstalled-pc.sh - the build tree's pkg-config files, as a user
# tries ravscope without installing it:
#
#   test-uninstalled-pc.sh BUILD_ROOT SOURCE_ROOT
#
# With PKG_CONFIG_PATH=BUILD_ROOT/meson-uninstalled, from a directory
# outside both trees: docs/examples/myprog.c built with
# `cc $(pkg-config --cflags --libs ravioli)` (and ravioli-engine) and run
# with its trace recorded, and tests/install/count-events.c built with
# ravtrace's flags reading that trace back.  The Cflags must name the
# directories of ravioli.h, the generated rav-config.h and ravtrace.h.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
  exit 2
fi
BUILD_ROOT=$(cd "$1" && pwd) SOURCE_ROOT=$(cd "$2" && pwd)
if ! command -v pkg-config >/dev/null || ! command -v cc >/dev/null; then
  echo "SKIP: needs pkg-config and cc"
  exit 77
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ravscope-uninstalled-pc.XXXXXX") || exit 1
FAILURES=0
fail() {
  echo "FAIL: $*"
  FAILURES=$((FAILURES + 1))
}
pass() { echo "ok: $*"; }
cd "$WORK" || exit 1
export PKG_CONFIG_PATH=$BUILD_ROOT/meson-uninstalled
unset PKG_CONFIG_LIBDIR RAVIOLI_TRACE RAVIOLI_TRACE_ACCESS
export LD_LIBRARY_PATH=$BUILD_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cp "$SOURCE_ROOT/docs/examples/myprog.c" "$SOURCE_ROOT/tests/install/count-events.c" .

for pc in ravioli ravioli-engine ravtrace; do
  if flags=$(pkg-config --cflags "$pc" 2>&1); then
    echo "$pc: $flags"
  else
    fail "pkg-config --cflags $pc: $flags"
  fi
done

# shellcheck disable=SC2046
if cc -Wall -Wextra -Werror myprog.c -o myprog $(pkg-config --cflags --libs ravioli) -pthread 2>cc.err; then
  if RAVIOLI_TRACE=myprog.ravtrace ./myprog 200 >run.out 2>&1 && [ -s myprog.ravtrace ]; then
    pass "myprog built with ravioli-uninstalled.pc records a trace"
  else
    fail "myprog built with ravioli-uninstalled.pc: $(cat run.out)"
  fi
else
  fail "cc myprog.c \$(pkg-config --cflags --libs ravioli) on the build tree: $(head -5 cc.err)"
fi
# shellcheck disable=SC2046
if cc -Wall -Wextra -Werror myprog.c -o myprog-engine $(pkg-config --cflags --libs ravioli-engine) -pthread 2>cc.err; then
  if ./myprog-engine 200 >run.out 2>&1; then
    pass "myprog built with ravioli-engine-uninstalled.pc runs"
  else
    fail "myprog-engine: $(cat run.out)"
  fi
else
  fail "cc myprog.c \$(pkg-config --cflags --libs ravioli-engine) on the build tree: $(head -5 cc.err)"
fi
# shellcheck disable=SC2046
if cc -Wall -Wextra -Werror count-events.c -o count-events $(pkg-config --cflags --libs ravtrace) 2>cc.err; then
  if [ -s myprog.ravtrace ] && got=$(./count-events myprog.ravtrace 2>&1); then
    pass "count-events built with ravtrace-uninstalled.pc reads the trace: $got"
  else
    fail "count-events: ${got:-no trace}"
  fi
else
  fail "cc count-events.c \$(pkg-config --cflags --libs ravtrace) on the build tree: $(head -5 cc.err)"
fi

if [ "$FAILURES" -ne 0 ]; then
  echo "$FAILURES failure(s); work directory kept: $WORK"
  exit 1
fi
rm -rf "$WORK"
exit 0
