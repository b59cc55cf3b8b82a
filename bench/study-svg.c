/* study-svg.c - the study's plots: line charts and grouped bar charts as
 * standalone SVG.
 *
 * Written by hand rather than with a plotting package so `rav-bench
 * --study` needs nothing beyond the build: the figures in docs/ come from
 * the same run as the tables.  The SVG is deliberately plain (no scripts,
 * no CSS classes, no web fonts, explicit white background) because forges
 * render README images through a sanitiser and often in dark mode.
 * Axes: linear, log2 (x: sizes and counts that double) or log10 (y: costs
 * spanning decades); ticks at powers or at "nice" 1/2/5 steps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "study.h"

enum { W = 760, H = 420, ML = 78, MR = 210, MT = 44, MB = 62 };

static const char *const colors[PLOT_MAX_SERIES] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

plot_series *plot_add(plot *p, const char *name)
{
	if (p->nseries == PLOT_MAX_SERIES)
		return &p->s[PLOT_MAX_SERIES - 1];
	plot_series *s = &p->s[p->nseries++];
	memset(s, 0, sizeof *s);
	s->name = name;
	return s;
}

void plot_point(plot_series *s, double x, double y)
{
	if (s->n < PLOT_MAX_POINTS) {
		s->x[s->n] = x;
		s->y[s->n] = y;
		s->n++;
	}
}

static bool usable(double v, bool log)
{
	return isfinite(v) && (log ? v > 0 : v >= 0);
}

static void xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

/* A tick label: short, no trailing zeros. */
static void fmt_tick(char *buf, size_t len, double v)
{
	double a = fabs(v);
	if (a >= 1e9)
		snprintf(buf, len, "%gG", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, len, "%gM", v / 1e6);
	else if (a >= 1e4 && fmod(a, 1e3) == 0)
		snprintf(buf, len, "%gk", v / 1e3);
	else if (a >= 1e4)
		snprintf(buf, len, "%.0f", v); /* 16384, not 16.384k */
	else
		snprintf(buf, len, "%g", v);
}

typedef struct axis {
	double lo, hi;
	bool log;
	int base;
} axis;

static double axis_t(const axis *a, double v)
{
	if (a->log) {
		double l = a->base == 2 ? log2(v) : log10(v);
		double lo = a->base == 2 ? log2(a->lo) : log10(a->lo),
		       hi = a->base == 2 ? log2(a->hi) : log10(a->hi);
		return hi > lo ? (l - lo) / (hi - lo) : 0.5;
	}
	return a->hi > a->lo ? (v - a->lo) / (a->hi - a->lo) : 0.5;
}

/* Round the range outwards to ticks; fill ticks[], return their count. */
static unsigned axis_ticks(axis *a, double *ticks, unsigned max)
{
	unsigned n = 0;
	if (a->log) {
		double b = a->base;
		double lo = pow(b, floor(log(a->lo) / log(b) + 1e-9)),
		       hi = pow(b, ceil(log(a->hi) / log(b) - 1e-9));
		if (hi <= lo)
			hi = lo * b;
		a->lo = lo;
		a->hi = hi;
		unsigned steps = (unsigned)lround(log(hi / lo) / log(b));
		unsigned stride = steps / (max - 1) + 1;
		for (unsigned i = 0; i <= steps && n < max; i += stride)
			ticks[n++] = lo * pow(b, i);
		return n;
	}
	if (a->hi <= a->lo)
		a->hi = a->lo + 1;
	double span = a->hi - a->lo, raw = span / 5, mag = pow(10, floor(log10(raw)));
	double step = raw / mag < 1.5   ? mag
	              : raw / mag < 3.5 ? 2 * mag
	              : raw / mag < 7.5 ? 5 * mag
	                                : 10 * mag;
	a->lo = floor(a->lo / step) * step;
	a->hi = ceil(a->hi / step) * step;
	for (double v = a->lo; v <= a->hi + step * 1e-6 && n < max; v += step)
		ticks[n++] = fabs(v) < step * 1e-9 ? 0 : v;
	return n;
}

