/* cmd-dump.c - `ravtrace dump`: events in global order, one per line,
 * with filters by kind, thread, range and cell; with --ops the operations
 * those events belong to (rav_trace_operation_at), with --explain a
 * sentence under each event saying what it did (rav_event_explain).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const help =
    "usage: ravtrace dump [OPTIONS] FILE\n"
    "\n"
    "List events in global order, one per line:\n"
    "  INDEX  TIME(us)  THREAD  KIND  ARGUMENTS  [@ CALL SITE]\n"
    "Cells are written PAGE.CELL and words PAGE.CELL.WORD (cell 0 is the page header).\n"
    "Names and texts are quoted; in a thread's name, control characters and bytes\n"
    "that are not UTF-8 are escaped (\\n, \\xHH).  FILE - reads standard input as a\n"
    "stream, and events are listed as they arrive.\n"
    "The call site (traces of format 1.3 and later) is the program's call that did\n"
    "the event or caused it: FUNCTION (FILE:LINE) when the program's debug info is\n"
    "on disk, else OBJECT+OFFSET.\n"
    "\n"
    "  --kind=K[,K...]   only these kinds (e.g. move,fixup; see --list-kinds)\n"
    "  --thread=ID       only events recorded by this thread (heap id, see info)\n"
    "  --from=N          start at event index N\n"
    "  --to=N            stop before event index N\n"
    "  --cell=PAGE.CELL  only events touching this cell (PAGE:CELL works too)\n"
    "  --limit=N         print at most N events (operations with --ops)\n"
    "  --site=WHERE      only events of call sites in FUNCTION, FILE or at FILE:LINE,\n"
    "                    or at *ADDRESS (a site's address, or an ELF address of the\n"
    "                    program as objdump shows it); as a breakpoint takes it, a\n"
    "                    FUNCTION also holds the calls inlined into its code\n"
    "  --object-path=DIRS  also look for the program and its libraries in these\n"
    "                    directories (':'-separated), by file name\n"
    "  --no-symbols      call sites as objects and offsets (no debug info read)\n"
    "  --ops             one line per operation instead: the operations the selected\n"
    "                    events belong to (an allocation, a free with its compaction,\n"
    "                    a send...), as FIRST..LAST TIME THREAD KIND WHAT-IT-DID\n"
    "  --explain         under each event, a sentence saying what it did and why\n"
    "  --list-kinds      print the event kind names and exit\n"
    "  --follow          read FILE as a stream (a FIFO, a socket): list events as\n"
    "                    they arrive, until its writer ends it\n"
    "  -h, --help        this help\n";

static void who_of(rav_trace *t, uint32_t thread, char *who, size_t len)
{
	char nb[64];
	const char *tn = cli_thread_name(t, thread, nb, sizeof nb);
	if (tn) {
		char tb[32];
		snprintf(who, len, "%u:%s", thread, cli_text(tb, 25, tn));
	} else
		snprintf(who, len, "%u", thread);
}

/* st at event `want`: stepped along when it is at most `near` events
 * ahead, sought otherwise. */
static bool state_at(rav_state *st, uint64_t want, uint64_t near)
{
	uint64_t pos = rav_state_position(st);
	if (pos > want || want - pos > near)
		return rav_state_seek(st, want, NULL) == 0;
	while (rav_state_position(st) < want)
		if (!rav_state_step(st, NULL, NULL))
			return false;
	return true;
}

/* The sentence under an event, from the state just after it (stepped
 * along when events are close, sought otherwise). */
static void explain(rav_trace *t, rav_state *st, const rav_event *ev)
{
	bool ok = state_at(st, ev->index + 1, 4096);
	char buf[1024];
	rav_event_explain(t, ok ? st : NULL, ev, buf, sizeof buf);
	printf("%38s%s\n", "", buf);
}

/* Operations printed: thread -> the last event of its latest one
 * (open addressing, grown as threads come: a trace may have thousands). */
typedef struct seen_map {
	struct seen_slot {
		uint32_t key; /* thread + 1; 0 = free */
		uint64_t last;
	} * slot;
	size_t cap, used;
} seen_map;

