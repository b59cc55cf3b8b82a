/* cli-format.c - how ravtrace writes events, places and names: one
 * wording for every subcommand, so `dump` and `export` say the same.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Heap id 0 is no heap: events recorded before the recording thread had
 * one (type definitions when recording starts). */
const char *cli_thread_name(const rav_trace *t, uint32_t id, char *buf, size_t len)
{
	rav_trace_thread th;
	if (rav_trace_thread_by_id(t, id, &th) && th.name[0]) {
		snprintf(buf, len, "%s", th.name); /* (callers' buffers hold a whole name) */
		return buf;
	}
	return id == 0 ? "(process)" : NULL;
}

/* The length of the UTF-8 character at p (n bytes there), or 0 when the
 * bytes are not one (a stray continuation byte, an overlong form, a
 * surrogate, past U+10FFFF, or cut short). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	uint32_t min, v;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, v = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return len;
}

void cli_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	fputc('"', out);
	for (size_t i = 0; i < n;) {
		/* a run of bytes that need no escaping goes out in one write */
		size_t run = i;
		while (run < n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i) {
			fwrite(p + i, 1, run - i, out);
			i = run;
			continue;
		}
		unsigned c = p[i];
		size_t l = utf8_len(p + i, n - i);
		if (l == 0) {
			fputs("\\ufffd", out); /* not UTF-8: the replacement character */
			i++;
			continue;
		}
		if (l > 1) {
			fwrite(p + i, 1, l, out);
			i += l;
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				fputc((int)c, out);
		}
		i++;
	}
	fputc('"', out);
}

bool cli_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t l = utf8_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

char *cli_utf8_repaired(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0;
	/* at most 3 bytes (U+FFFD) for each byte */
	char *out = n < SIZE_MAX / 3 ? malloc(3 * n + 1) : NULL;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (l) {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = 0;
	return out;
}

size_t cli_utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		n = max;
	/* step back over the last character if it is incomplete */
	size_t k = n;
	while (k > 0 && n - k < 4 && ((unsigned char)s[k - 1] & 0xc0) == 0x80)
		k--;
	if (k > 0 && (unsigned char)s[k - 1] >= 0xc0 &&
	    utf8_len((const unsigned char *)s + k - 1, n - k + 1) == 0)
		return k - 1;
	return n;
}

const char *cli_text(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), o = 0;
	if (!len)
		return buf;
	for (size_t i = 0; i < n;) {
		char esc[8];
		size_t l = utf8_len(p + i, n - i), el;
		const char *piece;
		if (l > 1) {
			piece = (const char *)p + i;
			el = l;
		} else {
			unsigned c = p[i];
			l = 1;
			if (c == '\\')
				snprintf(esc, sizeof esc, "\\\\");
			else if (c == '\n')
				snprintf(esc, sizeof esc, "\\n");
			else if (c == '\t')
				snprintf(esc, sizeof esc, "\\t");
			else if (c == '\r')
				snprintf(esc, sizeof esc, "\\r");
			else if (c < 0x20 || c >= 0x7f)
				snprintf(esc, sizeof esc, "\\x%02x", c);
			else
				esc[0] = (char)c, esc[1] = 0;
			piece = esc;
			el = strlen(esc);
		}
		if (o + el >= len)
			break;
		memcpy(buf + o, piece, el);
		o += el;
		i += l;
	}
	buf[o] = 0;
	return buf;
}

const char *cli_loc_text(char *buf, size_t len, rav_loc l, bool with_word)
{
	if (l == RAV_LOC_NONE)
		snprintf(buf, len, "-");
	else if (l & RAV_LOC_EXTERNAL)
		snprintf(buf, len, "ext:0x%" PRIx64, l & ~RAV_LOC_EXTERNAL);
	else if (with_word)
		snprintf(buf, len, "%u.%u.%u", rav_loc_page(l), rav_loc_cell(l), rav_loc_word(l));
	else
		snprintf(buf, len, "%u.%u", rav_loc_page(l), rav_loc_cell(l));
	return buf;
}

/* A page event's page: its index (a location names the page's header
 * cell), or where outside the pool the event pointed. */
static const char *page_text(char *buf, size_t len, rav_loc l)
{
	if (l & RAV_LOC_EXTERNAL)
		return cli_loc_text(buf, len, l, false);
	snprintf(buf, len, "%u", rav_loc_page(l));
	return buf;
}

static const char *heap_kind_name(unsigned k)
{
	return k == RAV_HEAP_THREAD ? "thread" : k == RAV_HEAP_MESSAGE ? "message" : "unknown";
}

