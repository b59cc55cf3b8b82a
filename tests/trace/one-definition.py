#!/usr/bin/env python3
"""one-definition.py SOURCE_ROOT - facts shared by layers have one definition.

Each entry of FACTS names a fact that two layers use (so two copies could
drift apart without any test noticing), the pattern that reading or
defining it takes, and the one file allowed to hold it.  The check scans
every .c and .h under engine/, trace/, gui/ and bench/ and fails, naming
file and line, when the pattern appears anywhere else.

  - the clock of trace time stamps: the engine stamps RAV_EV_TIME events
    and order stamps with it, the recorder calibrates ticks per second
    against it, live sessions stamp what they lose with it: one reading,
    rav__tsc_now in engine/rav-tsc.h.
"""
import os
import re
import sys

FACTS = [
    ('the clock of trace time stamps (TSC)', re.compile(r'\b__rdtsc\b|\brdtscp?\b(?!\w)|<x86intrin\.h>'),
     'engine/rav-tsc.h'),
]
DIRS = ['engine', 'trace', 'gui', 'bench']


def code_lines(text):
    """Lines with comments blanked (a comment may name rdtsc)."""
    text = re.sub(r'/\*.*?\*/', lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text, flags=re.S)
    return [re.sub(r'//.*', '', line) for line in text.split('\n')]


def main():
    root = sys.argv[1]
    failures = 0
    for name, pattern, home in FACTS:
        seen_home = False
        for d in DIRS:
            for dirpath, _, files in os.walk(os.path.join(root, d)):
                for f in sorted(files):
                    if not f.endswith(('.c', '.h')):
                        continue
                    path = os.path.join(dirpath, f)
                    rel = os.path.relpath(path, root)
                    with open(path, encoding='utf-8') as fh:
                        lines = code_lines(fh.read())
                    for number, line in enumerate(lines, 1):
                        if pattern.search(line):
                            if rel == home:
                                seen_home = True
                            else:
                                print(f'FAIL: {rel}:{number}: {name} is read here too; use {home}')
                                failures += 1
        if not seen_home:
            print(f'FAIL: {home} no longer holds {name}: update this check')
            failures += 1
        else:
            print(f'ok: {name}: only in {home}')
    return 1 if failures else 0


sys.exit(main())
