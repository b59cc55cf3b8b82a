/* ravscope-explain.c - words for a class: glossary links in any text, what
 * a clicked link does, and what an operation points at.
 *
 * Linking: the glossary lists, per term, the word forms that name it in
 * running text ("reference ravioli|reference raviolo").  All forms are
 * tried longest first at each word boundary, case-insensitively, and only
 * a term's first mention becomes a link, so a sentence stays readable.
 */
#include "ravscope-explain.h"

#include <string.h>

#include "ravscope-glossary-window.h"

typedef struct {
	const char *form;
	gsize len;
	const char *id;
} Form;

static int by_length_desc(gconstpointer a, gconstpointer b)
{
	const Form *x = a, *y = b;
	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

/* Every glossary word form, longest first (built once; the table is static). */
static GArray *forms(void)
{
	static GArray *all;
	if (g_once_init_enter(&all)) {
		GArray *a = g_array_new(FALSE, FALSE, sizeof(Form));
		for (unsigned i = 0; i < rav_glossary_count(); i++) {
			const rav_glossary_entry *e = rav_glossary_at(i);
			char **parts = g_strsplit(e->forms, "|", -1);
			for (char **p = parts; *p; p++) {
				if (!**p)
					continue;
				Form f = {g_intern_string(*p), strlen(*p), e->id};
				g_array_append_val(a, f);
			}
			g_strfreev(parts);
		}
		g_array_sort(a, by_length_desc);
		g_once_init_leave(&all, a);
	}
	return all;
}

static gboolean word_char(char c)
{
	return g_ascii_isalnum(c) || c == '_' || (unsigned char)c >= 0x80;
}

static void append_escaped(GString *out, const char *s, gsize len)
{
	char *e = g_markup_escape_text(s, (gssize)len);
	g_string_append(out, e);
	g_free(e);
}

/* Plain text with glossary links (text[0..len)). */
static void link_terms(GString *out, const char *text, gsize len, GHashTable *linked, const char *skip_id)
{
	GArray *fs = forms();
	gsize i = 0, plain = 0;
	while (i < len) {
		gboolean at_word = i == 0 || !word_char(text[i - 1]);
		const Form *hit = NULL;
		if (at_word && word_char(text[i])) {
			for (guint k = 0; k < fs->len; k++) {
				const Form *f = &g_array_index(fs, Form, k);
				if (f->len <= len - i &&
				    g_ascii_strncasecmp(text + i, f->form, f->len) == 0 &&
				    (i + f->len == len || !word_char(text[i + f->len]))) {
					hit = f;
					break;
				}
			}
		}
		if (!hit) {
			i++;
			continue;
		}
		if (g_hash_table_contains(linked, hit->id) || g_strcmp0(hit->id, skip_id) == 0) {
			i += hit->len; /* a later mention, or the entry itself: plain */
			continue;
		}
		g_hash_table_add(linked, (gpointer)hit->id);
		append_escaped(out, text + plain, i - plain);
		g_string_append_printf(out, "<a href=\"glossary:%s\">", hit->id);
		append_escaped(out, text + i, hit->len);
		g_string_append(out, "</a>");
		i += hit->len;
		plain = i;
	}
	append_escaped(out, text + plain, len - plain);
}

char *ravscope_text_markup(const char *text, gboolean explicit_links, const char *skip_id)
{
	GString *out = g_string_new(NULL);
	GHashTable *linked = g_hash_table_new(g_str_hash, g_str_equal);
	/* the text may quote a trace's bytes (a mark, a name): g_markup_escape_text
	 * passes bytes that are not UTF-8 on, and the label would refuse the
	 * whole markup */
	g_autofree char *valid = text && !g_utf8_validate(text, -1, NULL) ? g_utf8_make_valid(text, -1) : NULL;
	const char *p = valid ? valid : text ? text : "";
	while (*p) {
		const char *next = explicit_links ? strpbrk(p, "[*") : NULL;
		if (!next) {
			link_terms(out, p, strlen(p), linked, skip_id);
			break;
		}
		link_terms(out, p, next - p, linked, skip_id);
		if (*next == '*') {
			/* *emphasis* (a lone star stays a star) */
			const char *end = strchr(next + 1, '*');
			if (end && end > next + 1) {
				g_string_append(out, "<b>");
				link_terms(out, next + 1, end - next - 1, linked, skip_id);
				g_string_append(out, "</b>");
				p = end + 1;
			} else {
				g_string_append_c(out, '*');
				p = next + 1;
			}
			continue;
		}
		/* [words](target) */
		const char *close = strchr(next, ']');
		if (close && close[1] == '(' && strchr(close + 2, ')')) {
			const char *tend = strchr(close + 2, ')');
			g_autofree char *target = g_strndup(close + 2, tend - close - 2);
			g_autofree char *words = g_strndup(next + 1, close - next - 1);
			char *et = g_markup_escape_text(target, -1), *ew = g_markup_escape_text(words, -1);
			g_string_append_printf(out, "<a href=\"%s\">%s</a>", et, ew);
			g_free(et);
			g_free(ew);
			if (g_str_has_prefix(target, "glossary:"))
				g_hash_table_add(linked, (gpointer)g_intern_string(target + 9));
			p = tend + 1;
		} else {
			g_string_append(out, "[");
			p = next + 1;
		}
	}
	g_hash_table_unref(linked);
	return g_string_free(out, FALSE);
}

gboolean ravscope_activate_link(GtkLabel *label, const char *uri, gpointer user_data)
{
	if (g_str_has_prefix(uri, "glossary:")) {
		GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(label));
		ravscope_glossary_show(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, uri + 9);
		return TRUE;
	}
	if (g_str_has_prefix(uri, "action:")) {
		g_autofree char *name = g_strdup_printf("win.%s", uri + 7);
		if (!gtk_widget_activate_action(GTK_WIDGET(label), name, NULL))
			g_warning("a link names the action %s, which this window does not have", name);
		return TRUE;
	}
	return FALSE;
}

