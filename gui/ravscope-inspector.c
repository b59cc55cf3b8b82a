/* ravscope-inspector.c - the Cell panel: what one cell is, who refers to
 * it, what happened to it.
 *
 * Rebuilt from libravtrace on every refresh (a cell has at most a few
 * dozen rows), which the window rate-limits while playing.  Every row that
 * names another cell or an event has a button that selects it
 * ("win.select-cell") or goes to it ("win.seek-event"), so a person can walk
 * a structure by clicking.  The same content is kept as plain text for
 * tests.
 */
#include "ravscope-inspector.h"

#include <adwaita.h>

#include "ravscope-panel.h"
#include "ravscope-sites.h"

#define HISTORY_MAX 200
#define SOURCE_CONTEXT 4
#define REFERRERS_MAX 64

struct _RavscopeInspector {
	GtkWidget parent_instance;
	GtkWidget *content; /* template */
	RavscopeDocument *doc;
	rav_loc cell;
	gboolean follow;
	GString *text;
	/* The call site whose source is shown (0: the cell's allocation), and
	 * which of its symbols (0: its call; then inlined callers and callers). */
	guint32 source_site;
	guint source_symbol;
	rav_loc source_cell; /* the cell source_site was chosen for */
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeInspector, ravscope_inspector, GTK_TYPE_WIDGET,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

enum { PROP_0, PROP_FOLLOW, N_PROPS };
static GParamSpec *props[N_PROPS];

static void on_go_cell(GtkButton *b, RavscopeInspector *self)
{
	guint64 loc = *(guint64 *)g_object_get_data(G_OBJECT(b), "loc");
	gtk_widget_activate_action(GTK_WIDGET(self), "win.select-cell", "t", loc);
}

static void on_go_event(GtkButton *b, RavscopeInspector *self)
{
	guint64 ev = *(guint64 *)g_object_get_data(G_OBJECT(b), "event");
	gtk_widget_activate_action(GTK_WIDGET(self), "win.seek-event", "t", ev);
}

static GtkWidget *add_row(RavscopeInspector *self, GtkWidget *group, const char *title, const char *subtitle)
{
	GtkWidget *row = adw_action_row_new();
	/* plain text, set before the title (parsed when set) */
	adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
	adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
	if (subtitle) {
		adw_action_row_set_subtitle(ADW_ACTION_ROW(row), subtitle);
	}
	adw_preferences_group_add(ADW_PREFERENCES_GROUP(group), row);
	g_string_append_printf(self->text, "  %s%s%s\n", title, subtitle ? ": " : "", subtitle ? subtitle : "");
	return row;
}

static void add_button(RavscopeInspector *self, GtkWidget *row, const char *icon, const char *tip, const char *key,
		       guint64 value, GCallback cb)
{
	GtkWidget *b = gtk_button_new_from_icon_name(icon);
	gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
	gtk_widget_add_css_class(b, "flat");
	gtk_widget_set_tooltip_text(b, tip);
	guint64 *v = g_new(guint64, 1);
	*v = value;
	g_object_set_data_full(G_OBJECT(b), key, v, g_free);
	g_signal_connect(b, "clicked", cb, self);
	adw_action_row_add_suffix(ADW_ACTION_ROW(row), b);
}

static GtkWidget *add_group(RavscopeInspector *self, const char *title, const char *description)
{
	GtkWidget *g = adw_preferences_group_new();
	/* a group's title and description are markup (libadwaita 1.2, no
	 * switch): the Source group's is a function name and a file */
	g_autofree char *te = g_markup_escape_text(title, -1);
	g_autofree char *de = description ? g_markup_escape_text(description, -1) : NULL;
	adw_preferences_group_set_title(ADW_PREFERENCES_GROUP(g), te);
	if (de)
		adw_preferences_group_set_description(ADW_PREFERENCES_GROUP(g), de);
	gtk_box_append(GTK_BOX(self->content), g);
	g_string_append_printf(self->text, "%s%s%s\n", title, description ? ": " : "", description ? description : "");
	return g;
}

static void word_row(RavscopeInspector *self, GtkWidget *group, const rav_state_cell *c, int w, const char *name,
		     gboolean is_ref, rav_loc final_target)
{
	uint64_t v = c->word[w];
	if (is_ref) {
		/* Fields name cells (word 0); back-links name slots (a word). */
		g_autofree char *l = rav_loc_word(v) ? ravscope_format_word_loc(self->doc, v) : ravscope_format_loc(v);
		g_autofree char *sub = NULL;
		if (v && final_target && final_target != rav_loc_make(rav_loc_page(v), rav_loc_cell(v), 0)) {
			g_autofree char *ft = ravscope_format_loc(final_target);
			sub = g_strdup_printf("→ %s, through reference ravioli to %s", l, ft);
		} else {
			sub = g_strdup_printf("→ %s", l);
		}
		GtkWidget *row = add_row(self, group, name, sub);
		if (v)
			add_button(self, row, "find-location-symbolic", "Select the cell it names", "loc",
				   rav_loc_make(rav_loc_page(v), rav_loc_cell(v), 0), G_CALLBACK(on_go_cell));
	} else {
		g_autofree char *sub = g_strdup_printf("%" G_GUINT64_FORMAT " (0x%" G_GINT64_MODIFIER "x)", (guint64)v, (guint64)v);
		add_row(self, group, name, sub);
	}
}

static void clear_content(RavscopeInspector *self)
{
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(self->content)))
		gtk_box_remove(GTK_BOX(self->content), child);
	g_string_truncate(self->text, 0);
}

