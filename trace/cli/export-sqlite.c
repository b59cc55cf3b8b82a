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
 * record per live cell, a small entry per page index), never by the length
 * of the trace; the contention tables come from libravtrace's model, whose
 * memory is per cache line touched.
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
 * rows are in.  The schema is in export-sqlite-schema.h.
 */
#include "export-sqlite.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "export-sqlite-schema.h"
#include "rav-record.h"

#define BATCH_ROWS 50000
#define MAX_PAGE_INDEX (1u << 24) /* as replay: far above any pool (the engine's limit is 2^22 pages) */
#define GROUP_CELLS 16            /* cell records are allocated per group of a page */

/* The life of the cell occupying one slot of a page. */
typedef struct life {
	int64_t id; /* cells.id; 0: no live cell in this slot */
	uint64_t alloc_event;
	rav_loc first;
	uint32_t heap, thread, moves;
	uint32_t alloc_site;
	uint16_t type;
} life;

/* Records come in groups of GROUP_CELLS cells, allocated when a cell of
 * the group is first used: a heap has no gaps, so its pages are dense,
 * but a trace with one cell in each of many pages must not cost a whole
 * page of records each. */
typedef struct page_entry {
	uint32_t owner; /* heap owning the page (0: none) */
	uint32_t live;  /* lives recorded in `groups` */
	life **groups;  /* cells_per_page / GROUP_CELLS pointers, while the page holds cells */
} page_entry;

typedef struct exporter {
	rav_trace *t;
	const cli_export_sqlite_options *opt;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	bool failed;
	char error[640];
	uint64_t rows_in_batch;
	/* cell lives */
	uint32_t cells_per_page, groups_per_page;
	page_entry *pages;
	uint32_t npages;
	int64_t next_cell_id;
	uint64_t cells_written, events_written;
	rav_state *snap; /* replay state for snapshot events (attach traces) */
	/* progress line */
	bool show_progress, progress_shown;
	double started, last_progress;
} exporter;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void failf(exporter *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(exporter *x, const char *fmt, ...)
{
	if (x->failed)
		return; /* keep the first reason */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->error, sizeof x->error, fmt, ap);
	va_end(ap);
	x->failed = true;
}

