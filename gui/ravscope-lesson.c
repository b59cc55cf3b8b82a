/* ravscope-lesson.c - reading, checking and placing a lesson file.
 *
 * The format (docs/lessons.md) is a small INI-like text a teacher writes
 * by hand: a [lesson] section, then [step] sections in order, "key =
 * value" lines, values continued on indented lines, '#' comments.  It is
 * parsed here rather than with GKeyFile because every error must name
 * the file and line, and because narration is long text that reads best
 * wrapped over several lines.  Resolving then turns each step's anchor
 * ("at = mark build the list", "then = move 2") into a playhead position
 * in the trace, through the marks and rav_trace_operation_at, so a step
 * is about a whole operation: a free is shown with its compaction.  Both
 * halves stay in this one file (about 800 lines): they share the error
 * wording and the step record, and a teacher's error is read next to the
 * rule that made it.
 */
#include "ravscope-lesson.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>

#include "rav-record.h"

G_DEFINE_QUARK(ravscope - lesson - error - quark, ravscope_lesson_error)

#define LESSON_MAX_BYTES (1 << 20) /* a lesson is text a person wrote */

static void show_clear(gpointer p)
{
	RavscopeLessonShow *s = p;
	g_free(s->arg);
	g_free(s->label);
}

static void step_free(gpointer p)
{
	RavscopeLessonStep *st = p;
	g_free(st->title);
	g_free(st->text);
	g_free(st->mark);
	g_free(st->thread);
	if (st->show)
		g_array_unref(st->show);
	g_free(st);
}

void ravscope_lesson_free(RavscopeLesson *l)
{
	if (!l)
		return;
	g_free(l->path);
	g_free(l->title);
	g_free(l->summary);
	g_free(l->trace);
	g_free(l->trace_path);
	g_ptr_array_unref(l->steps);
	g_free(l);
}

static gboolean fail(GError **error, RavscopeLessonErrorCode code, const char *path, guint line,
                     const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static gboolean fail(GError **error, RavscopeLessonErrorCode code, const char *path, guint line,
                     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line)
		g_set_error(error, RAVSCOPE_LESSON_ERROR, code, "%s:%u: %s", path, line, msg);
	else
		g_set_error(error, RAVSCOPE_LESSON_ERROR, code, "%s: %s", path, msg);
	return FALSE;
}

/* ---- values -------------------------------------------------------------------- */

/* Split "a b "c d"" into tokens (quotes group; no escapes). */
static GPtrArray *tokens(const char *s, gboolean *ok)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	*ok = TRUE;
	const char *p = s;
	while (*p) {
		while (g_ascii_isspace(*p))
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');
			if (!end) {
				*ok = FALSE;
				break;
			}
			g_ptr_array_add(out, g_strndup(p + 1, end - p - 1));
			p = end + 1;
		} else {
			const char *end = p;
			while (*end && !g_ascii_isspace(*end))
				end++;
			g_ptr_array_add(out, g_strndup(p, end - p));
			p = end;
		}
	}
	return out;
}

static gboolean parse_uint(const char *s, guint64 max, guint64 *out)
{
	if (!s || !g_ascii_isdigit(*s))
		return FALSE;
	char *end;
	errno = 0;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return FALSE;
	*out = v;
	return TRUE;
}

static gboolean parse_cell(const char *s, rav_loc *out)
{
	g_auto(GStrv) parts = g_strsplit_set(s, ".:", -1);
	guint64 page, cell;
	/* pages are 32-bit in a location (rav_loc_page), as ravtrace's --cell
	 * takes them: a larger number must not wrap to a page that exists */
	if (g_strv_length(parts) != 2 || !parse_uint(parts[0], UINT32_MAX, &page) ||
	    !parse_uint(parts[1], 0x3fff, &cell) || cell == 0)
		return FALSE;
	*out = rav_loc_make((uint32_t)page, (uint32_t)cell, 0);
	return TRUE;
}