static void show_placeholder(RavscopeInspector *self, const char *title, const char *text)
{
	/* Built of plain widgets, not an AdwStatusPage: that one scrolls
	 * inside this panel's own scrolled window, and the nested scroller
	 * measured its wrapped description for a wider width than it got, so
	 * the last line was cut off. */
	GtkWidget *sp = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_margin_top(sp, 24);
	GtkWidget *icon = gtk_image_new_from_icon_name("edit-find-symbolic");
	gtk_image_set_pixel_size(GTK_IMAGE(icon), 96);
	gtk_widget_add_css_class(icon, "dim-label");
	GtkWidget *head = gtk_label_new(title);
	gtk_label_set_wrap(GTK_LABEL(head), TRUE);
	gtk_label_set_justify(GTK_LABEL(head), GTK_JUSTIFY_CENTER);
	gtk_widget_add_css_class(head, "title-2");
	GtkWidget *body = gtk_label_new(text);
	gtk_label_set_wrap(GTK_LABEL(body), TRUE);
	gtk_label_set_justify(GTK_LABEL(body), GTK_JUSTIFY_CENTER);
	gtk_box_append(GTK_BOX(sp), icon);
	gtk_box_append(GTK_BOX(sp), head);
	gtk_box_append(GTK_BOX(sp), body);
	gtk_box_append(GTK_BOX(self->content), sp);
	g_string_append_printf(self->text, "%s\n%s\n", title, text);
}

static guint64 pos_now(RavscopeInspector *self)
{
	return ravscope_document_get_position(self->doc);
}

static void on_show_source(GtkButton *b, RavscopeInspector *self)
{
	self->source_site = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(b), "site"));
	self->source_symbol = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(b), "symbol"));
	self->source_cell = self->cell;
	ravscope_inspector_refresh(self);
}

static void add_source_button(RavscopeInspector *self, GtkWidget *row, guint32 site, guint symbol)
{
	GtkWidget *b = gtk_button_new_from_icon_name("text-x-generic-symbolic");
	gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
	gtk_widget_add_css_class(b, "flat");
	gtk_widget_set_tooltip_text(b, "Show this line of the source");
	g_object_set_data(G_OBJECT(b), "site", GUINT_TO_POINTER(site));
	g_object_set_data(G_OBJECT(b), "symbol", GUINT_TO_POINTER(symbol));
	g_signal_connect(b, "clicked", G_CALLBACK(on_show_source), self);
	adw_action_row_add_suffix(ADW_ACTION_ROW(row), b);
}

