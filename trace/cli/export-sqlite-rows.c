/* export-sqlite-rows.c - the rows of the SQLite export's tables other than
 * cells: events and the facts they carry (marks, page hand-offs, moves),
 * the dictionaries (kinds, threads, types), the contention model's tables,
 * call sites with their symbols, and meta (docs/sql.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export-sqlite-private.h"

static void meta_text(exporter *x, const char *key, const char *value)
{
	bind_text(x, ST_META, 1, key);
	bind_text(x, ST_META, 2, value);
	cli_sqlite_insert(x, ST_META);
}

static void meta_int(exporter *x, const char *key, uint64_t value)
{
	bind_text(x, ST_META, 1, key);
	bind_u64(x, ST_META, 2, value);
	cli_sqlite_insert(x, ST_META);
}

void cli_sqlite_write_event(exporter *x, const rav_event *ev)
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
	/* a mark's text is in marks only: a trace may carry megabytes of them */
	bind_text(x, ST_EVENT, 10, ev->kind == RAV_EV_MARK ? NULL : ev->text);
	bind_site(x, ST_EVENT, 11, ev->site);
	cli_sqlite_insert(x, ST_EVENT);
	x->events_written++;
}

void cli_sqlite_write_event_facts(exporter *x, const rav_event *ev)
{
	if (ev->kind == RAV_EV_MARK) {
		bind_u64(x, ST_MARK, 1, ev->index);
		bind_u64(x, ST_MARK, 2, ev->time_ns);
		bind_i64(x, ST_MARK, 3, ev->thread);
		bind_text(x, ST_MARK, 4, ev->text ? ev->text : "");
		cli_sqlite_insert(x, ST_MARK);
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
		cli_sqlite_insert(x, ST_HANDOFF);
	}
}

void cli_sqlite_write_dictionaries(exporter *x, uint64_t kinds_seen_unknown[1024])
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
		cli_sqlite_insert(x, ST_KIND); /* steps now, while `name` (bound static) lives */
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
		cli_sqlite_insert(x, ST_THREAD); /* steps now, while th (bound static) lives */
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
		cli_sqlite_insert(x, ST_TYPE);
		x->types_used[ty.id / 64] &= ~((uint64_t)1 << (ty.id % 64));
	}
	/* Types of cells the trace never defined (its type-def lost, or a
	 * program that allocates by raw type id): a row with no name and
	 * fields of unknown kind, so that joins on cells.type keep the cells. */
	for (unsigned id = 0; id < 65536; id++) {
		if (!(x->types_used[id / 64] & ((uint64_t)1 << (id % 64))))
			continue;
		bind_i64(x, ST_TYPE, 1, id);
		bind_text(x, ST_TYPE, 2, NULL);
		bind_text(x, ST_TYPE, 3, "unknown");
		bind_text(x, ST_TYPE, 4, "unknown");
		bind_text(x, ST_TYPE, 5, NULL);
		bind_text(x, ST_TYPE, 6, NULL);
		cli_sqlite_insert(x, ST_TYPE);
	}
}

void cli_sqlite_write_contention(exporter *x)
{
	rav_contention_config cfg = {.line_size = x->opt->line_size, .windows = 64};
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	cli_sqlite_progress(x, "contention model", 0, 0);
	rav_contention *con = rav_contention_run(x->t, &cfg, cli_sqlite_contention_progress, x, &err);
	if (!con) {
		cli_sqlite_failf(x, "%s",
		                 cli_sqlite_interrupted() ? "interrupted"
		                 : err.message[0]         ? err.message
		                                          : "contention model failed");
		return;
	}
	rav_contention_totals tot;
	rav_contention_get_totals(con, &tot);
	unsigned nlines = rav_contention_line_count(con);
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
		cli_sqlite_insert(x, ST_LINE);
		unsigned lt[64];
		unsigned nlt = rav_contention_line_threads(con, i, lt, 64, NULL);
		for (unsigned k = 0; k < nlt && k < 64; k++) {
			rav_trace_thread th;
			if (!rav_trace_thread_at(x->t, lt[k], &th))
				continue;
			bind_i64(x, ST_LINE_THREAD, 1, i + 1);
			bind_i64(x, ST_LINE_THREAD, 2, th.heap_id);
			cli_sqlite_insert(x, ST_LINE_THREAD);
		}
		uint32_t sites[16];
		uint64_t tr[16];
		unsigned ns = rav_contention_line_sites(con, i, sites, tr, 16);
		for (unsigned k = 0; k < ns && k < 16; k++) {
			bind_i64(x, ST_LINE_SITE, 1, i + 1);
			bind_i64(x, ST_LINE_SITE, 2, sites[k]);
			bind_u64(x, ST_LINE_SITE, 3, tr[k]);
			cli_sqlite_insert(x, ST_LINE_SITE);
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
void cli_sqlite_write_sites(exporter *x)
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
				bool mapped = fr[k].object >= 0 &&
				              rav_trace_object_at(x->t, (unsigned)fr[k].object, &ob);
				sy[k] = (rav_trace_symbol){.status = mapped ? RAV_SYMBOL_NO_DEBUG_INFO
				                                            : RAV_SYMBOL_UNMAPPED,
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
		cli_sqlite_insert(x, ST_SITE);
		for (unsigned k = 0; k < ns && !x->failed; k++) {
			bind_i64(x, ST_SITE_FRAME, 1, id);
			bind_i64(x, ST_SITE_FRAME, 2, k);
			bind_i64(x, ST_SITE_FRAME, 3, sy[k].frame);
			bind_i64(x, ST_SITE_FRAME, 4, sy[k].inlined);
			bind_text(x, ST_SITE_FRAME, 5, sy[k].object);
			bind_u64(x, ST_SITE_FRAME, 6, sy[k].offset);
			bind_text(x, ST_SITE_FRAME, 7,
			          x->opt->no_symbols ? "not-resolved" : status_text(sy[k].status));
			bind_text(x, ST_SITE_FRAME, 8, sy[k].function);
			bind_text(x, ST_SITE_FRAME, 9, sy[k].file);
			if (sy[k].line)
				bind_i64(x, ST_SITE_FRAME, 10, sy[k].line);
			else
				sqlite3_bind_null(x->st[ST_SITE_FRAME], 10);
			cli_sqlite_insert(x, ST_SITE_FRAME);
		}
	}
	meta_int(x, "sites", n);
}

void cli_sqlite_write_meta(exporter *x, const rav_trace_info *info)
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
	/* an inconsistent trace is exported up to the problem and past it as
	 * well as the events allow (cells a consistent trace never shows end
	 * "overwritten"); the database says so, as the exit status does */
	rav_trace_error err;
	if (!rav_trace_consistent(x->t, &err))
		meta_text(x, "error", err.message);
}
