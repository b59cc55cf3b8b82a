#!/bin/sh
# regenerate.sh BUILD_DIR - record the golden traces again and their expected
# `ravtrace stats --json` output.
#
# The golden traces are committed so that the tests notice any change in
# how an existing file is read (format, replay, contention model, CLI
# output).  Regenerate only when such a change is intended, and review the
# diff of the *.stats.json files.  Sizes are tiny so the files stay a few
# kilobytes; the samples use fixed seeds, though the two-thread samples
# interleave differently on each run (their files are recorded once).
# Each golden trace also pins the format version it was written in (list ...
# chatty: 1.0, fields: 1.3): regenerating one rewrites it in the current
# version, so keep the old files and add new ones for a new version.
set -eu
build=${1:?usage: regenerate.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
rt="$build/trace/cli/ravtrace"
[ -x "$rt" ] || { echo "regenerate.sh: no ravtrace in $build" >&2; exit 1; }

# record NAME ACCESS SIZE [SAMPLE]: the sample is NAME unless given.
record() {
  name=$1 access=$2 size=$3 sample=${4:-$1}
  rm -f "$here/$name.ravtrace"
  if [ "$access" = 1 ]; then
    RAVIOLI_TRACE="$here/$name.ravtrace" RAVIOLI_TRACE_ACCESS=1 "$build/samples/rav-sample-$sample" "$size" >/dev/null
  else
    RAVIOLI_TRACE="$here/$name.ravtrace" "$build/samples/rav-sample-$sample" "$size" >/dev/null
  fi
  "$rt" validate "$here/$name.ravtrace"
  "$rt" stats --json "$here/$name.ravtrace" >"$here/$name.stats.json"
  echo "$name: $(wc -c <"$here/$name.ravtrace") bytes"
}

record list 0 40
record tree 0 40
record messages 1 6
record serialize 0 12
record chatty 1 6
# format 1.3: field names in the type definitions (the tree sample names its fields)
record fields 0 40 tree
