/* ravscope-image-encode.c - animated PNG and GIF writers (see the header).
 *
 * Both formats are written here rather than through a library because the
 * libraries Debian ships do not do it: libpng has no APNG support, and
 * giflib leaves colour quantization to the caller.  What is written follows
 * the specifications closely and nothing more: APNG 1.0 (acTL, fcTL, fdAT
 * chunks next to a plain PNG's IHDR, IDAT, IEND, so a viewer without APNG
 * support shows the first frame) and GIF89a (a global 256-colour table, the
 * NETSCAPE2.0 looping extension, a graphic control extension per frame and
 * LZW-coded image data).  zlib does the PNG compression and the checksums.
 *
 * Every frame after the first stores only the smallest rectangle holding
 * the pixels that changed, drawn over the previous frame (APNG: dispose
 * none, blend source; GIF: do not dispose).
 */
#include "ravscope-image-encode.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct _RavscopeAnimWriter {
	RavscopeAnimFormat format;
	char *path;
	FILE *f;
	int width, height;
	guint frame_ms;
	guint frames;
	guint32 *prev; /* the previous frame's pixels (0xRRGGBB), width * height */
	/* APNG */
	long actl_offset;
	guint32 sequence;
	/* GIF */
	guint32 palette[256];
	guint palette_len;
	guint16 *nearest; /* RGB555 -> palette index of the nearest colour, 0xffff: not known yet */
	guint32 exact_key[1024]; /* palette colours | 1 << 24, by hash (0: empty) */
	guint8 exact_index[1024];
	guint32 *hint;
	guint n_hint;
};

static gboolean io_error(RavscopeAnimWriter *w, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s: %s", w->path, g_strerror(errno));
	return FALSE;
}

static void free_writer(RavscopeAnimWriter *w)
{
	if (w->f)
		fclose(w->f);
	g_free(w->path);
	g_free(w->prev);
	g_free(w->nearest);
	g_free(w->hint);
	g_free(w);
}

void ravscope_anim_writer_abort(RavscopeAnimWriter *w)
{
	if (!w)
		return;
	if (w->f) {
		fclose(w->f);
		w->f = NULL;
	}
	g_unlink(w->path);
	free_writer(w);
}

/* The frame's pixels as 0xRRGGBB (the surface is opaque ARGB32). */
static guint32 pixel(const guint8 *data, int stride, int x, int y)
{
	return ((const guint32 *)(data + (size_t)y * stride))[x] & 0xffffff;
}

/* The smallest rectangle holding every pixel that differs from the previous
 * frame (the whole frame for the first one).  FALSE: nothing changed. */
static gboolean changed_rect(RavscopeAnimWriter *w, const guint8 *data, int stride, int *x0, int *y0, int *x1, int *y1)
{
	if (!w->frames) {
		*x0 = *y0 = 0;
		*x1 = w->width;
		*y1 = w->height;
		return TRUE;
	}
	int minx = w->width, miny = w->height, maxx = -1, maxy = -1;
	for (int y = 0; y < w->height; y++) {
		const guint32 *row = (const guint32 *)(data + (size_t)y * stride);
		const guint32 *old = w->prev + (size_t)y * w->width;
		for (int x = 0; x < w->width; x++) {
			if ((row[x] & 0xffffff) != old[x]) {
				minx = MIN(minx, x);
				maxx = MAX(maxx, x);
				miny = MIN(miny, y);
				maxy = y;
			}
		}
	}
	if (maxx < 0)
		return FALSE;
	*x0 = minx;
	*y0 = miny;
	*x1 = maxx + 1;
	*y1 = maxy + 1;
	return TRUE;
}

static void remember(RavscopeAnimWriter *w, const guint8 *data, int stride)
{
	for (int y = 0; y < w->height; y++)
		for (int x = 0; x < w->width; x++)
			w->prev[(size_t)y * w->width + x] = pixel(data, stride, x, y);
}

/* ---- APNG --------------------------------------------------------------------- */