static void on_open_editor(GtkButton *b, RavscopeInspector *self)
{
	const char *path = g_object_get_data(G_OBJECT(b), "path");
	g_autoptr(GFile) f = g_file_new_for_path(path);
	g_autofree char *uri = g_file_get_uri(f);
	GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
	/* the desktop's handler for the file's type (GtkFileLauncher needs GTK 4.10) */
	gtk_show_uri(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, uri, GDK_CURRENT_TIME);
}

/* "Break Here": a breakpoint on the calls at spec (win.break-at-site). */
static GtkWidget *break_button(const char *spec)
{
	GtkWidget *b = gtk_button_new_with_mnemonic("_Break Here");
	g_autofree char *tip = g_strdup_printf("A breakpoint on the events of the calls at %s", spec);
	gtk_widget_set_tooltip_text(b, tip);
	gtk_actionable_set_action_name(GTK_ACTIONABLE(b), "win.break-at-site");
	gtk_actionable_set_action_target(GTK_ACTIONABLE(b), "s", spec);
	return b;
}

/* The symbols of a site, kept until the next refresh. */
static unsigned site_symbols(rav_trace *t, guint32 site, rav_trace_symbol *out, unsigned max)
{
	unsigned n = site ? rav_trace_site_resolve(t, site, out, max) : 0;
	return n < max ? n : max;
}

