/* ravscope-narration.h - the narration strip of a lesson: the lesson's
 * title, "step k of n", the step's text in large type with the glossary's
 * terms as links, and Back / Next.  It shows; the lesson player decides. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_NARRATION (ravscope_narration_get_type())
G_DECLARE_FINAL_TYPE(RavscopeNarration, ravscope_narration, RAVSCOPE, NARRATION, GtkWidget)

void ravscope_narration_set_lesson_title(RavscopeNarration *self, const char *title);
/* Step k (0-based) of n: its title (may be NULL) and text (lesson markup:
 * *emphasis*, [words](glossary:ID) / (action:NAME); glossary terms link
 * by themselves). */
void ravscope_narration_set_step(RavscopeNarration *self, guint k, guint n, const char *title,
                                 const char *text);
/* While the playhead travels to the step: the text dims, Next skips to it. */
void ravscope_narration_set_busy(RavscopeNarration *self, gboolean busy);
/* At most this many lines of narration (-1: all), the end elided and the
 * whole text in its tooltip: on a short window a long step keeps the
 * heap and the transport bar on screen. */
void ravscope_narration_set_max_lines(RavscopeNarration *self, int lines);
/* Whether the narration shown is cut short (tests). */
gboolean ravscope_narration_is_cut(RavscopeNarration *self);
/* The narration as shown, without markup (tests). */
const char *ravscope_narration_get_text(RavscopeNarration *self);

/* Signals: "next", "back", "close" (no arguments). */

G_END_DECLS
