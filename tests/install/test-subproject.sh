#!/bin/bash
# test-subproject.sh SOURCE_ROOT - ravscope as a meson subproject.
#
# docs/examples/meson.build (dependency('ravioli')) in a fresh directory,
# with this source tree as subprojects/ravioli and docs/examples/ravioli.wrap
# as its wrap file (no download: the directory is there), built twice: with
# shared libraries and with -Ddefault_library=static (the recorder must be
# linked whole).  Each program records a trace, which the subproject's own
# ravtrace (found through the wrap's program_names) validates.
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
for mode in shared static; do
  echo "== default_library=$mode"
  if ! meson setup "build-$mode" --wrap-mode=nodownload -Ddefault_library=$mode >"setup-$mode.log" 2>&1; then
    tail -20 "setup-$mode.log"
    echo "FAIL: meson setup with ravscope as a subproject ($mode)"
    failures=$((failures + 1))
    continue
  fi
  if ! ninja -C "build-$mode" >"build-$mode.log" 2>&1; then
    tail -20 "build-$mode.log"
    echo "FAIL: build with ravscope as a subproject ($mode)"
    failures=$((failures + 1))
    continue
  fi
  if (cd "build-$mode" && meson test --suite myprog --print-errorlogs >test.log 2>&1); then
    echo "ok: $mode: myprog records a trace that the subproject's ravtrace validates"
  else
    tail -30 "build-$mode/test.log"
    echo "FAIL: $mode: recording or validating through the subproject"
    failures=$((failures + 1))
  fi
done
if [ $failures -gt 0 ]; then
  echo "work directory kept: $WORK"
  exit 1
fi
rm -rf "$WORK"
echo "subproject checks passed"