static struct seen_slot *seen_find(seen_map *m, uint32_t thread)
{
	if ((m->used + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct seen_slot *s = calloc(cap, sizeof *s);
		if (!s)
			return NULL;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slot[i].key)
				continue;
			size_t h = (m->slot[i].key * 2654435761u) & (cap - 1);
			while (s[h].key)
				h = (h + 1) & (cap - 1);
			s[h] = m->slot[i];
		}
		free(m->slot);
		m->slot = s;
		m->cap = cap;
	}
	uint32_t key = thread + 1;
	size_t h = (key * 2654435761u) & (m->cap - 1);
	while (m->slot[h].key && m->slot[h].key != key)
		h = (h + 1) & (m->cap - 1);
	if (!m->slot[h].key) {
		m->slot[h].key = key;
		m->slot[h].last = 0;
		m->used++;
	}
	return &m->slot[h];
}

/* Operations are described a batch at a time, in the order of their ends
 * (each from the state just after it), so that the state steps forward
 * through a batch instead of seeking back for every operation of a trace
 * whose threads interleave; they are printed in the order found. */
enum { OP_BATCH = 256, OP_WHAT = 1024 };

typedef struct op_line {
	rav_operation op;
	uint64_t time_ns;
	char who[40];
	char what[OP_WHAT];
} op_line;

static const op_line *sort_base;

static int by_end(const void *a, const void *b)
{
	uint64_t x = sort_base[*(const unsigned *)a].op.last, y = sort_base[*(const unsigned *)b].op.last;
	return x < y ? -1 : x > y;
}

static bool flush_ops(cli_trace *tr, rav_state *st, op_line *lines, unsigned n)
{
	unsigned order[OP_BATCH];
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	sort_base = lines;
	qsort(order, n, sizeof *order, by_end);
	for (unsigned k = 0; k < n; k++) {
		op_line *l = &lines[order[k]];
		/* Types are named from the state just after the operation. */
		bool have_state = st && state_at(st, l->op.last + 1, (uint64_t)1 << 16);
		rav_operation_describe(tr->t, have_state ? st : NULL, &l->op, l->what, sizeof l->what);
	}
	for (unsigned i = 0; i < n; i++) {
		const op_line *l = &lines[i];
		char range[48];
		snprintf(range, sizeof range, "%" PRIu64 "..%" PRIu64, l->op.first, l->op.last);
		printf("%21s %12.3f %-14s %-11s %s%s\n", range, (double)l->time_ns / 1e3, l->who,
		       rav_op_kind_name(l->op.kind), l->what, l->op.complete ? "" : " (not finished yet)");
	}
	return !ferror(stdout);
}

/* The operations the selected events belong to, each once. */
static int dump_ops(cli_trace *tr, const rav_event_filter *f, uint64_t limit)
{
	seen_map seen = {0};
	op_line *lines = malloc(OP_BATCH * sizeof *lines);
	if (!lines) {
		fprintf(stderr, "ravtrace: out of memory\n");
		return 1;
	}
	unsigned nlines = 0;
	rav_state *st = rav_state_new(tr->t);
	rav_event_iter it;
	rav_event ev;
	uint64_t n = 0;
	bool ok = true;
	rav_event_iter_init(&it, tr->t, f);
	while (ok && (!limit || n < limit) && rav_event_iter_next(&it, &ev)) {
		struct seen_slot *s = seen_find(&seen, ev.thread);
		if (!s) {
			fprintf(stderr, "ravtrace: out of memory\n");
			ok = false;
			break;
		}
		if (s->last && ev.index <= s->last - 1)
			continue; /* (last + 1 stored: 0 is "none yet") */
		op_line *l = &lines[nlines];
		if (!rav_trace_operation_at(tr->t, ev.index, &l->op))
			break;
		s = seen_find(&seen, l->op.thread);
		if (!s) {
			ok = false;
			break;
		}
		s->last = l->op.last + 1;
		rav_event first;
		if (!rav_trace_event_at(tr->t, l->op.first, &first))
			break;
		l->time_ns = first.time_ns;
		who_of(tr->t, l->op.thread, l->who, sizeof l->who);
		n++;
		if (++nlines == OP_BATCH) {
			ok = flush_ops(tr, st, lines, nlines);
			nlines = 0;
		}
	}
	if (ok && nlines)
		flush_ops(tr, st, lines, nlines);
	rav_event_iter_fini(&it);
	rav_state_free(st);
	free(lines);
	free(seen.slot);
	return cli_finish_output(stdout, "the output");
}

