/* ravscope-document-names.c - the document's presentation helpers: type,
 * field, heap and thread names, places (PAGE.CELL, PAGE.CELL.FIELD), times,
 * and one sentence per event, in the words the viewer uses everywhere.
 * A trace's texts are bytes: what reaches a widget is made valid UTF-8 on
 * one line (ravscope_display_text).
 */
#include "ravscope-document-private.h"
#include "ravscope-sites.h"

#include <string.h>

/* name as shown (valid UTF-8 on one line), made once and kept with the
 * document under key; name itself when it needs no change */
static const char *shown_name(RavscopeDocument *doc, gpointer key, const char *name)
{
	char *shown = doc->shown_names ? g_hash_table_lookup(doc->shown_names, key) : NULL;
	if (shown)
		return shown;
	shown = ravscope_display_text(name);
	if (!shown)
		return name;
	if (!doc->shown_names)
		doc->shown_names = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	g_hash_table_insert(doc->shown_names, key, shown);
	return shown;
}

const char *ravscope_document_type_name(RavscopeDocument *doc, guint16 type)
{
	switch (type) {
	case RAVSCOPE_TYPE_EMPTY: return "empty";
	case RAVSCOPE_TYPE_HEADER: return "page header";
	case RAVSCOPE_TYPE_REF: return "reference";
	case RAVSCOPE_TYPE_ROOT: return "roots";
	case RAVSCOPE_TYPE_DEAD: return "dead";
	default: break;
	}
	const char *name = doc ? rav_trace_type_name(doc->trace, type) : NULL;
	if (name && name[0]) {
		/* a trace's names are bytes: Pango and GTK take only UTF-8, and a
		 * newline would break a label in two */
		return shown_name(doc, GUINT_TO_POINTER(type), name);
	}
	switch (type) {
	case RAV_TYPE_VEC: return "vector";
	case RAV_TYPE_VEC_NODE: return "vector node";
	case RAV_TYPE_VEC_LEAF: return "vector leaf";
	case RAV_TYPE_VEC_RLEAF: return "vector ref leaf";
	case RAV_TYPE_BYTES: return "bytes";
	default: return "unknown type";
	}
}

gboolean ravscope_document_type_field_is_ref(RavscopeDocument *doc, guint16 type, int field)
{
	if (field < 0 || field > 1)
		return FALSE;
	if (type == RAVSCOPE_TYPE_REF)
		return field == 0;
	if (type == RAVSCOPE_TYPE_ROOT)
		return TRUE;
	rav_trace_type tt_entry;
	const rav_trace_type *tt = rav_trace_type_by_id(doc->trace, type, &tt_entry) ? &tt_entry : NULL;
	return tt ? tt->field_is_ref[field] : FALSE;
}

const char *ravscope_document_field_name(RavscopeDocument *doc, guint16 type, int field)
{
	if (field < 0 || field > 1)
		return "?";
	if (type == RAVSCOPE_TYPE_REF)
		return field ? "back1" : "target";
	const char *name = doc ? rav_trace_type_field_name(doc->trace, type, field) : NULL;
	if (name && name[0]) {
		/* bytes too, as the type's name: shown valid, kept with the type
		 * names (keys past 16 bits: a type's field) */
		gpointer key = GUINT_TO_POINTER((guint)type | (guint)(field + 1) << 16);
		return shown_name(doc, key, name);
	}
	/* Traces before format 1.4 name no fields; the built-in layouts are
	 * fixed (FORMAT.md 5.4). */
	static const char *const builtin[][2] = {
		[RAV_TYPE_VEC] = { "length", "tree" },      [RAV_TYPE_VEC_NODE] = { "left", "right" },
		[RAV_TYPE_VEC_LEAF] = { "item0", "item1" }, [RAV_TYPE_VEC_RLEAF] = { "item0", "item1" },
		[RAV_TYPE_BYTES] = { "length", "tree" },
	};
	if (type < G_N_ELEMENTS(builtin) && builtin[type][field])
		return builtin[type][field];
	return field ? "f1" : "f0";
}

char *ravscope_document_heap_name(RavscopeDocument *doc, guint32 heap_id)
{
	rav_trace_thread th_entry;
	return ravscope_thread_label(rav_trace_thread_by_id(doc->trace, heap_id, &th_entry) ? &th_entry : NULL, heap_id);
}

