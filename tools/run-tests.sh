#!/bin/bash
# tools/run-tests.sh - quick start, command 2 (and what CI runs): install what
# is missing, build, and run every test and checker ravscope has.
#
# Steps, each in its own build directory so they never disturb each other:
#   1. build/        meson test, every suite but gui
#   2. build/        engine + trace suites again under memcheck (setup
#                    'valgrind'; RAV_TEST_SMALL=1 shrinks the randomized
#                    tests so this stays within minutes); test scripts run
#                    the programs they drive under memcheck instead (setup
#                    'valgrindscripts')
#   3. build-asan/   ASan + UBSan build, engine + trace suites, and the
#                    viewer's headless tests (suite 'headless': --render),
#                    all with RAV_TEST_SMALL=1 as under memcheck (the suite
#                    step runs them at full size): at full size the tests of
#                    suite 'large' were 60% of the summed test time here,
#                    and the randomized ones most of the rest
#   4. build-tsan/   TSan build, the multithreaded tests (suite 'threads'),
#                    with RAV_TEST_SMALL=1 as under memcheck
#   5. build-fuzz/   clang libFuzzer targets from trace/fuzz and gui/fuzz, JOBS
#                    of them side by side, from the committed seeds, in
#                    FUZZ_SECONDS of wall time in all (each target gets
#                    FUZZ_SECONDS * JOBS / targets, at least 5 s)
#   6. build/        gui suite, TEST_JOBS tests side by side, each window test
#                    on its own Xvfb (tests/gui/with-display.sh)
# The sanitizer directories build only what their tests need.  Each step's
# summary line gives its wall time, its CPU time and its build time: CI has
# 90 minutes on 2 cores, and the whole run should stay well under 15.
# A step that cannot apply here (no fuzz targets yet, no GUI) is reported as
# skipped, never silently passed.  The last line is "N passed, N failed" over
# all tests of all steps; the exit status is non-zero if anything failed.
# Above it, for each failed step, the tests that failed and the tail of
# their output (tools/test-report.py), so that a CI log's summary alone says
# what failed; each step's log ends with its 15 slowest tests.
#
# Tests run TEST_JOBS at a time, twice JOBS (the cores): most of them wait
# far more than they compute (programs attached over sockets, threads
# handing work to each other, windows drawn on Xvfb): in the suite step
# the tests used 185 s of CPU in 200 s on 2 cores, one core idle.  The
# checkers' two runs of a step (memcheck: programs and scripts; ASan: the
# small 'large' tests and the rest) run side by side, each with half.
#
# Environment: FUZZ_SECONDS (default 30), STEPS (space-separated subset of
# "suite valgrind asan tsan fuzz gui"), JOBS (default 2: the build's jobs
# and fuzz targets side by side), TEST_JOBS (default 2 * JOBS).
set -u

cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
TEST_JOBS=${TEST_JOBS:-$((2 * JOBS))}
HALF_JOBS=$(((TEST_JOBS + 1) / 2))
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
STEPS=${STEPS:-suite valgrind asan tsan fuzz gui}
LOGDIR="$ROOT/out/test-logs"
mkdir -p "$LOGDIR"

bash tools/deps.sh || { echo "run-tests: installing dependencies failed"; echo "0 passed, 1 failed"; exit 1; }

T_PASS=0
T_FAIL=0
T_SKIP=0
SUMMARY=()
START_ALL=$(date +%s)

want() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# CPU seconds (user + system) of every child process waited for so far:
# the difference over a step is its CPU time, which a loaded machine
# inflates far less than the wall time.
# Sets CPU (in this shell: `times` in a $(...) subshell would count none).
cpu_seconds() {
  times >"$LOGDIR/.times"
  CPU=$(tail -n 1 "$LOGDIR/.times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
    printf "%d\n", n + 0.5 }')
}

cpu_seconds
CPU_MARK=$CPU # after deps.sh

# record NAME PASS FAIL SKIP SECONDS NOTE
record() {
  T_PASS=$((T_PASS + $2))
  T_FAIL=$((T_FAIL + $3))
  T_SKIP=$((T_SKIP + $4))
  local verdict=ok
  [ "$3" -gt 0 ] && verdict=FAILED
  [ "$2" -eq 0 ] && [ "$3" -eq 0 ] && verdict=skipped
  cpu_seconds
  SUMMARY+=("$(printf '%-9s %-8s %4d passed %4d failed %4d skipped %5ds (cpu %5ds)  %s' \
    "$1" "$verdict" "$2" "$3" "$4" "$5" $((CPU - CPU_MARK)) "$6")")
  CPU_MARK=$CPU
}