static void be32(guint8 *p, guint32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void be16(guint8 *p, guint16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static gboolean png_chunk(RavscopeAnimWriter *w, const char *type, const guint8 *data, guint32 len, GError **error)
{
	guint8 head[8];
	be32(head, len);
	memcpy(head + 4, type, 4);
	uLong crc = crc32(0, (const Bytef *)type, 4);
	if (len)
		crc = crc32(crc, data, len);
	guint8 tail[4];
	be32(tail, (guint32)crc);
	if (fwrite(head, 1, 8, w->f) != 8 || (len && fwrite(data, 1, len, w->f) != len) || fwrite(tail, 1, 4, w->f) != 4)
		return io_error(w, error);
	return TRUE;
}

static gboolean apng_begin(RavscopeAnimWriter *w, GError **error)
{
	static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	if (fwrite(sig, 1, 8, w->f) != 8)
		return io_error(w, error);
	guint8 ihdr[13];
	be32(ihdr, (guint32)w->width);
	be32(ihdr + 4, (guint32)w->height);
	ihdr[8] = 8;  /* bits per sample */
	ihdr[9] = 2;  /* RGB */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering */
	ihdr[12] = 0; /* no interlace */
	if (!png_chunk(w, "IHDR", ihdr, 13, error))
		return FALSE;
	/* Frame count unknown yet: written at the end (acTL comes before
	 * the image data, so its place is remembered). */
	w->actl_offset = ftell(w->f);
	guint8 actl[8] = { 0 };
	return png_chunk(w, "acTL", actl, 8, error);
}

static gboolean apng_frame(RavscopeAnimWriter *w, const guint8 *data, int stride, int x0, int y0, int x1, int y1,
			   GError **error)
{
	int rw = x1 - x0, rh = y1 - y0;
	guint8 fctl[26];
	be32(fctl, w->sequence++);
	be32(fctl + 4, (guint32)rw);
	be32(fctl + 8, (guint32)rh);
	be32(fctl + 12, (guint32)x0);
	be32(fctl + 16, (guint32)y0);
	be16(fctl + 20, (guint16)MIN(w->frame_ms, 65535));
	be16(fctl + 22, 1000);
	fctl[24] = 0; /* dispose: none (the next frame draws over this one) */
	fctl[25] = 0; /* blend: source (the rectangle replaces what was there) */
	if (!png_chunk(w, "fcTL", fctl, 26, error))
		return FALSE;
	/* Scanlines: a filter byte (0: none; deflate does well on flat
	 * colours) and the RGB samples. */
	gsize raw_len = (gsize)rh * (1 + 3 * (gsize)rw);
	guint8 *raw = g_malloc(raw_len);
	guint8 *p = raw;
	for (int y = y0; y < y1; y++) {
		*p++ = 0;
		for (int x = x0; x < x1; x++) {
			guint32 v = pixel(data, stride, x, y);
			*p++ = v >> 16;
			*p++ = v >> 8;
			*p++ = v;
		}
	}
	uLongf zlen = compressBound(raw_len);
	guint8 *z = g_malloc(4 + zlen);
	int zrc = compress2(z + 4, &zlen, raw, raw_len, 6);
	g_free(raw);
	if (zrc != Z_OK) {
		g_free(z);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot compress a frame of %s (zlib error %d)", w->path, zrc);
		return FALSE;
	}
	gboolean ok;
	if (w->frames == 0) {
		ok = png_chunk(w, "IDAT", z + 4, (guint32)zlen, error);
	} else {
		be32(z, w->sequence++);
		ok = png_chunk(w, "fdAT", z, (guint32)zlen + 4, error);
	}
	g_free(z);
	return ok;
}

static gboolean apng_end(RavscopeAnimWriter *w, GError **error)
{
	if (!png_chunk(w, "IEND", NULL, 0, error))
		return FALSE;
	guint8 actl[8];
	be32(actl, w->frames);
	be32(actl + 4, 0); /* loop forever */
	uLong crc = crc32(crc32(0, (const Bytef *)"acTL", 4), actl, 8);
	guint8 c[4];
	be32(c, (guint32)crc);
	if (fseek(w->f, w->actl_offset + 8, SEEK_SET) != 0 || fwrite(actl, 1, 8, w->f) != 8 || fwrite(c, 1, 4, w->f) != 4)
		return io_error(w, error);
	return TRUE;
}

/* ---- GIF ---------------------------------------------------------------------- */

static int rgb_distance(guint32 a, guint32 b)
{
	int dr = (int)((a >> 16) & 255) - (int)((b >> 16) & 255);
	int dg = (int)((a >> 8) & 255) - (int)((b >> 8) & 255);
	int db = (int)(a & 255) - (int)(b & 255);
	/* green weighs most, as the eye sees it */
	return 3 * dr * dr + 4 * dg * dg + 2 * db * db;
}

static guint16 rgb555(guint32 v)
{
	return (guint16)(((v >> 19) & 31) << 10 | ((v >> 11) & 31) << 5 | ((v >> 3) & 31));
}

static void palette_add(RavscopeAnimWriter *w, guint32 colour, int min_distance)
{
	if (w->palette_len >= 256)
		return;
	for (guint i = 0; i < w->palette_len; i++)
		if (rgb_distance(w->palette[i], colour) <= min_distance)
			return;
	w->palette[w->palette_len++] = colour;
}

typedef struct {
	guint32 colour, count;
} Popular;

static int cmp_popular(gconstpointer a, gconstpointer b)
{
	const Popular *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : x->colour < y->colour ? -1 : x->colour > y->colour;
}

/* One palette for the animation: the colours the caller names, the first
 * frame's flat colours (any covering a thousandth of it), then its other
 * colours by frequency, each at some distance from those taken already, so
 * antialiased text does not crowd out the rest. */
static void gif_palette(RavscopeAnimWriter *w, const guint8 *data, int stride)
{
	for (guint i = 0; i < w->n_hint; i++)
		palette_add(w, w->hint[i], 0);
	GHashTable *counts = g_hash_table_new(NULL, NULL);
	for (int y = 0; y < w->height; y++)
		for (int x = 0; x < w->width; x++) {
			gpointer k = GUINT_TO_POINTER(pixel(data, stride, x, y) | 1u << 24);
			g_hash_table_insert(counts, k, GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(counts, k)) + 1));
		}
	GArray *pop = g_array_sized_new(FALSE, FALSE, sizeof(Popular), g_hash_table_size(counts));
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, counts);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		Popular p = { GPOINTER_TO_UINT(k) & 0xffffff, GPOINTER_TO_UINT(v) };
		g_array_append_val(pop, p);
	}
	g_hash_table_unref(counts);
	g_array_sort(pop, cmp_popular);
	guint32 flat = MAX(1, (guint32)((guint64)w->width * w->height / 1000));
	for (guint i = 0; i < pop->len && g_array_index(pop, Popular, i).count >= flat; i++)
		palette_add(w, g_array_index(pop, Popular, i).colour, 0);
	for (int pass = 0; pass < 2; pass++)
		for (guint i = 0; i < pop->len && w->palette_len < 256; i++)
			palette_add(w, g_array_index(pop, Popular, i).colour, pass ? 0 : 24 * 24);
	g_array_unref(pop);
	guint used = w->palette_len;
	while (w->palette_len < 256)
		w->palette[w->palette_len++] = 0; /* unused entries */
	/* Colours of the palette map to themselves (two may share a 15-bit
	 * bucket); others to the nearest entry, looked up once per bucket. */
	for (guint i = 0; i < used; i++) {
		guint h = (w->palette[i] * 2654435761u) >> 22;
		while (w->exact_key[h] && w->exact_key[h] != (w->palette[i] | 1u << 24))
			h = (h + 1) & 1023;
		w->exact_key[h] = w->palette[i] | 1u << 24;
		w->exact_index[h] = (guint8)i;
	}
	w->nearest = g_new(guint16, 32768);
	memset(w->nearest, 0xff, sizeof(guint16) * 32768);
}

