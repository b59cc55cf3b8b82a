/* ravscope-explain.h - words for a class: the glossary's terms as links in
 * any text, what a link does when clicked, and what an operation points
 * at on the heap.  The words themselves come from libravtrace
 * (rav_event_explain, rav_operation_describe, rav_glossary_*), so the
 * viewer and `ravtrace dump --explain/--ops` say the same thing.
 */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"
#include "ravscope-heapdraw.h"

G_BEGIN_DECLS

/* Pango markup for plain `text`: the first mention of each glossary term
 * becomes a link "glossary:ID"; with `explicit_links`, "[words](target)"
 * becomes a link to target (glossary:ID, action:NAME, or a web address)
 * and "*words*" is emphasised (lesson narration).  skip_id: a term not to
 * link (the entry being shown).  Free with g_free. */
char *ravscope_text_markup(const char *text, gboolean explicit_links, const char *skip_id);

/* What a clicked link in a label does: "glossary:ID" opens the glossary at
 * that term, "action:NAME" activates win.NAME from `widget`; other URIs are
 * left to GTK (returns FALSE).  Connect to GtkLabel::activate-link. */
gboolean ravscope_activate_link(GtkLabel *label, const char *uri, gpointer user_data);

/* One line saying what the operation did ("3.32 (node) freed → ..."). */
char *ravscope_operation_describe(RavscopeDocument *doc, const rav_operation *op);
/* The cells and lanes the operation touched, labelled, with its sentence
 * as caption (forward: just done; back: just undone). */
RavscopeSpotlight *ravscope_operation_spotlight(RavscopeDocument *doc, const rav_operation *op,
                                                gboolean forward);
/* The words the fix-ups of the operation's first move rewrote (the
 * referrers and back-links that named the moved cell), at most `max`, in
 * the order recorded; returns how many. */
guint ravscope_operation_fixed_words(RavscopeDocument *doc, const rav_operation *op, rav_loc *out, guint max);

G_END_DECLS
