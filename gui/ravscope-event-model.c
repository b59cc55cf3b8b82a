/* ravscope-event-model.c - the event list's model.
 *
 * Unfiltered, row i is event i: nothing is stored and rows are decoded by
 * the list factory only when they scroll into view, so a 100M-event trace
 * costs nothing here.  Filtered, the matching event indices are collected
 * by an idle handler in slices (the window stays responsive and rows
 * appear as they are found), and search text is matched against the same
 * plain-words description the list shows, and against the event's call
 * site ("insert_after (list.c:41)").  A set of call sites (from the Sites
 * panel, or a FUNCTION / FILE / FILE:LINE the user types) filters in
 * libravtrace, as kinds and threads do.
 */
#include "ravscope-event-model.h"

#include <gtk/gtk.h>
#include <string.h>

#include "ravscope-sites.h"

#define SLICE_EVENTS 20000
#define MAX_MATCHES 5000000

struct _RavscopeEventItem {
	GObject parent_instance;
	guint64 index;
};

G_DEFINE_FINAL_TYPE(RavscopeEventItem, ravscope_event_item, G_TYPE_OBJECT)

static void ravscope_event_item_class_init(RavscopeEventItemClass *klass) {}
static void ravscope_event_item_init(RavscopeEventItem *self) {}
guint64 ravscope_event_item_get_index(RavscopeEventItem *item) { return item->index; }

struct _RavscopeEventModel {
	GObject parent_instance;
	RavscopeDocument *doc;
	guint n_items;
	gboolean filtered;
	guint64 kinds;
	gint64 thread;
	char *text;          /* casefolded */
	guint32 *sites;      /* sorted; NULL: any site */
	gsize nsites;
	GArray *matches;     /* guint64 event indices */
	guint64 scan_next;
	guint scan_source;
	gboolean truncated;
};

static void list_model_iface_init(GListModelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeEventModel, ravscope_event_model, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(G_TYPE_LIST_MODEL, list_model_iface_init))

enum { PROP_0, PROP_STATUS, N_PROPS };
static GParamSpec *props[N_PROPS];

static GType get_item_type(GListModel *m) { return RAVSCOPE_TYPE_EVENT_ITEM; }
static guint get_n_items(GListModel *m) { return RAVSCOPE_EVENT_MODEL(m)->n_items; }

static gpointer get_item(GListModel *m, guint pos)
{
	RavscopeEventModel *self = RAVSCOPE_EVENT_MODEL(m);
	if (pos >= self->n_items)
		return NULL;
	RavscopeEventItem *item = g_object_new(RAVSCOPE_TYPE_EVENT_ITEM, NULL);
	item->index = self->filtered ? g_array_index(self->matches, guint64, pos) : pos;
	return item;
}

static void list_model_iface_init(GListModelInterface *iface)
{
	iface->get_item_type = get_item_type;
	iface->get_n_items = get_n_items;
	iface->get_item = get_item;
}

static void set_n_items(RavscopeEventModel *self, guint n)
{
	guint old = self->n_items;
	if (n == old)
		return;
	self->n_items = n;
	if (n > old)
		g_list_model_items_changed(G_LIST_MODEL(self), old, 0, n - old);
	else
		g_list_model_items_changed(G_LIST_MODEL(self), 0, old, n);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATUS]);
}

static guint64 available(RavscopeEventModel *self)
{
	return self->doc ? ravscope_document_get_event_count(self->doc) : 0;
}

static gboolean scan_slice(gpointer user)
{
	RavscopeEventModel *self = user;
	guint64 n = available(self);
	guint64 end = MIN(n, self->scan_next + SLICE_EVENTS);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	rav_event_filter f = { .kinds = self->kinds, .thread = self->thread, .from = self->scan_next, .to = end,
			       .sites = self->sites, .nsites = self->nsites };
	rav_event_iter it;
	rav_event ev;
	if (end > self->scan_next) {
		rav_event_iter_init(&it, t, &f);
		while (rav_event_iter_next(&it, &ev)) {
			if (self->text && *self->text) {
				g_autofree char *d = ravscope_document_describe_event(self->doc, &ev);
				g_autofree char *fold = g_utf8_casefold(d, -1);
				if (!strstr(fold, self->text)) {
					if (!ev.site)
						continue;
					g_autofree char *sl = ravscope_site_label(t, ev.site);
					g_autofree char *sf = g_utf8_casefold(sl, -1);
					if (!strstr(sf, self->text))
						continue;
				}
			}
			if (self->matches->len >= MAX_MATCHES) {
				self->truncated = TRUE;
				break;
			}
			g_array_append_val(self->matches, ev.index);
		}
		rav_event_iter_fini(&it);
	}
	self->scan_next = end;
	set_n_items(self, self->matches->len);
	if (self->truncated || (self->scan_next >= n && ravscope_document_is_indexed(self->doc))) {
		self->scan_source = 0;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATUS]);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void restart(RavscopeEventModel *self)
{
	g_clear_handle_id(&self->scan_source, g_source_remove);
	guint old = self->n_items;
	self->n_items = 0;
	g_array_set_size(self->matches, 0);
	self->scan_next = 0;
	self->truncated = FALSE;
	if (old)
		g_list_model_items_changed(G_LIST_MODEL(self), 0, old, 0);
	if (!self->doc) {
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATUS]);
		return;
	}
	if (!self->filtered) {
		set_n_items(self, (guint)MIN(available(self), G_MAXUINT));
		return;
	}
	self->scan_source = g_idle_add(scan_slice, self);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATUS]);
}

