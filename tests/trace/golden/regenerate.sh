#!/bin/sh
# regenerate.sh BUILD_DIR [NAME...] - record the golden traces again (all,
# or the names given) and their expected `ravtrace stats --json` output
# (and `stats --sites --json --no-symbols` for those of format 1.2 or later).
#
# list, tree, messages, serialize and chatty pin format 1.0: regenerating
# them records the current format and loses that, so name the traces to
# record (e.g. `regenerate.sh build sites`).
#
# The golden traces are committed so that the tests notice any change in
# how an existing file is read (format, replay, contention model, CLI
# output).  Regenerate only when such a change is intended, and review the
# diff of the *.stats.json files.  Sizes are tiny so the files stay a few
# kilobytes; the samples use fixed seeds, though the two-thread samples
# interleave differently on each run (their files are recorded once).
set -eu
build=${1:?usage: regenerate.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
rt="$build/trace/cli/ravtrace"
[ -x "$rt" ] || { echo "regenerate.sh: no ravtrace in $build" >&2; exit 1; }

record() {
  record_as "$1" "$1" "$2" "$3"
}

record_as() {
  name=$1 sample=$2 access=$3 size=$4
  rm -f "$here/$name.ravtrace"
  if [ "$access" = 1 ]; then
    RAVIOLI_TRACE="$here/$name.ravtrace" RAVIOLI_TRACE_ACCESS=1 "$build/samples/rav-sample-$sample" "$size" >/dev/null
  else
    RAVIOLI_TRACE="$here/$name.ravtrace" "$build/samples/rav-sample-$sample" "$size" >/dev/null
  fi
  "$rt" validate "$here/$name.ravtrace"
  "$rt" stats --json "$here/$name.ravtrace" >"$here/$name.stats.json"
  if [ "$(dd if="$here/$name.ravtrace" bs=1 skip=10 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')" -ge 2 ]; then
    "$rt" stats --sites --json --no-symbols --top=0 "$here/$name.ravtrace" >"$here/$name.sites.json"
  fi
  echo "$name: $(wc -c <"$here/$name.ravtrace") bytes"
}

want() {
  [ -z "$names" ] && return 0
  for n in $names; do [ "$n" = "$1" ] && return 0; done
  return 1
}
shift
names="$*"
want list && record list 0 40
want tree && record tree 0 40
want messages && record messages 1 6
want serialize && record serialize 0 12
want chatty && record chatty 1 6
# format 1.2: call sites (two threads, accesses recorded: transfers per site)
want sites && record_as sites messages 1 6
true