static gboolean parse_at(RavscopeLessonStep *st, const char *path, guint line, const char *v, GError **error)
{
	st->at_line = line;
	st->mark_nth = 1;
	if (!strcmp(v, "start")) {
		st->at = RAVSCOPE_AT_START;
		return TRUE;
	}
	if (!strcmp(v, "end")) {
		st->at = RAVSCOPE_AT_END;
		return TRUE;
	}
	if (g_str_has_prefix(v, "event ") || g_str_has_prefix(v, "event\t")) {
		st->at = RAVSCOPE_AT_EVENT;
		g_autofree char *n = g_strstrip(g_strdup(v + 6));
		if (!parse_uint(n, G_MAXUINT64 - 1, &st->event))
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "'at = event N' needs an event index, not '%s'", n);
		return TRUE;
	}
	if (g_str_has_prefix(v, "mark ") || g_str_has_prefix(v, "mark\t")) {
		st->at = RAVSCOPE_AT_MARK;
		g_autofree char *text = g_strstrip(g_strdup(v + 5));
		/* A trailing " #N": the Nth mark with this text. */
		char *hash = strrchr(text, '#');
		if (hash && hash > text && g_ascii_isspace(hash[-1]) && hash[1]) {
			guint64 nth;
			if (!parse_uint(hash + 1, 1000000, &nth) || nth == 0)
				return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				            "'#%s' after the mark's text should be a count from 1", hash + 1);
			st->mark_nth = (guint)nth;
			*hash = 0;
			g_strchomp(text);
		}
		gsize n = strlen(text);
		if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
			text[n - 1] = 0;
			memmove(text, text + 1, n - 1);
		}
		if (!*text)
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "'at = mark' needs the mark's text");
		st->mark = g_strdup(text);
		return TRUE;
	}
	return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
	            "'at' is 'start', 'end', 'mark TEXT' (optionally '#N') or 'event N', not '%s'", v);
}

static gboolean parse_then(RavscopeLessonStep *st, const char *path, guint line, const char *v,
                           GError **error)
{
	gboolean ok;
	g_autoptr(GPtrArray) t = tokens(v, &ok);
	st->then_line = line;
	if (!ok || t->len < 1 || t->len > 2)
		return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
		            "'then' is an event kind and an optional count, e.g. 'then = move 2'");
	int kind = rav_event_kind_from_name(g_ptr_array_index(t, 0));
	if (kind < 0)
		return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
		            "'%s' is not an event kind (ravtrace dump --list-kinds lists them)",
		            (const char *)g_ptr_array_index(t, 0));
	guint64 nth = 1;
	if (t->len == 2 && (!parse_uint(g_ptr_array_index(t, 1), 1000000, &nth) || nth == 0))
		return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
		            "the count after '%s' should be a number from 1",
		            (const char *)g_ptr_array_index(t, 0));
	st->then_kind = kind;
	st->then_nth = (guint)nth;
	return TRUE;
}

static gboolean parse_show(RavscopeLessonStep *st, const char *path, guint line, const char *v,
                           GError **error)
{
	st->show_line = line;
	st->show = g_array_new(FALSE, TRUE, sizeof(RavscopeLessonShow));
	g_array_set_clear_func(st->show, show_clear);
	g_auto(GStrv) items = g_strsplit(v, ";", -1);
	for (char **it = items; *it; it++) {
		gboolean ok;
		g_autoptr(GPtrArray) t = tokens(*it, &ok);
		if (!ok)
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "a quote is not closed in '%s'", *it);
		if (t->len == 0)
			continue;
		const char *what = g_ptr_array_index(t, 0);
		RavscopeLessonShow s = {0};
		guint args = 0, max_args = 0;
		if (!strcmp(what, "none")) {
			if (t->len != 1 || st->show->len)
				return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				            "'none' stands alone");
			continue;
		} else if (!strcmp(what, "operation")) {
			s.kind = RAVSCOPE_SHOW_OPERATION;
		} else if (!strcmp(what, "cell")) {
			s.kind = RAVSCOPE_SHOW_CELL, args = 1, max_args = 2;
		} else if (!strcmp(what, "type")) {
			s.kind = RAVSCOPE_SHOW_TYPE, args = 1, max_args = 2;
		} else if (!strcmp(what, "thread")) {
			s.kind = RAVSCOPE_SHOW_THREAD, args = 1, max_args = 2;
		} else if (!strcmp(what, "pages")) {
			s.kind = RAVSCOPE_SHOW_PAGES, args = 1, max_args = 2;
		} else {
			return fail(
			    error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			    "'show' takes operation, cell PAGE.CELL, type NAME, thread NAME, pages NAME "
			    "or none (separated by ';'), not '%s'",
			    what);
		}
		if (t->len - 1 < args || t->len - 1 > MAX(args, max_args))
			return fail(
			    error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line, "'show = %s' takes %s", what,
			    args ? "a name (or PAGE.CELL) and an optional \"label\"" : "nothing more");
		if (args) {
			s.arg = g_strdup(g_ptr_array_index(t, 1));
			if (s.kind == RAVSCOPE_SHOW_CELL && !parse_cell(s.arg, &s.cell)) {
				g_free(s.arg);
				return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				            "'%s' is not a cell: write PAGE.CELL, e.g. 1.4 (page below 2^32, cell 1 to 16383)",
				            (const char *)g_ptr_array_index(t, 1));
			}
			if (t->len == 3)
				s.label = g_strdup(g_ptr_array_index(t, 2));
		}
		g_array_append_val(st->show, s);
	}
	return TRUE;
}

