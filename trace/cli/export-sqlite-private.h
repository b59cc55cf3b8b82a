/* export-sqlite-private.h - what the files of the SQLite export share:
 * the exporter (one per export: the database, its prepared inserts, the
 * cell lives, the progress line), the helpers that bind and insert a row,
 * and what each file offers the others:
 *  - export-sqlite.c: the export itself (database, batches, progress, the
 *    pass over the events);
 *  - export-sqlite-cells.c: following each cell across its moves, a row of
 *    the cells table per life;
 *  - export-sqlite-rows.c: the other tables (events and their facts,
 *    dictionaries, contention, call sites, meta);
 *  - export-sqlite-schema.h: the schema and the insert statements.
 */
#ifndef RAVTRACE_EXPORT_SQLITE_PRIVATE_H
#define RAVTRACE_EXPORT_SQLITE_PRIVATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export-sqlite-schema.h"
#include "export-sqlite.h"
#include "rav-record.h"

#define BATCH_ROWS 50000
/* --max-size's default: the larger of this and EXPORT_SIZE_PER_TRACE_BYTE
 * times the trace's size.  A database takes some 30 to 60 bytes per event
 * (events, cells and moves rows and their indexes) where a trace takes 0.5
 * to 4, but a trace of repeated events or texts compresses far better
 * (hostile: 600 KB of trace, 390 MB of distinct mark texts). */
#define EXPORT_SIZE_FLOOR ((uint64_t)1 << 30)
#define EXPORT_SIZE_PER_TRACE_BYTE 256
/* A database this big is reported even when standard error is no terminal. */
#define EXPORT_SIZE_NOTE ((uint64_t)256 << 20)
#define MAX_PAGE_INDEX (1u << 24) /* as replay: far above any pool (the engine's limit is 2^22 pages) */
/* Cell records are allocated per group of GROUP_CELLS slots, found by
 * hashing (page, group): memory follows the live cells, whatever their
 * spread.  A heap has no gaps, so its pages are dense (a group's slots
 * all live: about 50 bytes per cell); a trace with one cell in each of
 * 200,000 pages costs a group each (about 250 bytes), not a page of
 * records (it took 510 MiB with a table of 256 group pointers per page). */
#define GROUP_CELLS 4

/* The life of the cell occupying one slot of a page. */
typedef struct life {
	int64_t id; /* cells.id; 0: no live cell in this slot */
	uint64_t alloc_event;
	uint32_t heap, thread, moves;
	uint32_t alloc_site;
	uint32_t first_page; /* where it was allocated (pages below MAX_PAGE_INDEX) */
	uint16_t first_cell; /* (below 16384: the format's bound) */
	uint16_t type;
} life;

typedef struct life_group {
	uint32_t live; /* slots with a life (the group is freed at 0) */
	life cell[GROUP_CELLS];
} life_group;

/* A page index the trace named, in a hash table of them (never removed:
 * a few per page the trace names, as replay's own table of pages). */
typedef struct page_entry {
	uint32_t page;  /* the key */
	uint32_t owner; /* heap owning the page (0: none) */
	uint16_t live;  /* lives recorded in the page's groups (cells_per_page <= 16384) */
	bool taken;     /* this slot of the table holds a page */
	bool listed;    /* in exporter.used */
} page_entry;

typedef struct group_slot {
	uint64_t key; /* page << 32 | group */
	life_group *g; /* NULL: an empty slot of the table */
} group_slot;

