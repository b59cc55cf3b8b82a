/* ravscope-lesson-player.h - plays a lesson in a window: travels the
 * playhead from step to step (the last stretch animated one operation at a
 * time), then stops, shows the step's narration and points at what it
 * talks about.  The window gives it the views it drives. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-contention.h"
#include "ravscope-document.h"
#include "ravscope-heap-view.h"
#include "ravscope-lesson.h"
#include "ravscope-narration.h"
#include "ravscope-playback.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_LESSON_PLAYER (ravscope_lesson_player_get_type())
G_DECLARE_FINAL_TYPE(RavscopeLessonPlayer, ravscope_lesson_player, RAVSCOPE, LESSON_PLAYER, GObject)

RavscopeLessonPlayer *ravscope_lesson_player_new(RavscopePlayback *playback, RavscopeHeapView *heap_view,
                                                 RavscopeNarration *narration,
                                                 RavscopeContention *contention);
/* Start `lesson` (taken) on `doc`, its trace, indexed and resolved: the
 * playhead goes to the first step. */
void ravscope_lesson_player_start(RavscopeLessonPlayer *self, RavscopeLesson *lesson, RavscopeDocument *doc);
/* End the lesson (the trace stays open); emits "finished". */
void ravscope_lesson_player_stop(RavscopeLessonPlayer *self);
/* Next: play on to the next step (while travelling: go straight to the
 * step).  Back: the previous step, at once. */
void ravscope_lesson_player_next(RavscopeLessonPlayer *self);
void ravscope_lesson_player_back(RavscopeLessonPlayer *self);

RavscopeLesson *ravscope_lesson_player_get_lesson(RavscopeLessonPlayer *self); /* NULL: none running */
/* The step shown (-1 before the first), and whether the playhead is still
 * travelling to it. */
int ravscope_lesson_player_get_step(RavscopeLessonPlayer *self);
gboolean ravscope_lesson_player_is_busy(RavscopeLessonPlayer *self);

/* Signals: "step-reached" (guint step): the playhead is at the step and
 * its narration and highlights are shown; "finished". */

G_END_DECLS