bool plot_write(study_ctx *c, const plot *p, const char *name)
{
	axis ax = {INFINITY, -INFINITY, p->xlog, 2}, ay = {INFINITY, -INFINITY, p->ylog, 10};
	unsigned ncat = 0;
	for (unsigned i = 0; i < p->nseries; i++)
		for (unsigned j = 0; j < p->s[i].n; j++) {
			double x = p->s[i].x[j], y = p->s[i].y[j];
			if (!usable(y, ay.log) || (!p->bars && !usable(x, ax.log)))
				continue;
			if (x < ax.lo)
				ax.lo = x;
			if (x > ax.hi)
				ax.hi = x;
			if (y < ay.lo)
				ay.lo = y;
			if (y > ay.hi)
				ay.hi = y;
		}
	if (p->bars) {
		while (ncat < PLOT_MAX_POINTS && p->cats[ncat])
			ncat++;
		ax = (axis){-0.5, ncat - 0.5, false, 10};
		if (!ay.log)
			ay.lo = 0;
	}
	if (!(ay.lo <= ay.hi)) { /* nothing to draw: an empty frame still says so */
		ay = (axis){ay.log ? 1 : 0, ay.log ? 10 : 1, ay.log, 10};
		if (!p->bars)
			ax = (axis){ax.log ? 1 : 0, ax.log ? 2 : 1, ax.log, 2};
	}
	if (!ay.log && ay.lo > 0 && ay.lo < ay.hi * 0.5)
		ay.lo = 0;
	double xt[16], yt[16];
	unsigned nxt = p->bars ? 0 : axis_ticks(&ax, xt, 12), nyt = axis_ticks(&ay, yt, 8);

	FILE *f = study_open(c, name);
	if (!f)
		return false;
	const int pw = W - ML - MR, ph = H - MT - MB;
#define PX(v) (ML + axis_t(&ax, (v)) * pw)
#define PY(v) (MT + ph - axis_t(&ay, (v)) * ph)
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	        "font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\">\n",
	        W, H, W, H);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);
	fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\">", ML);
	xml_text(f, p->title);
	fprintf(f, "</text>\n");
	/* grid and ticks */
	for (unsigned i = 0; i < nyt; i++) {
		char b[32];
		fmt_tick(b, sizeof b, yt[i]);
		double y = PY(yt[i]);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", ML, y,
		        ML + pw, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%s</text>\n", ML - 6,
		        y + 4, b);
	}
	for (unsigned i = 0; i < nxt; i++) {
		char b[32];
		fmt_tick(b, sizeof b, xt[i]);
		double x = PX(xt[i]);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>\n", x, MT,
		        x, MT + ph);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">%s</text>\n", x,
		        MT + ph + 16, b);
	}
	for (unsigned i = 0; i < ncat; i++) {
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">", PX((double)i),
		        MT + ph + 16);
		xml_text(f, p->cats[i]);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#555\"/>\n", ML,
	        MT, pw, ph);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#222\">", ML + pw / 2,
	        MT + ph + 36);
	xml_text(f, p->xlabel);
	fprintf(
	    f,
	    "</text>\n<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">",
	    MT + ph / 2);
	xml_text(f, p->ylabel);
	fprintf(f, "</text>\n");
	/* data */
	double base = ay.log ? ay.lo : 0;
	for (unsigned i = 0; i < p->nseries; i++) {
		const plot_series *s = &p->s[i];
		const char *col = colors[i % PLOT_MAX_SERIES];
		if (p->bars) {
			double slot = 0.8 / (p->nseries ? p->nseries : 1);
			for (unsigned j = 0; j < s->n; j++) {
				if (!usable(s->y[j], ay.log))
					continue;
				double x0 = PX(s->x[j] - 0.4 + slot * i),
				       x1 = PX(s->x[j] - 0.4 + slot * (i + 1));
				double y0 = PY(s->y[j]), y1 = PY(base);
				fprintf(f,
				        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				        "fill=\"%s\"><title>",
				        x0, y0, x1 - x0 - 1, y1 - y0, col);
				xml_text(f, s->name);
				fprintf(f, ": %g</title></rect>\n", s->y[j]);
			}
		} else {
			fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
			        col, s->dashed ? " stroke-dasharray=\"6,4\"" : "");
			for (unsigned j = 0; j < s->n; j++)
				if (usable(s->y[j], ay.log) && usable(s->x[j], ax.log))
					fprintf(f, "%.1f,%.1f ", PX(s->x[j]), PY(s->y[j]));
			fprintf(f, "\"/>\n");
			for (unsigned j = 0; j < s->n; j++)
				if (usable(s->y[j], ay.log) && usable(s->x[j], ax.log)) {
					fprintf(f,
					        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
					        PX(s->x[j]), PY(s->y[j]), col);
					xml_text(f, s->name);
					fprintf(f, " at %g: %g</title></circle>\n", s->x[j], s->y[j]);
				}
		}
		/* legend */
		int ly = MT + 8 + 20 * (int)i;
		fprintf(
		    f,
		    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%d\"%s/>\n"
		    "<text x=\"%d\" y=\"%d\" fill=\"#222\">",
		    ML + pw + 12, ly, ML + pw + 36, ly, col, p->bars ? 10 : 2,
		    s->dashed ? " stroke-dasharray=\"6,4\"" : "", ML + pw + 42, ly + 4);
		xml_text(f, s->name);
		fprintf(f, "</text>\n");
	}
	if (p->note) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#666\">", ML, H - 8);
		xml_text(f, p->note);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
#undef PX
#undef PY
	return study_close(c, f, name);
}
