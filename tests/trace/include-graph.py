#!/usr/bin/env python3
"""include-graph.py TRACE_DIR - the parts of trace/ depend on each other one way.

Reads every `#include "..."` of trace/*.c and trace/*.h, maps files to the
parts HACKING.md names (format, writer, reader, tables, model, series,
history, replay, pipeline, trace, contention, symbols, sitestats, operations,
explain, recorder, attach), and fails when the part graph has a cycle or
when the reader depends on anything but the format and the memory budget
(the reader must build, test and fuzz alone).  Prints the graph it checked.
"""
import os
import re
import sys

PARTS = [
    ('format', r'^(format|snapshot|live|outbuf|membuf|hash)\.[ch]$'),
    ('budget', r'^budget\.[ch]$'),
    ('writer', r'^writer'),
    ('recorder', r'^(recorder\.c|listen\.c|session(-\w+)?\.[ch]|debugger\.c|exec-hook\.c)$'),
    ('attach', r'^attach\.c$'),
    ('reader', r'^(reader|sink\.h$)'),
    ('tables', r'^tables\.'),
    ('series', r'^series\.'),
    ('history', r'^replay-history\.'),
    ('model', r'^replay-model\.'),
    ('replay', r'^replay'),
    ('trace', r'^trace(\.c|-private\.h)$'),
    ('contention', r'^contention\.'),
    ('pipeline', r'^pipeline\.'),
    ('symbols', r'^(symbols|sitespec)[.-]'),
    ('sitestats', r'^site(stats|cells)\.'),
    ('operations', r'^operations'),
    ('explain', r'^explain\.'),
    ('public', r'^ravtrace\.h$'),
]


def part_of(name):
    for part, pattern in PARTS:
        if re.search(pattern, name):
            return part
    return None


def main():
    root = sys.argv[1]
    edges = {}
    files = [f for f in os.listdir(root) if f.endswith(('.c', '.h'))]
    for f in sorted(files):
        src = part_of(f)
        if src is None:
            print(f'{f}: not in any part of HACKING.md\'s graph')
            return 1
        with open(os.path.join(root, f), encoding='utf-8') as fh:
            for inc in re.findall(r'^#include "([^"]+)"', fh.read(), re.M):
                if not os.path.exists(os.path.join(root, inc)):
                    continue  # engine headers
                dst = part_of(inc)
                if dst and dst != src and dst != 'public':
                    edges.setdefault(src, set()).add(dst)
    for src in sorted(edges):
        print(f'{src} -> {", ".join(sorted(edges[src]))}')
    bad = edges.get('reader', set()) - {'format', 'budget'}
    if bad:
        print(f'FAIL: the reader depends on {", ".join(sorted(bad))}')
        return 1
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                print('FAIL: cycle ' + ' -> '.join(path + [n, m]))
                return False
            if not state.get(m) and not visit(m, path + [n]):
                return False
        state[n] = 2
        return True

    for n in sorted(edges):
        if not state.get(n) and not visit(n, []):
            return 1
    print('no cycle')
    return 0


sys.exit(main())