/* ---- the file ------------------------------------------------------------------------ */

typedef struct {
	const char *path;
	RavscopeLesson *lesson;
	RavscopeLessonStep *step; /* current [step], or NULL in [lesson] */
	gboolean in_lesson;
	GHashTable *seen; /* keys given in the current section */
	char *key;        /* the key whose value is being read */
	guint key_line;
	GString *value;
	GArray *value_lines; /* guint pairs: offset in value where a line starts, its line */
} Parser;

/* The line of the file that byte `at` of the value being read came from. */
static guint value_line(const Parser *p, gsize at)
{
	guint line = p->key_line;
	for (guint i = 0; p->value_lines && i + 1 < p->value_lines->len; i += 2)
		if (g_array_index(p->value_lines, guint, i) <= at)
			line = g_array_index(p->value_lines, guint, i + 1);
	return line;
}

/* Every "[words](glossary:ID)" in a narration names an entry of the
 * glossary (a wrong id would open the Glossary window at nothing).
 * `lead`: the bytes g_strstrip took from the front of the value. */
static gboolean check_links(const Parser *p, const char *text, gsize lead, GError **error)
{
	for (const char *q = strchr(text, '['); q; q = strchr(q + 1, '[')) {
		const char *close = strchr(q, ']');
		if (!close || close[1] != '(' || !strchr(close + 2, ')'))
			continue;
		const char *tend = strchr(close + 2, ')');
		g_autofree char *target = g_strndup(close + 2, tend - close - 2);
		if (!g_str_has_prefix(target, "glossary:") || rav_glossary_find(target + 9))
			continue;
		GString *ids = g_string_new(NULL);
		for (unsigned i = 0; i < rav_glossary_count(); i++)
			g_string_append_printf(ids, "%s%s", i ? ", " : "", rav_glossary_at(i)->id);
		g_autofree char *link = g_strndup(q, tend + 1 - q);
		gboolean r = fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, p->path, value_line(p, lead + (q - text)),
		                  "%s links to '%s', which is not a glossary entry (the ids: %s)", link, target + 9,
		                  ids->str);
		g_string_free(ids, TRUE);
		return r;
	}
	return TRUE;
}