typedef struct exporter {
	rav_trace *t;
	const cli_export_sqlite_options *opt;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	bool failed;
	char error[640];
	uint64_t rows_in_batch;
	/* the bound on the database's size (UINT64_MAX: none) and where the
	 * pass is, for the message when it is reached */
	uint64_t size_limit, event_pos, event_total;
	const char *phase;
	const char *path; /* the destination (its file system's free space) */
	/* cell lives (export-sqlite-cells.c): the pages named and the groups
	 * of cells, two hash tables, linear probing, at most half full */
	uint32_t cells_per_page, groups_per_page;
	page_entry *pages;
	size_t pages_cap, npages;
	group_slot *groups;
	size_t groups_cap, ngroups;
	/* The pages used since the last LOST event (the ones it must end):
	 * a LOST ends every life, and going through every page for each of
	 * 100,000 of them took hours. */
	uint32_t *used;
	size_t nused, used_cap;
	/* what the cell lives take, and the trace's memory limit
	 * (rav_trace_memory_limit) they stop at with an error naming it */
	uint64_t cell_bytes, cell_limit;
	uint64_t cells_live;
	int64_t next_cell_id;
	uint64_t cells_written, events_written;
	/* the type ids of the cells written, one bit each: the types table
	 * lists those the trace never defined too, so cells.type always
	 * names a row of it */
	uint64_t types_used[65536 / 64];
	rav_state *snap; /* replay state for snapshot events (attach traces) */
	bool snap_broken; /* it stopped at an inconsistency: no more snapshots' cells */
	/* progress line */
	bool show_progress, progress_shown;
	double started, last_progress;
} exporter;

void cli_sqlite_failf(exporter *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_sqlite_exec(exporter *x, const char *sql);
/* Run a bound insert; every BATCH_ROWS rows, commit and begin anew. */
void cli_sqlite_insert(exporter *x, int which);
void cli_sqlite_progress(exporter *x, const char *phase, uint64_t done, uint64_t total);
/* rav_contention_run's progress: the line, and false once interrupted. */
bool cli_sqlite_contention_progress(uint64_t done, uint64_t total, void *user);
/* Whether SIGINT or SIGTERM came during the export. */
bool cli_sqlite_interrupted(void);

static inline void bind_i64(exporter *x, int which, int col, int64_t v)
{
	sqlite3_bind_int64(x->st[which], col, v);
}

/* Locations are stored as their 64-bit pattern (external ones, with bit 63
 * set, read back as negative numbers). */
static inline void bind_u64(exporter *x, int which, int col, uint64_t v)
{
	sqlite3_bind_int64(x->st[which], col, (int64_t)v);
}

/* Text as SQLite takes it, UTF-8: a recorded name or mark may hold any
 * bytes, which SQLite would store as they are and readers (Python's
 * sqlite3, for one) then fail to decode; those bytes become U+FFFD, as in
 * ravtrace's JSON. */
static inline void bind_text(exporter *x, int which, int col, const char *text)
{
	if (!text) {
		sqlite3_bind_null(x->st[which], col);
	} else if (cli_utf8_valid(text)) {
		sqlite3_bind_text(x->st[which], col, text, -1, SQLITE_STATIC);
	} else {
		char *repaired = cli_utf8_repaired(text);
		if (repaired)
			sqlite3_bind_text(x->st[which], col, repaired, -1, free); /* SQLite frees it */
		else {
			cli_sqlite_failf(x, "out of memory for a text of %zu bytes", strlen(text));
			sqlite3_bind_null(x->st[which], col);
		}
	}
}

/* Site 0 is "no site": NULL. */
static inline void bind_site(exporter *x, int which, int col, uint32_t site)
{
	if (site)
		sqlite3_bind_int64(x->st[which], col, site);
	else
		sqlite3_bind_null(x->st[which], col);
}

/* export-sqlite-cells.c: feed every event in order; end_all writes a row
 * for each cell still live at the end of the trace; free releases the
 * records (after a failure too). */
void cli_sqlite_track_cells(exporter *x, const rav_event *ev);
void cli_sqlite_cells_end_all(exporter *x);
void cli_sqlite_cells_free(exporter *x);

/* export-sqlite-rows.c */
void cli_sqlite_write_event(exporter *x, const rav_event *ev);
void cli_sqlite_write_event_facts(exporter *x, const rav_event *ev);
void cli_sqlite_write_dictionaries(exporter *x, uint64_t kinds_seen_unknown[1024]);
void cli_sqlite_write_contention(exporter *x);
void cli_sqlite_write_sites(exporter *x);
void cli_sqlite_write_meta(exporter *x, const rav_trace_info *info);

#endif /* RAVTRACE_EXPORT_SQLITE_PRIVATE_H */