/* The description quotes the trace's bytes (a mark's or an error's text, a
 * thread's name): made valid UTF-8 on one line for the labels and tooltips
 * that show it (a mark not UTF-8 made the Explain panel's label refuse its
 * whole text, with a warning: test markup's /breaks-function). */
char *ravscope_operation_describe(RavscopeDocument *doc, const rav_operation *op)
{
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_state *s = ravscope_document_get_state(doc);
	size_t need = rav_operation_describe(t, s, op, NULL, 0);
	char *buf = g_malloc(need + 1);
	rav_operation_describe(t, s, op, buf, need + 1);
	char *shown = ravscope_display_text(buf);
	if (!shown)
		return buf;
	g_free(buf);
	return shown;
}

/* Pages a spotlight outlines for one operation at most: a big message's
 * first pages say enough. */
#define SPOT_PAGES_MAX 64

/* A sent message's pages, where they now wait (the message heap's pages in
 * the current state); the label on the first. */
static void add_message_pages(RavscopeSpotlight *sp, RavscopeDocument *doc, guint32 heap, const char *label)
{
	rav_state *s = ravscope_document_get_state(doc);
	rav_state_heap h;
	for (unsigned i = 0; s && i < rav_state_heap_count(s); i++) {
		if (!rav_state_heap_at(s, i, &h) || h.id != heap)
			continue;
		for (guint32 k = 0; k < h.page_count && k < SPOT_PAGES_MAX; k++)
			ravscope_spotlight_add_page(sp, h.pages[k], k == 0 ? label : NULL);
		return;
	}
}

/* The operation's own events of one kind (its thread, first to last). */
static void op_events(rav_event_iter *it, RavscopeDocument *doc, const rav_operation *op, rav_ev_kind kind)
{
	rav_event_filter f = {.kinds = (guint64)1 << kind, .thread = op->thread, .from = op->first, .to = op->last + 1};
	rav_event_iter_init(it, ravscope_document_get_trace(doc), &f);
}

/* The pages named by the operation's events of one kind, where they are
 * now: a receive's page hand-offs (in the receiver's heap, or back in the
 * pool if emptied since), the pages it gave back (page releases: in the
 * pool lane). */
static void add_op_pages(RavscopeSpotlight *sp, RavscopeDocument *doc, const rav_operation *op, rav_ev_kind kind,
                         const char *label)
{
	rav_event_iter it;
	rav_event ev;
	guint n = 0;
	op_events(&it, doc, op, kind);
	while (n < SPOT_PAGES_MAX && rav_event_iter_next(&it, &ev)) {
		ravscope_spotlight_add_page(sp, rav_loc_page(ev.a), n == 0 ? label : NULL);
		n++;
	}
	rav_event_iter_fini(&it); /* left early: its decoders */
}

guint ravscope_operation_fixed_words(RavscopeDocument *doc, const rav_operation *op, rav_loc *out, guint max)
{
	if (!op->moves || !op->move_fixups || max == 0)
		return 0;
	/* A move's fix-ups follow it: each rewrites a word (a) that named the
	 * cell's old place to name the new one (c, a word of move_to). */
	rav_event_iter it;
	rav_event ev;
	guint n = 0;
	op_events(&it, doc, op, RAV_EV_FIXUP);
	while (n < max && n < op->move_fixups && rav_event_iter_next(&it, &ev))
		if (rav_loc_page(ev.c) == rav_loc_page(op->move_to) && rav_loc_cell(ev.c) == rav_loc_cell(op->move_to))
			out[n++] = ev.a;
	rav_event_iter_fini(&it);
	return n;
}

