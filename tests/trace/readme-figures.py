#!/usr/bin/env python3
"""readme-figures.py README RAVTRACE CHATTY MESSAGES - the README's chatty
against messages table agrees with the build.

The README gives the cache model's counts on one build's recordings
(tools/chatty-figures.sh prints them).  Each recording interleaves the two
threads a little differently, so a fresh build's counts are near the
README's, not equal: this checks that transfers, accesses and events are
within 30% (far tighter than the gap the table is about; invalidations
follow the interleaving more and are only shown), and that the chatty
recording moves clearly more lines than the message one.  A README left behind by a change to a
sample, or a chatty sample whose threads stop overlapping, fails.
"""
import json
import re
import subprocess
import sys

TOLERANCE = 0.30


def readme_figures(path):
    rows = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'\| (shared memory|ravioli messages) \(`rav-sample-(\w+)`\) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|', line)
            if m:
                rows[m.group(2)] = [int(x.replace(',', '')) for x in m.groups()[2:]]
    return rows


def measured(ravtrace, trace):
    out = subprocess.run([ravtrace, 'stats', '--json', trace], check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    c = d['contention']
    return [c['transfers'], c['invalidations'], c['accesses'], d['events']]


def main():
    readme, ravtrace, chatty, messages = sys.argv[1:5]
    rows = readme_figures(readme)
    failed = False
    for name, trace in (('chatty', chatty), ('messages', messages)):
        if name not in rows:
            print(f'{readme}: no table row for rav-sample-{name} (tools/chatty-figures.sh prints it)')
            return 1
        now = measured(ravtrace, trace)
        for label, want, got in zip(('transfers', 'invalidations', 'accesses', 'events'), rows[name], now):
            # Invalidations follow the interleaving most (an instrumented
            # build's threads interleave differently): shown, not checked.
            ok = label == 'invalidations' or abs(got - want) <= TOLERANCE * max(want, 1)
            print(f'{name} {label}: README {want}, this build {got}{"" if ok else "  <- differs by more than 30%"}')
            failed |= not ok
    now_chatty, now_messages = measured(ravtrace, chatty)[0], measured(ravtrace, messages)[0]
    if now_chatty < 2 * now_messages:
        print(f'the chatty recording moves {now_chatty} lines, not clearly more than the messages one ({now_messages})')
        failed = True
    if failed:
        print('update the README table with tools/chatty-figures.sh BUILD_DIR')
    return 1 if failed else 0


sys.exit(main())
