#!/bin/sh
# tools/run-demo.sh - quick start, command 1: install what is missing, build,
# and show ravscope on a bundled demo trace.
#
# With a display the viewer opens the demo.  Without one (ssh, CI) the same
# view is rendered to out/demo.png.  Either way the demo's `ravtrace info`
# and `ravtrace stats` are printed, so the command is useful on any machine.
# If the viewer is not built (no GTK, -Dgui=disabled) it falls back to a
# sample program's own heap summary.
#
# Environment: BUILD_DIR (default: build), DEMO (sample name, default:
# messages), OUT (default: out/demo.png).
set -eu

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DEMO=${DEMO:-messages}
OUT=${OUT:-out/demo.png}

sh tools/deps.sh

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR"
fi
ninja -C "$BUILD_DIR" -j 2

trace="$BUILD_DIR/samples/$DEMO.ravtrace"
ravtrace="$BUILD_DIR/trace/cli/ravtrace"
ravscope="$BUILD_DIR/gui/ravscope"

if [ ! -f "$trace" ]; then
  echo "run-demo: no demo trace at $trace: running the sample program instead"
  exec "$BUILD_DIR/samples/rav-sample-$DEMO"
fi

if [ -x "$ravtrace" ]; then
  echo "== ravtrace info $trace"
  "$ravtrace" info "$trace"
  echo
  echo "== ravtrace stats $trace"
  "$ravtrace" stats "$trace"
  echo
fi

if [ -x "$ravscope" ]; then
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${CI:-}" ]; then
    echo "run-demo: opening $trace in ravscope"
    exec "$ravscope" "$trace"
  fi
  mkdir -p "$(dirname "$OUT")"
  "$ravscope" --render "$OUT" "$trace"
  echo "run-demo: no display: rendered the heap view of $trace to $(pwd)/$OUT"
else
  echo "run-demo: the viewer is not built here; heap summary of the sample:"
  "$BUILD_DIR/samples/rav-sample-$DEMO"
fi
