#!/bin/sh
# chatty-figures.sh [BUILD_DIR] - the chatty-vs-messages figures of a build.
#
# Prints, as a Markdown table, what the cache model counts on the two demo
# recordings of the same producer/consumer work (build/samples/chatty.ravtrace
# and messages.ravtrace): the numbers `ravtrace stats` prints and ravscope's
# Chatty Threads vs. Messages window shows for those files.  The README's
# table was made with it; the counts move by a few percent from one
# recording to the next (the threads interleave differently), so a fresh
# build's are close to, not equal to, the README's.
set -eu
build=${1:-build}
rt="$build/trace/cli/ravtrace"
[ -x "$rt" ] || { echo "chatty-figures: no $rt (build first)" >&2; exit 1; }
for name in chatty messages; do
  [ -s "$build/samples/$name.ravtrace" ] || { echo "chatty-figures: no $build/samples/$name.ravtrace" >&2; exit 1; }
done
py=$(command -v python3) || { echo "chatty-figures: needs python3" >&2; exit 1; }
echo "| recording (48 messages) | cache-line transfers | invalidations | memory accesses | events |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in chatty messages; do
  "$rt" stats --json "$build/samples/$name.ravtrace" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
c = d["contention"]
label = {"chatty": "shared memory (`rav-sample-chatty`)", "messages": "ravioli messages (`rav-sample-messages`)"}[sys.argv[1]]
print("| %s | %s | %s | %s | %s |" % (label, format(c["transfers"], ","), format(c["invalidations"], ","),
      format(c["accesses"], ","), format(d["events"] if "events" in d else sum(d["kinds"].values()), ",")))
' "$name"
done
