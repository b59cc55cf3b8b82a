/* ravscope-sites.h - call sites in the viewer's words (ravscope-sites.c):
 * short and long labels of a site, its frames, and a source file's lines
 * around a site's line.  Every fact comes from libravtrace
 * (rav_trace_site_resolve: libdw and the recorded objects on disk). */
#pragma once

#include <gio/gio.h>

#include "ravtrace.h"

G_BEGIN_DECLS

/* "insert_after (list.c:41)"; "insert_after+0x1c in prog" without debug
 * info; "prog+0x1234"; "(no call site)" for site 0. */
char *ravscope_site_label(rav_trace *t, guint32 site);
/* The site's call symbol (the program's line); FALSE for site 0. */
gboolean ravscope_site_call(rav_trace *t, guint32 site, rav_trace_symbol *out);
/* "/abs/path/list.c:41", or the object and offset with why there is no
 * line ("no debug info in ..."). */
char *ravscope_site_detail(rav_trace *t, guint32 site);
/* What a breakpoint on this site's line is written as (FILE:LINE with the
 * file's full path; *ADDRESS when no line is known); NULL for site 0. */
char *ravscope_site_break_spec(rav_trace *t, guint32 site);
/* One symbol in words ("insert_after (list.c:41)" or object+offset). */
char *ravscope_symbol_label(const rav_trace_symbol *sy, gboolean full_path);

/* Lines of a source file around `line` (context lines each side): the text,
 * and the number of its first line.  FALSE with *error when the file
 * cannot be read (or is not text). */
gboolean ravscope_source_excerpt(const char *path, guint line, guint context, char **text, guint *first_line,
				 GError **error);

G_END_DECLS
