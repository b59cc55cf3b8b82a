/* ravscope-graph.c - the neighbourhood graph of one cell (see the header).
 *
 * Below the centre: the cells its reference fields name, followed through
 * reference ravioli to their final target (such an edge is dashed: the
 * target is shared), level by level, breadth first.  Above it: the cells
 * whose slots refer to it (rav_state_referrers, which walks the reference
 * ravioli tree), and theirs.  A cell reached twice keeps its first box;
 * the edge is drawn to it.  Boxes use the heap picture's colours, text and
 * arrows (ravscope-heap-style.c).
 */
#include "ravscope-graph.h"

#include <math.h>
#include <string.h>

#include "ravscope-heapdraw-private.h"

#define GAP_X 14.0
#define GAP_Y 44.0

static rav_loc cell_of(rav_loc l)
{
	return rav_loc_make(rav_loc_page(l), rav_loc_cell(l), 0);
}

static guint add_node(RavscopeGraph *g, GHashTable *index, rav_loc cell, int level, guint16 type)
{
	RavscopeGraphNode n = { .cell = cell, .level = level, .type = type };
	g_array_append_val(g->nodes, n);
	g_hash_table_insert(index, GUINT_TO_POINTER((gsize)cell), GUINT_TO_POINTER(g->nodes->len));
	return g->nodes->len - 1;
}

static void add_edge(RavscopeGraph *g, guint from, guint to, int word, gboolean shared)
{
	for (guint i = 0; i < g->edges->len; i++) {
		const RavscopeGraphEdge *e = &g_array_index(g->edges, RavscopeGraphEdge, i);
		if (e->from == from && e->to == to && e->word == word)
			return;
	}
	RavscopeGraphEdge e = { from, to, word, shared };
	g_array_append_val(g->edges, e);
}

/* The words of a cell that hold references, and where each leads. */
static guint reference_words(RavscopeDocument *doc, const rav_state_cell *c, int words[3], rav_loc targets[3],
			     gboolean shared[3])
{
	guint n = 0;
	if (c->type == RAVSCOPE_TYPE_ROOT) {
		for (int w = 1; w <= 3; w++)
			if (c->word[w]) {
				words[n] = w;
				targets[n] = cell_of(c->word[w]);
				shared[n] = FALSE;
				n++;
			}
		return n;
	}
	for (int f = 0; f < 2; f++) {
		if (!ravscope_document_type_field_is_ref(doc, c->type, f) || !c->word[1 + f])
			continue;
		if (c->type == RAVSCOPE_TYPE_REF && f == 1)
			continue;
		rav_loc direct = cell_of(c->word[1 + f]);
		rav_loc final = c->field_target[f] ? cell_of(c->field_target[f]) : direct;
		words[n] = 1 + f;
		targets[n] = final;
		shared[n] = final != direct;
		n++;
	}
	return n;
}

