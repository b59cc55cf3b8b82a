#!/bin/sh
# regenerate.sh BUILD_DIR NAME... - record the named golden traces again
# and their expected `ravtrace stats --json` output (and
# `stats --sites --json --no-symbols` for those of format 1.3 or later).
#
# The golden traces are committed so that the tests notice any change in
# how an existing file is read (format, replay, contention model, CLI
# output).  Regenerate only when such a change is intended, and review the
# diff of the *.stats.json files.  Sizes are tiny so the files stay a few
# kilobytes; the samples use fixed seeds, though the two-thread samples
# interleave differently on each run (their files are recorded once).
#
# Versions: list, tree, messages, serialize and chatty were recorded with
# format 1.0 and pin it (1.0 files keep opening); attach is a 1.1
# recording made by attaching to a running program (snapshot chunks,
# session records) and pins 1.1; trailer is the list sample recorded by a
# 1.2 writer (large trailers; nothing else changed) and pins 1.2 (it
# cannot be recorded again here: the writer now writes a later version);
# sites pins 1.3 (call sites and memory maps), recorded by a 1.3 writer;
# fields is the tree sample recorded with format 1.4 (type definitions
# name their fields) and pins 1.4; acache is the tree sample recorded with
# format 1.5 (EVENTS_AC chunks: the address cache, accesses recorded) and
# pins 1.5; msgpages is the messages sample recorded with format 1.6 (lists
# built at the producer's top go to their messages as pages: page-to-msg
# events) and pins 1.6.  Regenerating a trace records the
# current format and loses the version it pinned: hence names, never "all".
set -eu
build=${1:?usage: regenerate.sh BUILD_DIR NAME...}
shift
[ $# -gt 0 ] || { echo "usage: regenerate.sh BUILD_DIR NAME... (list tree messages serialize chatty attach sites fields acache msgpages)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
rt="$build/trace/cli/ravtrace"
[ -x "$rt" ] || { echo "regenerate.sh: no ravtrace in $build" >&2; exit 1; }

# record NAME ACCESS SIZE [SAMPLE]: the sample is NAME unless given.
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
  if [ "$(dd if="$here/$name.ravtrace" bs=1 skip=10 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')" -ge 3 ]; then
    "$rt" stats --sites --json --no-symbols --top=0 "$here/$name.ravtrace" >"$here/$name.sites.json"
  fi
  echo "$name: $(wc -c <"$here/$name.ravtrace") bytes"
}

# attach-target runs without any tracing variable; ravtrace attaches to it a
# moment after it starts and follows it to its end (lossless).
record_attach() {
  rm -f "$here/attach.ravtrace"
  run=$(mktemp -d)
  chmod 700 "$run"
  XDG_RUNTIME_DIR=$run "$build/tests/trace/attach-target" --rounds 30 --pace-us 10000 >/dev/null &
  pid=$!
  while [ ! -S "$run/ravioli/$pid.sock" ]; do sleep 0.01; done
  XDG_RUNTIME_DIR=$run "$rt" attach "$pid" -o "$here/attach.ravtrace" --lossless --quiet
  wait "$pid"
  rm -rf "$run"
  "$rt" validate "$here/attach.ravtrace"
  "$rt" stats --json "$here/attach.ravtrace" >"$here/attach.stats.json"
  echo "attach: $(wc -c <"$here/attach.ravtrace") bytes"
}

want() { case " $* " in *" $name "*) return 0 ;; *) return 1 ;; esac; }
for name in list tree messages serialize chatty attach sites fields acache msgpages; do
  want "$@" || continue
  case $name in
    list) record list 0 40 ;;
    tree) record tree 0 40 ;;
    messages) record messages 1 6 ;;
    serialize) record serialize 0 12 ;;
    chatty) record chatty 1 6 ;;
    attach) record_attach ;;
    # format 1.3: call sites (two threads, accesses recorded: transfers per site)
    sites) record_as sites messages 1 6 ;;
    # format 1.4: type definitions name their fields (the tree sample's)
    fields) record_as fields tree 0 40 ;;
    # format 1.5: the address cache (one thread, accesses recorded)
    acache) record_as acache tree 1 40 ;;
    # format 1.6: pages handed to messages (two threads, accesses recorded)
    msgpages) record_as msgpages messages 1 8 ;;
  esac
done