/* Functions of the trace's call sites whose name contains spec, case
 * aside (for a function that matched nothing, as the Breaks form says
 * them): " Functions with calls here like 'spec': a, b." or "". */
static void similar_functions(rav_trace *t, const char *spec, char *out, size_t cap)
{
	out[0] = 0;
	if (!spec[0] || strpbrk(spec, ":*./"))
		return;
	size_t len = 0, shown = 0;
	const char *seen[4];
	uint32_t n = rav_trace_site_count(t);
	for (uint32_t id = 1; id <= n && id <= 20000 && shown < 4; id++) {
		rav_trace_symbol sy;
		if (!rav_trace_site_call(t, id, &sy) || !sy.function || !strcasestr(sy.function, spec))
			continue;
		bool again = false;
		for (size_t k = 0; k < shown; k++)
			again |= strcmp(seen[k], sy.function) == 0;
		if (again)
			continue;
		seen[shown++] = sy.function;
		char tb[128];
		int w = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", cli_text(tb, sizeof tb, sy.function));
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
}

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(
	    argc, argv, help,
	    "kind thread from to cell limit list-kinds site object-path no-symbols ops explain", &o);
	if (o.list_kinds) {
		for (unsigned k = 1; k < RAV_EV_KIND_COUNT; k++)
			printf("%s\n", cli_kind_name(k));
		return cli_finish_output(stdout, "the output");
	}
	if (o.ops && o.explain)
		cli_usage_error("--explain explains events; leave out --ops (or --explain)");
	cli_trace tr;
	/* a stream is listed as it arrives */
	cli_open_trace(&tr, path, &o, false, true);
	rav_trace_thread th;
	cli_sites_setup(tr.t, &o);
	rav_event_filter f = {
	    .kinds = o.kinds, .thread = o.thread, .from = o.from, .to = o.to, .cell = o.cell};
	/* operations are grouped over the whole trace, and a site is looked up
	 * among all the trace's sites: read a stream to its end first */
	if (o.ops || o.site_spec)
		while (tr.fd >= 0 && cli_stream_more(&tr))
			;
	uint32_t *sites = NULL;
	if (o.site_spec && rav_trace_site_count(tr.t) == 0) {
		/* nothing to match: say how to record them rather than that
		 * the code is not found */
		if (tr.info.version_major == 1 && tr.info.version_minor < RAV_TRACE_SITES_MINOR)
			fprintf(stderr,
			        "%s dump: --site: %s has no call sites: it is of format %u.%u, from before "
			        "call sites "
			        "were recorded (record the program again)\n",
			        cli_prog, tr.name, tr.info.version_major, tr.info.version_minor);
		else if (rav_trace_object_count(tr.t) > 0) /* recorded with them (the memory map is there) */
			fprintf(stderr,
			        "%s dump: --site: %s has no call sites: no event of it was made by a call "
			        "of the program\n",
			        cli_prog, tr.name);
		else
			fprintf(
			    stderr,
			    "%s dump: --site: %s has no call sites: the program ran with "
			    "RAVIOLI_TRACE_SITES=0. "
			    "Record it again without that (each engine call's return address is recorded by "
			    "default), or with RAVIOLI_TRACE_STACK=N for backtraces of N frames (README, "
			    "\"Where in my code? Call sites\")\n",
			    cli_prog, tr.name);
		cli_close_trace(&tr, EXIT_USAGE);
		return EXIT_USAGE;
	}
	if (o.site_spec) {
		size_t n = o.site_spec[0] == '*' ? 0 : rav_trace_sites_find(tr.t, o.site_spec, NULL, 0);
		char why[512] = "";
		if (n) {
			sites = cli_xcalloc(n, sizeof *sites);
			rav_trace_sites_find(tr.t, o.site_spec, sites, n);
		} else {
			/* as a breakpoint takes it: the code it names (an address, a
			 * function's inlined copies, a line calling an inline function) */
			long nr = rav_trace_site_spec_resolve(tr.t, o.site_spec, NULL, 0, why, sizeof why);
			if (nr > 0) {
				rav_site_range *r = cli_xcalloc((size_t)nr, sizeof *r);
				rav_trace_site_spec_resolve(tr.t, o.site_spec, r, (size_t)nr, why, sizeof why);
				n = rav_trace_sites_in_ranges(tr.t, r, (size_t)nr, NULL, 0);
				sites = cli_xcalloc(n ? n : 1, sizeof *sites);
				rav_trace_sites_in_ranges(tr.t, r, (size_t)nr, sites, n);
				free(r);
			}
		}
		if (!n) {
			char like[512];
			similar_functions(tr.t, o.site_spec, like, sizeof like);
			if (why[0] && like[0])
				fprintf(stderr, "%s dump: %s (functions with calls in this trace: %s)\n", cli_prog, why,
				        like);
			else if (why[0])
				fprintf(stderr, "%s dump: %s ('ravtrace sites' lists the lines with calls)\n", cli_prog,
				        why);
			else if (like[0]) /* code of that name (in a library) that made no call */
				fprintf(stderr,
				        "%s dump: no call site of %s is in %s (functions with calls in this "
				        "trace: %s)\n",
				        cli_prog, o.site_spec, tr.name, like);
			else
				fprintf(stderr,
				        "%s dump: no call site of %s is in %s (a function name, a source file, "
				        "FILE:LINE or *ADDRESS; see 'ravtrace sites')\n",
				        cli_prog, o.site_spec, tr.name);
			free(sites);
			cli_close_trace(&tr, EXIT_USAGE);
			return EXIT_USAGE;
		}
		f.sites = sites;
		f.nsites = n;
	}
	if (o.ops) {
		int rc = EXIT_USAGE;
		if (o.thread >= 0 && !rav_trace_thread_by_id(tr.t, (uint32_t)o.thread, &th))
			fprintf(stderr, "%s dump: %s has no heap with id %" PRId64 " (see 'ravtrace info')\n",
			        cli_prog, tr.name, o.thread);
		else
			rc = dump_ops(&tr, &f, o.limit);
		free(sites);
		return cli_close_trace(&tr, rc);
	}
	rav_state *st = o.explain ? rav_state_new(tr.t) : NULL;
	rav_event_iter it;
	rav_event ev;
	uint64_t n = 0;
	rav_event_iter_init(&it, tr.t, &f);
	bool more = true, checked_thread = false;
	while (more) {
		/* a heap named by --thread may appear later in a stream */
		if (o.thread >= 0 && !checked_thread && (tr.fd < 0 || rav_trace_stream_ended(tr.t))) {
			checked_thread = true;
			if (!rav_trace_thread_by_id(tr.t, (uint32_t)o.thread, &th)) {
				fprintf(stderr,
				        "%s dump: %s has no heap with id %" PRId64 " (see 'ravtrace info')\n",
				        cli_prog, tr.name, o.thread);
				rav_event_iter_fini(&it);
				rav_state_free(st);
				free(sites);
				cli_close_trace(&tr, EXIT_USAGE);
				return EXIT_USAGE;
			}
		}
		while ((!o.limit || n < o.limit) && rav_event_iter_next(&it, &ev)) {
			char who[48];
			who_of(tr.t, ev.thread, who, sizeof who);
			printf("%10" PRIu64 " %12.3f %-14s %-14s ", ev.index, (double)ev.time_ns / 1e3, who,
			       cli_kind_name(ev.kind));
			cli_format_args(stdout, tr.t, &ev);
			if (ev.site) {
				char sb[1024];
				printf("  @ %s",
				       cli_site_text(tr.t, ev.site, false, o.no_symbols, sb, sizeof sb));
			}
			putchar('\n');
			if (st)
				explain(tr.t, st, &ev);
			n++;
			if (ferror(stdout))
				break;
		}
		if (ferror(stdout) || (o.limit && n >= o.limit) || (o.to && it.next >= o.to))
			break;
		fflush(stdout);
		more = cli_stream_more(&tr);
	}
	rav_event_iter_fini(&it);
	rav_state_free(st);
	free(sites);
	if (tr.fd >= 0)
		rav_trace_get_info(tr.t, &tr.info);
	if (tr.fd >= 0 && tr.info.truncated && rav_trace_stream_ended(tr.t))
		fprintf(stderr, "%s: warning: the stream from %s ended before the recording finished\n",
		        cli_prog, tr.name);
	int rc = cli_finish_output(stdout, "the output");
	return cli_close_trace(&tr, rc);
}

const cli_command cli_cmd_dump = {"dump", "list events, with filters", help, run};
