/* export-sqlite.c - a trace as an SQLite database, so users answer their
 * own questions with SQL (which type moves most, which thread hands off
 * most pages, how long cells live) instead of waiting for a ravtrace
 * subcommand.  The schema is documented in docs/sql.md and versioned by
 * meta.schema_version: change the two together.
 *
 * One pass over the events in global order feeds every table.  Besides
 * copying events, marks and page hand-offs, the pass follows each cell
 * across its moves (a free moves the heap's top cell into the hole, so a
 * cell's address changes while it lives): it keeps, for every page that
 * holds cells, the life that occupies each slot, and writes a cells row
 * when that life ends (freed, or its page released) or when the trace
 * ends.  Memory is therefore bounded by the recorded program's heap (a
 * record per live cell in groups of GROUP_CELLS, a small entry per page
 * index used, both found by hashing), never by the length of the trace,
 * and stops with an error at the trace's memory limit (RAVTRACE_MEMORY_MB);
 * the contention tables come from libravtrace's model, whose memory is per
 * cache line touched, under the same limit.
 *
 * Size: 30 to 60 bytes per event where a trace takes 0.5 to 4, but a
 * trace of repeated events or texts compresses much better, so the file
 * has a bound (--max-size, default EXPORT_SIZE_FLOOR or
 * EXPORT_SIZE_PER_TRACE_BYTE times the trace): SQLite's max_page_count
 * stops it, and the message says where and how big the whole would be.
 *
 * A trace recorded by attaching (format 1.1) begins with snapshots: each
 * SNAPSHOT event of a heap starts a life for every cell the heap then holds
 * (read from a replay state kept in step with the pass, made only when a
 * trace has snapshots), and a LOST event (the client fell behind) ends
 * every life, since what happened until the next snapshots is unknown.
 *
 * Speed: prepared statements, transactions of BATCH_ROWS rows, no journal
 * and no fsync (the database is written under a temporary name and only
 * renamed into place when complete, so a crash or Ctrl-C never leaves a
 * half-written file under the requested name), indexes built after the
 * rows are in.  The schema is in export-sqlite-schema.h; the cell lives are
 * followed in export-sqlite-cells.c, the other tables written by
 * export-sqlite-rows.c (export-sqlite-private.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "export-sqlite-private.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

bool cli_sqlite_interrupted(void)
{
	return interrupted != 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_sqlite_failf(exporter *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_sqlite_failf(exporter *x, const char *fmt, ...)
{
	if (x->failed)
		return; /* keep the first reason */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof x->error, fmt, ap);
	va_end(ap);
	x->failed = true;
}

