#!/bin/sh
# live-sigterm.sh RAVSCOPE ATTACH_TARGET WORKDIR - ravscope ended by a signal
# (SIGTERM: kill, a session logging out; SIGHUP: its terminal closed;
# SIGINT, Ctrl-C, the same, but a shell's background job ignores it) does
# what closing its window does (run under with-display.sh):
#   - a program it started (`ravscope -- PROG`, Run Program) ends with it;
#     killed, ravscope used to leave it running on its own (and killed with
#     SIGKILL, or its display gone, until attach15);
#   - a program it attached to (`ravscope --attach PID`) runs on, and can be
#     attached to again at once.
set -u
RS=$1 TARGET=$2 WORK=$3
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }
rm -rf "$WORK" && mkdir -p "$WORK/run" && chmod 700 "$WORK/run" || exit 1
export XDG_RUNTIME_DIR="$WORK/run"
unset RAVIOLI_TRACE RAVIOLI_LISTEN

# the program's pid once it listens (its socket), 60 s at most
wait_listening() {
  for _ in $(seq 600); do
    for s in "$XDG_RUNTIME_DIR"/ravioli/*.sock; do
      [ -e "$s" ] && { basename "$s" .sock; return 0; }
    done
    sleep 0.1
  done
  return 1
}
# a process that is gone or a zombie
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^[^)]*) [ZX]' "/proc/$1/stat" 2>/dev/null; }
wait_gone() {
  for _ in $(seq 150); do gone "$1" && return 0; sleep 0.1; done
  return 1
}

# KILL: ravscope dies without running its end (as when its X display goes
# away: GTK leaves at once); the program it started gets SIGTERM from the
# kernel (PR_SET_PDEATHSIG) instead of running on alone.
for sig in TERM HUP KILL; do
  # the signal at its default: a shell or CI runner started under nohup
  # hands SIGHUP on ignored, and ravscope keeps a signal ignored at its
  # start ignored (as it must)
  if [ "$sig" = KILL ]; then
    "$RS" -- "$TARGET" --rounds 1000000 --pace-us 2000 >"$WORK/started-$sig.out" 2>&1 &
  else
    env --default-signal="$sig" "$RS" -- "$TARGET" --rounds 1000000 --pace-us 2000 >"$WORK/started-$sig.out" 2>&1 &
  fi
  RPID=$!
  TPID=$(wait_listening) || { fail "SIG$sig: the started program never listened"; kill "$RPID"; continue; }
  sleep 2 # the session runs
  kill -"$sig" "$RPID"
  if wait_gone "$RPID"; then pass "SIG$sig: ravscope ended"; else fail "SIG$sig: ravscope still runs"; kill -9 "$RPID"; fi
  wait "$RPID" 2>/dev/null
  if wait_gone "$TPID"; then
    pass "SIG$sig: the program ravscope started ended with it"
  else
    fail "SIG$sig: the program ravscope started runs on without it"
    kill -9 "$TPID"
  fi
  rm -f "$XDG_RUNTIME_DIR"/ravioli/*.sock
done

# Attached: the program runs on.
(trap '' USR1 && exec "$TARGET" --rounds 1000000 --pace-us 2000 >"$WORK/attached.out" 2>&1) &
TPID=$!
wait_listening >/dev/null || fail "the program never listened"
"$RS" --attach "$TPID" >"$WORK/attach.out" 2>&1 &
RPID=$!
sleep 3 # attached
kill -TERM "$RPID"
wait_gone "$RPID" || { fail "ravscope --attach still runs after SIGTERM"; kill -9 "$RPID"; }
wait "$RPID" 2>/dev/null
sleep 1
if gone "$TPID"; then fail "the program ravscope attached to ended with it"; else pass "the program ravscope attached to runs on"; fi
kill "$TPID" 2>/dev/null
wait "$TPID" 2>/dev/null

if [ $FAILURES -ne 0 ]; then
  echo "$FAILURES failure(s); work directory kept: $WORK"
  exit 1
fi
rm -rf "$WORK"