# Count meson test results in a log: "Ok: N", "Fail: N", ...
meson_counts() {
  awk '
    /^Ok:/ { ok += $2 }
    /^Expected Fail:/ { ok += $3 }
    /^Fail:/ { fail += $2 }
    /^Unexpected Pass:/ { fail += $3 }
    /^Timeout:/ { fail += $2 }
    /^Skipped:/ { skip += $2 }
    END { printf "%d %d %d\n", ok, fail, skip }' "$1"
}

# setup_dir DIR [meson options...]: configure once, reconfigure if options change.
setup_dir() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# build_for_tests DIR SUITE-OPTIONS...: build only what the tests those
# meson test suite options select need (tools/test-targets.py), for the
# build directories whose steps run a few suites: meson 1.0's `meson test`
# builds everything first (the viewer's other tests, the benchmarks).
# Their tests then run with --no-rebuild.
build_for_tests() {
  local dir=$1 targets
  shift
  targets=$(python3 tools/test-targets.py "$dir" "$@") || return 1
  # shellcheck disable=SC2086 # one target per word
  ninja -C "$dir" -j "$JOBS" $targets
}

# The times of a step's parts: its snippets print "run-tests: built" after
# configuring and building, so the summary tells build and test time apart.
mark_built() { echo "run-tests: built at $(date +%s)"; }

# mtest ARGS...: meson test (in a step's snippet), TEST_JOBS tests at a
# time (MT_PROCS instead when set), each run with its own JSON log,
# meson-logs/rt-STEP-N*.json, which tools/test-report.py reads for the
# summary (the failed tests and the tails of their output) and for the
# slowest tests at the end of the step's log.
mtest() {
  MT_N=$((MT_N + 1))
  meson test --num-processes "${MT_PROCS:-$TEST_JOBS}" --print-errorlogs --logbase "rt-$STEP-$MT_N" "$@"
}

# side_by_side LOG ARGS...: mtest ARGS in the background with half of
# TEST_JOBS, its output into LOG, shown by side_done once it is done (two
# runs' lines never interleave, so meson_counts sees both summaries
# whole).  The caller runs its other half meanwhile (MT_PROCS=$HALF_JOBS)
# and then calls side_done, which returns the background run's status.
side_by_side() {
  local log=$1
  shift
  MT_N=$((MT_N + 1)) # this run's number: the caller's next mtest takes the one after
  (MT_N=$((MT_N - 1)) MT_PROCS=$HALF_JOBS mtest "$@") >"$log" 2>&1 &
  SIDE_PID=$!
  SIDE_LOG=$log
}
side_done() {
  local rc=0
  wait "$SIDE_PID" || rc=$?
  cat "$SIDE_LOG"
  rm -f "$SIDE_LOG"
  return $rc
}

# What the summary prints after its lines: for each failed step, which
# tests failed and the tail of their output, so that a CI log's summary
# alone says what went wrong.
FAILED_DETAILS=""

# run_meson_step NAME SNIPPET: run a configure+build+test command sequence
# (a shell snippet), then count its meson test results.
run_meson_step() {
  local name=$1 snippet=$2
  local log="$LOGDIR/$name.log"
  local t0 t1 built
  t0=$(date +%s)
  rm -f build*/meson-logs/rt-"$name"-*.json
  echo
  echo "=================== $name ==================="
  bash -c "set -o pipefail; STEP=$name; MT_N=0; JOBS=$JOBS; TEST_JOBS=$TEST_JOBS; HALF_JOBS=$HALF_JOBS
    LOGDIR='$LOGDIR'
    $(declare -f setup_dir build_for_tests mark_built mtest side_by_side side_done); $snippet" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local jlogs=(build*/meson-logs/rt-"$name"-*.json)
  [ -e "${jlogs[0]}" ] || jlogs=()
  t1=$(date +%s)
  local counts
  counts=$(meson_counts "$log")
  read -r p f s <<<"$counts"
  local note="log: out/test-logs/$name.log"
  built=$(sed -n 's/^run-tests: built at \([0-9]*\)$/\1/p' "$log" | tail -n 1)
  [ -n "$built" ] && note="build $((built - t0))s, tests $((t1 - built))s; $note"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    note="exit status $rc before any test failed (build?): $note"
  fi
  if grep -q '^No suitable tests defined' "$log" && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    note="no tests in this suite yet"
  fi
  record "$name" "$p" "$f" "$s" $((t1 - t0)) "$note"
  if [ "${#jlogs[@]}" -gt 0 ]; then
    { echo; echo "run-tests: the slowest tests of step $name:"; python3 tools/test-report.py slowest 15 "${jlogs[@]}"; } >>"$log"
  fi
  if [ "$f" -gt 0 ]; then
    local details=""
    [ "${#jlogs[@]}" -gt 0 ] && details=$(python3 tools/test-report.py failed "${jlogs[@]}")
    # no test failed: the configure or build did (its last lines say why)
    [ -n "$details" ] || details="  no failed test: the last lines of out/test-logs/$name.log:
$(tail -n 30 "$log" | sed 's/^/    | /')"
    FAILED_DETAILS+="--- $name failed:
$details
"
  fi
}