static gboolean set_value(Parser *p, GError **error)
{
	if (!p->key)
		return TRUE;
	g_autofree char *key = p->key;
	p->key = NULL;
	gsize lead = 0;
	while (p->value->str[lead] && g_ascii_isspace(p->value->str[lead]))
		lead++;
	if (!strcmp(key, "text") && !p->in_lesson && !check_links(p, p->value->str + lead, lead, error)) {
		g_string_free(p->value, TRUE);
		p->value = NULL;
		return FALSE;
	}
	g_autofree char *v = g_strstrip(g_string_free(p->value, FALSE));
	p->value = NULL;
	const char *path = p->path;
	guint line = p->key_line;
	if (!*v)
		return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line, "'%s' has no value", key);
	if (p->in_lesson) {
		RavscopeLesson *l = p->lesson;
		if (!strcmp(key, "title")) {
			l->title = g_steal_pointer(&v);
		} else if (!strcmp(key, "summary")) {
			l->summary = g_steal_pointer(&v);
		} else if (!strcmp(key, "trace")) {
			if (strchr(v, '/') && !g_path_is_absolute(v) && strstr(v, ".."))
				return fail(
				    error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				    "'trace' names a file next to the lesson or among the demos, not '%s'",
				    v);
			l->trace = g_steal_pointer(&v);
			l->trace_line = line;
		} else if (!strcmp(key, "order")) {
			guint64 o;
			if (!parse_uint(v, 100000, &o))
				return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				            "'order' is a number (lessons are listed by it), not '%s'", v);
			l->order = (int)o;
		} else {
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "[lesson] has no key '%s' (it has title, summary, trace, order)", key);
		}
		return TRUE;
	}
	RavscopeLessonStep *st = p->step;
	if (!strcmp(key, "title")) {
		st->title = g_steal_pointer(&v);
	} else if (!strcmp(key, "text")) {
		st->text = g_steal_pointer(&v);
	} else if (!strcmp(key, "at")) {
		return parse_at(st, path, line, v, error);
	} else if (!strcmp(key, "then")) {
		return parse_then(st, path, line, v, error);
	} else if (!strcmp(key, "thread")) {
		st->thread = g_steal_pointer(&v);
		st->thread_line = line;
	} else if (!strcmp(key, "show")) {
		return parse_show(st, path, line, v, error);
	} else if (!strcmp(key, "zoom")) {
		if (!strcmp(v, "keep"))
			st->zoom = RAVSCOPE_ZOOM_KEEP;
		else if (!strcmp(v, "fit"))
			st->zoom = RAVSCOPE_ZOOM_FIT;
		else if (!strcmp(v, "operation"))
			st->zoom = RAVSCOPE_ZOOM_OPERATION;
		else
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "'zoom' is keep, fit or operation, not '%s'", v);
	} else if (!strcmp(key, "contention")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "'contention' is on or off, not '%s'", v);
		st->contention = !strcmp(v, "on");
	} else if (!strcmp(key, "links")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			            "'links' is on or off, not '%s'", v);
		st->links = !strcmp(v, "on");
		st->links_line = line;
	} else {
		return fail(
		    error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
		    "[step] has no key '%s' (it has at, then, thread, text, title, show, zoom, contention, links)",
		    key);
	}
	return TRUE;
}

static gboolean end_section(Parser *p, GError **error)
{
	if (!set_value(p, error))
		return FALSE;
	if (p->step) {
		RavscopeLessonStep *st = p->step;
		if (!g_hash_table_contains(p->seen, "at"))
			return fail(
			    error, RAVSCOPE_LESSON_ERROR_MISSING, p->path, st->line,
			    "this step has no 'at' (where in the trace it is: start, mark TEXT, ...)");
		if (!st->text)
			return fail(error, RAVSCOPE_LESSON_ERROR_MISSING, p->path, st->line,
			            "this step has no 'text' (what to tell the class)");
		if (st->thread && st->then_kind < 0)
			return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, p->path, st->thread_line,
			            "'thread' says whose events 'then' counts, and this step has no 'then'");
		if (st->links && st->show) {
			gboolean cells = FALSE;
			for (guint i = 0; i < st->show->len; i++) {
				RavscopeShowKind k = g_array_index(st->show, RavscopeLessonShow, i).kind;
				cells |= k == RAVSCOPE_SHOW_CELL || k == RAVSCOPE_SHOW_TYPE || k == RAVSCOPE_SHOW_OPERATION;
			}
			if (!cells)
				return fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, p->path, st->links_line,
				            "'links = on' draws the references out of the cells the step shows, and its "
				            "'show' names no cells (show = cell, type or operation)");
		}
	}
	g_hash_table_remove_all(p->seen);
	return TRUE;
}

static gboolean blank(const char *s)
{
	for (; *s; s++)
		if (!g_ascii_isspace(*s))
			return FALSE;
	return TRUE;
}