static int64_t pragma_int(exporter *x, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(x->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void size_text(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (uint64_t)1 << 30)
		snprintf(buf, len, "%.1f GiB", (double)bytes / (double)((uint64_t)1 << 30));
	else
		snprintf(buf, len, "%.1f MiB", (double)bytes / (double)(1 << 20));
}

/* A statement failed: SQLite's reason, or, when the database is at the
 * size bound (SQLITE_FULL from max_page_count), what that means. */
static void fail_sqlite(exporter *x, int rc, const char *msg)
{
	/* SQLITE_FULL is the bound, or a full disk: the disk, if it has less
	 * room left than a batch of rows may take. */
	struct statvfs fs;
	bool disk_full = x->path && statvfs(x->path, &fs) == 0 &&
	                 (uint64_t)fs.f_bavail * (uint64_t)fs.f_frsize < ((uint64_t)64 << 20);
	if (rc != SQLITE_FULL || x->size_limit == UINT64_MAX || disk_full) {
		cli_sqlite_failf(x, "%s", msg);
		return;
	}
	char limit[32], whole[32];
	size_text(x->size_limit, limit, sizeof limit);
	const char *why = x->opt->max_size ? "--max-size"
	                                    : "the default bound, the larger of 1 GiB and 256 times the trace's size";
	if (x->event_pos && x->event_pos < x->event_total) {
		size_text((uint64_t)((double)x->size_limit / (double)x->event_pos * (double)x->event_total), whole,
		          sizeof whole);
		cli_sqlite_failf(x,
		                 "the database would be larger than %s (%s): it reached that at event %" PRIu64
		                 " of %" PRIu64 " (%.0f bytes per event), so the rows alone would take about %s, before the indexes; "
		                 "pass --max-size=SIZE (or unlimited) to allow it, or --kind=K,... to keep "
		                 "fewer kinds of events in the events table",
		                 limit, why, x->event_pos, x->event_total,
		                 (double)x->size_limit / (double)x->event_pos, whole);
	} else
		cli_sqlite_failf(x,
		                 "the database would be larger than %s (%s): it reached that while %s; pass "
		                 "--max-size=SIZE (or unlimited) to allow it",
		                 limit, why, x->phase ? x->phase : "writing");
}

void cli_sqlite_exec(exporter *x, const char *sql)
{
	char *msg = NULL;
	int rc;
	if (!x->failed && (rc = sqlite3_exec(x->db, sql, NULL, NULL, &msg)) != SQLITE_OK)
		fail_sqlite(x, rc, msg ? msg : sqlite3_errmsg(x->db));
	sqlite3_free(msg);
}

/* Run a bound insert; every BATCH_ROWS rows, commit and begin anew. */
void cli_sqlite_insert(exporter *x, int which)
{
	sqlite3_stmt *s = x->st[which];
	int rc;
	if (!x->failed && (rc = sqlite3_step(s)) != SQLITE_DONE)
		fail_sqlite(x, rc, sqlite3_errmsg(x->db));
	sqlite3_reset(s); /* every column is bound again for the next row */
	if (++x->rows_in_batch >= BATCH_ROWS) {
		x->rows_in_batch = 0;
		cli_sqlite_exec(x, "COMMIT; BEGIN");
	}
}

/* ---- Progress ------------------------------------------------------------- */

void cli_sqlite_progress(exporter *x, const char *phase, uint64_t done, uint64_t total)
{
	if (!x->show_progress)
		return;
	double t = now_seconds();
	/* only for exports long enough to wonder about, at most 5 lines a second */
	if (t - x->started < 0.5 || t - x->last_progress < 0.2)
		return;
	x->last_progress = t;
	x->progress_shown = true;
	if (total)
		fprintf(stderr, "\r\033[K%s export: %s %" PRIu64 " of %" PRIu64 " (%.0f%%)", x->opt->prog,
		        phase, done, total, 100.0 * (double)done / (double)total);
	else
		fprintf(stderr, "\r\033[K%s export: %s", x->opt->prog, phase);
	fflush(stderr);
}

bool cli_export_sqlite_index_progress(uint64_t done, uint64_t total, void *user)
{
	/* the export has not begun: a stand-in exporter carries the timing */
	static exporter before;
	if (!before.opt) {
		before.opt = user;
		before.show_progress = before.opt->progress && isatty(STDERR_FILENO);
		before.started = before.last_progress = now_seconds();
	}
	cli_sqlite_progress(&before, "indexing event", done, total);
	if (before.progress_shown && done >= total)
		fputs("\r\033[K", stderr);
	return true;
}

bool cli_sqlite_contention_progress(uint64_t done, uint64_t total, void *user)
{
	exporter *x = user;
	cli_sqlite_progress(x, "contention model: event", done, total);
	return !interrupted;
}

/* ---- The export ---------------------------------------------------------- */

static void run(exporter *x, const rav_trace_info *info)
{
	cli_sqlite_exec(
	    x, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;"
	       "PRAGMA cache_size = -32768");
	/* The bound: SQLite refuses to grow the file past it (SQLITE_FULL). */
	if (x->size_limit != UINT64_MAX) {
		int64_t page_size = pragma_int(x, "PRAGMA page_size");
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA max_page_count = %" PRIu64,
		         x->size_limit / (uint64_t)(page_size > 0 ? page_size : 4096));
		cli_sqlite_exec(x, sql);
	}
	x->phase = "writing the schema";
	cli_sqlite_exec(x, schema_sql);
	for (int i = 0; i < ST_COUNT && !x->failed; i++)
		if (sqlite3_prepare_v2(x->db, insert_sql[i], -1, &x->st[i], NULL) != SQLITE_OK)
			cli_sqlite_failf(x, "%s", sqlite3_errmsg(x->db));
	cli_sqlite_exec(x, "BEGIN");

	uint64_t unknown_kinds[1024] = {0}; /* kinds past the named ones, one bit each */
	uint64_t total = rav_trace_indexed_events(x->t);
	x->event_total = total;
	x->phase = NULL;
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, x->t, &all);
	uint64_t n = 0;
	while (!x->failed && rav_event_iter_next(&it, &ev)) {
		if (ev.kind >= RAV_EV_KIND_COUNT)
			unknown_kinds[ev.kind / 64] |= (uint64_t)1 << (ev.kind % 64);
		if (!x->opt->kinds || (ev.kind < 64 && (x->opt->kinds & ((uint64_t)1 << ev.kind))))
			cli_sqlite_write_event(x, &ev);
		cli_sqlite_write_event_facts(x, &ev);
		cli_sqlite_track_cells(x, &ev);
		x->event_pos = ++n;
		if ((n & 0xffff) == 0) {
			cli_sqlite_progress(x, "event", n, total);
			if (interrupted)
				cli_sqlite_failf(x, "interrupted");
		}
	}
	rav_event_iter_fini(&it); /* (stopped early on a failure) */
	x->event_pos = 0;
	x->phase = "writing the cells, sites and contention tables";
	cli_sqlite_cells_end_all(x);
	cli_sqlite_write_dictionaries(x, unknown_kinds);
	cli_sqlite_progress(x, "call sites", 0, 0);
	cli_sqlite_write_sites(x);
	if (!x->failed)
		cli_sqlite_write_contention(x);
	cli_sqlite_write_meta(x, info);
	cli_sqlite_exec(x, "COMMIT");
	cli_sqlite_progress(x, "building indexes", 0, 0);
	x->phase = "building the indexes";
	cli_sqlite_exec(x, index_sql);
}

