#!/usr/bin/env python3
"""test-report.py failed|slowest N LOG.json... - what tools/run-tests.sh
says about a step's tests, from the JSON logs `meson test --logbase` wrote.

  failed     each test that did not pass (fail, timeout, unexpected pass,
             error): its name, result, duration and exit status, then the
             tail of its output, so that a CI summary alone says which test
             failed and why.  Under memcheck the first error report is
             often far above the tail (the leak summary follows it), so the
             first lines valgrind wrote ("==PID== ...") come first.
  slowest N  the N longest tests of the step with their durations (which
             tests to look at when a step grows).

A step can run `meson test` several times (suites with different
environments); each run has its own log, and the tests of all of them are
reported together.
"""
import json
import re
import sys

TAIL_LINES = 30
VALGRIND_LINES = 25
PASSED = {'OK', 'SKIP', 'EXPECTEDFAIL'}
MEMCHECK = re.compile(r'^==\d+== ')


def results(paths):
    for path in paths:
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                for line in f:
                    if line.strip():
                        yield json.loads(line)
        except (OSError, ValueError) as e:
            print(f'  (log {path} unreadable: {e})')


def output_of(r):
    out = r.get('stdout') or ''
    if r.get('stderr'):
        out += ('' if out.endswith('\n') or not out else '\n') + r['stderr']
    return out.splitlines()


def failed(paths):
    for r in results(paths):
        if r['result'] in PASSED:
            continue
        print(f"  {r['name']}: {r['result']} after {r['duration']:.1f} s (exit status {r['returncode']})")
        lines = output_of(r)
        vg = [line for line in lines if MEMCHECK.match(line)]
        # the memcheck lines of the tail are shown there
        vg = [line for line in vg if line not in lines[-TAIL_LINES:]][:VALGRIND_LINES]
        if vg:
            print('    first lines of the checker:')
            for line in vg:
                print('    | ' + line)
        print(f'    last {min(TAIL_LINES, len(lines))} of {len(lines)} lines of its output:')
        for line in lines[-TAIL_LINES:]:
            print('    | ' + line)


def slowest(n, paths):
    rs = sorted(results(paths), key=lambda r: -r['duration'])[:n]
    for r in rs:
        print(f"  {r['duration']:7.2f} s  {r['result']:<8} {r['name']}")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == 'failed':
        failed(sys.argv[2:])
    elif len(sys.argv) >= 3 and sys.argv[1] == 'slowest':
        slowest(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(__doc__)


main()
