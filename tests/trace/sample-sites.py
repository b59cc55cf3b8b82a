#!/usr/bin/env python3
"""sample-sites.py RAVTRACE TRACE SOURCE [FUNCTION:PATTERN:COLUMN...] - a
sample's recorded call sites resolve to its own functions and lines.

TRACE was recorded from a sample built from SOURCE (the build records it).
For each FUNCTION:PATTERN:COLUMN, the line of SOURCE inside FUNCTION that
contains PATTERN is where the sample makes an engine call; `ravtrace stats
--sites --json` must list a call site in FUNCTION at SOURCE:that line, with
a non-zero COLUMN count (allocs, frees, moves, fixups, ...).  Then the
same call is found by `dump --site=FILE:LINE`, and by function name.

--nodebug PROGRAM: PROGRAM is the same sample built without debug info and
stripped; a trace recorded from it must open, and its sites must be shown
as the object and an offset, with the reason.

--attach RAVTRACE TARGET SOURCE SPEC...: TARGET (built from SOURCE) runs
without any tracing variable; `ravtrace attach` records it twice, a second
or so into its run and then again to its end, and each recording must
carry call sites and the memory map as a recording to a file does (SPECs
as above; almost every event with a site).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def run(args, env=None):
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        fail(f'{" ".join(args)} exited {p.returncode}: {p.stderr.strip()}')
    return p


def line_of(source, function, pattern):
    """The line number of PATTERN inside FUNCTION's body in SOURCE."""
    lines = open(source, encoding='utf-8').read().split('\n')
    start = None
    for i, l in enumerate(lines):
        if re.match(r'^[a-z].*\b' + re.escape(function) + r'\s*\(', l) and not l.rstrip().endswith(';'):
            start = i
            break
    if start is None:
        fail(f'{source}: no function {function}')
    for i in range(start, len(lines)):
        if pattern in lines[i]:
            return i + 1
        if i > start and lines[i].startswith('}'):
            break
    fail(f'{source}: no "{pattern}" in {function}')


def check_sample(rt, trace, source, specs):
    out = run([rt, 'stats', '--sites', '--json', '--top=0', trace]).stdout
    st = json.loads(out)
    if run([rt, 'sites', '--json', '--top=0', trace]).stdout != out:
        fail('ravtrace sites and ravtrace stats --sites differ')
    rows = st['sites']
    if not rows:
        fail(f'{trace}: no call sites recorded')
    src = os.path.realpath(source)
    for spec in specs:
        function, pattern, column = spec.split(':', 2)
        want = line_of(source, function, pattern)
        hits = [r for r in rows
                if r['site']['call'].get('function') == function
                and os.path.realpath(r['site']['call'].get('file', '')) == src
                and r['site']['call'].get('line') == want]
        if not hits:
            seen = sorted({(r['site']['call'].get('function'), r['site']['call'].get('line')) for r in rows})
            fail(f'{trace}: no call site {function} at {source}:{want} ({pattern}); sites: {seen}')
        if not any(r[column] > 0 for r in hits):
            fail(f'{trace}: {function} at line {want} has no {column}')
        print(f'ok: {function} {os.path.basename(source)}:{want} {column}={hits[0][column]}')
        # the same call found by FILE:LINE and by function name
        d = run([rt, 'dump', f'--site={os.path.basename(source)}:{want}', '--limit=3', trace]).stdout
        if f'{function} ({os.path.basename(source)}:{want})' not in d:
            fail(f'dump --site={os.path.basename(source)}:{want} shows no event of that call:\n{d}')
        d = run([rt, 'dump', f'--site={function}', '--limit=1', trace]).stdout
        if function not in d:
            fail(f'dump --site={function} shows nothing')
        # a name typed in the wrong case matches no function: the error
        # names the functions with calls that look like it (it said only
        # "no function X in the program's code")
        p = subprocess.run([rt, 'dump', f'--site={function.upper()}', trace], capture_output=True, text=True)
        if p.returncode != 2 or f'functions with calls in this trace: ' not in p.stderr or function not in p.stderr:
            fail(f'dump --site={function.upper()}: exit {p.returncode}, no suggestion of {function}:\n{p.stderr}')
        print(f'ok: dump --site={function.upper()} suggests {function}')