RavscopeLesson *ravscope_lesson_parse(const char *path, const char *text, gsize len, GError **error)
{
	if (len >= 8 && memcmp(text, "RAVTRACE", 8) == 0) {
		/* the trace given where its lesson goes ("not UTF-8 text" said
		 * nothing of what to do) */
		fail(error, RAVSCOPE_LESSON_ERROR_READ, path, 0,
		     "this is a trace, not a lesson: 'ravscope %s' opens it; a lesson is a text file that "
		     "names its trace (docs/lessons.md)", path);
		return NULL;
	}
	if (!g_utf8_validate(text, (gssize)len, NULL)) {
		fail(error, RAVSCOPE_LESSON_ERROR_READ, path, 0, "the file is not UTF-8 text");
		return NULL;
	}
	if (memchr(text, 0, len)) {
		fail(error, RAVSCOPE_LESSON_ERROR_READ, path, 0,
		     "the file holds a NUL byte: it is not a lesson");
		return NULL;
	}
	RavscopeLesson *l = g_new0(RavscopeLesson, 1);
	l->path = g_strdup(path);
	l->order = 1000;
	l->steps = g_ptr_array_new_with_free_func(step_free);
	Parser p = {
	    .path = path, .lesson = l, .seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	    .value_lines = g_array_new(FALSE, FALSE, sizeof(guint))};
	g_autofree char *copy = g_strndup(text, len);
	char **lines = g_strsplit(copy, "\n", -1);
	gboolean ok = TRUE, have_lesson = FALSE;
	guint pending_blank = 0;
	for (guint i = 0; lines[i] && ok; i++) {
		guint line = i + 1;
		char *s = lines[i];
		gsize n = strlen(s);
		if (n && s[n - 1] == '\r')
			s[--n] = 0;
		if (blank(s)) {
			pending_blank++;
			continue;
		}
		const char *t = s;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t == '#') /* comments, also inside a continued value */
			continue;
		if (t != s) {
			/* An indented line continues the value being read. */
			if (!p.key) {
				ok = fail(
				    error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				    "an indented line continues a value, and there is none to continue here");
				break;
			}
			g_string_append(p.value, pending_blank ? "\n\n" : " ");
			guint at[2] = {(guint)p.value->len, line};
			g_array_append_vals(p.value_lines, at, 2);
			g_string_append(p.value, g_strstrip(s));
			pending_blank = 0;
			continue;
		}
		pending_blank = 0;
		if (*t == '[') {
			char *close = strchr(t, ']');
			if (!close || !blank(close + 1)) {
				ok = fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				          "a section header is [lesson] or [step]");
				break;
			}
			g_autofree char *name = g_strstrip(g_strndup(t + 1, close - t - 1));
			if (!(ok = end_section(&p, error)))
				break;
			if (!strcmp(name, "lesson")) {
				if (have_lesson || l->steps->len) {
					ok = fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
					          have_lesson
					              ? "a second [lesson] section (a file holds one lesson)"
					              : "[lesson] comes first, before the steps");
					break;
				}
				have_lesson = TRUE;
				p.in_lesson = TRUE;
				p.step = NULL;
			} else if (!strcmp(name, "step")) {
				if (!have_lesson) {
					ok = fail(error, RAVSCOPE_LESSON_ERROR_MISSING, path, line,
					          "a [step] before the [lesson] section");
					break;
				}
				p.in_lesson = FALSE;
				p.step = g_new0(RavscopeLessonStep, 1);
				p.step->line = line;
				p.step->then_kind = -1;
				p.step->contention = -1;
				g_ptr_array_add(l->steps, p.step);
			} else {
				ok = fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
				          "unknown section [%s] (a lesson has [lesson] and [step] sections)",
				          name);
				break;
			}
			continue;
		}
		/* key = value */
		const char *eq = strchr(t, '=');
		if (!eq) {
			ok = fail(
			    error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			    "expected 'key = value', a [section], a '#' comment or an indented continuation");
			break;
		}
		g_autofree char *key = g_strstrip(g_strndup(t, eq - t));
		gboolean key_ok = *key != 0;
		for (const char *k = key; *k; k++)
			key_ok = key_ok && (g_ascii_islower(*k) || *k == '-');
		if (!key_ok) {
			ok = fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			          "'%s' is not a key (keys are lowercase words)", key);
			break;
		}
		if (!have_lesson) {
			ok = fail(error, RAVSCOPE_LESSON_ERROR_MISSING, path, line,
			          "'%s' before any section: the file starts with [lesson]", key);
			break;
		}
		if (!(ok = set_value(&p, error)))
			break;
		if (g_hash_table_contains(p.seen, key)) {
			ok = fail(error, RAVSCOPE_LESSON_ERROR_SYNTAX, path, line,
			          "'%s' is given twice in this section", key);
			break;
		}
		g_hash_table_add(p.seen, g_strdup(key));
		p.key = g_steal_pointer(&key);
		p.key_line = line;
		p.value = g_string_new(eq + 1);
		g_array_set_size(p.value_lines, 0);
	}
	if (ok)
		ok = end_section(&p, error);
	if (p.value)
		g_string_free(p.value, TRUE);
	g_free(p.key);
	g_hash_table_unref(p.seen);
	g_array_unref(p.value_lines);
	g_strfreev(lines);
	if (ok && !have_lesson)
		ok = fail(error, RAVSCOPE_LESSON_ERROR_MISSING, path, 0,
		          "no [lesson] section: this is not a lesson file");
	if (ok && !l->title)
		ok = fail(error, RAVSCOPE_LESSON_ERROR_MISSING, path, 1,
		          "the [lesson] section has no 'title'");
	if (ok && !l->trace)
		ok = fail(error, RAVSCOPE_LESSON_ERROR_MISSING, path, 1,
		          "the [lesson] section has no 'trace' (the recording the lesson plays)");
	if (ok && l->steps->len == 0)
		ok = fail(error, RAVSCOPE_LESSON_ERROR_MISSING, path, 0, "the lesson has no [step]");
	if (!ok) {
		ravscope_lesson_free(l);
		return NULL;
	}
	return l;
}