static guint8 gif_index(RavscopeAnimWriter *w, guint32 v)
{
	for (guint h = (v * 2654435761u) >> 22; w->exact_key[h]; h = (h + 1) & 1023)
		if (w->exact_key[h] == (v | 1u << 24))
			return w->exact_index[h];
	guint16 k = rgb555(v);
	if (w->nearest[k] == 0xffff) {
		int best = 0, bd = G_MAXINT;
		for (int i = 0; i < 256; i++) {
			int d = rgb_distance(w->palette[i], v);
			if (d < bd) {
				bd = d;
				best = i;
			}
		}
		w->nearest[k] = (guint16)best;
	}
	return (guint8)w->nearest[k];
}

/* LZW-coded image data in sub-blocks of at most 255 bytes. */
typedef struct {
	FILE *f;
	guint8 block[256];
	guint n;
	guint32 acc;
	guint bits;
	gboolean failed;
} BitOut;

static void out_byte(BitOut *o, guint8 b)
{
	o->block[1 + o->n++] = b;
	if (o->n == 255) {
		o->block[0] = 255;
		o->failed |= fwrite(o->block, 1, 256, o->f) != 256;
		o->n = 0;
	}
}

static void out_code(BitOut *o, guint code, guint width)
{
	o->acc |= (guint32)code << o->bits;
	o->bits += width;
	while (o->bits >= 8) {
		out_byte(o, o->acc & 255);
		o->acc >>= 8;
		o->bits -= 8;
	}
}

