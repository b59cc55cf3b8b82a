#!/bin/sh
# with-display.sh PROGRAM [ARGS...] - run a GUI test with an X display.
#
# Uses the caller's display when there is one (tools/run-tests.sh runs the
# gui suite under xvfb-run); otherwise starts a private Xvfb on a free
# display number and stops it afterwards.  Exit 77 (skipped) when neither
# exists, so a machine without Xvfb reports the test as skipped, not passed.
set -u
if [ -n "${DISPLAY:-}" ] && command -v xdpyinfo >/dev/null 2>&1 && xdpyinfo >/dev/null 2>&1; then
  exec "$@"
fi
if [ -n "${DISPLAY:-}" ] && ! command -v xdpyinfo >/dev/null 2>&1; then
  exec "$@"
fi
command -v Xvfb >/dev/null 2>&1 || { echo "with-display: no DISPLAY and no Xvfb: skipped"; exit 77; }
disp=""
for n in $(seq 150 250); do
  if [ ! -e /tmp/.X$n-lock ] && [ ! -e /tmp/.X11-unix/X$n ]; then disp=$n; break; fi
done
[ -n "$disp" ] || { echo "with-display: no free display number"; exit 1; }
Xvfb ":$disp" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xpid=$!
i=0
while [ ! -e /tmp/.X11-unix/X$disp ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
DISPLAY=":$disp" GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none NO_AT_BRIDGE=1 "$@"
rc=$?
kill "$xpid" 2>/dev/null
wait "$xpid" 2>/dev/null
exit $rc
