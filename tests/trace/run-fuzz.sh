#!/bin/sh
# run-fuzz.sh SECONDS [BUILD_DIR] - run the trace reader's libFuzzer target
# for a bounded time, starting from the seed corpus in tests/trace/corpus.
# Builds BUILD_DIR (default build-fuzz, clang + ASan/UBSan) if the target is
# missing.  Exit status: 0 when the fuzzer found nothing; non-zero with the
# crashing input saved as BUILD_DIR/fuzz-crash-* otherwise.
set -eu
secs=${1:?usage: run-fuzz.sh SECONDS [BUILD_DIR]}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$src/build-fuzz}
target="$build/trace/fuzz/fuzz-reader"
if [ ! -x "$target" ]; then
  if [ ! -d "$build" ]; then
    CC=clang meson setup "$build" "$src" -Dfuzz=true -Dgui=disabled -Dvalgrind=disabled \
      -Db_lundef=false -Dbuildtype=debug -Doptimization=1 -Db_sanitize=address,undefined
  fi
  ninja -C "$build" -j 2 trace/fuzz/fuzz-reader
fi
# libFuzzer adds what it finds to the first corpus directory: work on a copy.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src"/tests/trace/corpus/* "$work"/
"$target" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=20 \
  -print_final_stats=1 -artifact_prefix="$build/fuzz-" "$work"
