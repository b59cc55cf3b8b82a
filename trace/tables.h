/* tables.h - what a trace names: its threads and heaps, types and marks
 * (rav_trace_thread, rav_trace_type, rav_trace_mark), gathered by a sink
 * (sink.h) as events are indexed.
 *
 * The tables grow while indexing runs on another thread, so they are read
 * by copying an entry out under their lock; nothing hands out a pointer into
 * them.  Texts (mark texts, type names from ravt_tables_type_name) are the
 * reader's interned strings, valid until the trace is closed.
 */
#ifndef RAVT_TABLES_H
#define RAVT_TABLES_H

#include "budget.h"
#include "sink.h"

typedef struct ravt_tables ravt_tables;

/* The tables charge what they hold to `budget` (may be NULL). */
ravt_tables *ravt_tables_new(ravt_budget *budget);
void ravt_tables_free(ravt_tables *tb);
ravt_sink *ravt_tables_sink(ravt_tables *tb);

unsigned ravt_tables_thread_count(const ravt_tables *tb);
bool ravt_tables_thread_at(const ravt_tables *tb, unsigned i, rav_trace_thread *out);
bool ravt_tables_thread_by_id(const ravt_tables *tb, uint32_t heap_id, rav_trace_thread *out);
/* The position of heap id's entry (rav_trace_thread_at order), -1 if none. */
long ravt_tables_thread_index(const ravt_tables *tb, uint32_t heap_id);

unsigned ravt_tables_type_count(const ravt_tables *tb);
bool ravt_tables_type_at(const ravt_tables *tb, unsigned i, rav_trace_type *out);
bool ravt_tables_type_by_id(const ravt_tables *tb, uint16_t id, rav_trace_type *out);
const char *ravt_tables_type_name(const ravt_tables *tb, uint16_t id);
const char *ravt_tables_type_field_name(const ravt_tables *tb, uint16_t id, int field);

unsigned ravt_tables_mark_count(const ravt_tables *tb);
bool ravt_tables_mark_at(const ravt_tables *tb, unsigned i, rav_trace_mark *out);

/* Time of the last event indexed (ns since the trace start); false if none. */
bool ravt_tables_last_time(const ravt_tables *tb, uint64_t *time_ns);

#endif /* RAVT_TABLES_H */