/* The source of the chosen site's line, in context. */
static void add_source(RavscopeInspector *self, rav_trace *t, guint32 site, guint symbol)
{
	rav_trace_symbol sy[RAV_TRACE_SITE_FRAMES_MAX];
	unsigned n = site_symbols(t, site, sy, RAV_TRACE_SITE_FRAMES_MAX);
	if (!n)
		return;
	if (symbol >= n)
		symbol = 0;
	const rav_trace_symbol *s = &sy[symbol];
	g_autofree char *label = ravscope_symbol_label(s, FALSE);
	GtkWidget *g = add_group(self, "Source", label);
	if (s->status != RAV_SYMBOL_OK || !s->file || !s->line) {
		g_autofree char *why = ravscope_site_detail(t, site);
		g_autofree char *msg = s->message ? ravscope_display_dup(s->message) : NULL; /* a path's bytes */
		add_row(self, g, "No source line", msg ? msg : why);
		g_autofree char *spec = ravscope_site_break_spec(t, site);
		if (spec && s->frame == 0) {
			GtkWidget *b = break_button(spec);
			gtk_widget_set_halign(b, GTK_ALIGN_START);
			gtk_widget_set_margin_top(b, 6);
			adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), b);
		}
		return;
	}
	g_autofree char *text = NULL;
	guint first = 0;
	g_autoptr(GError) error = NULL;
	if (!ravscope_source_excerpt(s->file, s->line, SOURCE_CONTEXT, &text, &first, &error)) {
		g_autofree char *where = g_strdup_printf("%s:%u", s->file, s->line);
		add_row(self, g, where, error->message);
		return;
	}
	/* "  41 │ code", the site's line marked */
	GtkTextBuffer *buf = gtk_text_buffer_new(NULL);
	GtkTextTag *mark = gtk_text_buffer_create_tag(buf, "site", "background", "#f6d32d55", "weight", PANGO_WEIGHT_BOLD, NULL);
	GtkTextTag *num = gtk_text_buffer_create_tag(buf, "num", "foreground", "#888888", NULL);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	GtkTextIter end;
	g_string_append_printf(self->text, "  source %s:%u\n", s->file, s->line);
	for (guint i = 0; lines[i]; i++) {
		guint ln = first + i;
		char prefix[24];
		g_snprintf(prefix, sizeof prefix, "%5u %s ", ln, ln == s->line ? "▶" : "│");
		gtk_text_buffer_get_end_iter(buf, &end);
		gtk_text_buffer_insert_with_tags(buf, &end, prefix, -1, num, NULL);
		gtk_text_buffer_get_end_iter(buf, &end);
		g_autofree char *expanded = NULL;
		/* tabs as 4 spaces: the view is narrow */
		g_auto(GStrv) parts = g_strsplit(lines[i], "\t", -1);
		expanded = g_strjoinv("    ", parts);
		if (ln == s->line)
			gtk_text_buffer_insert_with_tags(buf, &end, expanded, -1, mark, NULL);
		else
			gtk_text_buffer_insert(buf, &end, expanded, -1);
		if (lines[i + 1]) {
			gtk_text_buffer_get_end_iter(buf, &end);
			gtk_text_buffer_insert(buf, &end, "\n", -1);
		}
		g_string_append_printf(self->text, "  %s%s\n", prefix, expanded);
	}
	GtkWidget *view = gtk_text_view_new_with_buffer(buf);
	g_object_unref(buf);
	gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
	gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(view), FALSE);
	gtk_text_view_set_monospace(GTK_TEXT_VIEW(view), TRUE);
	gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(view), GTK_WRAP_NONE);
	gtk_text_view_set_left_margin(GTK_TEXT_VIEW(view), 6);
	gtk_text_view_set_top_margin(GTK_TEXT_VIEW(view), 6);
	gtk_text_view_set_bottom_margin(GTK_TEXT_VIEW(view), 6);
	gtk_widget_add_css_class(view, "ravscope-source");
	GtkWidget *scroll = gtk_scrolled_window_new();
	gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), view);
	gtk_widget_add_css_class(scroll, "card");
	gtk_widget_set_overflow(scroll, GTK_OVERFLOW_HIDDEN);
	adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), scroll);
	GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	gtk_widget_set_margin_top(buttons, 6);
	GtkWidget *open = gtk_button_new_with_mnemonic("_Open in Editor");
	gtk_widget_set_tooltip_text(open, s->file);
	g_object_set_data_full(G_OBJECT(open), "path", g_strdup(s->file), g_free);
	g_signal_connect(open, "clicked", G_CALLBACK(on_open_editor), self);
	gtk_box_append(GTK_BOX(buttons), open);
	/* the call's own line (frame 0, or a line an inline function of it was
	 * called from); a caller's line makes no engine call itself */
	if (s->frame == 0) {
		g_autofree char *spec = g_strdup_printf("%s:%u", s->file, s->line);
		gtk_box_append(GTK_BOX(buttons), break_button(spec));
	}
	adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), buttons);
}

/* Rows naming a site: the label, where it is, the source button; and, for
 * a site whose call was inlined or that has recorded callers, its frames. */