char *ravscope_thread_label(const rav_trace_thread *th, guint32 heap_id)
{
	if (th && th->kind == RAV_HEAP_MESSAGE)
		return g_strdup_printf("message %u", heap_id);
	if (th && th->name[0]) {
		char *shown = ravscope_display_text(th->name);
		return shown ? shown : g_strdup(th->name);
	}
	return g_strdup_printf("thread %u", heap_id);
}

char *ravscope_display_text(const char *s)
{
	gboolean clean = g_utf8_validate(s, -1, NULL);
	for (const char *p = s; clean && *p; p++)
		clean = (unsigned char)*p >= 0x20 && *p != 0x7f;
	if (clean)
		return NULL;
	g_autofree char *valid = g_utf8_make_valid(s, -1);
	GString *out = g_string_sized_new(strlen(valid) + 8);
	for (const char *p = valid; *p; p++) {
		/* symbols the usual fonts have (the control pictures of U+2400
		 * mostly are not) */
		unsigned char c = (unsigned char)*p;
		if (c == '\n' || c == '\r')
			g_string_append_unichar(out, 0x21b5); /* ↵ */
		else if (c == '\t')
			g_string_append_unichar(out, 0x2192); /* → */
		else if (c < 0x20 || c == 0x7f)
			g_string_append_unichar(out, 0xfffd);
		else
			g_string_append_c(out, (char)c);
	}
	return g_string_free(out, FALSE);
}

char *ravscope_display_dup(const char *s)
{
	char *shown = s ? ravscope_display_text(s) : NULL;
	return shown ? shown : g_strdup(s);
}

char *ravscope_format_loc(rav_loc loc)
{
	if (loc == RAV_LOC_NONE)
		return g_strdup("null");
	if (loc & RAV_LOC_EXTERNAL)
		return g_strdup_printf("0x%" G_GINT64_MODIFIER "x", (guint64)(loc & ~RAV_LOC_EXTERNAL));
	return g_strdup_printf("%u.%u", rav_loc_page(loc), rav_loc_cell(loc));
}

char *ravscope_format_word_loc(RavscopeDocument *doc, rav_loc loc)
{
	if (loc == RAV_LOC_NONE || (loc & RAV_LOC_EXTERNAL))
		return ravscope_format_loc(loc);
	const char *normal[4] = { "type", "f0", "f1", "back" };
	static const char *const ref[4] = { "type", "fwd", "back1", "back2" };
	static const char *const root[4] = { "type", "root0", "root1", "root2" };
	const char *const *names = normal;
	rav_state_cell c;
	if (doc && rav_state_cell_at(doc->state, rav_loc_page(loc), rav_loc_cell(loc), &c)) {
		if (c.type == RAVSCOPE_TYPE_REF) {
			names = ref;
		} else if (c.type == RAVSCOPE_TYPE_ROOT) {
			names = root;
		} else {
			normal[1] = ravscope_document_field_name(doc, c.type, 0);
			normal[2] = ravscope_document_field_name(doc, c.type, 1);
		}
	}
	return g_strdup_printf("%u.%u.%s", rav_loc_page(loc), rav_loc_cell(loc), names[rav_loc_word(loc)]);
}

char *ravscope_format_time(guint64 ns)
{
	double us = ns / 1000.0;
	if (us < 1000)
		return g_strdup_printf("%.1f µs", us);
	if (us < 1e6)
		return g_strdup_printf("%.3f ms", us / 1000);
	return g_strdup_printf("%.3f s", us / 1e6);
}

gboolean ravscope_event_kind_is_visual(unsigned kind)
{
	switch (kind) {
	case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF: case RAV_EV_PAGE_TO_MSG:
	case RAV_EV_ALLOC: case RAV_EV_FREE: case RAV_EV_MOVE: case RAV_EV_TRIM:
	case RAV_EV_FIXUP: case RAV_EV_REF_STORE: case RAV_EV_REF_CLEAR:
	case RAV_EV_LINK: case RAV_EV_MSG_SEND: case RAV_EV_MSG_RECV:
	case RAV_EV_HEAP_NEW: case RAV_EV_HEAP_END:
		return TRUE;
	default:
		return FALSE;
	}
}

static char *describe_event(RavscopeDocument *doc, const rav_event *ev);

/* Event texts (names, marks, errors) are the trace's bytes: made valid
 * UTF-8 for the widgets. */
char *ravscope_document_describe_event(RavscopeDocument *doc, const rav_event *ev)
{
	char *s = describe_event(doc, ev);
	char *shown = s ? ravscope_display_text(s) : NULL;
	if (shown) {
		g_free(s);
		s = shown;
	}
	return s;
}