static void exec_sql(exporter *x, const char *sql)
{
	char *msg = NULL;
	if (!x->failed && sqlite3_exec(x->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		failf(x, "%s", msg ? msg : sqlite3_errmsg(x->db));
	sqlite3_free(msg);
}

/* Run a bound insert; every BATCH_ROWS rows, commit and begin anew. */
static void insert(exporter *x, int which)
{
	sqlite3_stmt *s = x->st[which];
	if (!x->failed && sqlite3_step(s) != SQLITE_DONE)
		failf(x, "%s", sqlite3_errmsg(x->db));
	sqlite3_reset(s); /* every column is bound again for the next row */
	if (++x->rows_in_batch >= BATCH_ROWS) {
		x->rows_in_batch = 0;
		exec_sql(x, "COMMIT; BEGIN");
	}
}

static void bind_i64(exporter *x, int which, int col, int64_t v)
{
	sqlite3_bind_int64(x->st[which], col, v);
}

/* Locations are stored as their 64-bit pattern (external ones, with bit 63
 * set, read back as negative numbers). */
static void bind_u64(exporter *x, int which, int col, uint64_t v)
{
	sqlite3_bind_int64(x->st[which], col, (int64_t)v);
}

static void bind_text(exporter *x, int which, int col, const char *text)
{
	if (text)
		sqlite3_bind_text(x->st[which], col, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(x->st[which], col);
}

/* Site 0 is "no site": NULL. */
static void bind_site(exporter *x, int which, int col, uint32_t site)
{
	if (site)
		sqlite3_bind_int64(x->st[which], col, site);
	else
		sqlite3_bind_null(x->st[which], col);
}

static void meta_text(exporter *x, const char *key, const char *value)
{
	bind_text(x, ST_META, 1, key);
	bind_text(x, ST_META, 2, value);
	insert(x, ST_META);
}

static void meta_int(exporter *x, const char *key, uint64_t value)
{
	bind_text(x, ST_META, 1, key);
	bind_u64(x, ST_META, 2, value);
	insert(x, ST_META);
}

/* ---- Progress ------------------------------------------------------------- */

static void progress(exporter *x, const char *phase, uint64_t done, uint64_t total)
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
	progress(&before, "indexing event", done, total);
	if (before.progress_shown && done >= total)
		fputs("\r\033[K", stderr);
	return true;
}

static bool contention_progress(uint64_t done, uint64_t total, void *user)
{
	exporter *x = user;
	progress(x, "contention model: event", done, total);
	return !interrupted;
}

/* ---- Cell lives ------------------------------------------------------------ */

/* The entry of a page index (page 0 is a page like any other: page events
 * name it with location 0, which for cells means "none"). */
static page_entry *page_at(exporter *x, uint32_t page, bool create)
{
	if (page >= x->npages) {
		if (!create)
			return NULL;
		if (page >= MAX_PAGE_INDEX) {
			failf(x, "page index %u is beyond any ravioli pool", page);
			return NULL;
		}
		uint32_t n = x->npages ? x->npages : 256;
		while (n <= page)
			n *= 2;
		page_entry *grown = realloc(x->pages, (size_t)n * sizeof *grown);
		if (!grown) {
			failf(x, "out of memory for a table of %u pages", n);
			return NULL;
		}
		memset(grown + x->npages, 0, (size_t)(n - x->npages) * sizeof *grown);
		x->pages = grown;
		x->npages = n;
	}
	return &x->pages[page];
}

/* The life in the slot of `loc`, or NULL (no page, cell out of range). */
static life *slot_at(exporter *x, rav_loc loc, bool create)
{
	if (loc == RAV_LOC_NONE || (loc & RAV_LOC_EXTERNAL))
		return NULL;
	page_entry *p = page_at(x, rav_loc_page(loc), create);
	uint32_t cell = rav_loc_cell(loc);
	if (!p || cell >= x->cells_per_page)
		return NULL;
	if (!p->groups) {
		if (!create)
			return NULL;
		p->groups = calloc(x->groups_per_page, sizeof *p->groups);
		if (!p->groups) {
			failf(x, "out of memory for the cells of a page");
			return NULL;
		}
	}
	life **group = &p->groups[cell / GROUP_CELLS];
	if (!*group) {
		if (!create)
			return NULL;
		*group = calloc(GROUP_CELLS, sizeof **group);
		if (!*group) {
			failf(x, "out of memory for the cells of a page");
			return NULL;
		}
	}
	return &(*group)[cell % GROUP_CELLS];
}

static void end_life(exporter *x, life *l, rav_loc where, const rav_event *ev, const char *how)
{
	bind_i64(x, ST_CELL, 1, l->id);
	bind_i64(x, ST_CELL, 2, l->type);
	bind_i64(x, ST_CELL, 3, l->heap);
	bind_i64(x, ST_CELL, 4, l->thread);
	bind_u64(x, ST_CELL, 5, l->alloc_event);
	if (ev)
		bind_u64(x, ST_CELL, 6, ev->index);
	else
		sqlite3_bind_null(x->st[ST_CELL], 6);
	bind_text(x, ST_CELL, 7, how);
	bind_i64(x, ST_CELL, 8, l->moves);
	bind_i64(x, ST_CELL, 9, rav_loc_page(l->first));
	bind_i64(x, ST_CELL, 10, rav_loc_cell(l->first));
	bind_i64(x, ST_CELL, 11, rav_loc_page(where));
	bind_i64(x, ST_CELL, 12, rav_loc_cell(where));
	bind_site(x, ST_CELL, 13, l->alloc_site);
	bind_site(x, ST_CELL, 14, ev ? ev->site : 0);
	insert(x, ST_CELL);
	x->cells_written++;
	l->id = 0;
}

/* Vacate a slot; its life ends here unless how is NULL (it lives on
 * elsewhere: a move).  The page's records stay until release_if_empty. */
static void clear_slot(exporter *x, page_entry *p, life *l, rav_loc where, const rav_event *ev,
                       const char *how)
{
	if (!l->id)
		return;
	if (how)
		end_life(x, l, where, ev, how);
	l->id = 0;
	p->live--;
}

static void release_if_empty(exporter *x, page_entry *p)
{
	if (p && p->groups && p->live == 0) {
		for (uint32_t g = 0; g < x->groups_per_page; g++)
			free(p->groups[g]);
		free(p->groups);
		p->groups = NULL;
	}
}

/* Every cell of a page ends (the page went back to the pool, or was taken
 * anew, which a consistent trace only does with no cell in it). */
static void end_page(exporter *x, uint32_t page, const rav_event *ev, const char *how)
{
	page_entry *p = page_at(x, page, false);
	if (!p || !p->groups)
		return;
	for (uint32_t c = 0; c < x->cells_per_page; c++) {
		life *l = p->groups[c / GROUP_CELLS];
		if (l)
			clear_slot(x, p, &l[c % GROUP_CELLS], rav_loc_make(page, c, 0), ev, how);
	}
	release_if_empty(x, p);
}

/* Replay steps forward to a snapshot rather than seeking when it is this
 * close (a seek replays from the nearest keyframe anyway). */
#define SNAP_STEP_MAX 1000000u

/* A SNAPSHOT event of a heap: a life for each cell the heap holds after
 * it.  The cells take the event's index as alloc_event. */
static void snapshot_heap(exporter *x, const rav_event *ev)
{
	rav_trace_error err = {0};
	if (!x->snap && !(x->snap = rav_state_new(x->t))) {
		failf(x, "out of memory for the replay state of a snapshot");
		return;
	}
	uint64_t want = ev->index + 1, pos = rav_state_position(x->snap);
	if (pos > want || want - pos > SNAP_STEP_MAX) {
		if (rav_state_seek(x->snap, want, &err) != 0) {
			failf(x, "replaying to the snapshot at event %" PRIu64 ": %s", ev->index,
			      err.message);
			return;
		}
	}
	while (rav_state_position(x->snap) < want) {
		if (!rav_state_step(x->snap, NULL, &err)) {
			failf(x, "replaying to the snapshot at event %" PRIu64 ": %s", ev->index,
			      err.message[0] ? err.message : "the trace ends first");
			return;
		}
	}
	rav_state_heap h = {0};
	bool found = false;
	for (unsigned i = 0, n = rav_state_heap_count(x->snap); i < n && !found; i++)
		found = rav_state_heap_at(x->snap, i, &h) && h.id == ev->x;
	if (!found)
		return;
	for (uint32_t i = 0; i < h.page_count && !x->failed; i++) {
		uint32_t page = h.pages[i];
		end_page(x, page, ev, "overwritten"); /* not in a consistent trace */
		page_entry *p = page_at(x, page, true);
		if (!p)
			return;
		p->owner = ev->x;
		for (uint32_t c = 1; c < x->cells_per_page; c++) {
			rav_state_cell cell;
			if (!rav_state_cell_at(x->snap, page, c, &cell) || cell.state != RAV_CELL_LIVE ||
			    cell.type == RAV_TYPE_REF)
				continue;
			rav_loc at = rav_loc_make(page, c, 0);
			life *l = slot_at(x, at, true);
			if (!l)
				return;
			*l = (life){.id = x->next_cell_id++,
			            .alloc_event = ev->index,
			            .first = at,
			            .heap = ev->x,
			            .thread = ev->thread,
			            .type = cell.type};
			p->live++;
		}
	}
}

static void track_cells(exporter *x, const rav_event *ev)
{
	if (ev->kind == RAV_EV_SNAPSHOT) {
		if (ev->aux == RAV_SNAP_HEAP)
			snapshot_heap(x, ev);
		return;
	}
	if (ev->kind == RAV_EV_LOST) {
		for (uint32_t p = 0; p < x->npages; p++) {
			end_page(x, p, ev, "lost");
			x->pages[p].owner = 0;
		}
		return;
	}
	bool page_event = ev->kind == RAV_EV_PAGE_ACQUIRE || ev->kind == RAV_EV_PAGE_HANDOFF ||
	                  ev->kind == RAV_EV_PAGE_RELEASE;
	if (page_event && (ev->a & RAV_LOC_EXTERNAL))
		return; /* not a page of the pool: replay rejects it */
	uint32_t page = rav_loc_page(ev->a);
	switch (ev->kind) {
	case RAV_EV_PAGE_ACQUIRE: {
		end_page(x, page, ev, "page-acquire");
		page_entry *p = page_at(x, page, true);
		if (p)
			p->owner = ev->x;
		break;
	}
	case RAV_EV_PAGE_HANDOFF: {
		page_entry *p = page_at(x, page, true);
		if (p)
			p->owner = ev->x;
		break;
	}
	case RAV_EV_PAGE_RELEASE: {
		end_page(x, page, ev, "page-release");
		page_entry *p = page_at(x, page, false);
		if (p)
			p->owner = 0;
		break;
	}
	case RAV_EV_ALLOC: {
		life *l = slot_at(x, ev->a, true);
		if (!l)
			break;
		page_entry *p = page_at(x, rav_loc_page(ev->a), false);
		clear_slot(x, p, l, ev->a, ev, "overwritten"); /* not in a consistent trace */
		*l = (life){.id = x->next_cell_id++,
		            .alloc_event = ev->index,
		            .first = ev->a,
		            .heap = p->owner,
		            .thread = ev->thread,
		            .alloc_site = ev->site,
		            .type = (uint16_t)ev->aux};
		p->live++;
		break;
	}
	case RAV_EV_FREE: {
		/* a FREE of an empty slot makes a hole for an arriving message:
		 * no life ends */
		life *l = slot_at(x, ev->a, false);
		if (l && l->id) {
			page_entry *p = page_at(x, rav_loc_page(ev->a), false);
			clear_slot(x, p, l, ev->a, ev, "free");
			release_if_empty(x, p);
		}
		break;
	}
	case RAV_EV_MOVE: {
		life *from = slot_at(x, ev->a, false);
		if (!from || !from->id)
			break;
		life moving = *from;
		page_entry *fp = page_at(x, rav_loc_page(ev->a), false);
		clear_slot(x, fp, from, ev->a, ev, NULL);
		release_if_empty(x, fp);
		life *to = slot_at(x, ev->b, true);
		if (!to) {
			moving.moves++;
			end_life(x, &moving, ev->a, ev, "moved-out"); /* to no known page */
			break;
		}
		page_entry *tp = page_at(x, rav_loc_page(ev->b), false);
		clear_slot(x, tp, to, ev->b, ev, "overwritten");
		moving.moves++;
		*to = moving;
		tp->live++;
		bind_u64(x, ST_MOVE, 1, ev->index);
		bind_i64(x, ST_MOVE, 2, moving.id);
		bind_i64(x, ST_MOVE, 3, ev->thread);
		bind_i64(x, ST_MOVE, 4, rav_loc_page(ev->a));
		bind_i64(x, ST_MOVE, 5, rav_loc_cell(ev->a));
		bind_i64(x, ST_MOVE, 6, rav_loc_page(ev->b));
		bind_i64(x, ST_MOVE, 7, rav_loc_cell(ev->b));
		bind_site(x, ST_MOVE, 8, ev->site);
		insert(x, ST_MOVE);
		break;
	}
	default:
		break;
	}
}

/* ---- Tables ---------------------------------------------------------------- */

static void write_event(exporter *x, const rav_event *ev)
{
	bind_u64(x, ST_EVENT, 1, ev->index);
	bind_u64(x, ST_EVENT, 2, ev->time_ns);
	bind_i64(x, ST_EVENT, 3, ev->thread);
	bind_i64(x, ST_EVENT, 4, ev->kind);
	bind_i64(x, ST_EVENT, 5, ev->aux);
	bind_i64(x, ST_EVENT, 6, ev->x);
	bind_u64(x, ST_EVENT, 7, ev->a);
	bind_u64(x, ST_EVENT, 8, ev->b);
	bind_u64(x, ST_EVENT, 9, ev->c);
	bind_text(x, ST_EVENT, 10, ev->text);
	bind_site(x, ST_EVENT, 11, ev->site);
	insert(x, ST_EVENT);
	x->events_written++;
}

static void write_event_facts(exporter *x, const rav_event *ev)
{
	if (ev->kind == RAV_EV_MARK) {
		bind_u64(x, ST_MARK, 1, ev->index);
		bind_u64(x, ST_MARK, 2, ev->time_ns);
		bind_i64(x, ST_MARK, 3, ev->thread);
		bind_text(x, ST_MARK, 4, ev->text ? ev->text : "");
		insert(x, ST_MARK);
	} else if (ev->kind == RAV_EV_PAGE_HANDOFF) {
		bool from_msg, to_msg;
		bind_u64(x, ST_HANDOFF, 1, ev->index);
		bind_u64(x, ST_HANDOFF, 2, ev->time_ns);
		bind_i64(x, ST_HANDOFF, 3, rav_loc_page(ev->a));
		bind_u64(x, ST_HANDOFF, 4, ev->b);
		bind_i64(x, ST_HANDOFF, 5, ev->x);
		/* a message heap's pages count, for "which thread", for its builder */
		bind_i64(x, ST_HANDOFF, 6, cli_owner_thread(x->t, (uint32_t)ev->b, &from_msg));
		bind_i64(x, ST_HANDOFF, 7, cli_owner_thread(x->t, ev->x, &to_msg));
		bind_i64(x, ST_HANDOFF, 8, from_msg);
		insert(x, ST_HANDOFF);
	}
}

static void write_dictionaries(exporter *x, uint64_t kinds_seen_unknown[1024])
{
	for (unsigned k = 0; k < 65536; k++) {
		bool known = k < RAV_EV_KIND_COUNT;
		if (!known && !(kinds_seen_unknown[k / 64] & ((uint64_t)1 << (k % 64))))
			continue;
		char name[32];
		snprintf(name, sizeof name, "unknown-%u", k);
		unsigned mask = rav_event_kind_loc_mask(k);
		bind_i64(x, ST_KIND, 1, k);
		bind_text(x, ST_KIND, 2, known ? rav_event_kind_name(k) : name);
		bind_i64(x, ST_KIND, 3, (mask & 1) != 0);
		bind_i64(x, ST_KIND, 4, (mask & 2) != 0);
		bind_i64(x, ST_KIND, 5, (mask & 4) != 0);
		insert(x, ST_KIND); /* steps now, while `name` (bound static) lives */
	}
	unsigned nthreads = rav_trace_thread_count(x->t);
	for (unsigned i = 0; i < nthreads; i++) {
		rav_trace_thread th;
		if (!rav_trace_thread_at(x->t, i, &th))
			continue;
		bind_i64(x, ST_THREAD, 1, th.heap_id);
		bind_text(x, ST_THREAD, 2, th.kind == RAV_HEAP_MESSAGE ? "message" : "thread");
		if (th.kind == RAV_HEAP_MESSAGE)
			bind_i64(x, ST_THREAD, 3, th.parent);
		else
			sqlite3_bind_null(x->st[ST_THREAD], 3);
		/* as ravtrace stats names them ("(process)" for heap 0) */
		char buf[64];
		bind_text(x, ST_THREAD, 4, cli_thread_name(x->t, th.heap_id, buf, sizeof buf));
		bind_u64(x, ST_THREAD, 5, th.first_event);
		bind_u64(x, ST_THREAD, 6, th.last_event);
		insert(x, ST_THREAD); /* steps now, while th (bound static) lives */
	}
	unsigned ntypes = rav_trace_type_count(x->t);
	for (unsigned i = 0; i < ntypes; i++) {
		rav_trace_type ty;
		if (!rav_trace_type_at(x->t, i, &ty))
			continue;
		bind_i64(x, ST_TYPE, 1, ty.id);
		bind_text(x, ST_TYPE, 2, ty.name[0] ? ty.name : NULL);
		bind_text(x, ST_TYPE, 3, ty.field_is_ref[0] ? "ref" : "data");
		bind_text(x, ST_TYPE, 4, ty.field_is_ref[1] ? "ref" : "data");
		bind_text(x, ST_TYPE, 5, rav_trace_type_field_name(x->t, ty.id, 0));
		bind_text(x, ST_TYPE, 6, rav_trace_type_field_name(x->t, ty.id, 1));
		insert(x, ST_TYPE);
	}
}

static void write_contention(exporter *x)
{
	rav_contention_config cfg = {.line_size = x->opt->line_size, .windows = 64};
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	progress(x, "contention model", 0, 0);
	rav_contention *con = rav_contention_run(x->t, &cfg, contention_progress, x, &err);
	if (!con) {
		failf(x, "%s",
		      interrupted      ? "interrupted"
		      : err.message[0] ? err.message
		                       : "contention model failed");
		return;
	}
	rav_contention_totals tot;
	rav_contention_get_totals(con, &tot);
	unsigned nlines = rav_contention_line_count(con), nthreads = rav_trace_thread_count(x->t);
	for (unsigned i = 0; i < nlines && !x->failed; i++) {
		const rav_contention_line *l = rav_contention_line_at(con, i);
		bind_i64(x, ST_LINE, 1, i + 1);
		bind_u64(x, ST_LINE, 2, l->line);
		bind_i64(x, ST_LINE, 3, l->external);
		if (!l->external) {
			bind_i64(x, ST_LINE, 4, rav_loc_page(l->first_cell));
			bind_i64(x, ST_LINE, 5, rav_loc_cell(l->first_cell));
		} else {
			sqlite3_bind_null(x->st[ST_LINE], 4);
			sqlite3_bind_null(x->st[ST_LINE], 5);
		}
		bind_u64(x, ST_LINE, 6, l->transfers);
		bind_u64(x, ST_LINE, 7, l->invalidations);
		bind_u64(x, ST_LINE, 8, l->reads);
		bind_u64(x, ST_LINE, 9, l->writes);
		insert(x, ST_LINE);
		for (unsigned b = 0; b < 64 && b < nthreads; b++)
			if (l->thread_mask & ((uint64_t)1 << b)) {
				rav_trace_thread th;
				if (!rav_trace_thread_at(x->t, b, &th))
					continue;
				bind_i64(x, ST_LINE_THREAD, 1, i + 1);
				bind_i64(x, ST_LINE_THREAD, 2, th.heap_id);
				insert(x, ST_LINE_THREAD);
			}
		uint32_t sites[16];
		uint64_t tr[16];
		unsigned ns = rav_contention_line_sites(con, i, sites, tr, 16);
		for (unsigned k = 0; k < ns && k < 16; k++) {
			bind_i64(x, ST_LINE_SITE, 1, i + 1);
			bind_i64(x, ST_LINE_SITE, 2, sites[k]);
			bind_u64(x, ST_LINE_SITE, 3, tr[k]);
			insert(x, ST_LINE_SITE);
		}
	}
	meta_int(x, "line_size", x->opt->line_size);
	meta_int(x, "contention_accesses", tot.accesses);
	meta_int(x, "contention_transfers", tot.transfers);
	meta_int(x, "contention_invalidations", tot.invalidations);
	meta_int(x, "contention_lines_touched", tot.lines_touched);
	meta_int(x, "contention_lines_contended", tot.lines_contended);
	rav_contention_free(con);
}

static const char *status_text(rav_symbol_status s)
{
	static const char *const names[] = {"ok", "no-debug-info", "binary-changed", "no-object", "unmapped"};
	return (unsigned)s < 5 ? names[s] : "unmapped";
}

/* Every site: its call (the first symbol: the program's line) and all its
 * frames with the functions inlined at them. */
static void write_sites(exporter *x)
{
	uint32_t n = rav_trace_site_count(x->t);
	rav_trace_symbol sy[256];
	rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
	for (uint32_t id = 1; id <= n && !x->failed; id++) {
		unsigned nf = rav_trace_site_frames(x->t, id, fr, RAV_TRACE_SITE_FRAMES_MAX);
		unsigned ns = x->opt->no_symbols ? 0 : rav_trace_site_resolve(x->t, id, sy, 256);
		if (ns > 256)
			ns = 256;
		if (!ns) { /* objects and offsets only */
			for (unsigned k = 0; k < nf; k++) {
				rav_trace_object ob;
				bool mapped = fr[k].object >= 0 && rav_trace_object_at(x->t, (unsigned)fr[k].object, &ob);
				sy[k] = (rav_trace_symbol){.status = mapped ? RAV_SYMBOL_NO_DEBUG_INFO : RAV_SYMBOL_UNMAPPED,
				                           .object = mapped ? ob.path : NULL,
				                           .offset = mapped ? fr[k].offset : fr[k].address,
				                           .frame = k};
			}
			ns = nf;
		}
		if (!ns)
			continue;
		bind_i64(x, ST_SITE, 1, id);
		bind_i64(x, ST_SITE, 2, nf);
		bind_text(x, ST_SITE, 3, sy[0].object);
		bind_u64(x, ST_SITE, 4, sy[0].offset);
		bind_text(x, ST_SITE, 5, x->opt->no_symbols ? "not-resolved" : status_text(sy[0].status));
		bind_text(x, ST_SITE, 6, sy[0].function);
		bind_text(x, ST_SITE, 7, sy[0].file);
		if (sy[0].line) {
			bind_i64(x, ST_SITE, 8, sy[0].line);
			bind_i64(x, ST_SITE, 9, sy[0].column);
		} else {
			sqlite3_bind_null(x->st[ST_SITE], 8);
			sqlite3_bind_null(x->st[ST_SITE], 9);
		}
		insert(x, ST_SITE);
		for (unsigned k = 0; k < ns && !x->failed; k++) {
			bind_i64(x, ST_SITE_FRAME, 1, id);
			bind_i64(x, ST_SITE_FRAME, 2, k);
			bind_i64(x, ST_SITE_FRAME, 3, sy[k].frame);
			bind_i64(x, ST_SITE_FRAME, 4, sy[k].inlined);
			bind_text(x, ST_SITE_FRAME, 5, sy[k].object);
			bind_u64(x, ST_SITE_FRAME, 6, sy[k].offset);
			bind_text(x, ST_SITE_FRAME, 7, x->opt->no_symbols ? "not-resolved" : status_text(sy[k].status));
			bind_text(x, ST_SITE_FRAME, 8, sy[k].function);
			bind_text(x, ST_SITE_FRAME, 9, sy[k].file);
			if (sy[k].line)
				bind_i64(x, ST_SITE_FRAME, 10, sy[k].line);
			else
				sqlite3_bind_null(x->st[ST_SITE_FRAME], 10);
			insert(x, ST_SITE_FRAME);
		}
	}
	meta_int(x, "sites", n);
}

static void write_meta(exporter *x, const rav_trace_info *info)
{
	char buf[64];
	meta_int(x, "schema_version", SCHEMA_VERSION);
	snprintf(buf, sizeof buf, "%s %s", x->opt->prog, x->opt->version);
	meta_text(x, "generator", buf);
	snprintf(buf, sizeof buf, "%u.%u", info->version_major, info->version_minor);
	meta_text(x, "format_version", buf);
	meta_text(x, "program", info->program);
	meta_int(x, "word_size", info->word_size);
	meta_int(x, "cell_size", info->cell_size);
	meta_int(x, "page_size", info->page_size);
	meta_int(x, "cells_per_page", info->cells_per_page);
	meta_int(x, "events", info->events);
	meta_int(x, "events_exported", x->events_written);
	meta_int(x, "cells", x->cells_written);
	meta_int(x, "start_realtime_ns", info->start_ns);
	meta_int(x, "duration_ns", info->end_ns > info->start_ns ? info->end_ns - info->start_ns : 0);
	meta_int(x, "truncated", info->truncated);
}

/* ---- The export ---------------------------------------------------------- */

static void run(exporter *x, const rav_trace_info *info)
{
	exec_sql(x, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;"
	            "PRAGMA cache_size = -32768");
	exec_sql(x, schema_sql);
	for (int i = 0; i < ST_COUNT && !x->failed; i++)
		if (sqlite3_prepare_v2(x->db, insert_sql[i], -1, &x->st[i], NULL) != SQLITE_OK)
			failf(x, "%s", sqlite3_errmsg(x->db));
	exec_sql(x, "BEGIN");

	uint64_t unknown_kinds[1024] = {0}; /* kinds past the named ones, one bit each */
	uint64_t total = rav_trace_indexed_events(x->t);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, x->t, &all);
	uint64_t n = 0;
	while (!x->failed && rav_event_iter_next(&it, &ev)) {
		if (ev.kind >= RAV_EV_KIND_COUNT)
			unknown_kinds[ev.kind / 64] |= (uint64_t)1 << (ev.kind % 64);
		if (!x->opt->kinds || (ev.kind < 64 && (x->opt->kinds & ((uint64_t)1 << ev.kind))))
			write_event(x, &ev);
		write_event_facts(x, &ev);
		track_cells(x, &ev);
		if ((++n & 0xffff) == 0) {
			progress(x, "event", n, total);
			if (interrupted)
				failf(x, "interrupted");
		}
	}
	rav_event_iter_fini(&it); /* (stopped early on a failure) */
	/* cells still live at the end of the trace: no end_event */
	for (uint32_t p = 0; p < x->npages && !x->failed; p++)
		for (uint32_t c = 0; x->pages[p].groups && c < x->cells_per_page; c++) {
			life *l = x->pages[p].groups[c / GROUP_CELLS];
			if (l && l[c % GROUP_CELLS].id)
				end_life(x, &l[c % GROUP_CELLS], rav_loc_make(p, c, 0), NULL, NULL);
		}
	write_dictionaries(x, unknown_kinds);
	progress(x, "call sites", 0, 0);
	write_sites(x);
	if (!x->failed)
		write_contention(x);
	write_meta(x, info);
	exec_sql(x, "COMMIT");
	progress(x, "building indexes", 0, 0);
	exec_sql(x, index_sql);
}

int cli_export_sqlite(rav_trace *t, const char *out, const cli_export_sqlite_options *opt)
{
	exporter x = {.t = t, .opt = opt, .next_cell_id = 1};
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	x.cells_per_page = info.cells_per_page;
	x.groups_per_page = (info.cells_per_page + GROUP_CELLS - 1) / GROUP_CELLS;
	x.show_progress = opt->progress && isatty(STDERR_FILENO);
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
		failf(&x, "cannot create %s: %s", tmp, x.db ? sqlite3_errmsg(x.db) : sqlite3_errstr(rc));
	else
		run(&x, &info);

	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(x.st[i]);
	if (x.db && sqlite3_close(x.db) != SQLITE_OK)
		failf(&x, "closing the database failed: %s", sqlite3_errmsg(x.db));
	for (uint32_t p = 0; p < x.npages; p++) {
		x.pages[p].live = 0;
		release_if_empty(&x, &x.pages[p]);
	}
	free(x.pages);
	if (x.snap)
		rav_state_free(x.snap);
	if (!x.failed && rename(tmp, out) != 0)
		failf(&x, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
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
	if (x.progress_shown)
		fprintf(stderr, "%s export: wrote %s: %" PRIu64 " events, %" PRIu64 " cells in %.1f s\n",
		        opt->prog, out, x.events_written, x.cells_written, now_seconds() - x.started);
	free(tmp);
	return 0;
}