static void site_row(RavscopeInspector *self, rav_trace *t, GtkWidget *group, const char *what, guint32 site,
		     guint64 event)
{
	g_autofree char *label = ravscope_site_label(t, site);
	g_autofree char *detail = ravscope_site_detail(t, site);
	g_autofree char *title = g_strdup_printf("%s %s", what, label);
	rav_trace_symbol sy[RAV_TRACE_SITE_FRAMES_MAX];
	unsigned n = site_symbols(t, site, sy, RAV_TRACE_SITE_FRAMES_MAX);
	GtkWidget *row;
	if (n > 1) {
		row = adw_expander_row_new();
		/* plain text, set before the title (parsed when set) */
		adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
		adw_expander_row_set_subtitle(ADW_EXPANDER_ROW(row), detail);
		adw_preferences_group_add(ADW_PREFERENCES_GROUP(group), row);
		g_string_append_printf(self->text, "  %s: %s\n", title, detail);
		for (unsigned k = 1; k < n; k++) {
			GtkWidget *fr = adw_action_row_new();
			g_autofree char *fl = ravscope_symbol_label(&sy[k], FALSE);
			g_autofree char *ft = g_strdup_printf("%s %s", sy[k - 1].inlined ? "inlined in" : "called from", fl);
			/* plain text, set before the title (parsed when set) */
			adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(fr), FALSE);
			adw_preferences_row_set_title(ADW_PREFERENCES_ROW(fr), ft);
			if (sy[k].file) {
				g_autofree char *fs = ravscope_display_text(sy[k].file);
				adw_action_row_set_subtitle(ADW_ACTION_ROW(fr), fs ? fs : sy[k].file);
			}
			if (sy[k].status == RAV_SYMBOL_OK && sy[k].file)
				add_source_button(self, fr, site, k);
			adw_expander_row_add_row(ADW_EXPANDER_ROW(row), fr);
			g_string_append_printf(self->text, "    %s\n", ft);
		}
		if (sy[0].status == RAV_SYMBOL_OK && sy[0].file) {
			GtkWidget *b = gtk_button_new_from_icon_name("text-x-generic-symbolic");
			gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
			gtk_widget_add_css_class(b, "flat");
			gtk_widget_set_tooltip_text(b, "Show this line of the source");
			g_object_set_data(G_OBJECT(b), "site", GUINT_TO_POINTER(site));
			g_object_set_data(G_OBJECT(b), "symbol", GUINT_TO_POINTER(0));
			g_signal_connect(b, "clicked", G_CALLBACK(on_show_source), self);
			adw_expander_row_add_action(ADW_EXPANDER_ROW(row), b); /* add_suffix is libadwaita 1.4 */
		}
		return;
	}
	row = add_row(self, group, title, detail);
	if (n && sy[0].status == RAV_SYMBOL_OK && sy[0].file)
		add_source_button(self, row, site, 0);
	if (event != G_MAXUINT64)
		add_button(self, row, "media-playback-start-symbolic", "Go to this event", "event", event,
			   G_CALLBACK(on_go_event));
}

/* Where in the program: the calls that allocated, moved and freed the
 * raviolo now in the selected cell. */
static void add_sites(RavscopeInspector *self, rav_trace *t, guint64 pos)
{
	const rav_trace_info *in = ravscope_document_get_info(self->doc);
	if (!rav_trace_site_count(t)) {
		g_autofree char *why =
			in->version_major == 1 && in->version_minor < RAV_TRACE_SITES_MINOR
				? g_strdup_printf("This trace (format %u.%u) is from before call sites were recorded.",
						  in->version_major, in->version_minor)
				: g_strdup("The program was recorded without call sites (RAVIOLI_TRACE_SITES=0).");
		add_group(self, "Where in the Program", why);
		return;
	}
	rav_cell_event *h = g_new(rav_cell_event, HISTORY_MAX);
	unsigned total = 0;
	unsigned nh = rav_trace_cell_history(t, self->cell, pos, h, HISTORY_MAX, &total);
	guint32 alloc_site = 0, free_site = 0;
	guint64 alloc_ev = G_MAXUINT64, free_ev = G_MAXUINT64;
	gboolean have_alloc = FALSE, have_free = FALSE;
	/* moves per site, in order of first move */
	guint32 msite[8];
	guint mcount[8], nm = 0, mother = 0;
	for (unsigned i = 0; i < nh; i++) {
		rav_event ev;
		if (!rav_trace_event_at(t, h[i].event, &ev))
			continue;
		if (ev.kind == RAV_EV_ALLOC && !have_alloc) {
			have_alloc = TRUE;
			alloc_site = ev.site;
			alloc_ev = ev.index;
		} else if (ev.kind == RAV_EV_FREE && !have_free && ev.aux) {
			have_free = TRUE;
			free_site = ev.site;
			free_ev = ev.index;
		} else if (ev.kind == RAV_EV_MOVE && h[i].event < pos) {
			guint k = 0;
			while (k < nm && msite[k] != ev.site)
				k++;
			if (k < nm)
				mcount[k]++;
			else if (nm < G_N_ELEMENTS(msite))
				msite[nm] = ev.site, mcount[nm++] = 1;
			else
				mother++;
		}
	}
	g_free(h);
	GtkWidget *g = add_group(self, "Where in the Program", NULL);
	if (have_alloc)
		site_row(self, t, g, alloc_ev < pos ? "Allocated by" : "Will be allocated by", alloc_site, alloc_ev);
	else
		add_row(self, g, "Allocated", "before the part of the trace indexed, or by a snapshot");
	for (guint k = 0; k < nm; k++) {
		g_autofree char *what = g_strdup_printf("Moved %u× by", mcount[k]);
		site_row(self, t, g, what, msite[k], G_MAXUINT64);
	}
	if (mother) {
		g_autofree char *more = g_strdup_printf("%u more moves by other calls", mother);
		add_row(self, g, more, NULL);
	}
	if (have_free)
		site_row(self, t, g, free_ev < pos ? "Freed by" : "Later freed by", free_site, free_ev);
	/* the source of the line asked for, or of the allocation */
	guint32 show = self->source_cell == self->cell && self->source_site ? self->source_site : alloc_site;
	guint symbol = self->source_cell == self->cell && self->source_site ? self->source_symbol : 0;
	if (show)
		add_source(self, t, show, symbol);
}