static gboolean spotted(const RavscopeSpotlight *sp, rav_loc word)
{
	rav_loc cell = rav_loc_make(rav_loc_page(word), rav_loc_cell(word), 0);
	for (guint i = 0; i < sp->spots->len; i++) {
		const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, i);
		if (s->kind == RAVSCOPE_SPOT_CELL && s->cell == cell)
			return TRUE;
	}
	return FALSE;
}

/* Fixed words labelled, at most (a move has few: its referrer, its
 * children's back-links). */
#define SPOT_FIXED_MAX 4

RavscopeSpotlight *ravscope_operation_spotlight(RavscopeDocument *doc, const rav_operation *op,
                                                gboolean forward)
{
	RavscopeSpotlight *sp = ravscope_spotlight_new();
	g_autofree char *what = ravscope_operation_describe(doc, op);
	g_autofree char *caption = forward ? g_strdup(what) : g_strdup_printf("Undone: %s", what);
	ravscope_spotlight_set_caption(sp, caption);
	switch (op->kind) {
	case RAV_OP_ALLOC:
		ravscope_spotlight_add_cell(sp, op->slot, "holds it");
		ravscope_spotlight_add_cell(sp, op->cell, forward ? "new" : "was new");
		break;
	case RAV_OP_FREE:
	case RAV_OP_ROOT:
	case RAV_OP_COMPACT:
		if (op->slot && (op->kind != RAV_OP_ROOT || op->value))
			ravscope_spotlight_add_cell(sp, op->slot, "lets go");
		if (op->cell && !op->moves)
			ravscope_spotlight_add_cell(sp, op->cell, forward ? "freed" : "was freed");
		break;
	case RAV_OP_STORE_REF:
		ravscope_spotlight_add_cell(sp, op->slot, "refers");
		ravscope_spotlight_add_cell(sp, op->target, "referred to");
		break;
	case RAV_OP_STORE:
	case RAV_OP_SCALAR: {
		g_autofree char *v = g_strdup_printf("= %" G_GUINT64_FORMAT, op->value);
		ravscope_spotlight_add_cell(sp, op->cell, v);
		break;
	}
	case RAV_OP_SEND:
		add_message_pages(sp, doc, op->heap, forward ? "in flight" : "being built");
		goto lane;
	case RAV_OP_RECEIVE:
		add_op_pages(sp, doc, op, RAV_EV_PAGE_HANDOFF, forward ? "arrived" : "will arrive");
		goto lane;
	case RAV_OP_DESERIALIZE:
	case RAV_OP_COLLECT:
	case RAV_OP_MSG_NEW:
	lane:
		ravscope_spotlight_add_lane(sp, op->thread,
		                            op->kind == RAV_OP_SEND      ? "sends"
		                            : op->kind == RAV_OP_RECEIVE ? "receives"
		                            : op->kind == RAV_OP_COLLECT ? "collects"
		                                                         : NULL);
		break;
	case RAV_OP_SNAPSHOT:
		/* A heap's snapshot is recorded by its own thread (a message's by the
		 * process: no lane to point at). */
		if (op->thread && op->thread == op->heap)
			ravscope_spotlight_add_lane(sp, op->thread, "snapshot");
		break;
	default:
		break;
	}
	if (op->pages_released && forward)
		add_op_pages(sp, doc, op, RAV_EV_PAGE_RELEASE, "back to the pool");
	if (op->moves && forward) {
		/* The first move: the hole the top cell filled (where the freed cell
		 * was) and where it came from; counts for the rest. */
		ravscope_spotlight_add_cell(
		    sp, op->move_from, op->moves == 1 ? "top cell came from here" : "first move from here");
		g_autofree char *into =
		    op->move_fixups ? g_strdup_printf("moved into the hole · %u fixed", op->move_fixups)
		                    : g_strdup("moved into the hole");
		ravscope_spotlight_add_cell(sp, op->move_to, into);
		/* and the words fixed, which now name the hole (a class asks
		 * "which two?"): outlined, the first labelled (more labels
		 * crowded the ones of the move on a short heap area) */
		rav_loc fixed[SPOT_FIXED_MAX];
		guint n = ravscope_operation_fixed_words(doc, op, fixed, SPOT_FIXED_MAX);
		for (guint i = 0, labelled = 0; i < n; i++)
			if (!spotted(sp, fixed[i])) /* a cell already labelled keeps its label */
				ravscope_spotlight_add_cell(sp, fixed[i], labelled++ ? NULL : "fixed");
	} else if (op->moves) {
		ravscope_spotlight_add_cell(sp, op->move_to, "was the hole");
		ravscope_spotlight_add_cell(sp, op->move_from, "back on top");
	}
	return sp;
}
