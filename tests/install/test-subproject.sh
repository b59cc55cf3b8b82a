#!/bin/bash
# test-subproject.sh SOURCE_ROOT - ravscope as a meson subproject.
#
# docs/examples/meson.build (dependency('ravioli')) in a fresh directory,
# with this source tree as subprojects/ravioli and docs/examples/ravioli.wrap
# as its wrap file (no download: the directory is there), built twice: with
# shared libraries and with -Ddefault_library=static (the recorder must be
# linked whole).  Each program records a trace, which the subproject's own
# ravtrace (found through the wrap's program_names) validates.
#
# Both modes use one build directory, configured shared and then
# reconfigured static: lib/ builds the shared and the static libraries from
# the same objects whatever default_library says (only the dependency it
# hands the superproject differs), so the second mode compiles nothing of
# the subproject again and links myprog anew; a fresh directory per mode
# compiled the whole library twice (half of this test's 190 s in CI).  The
# static mode is checked to be one (myprog needs no libravioli.so).  Only
# what the superproject uses is built: myprog and ravtrace (the test's
# targets), not the subproject's other programs (ravtrace-batch).
set -u
[ $# -eq 1 ] || { echo "usage: $0 SOURCE_ROOT" >&2; exit 2; }
SOURCE_ROOT=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ravscope-subproject-test.XXXXXX") || exit 1
unset RAVIOLI_TRACE RAVIOLI_TRACE_ACCESS
cd "$WORK" || exit 1
cp "$SOURCE_ROOT/docs/examples/myprog.c" "$SOURCE_ROOT/docs/examples/meson.build" .
mkdir subprojects
ln -s "$SOURCE_ROOT" subprojects/ravioli
cp "$SOURCE_ROOT/docs/examples/ravioli.wrap" subprojects/
# The superproject also asks for the subproject's ravtrace, as a user's
# test or custom_target would.
cat >>meson.build <<'EOM'
ravtrace = find_program('ravtrace')
test('trace-validates', find_program('sh'), args: ['-c',
  'RAVIOLI_TRACE=t.ravtrace "$1" 200 && "$2" validate t.ravtrace', 'sh', exe_myprog, ravtrace])
EOM
sed -i "s/^executable('myprog'/exe_myprog = executable('myprog'/" meson.build

failures=0
# build_and_test MODE: build what the superproject's test needs, run it
build_and_test() {
  local mode=$1
  # the superproject's targets: myprog, and the ravtrace its test runs
  local targets
  targets=$(cd build && meson introspect --targets | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and t["name"] in ("myprog", "ravtrace"):
        print(os.path.relpath(t["filename"][0]))') || return 1
  # shellcheck disable=SC2086 # one target per word
  if ! ninja -C build $targets >"build-$mode.log" 2>&1; then
    tail -20 "build-$mode.log"
    echo "FAIL: build with ravscope as a subproject ($mode)"
    return 1
  fi
  if [ "$mode" = static ] && readelf -d build/myprog | grep -q 'NEEDED.*libravioli'; then
    echo "FAIL: static: myprog still needs a shared libravioli: $(readelf -d build/myprog | grep NEEDED)"
    return 1
  fi
  if [ "$mode" = shared ] && ! readelf -d build/myprog | grep -q 'NEEDED.*libravioli\.so'; then
    echo "FAIL: shared: myprog does not need libravioli.so: $(readelf -d build/myprog | grep NEEDED)"
    return 1
  fi
  if (cd build && meson test --no-rebuild --suite myprog --print-errorlogs >"test-$mode.log" 2>&1); then
    echo "ok: $mode: myprog records a trace that the subproject's ravtrace validates"
  else
    tail -30 "build/test-$mode.log"
    echo "FAIL: $mode: recording or validating through the subproject"
    return 1
  fi
}
echo "== default_library=shared"
if ! meson setup build --wrap-mode=nodownload -Ddefault_library=shared >setup-shared.log 2>&1; then
  tail -20 setup-shared.log
  echo "FAIL: meson setup with ravscope as a subproject (shared)"
  failures=$((failures + 1))
else
  build_and_test shared || failures=$((failures + 1))
  echo "== default_library=static"
  # (meson 1.0 keeps a subproject's default_library when only the
  # superproject's changes: both are set, as a fresh setup would)
  if ! meson configure build -Ddefault_library=static -Dravioli:default_library=static \
    >setup-static.log 2>&1; then
    tail -20 setup-static.log
    echo "FAIL: meson configure -Ddefault_library=static with ravscope as a subproject"
    failures=$((failures + 1))
  else
    build_and_test static || failures=$((failures + 1))
  fi
fi
if [ $failures -gt 0 ]; then
  echo "work directory kept: $WORK"
  exit 1
fi
rm -rf "$WORK"
echo "subproject checks passed"