static void out_flush(BitOut *o)
{
	if (o->bits)
		out_byte(o, o->acc & 255);
	o->acc = o->bits = 0;
	if (o->n) {
		o->block[0] = (guint8)o->n;
		o->failed |= fwrite(o->block, 1, 1 + o->n, o->f) != 1 + o->n;
		o->n = 0;
	}
	o->failed |= fputc(0, o->f) == EOF; /* block terminator */
}

#define LZW_HASH 5003 /* a prime above 4096 codes */
#define LZW_MAX_CODE 4095

/* GIF's LZW with 8-bit symbols: clear code 256, end 257, codes of 9 to 12
 * bits, the table restarted (clear code) when it is full.  Code widths
 * change exactly where a GIF decoder expects them: after writing a code,
 * when the next code to be assigned no longer fits. */
static gboolean gif_lzw(FILE *f, const guint8 *idx, gsize n)
{
	gint32 *keys = g_new(gint32, LZW_HASH);
	guint16 *codes = g_new(guint16, LZW_HASH);
	BitOut o = { .f = f };
	const guint clear = 256, eoi = 257;
	guint width = 9, next = eoi + 1;
	memset(keys, 0xff, sizeof(gint32) * LZW_HASH);
	fputc(8, f); /* minimum code size */
	out_code(&o, clear, width);
	guint cur = idx[0];
	for (gsize i = 1; i < n; i++) {
		guint c = idx[i];
		gint32 key = (gint32)(cur << 8 | c);
		guint h = (guint)key % LZW_HASH;
		while (keys[h] != -1 && keys[h] != key)
			h = (h + 1) % LZW_HASH;
		if (keys[h] == key) {
			cur = codes[h];
			continue;
		}
		out_code(&o, cur, width);
		if (next >= (1u << width) && width < 12)
			width++;
		cur = c;
		if (next > LZW_MAX_CODE) {
			out_code(&o, clear, width);
			width = 9;
			next = eoi + 1;
			memset(keys, 0xff, sizeof(gint32) * LZW_HASH);
		} else {
			keys[h] = key;
			codes[h] = (guint16)next++;
		}
	}
	out_code(&o, cur, width);
	if (next >= (1u << width) && width < 12)
		width++;
	out_code(&o, eoi, width);
	out_flush(&o);
	g_free(keys);
	g_free(codes);
	return !o.failed;
}