void ravscope_inspector_refresh(RavscopeInspector *self)
{
	clear_content(self);
	if (!self->doc) {
		return;
	}
	if (!self->cell) {
		show_placeholder(self, "No Cell Selected", "Click a cell in the heap to see its fields, who refers to it and what happened to it.");
		return;
	}
	rav_state *s = ravscope_document_get_state(self->doc);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	guint32 page = rav_loc_page(self->cell), cellno = rav_loc_cell(self->cell);
	rav_state_cell c;
	g_autofree char *where = ravscope_format_loc(self->cell);
	if (!rav_state_cell_at(s, page, cellno, &c)) {
		g_autofree char *msg = g_strdup_printf("%s is not part of any heap at this point of the trace.", where);
		show_placeholder(self, where, msg);
		return;
	}
	const char *tname = ravscope_document_type_name(self->doc, c.type);
	static const char *states[] = { "empty", "live", "dead (waiting for compaction)", "page header" };
	GtkWidget *title = gtk_label_new(NULL);
	g_autofree char *markup = g_markup_printf_escaped("<span size='x-large' weight='bold'>%s</span>  <span size='large'>%s</span>",
							  where, tname);
	gtk_label_set_markup(GTK_LABEL(title), markup);
	gtk_label_set_xalign(GTK_LABEL(title), 0);
	gtk_label_set_wrap(GTK_LABEL(title), TRUE);
	gtk_box_append(GTK_BOX(self->content), title);
	g_string_append_printf(self->text, "cell %s type %s state %s\n", where, tname, c.state < 4 ? states[c.state] : "?");

	/* first the question people ask first: which line of my program? */
	add_sites(self, t, pos_now(self));

	GtkWidget *g = add_group(self, "Cell", NULL);
	add_row(self, g, "State", c.state < 4 ? states[c.state] : "unknown");
	{
		GtkWidget *row = adw_action_row_new();
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), "Follow across moves");
		adw_action_row_set_subtitle(ADW_ACTION_ROW(row), "keep this raviolo selected when compaction moves it");
		GtkWidget *sw = gtk_switch_new();
		gtk_widget_set_valign(sw, GTK_ALIGN_CENTER);
		gtk_switch_set_active(GTK_SWITCH(sw), self->follow);
		g_object_bind_property(sw, "active", self, "follow", G_BINDING_BIDIRECTIONAL);
		adw_action_row_add_suffix(ADW_ACTION_ROW(row), sw);
		adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), sw);
		adw_preferences_group_add(ADW_PREFERENCES_GROUP(g), row);
		g_string_append_printf(self->text, "  follow: %s\n", self->follow ? "on" : "off");
	}

	if (c.state == RAV_CELL_LIVE || c.state == RAV_CELL_DEAD) {
		GtkWidget *wg = add_group(self, "Words", c.type == RAVSCOPE_TYPE_REF
			? "A reference raviolo: one forward link to its target and back-links to the two slots that refer to it."
			: NULL);
		g_autofree char *tw = g_strdup_printf("%s (id %u)%s%s", tname, c.type, c.scalar ? ", scalar " : "", "");
		if (c.scalar) {
			g_free(tw);
			tw = g_strdup_printf("%s (id %u), scalar %" G_GUINT64_FORMAT, tname, c.type, (guint64)c.scalar);
		}
		add_row(self, wg, "type", tw);
		if (c.type == RAVSCOPE_TYPE_REF) {
			word_row(self, wg, &c, 1, "forward", TRUE, c.field_target[0]);
			word_row(self, wg, &c, 2, "back-link 1", TRUE, 0);
			word_row(self, wg, &c, 3, "back-link 2", TRUE, 0);
		} else if (c.type == RAVSCOPE_TYPE_ROOT) {
			for (int w = 1; w < 4; w++) {
				char nm[16];
				g_snprintf(nm, sizeof nm, "root slot %d", w - 1);
				word_row(self, wg, &c, w, nm, TRUE, 0);
			}
		} else {
			for (int f = 0; f < 2; f++)
				word_row(self, wg, &c, 1 + f, ravscope_document_field_name(self->doc, c.type, f),
					 ravscope_document_type_field_is_ref(self->doc, c.type, f), c.field_target[f]);
			word_row(self, wg, &c, 3, "back-link", TRUE, 0);
		}

		rav_loc refs[REFERRERS_MAX];
		unsigned nref = rav_state_referrers(s, self->cell, refs, REFERRERS_MAX);
		g_autofree char *rdesc = g_strdup_printf("%u slot%s refer%s to this raviolo%s", nref, nref == 1 ? "" : "s",
							 nref == 1 ? "s" : "", nref > 1 ? ", through reference ravioli" : "");
		GtkWidget *rg = add_group(self, "Referrers", rdesc);
		for (unsigned i = 0; i < nref && i < REFERRERS_MAX; i++) {
			g_autofree char *sl = ravscope_format_word_loc(self->doc, refs[i]);
			rav_state_cell rc;
			const char *rt = "";
			if (rav_state_cell_at(s, rav_loc_page(refs[i]), rav_loc_cell(refs[i]), &rc))
				rt = ravscope_document_type_name(self->doc, rc.type);
			GtkWidget *row = add_row(self, rg, sl, rt);
			add_button(self, row, "find-location-symbolic", "Select the referring cell", "loc",
				   rav_loc_make(rav_loc_page(refs[i]), rav_loc_cell(refs[i]), 0), G_CALLBACK(on_go_cell));
		}
	}

	/* History of the raviolo now here. */
	rav_cell_event *h = g_new(rav_cell_event, HISTORY_MAX);
	unsigned total = 0;
	unsigned nh = rav_trace_cell_history(t, self->cell, ravscope_document_get_position(self->doc), h, HISTORY_MAX, &total);
	g_autofree char *hdesc = g_strdup_printf("%u event%s in the life of the raviolo here%s", total, total == 1 ? "" : "s",
						 total > nh ? " (first ones shown)" : "");
	GtkWidget *hg = add_group(self, "History", hdesc);
	guint64 pos = ravscope_document_get_position(self->doc);
	for (unsigned i = 0; i < nh; i++) {
		rav_event ev;
		g_autofree char *desc = NULL;
		if (rav_trace_event_at(t, h[i].event, &ev))
			desc = ravscope_document_describe_event(self->doc, &ev);
		g_autofree char *tt = g_strdup_printf("%s%" G_GUINT64_FORMAT " · %s", h[i].event < pos ? "" : "later: ", h[i].event,
						      rav_event_kind_name(h[i].kind) ? rav_event_kind_name(h[i].kind) : "?");
		if (desc && ev.site) {
			g_autofree char *sl = ravscope_site_label(t, ev.site);
			char *d2 = g_strdup_printf("%s · at %s", desc, sl);
			g_free(desc);
			desc = d2;
		}
		GtkWidget *row = add_row(self, hg, tt, desc);
		add_button(self, row, "media-playback-start-symbolic", "Go to this event", "event", h[i].event, G_CALLBACK(on_go_event));
	}
	g_free(h);

	struct rav_state_page sp;
	if (rav_state_page(s, page, &sp)) {
		static const char *kinds[] = { "unused", "heap page", "message buffer page", "root page", "in the pool" };
		g_autofree char *owner = sp.owner ? ravscope_document_heap_name(self->doc, sp.owner) : g_strdup("nobody");
		g_autofree char *ptitle = g_strdup_printf("Page %u", page);
		GtkWidget *pg = add_group(self, ptitle, NULL);
		add_row(self, pg, "Kind", sp.kind < 5 ? kinds[sp.kind] : "?");
		add_row(self, pg, "Owner", owner);
		g_autofree char *fill = g_strdup_printf("%u cells used (header included), %u live, %u dead", sp.fill, sp.live, sp.dead);
		add_row(self, pg, "Fill", fill);
	}
}

