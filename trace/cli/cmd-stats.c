/* cmd-stats.c - `ravtrace stats`: what the heap did, summed up: events per
 * kind, moves and fix-ups per free, work and pages per thread, page
 * hand-offs between threads, and the cache-contention model's hottest lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const help =
    "usage: ravtrace stats [OPTIONS] FILE\n"
    "\n"
    "Summarize what the heap did: events per kind; moves and fix-ups per free;\n"
    "allocations, frees, moves and pages per thread, and pages over time; page\n"
    "hand-offs between threads; the cache-contention model's totals and the\n"
    "hottest contended lines (needs a trace recorded with RAVIOLI_TRACE_ACCESS=1\n"
    "for memory accesses; page traffic counts either way).\n"
    "\n"
    "  --json            machine-readable output (one JSON object)\n"
    "  --top=N           hottest lines (or call sites) to list (default 10; 0: all call sites)\n"
    "  --line-size=B     cache line size in bytes, a power of two (default 64)\n"
    "  --bins=N          time bins for the pages-over-time series (default 8)\n"
    "  --pairs=N         hand-off pairs to list, most pages first (default 20; 0: all);\n"
    "                    the others are counted\n"
    "  --threads=N       thread rows to list, most events first (default 20; 0: all);\n"
    "                    the others are counted\n"
    "\n"
    "Call sites (traces of format 1.3 and later):\n"
    "  --sites           rank the program's call sites instead: the allocations, frees,\n"
    "                    moves and fix-ups their calls caused, pages their sends and\n"
    "                    receives handed off, cache-line transfers of their accesses\n"
    "  --by=WHAT         order: allocs (default), frees, moves, fixups, handoffs,\n"
    "                    transfers, events\n"
    "  --group=line|call|stack  a row per line of the program (default), per call\n"
    "                    site (address: copies of an inlined function apart), or per\n"
    "                    stack (as --stacks)\n"
    "  --stacks          a row per recorded backtrace (RAVIOLI_TRACE_STACK=N), with its frames\n"
    "  --from=N, --to=M  only events in [N, M)\n"
    "  --object-path=DIRS  also look for the program and its libraries in these\n"
    "                    directories (':'-separated), by file name\n"
    "  --no-symbols      objects and offsets only (no debug info read)\n"
    "  --follow          read FILE as a stream (a FIFO, a socket) until its writer ends it\n"
    "  -h, --help        this help\n"
    "\n"
    "FILE - reads standard input.  Exit status 1 also when the trace is inconsistent\n"
    "(an event does not fit the replayed heap): the figures are then partial.\n";

typedef struct thread_row {
	uint32_t id;
	uint64_t events, allocs, frees, moves, fixups, pages_max;
	unsigned seen; /* its place in the trace's thread table: ties keep it */
} thread_row;

/* Most events first. */
static int row_order(const void *a, const void *b)
{
	const thread_row *x = a, *y = b;
	if (x->events != y->events)
		return x->events > y->events ? -1 : 1;
	return x->seen < y->seen ? -1 : x->seen > y->seen;
}

typedef struct handoff_pair {
	uint32_t from, to; /* thread heap ids (message heaps folded into their builder) */
	bool from_msg;
	uint64_t pages;
	size_t seen; /* order of the first hand-off: ties keep it */
} handoff_pair;

/* Most pages first. */
static int pair_order(const void *a, const void *b)
{
	const handoff_pair *x = a, *y = b;
	if (x->pages != y->pages)
		return x->pages > y->pages ? -1 : 1;
	return x->seen < y->seen ? -1 : x->seen > y->seen;
}

/* A row's pages over `bins` bins of the trace (zeros if it has no events),
 * and their maximum. */
static void row_series(rav_trace *t, thread_row *row, uint64_t total, unsigned bins, double *out)
{
	if (!total || !rav_trace_series(t, RAV_SERIES_PAGES, row->id, 0, 0, bins, out))
		memset(out, 0, bins * sizeof *out);
	row->pages_max = 0;
	for (unsigned b = 0; b < bins; b++)
		if (out[b] > (double)row->pages_max)
			row->pages_max = (uint64_t)out[b];
}

static void print_double(FILE *out, double v)
{
	fprintf(out, "%.4f", v);
}

/* Rows and hand-off pairs are found by hashing: one lookup per event, so
 * a trace of many threads or many pairs costs no more per event than one
 * of two. */
typedef struct slotmap {
	uint64_t *key;
	uint32_t *val; /* value + 1; 0: empty slot */
	size_t cap, n;
} slotmap;

