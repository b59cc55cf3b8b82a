/* cli-sites.c - call sites in ravtrace's words: a site's call as text and
 * as JSON (dump, stats, export say the same), notes on frames that could
 * not be resolved, and `stats --sites`, the ranked list.
 *
 * Symbols come from libravtrace (rav_trace_site_resolve: libdw, the
 * recorded objects on disk); --no-symbols keeps to what the file itself
 * says (object and offset), which is what golden tests compare.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *base_name(const char *path)
{
	if (!path)
		return "?";
	const char *b = strrchr(path, '/');
	return b && b[1] ? b + 1 : path;
}

static const char *status_name(rav_symbol_status s)
{
	switch (s) {
	case RAV_SYMBOL_OK:
		return "ok";
	case RAV_SYMBOL_NO_DEBUG_INFO:
		return "no-debug-info";
	case RAV_SYMBOL_CHANGED:
		return "binary-changed";
	case RAV_SYMBOL_NO_OBJECT:
		return "no-object";
	default:
		return "unmapped";
	}
}

void cli_sites_setup(rav_trace *t, const cli_opts *o)
{
	if (o->object_path)
		rav_trace_set_object_path(t, o->object_path);
}

/* What a line shows of an object's path, a function or a file: bytes the
 * trace or the debug information on disk supplied, escaped (cli_text) so
 * that a path with a newline or a terminal's control sequence can neither
 * fake a line nor reach the terminal. */
static const char *escaped(char *buf, size_t len)
{
	char *raw = strdup(buf);
	if (raw) {
		cli_text(buf, len, raw);
		free(raw);
	}
	return buf;
}

