/* export-sqlite.h - `ravtrace export --format=sqlite` (export-sqlite.c).
 *
 * Kept apart from the command-line parsing so the export command only has
 * to hand over an opened, indexed trace and the options it parsed.
 */
#ifndef RAVTRACE_EXPORT_SQLITE_H
#define RAVTRACE_EXPORT_SQLITE_H

#include <stdbool.h>
#include <stdint.h>

#include "ravtrace.h"

typedef struct cli_export_sqlite_options {
	uint64_t kinds;      /* rows of the events table: mask of 1 << kind; 0 = every kind */
	uint32_t line_size;  /* cache line of the contention tables, bytes (power of two) */
	bool progress;       /* a progress line on standard error (when it is a terminal) */
	bool no_symbols;     /* sites as objects and offsets only (no debug info read) */
	uint64_t max_size;   /* bytes the database may take (0: the default, EXPORT_SIZE_DEFAULT;
	                      * UINT64_MAX: no bound) */
	const char *prog;    /* for messages: "ravtrace" */
	const char *version; /* recorded in meta.generator */
} cli_export_sqlite_options;

/* For rav_trace_index before the export (user: the options): the same
 * progress line, "indexing". */
bool cli_export_sqlite_index_progress(uint64_t done, uint64_t total, void *user);

/* Write the whole trace into a new SQLite database at `out` (replacing any
 * file there only once the database is complete).  Returns 0, or 1 after
 * printing what went wrong to standard error. */
int cli_export_sqlite(rav_trace *t, const char *out, const cli_export_sqlite_options *opt);

#endif /* RAVTRACE_EXPORT_SQLITE_H */