/* The value for key, or -1; *at: where it would go. */
static long slot_find(const slotmap *m, uint64_t key, size_t *at)
{
	size_t mask = m->cap - 1, i = (size_t)cli_mix(key) & mask;
	for (; m->val[i]; i = (i + 1) & mask)
		if (m->key[i] == key)
			return (long)m->val[i] - 1;
	*at = i;
	return -1;
}

static void slot_put(slotmap *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		slotmap g = {cli_xcalloc(m->cap * 2, sizeof *g.key), cli_xcalloc(m->cap * 2, sizeof *g.val),
		             m->cap * 2, 0};
		for (size_t i = 0; i < m->cap; i++)
			if (m->val[i])
				slot_put(&g, m->key[i], m->val[i] - 1);
		free(m->key);
		free(m->val);
		*m = g;
	}
	size_t at = 0;
	if (slot_find(m, key, &at) >= 0)
		return;
	m->key[at] = key;
	m->val[at] = val + 1;
	m->n++;
}

static void slot_init(slotmap *m)
{
	m->cap = 64;
	m->n = 0;
	m->key = cli_xcalloc(m->cap, sizeof *m->key);
	m->val = cli_xcalloc(m->cap, sizeof *m->val);
}

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(
	    argc, argv, help,
	    "json top line-size bins pairs threads sites by group stacks from to object-path no-symbols", &o);
	bool for_sites = o.by || o.group || o.stacks || o.from || o.to || o.object_path || o.no_symbols;
	if (for_sites && !o.sites)
		cli_usage_error(
		    "--by, --group, --stacks, --from, --to, --object-path and --no-symbols go with --sites");
	if (o.sites && o.pairs_given)
		cli_usage_error("--pairs does not go with --sites (hand-off pairs are not listed there)");
	if (o.sites && o.threads_given)
		cli_usage_error("--threads does not go with --sites (thread rows are not listed there)");
	if (o.group == 2)
		o.stacks = true;
	cli_trace tr;
	cli_open_trace(&tr, path, &o, false, false);
	if (o.sites)
		return cli_close_trace(&tr, cli_stats_sites(&tr, &o));
	rav_trace *t = tr.t;
	path = tr.name;
	rav_trace_error bad;
	bool inconsistent = cli_inconsistent(&tr, &bad);

	unsigned nheaps = rav_trace_thread_count(t), nrows = 0;
	thread_row *rows = cli_xcalloc(nheaps, sizeof *rows);
	slotmap row_of, pair_of;
	slot_init(&row_of);
	slot_init(&pair_of);
	for (unsigned i = 0; i < nheaps; i++) {
		const rav_trace_thread th = cli_thread_at(t, i);
		if (th.kind != RAV_HEAP_MESSAGE) {
			slot_put(&row_of, th.heap_id, nrows);
			rows[nrows] = (thread_row){.id = th.heap_id, .seen = nrows};
			nrows++;
		}
	}

	/* One pass over every event. */
	uint64_t per_kind[RAV_EV_KIND_COUNT + 1] = {0}, total = 0;
	/* A FREE with aux 0 is no free of the program's: an empty cell of a
	 * page that arrived in a message made a hole (rav-record.h).  The
	 * figures per free count the cells freed. */
	uint64_t holes = 0;
	size_t npairs = 0, cap_pairs = 8;
	handoff_pair *pairs = cli_xcalloc(cap_pairs, sizeof *pairs);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		total++;
		per_kind[ev.kind < RAV_EV_KIND_COUNT ? ev.kind : RAV_EV_KIND_COUNT]++;
		holes += ev.kind == RAV_EV_FREE && ev.aux == 0;
		size_t at;
		long ri = slot_find(&row_of, ev.thread, &at);
		thread_row *row = ri >= 0 ? &rows[ri] : NULL;
		if (row) {
			row->events++;
			row->allocs += ev.kind == RAV_EV_ALLOC;
			row->frees += ev.kind == RAV_EV_FREE && ev.aux != 0;
			row->moves += ev.kind == RAV_EV_MOVE;
			row->fixups += ev.kind == RAV_EV_FIXUP;
		}
		if (ev.kind == RAV_EV_PAGE_HANDOFF) {
			bool from_msg, to_msg;
			uint32_t from = cli_owner_thread(t, (uint32_t)ev.b, &from_msg);
			uint32_t to = cli_owner_thread(t, ev.x, &to_msg);
			/* 65 bits of key: from, to and the message flag, hashed
			 * whole (a collision of the 64-bit fold is told apart by
			 * comparing the pair) */
			uint64_t key = ((uint64_t)from << 32 | to) ^ (from_msg ? 0x9e3779b97f4a7c15ull : 0);
			size_t p = npairs;
			for (uint64_t k = key;; k = cli_mix(k + 1)) {
				long v = slot_find(&pair_of, k, &at);
				if (v < 0)
					break;
				if (pairs[v].from == from && pairs[v].to == to &&
				    pairs[v].from_msg == from_msg) {
					p = (size_t)v;
					break;
				}
			}
			if (p == npairs) {
				if (npairs == cap_pairs) {
					cap_pairs *= 2;
					handoff_pair *np = realloc(pairs, cap_pairs * sizeof *pairs);
					if (!np) {
						fprintf(stderr, "%s: out of memory\n", cli_prog);
						exit(EXIT_BAD);
					}
					pairs = np;
				}
				pairs[npairs] = (handoff_pair){from, to, from_msg, 0, npairs};
				uint64_t k = key;
				while (slot_find(&pair_of, k, &at) >= 0)
					k = cli_mix(k + 1);
				slot_put(&pair_of, k, (uint32_t)npairs);
				npairs++;
			}
			pairs[p].pages++;
		}
	}

	/* The pairs with most pages are listed, the others counted: a program
	 * of K threads that hand pages around has up to K(K-1) pairs (560
	 * threads made 313,040 pairs, 24 MB of JSON).  The pair table is no
	 * longer looked up from here on. */
	qsort(pairs, npairs, sizeof *pairs, pair_order);
	size_t listed = o.pairs && o.pairs < npairs ? (size_t)o.pairs : npairs;
	uint64_t more_pages = 0;
	for (size_t p = listed; p < npairs; p++)
		more_pages += pairs[p].pages;

	/* Likewise the rows with most events are listed, the others counted
	 * (100,000 short-lived threads printed 100,000 rows: 18 MB of JSON);
	 * nor is the row table looked up from here on. */
	qsort(rows, nrows, sizeof *rows, row_order);
	unsigned shown = o.threads && o.threads < nrows ? (unsigned)o.threads : nrows;
	uint64_t more_events = 0;
	for (unsigned r = shown; r < nrows; r++)
		more_events += rows[r].events;

	/* Each row's pages over time, looked up where it is printed: one
	 * buffer, not --bins numbers per thread (100,000 threads at 1000
	 * bins took 800 MB). */
	double *series = cli_xcalloc(o.bins, sizeof(double));

	rav_contention_config cc = {.line_size = (uint32_t)o.line_size, .windows = 64};
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_contention *con = rav_contention_run(t, &cc, NULL, NULL, &err);
	if (!con)
		cli_trace_error(path, &err);
	rav_contention_totals ct;
	rav_contention_get_totals(con, &ct);
	unsigned nlines = rav_contention_line_count(con);
	unsigned top = o.top < nlines ? (unsigned)o.top : nlines;

	uint64_t frees = per_kind[RAV_EV_FREE] - holes, moves = per_kind[RAV_EV_MOVE],
	         fixups = per_kind[RAV_EV_FIXUP];
	double mpf = frees ? (double)moves / (double)frees : 0.0,
	       fpf = frees ? (double)fixups / (double)frees : 0.0;
	uint64_t handoffs = per_kind[RAV_EV_PAGE_HANDOFF];
	char b1[64], b2[64];   /* names (up to 63 bytes) or places */
	char t1[300], t2[300]; /* names escaped for text output */

	if (o.json) {
		FILE *out = stdout;
		fprintf(out, "{\n  \"events\": %" PRIu64 ",\n  \"kinds\": {", total);
		bool first = true;
		for (unsigned k = 0; k <= RAV_EV_KIND_COUNT; k++) {
			if (!per_kind[k])
				continue;
			fprintf(out, "%s\n    ", first ? "" : ",");
			cli_json_string(out, k < RAV_EV_KIND_COUNT ? cli_kind_name(k) : "unknown");
			fprintf(out, ": %" PRIu64, per_kind[k]);
			first = false;
		}
		fprintf(out, "%s},\n", first ? "" : "\n  ");
		fprintf(out,
		        "  \"frees\": %" PRIu64 ",\n  \"arrival_holes\": %" PRIu64 ",\n  \"moves\": %" PRIu64
		        ",\n  \"fixups\": %" PRIu64 ",\n",
		        frees, holes, moves, fixups);
		fprintf(out, "  \"moves_per_free\": ");
		print_double(out, mpf);
		fprintf(out, ",\n  \"fixups_per_free\": ");
		print_double(out, fpf);
		fprintf(out, ",\n  \"threads\": [");
		for (unsigned r = 0; r < shown; r++) {
			row_series(t, &rows[r], total, (unsigned)o.bins, series);
			fprintf(out, "%s\n    {\"id\": %u, \"name\": ", r ? "," : "", rows[r].id);
			cli_json_string(out, cli_thread_name(t, rows[r].id, b1, sizeof b1));
			fprintf(out,
			        ", \"events\": %" PRIu64 ", \"allocs\": %" PRIu64 ", \"frees\": %" PRIu64
			        ", \"moves\": %" PRIu64 ", \"fixups\": %" PRIu64 ", \"pages_max\": %" PRIu64
			        ", \"pages_over_time\": [",
			        rows[r].events, rows[r].allocs, rows[r].frees, rows[r].moves, rows[r].fixups,
			        rows[r].pages_max);
			for (unsigned b = 0; b < o.bins; b++)
				fprintf(out, "%s%.0f", b ? ", " : "", series[b]);
			fprintf(out, "]}");
		}
		fprintf(out,
		        "%s],\n  \"more_threads\": %u,\n  \"more_thread_events\": %" PRIu64
		        ",\n  \"handoffs\": {\"pages\": %" PRIu64 ", \"pairs\": [",
		        shown ? "\n  " : "", nrows - shown, more_events, handoffs);
		for (size_t p = 0; p < listed; p++) {
			fprintf(out, "%s\n    {\"from\": ", p ? "," : "");
			cli_json_string(out, cli_name_or_id(t, pairs[p].from, b1, sizeof b1));
			fprintf(out, ", \"via_message\": %s, \"to\": ", pairs[p].from_msg ? "true" : "false");
			cli_json_string(out, cli_name_or_id(t, pairs[p].to, b2, sizeof b2));
			fprintf(out, ", \"pages\": %" PRIu64 "}", pairs[p].pages);
		}
		fprintf(out, "%s], \"more_pairs\": %zu, \"more_pages\": %" PRIu64 "},\n", listed ? "\n  " : "",
		        npairs - listed, more_pages);
		fprintf(out,
		        "  \"contention\": {\n    \"line_size\": %" PRIu64 ",\n    \"accesses\": %" PRIu64
		        ",\n    \"transfers\": %" PRIu64 ",\n    \"invalidations\": %" PRIu64
		        ",\n    \"lines_touched\": %" PRIu64 ",\n    \"lines_contended\": %" PRIu64
		        ",\n    \"hottest\": [",
		        o.line_size, ct.accesses, ct.transfers, ct.invalidations, ct.lines_touched,
		        ct.lines_contended);
		for (unsigned i = 0; i < top; i++) {
			const rav_contention_line *l = rav_contention_line_at(con, i);
			fprintf(out, "%s\n      {\"line\": %" PRIu64 ", \"external\": %s, \"first_cell\": ",
			        i ? "," : "", l->line, l->external ? "true" : "false");
			if (l->external)
				fputs("null", out);
			else
				cli_json_string(out, cli_loc_text(b1, sizeof b1, l->first_cell, false));
			fprintf(out,
			        ", \"transfers\": %" PRIu64 ", \"invalidations\": %" PRIu64
			        ", \"reads\": %" PRIu64 ", \"writes\": %" PRIu64 ", \"threads\": [",
			        l->transfers, l->invalidations, l->reads, l->writes);
			unsigned lt[64];
			bool more;
			unsigned nlt = rav_contention_line_threads(con, i, lt, 64, &more);
			for (unsigned k = 0; k < nlt && k < 64; k++) {
				const rav_trace_thread th = cli_thread_at(t, lt[k]);
				fputs(k ? ", " : "", out);
				cli_json_string(out, cli_name_or_id(t, th.heap_id, b2, sizeof b2));
			}
			fprintf(out, "]%s}", more ? ", \"more_threads\": true" : "");
		}
		fprintf(out, "%s]\n  }", top ? "\n    " : "");
		if (inconsistent) {
			fprintf(out, ",\n  \"error\": ");
			cli_json_string(out, bad.message);
		}
		fprintf(out, "\n}\n");
	} else {
		printf("%s: %" PRIu64 " events\n\nevents per kind\n", path, total);
		for (unsigned k = 0; k <= RAV_EV_KIND_COUNT; k++)
			if (per_kind[k])
				printf("  %-16s %12" PRIu64 "\n",
				       k < RAV_EV_KIND_COUNT ? cli_kind_name(k) : "unknown", per_kind[k]);
		printf("\nfrees %" PRIu64 ": %.2f moves and %.2f fix-ups per free\n", frees, mpf, fpf);
		if (holes)
			printf("(the %" PRIu64 " other free events made holes of empty cells of arrived pages)\n",
			       holes);
		printf("\nthreads\n  %-5s %-16s %10s %10s %10s %10s %10s  %s\n", "heap", "name", "events",
		       "allocs", "frees", "moves", "fix-ups", "pages over time (max)");
		for (unsigned r = 0; r < shown; r++) {
			printf("  %-5u %-16s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			       " %10" PRIu64 "  ",
			       rows[r].id, cli_text(t1, 17, cli_name_or_id(t, rows[r].id, b1, sizeof b1)),
			       rows[r].events, rows[r].allocs, rows[r].frees, rows[r].moves, rows[r].fixups);
			row_series(t, &rows[r], total, (unsigned)o.bins, series);
			for (unsigned b = 0; b < o.bins; b++)
				printf("%s%.0f", b ? " " : "", series[b]);
			printf(" (%" PRIu64 ")\n", rows[r].pages_max);
		}
		if (shown < nrows)
			printf("  and %u more threads, %" PRIu64 " events (--threads=0 lists all)\n",
			       nrows - shown, more_events);
		printf("\npage hand-offs: %" PRIu64 "\n", handoffs);
		for (size_t p = 0; p < listed; p++)
			printf("  %s%-16s -> %-16s %10" PRIu64 " pages\n",
			       pairs[p].from_msg ? "messages of " : "",
			       cli_text(t1, sizeof t1, cli_name_or_id(t, pairs[p].from, b1, sizeof b1)),
			       cli_text(t2, sizeof t2, cli_name_or_id(t, pairs[p].to, b2, sizeof b2)),
			       pairs[p].pages);
		if (listed < npairs)
			printf("  and %zu more pairs, %" PRIu64 " pages (--pairs=0 lists all)\n", npairs - listed,
			       more_pages);
		printf("\ncontention (%" PRIu64 "-byte lines): %" PRIu64 " accesses, %" PRIu64
		       " transfers, %" PRIu64 " invalidations; %" PRIu64 " of %" PRIu64 " lines contended\n",
		       o.line_size, ct.accesses, ct.transfers, ct.invalidations, ct.lines_contended,
		       ct.lines_touched);
		if (!ct.accesses)
			printf("  (no memory accesses recorded: record with RAVIOLI_TRACE_ACCESS=1)\n");
		if (top) {
			printf("  %-20s %-10s %10s %10s %10s %10s  %s\n", "line", "first cell", "transfers",
			       "inval.", "reads", "writes", "threads");
			for (unsigned i = 0; i < top; i++) {
				const rav_contention_line *l = rav_contention_line_at(con, i);
				char where[48];
				if (l->external)
					snprintf(where, sizeof where, "0x%" PRIx64, l->line * o.line_size);
				else
					snprintf(where, sizeof where, "%" PRIu64, l->line);
				printf("  %-20s %-10s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
				       "  ",
				       where,
				       l->external ? "(malloc)"
				                   : cli_loc_text(b1, sizeof b1, l->first_cell, false),
				       l->transfers, l->invalidations, l->reads, l->writes);
				unsigned lt[64];
				bool more;
				unsigned nlt = rav_contention_line_threads(con, i, lt, 64, &more);
				for (unsigned k = 0; k < nlt && k < 64; k++) {
					const rav_trace_thread th = cli_thread_at(t, lt[k]);
					printf("%s%s", k ? "," : "",
					       cli_text(t2, sizeof t2, cli_name_or_id(t, th.heap_id, b2, sizeof b2)));
				}
				/* the model has 64 caches: threads past the 64th to touch
				 * memory share the last one and are not told apart */
				puts(more ? " and threads past the 64th" : "");
			}
		}
	}
	int rc = cli_finish_output(stdout, "the output");
	free(series);
	free(rows);
	free(pairs);
	rav_contention_free(con);
	free(row_of.key);
	free(row_of.val);
	free(pair_of.key);
	free(pair_of.val);
	return cli_close_trace(&tr, rc);
}

const cli_command cli_cmd_stats = {"stats",
                                   "per-kind counts, moves and fix-ups per free, pages per thread,\n         "
                                   "   hand-offs, hottest contended cache lines; --sites: call sites ranked",
                                   help, run};