if want suite; then
  run_meson_step suite "
    setup_dir build && ninja -C build -j $JOBS && mark_built &&
    mtest -C build --no-rebuild --no-suite gui"
fi

if want valgrind; then
  run_meson_step valgrind "
    [ -f build/build.ninja ] || setup_dir build
    ninja -C build -j $JOBS && mark_built || exit 1
    side_by_side \"\$LOGDIR/.valgrind-programs\" -C build --no-rebuild --setup=valgrind \\
      --suite engine --suite trace --no-suite scripts
    MT_PROCS=\$HALF_JOBS mtest -C build --no-rebuild --setup=valgrindscripts --suite scripts --no-suite repeats; r2=\$?
    side_done; r1=\$?
    [ \$r1 -eq 0 ] && [ \$r2 -eq 0 ]"
fi

# -g1 (line tables and functions, as the fuzz build's -gline-tables-only):
# what a sanitizer's report shows; full -g took 13.5% longer to compile.
# (tests/trace's symbols test, which reads its inlined functions, asks
# for -g itself.)
# -O1 rather than -O0 for ASan, measured with the tests small (ci6, a
# loaded machine, CPU seconds): -O0 compiled the step's targets in 72 s
# against 137 s, its tests took 139 s against 95 s (9% less in all), but
# attach-exact-slow and attach-debug-site-held each failed once in its one
# full run under load (passing when rerun alone): not taken.  (ci7: the
# first was speed-dependent, one loss could take every checkpoint, and is
# fixed; the second did not fail in 64 runs at -O0 under load.)
SAN_OPTS="-Dgui=disabled -Dvalgrind=disabled -Db_lundef=false -Dbuildtype=debug -Doptimization=1 -Dc_args=-g1"
if want asan; then
  # The viewer is built too (when GTK is there) for its headless tests.
  run_meson_step asan "
    export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    setup_dir build-asan ${SAN_OPTS/-Dgui=disabled/-Dgui=auto} -Db_sanitize=address,undefined &&
    build_for_tests build-asan --suite engine --suite trace --suite headless && mark_built || exit 1
    # Every test small (RAV_TEST_SMALL=1, as under memcheck): every kind of
    # damage, every hostile class, every randomized operation still runs,
    # on smaller traces and fewer rounds; the plain suite step runs them
    # all at full size.  Suite 'large' side by side with the rest.
    export RAV_TEST_SMALL=1
    side_by_side \"\$LOGDIR/.asan-large\" -C build-asan --no-rebuild --timeout-multiplier 3 --suite large
    mtest -C build-asan --no-rebuild --timeout-multiplier 3 --suite engine --suite trace --suite headless \
      --no-suite large; r2=\$?
    side_done; r1=\$?
    [ \$r1 -eq 0 ] && [ \$r2 -eq 0 ]"
fi

if want tsan; then
  run_meson_step tsan "
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    # TSan slows threaded code 5-15 times, as memcheck does: the randomized
    # and attach tests take the sizes they take under memcheck, which still
    # run every path and every hand-off between threads (what TSan checks
    # is the ordering of each access, not how many there are).
    export RAV_TEST_SMALL=1
    setup_dir build-tsan $SAN_OPTS -Db_sanitize=thread &&
    build_for_tests build-tsan --suite threads && mark_built &&
    mtest -C build-tsan --no-rebuild --timeout-multiplier 3 --suite threads"
fi