RavscopeGraph *ravscope_graph_build(RavscopeDocument *doc, rav_loc center, int up, int down, guint max_per_level)
{
	rav_state *s = ravscope_document_get_state(doc);
	rav_state_cell c;
	center = cell_of(center);
	if (!center || !rav_state_cell_at(s, rav_loc_page(center), rav_loc_cell(center), &c) || c.state != RAV_CELL_LIVE)
		return NULL;
	RavscopeGraph *g = g_new0(RavscopeGraph, 1);
	g->nodes = g_array_new(FALSE, TRUE, sizeof(RavscopeGraphNode));
	g->edges = g_array_new(FALSE, TRUE, sizeof(RavscopeGraphEdge));
	GHashTable *index = g_hash_table_new(NULL, NULL); /* cell -> node index + 1 */
	add_node(g, index, center, 0, c.type);

	/* Down: what it refers to. */
	guint first = 0, last = 1;
	for (int level = 1; level <= down && first < last; level++) {
		guint placed = 0;
		for (guint i = first; i < last; i++) {
			RavscopeGraphNode n = g_array_index(g->nodes, RavscopeGraphNode, i);
			rav_state_cell nc;
			if (!rav_state_cell_at(s, rav_loc_page(n.cell), rav_loc_cell(n.cell), &nc) || nc.state != RAV_CELL_LIVE)
				continue;
			int words[3];
			rav_loc targets[3];
			gboolean shared[3];
			guint k = reference_words(doc, &nc, words, targets, shared);
			for (guint j = 0; j < k; j++) {
				guint at = GPOINTER_TO_UINT(g_hash_table_lookup(index, GUINT_TO_POINTER((gsize)targets[j])));
				if (!at) {
					rav_state_cell tc;
					if (placed >= max_per_level ||
					    !rav_state_cell_at(s, rav_loc_page(targets[j]), rav_loc_cell(targets[j]), &tc)) {
						g->hidden++;
						continue;
					}
					at = add_node(g, index, targets[j], level, tc.type) + 1;
					placed++;
				}
				add_edge(g, i, at - 1, words[j], shared[j]);
			}
		}
		first = last;
		last = g->nodes->len;
		if (placed)
			g->levels_down = level;
	}

	/* Up: what refers to it (the leaf slots, through reference ravioli). */
	GArray *frontier = g_array_new(FALSE, FALSE, sizeof(guint));
	guint zero = 0;
	g_array_append_val(frontier, zero);
	for (int level = 1; level <= up && frontier->len; level++) {
		GArray *next = g_array_new(FALSE, FALSE, sizeof(guint));
		guint placed = 0;
		for (guint i = 0; i < frontier->len; i++) {
			guint ni = g_array_index(frontier, guint, i);
			rav_loc cell = g_array_index(g->nodes, RavscopeGraphNode, ni).cell;
			rav_loc slots[64];
			unsigned nref = rav_state_referrers(s, cell, slots, G_N_ELEMENTS(slots));
			for (unsigned r = 0; r < nref && r < G_N_ELEMENTS(slots); r++) {
				rav_loc parent = cell_of(slots[r]);
				guint at = GPOINTER_TO_UINT(g_hash_table_lookup(index, GUINT_TO_POINTER((gsize)parent)));
				if (!at) {
					rav_state_cell pc;
					if (placed >= max_per_level ||
					    !rav_state_cell_at(s, rav_loc_page(parent), rav_loc_cell(parent), &pc)) {
						g->hidden++;
						continue;
					}
					at = add_node(g, index, parent, -level, pc.type) + 1;
					g_array_append_val(next, (guint){ at - 1 });
					placed++;
				}
				add_edge(g, at - 1, ni, (int)rav_loc_word(slots[r]), nref > 1);
			}
			if (nref > G_N_ELEMENTS(slots))
				g->hidden += nref - (unsigned)G_N_ELEMENTS(slots);
		}
		g_array_unref(frontier);
		frontier = next;
		if (placed)
			g->levels_up = level;
	}
	g_array_unref(frontier);
	g_hash_table_unref(index);
	return g;
}

void ravscope_graph_free(RavscopeGraph *g)
{
	if (!g)
		return;
	g_array_unref(g->nodes);
	g_array_unref(g->edges);
	g_free(g);
}

static double font_px(gboolean large)
{
	return large ? 15 : 12;
}

typedef struct {
	guint node;
	double want; /* the x of its centre next to the box it is linked to */
} Slot;

static int cmp_slot(gconstpointer a, gconstpointer b)
{
	const Slot *x = a, *y = b;
	return x->want < y->want ? -1 : x->want > y->want ? 1 : (int)x->node - (int)y->node;
}

/* Place one row: each box wants its centre near the box it hangs from (a
 * child under its parent, a referrer over what it refers to); boxes keep
 * their order by that, at least a gap apart, and the row stays inside the
 * width. */
static void place_row(RavscopeGraph *g, int level, double width, double bw, double y)
{
	GArray *row = g_array_new(FALSE, FALSE, sizeof(Slot));
	for (guint i = 0; i < g->nodes->len; i++) {
		const RavscopeGraphNode *n = &g_array_index(g->nodes, RavscopeGraphNode, i);
		if (n->level != level)
			continue;
		/* the first link to the row next to the centre */
		Slot sl = { i, width / 2 };
		for (guint k = 0; k < g->edges->len && level != 0; k++) {
			const RavscopeGraphEdge *e = &g_array_index(g->edges, RavscopeGraphEdge, k);
			guint other = level > 0 ? e->from : e->from == i ? e->to : G_MAXUINT;
			if ((level > 0 ? e->to != i : e->from != i) || other == G_MAXUINT)
				continue;
			const RavscopeGraphNode *o = &g_array_index(g->nodes, RavscopeGraphNode, other);
			if (o->level != (level > 0 ? level - 1 : level + 1))
				continue;
			/* children spread under their parent by the word they hang from */
			double spread = level > 0 ? (e->word == 1 ? -0.55 : e->word == 2 ? 0.55 : 0) * (bw + GAP_X) : 0;
			sl.want = o->x + o->w / 2 + spread;
			break;
		}
		g_array_append_val(row, sl);
	}
	g_array_sort(row, cmp_slot);
	guint n = row->len;
	double pitch = bw + GAP_X;
	double *x = g_new(double, MAX(n, 1));
	for (guint k = 0; k < n; k++) {
		x[k] = g_array_index(row, Slot, k).want - bw / 2;
		if (k && x[k] < x[k - 1] + pitch)
			x[k] = x[k - 1] + pitch;
	}
	/* Inside the width: shift left, then from the left edge if needed. */
	if (n && x[n - 1] + bw > width - GAP_X) {
		double d = x[n - 1] + bw - (width - GAP_X);
		for (guint k = 0; k < n; k++)
			x[k] -= d;
	}
	for (guint k = 0; k < n; k++) {
		if (x[k] < GAP_X + k * pitch)
			x[k] = GAP_X + k * pitch;
		RavscopeGraphNode *node = &g_array_index(g->nodes, RavscopeGraphNode, g_array_index(row, Slot, k).node);
		node->x = x[k];
		node->y = y;
		node->w = bw;
	}
	g_free(x);
	g_array_unref(row);
}

