/* rough-edges-timeline.c - rough edges of the timeline and charts: mark
 * labels (8), tab icons and charts with axes, read-out and click-to-seek
 * (9).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "rough-edges.h"

/* ---- 8: timeline mark labels neither overlap nor vanish ---------------------- */

void test_mark_labels(void)
{
	const char *names[] = { "tree", "list", "serialize", "messages" };
	const double widths[] = { 500, 900, 1600 };
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 10, 10);
	cairo_t *cr = cairo_create(s);
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		RavscopeDocument *doc = open_doc(demo(names[k]));
		guint marks = rav_trace_mark_count(ravscope_document_get_trace(doc));
		for (guint wi = 0; wi < G_N_ELEMENTS(widths); wi++) {
			for (int large = 0; large < 2; large++) {
				RavscopeTimelineStyle st = { .large_text = large, .hover_event = G_MAXUINT64 };
				double x = 12, y = 4, w = widths[wi] - 24, h = large ? 116 : 88;
				RavscopeMarkLabel lab[64];
				guint hidden = 0;
				guint n = ravscope_timeline_mark_labels(cr, doc, x, y, w, h, &st, lab, G_N_ELEMENTS(lab), &hidden);
				g_assert_cmpuint(n + hidden, ==, marks);
				for (guint i = 0; i < n; i++) {
					g_assert_cmpfloat(lab[i].x, >=, x);
					g_assert_cmpfloat(lab[i].x + lab[i].w, <=, x + w + 0.5);
					g_assert_cmpfloat(lab[i].y, >=, y);
					g_assert_cmpfloat(lab[i].y + lab[i].h, <=, y + h / 2);
					g_assert_cmpfloat(lab[i].w, >=, 20);
					for (guint j = 0; j < i; j++) {
						gboolean apart = lab[i].x >= lab[j].x + lab[j].w || lab[j].x >= lab[i].x + lab[i].w ||
								 lab[i].y >= lab[j].y + lab[j].h || lab[j].y >= lab[i].y + lab[i].h;
						if (!apart)
							g_error("%s at %.0f px: the labels of marks %u and %u overlap", names[k],
								widths[wi], lab[i].mark, lab[j].mark);
					}
				}
				/* The list and tree demos: every mark labelled at a usual width. */
				if (wi >= 1 && (k == 0 || k == 1) && hidden)
					g_error("%s at %.0f px%s: %u of %u mark labels left out", names[k], widths[wi],
						large ? " (large text)" : "", hidden, marks);
			}
		}
		g_object_unref(doc);
	}
	cairo_destroy(cr);
	cairo_surface_destroy(s);
}

/* ---- 9: tab icons that exist; charts with axes, read-out and click-to-seek ---- */

void test_tabs_and_charts(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 1400, 800);
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	GtkSelectionModel *pages = adw_view_stack_get_pages(stack);
	GtkIconTheme *theme = gtk_icon_theme_get_for_display(gtk_widget_get_display(GTK_WIDGET(w)));
	for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(pages)); i++) {
		AdwViewStackPage *page = g_list_model_get_item(G_LIST_MODEL(pages), i);
		const char *icon = adw_view_stack_page_get_icon_name(page);
		if (!icon || !gtk_icon_theme_has_icon(theme, icon))
			g_error("tab %s: icon %s is not in the icon theme", adw_view_stack_page_get_name(page), icon);
		g_assert_false(g_str_has_prefix(icon, "weather-"));
		g_object_unref(page);
	}
	g_object_unref(pages);

	RavscopeChartsPanel *charts = RAVSCOPE_CHARTS_PANEL(show_panel(w, "charts"));
	GtkWidget *area = find_by_type(GTK_WIDGET(charts), "GtkDrawingArea");
	int aw = gtk_widget_get_width(area);
	g_assert_cmpint(aw, >, 100);
	/* Over the first chart's plot: an event; over its value axis: none. */
	guint64 e0 = 0, e1 = 0, none;
	g_assert_true(ravscope_charts_panel_event_at(charts, aw * 0.3, 60, &e0));
	g_assert_true(ravscope_charts_panel_event_at(charts, aw * 0.7, 60, &e1));
	g_assert_cmpuint(e1, >, e0);
	g_assert_false(ravscope_charts_panel_event_at(charts, 20, 60, &none));
	/* The read-out is drawn where the pointer is. */
	RavscopeDocument *doc = ravscope_window_get_document(w);
	RavscopeChartSpec spec = { "Moves", "per 1,000 events", "per 1,000", RAV_SERIES_MOVES, -1, TRUE, NULL, 0 };
	cairo_surface_t *img[2];
	for (int k = 0; k < 2; k++) {
		img[k] = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 400, 100);
		cairo_t *cr = cairo_create(img[k]);
		RavscopeTimelineStyle st = { .hover_event = k ? e1 : G_MAXUINT64 };
		g_assert_true(ravscope_chart_draw(cr, doc, &spec, 0, 0, 400, 100, &st));
		cairo_destroy(cr);
		cairo_surface_flush(img[k]);
	}
	g_assert_false(same_rows(img[0], img[1], 0, 100));
	cairo_surface_destroy(img[0]);
	cairo_surface_destroy(img[1]);
	/* A click goes there. */
	ravscope_charts_panel_click(charts, aw * 0.5, 60);
	spin_a_bit();
	guint64 e;
	g_assert_true(ravscope_charts_panel_event_at(charts, aw * 0.5, 60, &e));
	guint64 pos = ravscope_document_get_position(ravscope_window_get_document(w));
	g_assert_cmpuint(pos, >, e);
	g_assert_cmpuint(pos, <=, e + 16);
	close_window(w);
}