static const char *raw_text(rav_trace *t, const rav_trace_frame *f, bool full_path, char *buf, size_t len)
{
	rav_trace_object ob;
	if (f->object >= 0 && rav_trace_object_at(t, (unsigned)f->object, &ob))
		snprintf(buf, len, "%s+0x%" PRIx64, full_path ? ob.path : base_name(ob.path), f->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
	return escaped(buf, len);
}

static const char *symbol_text(const rav_trace_symbol *sy, bool full_path, char *buf, size_t len)
{
	const char *obj = sy->object ? (full_path ? sy->object : base_name(sy->object)) : NULL;
	if (sy->status == RAV_SYMBOL_OK && sy->file) {
		const char *file = full_path ? sy->file : base_name(sy->file);
		if (sy->function)
			snprintf(buf, len, "%s (%s:%u)", sy->function, file, sy->line);
		else
			snprintf(buf, len, "%s:%u", file, sy->line);
	} else if (sy->function) {
		snprintf(buf, len, "%s+0x%" PRIx64 " in %s", sy->function, sy->function_offset, obj ? obj : "?");
	} else if (obj) {
		snprintf(buf, len, "%s+0x%" PRIx64, obj, sy->offset);
	} else {
		snprintf(buf, len, "0x%" PRIx64, sy->offset);
	}
	return escaped(buf, len);
}

const char *cli_site_text(rav_trace *t, uint32_t site, bool full_path, bool no_symbols, char *buf, size_t len)
{
	rav_trace_frame f;
	if (site == 0 || rav_trace_site_frames(t, site, &f, 1) == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (no_symbols)
		return raw_text(t, &f, full_path, buf, len);
	rav_trace_symbol sy;
	if (!rav_trace_site_call(t, site, &sy))
		return raw_text(t, &f, full_path, buf, len);
	return symbol_text(&sy, full_path, buf, len);
}

static void json_symbol(FILE *out, const rav_trace_symbol *sy)
{
	fprintf(out, "{\"object\": ");
	cli_json_string(out, sy->object);
	fprintf(out, ", \"offset\": \"0x%" PRIx64 "\", \"status\": \"%s\"", sy->offset, status_name(sy->status));
	if (sy->function) {
		fprintf(out, ", \"function\": ");
		cli_json_string(out, sy->function);
	}
	if (sy->file) {
		fprintf(out, ", \"file\": ");
		cli_json_string(out, sy->file);
		fprintf(out, ", \"line\": %u, \"column\": %u", sy->line, sy->column);
	}
	if (sy->inlined)
		fprintf(out, ", \"inlined\": true");
	fprintf(out, ", \"frame\": %u}", sy->frame);
}

static void json_raw(FILE *out, rav_trace *t, const rav_trace_frame *f)
{
	rav_trace_object ob;
	bool mapped = f->object >= 0 && rav_trace_object_at(t, (unsigned)f->object, &ob);
	fprintf(out, "{\"object\": ");
	if (mapped)
		cli_json_string(out, ob.path);
	else
		fputs("null", out);
	fprintf(out, ", \"offset\": \"0x%" PRIx64 "\"}", mapped ? f->offset : f->address);
}

void cli_json_site(FILE *out, rav_trace *t, uint32_t site, bool frames, bool no_symbols)
{
	rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
	unsigned nf = site ? rav_trace_site_frames(t, site, fr, RAV_TRACE_SITE_FRAMES_MAX) : 0;
	if (!nf) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"id\": %u, \"call\": ", site);
	rav_trace_symbol sy[128];
	unsigned ns = no_symbols ? 0 : rav_trace_site_resolve(t, site, sy, 128);
	if (ns)
		json_symbol(out, &sy[0]);
	else
		json_raw(out, t, &fr[0]);
	if (frames) {
		fprintf(out, ", \"frames\": [");
		if (ns) {
			for (unsigned i = 0; i < ns && i < 128; i++) {
				fputs(i ? ", " : "", out);
				json_symbol(out, &sy[i]);
			}
		} else {
			for (unsigned i = 0; i < nf; i++) {
				fputs(i ? ", " : "", out);
				json_raw(out, t, &fr[i]);
			}
		}
		fputc(']', out);
	}
	fputc('}', out);
}

void cli_sites_notes(rav_trace *t, const uint32_t *sites, size_t n)
{
	const char *said[16];
	unsigned nsaid = 0;
	for (size_t i = 0; i < n && nsaid < 16; i++) {
		rav_trace_symbol sy[RAV_TRACE_SITE_FRAMES_MAX];
		unsigned ns = rav_trace_site_resolve(t, sites[i], sy, RAV_TRACE_SITE_FRAMES_MAX);
		for (unsigned k = 0; k < ns && k < RAV_TRACE_SITE_FRAMES_MAX && nsaid < 16; k++) {
			const char *m = sy[k].message;
			if (!m || sy[k].status == RAV_SYMBOL_OK)
				continue;
			bool dup = false;
			for (unsigned j = 0; j < nsaid; j++)
				dup |= said[j] == m; /* messages are interned */
			if (!dup) {
				said[nsaid++] = m;
				char nb[1024];
				fprintf(stderr, "%s: note: %s\n", cli_prog, cli_text(nb, sizeof nb, m));
			}
		}
	}
}

/* ---- stats --sites -------------------------------------------------------- */

static const char *const order_names[] = {"allocs",   "frees",     "moves", "fixups",
                                          "handoffs", "transfers", "events"};
static const char *const order_words[] = {"allocations", "frees",     "moves caused", "fix-ups caused",
                                          "pages handed off", "cache-line transfers", "events"};


static void json_row(FILE *out, const rav_site_row *r)
{
	fprintf(out,
	        "\"events\": %" PRIu64 ", \"allocs\": %" PRIu64 ", \"frees\": %" PRIu64 ", \"moves\": %" PRIu64
	        ", \"fixups\": %" PRIu64 ", \"pages_sent\": %" PRIu64 ", \"pages_received\": %" PRIu64
	        ", \"transfers\": %" PRIu64,
	        r->events, r->allocs, r->frees, r->moves, r->fixups, r->pages_sent, r->pages_received,
	        r->transfers);
}

int cli_stats_sites(cli_trace *tr, const cli_opts *o)
{
	rav_trace *t = tr->t;
	cli_sites_setup(t, o);
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_contention_config cc = {.line_size = (uint32_t)o->line_size, .from = o->from, .to = o->to};
	rav_contention *con = rav_contention_run(t, &cc, NULL, NULL, &err);
	if (!con)
		cli_trace_error(tr->path, &err);
	rav_site_stats_config sc = {.from = o->from,
	                            .to = o->to,
	                            .group = o->stacks       ? RAV_SITES_BY_STACK
	                                     : o->no_symbols ? RAV_SITES_BY_CALL
	                                                     : (rav_site_grouping)o->group,
	                            .contention = con};
	rav_site_stats *st = rav_site_stats_run(t, &sc, NULL, NULL, &err);
	if (!st)
		cli_trace_error(tr->path, &err);
	rav_site_stats_sort(st, (rav_site_order)o->by);
	unsigned nrows = rav_site_stats_count(st);
	unsigned top = o->top && o->top < nrows ? (unsigned)o->top : nrows;
	rav_site_row unknown, all;
	rav_site_stats_totals(st, &unknown, &all);
	uint32_t *shown = cli_xcalloc(top, sizeof *shown);
	for (unsigned i = 0; i < top; i++)
		shown[i] = rav_site_stats_row(st, i)->site;

	if (o->json) {
		FILE *out = stdout;
		static const char *const groups[] = {"line", "call", "stack"};
		fprintf(out, "{\n  \"sites_recorded\": %u,\n  \"rows\": %u,\n  \"order\": \"%s\",\n  \"group\": \"%s\",\n",
		        rav_trace_site_count(t), nrows, order_names[o->by], groups[sc.group]);
		fprintf(out, "  \"all\": {");
		json_row(out, &all);
		fprintf(out, "},\n  \"unknown\": {");
		json_row(out, &unknown);
		fprintf(out, "},\n  \"sites\": [");
		for (unsigned i = 0; i < top; i++) {
			const rav_site_row *r = rav_site_stats_row(st, i);
			fprintf(out, "%s\n    {\"site\": ", i ? "," : "");
			cli_json_site(out, t, r->site, o->stacks, o->no_symbols);
			fprintf(out, ", \"stacks\": %u, ", r->stacks);
			json_row(out, r);
			fputc('}', out);
		}
		fprintf(out, "%s]\n}\n", top ? "\n  " : "");
	} else {
		static const char *const what[] = {"line", "call site", "stack"};
		printf("%s: call sites by %s (%u %s%s", tr->path, order_words[o->by], nrows, what[sc.group],
		       nrows == 1 ? "" : "s");
		if (top < nrows)
			printf(", top %u", top);
		printf(")\n");
		if (rav_trace_site_count(t) == 0) {
			if (tr->info.version_major == 1 && tr->info.version_minor < RAV_TRACE_SITES_MINOR)
				printf("  (none recorded: the trace is of format %u.%u, from before call sites were "
				       "recorded)\n",
				       tr->info.version_major, tr->info.version_minor);
			else
				printf("  (none recorded: the program ran with RAVIOLI_TRACE_SITES=0)\n");
		} else {
			printf("  %10s %10s %10s %10s %10s %10s  %s\n", "allocs", "frees", "moves", "fix-ups", "handoffs",
			       "transfers", o->stacks ? "stack" : "call site");
			unsigned listed = 0;
			for (unsigned i = 0; i < top; i++, listed++) {
				const rav_site_row *r = rav_site_stats_row(st, i);
				char buf[1024];
				/* sorted by the metric: the rest have none of it */
				if (!rav_site_row_metric(r, (rav_site_order)o->by))
					break;
				printf("  %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
				       "  %s",
				       r->allocs, r->frees, r->moves, r->fixups, r->pages_sent + r->pages_received,
				       r->transfers, cli_site_text(t, r->site, true, o->no_symbols, buf, sizeof buf));
				if (r->stacks > 1)
					printf("  (%u %s)", r->stacks, sc.group == RAV_SITES_BY_LINE ? "call sites" : "stacks");
				rav_trace_symbol in[2];
				/* call sites apart: copies of an inlined function differ in where they were inlined */
				if (sc.group == RAV_SITES_BY_CALL && !o->no_symbols && rav_trace_site_resolve(t, r->site, in, 2) >= 2 &&
				    in[0].inlined)
					printf("  [inlined in %s]", symbol_text(&in[1], false, buf, sizeof buf));
				putchar('\n');
				if (o->stacks) {
					rav_trace_symbol sy[RAV_TRACE_SITE_FRAMES_MAX];
					rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
					unsigned ns = o->no_symbols ? 0
					                            : rav_trace_site_resolve(t, r->site, sy, RAV_TRACE_SITE_FRAMES_MAX);
					unsigned nf = rav_trace_site_frames(t, r->site, fr, RAV_TRACE_SITE_FRAMES_MAX);
					if (ns) {
						for (unsigned k = 1; k < ns && k < RAV_TRACE_SITE_FRAMES_MAX; k++)
							printf("  %65s%s %s\n", "", sy[k - 1].inlined ? "inlined in" : "called from",
							       symbol_text(&sy[k], true, buf, sizeof buf));
					} else {
						for (unsigned k = 1; k < nf; k++)
							printf("  %65scalled from %s\n", "", raw_text(t, &fr[k], true, buf, sizeof buf));
					}
				}
			}
			/* the header counted them: say where they went (every row
			 * past the listed ones, not only those within --top: the
			 * rows are sorted by the figure) */
			if (listed < top)
				printf("  (%u more %s%s with no %s: --by=events lists every one)\n", nrows - listed,
				       what[sc.group], nrows - listed == 1 ? "" : "s", order_words[o->by]);
			if (unknown.allocs || unknown.frees || unknown.moves || unknown.fixups || unknown.pages_sent ||
			    unknown.pages_received || unknown.transfers)
				printf("  %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
				       "  (no call site: events no program call made, such as a thread's heap torn down at its "
				       "exit)\n",
				       unknown.allocs, unknown.frees, unknown.moves, unknown.fixups,
				       unknown.pages_sent + unknown.pages_received, unknown.transfers);
			printf("  %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			       "  all\n",
			       all.allocs, all.frees, all.moves, all.fixups, all.pages_sent + all.pages_received,
			       all.transfers);
		}
	}
	int rc = cli_finish_output(stdout, "the output");
	if (!o->no_symbols)
		cli_sites_notes(t, shown, top);
	free(shown);
	rav_site_stats_free(st);
	rav_contention_free(con);
	return rc;
}
