#!/usr/bin/env python3
"""command-bounds.py BUILD WORKDIR [--ravscope EXE] [--large] [CLASS...] - the peak memory
and wall time of every ravtrace command on every hostile class (and, with
--large, on large ordinary traces), against the file's size (issue #14).

BUILD is a build directory (trace/cli/ravtrace, tests/trace/hostile-gen and
tests/trace/replay-bench in it).  Writes the traces into WORKDIR and prints
one Markdown table: a row per trace, its file size, and for each command the
peak RSS in MiB and the wall seconds ("rc!" when the command failed with
something else than the expected error).  The peak RSS is the child's
ru_maxrss (os.wait4): an upper bound of the command's own peak.  --large
adds replay-bench traces: young 20M events, uniform 10M events (1M live
cells), and 1,000 threads of 10,000 events each (--events scales them).

Memory is a property of the code, not of the load: one run is enough.
Times on a shared machine are noisy; take them as orders of magnitude (a
command that is superlinear shows minutes where the others show seconds).
"""
import argparse
import os
import subprocess
import sys
import time

MIB = 1 << 20
ap = argparse.ArgumentParser(description='peak memory and time of every ravtrace command')
ap.add_argument('build')
ap.add_argument('work')
ap.add_argument('classes', nargs='*')
ap.add_argument('--ravscope')
ap.add_argument('--ravtrace', help='this ravtrace instead of BUILD\'s (an A/B: the base build\'s)')
ap.add_argument('--large', action='store_true')
ap.add_argument('--commands', help='only these columns (comma-separated: info,sqlite,render...)')
ap.add_argument('--scale', type=float, default=1.0)
opt = ap.parse_args()
build, work, only, ravscope, large, scale = opt.build, opt.work, opt.classes, opt.ravscope, opt.large, opt.scale
ravtrace = opt.ravtrace or os.path.join(build, 'trace/cli/ravtrace')
gen = os.path.join(build, 'tests/trace/hostile-gen')
bench = os.path.join(build, 'tests/trace/replay-bench')
os.makedirs(work, exist_ok=True)

COMMANDS = [
    ('info', ['info']),
    ('info-json', ['info', '--json']),
    ('dump', ['dump']),
    ('dump-kind', ['dump', '--kind=mark,type-def,thread-name']),
    ('stats', ['stats']),
    ('stats-json', ['stats', '--json', '--bins=1000']),
    ('sites', ['sites', '--top=0']),
    ('validate', ['validate']),
    ('chrome', ['export', '--format=chrome', '-o', '@OUT@']),
    ('sqlite', ['export', '--format=sqlite', '--max-size=unlimited', '-o', '@OUT@']),
]


def run(argv, env=None, timeout=600):
    t0 = time.monotonic()
    with open(os.devnull, 'wb') as null:
        p = subprocess.Popen(argv, stdout=null, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, **(env or {})))
    try:
        err = p.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        err = p.communicate()[1]
    return p.returncode, err, time.monotonic() - t0


def run_measured(argv, env=None, timeout=600):
    """rc, stderr, seconds, peak RSS bytes (through /usr/bin/time -f %M)."""
    rc, err, secs = run(['/usr/bin/time', '-f', '@@maxrss %M'] + argv, env, timeout)
    rss = 0
    lines = err.decode('utf-8', 'replace').splitlines()
    for line in lines:
        if line.startswith('@@maxrss '):
            rss = int(line.split()[1]) * 1024
    return rc, '\n'.join(l for l in lines if not l.startswith('@@maxrss')), secs, rss


def traces():
    listed = subprocess.run([gen, '--list', work], capture_output=True, text=True, check=True).stdout
    classes = [line.split(' ', 3) for line in listed.splitlines()]
    for c in classes:
        if only and c[0] not in only:
            continue
        subprocess.run([gen, work, c[0]], check=True, capture_output=True)
        yield c[0], os.path.join(work, c[0] + '.ravtrace'), c[1], int(c[2])
    if large:
        for name, extra in (('young-20M', ['--events', str(int(20e6 * scale))]),
                            ('uniform-10M', ['--events', str(int(10e6 * scale)), '--uniform']),
                            ('threads-1000', ['--events', str(int(10e6 * scale)), '--threads', '1000',
                                              '--live', '2000'])):
            if only and name not in only:
                continue
            path = os.path.join(work, name + '.ravtrace')
            if not os.path.exists(path):
                subprocess.run([bench, '--generate-only', '--file', path] + extra, check=True,
                               capture_output=True)
            yield name, path, 'ok', 0


def main():
    global COMMANDS
    if opt.commands:
        COMMANDS = [c for c in COMMANDS if c[0] in opt.commands.split(',')]
    cols = [k for k, _ in COMMANDS] + (['render'] if ravscope else [])
    print('| trace | file | ' + ' | '.join(cols) + ' |')
    print('|---|---:|' + '---:|' * len(cols))
    worst = {}
    for name, path, expect, limit_mb in traces():
        size = os.path.getsize(path)
        env = {'RAVTRACE_MEMORY_MB': str(limit_mb)} if expect == 'limit' else {}
        cells = []
        for key, a in COMMANDS:
            out = os.path.join(work, f'{name}.{key}.out')
            argv = [ravtrace] + [out if x == '@OUT@' else x for x in a] + [path]
            rc, err, secs, rss = run_measured(argv, env)
            bad = rc not in (0, 1) or (rc == 1 and expect == 'ok')
            cells.append(f'{rss / MIB:.0f} / {secs:.1f}' + (f' rc{rc}!' if bad else ''))
            if bad:
                print(f'<!-- {name} {key}: exit {rc}: {err[-300:]} -->', file=sys.stderr)
            worst[key] = max(worst.get(key, (0, '')), (rss, name))
            for f in (out, out + '-journal'):
                if os.path.exists(f):
                    os.unlink(f)
        if ravscope:
            png = os.path.join(work, name + '.png')
            rc, err, secs, rss = run_measured([ravscope, '--render', png, path], env)
            cells.append(f'{rss / MIB:.0f} / {secs:.1f}' + (f' rc{rc}!' if rc not in (0, 1) else ''))
            worst['render'] = max(worst.get('render', (0, '')), (rss, name))
            if os.path.exists(png):
                os.unlink(png)
        print(f'| {name} ({expect}) | {size / 1024:.0f} KiB | ' + ' | '.join(cells) + ' |', flush=True)
    print()
    print('peak RSS MiB / wall s per command; the largest peak of each command: ' +
          ', '.join(f'{k} {v[0] / MIB:.0f} MiB ({v[1]})' for k, v in worst.items()))


main()