void ravscope_inspector_set_cell(RavscopeInspector *self, rav_loc cell)
{
	self->cell = cell;
	ravscope_inspector_refresh(self);
}

rav_loc ravscope_inspector_get_cell(RavscopeInspector *self) { return self->cell; }

void ravscope_inspector_set_document(RavscopeInspector *self, RavscopeDocument *doc)
{
	g_set_object(&self->doc, doc);
	self->cell = RAV_LOC_NONE;
	ravscope_inspector_refresh(self);
}

gboolean ravscope_inspector_get_follow(RavscopeInspector *self) { return self->follow; }

void ravscope_inspector_set_follow(RavscopeInspector *self, gboolean follow)
{
	if (self->follow == follow)
		return;
	self->follow = follow;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_FOLLOW]);
}

char *ravscope_inspector_dup_text(RavscopeInspector *self)
{
	return g_strdup(self->text->str);
}

static void ravscope_inspector_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_FOLLOW)
		g_value_set_boolean(v, RAVSCOPE_INSPECTOR(o)->follow);
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_inspector_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	if (id == PROP_FOLLOW)
		ravscope_inspector_set_follow(RAVSCOPE_INSPECTOR(o), g_value_get_boolean(v));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_inspector_dispose(GObject *o)
{
	RavscopeInspector *self = RAVSCOPE_INSPECTOR(o);
	g_clear_object(&self->doc);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_INSPECTOR);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_inspector_parent_class)->dispose(o);
}