static const char *page_kind_name(unsigned k)
{
	return k == RAV_PAGE_HEAP     ? "heap"
	       : k == RAV_PAGE_BUFFER ? "buffer"
	       : k == RAV_PAGE_ROOT   ? "root"
	                              : "unknown";
}

const char *cli_compact_reason(unsigned reason)
{
	switch (reason) {
	case RAV_COMPACT_FREE:
		return "free";
	case RAV_COMPACT_ARRIVAL:
		return "arrival";
	case RAV_COMPACT_DEFERRED:
		return "deferred";
	case RAV_COMPACT_COLLECT:
		return "collect";
	default:
		return "unknown";
	}
}

const char *cli_kind_name(unsigned k)
{
	const char *n = rav_event_kind_name(k);
	return n ? n : "unknown";
}

void cli_format_args(FILE *out, const rav_trace *t, const rav_event *ev)
{
	char b1[48], b2[48], b3[48];
	const char *tname;
	switch (ev->kind) {
	case RAV_EV_TIME:
		fprintf(out, "tsc=%" PRIu64 " hz=%" PRIu64, ev->a, ev->b);
		break;
	case RAV_EV_THREAD_START:
		fprintf(out, "heap=%u tid=%" PRIu64, ev->x, ev->a);
		break;
	case RAV_EV_THREAD_NAME:
		fprintf(out, "heap=%u name=", ev->x);
		cli_json_string(out, ev->text);
		break;
	case RAV_EV_THREAD_END:
		fprintf(out, "heap=%u", ev->x);
		break;
	case RAV_EV_HEAP_NEW:
		fprintf(out, "heap=%u kind=%s creator=%" PRIu64 " seq=%" PRIu64, ev->x,
		        heap_kind_name(ev->aux), ev->a, ev->c);
		break;
	case RAV_EV_HEAP_END:
		fprintf(out, "heap=%u seq=%" PRIu64, ev->x, ev->c);
		break;
	case RAV_EV_TYPE_DEF: {
		fprintf(out, "type=%u fields=%s,%s name=", ev->aux, (ev->x & 1) ? "ref" : "data",
		        (ev->x & 2) ? "ref" : "data");
		cli_json_string(out, ev->text);
		const char *fn[2];
		if (rav_event_type_field_names(ev, fn)) {
			fprintf(out, " field_names=");
			for (int f = 0; f < 2; f++) {
				if (f)
					fputc(',', out);
				if (fn[f])
					cli_json_string(out, fn[f]);
				else
					fputs("-", out);
			}
		}
		break;
	}
	case RAV_EV_PAGE_ACQUIRE:
		fprintf(out, "page=%s heap=%u kind=%s seq=%" PRIu64, page_text(b1, sizeof b1, ev->a), ev->x,
		        page_kind_name(ev->aux), ev->c);
		break;
	case RAV_EV_PAGE_RELEASE:
		fprintf(out, "page=%s heap=%u seq=%" PRIu64, page_text(b1, sizeof b1, ev->a), ev->x, ev->c);
		break;
	case RAV_EV_PAGE_HANDOFF:
		fprintf(out, "page=%s from=%" PRIu64 " to=%u seq=%" PRIu64, page_text(b1, sizeof b1, ev->a),
		        ev->b, ev->x, ev->c);
		break;
	case RAV_EV_PAGE_TO_MSG:
		/* 1.6: plain numbers (page indices), not locations */
		fprintf(out, "page=%" PRIu64 " from=%" PRIu64 " to=%u fill=%u", ev->a, ev->b, ev->x, ev->aux);
		if (ev->c)
			fprintf(out, " before=%" PRIu64, ev->c - 1);
		else
			fputs(" before=end", out);
		break;
	case RAV_EV_ALLOC:
	case RAV_EV_FREE:
		tname = rav_trace_type_name(t, (uint16_t)ev->aux);
		fprintf(out, "cell=%s type=%u", cli_loc_text(b1, sizeof b1, ev->a, false), ev->aux);
		if (tname && tname[0]) {
			char tb[300];
			fprintf(out, " (%s)", cli_text(tb, sizeof tb, tname));
		}
		break;
	case RAV_EV_MOVE:
		fprintf(out, "from=%s to=%s", cli_loc_text(b1, sizeof b1, ev->a, false),
		        cli_loc_text(b2, sizeof b2, ev->b, false));
		break;
	case RAV_EV_TRIM:
		fprintf(out, "cell=%s", cli_loc_text(b1, sizeof b1, ev->a, false));
		break;
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_LINK:
		fprintf(out, "slot=%s old=%s new=%s", cli_loc_text(b1, sizeof b1, ev->a, true),
		        cli_loc_text(b2, sizeof b2, ev->b, true), cli_loc_text(b3, sizeof b3, ev->c, true));
		break;
	case RAV_EV_REF_CLEAR:
		fprintf(out, "slot=%s old=%s", cli_loc_text(b1, sizeof b1, ev->a, true),
		        cli_loc_text(b2, sizeof b2, ev->b, true));
		break;
	case RAV_EV_DATA_STORE:
		fprintf(out, "slot=%s old=%" PRIu64 " new=%" PRIu64, cli_loc_text(b1, sizeof b1, ev->a, true),
		        ev->b, ev->c);
		break;
	case RAV_EV_TYPE_WORD:
		fprintf(out, "cell=%s old=0x%" PRIx64 " new=0x%" PRIx64,
		        cli_loc_text(b1, sizeof b1, ev->a, false), ev->b, ev->c);
		break;
	case RAV_EV_REFRAV_INSERT:
		fprintf(out, "refrav=%s target=%s", cli_loc_text(b1, sizeof b1, ev->a, false),
		        cli_loc_text(b2, sizeof b2, ev->b, false));
		break;
	case RAV_EV_REFRAV_REMOVE:
		fprintf(out, "refrav=%s", cli_loc_text(b1, sizeof b1, ev->a, false));
		break;
	case RAV_EV_ROOT_NEW:
	case RAV_EV_ROOT_FREE:
		fprintf(out, "slot=%s", cli_loc_text(b1, sizeof b1, ev->a, true));
		break;
	case RAV_EV_MSG_BUILD:
		fprintf(out, "msg=%u", ev->x);
		break;
	case RAV_EV_MSG_SEND:
		fprintf(out, "msg=%u channel=%" PRIu64 " pages=%" PRIu64 " seq=%" PRIu64, ev->x, ev->a, ev->b,
		        ev->c);
		break;
	case RAV_EV_MSG_RECV:
		fprintf(out, "msg=%u channel=%" PRIu64 " receiver=%" PRIu64 " seq=%" PRIu64, ev->x, ev->a,
		        ev->b, ev->c);
		break;
	case RAV_EV_COMPACT_BEGIN:
		fprintf(out, "heap=%u reason=%s", ev->x, cli_compact_reason(ev->aux));
		break;
	case RAV_EV_COMPACT_END:
		fprintf(out, "heap=%u moves=%" PRIu64, ev->x, ev->a);
		break;
	case RAV_EV_SERIALIZE:
	case RAV_EV_DESERIALIZE:
		fprintf(out, "heap=%u cells=%" PRIu64 " bytes=%" PRIu64, ev->x, ev->a, ev->b);
		break;
	case RAV_EV_GC_BEGIN:
		fprintf(out, "heap=%u", ev->x);
		break;
	case RAV_EV_GC_END:
		fprintf(out, "heap=%u freed=%" PRIu64, ev->x, ev->a);
		break;
	case RAV_EV_ERROR:
		fprintf(out, "status=%u message=", ev->aux);
		cli_json_string(out, ev->text);
		break;
	case RAV_EV_MARK:
		fputs("text=", out);
		cli_json_string(out, ev->text);
		break;
	case RAV_EV_ACCESS:
		fprintf(out, "%s addr=%s size=%" PRIu64, ev->aux ? "write" : "read",
		        cli_loc_text(b1, sizeof b1, ev->a, true), ev->b);
		break;
	default:
		fprintf(out, "x=%u aux=%u a=%" PRIu64 " b=%" PRIu64 " c=%" PRIu64, ev->x, ev->aux, ev->a,
		        ev->b, ev->c);
		if (ev->text) {
			fputs(" text=", out);
			cli_json_string(out, ev->text);
		}
	}
}

rav_trace_thread cli_thread_at(const rav_trace *t, unsigned i)
{
	rav_trace_thread th;
	if (!rav_trace_thread_at(t, i, &th))
		memset(&th, 0, sizeof th);
	return th;
}

rav_trace_type cli_type_at(const rav_trace *t, unsigned i)
{
	rav_trace_type ty;
	if (!rav_trace_type_at(t, i, &ty))
		memset(&ty, 0, sizeof ty);
	return ty;
}

uint32_t cli_owner_thread(const rav_trace *t, uint32_t id, bool *was_msg)
{
	rav_trace_thread th;
	*was_msg = rav_trace_thread_by_id(t, id, &th) && th.kind == RAV_HEAP_MESSAGE;
	return *was_msg ? th.parent : id;
}

const char *cli_name_or_id(const rav_trace *t, uint32_t id, char *buf, size_t len)
{
	const char *n = cli_thread_name(t, id, buf, len);
	if (n)
		return n;
	snprintf(buf, len, "heap %u", id);
	return buf;
}