if want fuzz; then
  t0=$(date +%s)
  if [ ! -f trace/fuzz/meson.build ]; then
    record fuzz 0 0 0 0 "trace/fuzz not present"
  else
    log="$LOGDIR/fuzz.log"
    echo
    echo "=================== fuzz ==================="
    (
      set -o pipefail
      # Line tables are all the debug information a report needs (file,
      # line, inlined function): full -g made clang take 22% longer on the
      # reader's sources, which UBSan already makes the slowest to compile.
      CC=clang setup_dir build-fuzz ${SAN_OPTS/-Dc_args=-g1/} -Dfuzz=true -Db_sanitize=address,undefined \
        -Dc_args=-gline-tables-only &&
        targets=$(cd build-fuzz && meson introspect --targets | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz-"):
        print(os.path.relpath(t["filename"][0]))') &&
        ninja -C build-fuzz -j "$JOBS" $targets
    ) 2>&1 | tee "$log"
    if [ "${PIPESTATUS[0]}" -ne 0 ]; then
      record fuzz 0 1 0 $(($(date +%s) - t0)) "fuzz build failed: out/test-logs/fuzz.log"
      FAILED_DETAILS+="--- fuzz build failed: the last lines of out/test-logs/fuzz.log
$(tail -n 30 "$log" | sed 's/^/    | /')
"
    else
      # The targets run side by side, JOBS at a time (each is one process
      # on one core), each for FUZZ_SECONDS with its own log.  An input
      # is a hang after 60 s (10 s failed on seeds at load 25, both
      # targets at once on 2 cores).
      t_built=$(date +%s)
      fp=0
      ff=0
      mkdir -p out/fuzz-artifacts
      names=()
      pids=()
      # fuzz_finish I: wait for the I-th target started, count and show it
      fuzz_finish() {
        local flog="$LOGDIR/${names[$1]}.log"
        if wait "${pids[$1]}"; then
          fp=$((fp + 1))
          echo "--- ${names[$1]}: ok"
          tail -n 3 "$flog"
        else
          ff=$((ff + 1))
          echo "--- ${names[$1]}: FAILED (log: out/test-logs/${names[$1]}.log)"
          tail -n 40 "$flog"
          FAILED_DETAILS+="--- fuzz failed: ${names[$1]} (the last 30 lines of out/test-logs/${names[$1]}.log)
$(tail -n 30 "$flog" | sed 's/^/    | /')
"
        fi
        cat "$flog" >>"$log"
      }
      done_upto=0
      # FUZZ_SECONDS is the step's fuzzing wall time: the targets share it
      # (two targets had 30 s each side by side; six have 10 s each, three
      # rounds of two), so the step takes as long whatever their number.
      fuzz_targets=()
      for target in build-fuzz/trace/fuzz/fuzz-* build-fuzz/gui/fuzz/fuzz-*; do
        [ -x "$target" ] && [ -f "$target" ] && fuzz_targets+=("$target")
      done
      fuzz_each=$((FUZZ_SECONDS * JOBS / (${#fuzz_targets[@]} > 0 ? ${#fuzz_targets[@]} : 1)))
      [ "$fuzz_each" -ge 5 ] || fuzz_each=5
      for target in "${fuzz_targets[@]}"; do
        tname=$(basename "$target")
        tdir=$(dirname "${target#build-fuzz/}")
        corpus="build-fuzz/corpus-$tname"
        mkdir -p "$corpus"
        # its own seeds if it has any (texts, conversations), else traces
        seeds="$tdir/corpus-${tname#fuzz-}"
        [ -d "$seeds" ] || seeds=trace/fuzz/corpus
        echo "--- $tname for ${fuzz_each}s (seeds: $seeds)" | tee -a "$log"
        "$target" -max_total_time="$fuzz_each" -rss_limit_mb=2048 -timeout=60 \
          -artifact_prefix=out/fuzz-artifacts/ -print_final_stats=1 "$corpus" "$seeds" \
          >"$LOGDIR/$tname.log" 2>&1 &
        names+=("$tname")
        pids+=($!)
        if [ $((${#pids[@]} - done_upto)) -ge "$JOBS" ]; then
          fuzz_finish $done_upto
          done_upto=$((done_upto + 1))
        fi
      done
      while [ "$done_upto" -lt "${#pids[@]}" ]; do
        fuzz_finish $done_upto
        done_upto=$((done_upto + 1))
      done
      record fuzz "$fp" "$ff" 0 $(($(date +%s) - t0)) \
        "build $((t_built - t0))s, fuzzing $(($(date +%s) - t_built))s; log: out/test-logs/fuzz.log"
    fi
  fi
fi

if want gui; then
  if [ ! -f build/build.ninja ]; then
    record gui 0 0 0 0 "no build/ to test"
  else
    # No xvfb-run around it: each window test starts its own Xvfb, so
    # they run side by side like the other suites.
    run_meson_step gui "
      ninja -C build -j $JOBS && mark_built &&
      mtest -C build --no-rebuild --suite gui"
  fi
fi

echo
echo "=================== summary ==================="
for line in "${SUMMARY[@]}"; do
  echo "$line"
done
[ -n "$FAILED_DETAILS" ] && printf '%s' "$FAILED_DETAILS"
cpu_seconds
echo "total time: $(($(date +%s) - START_ALL))s (cpu ${CPU}s)"
if [ "$T_SKIP" -gt 0 ]; then
  echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
else
  echo "$T_PASS passed, $T_FAIL failed"
fi
[ "$T_FAIL" -eq 0 ]
