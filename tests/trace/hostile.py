#!/usr/bin/env python3
"""hostile.py HOSTILE_GEN RAVTRACE RAVSCOPE WORKDIR [--except] [CLASS...] - traces at the limits.

Writes the classes of tests/trace/hostile-gen.c (correctly framed traces
whose content is hostile or large: issue #14) and runs every `ravtrace`
command (`sites` only where the trace recorded call sites or the command
must fail), and `ravscope --render` when the viewer is built (RAVSCOPE '' or
missing: skipped with a message), on each under a time limit and an
address-space limit, checking for each class what hostile-gen says every
tool must make of it:

  ok            every command exits 0
  inconsistent  every command says so on stderr (validate: INVALID) and
                exits 1; its JSON carries the error
  damaged       a chunk breaks the format's rules (a reader check of the
                newer versions: call sites, address cache, snapshot
                pieces): every command exits 1 saying what and where
                (validate: INVALID)
  limit         under the RAVTRACE_MEMORY_MB the class names, every command
                stops with an error that names RAVTRACE_MEMORY_MB; with the
                default limit it must finish within time and memory

and never a crash, a hang, a usage error or output that is not what it
claims (JSON that does not parse as UTF-8 JSON, dump lines that are not
events).  Where ravtrace has SQLite, `export --format=sqlite` too, and the
database then goes through the queries a user would run: it must pass
SQLite's integrity and foreign-key checks, hold only UTF-8 text, agree
with its meta table and `info`, answer every example query of
docs/sql.md, and say in meta.error why the trace is inconsistent; no
temporary file is left.  Then the class-specific facts (types listed, durations, page
numbers, contention of heap 2^32-1, a trailer past 16 MiB), reading
through a FIFO and standard input, and the peak memory of each command
against the documented bound (FORMAT.md section 13).

With CLASS arguments, only those classes (`streams`: the two stream
checks); with --except, every class but those (and the streams unless
`streams` is named).  tests/trace/meson.build splits the classes into a
few meson tests this way, the last one `--except` all the others' classes,
so that a class added to hostile-gen is tested without being listed: one
test of all classes was 5 minutes alone at the end of CI's suite step.  A
class name hostile-gen does not know is a failure, not a class skipped.

RAV_TEST_SMALL=1 or RAV_TEST_WRAPPER (memcheck) make the traces small
(hostile-gen --small); under a checker or ASan no address-space limit is
set (they reserve address space of their own).  Under the wrapper the
ravtrace commands on files go through RAVTRACE_BATCH (ravtrace-batch.c:
the same ravtrace code, one checker start-up per worker, a forked process
per command, each checked and leak-checked on its own).

The classes (and the two stream checks) run two at a time (RAV_TEST_JOBS
to change it), each class's lines printed together when it is done: this
test is the longest of the suites, and one class after the other it was
the last test still running on an otherwise idle core.
"""
import concurrent.futures
import json
import os
import re
import resource
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

try:
    import sqlite3
except ImportError:  # (a Python built without it)
    sqlite3 = None

gen, ravtrace, ravscope, work = sys.argv[1:5]
only = sys.argv[5:]  # classes to try (default: all, and the streams)
excluded = []  # --except: classes not to try
if only and only[0] == '--except':
    excluded, only = only[1:], []
wrapper = os.environ.get('RAV_TEST_WRAPPER', '').split()
small = bool(wrapper) or os.environ.get('RAV_TEST_SMALL') == '1'
# Generous for linear work on a loaded machine (the slowest command takes
# a few seconds), far below what the quadratic lookups of issue #14 took on
# these sizes (minutes): a timeout here is a regression, not noise.
TIME_LIMIT = 900 if wrapper else 60
failures = []
JOBS = max(1, int(os.environ.get('RAV_TEST_JOBS', '2')))
# Each worker's lines, printed as one block when its class is done.
local = threading.local()
print_lock = threading.Lock()


def say(line):
    lines = getattr(local, 'lines', None)
    if lines is None:
        print(line)
    else:
        lines.append(line)


def in_block(job, *args):
    """Run job(*args) collecting its lines, then print them together."""
    local.lines = []
    try:
        job(*args)
    except Exception as e:  # a bug of this script: a failure, not a hang of the pool
        fail(f'{job.__name__}{args[:1]}: {type(e).__name__}: {e}')
    finally:
        lines, local.lines = local.lines, None
        with print_lock:
            print('\n'.join(lines), flush=True)


def asan_build(exe):
    try:
        out = subprocess.run(['ldd', exe], capture_output=True, text=True).stdout
        return 'libasan' in out or 'libtsan' in out
    except OSError:
        return False


SANITIZED = asan_build(ravtrace)
AS_LIMIT = None if wrapper or SANITIZED else 6 << 30
MIB = 1 << 20
BATCH = os.environ.get('RAVTRACE_BATCH') if wrapper else None
if BATCH and not os.path.exists(BATCH):
    BATCH = None


def fail(msg):
    say('FAIL: ' + msg)
    failures.append(msg)


# Runs argv[2:] in a child of its own and writes the child's peak RSS
# (ru_maxrss, KiB) to the file argv[1]; exits as the child did.  A process
# forked from this script counts the pages of this script it was forked
# with in its ru_maxrss, and this script holds the outputs of two classes
# at a time (hundreds of MB when a chrome export is parsed): the command's
# own peak is measured from a fresh, small process instead: peak-run
# (tests/trace/peak-run.c) when built, else this script in a fresh
# interpreter (~0.2-0.3 s of start-up per command on CI's machines: with
# over a thousand commands, most of these tests' time).
PEAK_RUNNER = r"""
import os, signal, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, lambda n, f: os.kill(pid, signal.SIGKILL))
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], 'w') as f:
    f.write(str(usage.ru_maxrss))
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.waitstatus_to_exitcode(status))
"""