void ravscope_graph_layout(RavscopeGraph *g, double width, gboolean large_text)
{
	double fs = font_px(large_text);
	guint widest = 1;
	for (int level = -g->levels_up; level <= g->levels_down; level++) {
		guint n = 0;
		for (guint i = 0; i < g->nodes->len; i++)
			n += g_array_index(g->nodes, RavscopeGraphNode, i).level == level;
		widest = MAX(widest, n);
	}
	double bw = MIN(fs * 13.5, (width - GAP_X * (widest + 1)) / widest);
	bw = MAX(bw, fs * 5);
	double bh = fs * 1.35 * 4 + fs;
	g->width = MAX(width, widest * (bw + GAP_X) + GAP_X);
	for (guint i = 0; i < g->nodes->len; i++)
		g_array_index(g->nodes, RavscopeGraphNode, i).h = bh;
	/* The centre's row first, then outwards: each row hangs from the one
	 * nearer the centre. */
	double row_y0 = GAP_X + g->levels_up * (bh + GAP_Y);
	place_row(g, 0, g->width, bw, row_y0);
	for (int level = 1; level <= g->levels_down; level++)
		place_row(g, level, g->width, bw, row_y0 + level * (bh + GAP_Y));
	for (int level = -1; level >= -g->levels_up; level--)
		place_row(g, level, g->width, bw, row_y0 + level * (bh + GAP_Y));
	g->height = row_y0 + g->levels_down * (bh + GAP_Y) + bh + GAP_X + (g->hidden ? fs * 2 : 0);
}

/* A word's line in a box: its name and what it holds. */
static char *word_line(RavscopeDocument *doc, const rav_state_cell *c, int w)
{
	const char *name;
	char buf[16];
	if (c->type == RAVSCOPE_TYPE_ROOT) {
		g_snprintf(buf, sizeof buf, "root%d", w - 1);
		name = buf;
	} else {
		name = ravscope_document_field_name(doc, c->type, w - 1);
	}
	gboolean ref = c->type == RAVSCOPE_TYPE_ROOT || ravscope_document_type_field_is_ref(doc, c->type, w - 1);
	if (ref) {
		g_autofree char *l = ravscope_format_loc(c->word[w] ? cell_of(c->word[w]) : RAV_LOC_NONE);
		return g_strdup_printf("%s → %s", name, l);
	}
	return g_strdup_printf("%s = %" G_GUINT64_FORMAT, name, (guint64)c->word[w]);
}