RavscopeLesson *ravscope_lesson_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	GError *e = NULL;
	GStatBuf st;
	if (g_stat(path, &st) == 0 && st.st_size > LESSON_MAX_BYTES) {
		fail(error, RAVSCOPE_LESSON_ERROR_READ, path, 0,
		     "%lld bytes: too big for a lesson (at most %d)", (long long)st.st_size,
		     LESSON_MAX_BYTES);
		return NULL;
	}
	if (!g_file_get_contents(path, &text, &len, &e)) {
		fail(error, RAVSCOPE_LESSON_ERROR_READ, path, 0, "%s", e->message);
		g_error_free(e);
		return NULL;
	}
	return ravscope_lesson_parse(path, text, len, error);
}

/* ---- the trace ------------------------------------------------------------------------- */

gboolean ravscope_lesson_find_trace(RavscopeLesson *l, const char *const *dirs, GError **error)
{
	g_clear_pointer(&l->trace_path, g_free);
	if (g_path_is_absolute(l->trace)) {
		if (g_file_test(l->trace, G_FILE_TEST_IS_REGULAR))
			l->trace_path = g_strdup(l->trace);
	} else {
		g_autofree char *here = g_path_get_dirname(l->path);
		g_autofree char *near = g_build_filename(here, l->trace, NULL);
		if (g_file_test(near, G_FILE_TEST_IS_REGULAR))
			l->trace_path = g_steal_pointer(&near);
		for (guint i = 0; dirs && dirs[i] && !l->trace_path; i++) {
			g_autofree char *p = g_build_filename(dirs[i], l->trace, NULL);
			if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
				l->trace_path = g_steal_pointer(&p);
		}
	}
	if (!l->trace_path)
		return fail(error, RAVSCOPE_LESSON_ERROR_TRACE, l->path, l->trace_line,
		            "the trace '%s' is neither next to the lesson nor among the demo traces",
		            l->trace);
	/* Absolute, as a document names its file once opened. */
	char *abs = g_canonicalize_filename(l->trace_path, NULL);
	g_free(l->trace_path);
	l->trace_path = abs;
	return TRUE;
}

static gboolean thread_by_name(rav_trace *t, const char *name, guint32 *heap_id)
{
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread th;
		if (rav_trace_thread_at(t, i, &th) && th.kind == RAV_HEAP_THREAD && !strcmp(th.name, name)) {
			*heap_id = th.heap_id;
			return TRUE;
		}
	}
	return FALSE;
}

static char *thread_names(rav_trace *t)
{
	GString *s = g_string_new(NULL);
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread th;
		if (rav_trace_thread_at(t, i, &th) && th.kind == RAV_HEAP_THREAD && th.name[0])
			g_string_append_printf(s, "%s%s", s->len ? ", " : "", th.name);
	}
	return g_string_free(s, FALSE);
}

static gboolean type_by_name(rav_trace *t, const char *name)
{
	for (unsigned i = 0; i < rav_trace_type_count(t); i++) {
		rav_trace_type ty;
		if (rav_trace_type_at(t, i, &ty) && !strcmp(ty.name, name))
			return TRUE;
	}
	return FALSE;
}