/* The stop says what happened in a sentence of its own and the event
 * after a label: an event's description is a clause whose subject is not
 * always the thread ("fix-up: ...", "main compaction done: 0 moves"), so
 * "paused after <it>" read oddly for many kinds. */
char *ravscope_document_stop_text(RavscopeDocument *doc, int why, guint32 heap_id, guint32 break_id, guint64 hits,
				  const rav_event *ev)
{
	g_autofree char *thread = ravscope_document_heap_name(doc, heap_id);
	g_autofree char *what = ev ? ravscope_document_describe_event(doc, ev) : NULL;
	GString *s = g_string_new(thread);
	if (why == 1)
		g_string_append_printf(s, " stopped at breakpoint %u (hit %llu).", break_id, (unsigned long long)hits);
	else if (why == 3)
		g_string_append(s, " stepped.");
	else
		g_string_append(s, " paused.");
	if (what && what[0]) {
		g_string_append_printf(s, " %s: %s", why == 2 ? "Its last event" : "Its event", what);
		if (ev->site) {
			/* which line of the program did it: the engine call's site */
			g_autofree char *where = ravscope_site_label(ravscope_document_get_trace(doc), ev->site);
			if (s->str[s->len - 1] == '.')
				g_string_truncate(s, s->len - 1);
			g_string_append_printf(s, ", called from %s", where);
		}
		char end = s->str[s->len - 1];
		if (end != '.' && end != '!' && end != '?')
			g_string_append_c(s, '.');
	}
	return g_string_free(s, FALSE);
}

