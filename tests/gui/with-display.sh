#!/bin/sh
# with-display.sh PROGRAM [ARGS...] - run a GUI test with an X display.
#
# Each test gets its own Xvfb (1600x1000x24) when Xvfb is installed, even
# when the caller has a display: the gui suite then runs its window tests
# side by side (meson test --num-processes N) without one test's windows,
# focus or clipboard reaching another's, and never on the desktop of whoever
# runs the tests.  Xvfb -displayfd picks a free display number itself (two
# tests starting at once cannot take the same one) and reports it once the
# server is ready.  RAV_TEST_USE_DISPLAY=1 runs on the caller's $DISPLAY
# instead (to watch a test).  Without Xvfb the caller's display is used when
# there is one; otherwise exit 77 (skipped), so a machine without a display
# reports the test as skipped, not passed.
set -u
if [ "${RAV_TEST_USE_DISPLAY:-}" = 1 ] || ! command -v Xvfb >/dev/null 2>&1; then
  [ -n "${DISPLAY:-}" ] && exec "$@"
  echo "with-display: no DISPLAY and no Xvfb: skipped"
  exit 77
fi
dispfile=$(mktemp "${TMPDIR:-/tmp}/with-display.XXXXXX") || exit 1
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$dispfile" >/dev/null 2>&1 &
xpid=$!
stop_xvfb() {
  kill "$xpid" 2>/dev/null
  wait "$xpid" 2>/dev/null
  rm -f "$dispfile"
}
trap 'stop_xvfb; exit 143' TERM INT HUP
# The number is written (newline-terminated) when the server accepts
# connections; 30 s for a loaded machine.
disp=""
i=0
while [ $i -lt 600 ]; do
  disp=$(sed -n '1s/^\([0-9][0-9]*\)$/\1/p' "$dispfile")
  [ -n "$disp" ] && break
  kill -0 "$xpid" 2>/dev/null || break
  sleep 0.05
  i=$((i + 1))
done
if [ -z "$disp" ]; then
  echo "with-display: Xvfb did not start"
  stop_xvfb
  exit 1
fi
DISPLAY=":$disp" GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none NO_AT_BRIDGE=1 "$@"
rc=$?
stop_xvfb
exit $rc