static char *mark_names(rav_trace *t)
{
	GString *s = g_string_new(NULL);
	unsigned n = rav_trace_mark_count(t);
	for (unsigned i = 0; i < n && i < 12; i++) {
		rav_trace_mark mk;
		if (rav_trace_mark_at(t, i, &mk))
			g_string_append_printf(s, "%s\"%s\"", s->len ? ", " : "", mk.text);
	}
	if (n > 12)
		g_string_append_printf(s, " and %u more", n - 12);
	if (!n)
		g_string_append(s, "none");
	return g_string_free(s, FALSE);
}

static gboolean resolve_step(RavscopeLesson *l, RavscopeLessonStep *st, rav_trace *t, rav_state *state,
                             guint64 events, GError **error)
{
	const char *path = l->path;
	guint64 from = 0; /* where `then` starts counting */
	int64_t thread = -1;
	st->has_op = FALSE;
	switch (st->at) {
	case RAVSCOPE_AT_START:
		st->target = 0;
		break;
	case RAVSCOPE_AT_END:
		st->target = events;
		from = events;
		break;
	case RAVSCOPE_AT_EVENT:
		if (st->event >= events)
			return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->at_line,
			            "event %" G_GUINT64_FORMAT " is past the end of %s (%" G_GUINT64_FORMAT
			            " events)",
			            st->event, l->trace, events);
		if (st->then_kind < 0) {
			if (!rav_trace_operation_at(t, st->event, &st->op))
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->at_line,
				            "the operation of event %" G_GUINT64_FORMAT
				            " cannot be worked out",
				            st->event);
			st->has_op = TRUE;
			st->target = st->op.last + 1;
		}
		from = st->event + 1;
		break;
	case RAVSCOPE_AT_MARK: {
		guint seen = 0;
		gboolean found = FALSE;
		for (unsigned i = 0; i < rav_trace_mark_count(t) && !found; i++) {
			rav_trace_mark mk;
			if (rav_trace_mark_at(t, i, &mk) && !strcmp(mk.text, st->mark) &&
			    ++seen == st->mark_nth) {
				found = TRUE;
				from = mk.event + 1;
				thread = mk.thread;
				/* The mark is applied, and the clock readings after it. */
				rav_operation op;
				st->target =
				    rav_trace_operation_at(t, mk.event, &op) ? op.last + 1 : mk.event + 1;
			}
		}
		if (!found) {
			g_autofree char *names = mark_names(t);
			if (seen)
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->at_line,
				            "%s has %u mark%s \"%s\", not %u", l->trace, seen,
				            seen == 1 ? "" : "s", st->mark, st->mark_nth);
			return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->at_line,
			            "%s has no mark \"%s\" (its marks: %s)", l->trace, st->mark, names);
		}
		break;
	}
	}
	if (st->thread) {
		guint32 id;
		if (!thread_by_name(t, st->thread, &id)) {
			g_autofree char *names = thread_names(t);
			return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->thread_line,
			            "%s has no thread named \"%s\" (its threads: %s)", l->trace, st->thread,
			            names);
		}
		thread = id;
	}
	if (st->then_kind >= 0) {
		rav_event_filter f = {.kinds = (uint64_t)1 << st->then_kind, .thread = thread};
		int64_t at = (int64_t)from - 1;
		for (guint k = 0; k < st->then_nth; k++) {
			at = rav_trace_find_next(t, (guint64)(at + 1), &f);
			if (at < 0) {
				g_autofree char *who = NULL;
				if (thread >= 0) {
					rav_trace_thread th;
					who = rav_trace_thread_by_id(t, (uint32_t)thread, &th) && th.name[0]
					          ? g_strdup_printf(" of thread %s", th.name)
					          : g_strdup_printf(" of heap %" G_GINT64_FORMAT, thread);
				}
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->then_line,
				            "after this step's 'at' there %s only %u %s event%s%s, not %u",
				            k == 1 ? "is" : "are", k,
				            rav_event_kind_name((unsigned)st->then_kind), k == 1 ? "" : "s",
				            who ? who : "", st->then_nth);
			}
		}
		if (!rav_trace_operation_at(t, (guint64)at, &st->op))
			return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->then_line,
			            "the operation of event %" G_GINT64_FORMAT " cannot be worked out", at);
		st->has_op = TRUE;
		st->target = st->op.last + 1;
	}
	/* Highlights name things that exist (cells: at this step). */
	for (guint i = 0; st->show && i < st->show->len; i++) {
		RavscopeLessonShow *s = &g_array_index(st->show, RavscopeLessonShow, i);
		guint32 id;
		switch (s->kind) {
		case RAVSCOPE_SHOW_OPERATION:
			if (!st->has_op)
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->show_line,
				            "'show = operation' needs a step about an operation ('then = "
				            "KIND' or 'at = "
				            "event N')");
			break;
		case RAVSCOPE_SHOW_THREAD:
		case RAVSCOPE_SHOW_PAGES:
			if (!thread_by_name(t, s->arg, &id)) {
				g_autofree char *names = thread_names(t);
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->show_line,
				            "%s has no thread named \"%s\" (its threads: %s)", l->trace,
				            s->arg, names);
			}
			break;
		case RAVSCOPE_SHOW_TYPE:
			if (!type_by_name(t, s->arg))
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->show_line,
				            "%s defines no type \"%s\"", l->trace, s->arg);
			break;
		case RAVSCOPE_SHOW_CELL: {
			rav_trace_error err;
			rav_state_cell c;
			if (rav_state_seek(state, st->target, &err) != 0)
				return fail(error, RAVSCOPE_LESSON_ERROR_TRACE, path, st->show_line, "%s",
				            err.message);
			if (!rav_state_cell_at(state, rav_loc_page(s->cell), rav_loc_cell(s->cell), &c) ||
			    c.state != RAV_CELL_LIVE)
				return fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->show_line,
				            "cell %s holds no raviolo at this step (event %" G_GUINT64_FORMAT
				            ")",
				            s->arg, st->target);
			break;
		}
		}
	}
	if (st->zoom == RAVSCOPE_ZOOM_OPERATION && !st->has_op)
		return fail(
		    error, RAVSCOPE_LESSON_ERROR_ANCHOR, path, st->line,
		    "'zoom = operation' needs a step about an operation ('then = KIND' or 'at = event N')");
	return TRUE;
}

