#!/usr/bin/env python3
"""test-targets.py BUILDDIR [--suite S]... [--no-suite S]... - the ninja
targets the selected tests need, one per line (paths relative to BUILDDIR).

tools/run-tests.sh builds only these in the sanitizer build directories:
`meson test` (meson 1.0) would first build everything, the viewer's other
tests and the benchmarks included, which those steps never run.  A test
needs its executable, the targets among its arguments and its `depends:`
(meson lists all three in the test's "depends"), plus every custom target
built by default (the demo traces and the sample programs they are recorded
from, which tests also find by path).  Suites select as `meson test` does:
a test runs if it is in one of --suite (all when none is given) and in no
--no-suite.
"""
import json
import os
import subprocess
import sys


def main():
    build = sys.argv[1]
    want, skip = set(), set()
    args = sys.argv[2:]
    while args:
        opt, name = args[0], args[1]
        (want if opt == '--suite' else skip).add(name)
        args = args[2:]
    info = json.loads(subprocess.run(['meson', 'introspect', build, '--tests', '--targets'],
                                     check=True, capture_output=True, text=True).stdout)

    def suites(test):  # "ravscope:engine" -> "engine", and the full name too
        return {s for name in test['suite'] for s in (name, name.split(':', 1)[-1])}

    ids = set()
    for test in info['tests']:
        s = suites(test)
        if (not want or s & want) and not s & skip:
            ids.update(test['depends'])
    targets = set()
    for target in info['targets']:
        if target['id'] in ids or (target['type'] == 'custom' and target['build_by_default']):
            for filename in target['filename']:
                targets.add(os.path.relpath(filename, os.path.abspath(build)))
    print('\n'.join(sorted(targets)))


main()