void ravscope_event_model_set_document(RavscopeEventModel *self, RavscopeDocument *doc)
{
	g_set_object(&self->doc, doc);
	self->filtered = FALSE;
	self->kinds = 0;
	self->thread = -1;
	g_clear_pointer(&self->text, g_free);
	g_clear_pointer(&self->sites, g_free);
	self->nsites = 0;
	restart(self);
}

static int cmp_u32(const void *a, const void *b)
{
	guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
	return x < y ? -1 : x > y;
}

void ravscope_event_model_set_filter(RavscopeEventModel *self, guint64 kinds, gint64 thread, const char *text,
				     const guint32 *sites, gssize nsites)
{
	g_free(self->text);
	self->text = text && *text ? g_utf8_casefold(text, -1) : NULL;
	self->kinds = kinds;
	self->thread = thread;
	g_clear_pointer(&self->sites, g_free);
	self->nsites = 0;
	if (nsites >= 0) {
		/* a filter by no site at all matches nothing: site 0 is "none", never a call */
		self->sites = nsites ? g_memdup2(sites, (gsize)nsites * sizeof *sites) : g_new0(guint32, 1);
		self->nsites = nsites ? (gsize)nsites : 0;
		qsort(self->sites, self->nsites, sizeof *self->sites, cmp_u32);
	}
	self->filtered = kinds != 0 || thread >= 0 || self->text != NULL || self->sites != NULL;
	restart(self);
}

void ravscope_event_model_update_count(RavscopeEventModel *self)
{
	if (!self->doc)
		return;
	if (!self->filtered)
		set_n_items(self, (guint)MIN(available(self), G_MAXUINT));
	else if (!self->scan_source && !self->truncated && self->scan_next < available(self))
		self->scan_source = g_idle_add(scan_slice, self);
}

guint ravscope_event_model_row_for_event(RavscopeEventModel *self, guint64 event)
{
	if (!self->n_items)
		return GTK_INVALID_LIST_POSITION;
	if (!self->filtered)
		return (guint)MIN(event, (guint64)self->n_items - 1);
	/* Last match <= event (binary search: matches are in order). */
	guint lo = 0, hi = self->matches->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (g_array_index(self->matches, guint64, mid) <= event)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? GTK_INVALID_LIST_POSITION : lo - 1;
}

guint64 ravscope_event_model_event_at_row(RavscopeEventModel *self, guint row)
{
	if (row >= self->n_items)
		return G_MAXUINT64;
	return self->filtered ? g_array_index(self->matches, guint64, row) : row;
}

char *ravscope_event_model_dup_status(RavscopeEventModel *self)
{
	guint64 n = available(self);
	if (!self->doc)
		return g_strdup("");
	if (!self->filtered)
		return g_strdup_printf("%" G_GUINT64_FORMAT " events", n);
	return g_strdup_printf("%u matching of %" G_GUINT64_FORMAT " events%s", self->n_items, n,
			       self->scan_source ? " (searching…)" : self->truncated ? " (first matches only)" : "");
}

static void ravscope_event_model_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_STATUS)
		g_value_take_string(v, ravscope_event_model_dup_status(RAVSCOPE_EVENT_MODEL(o)));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_event_model_dispose(GObject *o)
{
	RavscopeEventModel *self = RAVSCOPE_EVENT_MODEL(o);
	g_clear_handle_id(&self->scan_source, g_source_remove);
	g_clear_object(&self->doc);
	G_OBJECT_CLASS(ravscope_event_model_parent_class)->dispose(o);
}

static void ravscope_event_model_finalize(GObject *o)
{
	RavscopeEventModel *self = RAVSCOPE_EVENT_MODEL(o);
	g_array_unref(self->matches);
	g_free(self->text);
	g_free(self->sites);
	G_OBJECT_CLASS(ravscope_event_model_parent_class)->finalize(o);
}

static void ravscope_event_model_class_init(RavscopeEventModelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	oc->dispose = ravscope_event_model_dispose;
	oc->finalize = ravscope_event_model_finalize;
	oc->get_property = ravscope_event_model_get_property;
	props[PROP_STATUS] = g_param_spec_string("status", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
}

static void ravscope_event_model_init(RavscopeEventModel *self)
{
	self->matches = g_array_new(FALSE, FALSE, sizeof(guint64));
	self->thread = -1;
}

RavscopeEventModel *ravscope_event_model_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_EVENT_MODEL, NULL);
}