static void draw_box(cairo_t *cr, RavscopeDocument *doc, const RavscopeGraphNode *n, gboolean dark, gboolean large,
		     const double accent[3], gboolean centre)
{
	double fs = font_px(large), rgb[3], bg[3], ink[3];
	ravscope_type_color(n->type, dark, rgb);
	ravscope_heap_background(dark, bg);
	ravscope__text_rgb(dark, ink);
	ravscope__rounded_rect(cr, n->x, n->y, n->w, n->h, fs * 0.5);
	cairo_set_source_rgb(cr, bg[0] * 0.8 + rgb[0] * 0.2, bg[1] * 0.8 + rgb[1] * 0.2, bg[2] * 0.8 + rgb[2] * 0.2);
	cairo_fill_preserve(cr);
	if (centre)
		cairo_set_source_rgb(cr, accent[0], accent[1], accent[2]);
	else
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	cairo_set_line_width(cr, centre ? (large ? 4 : 3) : (large ? 2.5 : 1.5));
	cairo_stroke(cr);
	/* A swatch of the type's colour, as the heap shows it. */
	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	cairo_rectangle(cr, n->x + fs * 0.5, n->y + fs * 0.55, fs * 0.9, fs * 0.9);
	cairo_fill(cr);
	double pad = fs * 0.5, tx = n->x + pad + fs * 1.3, maxw = n->w - pad - fs * 1.3 - pad;
	ravscope__draw_text(cr, tx, n->y + fs * 0.35, ravscope_document_type_name(doc, n->type), fs, TRUE, ink, maxw);
	g_autofree char *loc = ravscope_format_loc(n->cell);
	double lw = ravscope__text_width(cr, loc, fs * 0.85, FALSE);
	ravscope__draw_text_alpha(cr, n->x + n->w - pad - lw, n->y + fs * 0.45, loc, fs * 0.85, FALSE, ink, 0.65, 0);
	rav_state_cell c;
	if (!rav_state_cell_at(ravscope_document_get_state(doc), rav_loc_page(n->cell), rav_loc_cell(n->cell), &c))
		return;
	double y = n->y + fs * 1.9;
	int last = c.type == RAVSCOPE_TYPE_ROOT ? 3 : c.type == RAVSCOPE_TYPE_REF ? 1 : 2;
	for (int w = 1; w <= last; w++) {
		g_autofree char *line = word_line(doc, &c, w);
		ravscope__draw_text(cr, n->x + pad, y, line, fs * 0.92, FALSE, ink, n->w - 2 * pad);
		y += fs * 1.35;
	}
	if (c.scalar && c.type != RAVSCOPE_TYPE_ROOT && c.type != RAVSCOPE_TYPE_REF) {
		g_autofree char *sc = g_strdup_printf("scalar %" G_GUINT64_FORMAT, (guint64)c.scalar);
		ravscope__draw_text_alpha(cr, n->x + pad, y, sc, fs * 0.85, FALSE, ink, 0.75, n->w - 2 * pad);
	}
}

void ravscope_graph_draw(cairo_t *cr, RavscopeDocument *doc, const RavscopeGraph *g, gboolean dark,
			 gboolean large_text, const double accent[3])
{
	double fs = font_px(large_text), ink[3];
	ravscope__text_rgb(dark, ink);
	cairo_save(cr);
	/* Arrows first: from the line of the word that holds the reference
	 * (its right edge) to the edge of the box it names. */
	for (guint i = 0; i < g->edges->len; i++) {
		const RavscopeGraphEdge *e = &g_array_index(g->edges, RavscopeGraphEdge, i);
		const RavscopeGraphNode *a = &g_array_index(g->nodes, RavscopeGraphNode, e->from);
		const RavscopeGraphNode *b = &g_array_index(g->nodes, RavscopeGraphNode, e->to);
		double x1 = a->x + a->w * (e->word == 1 ? 0.3 : e->word == 2 ? 0.7 : 0.85), y1 = a->y + a->h;
		double x2 = b->x + b->w / 2, y2 = b->y;
		if (b->level <= a->level) {
			/* a reference back up (a cycle, a shared cell): from the side */
			x1 = a->x + a->w;
			y1 = a->y + fs * (1.9 + 1.35 * (e->word - 0.5));
			x2 = b->x + b->w;
			y2 = b->y + b->h / 2;
		}
		ravscope__draw_arrow(cr, x1, y1, x2, y2, large_text ? 2.5 : 1.5, ink, 0.75, e->shared);
	}
	for (guint i = 0; i < g->nodes->len; i++)
		draw_box(cr, doc, &g_array_index(g->nodes, RavscopeGraphNode, i), dark, large_text, accent, i == 0);
	if (g->hidden) {
		char buf[96];
		g_snprintf(buf, sizeof buf, "%u more cell%s not shown", g->hidden, g->hidden == 1 ? "" : "s");
		ravscope__draw_text_alpha(cr, GAP_X, g->height - fs * 1.8, buf, fs * 0.9, FALSE, ink, 0.7, 0);
	}
	cairo_restore(cr);
}

rav_loc ravscope_graph_hit(const RavscopeGraph *g, double x, double y)
{
	for (guint i = 0; g && i < g->nodes->len; i++) {
		const RavscopeGraphNode *n = &g_array_index(g->nodes, RavscopeGraphNode, i);
		if (x >= n->x && x < n->x + n->w && y >= n->y && y < n->y + n->h)
			return n->cell;
	}
	return RAV_LOC_NONE;
}