# tests/trace/peak-run.c does the same without a Python start-up per command
# (built beside hostile-gen); the Python runner is the fallback.
PEAK_RUN = os.path.join(os.path.dirname(os.path.abspath(gen)), 'peak-run')
if not os.access(PEAK_RUN, os.X_OK):
    PEAK_RUN = None


def run(argv, env_extra=None, stdin=None, timeout=None, wrap=True):
    """Run a command with the limits; returns (rc, out bytes, err bytes, seconds, max RSS bytes).
    The peak RSS is the command's own ru_maxrss, read by PEAK_RUNNER
    (0 under a wrapper: it would be the checker's)."""
    env = dict(os.environ)
    env.pop('RAVTRACE_MEMORY_MB', None)
    env.update(env_extra or {})

    def limits():
        if AS_LIMIT:
            resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    if wrap and BATCH and argv[0] == ravtrace and stdin is None:
        return batch().run(argv[1:], env_extra or {}, timeout or TIME_LIMIT)
    full = (wrapper if wrap else []) + argv
    peak = None
    preexec = limits
    if not (wrap and wrapper):
        peak = os.path.join(work, f'peak-{threading.get_ident()}')
        if PEAK_RUN:
            # (the limits set by peak-run in the command alone, and no
            # preexec_fn: Python can spawn it without copying this process)
            full = [PEAK_RUN, peak, str(AS_LIMIT or 0)] + full
            preexec = None
        else:
            full = [sys.executable, '-c', PEAK_RUNNER, peak] + full
        if os.path.exists(peak):
            os.unlink(peak)
    t0 = time.monotonic()
    p = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=stdin or subprocess.DEVNULL,
                         env=env, preexec_fn=preexec)
    result = {}

    def reap():
        result['out'] = p.stdout.read()

    reader = threading.Thread(target=reap)
    reader.start()
    err = b''
    # (the peak runner passes SIGTERM on to the command as SIGKILL)
    timer = threading.Timer(timeout or TIME_LIMIT, lambda: p.terminate() if peak else p.kill())
    timer.start()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    timer.cancel()
    reader.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.monotonic() - t0
    rss = 0
    if peak and os.path.exists(peak):
        with open(peak) as f:
            rss = int(f.read() or 0) * 1024
        os.unlink(peak)
    if secs >= (timeout or TIME_LIMIT):
        return -999, result['out'], err, secs, rss
    return p.returncode, result['out'], err, secs, rss