def check_nodebug(rt, program):
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, 'nodebug.ravtrace')
        env = dict(os.environ, RAVIOLI_TRACE=trace)
        run([program, '30'], env=env)
        run([rt, 'validate', trace])
        p = run([rt, 'stats', '--sites', '--json', '--top=0', trace])
        st = json.loads(p.stdout)
        if not st['sites']:
            fail('the program without debug info recorded no call sites')
        for r in st['sites']:
            call = r['site']['call']
            if call['status'] != 'no-debug-info' or 'line' in call or 'file' in call:
                fail(f'a site of the stripped program resolved to a line: {call}')
            if os.path.realpath(call['object']) != os.path.realpath(program) or not call['offset'].startswith('0x'):
                fail(f'a site of the stripped program is not object+offset: {call}')
        if 'no debug info' not in p.stderr:
            fail(f'stats --sites does not say why there are no lines: {p.stderr!r}')
        text = run([rt, 'stats', '--sites', trace]).stdout
        base = os.path.basename(program)
        if not re.search(re.escape(base) + r'\+0x[0-9a-f]+', text):
            fail(f'stats --sites does not show {base}+OFFSET:\n{text}')
        print(f'ok: {base}: {len(st["sites"])} sites as object+offset')
        # a breakpoint's form of such a site: *OBJECT+OFFSET, and the symbol
        # table's function (no line without debug info: a precise refusal)
        call = st['sites'][0]['site']['call']
        spec = f'*{base}+{call["offset"]}'
        d = run([rt, 'dump', f'--site={spec}', '--limit=1', trace]).stdout
        if f'{base}+{call["offset"]}' not in d:
            fail(f'dump --site={spec} shows no event of that site:\n{d}')
        p = subprocess.run([rt, 'dump', f'--site={os.path.basename(program)}.c:10', trace],
                           capture_output=True, text=True)
        if p.returncode != 2 or 'no debug info' not in p.stderr:
            fail(f'a line of a program without debug info: {p.returncode} {p.stderr!r}')
        print(f'ok: dump --site={spec}')
        # recorded without call sites: --site says how to record them
        bare = os.path.join(tmp, 'nosites.ravtrace')
        run([program, '30'], env=dict(os.environ, RAVIOLI_TRACE=bare, RAVIOLI_TRACE_SITES='0'))
        p = subprocess.run([rt, 'dump', '--site=main', bare], capture_output=True, text=True)
        if p.returncode != 2 or 'has no call sites' not in p.stderr or 'RAVIOLI_TRACE_STACK' not in p.stderr:
            fail(f'dump --site of a trace without call sites does not say how to record them: '
                 f'{p.returncode} {p.stderr!r}')
        print('ok: dump --site without call sites says how to record them')


def attach_twice(rt, target, source, specs):
    with tempfile.TemporaryDirectory() as run_dir:
        os.chmod(run_dir, 0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=run_dir)
        for k in ('RAVIOLI_TRACE', 'RAVIOLI_TRACE_SITES', 'RAVIOLI_TRACE_STACK'):
            env.pop(k, None)
        out = open(os.path.join(run_dir, 'target.out'), 'w')
        prog = subprocess.Popen([target, '--rounds', '250', '--pace-us', '20000'], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            sock = os.path.join(run_dir, 'ravioli', f'{prog.pid}.sock')
            for _ in range(3000):
                if os.path.exists(sock) or prog.poll() is not None:
                    break
                time.sleep(0.01)
            if not os.path.exists(sock):
                fail(f'{target} never listened ({sock})')
            traces = [os.path.join(run_dir, 'first.ravtrace'), os.path.join(run_dir, 'second.ravtrace')]
            run([rt, 'attach', str(prog.pid), '-o', traces[0], '--seconds=1', '--lossless', '--quiet'], env=env)
            run([rt, 'attach', str(prog.pid), '-o', traces[1], '--lossless', '--quiet'], env=env)
            if prog.wait(timeout=120) != 0:
                fail(f'{target} exited {prog.returncode}')
        finally:
            if prog.poll() is None:
                prog.kill()
                prog.wait()
        for trace in traces:
            run([rt, 'validate', trace])
            check_sample(rt, trace, source, specs)
            st = json.loads(run([rt, 'stats', '--sites', '--json', '--top=0', trace]).stdout)
            if st['sites_recorded'] == 0 or st['all']['events'] == 0:
                fail(f'{trace}: an attached recording with no call sites')
            # Events with no site: snapshots of the session's own thread, the
            # teardown of threads and heaps at their end.  (A thread blocked
            # in rav_recv since before the session has its site: the engine
            # notes a blocking receive's site even while nothing records.)
            if st['unknown']['events'] * 100 > st['all']['events']:
                fail(f'{trace}: {st["unknown"]["events"]} of {st["all"]["events"]} events have no site')
            print(f'ok: attached {os.path.basename(trace)}: {st["sites_recorded"]} sites, '
                  f'{st["unknown"]["events"]} of {st["all"]["events"]} events without one')


def main():
    args = sys.argv[1:]
    if len(args) >= 4 and args[0] == '--attach':
        attach_twice(args[1], args[2], args[3], args[4:])
        return
    if len(args) >= 3 and args[0] == '--nodebug':
        check_nodebug(args[1], args[2])
        return
    if len(args) < 4:
        fail(__doc__)
    check_sample(args[0], args[1], args[2], args[3:])


main()
