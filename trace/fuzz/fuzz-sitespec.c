/* fuzz-sitespec.c - libFuzzer target for the call-site specs users type
 * (`ravscope --break=WHERE`, the Breakpoints panel, `ravtrace dump
 * --site`): FUNCTION, FILE:LINE, *ADDRESS, *OBJECT+OFFSET.
 *
 * The input is the spec's text (cut at its first NUL, as a C string from
 * the command line is).  It is resolved by the real
 * rav_trace_site_spec_resolve against a trace written once at start-up
 * with this very process's memory map (ravt_selfmaps_hook, as the
 * recorder writes it) and one call site, so that every branch is open to
 * the input: objects that exist and carry symbols and line tables, ELF
 * versus run-time addresses, object names.  A spec must resolve to sorted,
 * merged, non-empty ranges or fail with a message, never crash.
 * Seeds: trace/fuzz/corpus-sitespec/. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membuf.h"
#include "format.h"
#include "rav-record.h"
#include "trace-private.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static ravt_membuf trace_bytes;
static rav_trace *trace;

__attribute__((noinline)) static uint64_t here(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static ravt_selfmaps self;
	ravt_writer_params p = {
	    .word_size = 8, .cell_size = 32, .page_size = 4096, .pool_base = 0x7f1200000000ull,
	    .pool_bytes = 1ull << 32, .tsc_hz = 1000000000ull, .tsc_start = 1000,
	    .cmdline = "fuzz-sitespec", .cmdline_len = 13,
	    .sites_hook = ravt_selfmaps_hook, .sites_user = &self,
	};
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, ravt_membuf_sink, &trace_bytes, err, sizeof err);
	if (!w) {
		fprintf(stderr, "fuzz-sitespec: %s\n", err);
		abort();
	}
	rav_raw_event ev[4] = {
	    {RAV_EV_TIME, 0, 2000, 0, 1},
	    {RAV_EV_THREAD_START, 1, 7, 0, 1},
	    {RAV_RAW_SITE | (1u << 8), 0, here(), 0, 0},
	    {RAV_EV_DATA_STORE, 0, 0x7f1200000000ull + 4096 + 32, 1, 2},
	};
	if (ravt_writer_add(w, 1, ev, 4) != 0 || ravt_writer_finish(w, 0) != 0) {
		fprintf(stderr, "fuzz-sitespec: cannot write the trace\n");
		abort();
	}
	ravt_writer_free(w);
	ravt_selfmaps_free(&self);
	rav_trace_error e;
	trace = rav_trace_open_memory(trace_bytes.p, trace_bytes.len, &e);
	if (!trace || rav_trace_index(trace, NULL, NULL, &e) != 0 || rav_trace_object_count(trace) == 0) {
		fprintf(stderr, "fuzz-sitespec: the trace of this process: %s\n", trace ? e.message : "no objects");
		abort();
	}
	return 0;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF)? */
static bool utf8_ok(const char *t)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t n = strlen(t);
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		if (!len || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
		if ((len == 3 && ((c == 0xe0 && u[i + 1] < 0xa0) || (c == 0xed && u[i + 1] >= 0xa0))) ||
		    (len == 4 && ((c == 0xf0 && u[i + 1] < 0x90) || (c == 0xf4 && u[i + 1] >= 0x90))))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = 0;
	rav_site_range r[64];
	char err[512];
	long n = rav_trace_site_spec_resolve(trace, spec, r, 64, err, sizeof err);
	if (n < 0 && (!err[0] || !memchr(err, 0, sizeof err)))
		abort(); /* an error must say why */
	if (n < 0 && utf8_ok(spec) && !utf8_ok(err)) {
		/* the Breakpoints panel shows it in a GTK label */
		fprintf(stderr, "fuzz-sitespec: the message about a UTF-8 spec is not UTF-8: %s\n", err);
		abort();
	}
	for (long i = 0; i < n && i < 64; i++) {
		if (r[i].lo >= r[i].hi || (i && r[i - 1].hi >= r[i].lo))
			abort(); /* ranges are non-empty, sorted and merged */
	}
	if (n > 0) {
		uint32_t ids[4];
		rav_trace_sites_in_ranges(trace, r, (size_t)(n < 64 ? n : 64), ids, 4);
	}
	free(spec);
	return 0;
}