class Batch:
    """A ravtrace-batch under the wrapper: one per worker thread, its
    commands one after the other, so the checker's reports it writes to its
    own stderr between two answers are the last command's."""
    count = 0

    def __init__(self):
        Batch.count += 1
        self.name = os.path.join(work, f'batch-{Batch.count}')
        with open(self.name + '.checker', 'wb') as checker:
            self.proc = subprocess.Popen(wrapper + [BATCH], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=checker,
                                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
        self.checker = open(self.name + '.checker', 'rb')  # read on from where the last command's report ended

    def run(self, args, env_extra, timeout):
        assert len(env_extra) <= 1
        env = '-' if not env_extra else '%s=%s' % next(iter(env_extra.items()))
        fields = [str(int(timeout)), self.name + '.out', self.name + '.err', env] + args
        if any(c in f for f in fields for c in '\t\n'):
            raise ValueError(f'a tab or newline in a command line: {fields}')
        t0 = time.monotonic()
        self.proc.stdin.write(('\t'.join(fields) + '\n').encode())
        self.proc.stdin.flush()
        # the driver enforces the time limit; this only guards against the driver itself hanging
        watchdog = threading.Timer(timeout + 120, self.proc.kill)
        watchdog.start()
        answer = self.proc.stdout.readline().decode().split()
        watchdog.cancel()
        secs = time.monotonic() - t0
        if len(answer) < 2:
            raise RuntimeError(f'ravtrace-batch ended (exit {self.proc.poll()}) during ravtrace {" ".join(args)}')
        with open(self.name + '.out', 'rb') as f:
            out = f.read()
        with open(self.name + '.err', 'rb') as f:
            err = f.read()
        err += self.checker.read()  # what memcheck said of this command (==PID== lines)
        if answer[1] == 'timeout':
            return -999, out, err, secs, 0
        rc = int(answer[2]) if answer[1] == 'exit' else -int(answer[2])
        return rc, out, err, secs, 0

    def close(self):
        self.proc.stdin.close()
        rc = self.proc.wait()
        said = self.checker.read()
        self.checker.close()
        if rc != 0 or said.strip():
            fail(f'ravtrace-batch itself: exit {rc}\n{text(said)[-2000:]}')


batches = []


def batch():
    b = getattr(local, 'batch', None)
    if b is None:
        b = local.batch = Batch()
        with print_lock:
            batches.append(b)
    return b


def text(b):
    return b.decode('utf-8', 'replace')


def strict_json(what, data):
    """Parse as JSON, requiring valid UTF-8 first."""
    try:
        return json.loads(data.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        fail(f'{what}: not valid UTF-8 JSON ({e}): {data[:300]!r}')
        return None


def default_limit(path):
    return max(256 * MIB, 64 * os.path.getsize(path))


def check_common(what, rc, out, err, secs):
    if rc == -999:
        fail(f'{what}: still running after {TIME_LIMIT} s')
        return False
    if rc < 0:
        fail(f'{what}: killed by signal {-rc}\n{text(err)[-2000:]}')
        return False
    if rc == 99:
        fail(f'{what}: the checker found errors\n{text(err)[-3000:]}')
        return False
    if rc not in (0, 1):
        fail(f'{what}: exit {rc} (usage error?)\n{text(err)[-1000:]}')
        return False
    if b'runtime error' in err or b'AddressSanitizer' in err:
        fail(f'{what}: sanitizer report\n{text(err)[-3000:]}')
        return False
    if rc == 1 and not err.strip() and not out.strip():
        fail(f'{what}: exit 1 without a message')
        return False
    return True


ESC = b'\x1b'
COMMANDS = [
    ('info', ['info']),
    ('info-json', ['info', '--json']),
    ('dump', ['dump', '--limit=3000']),
    ('dump-scan', ['dump', '--kind=mark,type-def,thread-name', '--limit=3000']),
    ('stats', ['stats']),
    ('stats-json', ['stats', '--json']),
    ('sites', ['sites', '--top=5']),
    ('validate', ['validate']),
    # (as many counter samples as the export allows: its time must not be threads x samples)
    ('export', ['export', '--format=chrome', '--counters=100000', '-o', '@OUT@']),
]


# Under a memory checker (memcheck, or a sanitized build: CI's ASan step),
# the commands whose code paths the others do not already cover (the
# checker is after memory errors; the facts are checked without it, by
# the plain suite step, which runs every command on every class at full
# size).  `info` prints what `info --json` computes, `stats` what `stats
# --json` does, `dump --kind` filters what `dump` decodes; `sites` reads
# through the code of `stats` when the trace recorded no sites, and the
# checked commands already fail where `sites` must.  The SQLite export
# (`sqlite`, where built) follows cells and binds text with code of its own.
CHECKED = {'info-json', 'dump', 'stats-json', 'validate', 'export', 'sqlite'}


def sqlite_built():
    """Whether this ravtrace writes SQLite (libsqlite3 was there when it
    was built) and Python can read it; else the SQL checks are skipped."""
    if sqlite3 is None:
        return False
    p = subprocess.run([ravtrace, 'export', '--format=sqlite', '-o', os.path.join(work, 'probe.db'),
                        os.path.join(work, 'no-such.ravtrace')], capture_output=True)
    return b'without SQLite' not in p.stderr


def sql_examples():
    """The example queries of docs/sql.md: what a user runs first."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'sql.md')
    with open(doc, encoding='utf-8') as f:
        return re.findall(r'```sql\n(.*?)```', f.read(), re.S)


# every TEXT column a trace's bytes reach (names, marks, paths, symbols)
SQL_TEXT = {'meta': ['key', 'value'], 'kinds': ['name'], 'threads': ['kind', 'name'],
            'types': ['name', 'f0', 'f1', 'f0_name', 'f1_name'], 'events': ['text'], 'marks': ['text'],
            'cells': ['end_kind'], 'sites': ['object', 'status', 'function', 'file'],
            'site_frames': ['object', 'status', 'function', 'file']}


SQL_EXAMPLES = sql_examples()


def check_sqlite(what, db, expect, rc, results):
    """The database of `export --format=sqlite`, read as a user would."""
    leftovers = [f for f in os.listdir(work) if f.startswith(os.path.basename(db) + '.tmp-')]
    if leftovers:
        fail(f'{what}: temporary files left: {leftovers}')
    if not os.path.exists(db):
        if rc == 0:
            fail(f'{what}: exit 0 but no database')
        elif expect == 'inconsistent':
            # (as the chrome export: written, the problem in it)
            fail(f'{what}: no database for an inconsistent trace (expected one with meta.error)')
        return
    if expect == 'ok' and rc != 0:
        return  # (said already)
    con = sqlite3.connect(db)
    # The queries' CPU time (this thread's: SQLite runs in it), not the
    # wall time: at load 13 on 2 cores (ci18's clean-clone run) handoff-pairs'
    # queries passed 60 s of wall time; a quadratic query still passes 60 s
    # of CPU.
    deadline = time.thread_time() + TIME_LIMIT
    con.set_progress_handler(lambda: time.thread_time() > deadline, 100000)
    try:
        if con.execute('PRAGMA integrity_check').fetchall() != [('ok',)]:
            fail(f'{what}: the database fails PRAGMA integrity_check')
        dangling = con.execute('PRAGMA foreign_key_check').fetchall()
        if dangling:
            tables = sorted({(r[0], r[2]) for r in dangling})
            fail(f'{what}: {len(dangling)} rows refer to rows that do not exist ({tables[:5]})')
        for table, cols in SQL_TEXT.items():
            for col in cols:
                # (Python's sqlite3 refuses to decode text that is not UTF-8)
                con.execute(f'SELECT {col} FROM {table} WHERE typeof({col}) = \'text\'').fetchall()
        meta = dict(con.execute('SELECT key, value FROM meta'))
        events = con.execute('SELECT count(*) FROM events').fetchone()[0]
        cells = con.execute('SELECT count(*) FROM cells').fetchone()[0]
        if meta.get('events_exported') != events or meta.get('cells') != cells:
            fail(f'{what}: meta says {meta.get("events_exported")} events and {meta.get("cells")} cells, '
                 f'the tables hold {events} and {cells}')
        info = info_json(results)
        if info is not None and meta.get('events') != info['events']:
            fail(f'{what}: meta.events {meta.get("events")}, info says {info["events"]}')
        backwards = con.execute('SELECT count(*) FROM cells WHERE end_event < alloc_event').fetchone()[0]
        if backwards:
            fail(f'{what}: {backwards} cells end before they are allocated')
        if expect == 'ok' and 'error' in meta:
            fail(f'{what}: meta.error in the database of a consistent trace: {meta["error"]}')
        if expect != 'ok' and rc != 0 and 'error' not in meta:
            fail(f'{what}: exit {rc}, but the database it left does not say why (no meta.error)')
        if expect == 'limit' and rc != 0 and 'RAVTRACE_MEMORY_MB' not in str(meta.get('error')):
            fail(f'{what}: meta.error does not name RAVTRACE_MEMORY_MB: {meta.get("error")}')
        for q in SQL_EXAMPLES:
            con.execute(q).fetchall()
    except sqlite3.Error as e:
        fail(f'{what}: {type(e).__name__}: {e}' + (' (past the time limit)' if time.thread_time() > deadline else ''))
    finally:
        con.close()
    os.unlink(db)


def records_sites(path):
    """The header's RAVT_HF_SITES flag (trace/format.h: flags at offset 28)."""
    with open(path, 'rb') as f:
        head = f.read(32)
    return len(head) == 32 and struct.unpack_from('<I', head, 28)[0] & 2 != 0


# What a command may take beyond the open trace (the peak of `validate`,
# which opens, indexes and replays it, on the same class): its own tables
# (stats: rows and hand-off pairs; sqlite: a record per live cell, SQLite's
# 32 MiB page cache).  FORMAT.md section 13 states them.  Generous: the
# largest over the classes is 20 MiB (stats) and 130-150 MiB (sqlite, on
# many-pages, where it was 193 MiB with a page of records per page; 80 MiB
# while keyframes filled their budget: in the debug build validate's peak
# was 320 MiB then and is 264-275 MiB since they aim at a worst seek
# (replay-index.c), the export's 390-404 MiB either way; in a release
# build 320 and 400 MiB both ways).
# Per class, the most any ravtrace command may take (peak RSS, MiB; sqlite
# the EXTRA_MIB more), far below the generic bound of an open trace, so a
# regression of the replayed heap's memory on them fails here (the figures
# measured, debug build, FORMAT.md section 13: pages-spread 44 MiB;
# page-index-high and snap-lost-many 13-14; snap-keyframes 17 (80 when each
# snapshot forced a keyframe); with a page table sized by the highest page
# index, 144 MiB a copy, the first three took 150-282 MiB).
PEAK_MIB = {'pages-spread': 96, 'page-index-high': 40, 'snap-lost-many': 40, 'snap-keyframes': 48}
EXTRA_MIB = {'sqlite': 180}
EXTRA_MIB_DEFAULT = 64
# `ravscope --render` (1280x800): its picture, fonts and layout (a few
# dozen bytes per page shown), the cell image (at most IMAGE_BUDGET_PX,
# 64M pixels of 4 bytes, of the lanes near the view), and the playhead's
# replay state beside the index's (a second page table's top: 2 MiB at
# page index 2^24-1; it was 128 MiB before the table had two levels,
# mem17, and the viewer's peaks were not measured again).  The most on
# the classes is 260 MiB (many-pages: 0.06 px per cell, 37M cells of
# image); it was 506 MiB on handoff-pairs when the image held every lane
# of 560 (473 MB for the 7 lanes shown), 60 MiB now.
RENDER_EXTRA_MIB = 320
# Renders besides the default one: a class's pages drawn through the cell
# image (under 5 px per cell) where the default zoom draws rectangles
# (page-index-high: a page at index 2^24-1 was 24 bytes of the image's
# bookkeeping per page index below it, 761 MiB in all).
RENDER_ALSO = {'page-index-high': [['--cell-px', '2']]}


def check_extra(name, peaks):
    base = peaks.get('validate')
    if not base:
        return
    for key, rss in peaks.items():
        extra = EXTRA_MIB.get(key, EXTRA_MIB_DEFAULT) * MIB
        if rss > base + extra:
            fail(f'{name}: ravtrace {key} took {rss / MIB:.0f} MiB, more than the open trace '
                 f'(validate: {base / MIB:.0f} MiB) plus the {extra / MIB:.0f} MiB it may add')


def run_class(name, expect, limit_mb, path, facts):
    env = {'RAVTRACE_MEMORY_MB': str(limit_mb)} if expect == 'limit' else {}
    results = {}
    peaks = {}  # command -> peak RSS bytes
    bound = 3 * (limit_mb * MIB if expect == 'limit' else default_limit(path)) + os.path.getsize(path) + 96 * MIB
    open_bound = bound  # (the viewer's too: FORMAT.md section 13's bound of an open trace)
    # `sites` on a trace that recorded no call sites reads the whole trace
    # to print nothing (13 s of the suite step over the classes that
    # succeed); on the classes that must fail it still runs: its errors
    # (inconsistent, over the memory limit) are checked like the others'.
    skip_sites = expect == 'ok' and not records_sites(path)
    for key, args in COMMANDS:
        if (wrapper or SANITIZED) and key not in CHECKED:
            continue
        if key == 'sites' and skip_sites:
            continue
        out_path = os.path.join(work, name + '.' + key + ('.db' if key == 'sqlite' else '.json'))
        if key == 'sqlite' and os.path.exists(out_path):
            os.unlink(out_path)  # (a run before this one's)
        argv = [ravtrace] + [out_path if a == '@OUT@' else a for a in args] + [path]
        rc, out, err, secs, rss = run(argv, env)
        what = f'{name}: ravtrace {" ".join(args)}'.replace('@OUT@', 'OUT')
        # (no peak memory of a command run by ravtrace-batch: it would be the checker's)
        say(f'{what}: exit {rc}, {secs:.2f} s' + (f', {rss / MIB:.0f} MiB' if rss else ''))
        if rss and not SANITIZED:
            peaks[key] = rss
            cap = PEAK_MIB.get(name)
            if cap and not wrapper:
                cap = (cap + (EXTRA_MIB['sqlite'] if key == 'sqlite' else 0)) * MIB
                if rss > cap:
                    fail(f'{what}: peak memory {rss / MIB:.0f} MiB is over this class\'s cap '
                         f'{cap / MIB:.0f} MiB (PEAK_MIB)')
        if not check_common(what, rc, out, err, secs):
            continue
        both = out + err
        if ESC in both:
            # (a name or an object's path from the trace reaching the terminal: sites-paths)
            at = max(0, both.index(ESC) - 80)
            fail(f'{what}: a raw escape byte in its output: {both[at:at + 200]!r}')
        if key == 'sqlite':
            check_sqlite(what, out_path, expect, rc, results)
        if key == 'export' and (rc == 0 or expect == 'inconsistent'):
            # (the export of millions of events is checked for size, not parsed)
            if os.path.getsize(out_path) > 64 * MIB:
                with open(out_path, 'rb') as f:
                    head = f.read(4096)
                os.unlink(out_path)
                if not head.startswith(b'{"displayTimeUnit"'):
                    fail(f'{what}: the export does not start as trace-event JSON: {head[:200]!r}')
                results[key] = (rc, b'', err)
                continue
            with open(out_path, 'rb') as f:
                out = f.read()
            os.unlink(out_path)
        results[key] = (rc, out, err)
        if not wrapper and AS_LIMIT and rss > bound:
            fail(f'{what}: peak memory {rss / MIB:.0f} MiB is over the bound {bound / MIB:.0f} MiB')
        if expect == 'ok':
            if rc != 0:
                fail(f'{what}: expected success, got exit {rc}: {text(err)[-500:]}')
        elif expect == 'inconsistent':
            if rc != 1:
                fail(f'{what}: an inconsistent trace must exit 1, got {rc}')
            elif key == 'validate':
                if not out.startswith(b'INVALID'):
                    fail(f'{what}: validate does not say INVALID: {text(out)[:300]}')
            elif b'inconsistent' not in err:
                fail(f'{what}: does not say the trace is inconsistent: {text(err)[:300]}')
        elif expect == 'damaged':
            if rc != 1:
                fail(f'{what}: a damaged trace must exit 1, got {rc}')
            elif key == 'validate':
                if not out.startswith(b'INVALID'):
                    fail(f'{what}: validate does not say INVALID: {text(out)[:300]}')
            elif not err.strip():
                fail(f'{what}: exit 1 without saying why on stderr')
        elif expect == 'limit':
            if rc != 1 or b'RAVTRACE_MEMORY_MB' not in out + err:
                fail(f'{what}: expected an error naming RAVTRACE_MEMORY_MB, got exit {rc}: '
                     f'{text(out + err)[:400]}')
        # output is what it claims
        if rc == 0 or expect == 'inconsistent':
            if key in ('info-json', 'stats-json', 'export'):
                doc = strict_json(what, out)
                if doc is not None and expect == 'inconsistent':
                    holder = doc.get('otherData', {}) if key == 'export' else doc
                    if 'error' not in holder:
                        fail(f'{what}: the JSON of an inconsistent trace has no "error"')
            if key.startswith('dump'):
                for line in out.split(b'\n')[:-1]:
                    if not re.match(rb'^ *\d+ +\d+\.\d+ ', line):
                        fail(f'{what}: a line that is not an event: {line[:200]!r}')
                        break
    if expect == 'limit' and not wrapper:
        # with the default limit: within time and memory, a result or the error
        for key, args in (('info', ['info']), ('validate', ['validate'])):
            rc, out, err, secs, rss = run([ravtrace] + args + [path])
            what = f'{name} (default limit): ravtrace {" ".join(args)}'
            say(f'{what}: exit {rc}, {secs:.2f} s, {rss / MIB:.0f} MiB')
            if check_common(what, rc, out, err, secs) and rc == 1 and b'RAVTRACE_MEMORY_MB' not in out + err:
                fail(f'{what}: failed without naming the limit: {text(out + err)[:300]}')
            bound = 3 * default_limit(path) + os.path.getsize(path) + 96 * MIB
            if not wrapper and AS_LIMIT and rss > bound:
                fail(f'{what}: peak memory {rss / MIB:.0f} MiB is over the bound {bound / MIB:.0f} MiB')
    check_extra(name, peaks)
    check_facts(name, results)
    render(name, expect, path, env, open_bound, peaks.get('validate'))


def info_json(results):
    r = results.get('info-json')
    if not r:
        return None
    try:
        return json.loads(r[1].decode('utf-8'))
    except ValueError:
        return None


def check_facts(name, results):
    info = info_json(results)
    if name == 'snap-keyframes' and info is not None:
        # a keyframe forced by a snapshot comes at most every 2^16 events
        # (replay-index.c KF_SNAPSHOT_GAP); one per snapshot was 171 here
        most = info['events'] // (1 << 16) + 2
        if info['keyframes'] > most:
            fail(f'{name}: {info["keyframes"]} keyframes for {info["events"]} events: snapshots '
                 f'forced more than one per 2^16 events ({most})')
    if name == 'types-wide' and info is not None:
        ids = [t['id'] for t in info['types']]
        if ids != [16]:
            fail(f'{name}: type ids above 16 bits were listed as types: {ids[:10]}... ({len(ids)})')
    if name == 'type-alias' and info is not None:
        named = {t['id']: t['name'] for t in info['types']}
        if named.get(5) != 'vector' or 'alias' in named.values():
            fail(f'{name}: type 0x10005 overwrote type 5: {named}')
    if name == 'types-many' and info is not None:
        # info lists the first 100 types and counts the rest (--types)
        want = (5200 if small else 65535) - 16 + 1
        if len(info['types']) != 100 or len(info['types']) + info['more_types'] != want or \
                [t['id'] for t in info['types']] != list(range(16, 116)):
            fail(f'{name}: {len(info["types"])} types listed and {info["more_types"]} counted, {want} defined')
        for key in ('info', 'info-json'):
            size = len(results.get(key, (0, b''))[1])
            if size > MIB:
                fail(f'{name}: {key} printed {size} bytes')
    if name == 'many-heaps' and 'dump' in results:
        if b' page=1 ' not in results['dump'][1]:
            fail(f'{name}: dump does not print page=1 for page 1')
    if name == 'names' and 'dump' in results and info is not None:
        lines = results['dump'][1].count(b'\n')
        if lines != info['events']:
            fail(f'{name}: dump printed {lines} lines for {info["events"]} events')
        for line in results.get('info', (0, b''))[1].split(b'\n'):
            if line.startswith(b'         1 fake'):
                fail(f'{name}: a name faked a line of info: {line!r}')
        names = [t['name'] for t in info['threads']]
        cut = [n for n in names if n.startswith('eeee')]
        if not cut or not cut[0].endswith('e') or len(cut[0].encode()) > 63:
            fail(f'{name}: the name across the 63-byte cut is not cut at a character: {cut!r}')
        if '\ufffd' not in info['program']:
            fail(f'{name}: bytes of the command line that are not UTF-8 are not replaced: {info["program"]!r}')
    if name == 'handoff-pairs' and 'stats-json' in results:
        # K(K-1) pairs (313,040: 24 MB of JSON once): 20 listed, the rest
        # counted (a row per thread stays: 560 of them, 99 KB in all)
        k = 12 if small else 560
        raw = results['stats-json'][1]
        hand = json.loads(raw)['handoffs']
        if len(hand['pairs']) != 20 or len(hand['pairs']) + hand['more_pairs'] != k * (k - 1) or \
                sum(p['pages'] for p in hand['pairs']) + hand['more_pages'] != hand['pages']:
            fail(f'{name}: stats --json lists {len(hand["pairs"])} pairs and counts {hand["more_pairs"]} '
                 f'more ({hand["more_pages"]} pages), of {k * (k - 1)} pairs and {hand["pages"]} pages')
        txt = results.get('stats', (0, b''))[1]
        if len(raw) > MIB or len(txt) > MIB:
            fail(f'{name}: stats printed {len(raw)} bytes of JSON, {len(txt)} of text')
    if name == 'threads-many' and 'stats-json' in results:
        # 100,000 threads: stats printed a row for each (15.6 MB of JSON,
        # 10.1 MB of text) and info a line for each (7.6 MB, 5.2 MB); now
        # 20 each, the rest counted
        k = 300 if small else 100000
        # most events: every 21st from 14 (3 cells more), then from 7 (2 more)
        top = ([14 + 21 * i for i in range(14)] + [7 + 21 * i for i in range(6)]) if small else \
            [14 + 21 * i for i in range(20)]
        raw = results['stats-json'][1]
        st = json.loads(raw)
        rows = st['threads']
        if len(rows) != 20 or len(rows) + st['more_threads'] != k or \
                sum(r['events'] for r in rows) + st['more_thread_events'] != st['events'] or \
                [r['id'] for r in rows] != top:
            fail(f'{name}: stats --json lists {len(rows)} threads and counts {st["more_threads"]} more '
                 f'({st["more_thread_events"]} events), of {k} threads and {st["events"]} events')
        if info is not None and (len(info['threads']) != 20 or info['more_threads'] != k - 20):
            fail(f'{name}: info --json lists {len(info["threads"])} threads and counts {info["more_threads"]} more')
        for key in ('stats', 'stats-json', 'info', 'info-json'):
            size = len(results.get(key, (0, b''))[1])
            if size > MIB:
                fail(f'{name}: {key} printed {size} bytes')
    if name == 'heap-max-id' and 'stats-json' in results:
        st = json.loads(results['stats-json'][1])
        con = st['contention']
        hot = con['hottest'][0]['threads'] if con['hottest'] else []
        if con['transfers'] < 100 or 'max' not in hot:
            fail(f'{name}: heap 2^32-1 lost in the contention model: {con}')
    if name == 'clock-overflow' and info is not None:
        if not 49_000_000 <= info['duration_ns'] <= 51_000_000:
            fail(f'{name}: duration {info["duration_ns"]} ns, expected 50 ms')
        if 'info' in results and b'duration    50.0' not in results['info'][1]:
            fail(f'{name}: info text does not show the 50 ms: {results["info"][1][:400]!r}')
    if name == 'tsc-wrap' and info is not None and info['duration_ns'] == 0:
        # (the last event's time is 0 after the clock went back; the
        # duration is the latest time any event has)
        fail(f'{name}: duration 0 although events have times up to 98000 s')
    if name == 'clock-unknown' and 'info' in results:
        if not re.search(rb'duration +[1-9]\d* ticks', results['info'][1]):
            fail(f'{name}: no duration in ticks: {results["info"][1][:400]!r}')
    if name == 'trailer-big' and info is not None:
        want = 2000 if small else 720000
        if info['truncated'] or info['chunks'] != want or \
                tuple(map(int, info['format'].split('.'))) < (1, 2):
            fail(f'{name}: read back as {info["chunks"]} chunks, truncated={info["truncated"]}, '
                 f'format {info["format"]}')
    if name == 'zstd-bomb' and info is not None and info['keyframes'] < 1:
        fail(f'{name}: info says {info["keyframes"]} keyframes')
    if name == 'snap-types-dup' and info is not None:
        if [(t['id'], t['name']) for t in info['types']] != [(16, 'again-and-again-type')]:
            fail(f'{name}: one type defined 300,000 times is listed as {info["types"][:5]}')
    says = {'snap-dup-page': b'page 3 comes twice', 'snap-owned-page': b'belongs to heap 1, which is alive',
            'snap-renamed': b'which event 6 named already',
            'msg-pages-foreign': b'to message 100 but heap 2 owns it',
            'msg-pages-fill': b'with its cells below 9, but its cells in use end at 2',
            'msg-pages-sent': b'which is a message already sent',
            'msg-pages-recv-first': b'receives message 100, which is not in flight',
            'msg-pages-heap-zero': b'creates heap 0, but heap ids start at 1',
            'heap-zero-page': b'is acquired for heap 0, but heap ids start at 1',
            'heap-zero-handoff': b'is handed to heap 0, but heap ids start at 1',
            'snap-items-huge': b'item 2 of the 4294967295 pages its head lists',
            'msg-pages-twice': b'but heap 100 owns it', 'msg-pages-dead': b'which is gone',
            'msg-pages-thread-heap': b'which is not a message', 'msg-pages-ghost-heap': b'which is not known',
            'snap-then-alloc': b'which is live', 'snap-missing-piece': b'names piece 99',
            'snap-other-heap': b'disagree', 'snap-release-foreign': b'which heap 1 owns',
            'acache-unfilled': b'event 9 of thread 1 (kind 18) is malformed',
            'acache-escape': b'event 9 of thread 1 (kind 16) is malformed',
            'acache-past': b'event 24 of thread 1 (kind 18) is malformed',
            'sites-run-range': b'a run names a site its dictionary does not have',
            'sites-frames-zero': b"a site's frame count is missing or out of range",
            'sites-frames-65': b"a site's frame count is missing or out of range",
            'sites-runs-short': b'its runs cover fewer events', 'sites-dict-big': b'dictionary is larger',
            'sites-orphan': b'describes other events', 'sites-count-huge': b'its event count is 0 or larger',
            'sites-dangling': b'is not followed by its events chunk', 'snap-parts-max': b'more parts than',
            'session-pid': b'ATTACHED names a process id out of range',
            'session-attached-twice': b'a second ATTACHED record',
            'session-attached-late': b'an ATTACHED record after the session',
            'session-no-attached': b"before the session's ATTACHED record",
            'session-end-how': b'END says how the session ended with an unknown value',
            'session-end-signal': b'an exit status or a signal out of range',
            'session-end-negative': b'END gives a negative count',
            'session-after-end': b"after the session's END record",
            'session-epoch-back': b"LOST begins an epoch that is not after the session's last",
            'session-synced-huge': b'SYNCED counts more heaps than there can be',
            'session-stats-negative': b'STATS gives a negative count'}
    if name in says and 'validate' in results and says[name] not in results['validate'][1]:
        fail(f'{name}: validate does not say why: {results["validate"][1][:300]!r}')
    if name == 'sites-paths':
        # hostile-gen's own file recorded without its build id, a frame in
        # gen_sites_paths: not the file that ran, so no function or line of it
        for key, (rc, out, err) in results.items():
            if b'gen_sites_paths' in out + err or b'hostile-gen.c' in out + err:
                fail(f'{name}: {key} names a function of a file that is not the recorded one: {text(out)[:300]}')
        if 'dump' in results and b'@ hostile-gen+0x' not in results['dump'][1]:
            fail(f'{name}: dump does not show the frame as the object and an offset: {text(results["dump"][1])[:600]}')
    if name == 'session-text' and 'info' in results:
        # the END record's text: on its line, its control bytes shown as '?'
        out = results['info'][1]
        if any(line.startswith(b'lifetime') for line in out.split(b'\n')) or \
                b'ended: bye?lifetime 1 fake line?' not in out:
            fail(f'{name}: info does not show the END text on its line: {out[:600]!r}')
    if name == 'session-many' and info is not None:
        k = 300 if small else 5000
        ss = info.get('session', {})
        if ss.get('resynchronisations') != k or ss.get('lost') != 2**63 - 1 or \
                ss.get('heaps_snapshotted') != 2**31 - 1 or ss.get('heaps_pending') != 2**31:
            fail(f'{name}: info --json says of the session {ss}')
        if 'info' in results and b'snapshot    2147483647 of 4294967295 thread heaps' not in results['info'][1]:
            fail(f'{name}: info does not count the heaps: {results["info"][1][:800]!r}')
    if name == 'inconsistent-102' and 'validate' in results:
        if b'event 98 (alloc' not in results['validate'][1]:
            fail(f'{name}: validate does not name the event: {results["validate"][1][:300]!r}')


def render(name, expect, path, env, bound, base=None):
    if not ravscope or not os.path.exists(ravscope):
        return
    for args in [[]] + RENDER_ALSO.get(name, []):
        render_one(name, expect, path, env, bound, base, args)


def render_one(name, expect, path, env, bound, base, args):
    png = os.path.join(work, name + '.png')
    if os.path.exists(png):
        os.unlink(png)
    # the toolkit's own leaks (fontconfig's caches) under LeakSanitizer, as
    # for the viewer's headless tests
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lsan.supp')
    env = dict(env, LSAN_OPTIONS=f'suppressions={supp}:print_suppressions=0')
    rc, out, err, secs, rss = run([ravscope, '--render', png] + args + [path], env, wrap=False)
    what = f'{name}: ravscope --render' + ''.join(' ' + a for a in args)
    say(f'{what}: exit {rc}, {secs:.2f} s, {rss / MIB:.0f} MiB')
    if not check_common(what, rc, out, err, secs):
        return
    if expect == 'ok' and rc != 0:
        fail(f'{what}: exit {rc}: {text(err)[-500:]}')
    if AS_LIMIT and rss > bound:
        fail(f'{what}: peak memory {rss / MIB:.0f} MiB is over the bound {bound / MIB:.0f} MiB')
    # what the viewer adds to the open trace (validate's peak): FORMAT.md section 13
    if base and rss > base + RENDER_EXTRA_MIB * MIB:
        fail(f'{what}: took {rss / MIB:.0f} MiB, more than the open trace (validate: {base / MIB:.0f} MiB) '
             f'plus the {RENDER_EXTRA_MIB} MiB the viewer may add')
    if expect == 'damaged' and rc != 1:
        fail(f'{what}: a damaged trace must exit 1, got {rc}: {text(err)[:300]}')
    if expect == 'limit' and rc == 1 and b'RAVTRACE_MEMORY_MB' not in err:
        fail(f'{what}: failed without naming the limit: {text(err)[:300]}')
    if b'CRITICAL' in err or b'-WARNING' in err:
        fail(f'{what}: warnings: {text(err)[:500]}')
    # an inconsistent trace: the heap just before the event that does not
    # fit, the event named, exit 1 as ravtrace's commands on such a trace
    if name == 'inconsistent-102' and not args:
        if rc != 1 or not os.path.exists(png) or b'replays up to event 98: replay: event 98 (alloc' not in err:
            fail(f'{what}: expected the heap before event 98 drawn, the error named and exit 1; '
                 f'got exit {rc}, picture {os.path.exists(png)}: {text(err)[:300]}')


def streams(path):
    """A FIFO is refused without --follow (at once, not after a writer
    comes), read with --follow; standard input with '-'."""
    fifo = path + '.fifo'  # one per call: two run at once
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    rc, out, err, secs, _ = run([ravtrace, 'info', fifo], timeout=20)
    if rc != 1 or b'named pipe' not in err:
        fail(f'ravtrace info FIFO: expected a prompt refusal, got exit {rc} after {secs:.1f} s: {text(err)[:300]}')
    else:
        say(f'ravtrace info FIFO: refused in {secs:.2f} s')

    def feed():
        with open(fifo, 'wb') as f, open(path, 'rb') as src:
            while True:
                b = src.read(5000)
                if not b:
                    break
                f.write(b)
                f.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=feed)
    writer.start()
    rc, out, err, secs, _ = run([ravtrace, 'stats', '--json', '--follow', fifo], timeout=120)
    writer.join()
    doc = strict_json('stats --follow FIFO', out) if rc == 0 else None
    if rc != 0 or not doc:
        fail(f'ravtrace stats --follow FIFO: exit {rc}: {text(err)[:300]}')
    with open(path, 'rb') as src:
        rc2, out2, err2, _, _ = run([ravtrace, 'stats', '--json', '-'], stdin=src)
    rc3, out3, _, _, _ = run([ravtrace, 'stats', '--json', path])
    if rc2 != 0 or out2 != out3 or (doc and out != out3):
        fail(f'stats of standard input / a FIFO differ from the file: exit {rc2}: {text(err2)[:300]}')
    else:
        say('ravtrace stats - and --follow FIFO: the same as the file')


def main():
    os.makedirs(work, exist_ok=True)
    flags = ['--small'] if small else []
    listed = subprocess.run([gen] + flags + ['--list', work], capture_output=True)
    known = [line.split(' ', 1)[0] for line in listed.stdout.decode().splitlines()]
    unknown = [c for c in only + excluded if c not in known and c != 'streams']
    if listed.returncode != 0 or not known or unknown:
        print(listed.stderr.decode())
        print(f'FAIL: hostile-gen --list, or classes it does not know: {unknown}')
        return 1
    with_streams = 'streams' in only if only else 'streams' not in excluded
    names = [c for c in (only or known) if c in known and c not in excluded]
    stream_of = ('names', 'many-pages', 'session-seq')  # the traces the stream checks read
    make = names + [c for c in stream_of if with_streams and c not in names]
    p = subprocess.run([gen] + flags + [work] + make, capture_output=True) if make else None
    if p and p.returncode != 0:
        print(p.stderr.decode())
        print('FAIL: hostile-gen')
        return 1
    classes = [c for c in (line.split(' ', 3) for line in p.stdout.decode().splitlines()) if c[0] in names] \
        if p else []
    print(f'{len(classes)} classes' + (', and the stream checks' if with_streams else ''))
    if sqlite_built():
        COMMANDS.append(('sqlite', ['export', '--format=sqlite', '-o', '@OUT@']))
    else:
        print('ravtrace without SQLite (or Python without sqlite3): export --format=sqlite is not tried')
    if not ravscope or not os.path.exists(ravscope):
        print('ravscope not built: --render is not tried')

    def one_class(name, expect, limit_mb, what):
        say(f'== {name} ({expect}): {what}')
        run_class(name, expect, int(limit_mb), os.path.join(work, name + '.ravtrace'), None)

    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        jobs = [pool.submit(in_block, one_class, *c) for c in classes]
        if with_streams:
            for name in stream_of:
                jobs.append(pool.submit(in_block, streams, os.path.join(work, name + '.ravtrace')))
        for job in jobs:
            job.result()
    for b in batches:
        b.close()
    # (CPU seconds, which a loaded machine inflates far less than the wall
    # time: what this group costs a CI step, HACKING.md "ci18")
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f'CPU: {kids.ru_utime + kids.ru_stime:.1f} s in the commands and the generator, '
          f'{own.ru_utime + own.ru_stime:.1f} s in this script')
    print(f'{len(failures)} failure(s)')
    return 1 if failures else 0


sys.exit(main())