static void ravscope_inspector_finalize(GObject *o)
{
	RavscopeInspector *self = RAVSCOPE_INSPECTOR(o);
	g_string_free(self->text, TRUE);
	G_OBJECT_CLASS(ravscope_inspector_parent_class)->finalize(o);
}

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	ravscope_inspector_set_document(RAVSCOPE_INSPECTOR(panel), doc);
}

static void panel_refresh(RavscopePanel *panel)
{
	ravscope_inspector_refresh(RAVSCOPE_INSPECTOR(panel));
}

static void panel_select_cell(RavscopePanel *panel, rav_loc cell)
{
	ravscope_inspector_set_cell(RAVSCOPE_INSPECTOR(panel), cell);
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
	iface->refresh = panel_refresh;
	iface->select_cell = panel_select_cell;
}

static void ravscope_inspector_class_init(RavscopeInspectorClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_inspector_dispose;
	oc->finalize = ravscope_inspector_finalize;
	oc->get_property = ravscope_inspector_get_property;
	oc->set_property = ravscope_inspector_set_property;
	props[PROP_FOLLOW] = g_param_spec_boolean("follow", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-inspector.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeInspector, content);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_inspector_init(RavscopeInspector *self)
{
	self->text = g_string_new(NULL);
	gtk_widget_init_template(GTK_WIDGET(self));
}

GtkWidget *ravscope_inspector_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_INSPECTOR, NULL);
}
