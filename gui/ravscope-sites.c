/* ravscope-sites.c - call sites in the viewer's words, and source excerpts.
 *
 * Labels read libravtrace's symbolizer, which caches per trace, so a label
 * costs a lookup after the first resolution (the document warms the cache
 * on a worker thread once indexing is done).  Source files are read only
 * when shown, and only a bounded amount of them: a file on a network mount
 * or a huge generated one must not stall the window.
 */
#include "ravscope-sites.h"

#include "ravscope-document.h"

#include <string.h>

#define SOURCE_MAX_BYTES (8u << 20)

static const char *base_name(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;
	return b && b[1] ? b + 1 : (path ? path : "?");
}

static char *symbol_label(const rav_trace_symbol *sy, gboolean full_path);

/* What a symbol's strings become in a widget: the debug information's
 * bytes, made valid UTF-8 (ravscope_display_text). */
static char *shown(char *s)
{
	char *v = s ? ravscope_display_text(s) : NULL;
	if (!v)
		return s;
	g_free(s);
	return v;
}

char *ravscope_symbol_label(const rav_trace_symbol *sy, gboolean full_path)
{
	return shown(symbol_label(sy, full_path));
}

static char *symbol_label(const rav_trace_symbol *sy, gboolean full_path)
{
	if (sy->status == RAV_SYMBOL_OK && sy->file) {
		const char *file = full_path ? sy->file : base_name(sy->file);
		if (sy->function)
			return g_strdup_printf("%s (%s:%u)", sy->function, file, sy->line);
		return g_strdup_printf("%s:%u", file, sy->line);
	}
	const char *obj = sy->object ? (full_path ? sy->object : base_name(sy->object)) : NULL;
	if (sy->function)
		return g_strdup_printf("%s+0x%" G_GINT64_MODIFIER "x in %s", sy->function,
				       (guint64)sy->function_offset, obj ? obj : "?");
	if (obj)
		return g_strdup_printf("%s+0x%" G_GINT64_MODIFIER "x", obj, (guint64)sy->offset);
	return g_strdup_printf("0x%" G_GINT64_MODIFIER "x", (guint64)sy->offset);
}

gboolean ravscope_site_call(rav_trace *t, guint32 site, rav_trace_symbol *out)
{
	return site && rav_trace_site_call(t, site, out);
}

char *ravscope_site_label(rav_trace *t, guint32 site)
{
	rav_trace_symbol sy;
	if (!ravscope_site_call(t, site, &sy))
		return g_strdup("(no call site)");
	return ravscope_symbol_label(&sy, FALSE);
}

static char *site_detail(rav_trace *t, guint32 site);

char *ravscope_site_detail(rav_trace *t, guint32 site)
{
	return shown(site_detail(t, site));
}

static char *site_detail(rav_trace *t, guint32 site)
{
	rav_trace_symbol sy;
	if (!ravscope_site_call(t, site, &sy))
		return g_strdup("no call of the program made this (a thread's heap torn down at its exit, or a trace "
				"recorded before call sites were)");
	if (sy.status == RAV_SYMBOL_OK && sy.file)
		return g_strdup_printf("%s:%u", sy.file, sy.line);
	g_autofree char *raw = NULL;
	if (sy.object)
		raw = g_strdup_printf("%s+0x%" G_GINT64_MODIFIER "x", sy.object, (guint64)sy.offset);
	else
		raw = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", (guint64)sy.offset);
	return sy.message ? g_strdup_printf("%s: %s", raw, sy.message) : g_strdup(raw);
}

char *ravscope_site_break_spec(rav_trace *t, guint32 site)
{
	rav_trace_symbol sy;
	rav_trace_frame fr;
	/* (a file's path that is not UTF-8 cannot be an action's target, a
	 * GVariant string, nor be shown as typed: its address is exact) */
	if (ravscope_site_call(t, site, &sy) && sy.status == RAV_SYMBOL_OK && sy.file && sy.line &&
	    g_utf8_validate(sy.file, -1, NULL))
		return g_strdup_printf("%s:%u", sy.file, sy.line);
	if (site && rav_trace_site_frames(t, site, &fr, 1))
		return g_strdup_printf("*0x%" G_GINT64_MODIFIER "x", (guint64)fr.address);
	return NULL;
}

gboolean ravscope_source_excerpt(const char *path, guint line, guint context, char **text, guint *first_line,
				 GError **error)
{
	g_autoptr(GFile) file = g_file_new_for_path(path);
	g_autoptr(GFileInputStream) in = g_file_read(file, NULL, error);
	if (!in)
		return FALSE;
	GString *out = g_string_new(NULL);
	guint first = line > context ? line - context : 1, last = line + context, at = 1;
	char buf[16384];
	gsize total = 0;
	gssize n;
	gboolean text_ok = TRUE;
	while (at <= last && (n = g_input_stream_read(G_INPUT_STREAM(in), buf, sizeof buf, NULL, error)) > 0) {
		total += (gsize)n;
		for (gssize i = 0; i < n && at <= last; i++) {
			if (buf[i] == 0)
				text_ok = FALSE;
			if (at >= first && buf[i] != '\r')
				g_string_append_c(out, buf[i]);
			if (buf[i] == '\n')
				at++;
		}
		if (total > SOURCE_MAX_BYTES || !text_ok)
			break;
	}
	if (error && *error) {
		g_string_free(out, TRUE);
		return FALSE;
	}
	if (!text_ok || !g_utf8_validate(out->str, (gssize)out->len, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not a text file", path);
		g_string_free(out, TRUE);
		return FALSE;
	}
	if (at <= line) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s has no line %u (%u lines): it changed since the program was built", path, line,
			    at - 1);
		g_string_free(out, TRUE);
		return FALSE;
	}
	while (out->len && out->str[out->len - 1] == '\n')
		g_string_truncate(out, out->len - 1);
	*text = g_string_free(out, FALSE);
	*first_line = first;
	return TRUE;
}