static char *describe_event(RavscopeDocument *doc, const rav_event *ev)
{
	g_autofree char *who = ravscope_document_heap_name(doc, ev->thread);
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *x = NULL;
	switch (ev->kind) {
	case RAV_EV_THREAD_START:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s starts", x);
	case RAV_EV_THREAD_NAME:
		return g_strdup_printf("thread %u is named \"%s\"", ev->x, ev->text ? ev->text : "");
	case RAV_EV_THREAD_END:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s ends", x);
	case RAV_EV_HEAP_NEW:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s: new %s heap %u", who, ev->aux == RAV_HEAP_MESSAGE ? "message" : "thread", ev->x);
	case RAV_EV_HEAP_END:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s: heap of %s ends", who, x);
	case RAV_EV_TYPE_DEF:
		return g_strdup_printf("type %u defined: %s", ev->aux, ev->text ? ev->text : "");
	case RAV_EV_PAGE_ACQUIRE:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s takes page %u from the pool%s", x, rav_loc_page(ev->a),
				       ev->aux == RAV_PAGE_BUFFER ? " (message buffer)" : ev->aux == RAV_PAGE_ROOT ? " (roots)" : "");
	case RAV_EV_PAGE_RELEASE:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s returns page %u to the pool", x, rav_loc_page(ev->a));
	case RAV_EV_PAGE_HANDOFF:
		b = ravscope_document_heap_name(doc, (guint32)ev->b);
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("page %u handed from %s to %s", rav_loc_page(ev->a), b, x);
	case RAV_EV_PAGE_TO_MSG: /* format 1.6: a is the page's index */
		b = ravscope_document_heap_name(doc, (guint32)ev->b);
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("page %llu goes from %s into %s as it is (%u cells)", (unsigned long long)ev->a, b, x,
				       ev->aux ? ev->aux - 1 : 0);
	case RAV_EV_ALLOC:
		a = ravscope_format_loc(ev->a);
		return g_strdup_printf("%s allocates %s at %s", who, ravscope_document_type_name(doc, (guint16)ev->aux), a);
	case RAV_EV_FREE:
		a = ravscope_format_loc(ev->a);
		if (ev->aux == 0) /* (no free: an arrived page's unused tail) */
			return g_strdup_printf("%s: the empty cell %s of an arrived page becomes a hole", who, a);
		return g_strdup_printf("%s frees %s at %s", who, ravscope_document_type_name(doc, (guint16)ev->aux), a);
	case RAV_EV_MOVE:
		a = ravscope_format_loc(ev->a);
		b = ravscope_format_loc(ev->b);
		return g_strdup_printf("%s moves %s into the hole at %s", who, a, b);
	case RAV_EV_TRIM:
		a = ravscope_format_loc(ev->a);
		return g_strdup_printf("%s trims dead top cell %s", who, a);
	case RAV_EV_FIXUP:
		a = ravscope_format_word_loc(doc, ev->a);
		b = ravscope_format_loc(ev->b);
		c = ravscope_format_loc(ev->c);
		return g_strdup_printf("fix-up: %s now names %s (was %s)", a, c, b);
	case RAV_EV_REF_STORE:
		a = ravscope_format_word_loc(doc, ev->a);
		c = ravscope_format_loc(ev->c);
		return g_strdup_printf("%s stores a reference to %s in %s", who, c, a);
	case RAV_EV_REF_CLEAR:
		a = ravscope_format_word_loc(doc, ev->a);
		return g_strdup_printf("%s clears reference %s", who, a);
	case RAV_EV_DATA_STORE:
		a = ravscope_format_word_loc(doc, ev->a);
		return g_strdup_printf("%s stores %" G_GUINT64_FORMAT " in %s", who, ev->c, a);
	case RAV_EV_LINK:
		a = ravscope_format_word_loc(doc, ev->a);
		c = ravscope_format_loc(ev->c);
		return g_strdup_printf("link %s now names %s", a, c);
	case RAV_EV_TYPE_WORD:
		a = ravscope_format_loc(ev->a);
		return g_strdup_printf("type word of %s changes", a);
	case RAV_EV_REFRAV_INSERT:
		a = ravscope_format_loc(ev->a);
		b = ravscope_format_loc(ev->b);
		return g_strdup_printf("reference raviolo %s inserted in front of %s", a, b);
	case RAV_EV_REFRAV_REMOVE:
		a = ravscope_format_loc(ev->a);
		return g_strdup_printf("reference raviolo %s removed", a);
	case RAV_EV_ROOT_NEW:
		a = ravscope_format_word_loc(doc, ev->a);
		return g_strdup_printf("%s creates root %s", who, a);
	case RAV_EV_ROOT_FREE:
		a = ravscope_format_word_loc(doc, ev->a);
		return g_strdup_printf("%s frees root %s", who, a);
	case RAV_EV_MSG_BUILD:
		return g_strdup_printf("%s starts building message %u", who, ev->x);
	case RAV_EV_MSG_SEND:
		return g_strdup_printf("%s sends message %u (%" G_GUINT64_FORMAT " page%s) on channel %" G_GUINT64_FORMAT,
				       who, ev->x, ev->b, ev->b == 1 ? "" : "s", ev->a);
	case RAV_EV_MSG_RECV:
		b = ravscope_document_heap_name(doc, (guint32)ev->b);
		return g_strdup_printf("%s receives message %u", b, ev->x);
	case RAV_EV_COMPACT_BEGIN: {
		static const char *reasons[] = { "after a free", "on message arrival", "deferred step", "after collection" };
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s compacts %s", x, ev->aux < 4 ? reasons[ev->aux] : "");
	}
	case RAV_EV_COMPACT_END:
		x = ravscope_document_heap_name(doc, ev->x);
		return g_strdup_printf("%s compaction done: %" G_GUINT64_FORMAT " move%s", x, ev->a, ev->a == 1 ? "" : "s");
	case RAV_EV_SERIALIZE:
		return g_strdup_printf("%s serializes %" G_GUINT64_FORMAT " cells (%" G_GUINT64_FORMAT " bytes)", who, ev->a, ev->b);
	case RAV_EV_DESERIALIZE:
		return g_strdup_printf("%s deserializes %" G_GUINT64_FORMAT " cells (%" G_GUINT64_FORMAT " bytes)", who, ev->a, ev->b);
	case RAV_EV_GC_BEGIN:
		return g_strdup_printf("%s starts a collection", who);
	case RAV_EV_GC_END:
		return g_strdup_printf("%s collection frees %" G_GUINT64_FORMAT " ravioli", who, ev->a);
	case RAV_EV_ERROR:
		if (ev->aux == 0) /* (the recorder's note of a crash: the recording ends) */
			return g_strdup_printf("%s: the recording ends: %s", who, ev->text ? ev->text : "");
		return g_strdup_printf("engine error in %s: %s", who, ev->text ? ev->text : "");
	case RAV_EV_MARK:
		return g_strdup_printf("mark (%s): %s", who, ev->text ? ev->text : "");
	case RAV_EV_ACCESS:
		a = ravscope_format_word_loc(doc, ev->a);
		return g_strdup_printf("%s %s %s", who, ev->aux ? "writes" : "reads", a);
	case RAV_EV_TIME:
		return g_strdup("clock reading");
	default: {
		const char *name = rav_event_kind_name(ev->kind);
		return g_strdup_printf("%s event (%s)", name ? name : "unknown", who);
	}
	}
}