int cli_export_sqlite(rav_trace *t, const char *out, const cli_export_sqlite_options *opt)
{
	exporter x = {.t = t, .opt = opt, .next_cell_id = 1};
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	x.cells_per_page = info.cells_per_page;
	x.groups_per_page = (info.cells_per_page + GROUP_CELLS - 1) / GROUP_CELLS;
	/* the cell lives stop at the trace's own limit (FORMAT.md section 13) */
	x.cell_limit = rav_trace_memory_limit(t);
	x.show_progress = opt->progress && isatty(STDERR_FILENO);
	x.size_limit = opt->max_size;
	x.path = out;
	if (!x.size_limit) {
		x.size_limit = info.file_size * EXPORT_SIZE_PER_TRACE_BYTE;
		if (x.size_limit < EXPORT_SIZE_FLOOR || info.file_size > UINT64_MAX / EXPORT_SIZE_PER_TRACE_BYTE)
			x.size_limit = info.file_size > UINT64_MAX / EXPORT_SIZE_PER_TRACE_BYTE ? UINT64_MAX
			                                                                          : EXPORT_SIZE_FLOOR;
	}
	x.started = x.last_progress = now_seconds();

	struct stat st;
	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s export: %s is a directory: -o names the database file to write\n",
		        opt->prog, out);
		return 1;
	}
	/* Next to the destination, so the final rename stays on one file
	 * system; removed on any failure. */
	size_t len = strlen(out) + 32;
	char *tmp = malloc(len);
	if (!tmp) {
		fprintf(stderr, "%s export: out of memory\n", opt->prog);
		return 1;
	}
	snprintf(tmp, len, "%s.tmp-%ld", out, (long)getpid());
	unlink(tmp);
	/* Created here, empty (SQLite takes that for a new database), so that
	 * a directory that does not exist or is not writable is said as such,
	 * not as SQLite's "unable to open database file" of the temporary. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(stderr, "%s export: cannot create %s: %s\n", opt->prog, out, strerror(errno));
		free(tmp);
		return 1;
	}
	close(fd);

	struct sigaction sa, old_int, old_term;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (old_int.sa_handler == SIG_IGN) /* a background job keeps ignoring ^C */
		sigaction(SIGINT, &old_int, NULL);
	if (old_term.sa_handler == SIG_IGN)
		sigaction(SIGTERM, &old_term, NULL);

	int rc = sqlite3_open_v2(tmp, &x.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK)
		cli_sqlite_failf(&x, "cannot create %s: %s", tmp,
		                 x.db ? sqlite3_errmsg(x.db) : sqlite3_errstr(rc));
	else
		run(&x, &info);

	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(x.st[i]);
	if (x.db && sqlite3_close(x.db) != SQLITE_OK)
		cli_sqlite_failf(&x, "closing the database failed: %s", sqlite3_errmsg(x.db));
	cli_sqlite_cells_free(&x);
	if (!x.failed && rename(tmp, out) != 0)
		cli_sqlite_failf(&x, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
	if (x.progress_shown)
		fputs("\r\033[K", stderr);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (x.failed) {
		unlink(tmp);
		fprintf(stderr, "%s export: %s: %s\n", opt->prog, out, x.error);
		free(tmp);
		if (interrupted)
			raise(interrupted); /* exit as the signal says, now that the file is gone */
		return 1;
	}
	/* On a terminal; and always when the database is big, which the user
	 * may not expect of a small trace. */
	struct stat db_st;
	uint64_t db_bytes = stat(out, &db_st) == 0 ? (uint64_t)db_st.st_size : 0;
	if (x.progress_shown || db_bytes >= EXPORT_SIZE_NOTE) {
		char size[32];
		size_text(db_bytes, size, sizeof size);
		fprintf(stderr,
		        "%s export: wrote %s: %" PRIu64 " events, %" PRIu64 " cells, %s (%.0f bytes per event) in %.1f s\n",
		        opt->prog, out, x.events_written, x.cells_written, size,
		        x.event_total ? (double)db_bytes / (double)x.event_total : 0.0, now_seconds() - x.started);
	}
	free(tmp);
	return 0;
}
