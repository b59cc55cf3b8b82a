/* export-sqlite-schema.h - the SQLite export's schema (docs/sql.md says
 * what every table and column means; meta.schema_version numbers it) and
 * its prepared inserts: the ST_* numbers every file of the export binds
 * rows to (through export-sqlite-private.h); the SQL text itself is used
 * by export-sqlite.c only. */
#ifndef RAVTRACE_EXPORT_SQLITE_SCHEMA_H
#define RAVTRACE_EXPORT_SQLITE_SCHEMA_H

/* 2: call sites; 3: types.f0_name, f1_name; 4: a mark's text only in marks
 * (events.text NULL for marks: the text was stored twice); 5: a types row
 * (f0, f1 'unknown') for every type of a cell the trace never defined,
 * meta.error for an inconsistent trace, text always UTF-8 */
#define SCHEMA_VERSION 5

static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;\n"
    "CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,\n"
    "  a_is_loc INTEGER NOT NULL, b_is_loc INTEGER NOT NULL, c_is_loc INTEGER NOT NULL);\n"
    "CREATE TABLE threads (heap INTEGER PRIMARY KEY, kind TEXT NOT NULL, parent INTEGER,\n"
    "  name TEXT, first_event INTEGER, last_event INTEGER);\n"
    "CREATE TABLE types (id INTEGER PRIMARY KEY, name TEXT, f0 TEXT NOT NULL, f1 TEXT NOT NULL,\n"
    "  f0_name TEXT, f1_name TEXT);\n"
    "CREATE TABLE events (idx INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,\n"
    "  thread INTEGER NOT NULL REFERENCES threads(heap), kind INTEGER NOT NULL REFERENCES kinds(id),\n"
    "  aux INTEGER NOT NULL, x INTEGER NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL,\n"
    "  c INTEGER NOT NULL, text TEXT, site INTEGER REFERENCES sites(id));\n"
    "CREATE TABLE marks (event INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,\n"
    "  thread INTEGER NOT NULL REFERENCES threads(heap), text TEXT NOT NULL);\n"
    "CREATE TABLE cells (id INTEGER PRIMARY KEY, type INTEGER NOT NULL REFERENCES types(id),\n"
    "  heap INTEGER NOT NULL, thread INTEGER NOT NULL REFERENCES threads(heap),\n"
    "  alloc_event INTEGER NOT NULL, end_event INTEGER, end_kind TEXT, moves INTEGER NOT NULL,\n"
    "  first_page INTEGER NOT NULL, first_cell INTEGER NOT NULL,\n"
    "  last_page INTEGER NOT NULL, last_cell INTEGER NOT NULL,\n"
    "  alloc_site INTEGER REFERENCES sites(id), end_site INTEGER REFERENCES sites(id));\n"
    "CREATE TABLE moves (event INTEGER PRIMARY KEY, cell INTEGER NOT NULL REFERENCES cells(id),\n"
    "  thread INTEGER NOT NULL REFERENCES threads(heap), from_page INTEGER NOT NULL,\n"
    "  from_cell INTEGER NOT NULL, to_page INTEGER NOT NULL, to_cell INTEGER NOT NULL,\n"
    "  site INTEGER REFERENCES sites(id));\n"
    "CREATE TABLE handoffs (event INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,\n"
    "  page INTEGER NOT NULL, from_heap INTEGER NOT NULL, to_heap INTEGER NOT NULL,\n"
    "  from_thread INTEGER NOT NULL, to_thread INTEGER NOT NULL, via_message INTEGER NOT NULL);\n"
    "CREATE TABLE contention_lines (rank INTEGER PRIMARY KEY, line INTEGER NOT NULL,\n"
    "  external INTEGER NOT NULL, first_page INTEGER, first_cell INTEGER,\n"
    "  transfers INTEGER NOT NULL, invalidations INTEGER NOT NULL,\n"
    "  reads INTEGER NOT NULL, writes INTEGER NOT NULL);\n"
    "CREATE TABLE contention_line_threads (rank INTEGER NOT NULL REFERENCES contention_lines(rank),\n"
    "  heap INTEGER NOT NULL, PRIMARY KEY (rank, heap)) WITHOUT ROWID;\n"
    "CREATE TABLE contention_line_sites (rank INTEGER NOT NULL REFERENCES contention_lines(rank),\n"
    "  site INTEGER NOT NULL, transfers INTEGER NOT NULL, PRIMARY KEY (rank, site)) WITHOUT ROWID;\n"
    "CREATE TABLE sites (id INTEGER PRIMARY KEY, frames INTEGER NOT NULL, object TEXT,\n"
    "  offset INTEGER NOT NULL, status TEXT NOT NULL, function TEXT, file TEXT, line INTEGER,\n"
    "  col INTEGER);\n"
    "CREATE TABLE site_frames (site INTEGER NOT NULL REFERENCES sites(id), depth INTEGER NOT NULL,\n"
    "  frame INTEGER NOT NULL, inlined INTEGER NOT NULL, object TEXT, offset INTEGER NOT NULL,\n"
    "  status TEXT NOT NULL, function TEXT, file TEXT, line INTEGER,\n"
    "  PRIMARY KEY (site, depth)) WITHOUT ROWID;\n"
    "CREATE VIEW event_list AS SELECT e.idx, e.time_ns, e.thread, th.name AS thread_name,\n"
    "  k.name AS kind, e.aux, e.x, e.a, e.b, e.c, coalesce(e.text, mk.text) AS text,\n"
    "  e.site, si.function AS site_function, si.file AS site_file, si.line AS site_line,\n"
    "  CASE WHEN k.a_is_loc AND (e.a > 0 OR k.name LIKE 'page-%') THEN e.a >> 16 END AS a_page,\n"
    "  CASE WHEN k.a_is_loc AND (e.a > 0 OR k.name LIKE 'page-%') THEN (e.a >> 2) & 16383 END AS a_cell,\n"
    "  CASE WHEN k.a_is_loc AND (e.a > 0 OR k.name LIKE 'page-%') THEN e.a & 3 END AS a_word,\n"
    "  CASE WHEN k.b_is_loc AND e.b > 0 THEN e.b >> 16 END AS b_page,\n"
    "  CASE WHEN k.b_is_loc AND e.b > 0 THEN (e.b >> 2) & 16383 END AS b_cell,\n"
    "  CASE WHEN k.b_is_loc AND e.b > 0 THEN e.b & 3 END AS b_word,\n"
    "  CASE WHEN k.c_is_loc AND e.c > 0 THEN e.c >> 16 END AS c_page,\n"
    "  CASE WHEN k.c_is_loc AND e.c > 0 THEN (e.c >> 2) & 16383 END AS c_cell,\n"
    "  CASE WHEN k.c_is_loc AND e.c > 0 THEN e.c & 3 END AS c_word\n"
    "  FROM events e JOIN kinds k ON k.id = e.kind LEFT JOIN threads th ON th.heap = e.thread\n"
    "  LEFT JOIN sites si ON si.id = e.site LEFT JOIN marks mk ON mk.event = e.idx;\n";