gboolean ravscope_lesson_resolve(RavscopeLesson *l, rav_trace *t, GError **error)
{
	guint64 events = rav_trace_indexed_events(t);
	rav_state *state = rav_state_new(t);
	if (!state)
		return fail(error, RAVSCOPE_LESSON_ERROR_TRACE, l->path, 0, "out of memory");
	gboolean ok = TRUE;
	guint64 prev = 0;
	guint prev_line = 0;
	const RavscopeLessonStep *prev_st = NULL;
	for (guint i = 0; i < l->steps->len && ok; i++) {
		RavscopeLessonStep *st = g_ptr_array_index(l->steps, i);
		ok = resolve_step(l, st, t, state, events, error);
		/* When the previous step got there by its 'then', that line
		 * is the likelier mistake (a count too large reaches past the
		 * events the author meant): say where it took the step. */
		g_autofree char *why = prev_st && prev_st->then_kind >= 0
		                           ? g_strdup_printf(", where 'then = %s %u' on line %u took it",
		                                             rav_event_kind_name((unsigned)prev_st->then_kind),
		                                             prev_st->then_nth, prev_st->then_line)
		                           : g_strdup("");
		if (ok && st->target < prev)
			ok = fail(error, RAVSCOPE_LESSON_ERROR_ANCHOR, l->path, st->line,
			          "this step's place (event %" G_GUINT64_FORMAT
			          ") comes before the previous step's "
			          "(line %u, event %" G_GUINT64_FORMAT "%s): steps go forward through the trace",
			          st->target, prev_line, prev, why);
		prev = st->target;
		prev_line = st->line;
		prev_st = st;
	}
	rav_state_free(state);
	return ok;
}

gboolean ravscope_lesson_check(RavscopeLesson *l, const char *const *dirs, GError **error)
{
	if (!ravscope_lesson_find_trace(l, dirs, error))
		return FALSE;
	rav_trace_error err;
	rav_trace *t = rav_trace_open(l->trace_path, &err);
	if (!t)
		return fail(error, RAVSCOPE_LESSON_ERROR_TRACE, l->path, l->trace_line, "%s: %s",
		            l->trace_path, err.message);
	gboolean ok = rav_trace_index(t, NULL, NULL, &err) == 0;
	if (!ok)
		fail(error, RAVSCOPE_LESSON_ERROR_TRACE, l->path, l->trace_line, "%s: %s", l->trace_path,
		     err.message);
	else
		ok = ravscope_lesson_resolve(l, t, error);
	rav_trace_close(t);
	return ok;
}