static void le16(guint8 *p, guint16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static gboolean gif_begin(RavscopeAnimWriter *w, GError **error)
{
	guint8 head[13] = { 'G', 'I', 'F', '8', '9', 'a' };
	le16(head + 6, (guint16)w->width);
	le16(head + 8, (guint16)w->height);
	head[10] = 0xf7; /* global colour table of 256 entries, 8-bit colour */
	head[11] = 0;    /* background colour */
	head[12] = 0;    /* pixel aspect ratio: not given */
	guint8 table[768];
	for (int i = 0; i < 256; i++) {
		table[3 * i] = w->palette[i] >> 16;
		table[3 * i + 1] = w->palette[i] >> 8;
		table[3 * i + 2] = w->palette[i];
	}
	static const guint8 loop[19] = { 0x21, 0xff, 11, 'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0', 3, 1, 0, 0, 0 };
	if (fwrite(head, 1, 13, w->f) != 13 || fwrite(table, 1, 768, w->f) != 768 || fwrite(loop, 1, 19, w->f) != 19)
		return io_error(w, error);
	return TRUE;
}

static gboolean gif_frame(RavscopeAnimWriter *w, const guint8 *data, int stride, int x0, int y0, int x1, int y1,
			  GError **error)
{
	guint8 gce[8] = { 0x21, 0xf9, 4, 1 << 2 /* do not dispose */ };
	/* Delays are in hundredths of a second; viewers slow anything under
	 * 2 down to 10, so 2 is the least. */
	le16(gce + 4, (guint16)CLAMP((w->frame_ms + 5) / 10, 2, 65535));
	guint8 desc[10] = { 0x2c };
	le16(desc + 1, (guint16)x0);
	le16(desc + 3, (guint16)y0);
	le16(desc + 5, (guint16)(x1 - x0));
	le16(desc + 7, (guint16)(y1 - y0));
	desc[9] = 0; /* the global colour table, not interlaced */
	if (fwrite(gce, 1, 8, w->f) != 8 || fwrite(desc, 1, 10, w->f) != 10)
		return io_error(w, error);
	gsize n = (gsize)(x1 - x0) * (y1 - y0);
	guint8 *idx = g_malloc(n);
	gsize k = 0;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			idx[k++] = gif_index(w, pixel(data, stride, x, y));
	gboolean ok = gif_lzw(w->f, idx, n);
	g_free(idx);
	return ok ? TRUE : io_error(w, error);
}

/* ---- the writer ------------------------------------------------------------------ */

RavscopeAnimWriter *ravscope_anim_writer_new(RavscopeAnimFormat format, const char *path, int width, int height,
					     guint frame_ms, const guint32 *palette_hint, guint n_hint, GError **error)
{
	if (width < 1 || height < 1 || width > 65535 || height > 65535) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: an animation must be 1 to 65535 pixels wide and tall (asked %dx%d)", path, width, height);
		return NULL;
	}
	RavscopeAnimWriter *w = g_new0(RavscopeAnimWriter, 1);
	w->format = format;
	w->path = g_strdup(path);
	w->width = width;
	w->height = height;
	w->frame_ms = MAX(frame_ms, 10);
	w->prev = g_new0(guint32, (gsize)width * height);
	if (palette_hint && n_hint) {
		w->n_hint = MIN(n_hint, 128);
		w->hint = g_memdup2(palette_hint, sizeof(guint32) * w->n_hint);
	}
	w->f = fopen(path, "wb");
	if (!w->f) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s", path, g_strerror(errno));
		free_writer(w);
		return NULL;
	}
	if (format == RAVSCOPE_ANIM_APNG && !apng_begin(w, error)) {
		ravscope_anim_writer_abort(w);
		return NULL;
	}
	return w;
}

gboolean ravscope_anim_writer_add(RavscopeAnimWriter *w, cairo_surface_t *frame, GError **error)
{
	cairo_surface_flush(frame);
	if (cairo_image_surface_get_width(frame) != w->width || cairo_image_surface_get_height(frame) != w->height ||
	    cairo_image_surface_get_format(frame) != CAIRO_FORMAT_ARGB32) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: a frame of another size or format", w->path);
		return FALSE;
	}
	const guint8 *data = cairo_image_surface_get_data(frame);
	int stride = cairo_image_surface_get_stride(frame);
	int x0, y0, x1, y1;
	if (!changed_rect(w, data, stride, &x0, &y0, &x1, &y1)) {
		/* Nothing changed: a one-pixel frame keeps the timing. */
		x0 = y0 = 0;
		x1 = y1 = 1;
	}
	gboolean ok;
	if (w->format == RAVSCOPE_ANIM_GIF) {
		if (!w->frames) {
			gif_palette(w, data, stride);
			if (!gif_begin(w, error))
				return FALSE;
		}
		ok = gif_frame(w, data, stride, x0, y0, x1, y1, error);
	} else {
		ok = apng_frame(w, data, stride, x0, y0, x1, y1, error);
	}
	if (!ok)
		return FALSE;
	remember(w, data, stride);
	w->frames++;
	return TRUE;
}

gboolean ravscope_anim_writer_finish(RavscopeAnimWriter *w, GError **error)
{
	gboolean ok;
	if (!w->frames) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: an animation needs at least one frame", w->path);
		ok = FALSE;
	} else if (w->format == RAVSCOPE_ANIM_GIF) {
		ok = fputc(0x3b, w->f) != EOF || io_error(w, error);
	} else {
		ok = apng_end(w, error);
	}
	if (ok && fclose(w->f) != 0)
		ok = io_error(w, error);
	else if (!ok)
		fclose(w->f);
	w->f = NULL;
	if (!ok)
		g_unlink(w->path);
	free_writer(w);
	return ok;
}