static const char index_sql[] = "CREATE INDEX events_by_kind_thread ON events(kind, thread);\n"
                                "CREATE INDEX events_by_site ON events(site);\n"
                                "CREATE INDEX cells_by_alloc_site ON cells(alloc_site);\n"
                                "CREATE INDEX cells_by_type ON cells(type);\n"
                                "CREATE INDEX cells_by_alloc_event ON cells(alloc_event);\n"
                                "CREATE INDEX cells_by_end_event ON cells(end_event);\n"
                                "CREATE INDEX moves_by_cell ON moves(cell);\n"
                                "CREATE INDEX handoffs_by_from_thread ON handoffs(from_thread);\n"
                                "CREATE INDEX handoffs_by_to_thread ON handoffs(to_thread);\n"
                                "PRAGMA analysis_limit = 1000;\n"
                                "ANALYZE;\n";

enum {
	ST_EVENT,
	ST_MARK,
	ST_CELL,
	ST_MOVE,
	ST_HANDOFF,
	ST_LINE,
	ST_LINE_THREAD,
	ST_THREAD,
	ST_TYPE,
	ST_KIND,
	ST_META,
	ST_LINE_SITE,
	ST_SITE,
	ST_SITE_FRAME,
	ST_COUNT
};

static const char *const insert_sql[ST_COUNT] = {
    [ST_EVENT] = "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [ST_MARK] = "INSERT INTO marks VALUES (?,?,?,?)",
    [ST_CELL] = "INSERT INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_MOVE] = "INSERT INTO moves VALUES (?,?,?,?,?,?,?,?)",
    [ST_HANDOFF] = "INSERT INTO handoffs VALUES (?,?,?,?,?,?,?,?)",
    [ST_LINE] = "INSERT INTO contention_lines VALUES (?,?,?,?,?,?,?,?,?)",
    [ST_LINE_THREAD] = "INSERT INTO contention_line_threads VALUES (?,?)",
    [ST_THREAD] = "INSERT INTO threads VALUES (?,?,?,?,?,?)",
    [ST_TYPE] = "INSERT INTO types VALUES (?,?,?,?,?,?)",
    [ST_KIND] = "INSERT INTO kinds VALUES (?,?,?,?,?)",
    [ST_META] = "INSERT INTO meta VALUES (?,?)",
    [ST_LINE_SITE] = "INSERT INTO contention_line_sites VALUES (?,?,?)",
    [ST_SITE] = "INSERT INTO sites VALUES (?,?,?,?,?,?,?,?,?)",
    [ST_SITE_FRAME] = "INSERT INTO site_frames VALUES (?,?,?,?,?,?,?,?,?,?)",
};

#endif /* RAVTRACE_EXPORT_SQLITE_SCHEMA_H */
