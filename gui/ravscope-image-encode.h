/* ravscope-image-encode.h - animated images from frames drawn with cairo:
 * animated PNG (APNG) and GIF, written frame by frame.
 *
 * The frames are opaque ARGB32 image surfaces of one size.  Both encoders
 * store only the rectangle that changed since the previous frame, which is
 * what makes a replay of a few hundred steps a small file: a step changes
 * a few cells.  APNG keeps every colour (text stays crisp); GIF, the format
 * slide programs play everywhere, has one 256-colour palette for the whole
 * animation, built from the first frame and the colours the heap picture
 * uses, every other colour mapped to the nearest entry.
 */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	RAVSCOPE_ANIM_APNG,
	RAVSCOPE_ANIM_GIF,
} RavscopeAnimFormat;

typedef struct _RavscopeAnimWriter RavscopeAnimWriter;

/* Open `path` for an animation of width x height frames shown for
 * frame_ms each, looping forever.  `palette_hint` (GIF: may be NULL) lists
 * colours (0xRRGGBB) the palette must hold. */
RavscopeAnimWriter *ravscope_anim_writer_new(RavscopeAnimFormat format, const char *path, int width, int height,
					     guint frame_ms, const guint32 *palette_hint, guint n_hint, GError **error);
/* Add a frame (an image surface of the writer's size). */
gboolean ravscope_anim_writer_add(RavscopeAnimWriter *w, cairo_surface_t *frame, GError **error);
/* Complete the file; FALSE (and the file removed) on error or without a
 * frame.  Frees the writer either way. */
gboolean ravscope_anim_writer_finish(RavscopeAnimWriter *w, GError **error);
/* Give up: remove the partial file and free the writer. */
void ravscope_anim_writer_abort(RavscopeAnimWriter *w);

G_END_DECLS
