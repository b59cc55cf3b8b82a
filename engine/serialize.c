/* serialize.c - messages and subtrees to and from file descriptors.
 *
 * The serialized form is the message's buffer pages themselves, with every
 * pointer rewritten as page-relative: (page number in the message << 32 |
 * byte offset in the page) + 1, so 0 stays null.  A type table maps type ids
 * by name, so another process with other ids can read it.  On reading, the
 * pointers are rewritten to the pages the reader got from its pool, every
 * link is checked in both directions (hostile input cannot build a heap that
 * breaks the engine's invariants), and the pages arrive in the reader's heap
 * exactly like a received message.  The page images may be zstd-compressed.
 *
 * Layout (little-endian):
 *   header  magic "RAVSER01", u32 version (1), u32 cell size, u32 page size,
 *           u32 pages, u32 types, u32 flags (1 = compressed), u64 root,
 *           u64 payload bytes, u32 message top (cells used in the last page),
 *           u32 reserved
 *   types   per type: u16 id, u8 kinds (bit0 f0 ref, bit1 f1 ref), u8 name length, name
 *   payload pages * page size bytes (compressed: payload bytes of zstd frame)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rav-private.h"
#if RAV_HAVE_ZSTD
#include <zstd.h>
#endif

#define SER_MAGIC "RAVSER01"
#define SER_VERSION 1u
#define SER_MAX_PAGES ((uint32_t)1 << 20)
#define READ_STEP ((size_t)1 << 20)

typedef struct ser_header {
	char magic[8];
	uint32_t version, cell_size, page_size, pages, types, flags;
	uint64_t root, payload;
	uint32_t top, reserved;
} ser_header;
_Static_assert(sizeof(ser_header) == 56, "serialized header is 56 bytes");

static rav_status write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return rav__fail(RAV_EIO, "serialize: write failed: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return RAV_OK;
}

/* Returns bytes read; fewer than len only at end of file. -1 on error. */
static ssize_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Read exactly len bytes into a buffer that grows as data arrives, so a
 * header announcing a huge payload on a short input costs no huge
 * allocation.  NULL with *err set on a short read or out of memory. */
static void *read_grow(int fd, size_t len, rav_status *err, const char *what, uint64_t off)
{
	size_t cap = len < READ_STEP ? len : READ_STEP, got = 0;
	char *buf = malloc(cap ? cap : 1);
	if (!buf) {
		*err = rav__fail(RAV_ENOMEM, "rav_deserialize: out of memory");
		return NULL;
	}
	while (got < len) {
		if (got == cap) {
			size_t ncap = cap * 2 < len ? cap * 2 : len;
			char *grown = realloc(buf, ncap);
			if (!grown) {
				free(buf);
				*err = rav__fail(RAV_ENOMEM, "rav_deserialize: out of memory");
				return NULL;
			}
			buf = grown;
			cap = ncap;
		}
		size_t want = cap - got;
		ssize_t n = read_all(fd, buf + got, want);
		if (n < 0) {
			free(buf);
			*err = rav__fail(RAV_EIO, "rav_deserialize: read failed: %s", strerror(errno));
			return NULL;
		}
		got += (size_t)n;
		if ((size_t)n < want) {
			free(buf);
			*err = rav__fail(RAV_EFORMAT, "rav_deserialize: truncated %s: %zu of %zu bytes (at %llu)", what,
					 got, len, (unsigned long long)off);
			return NULL;
		}
	}
	return buf;
}

/* Which words of a cell hold pointers. */
static unsigned pointer_words(rav_type t)
{
	switch (t) {
	case RAV_TYPE_REF:
		return 0xe; /* fwd, back1, back2 */
	case RAV_TYPE_ROOT:
		return 0xe; /* three root slots */
	case RAV_TYPE_DEAD:
	case RAV_TYPE_EMPTY:
	case RAV_TYPE_HEADER:
		return 0;
	default:
		return (type_refmask(t) << 1) | 0x8;
	}
}

/* Is this word one that may hold a reference (what a back-link may name)? */
static bool is_ref_slot(const uintptr_t *s)
{
	rav_cell *c = cell_of(s);
	unsigned w = word_of(s);
	rav_type t = cell_type(c);
	if (t == RAV_TYPE_ROOT)
		return w >= 1;
	if (t == RAV_TYPE_REF)
		return w == RAV_W_FWD;
	if (t == RAV_TYPE_DEAD || t == RAV_TYPE_EMPTY || t == RAV_TYPE_HEADER || w < 1 || w > 2)
		return false;
	return (type_refmask(t) >> (w - 1)) & 1;
}

/* A message's page -> its number in the message: an open-addressing table
 * of twice as many slots as pages (a power of two), keyed by page address,
 * so rewriting every pointer costs O(1) each however many pages the
 * message has (a scan of the page list per pointer made serialization
 * quadratic: 2.5 s of CPU for a 1e6-node list's 7,900 pages in a debug
 * build, 0.06 s with the table; test-engine-unit serialize-large). */
typedef struct page_slot {
	const rav_cell *page; /* NULL: empty */
	uint32_t index;
} page_slot;

static size_t page_hash(const rav_cell *p, size_t mask)
{
	return (size_t)((((uintptr_t)p / RAV_PAGE_SIZE) * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

static void page_table_put(page_slot *tab, size_t mask, const rav_cell *p, uint32_t index)
{
	size_t i = page_hash(p, mask);
	while (tab[i].page)
		i = (i + 1) & mask;
	tab[i] = (page_slot){ p, index };
}

/* The page's number, or UINT32_MAX if it is not one of the message's. */
static uint32_t page_table_get(const page_slot *tab, size_t mask, const rav_cell *p)
{
	for (size_t i = page_hash(p, mask);; i = (i + 1) & mask) {
		if (tab[i].page == p)
			return tab[i].index;
		if (!tab[i].page)
			return UINT32_MAX;
	}
}

rav_status rav_serialize_msg(rav_msg *m, int fd, unsigned flags)
{
	RAV_SITE_ENTER();
	if (!m)
		return rav__fail(RAV_EINVAL, "rav_serialize_msg: null message");
	if (rav__msg_check(m, "rav_serialize_msg") != RAV_OK)
		return RAV_EINVAL;
	/* (its pages are the channel's: a receiver may be taking them) */
	if (m->sent)
		return rav__fail(RAV_ESTATE, "rav_serialize_msg: message %u was sent: it belongs to its channel now",
				 m->heap.id);
	rav_heap *mh = &m->heap;
	RAV_SAFEPOINT(mh);
	uint32_t npages = 0;
	for (rav_cell *p = mh->first; p; p = (rav_cell *)p->w[PH_NEXT])
		npages++;
	rav_cell **pages = malloc((npages ? npages : 1) * sizeof *pages);
	size_t bytes = (size_t)npages * RAV_PAGE_SIZE;
	char *image = malloc(bytes ? bytes : 1);
	size_t tslots = 2;
	while (tslots < (size_t)npages * 2)
		tslots *= 2;
	size_t tmask = tslots - 1;
	page_slot *table = calloc(tslots, sizeof *table);
	if (!pages || !image || !table) {
		free(pages);
		free(image);
		free(table);
		return rav__fail(RAV_ENOMEM, "rav_serialize_msg: out of memory for %u pages", npages);
	}
	uint32_t i = 0;
	for (rav_cell *p = mh->first; p; p = (rav_cell *)p->w[PH_NEXT]) {
		page_table_put(table, tmask, p, i);
		pages[i++] = p;
	}
	if (mh->top_page)
		page_set_fill(mh->top_page, mh->top);
	/* Rewrite pointers (the message's pages found through the table). */
	rav_status st = RAV_OK;
	for (i = 0; i < npages && st == RAV_OK; i++) {
		rav_cell *src = pages[i];
		rav_cell *dst = (rav_cell *)(image + (size_t)i * RAV_PAGE_SIZE);
		unsigned fill = page_fill(src);
		memset(dst, 0, RAV_PAGE_SIZE);
		memcpy(dst, src, (size_t)fill * RAV_CELL_SIZE);
		page_set(dst, fill, RAV_PAGE_BUFFER);
		dst->w[1] = dst->w[2] = dst->w[3] = 0;
		for (unsigned c = 1; c < CELLS; c++) {
			if (c >= fill) {
				memset(&dst[c], 0, RAV_CELL_SIZE);
				continue;
			}
			dst[c].w[0] &= ~RAV_FLAG_TRANSIENT;
			unsigned pw = pointer_words(cell_type(&src[c]));
			if (cell_type(&src[c]) == RAV_TYPE_DEAD)
				dst[c].w[1] = dst[c].w[2] = dst[c].w[3] = 0;
			for (int w = 1; w < 4; w++) {
				if (!(pw & (1u << w)) || !src[c].w[w])
					continue;
				uint32_t k = page_table_get(table, tmask, page_of((void *)src[c].w[w]));
				if (k == UINT32_MAX) {
					st = rav__fail(RAV_EINVAL, "rav_serialize_msg: cell %p word %d points outside the "
								   "message (%p)", (void *)&src[c], w, (void *)src[c].w[w]);
					break;
				}
				dst[c].w[w] = (((uint64_t)k << 32) | (src[c].w[w] & PAGE_MASK)) + 1;
			}
		}
	}
	uint64_t root = 0;
	if (st == RAV_OK && m->root) {
		uint32_t k = page_table_get(table, tmask, page_of(m->root));
		root = (((uint64_t)k << 32) | ((uintptr_t)m->root & PAGE_MASK)) + 1;
	}
	free(pages);
	free(table);
	if (st != RAV_OK) {
		free(image);
		return st;
	}
	/* Type table: every registered type (small, and simple to check). */
	unsigned ntypes = rav_type_count();
	size_t tcap = (size_t)ntypes * (4 + 64);
	char *ttab = malloc(tcap);
	if (!ttab) {
		free(image);
		return rav__fail(RAV_ENOMEM, "rav_serialize_msg: out of memory");
	}
	size_t tlen = 0;
	for (unsigned t = 0; t < ntypes; t++) {
		const char *name = rav_type_name((rav_type)t);
		size_t nl = strlen(name);
		ttab[tlen++] = (char)(t & 0xff);
		ttab[tlen++] = (char)(t >> 8);
		ttab[tlen++] = (char)type_refmask((rav_type)t);
		ttab[tlen++] = (char)nl;
		memcpy(ttab + tlen, name, nl);
		tlen += nl;
	}
	const void *payload = image;
	size_t payload_len = bytes;
	void *compressed = NULL;
	uint32_t hflags = 0;
	if (flags & RAV_SER_COMPRESS) {
#if RAV_HAVE_ZSTD
		size_t bound = ZSTD_compressBound(bytes);
		compressed = malloc(bound ? bound : 1);
		if (!compressed) {
			free(image);
			free(ttab);
			return rav__fail(RAV_ENOMEM, "rav_serialize_msg: out of memory");
		}
		size_t z = ZSTD_compress(compressed, bound, image, bytes, 3);
		if (ZSTD_isError(z)) {
			free(image);
			free(ttab);
			free(compressed);
			return rav__fail(RAV_EIO, "rav_serialize_msg: zstd: %s", ZSTD_getErrorName(z));
		}
		payload = compressed;
		payload_len = z;
		hflags = 1;
#else
		free(image);
		free(ttab);
		return rav__fail(RAV_EINVAL, "rav_serialize_msg: built without zstd; RAV_SER_COMPRESS unavailable");
#endif
	}
	ser_header hd;
	memset(&hd, 0, sizeof hd);
	memcpy(hd.magic, SER_MAGIC, 8);
	hd.version = SER_VERSION;
	hd.cell_size = RAV_CELL_SIZE;
	hd.page_size = RAV_PAGE_SIZE;
	hd.pages = npages;
	hd.types = ntypes;
	hd.flags = hflags;
	hd.root = root;
	hd.payload = payload_len;
	hd.top = mh->top;
	st = write_all(fd, &hd, sizeof hd);
	if (st == RAV_OK)
		st = write_all(fd, ttab, tlen);
	if (st == RAV_OK)
		st = write_all(fd, payload, payload_len);
	if (st == RAV_OK)
		REC(RAV_EV_SERIALIZE, 0, mh->id, mh->st.live_cells, sizeof hd + tlen + payload_len, 0);
	free(image);
	free(ttab);
	free(compressed);
	return st;
}

/* Copy the subtree held by r into a temporary message (the source stays). */
static rav_status serialize_root(rav_heap *h, rav_root r, int fd, unsigned flags)
{
	if (!h || !r)
		return rav__fail(RAV_EINVAL, "rav_serialize: null argument");
	if (!CHECK_OWNER(h, "rav_serialize"))
		return rav__misuse_status();
	RAV_SAFEPOINT(h);
	rav__cascade(h, 0); /* dying cells may still share cells of the subtree */
	rav_msg *m = rav_msg_new();
	if (!m)
		return RAV_ENOMEM;
	rav_heap *mh = &m->heap;
	typedef struct pair {
		rav_cell *from;
		uintptr_t *to;
	} pair;
	size_t cap = 256, n = 0;
	pair *stack = malloc(cap * sizeof *stack);
	rav_status st = RAV_OK;
	if (!stack) {
		rav_msg_free(m);
		return rav__fail(RAV_ENOMEM, "rav_serialize: out of memory");
	}
	rav_cell *top = rav__deref_slot(*(uintptr_t *)r);
	if (top)
		stack[n++] = (pair){ top, m->root };
	while (n && st == RAV_OK) {
		pair p = stack[--n];
		rav_cell *from = p.from;
		if (cell_type(from) == RAV_TYPE_REF) {
			st = rav__fail(RAV_EINVAL, "rav_serialize: the subtree shares cell %p between several "
						   "referrers; build a message (which may share) and use rav_serialize_msg",
				       (void *)rav__deref_slot((uintptr_t)from));
			break;
		}
		rav_cell *c = rav__alloc(mh, cell_type(from));
		if (!c) {
			st = RAV_ENOMEM;
			break;
		}
		c->w[0] = from->w[0] & ~(RAV_FLAG_MARK | RAV_FLAG_WATCH);
		unsigned mask = type_refmask(cell_type(from));
		for (int f = 0; f < 2; f++)
			if (!(mask & (1u << f)))
				c->w[1 + f] = from->w[1 + f];
		*p.to = (uintptr_t)c;
		c->w[RAV_W_BACK] = (uintptr_t)p.to;
		for (int f = 1; f >= 0; f--) {
			if (!(mask & (1u << f)) || !from->w[1 + f])
				continue;
			if (n + 1 >= cap) {
				pair *grown = realloc(stack, cap * 2 * sizeof *stack);
				if (!grown) {
					st = rav__fail(RAV_ENOMEM, "rav_serialize: out of memory");
					break;
				}
				stack = grown;
				cap *= 2;
			}
			stack[n++] = (pair){ (rav_cell *)from->w[1 + f], &c->w[1 + f] };
		}
	}
	free(stack);
	if (st == RAV_OK)
		st = rav_serialize_msg(m, fd, flags);
	rav_msg_free(m);
	return st;
}

static rav_status bad(const char *why, uint64_t where)
{
	return rav__fail(RAV_EFORMAT, "rav_deserialize: %s (at byte %llu)", why, (unsigned long long)where);
}

static rav_status bad_page(const char *why, uint32_t page)
{
	return rav__fail(RAV_EFORMAT, "rav_deserialize: %s (in page %u of the message)", why, page);
}

static rav_status deserialize(rav_heap *h, int fd, rav_root dst)
{
	if (!h || h->kind != RAV_HEAP_THREAD)
		return rav__fail(RAV_EINVAL, "rav_deserialize: needs a thread heap");
	if (!CHECK_OWNER(h, "rav_deserialize"))
		return rav__misuse_status();
	RAV_SAFEPOINT(h);
	ser_header hd;
	ssize_t got = read_all(fd, &hd, sizeof hd);
	if (got < 0)
		return rav__fail(RAV_EIO, "rav_deserialize: read failed: %s", strerror(errno));
	if (got == 0)
		return bad("empty input: no header", 0);
	if ((size_t)got < sizeof hd)
		return bad("truncated header", (uint64_t)got);
	if (memcmp(hd.magic, SER_MAGIC, 8) != 0)
		return bad("not a serialized ravioli message (bad magic)", 0);
	if (hd.version > SER_VERSION)
		return rav__fail(RAV_EFORMAT, "rav_deserialize: format version %u is newer than this engine's (%u)",
				 hd.version, SER_VERSION);
	if (hd.cell_size != RAV_CELL_SIZE || hd.page_size != RAV_PAGE_SIZE)
		return rav__fail(RAV_EFORMAT,
				 "rav_deserialize: written with %u-byte cells and %u-byte pages; this engine uses "
				 "%u and %u",
				 hd.cell_size, hd.page_size, (unsigned)RAV_CELL_SIZE, (unsigned)RAV_PAGE_SIZE);
	if (hd.pages > SER_MAX_PAGES || hd.types > RAV_TYPE_MAX || (hd.flags & ~1u) || hd.top > CELLS ||
	    (hd.pages && hd.top < 1))
		return bad("header fields out of range", 8);
	uint64_t raw = (uint64_t)hd.pages * RAV_PAGE_SIZE;
	if (hd.flags == 0 && hd.payload != raw)
		return bad("payload size does not match the page count", 48);
#if RAV_HAVE_ZSTD
	if (hd.flags == 1 && hd.payload > (uint64_t)ZSTD_compressBound(raw) + 64)
		return bad("compressed payload larger than possible", 48);
#endif
	/* Type table. */
	rav_type map[RAV_TYPE_MAX];
	memset(map, 0, sizeof map);
	uint64_t off = sizeof hd;
	for (uint32_t t = 0; t < hd.types; t++) {
		unsigned char e[4];
		char name[256];
		if (read_all(fd, e, 4) != 4)
			return bad("truncated type table", off);
		unsigned id = e[0] | (unsigned)e[1] << 8, kinds = e[2], nl = e[3];
		if (nl == 0 || nl >= 64 || id >= RAV_TYPE_MAX || kinds > 3)
			return bad("invalid type table entry", off);
		if (read_all(fd, name, nl) != (ssize_t)nl)
			return bad("truncated type name", off + 4);
		name[nl] = 0;
		off += 4 + nl;
		if (id < RAV_TYPE_FIRST_USER) {
			map[id] = (rav_type)id;
			continue;
		}
		if (!rav__type_name_ok(name))
			return bad("invalid type name (control characters or spaces at its ends)", off - nl);
		rav_type local = rav_type_register(name, (kinds & 1) ? RAV_REF : RAV_DATA, (kinds & 2) ? RAV_REF : RAV_DATA);
		if (!local) {
			/* The reason is in rav_last_error's buffer, which the
			 * new message is written into: copied first. */
			char why[256];
			snprintf(why, sizeof why, "%s", rav_last_error());
			return rav__fail(RAV_EFORMAT, "rav_deserialize: type \"%s\" does not match the local type of "
						      "that name (%s)", name, why);
		}
		map[id] = local;
	}
	if (hd.pages == 0) {
		if (dst)
			return rav_root_clear(h, dst);
		return RAV_OK;
	}
	char *image = NULL;
	rav_status st = RAV_OK;
	if (hd.flags == 1) {
#if RAV_HAVE_ZSTD
		void *z = read_grow(fd, hd.payload, &st, "compressed payload", off);
		if (!z)
			return st;
		unsigned long long declared = ZSTD_getFrameContentSize(z, hd.payload);
		if (declared != raw) {
			free(z);
			return bad("compressed payload does not declare the page images' size", off);
		}
		image = malloc(raw);
		if (!image) {
			free(z);
			return rav__fail(RAV_ENOMEM, "rav_deserialize: out of memory for %u pages", hd.pages);
		}
		size_t n = ZSTD_decompress(image, raw, z, hd.payload);
		free(z);
		if (ZSTD_isError(n) || n != raw) {
			free(image);
			return bad(ZSTD_isError(n) ? ZSTD_getErrorName(n) : "decompressed size differs from the page count",
				   off);
		}
#else
		return rav__fail(RAV_EFORMAT, "rav_deserialize: compressed input but built without zstd");
#endif
	} else {
		image = read_grow(fd, raw, &st, "page images", off);
		if (!image)
			return st;
	}
	/* Validate cell by cell before touching the heap. */
	for (uint32_t k = 0; k < hd.pages && st == RAV_OK; k++) {
		rav_cell *pg = (rav_cell *)(image + (size_t)k * RAV_PAGE_SIZE);
		unsigned fill = page_fill(pg);
		if (cell_type(pg) != RAV_TYPE_HEADER || fill < 1 || fill > CELLS ||
		    (k == hd.pages - 1 && fill != hd.top) || (k < hd.pages - 1 && fill != CELLS))
			st = bad("bad page header", off + (uint64_t)k * RAV_PAGE_SIZE);
		for (unsigned c = 1; c < fill && st == RAV_OK; c++) {
			rav_cell *cl = &pg[c];
			rav_type t = cell_type(cl);
			if (t >= RAV_TYPE_MAX || (t >= RAV_TYPE_FIRST_USER && !map[t]) || t == RAV_TYPE_HEADER ||
			    t == RAV_TYPE_EMPTY || (t > RAV_TYPE_BYTES && t < RAV_TYPE_FIRST_USER) ||
			    (cl->w[0] & (((uintptr_t)0xff << RAV_FLAG_SHIFT) & ~RAV_FLAG_BUFFER))) {
				st = bad("cell with an unknown or invalid type", off + (uint64_t)k * RAV_PAGE_SIZE + c * RAV_CELL_SIZE);
				break;
			}
			unsigned pw = pointer_words(t >= RAV_TYPE_FIRST_USER ? map[t] : t);
			for (int w = 1; w < 4; w++) {
				uint64_t v = cl->w[w];
				if (!(pw & (1u << w)) || !v)
					continue;
				v -= 1;
				uint64_t pk = v >> 32, po = v & 0xffffffffu;
				if (pk >= hd.pages || po >= RAV_PAGE_SIZE || (po & 7) || po < RAV_CELL_SIZE) {
					st = bad("pointer outside the message", off + (uint64_t)k * RAV_PAGE_SIZE + c * RAV_CELL_SIZE);
					break;
				}
			}
		}
	}
	if (st == RAV_OK && hd.root) {
		uint64_t v = hd.root - 1;
		if ((v >> 32) >= hd.pages || (v & 0xffffffffu) >= RAV_PAGE_SIZE || (v & 7))
			st = bad("root outside the message", 40);
	}
	if (st != RAV_OK) {
		free(image);
		return st;
	}
	/* Pages from the pool, as a message heap, then the fix-up pass. */
	rav_msg *m = calloc(1, sizeof *m);
	if (!m) {
		free(image);
		return rav__fail(RAV_ENOMEM, "rav_deserialize: out of memory");
	}
	rav__heap_init(&m->heap, RAV_HEAP_MESSAGE);
	m->heap.msg = m;
	rav_heap *mh = &m->heap;
	REC_SYNC(RAV_EV_HEAP_NEW | ((uint32_t)RAV_HEAP_MESSAGE << 8), mh->id, h->id, 0, rav__stamp());
	rav_cell **pages = malloc(hd.pages * sizeof *pages);
	if (!pages) {
		free(image);
		free(m);
		return rav__fail(RAV_ENOMEM, "rav_deserialize: out of memory");
	}
	for (uint32_t k = 0; k < hd.pages; k++) {
		pages[k] = rav__page_acquire(mh, RAV_PAGE_BUFFER);
		if (!pages[k]) {
			rav__heap_destroy(mh);
			free(pages);
			free(image);
			free(m);
			return RAV_ENOMEM;
		}
		rav__page_append(mh, pages[k]);
	}
#define ADDR(v) ((uintptr_t)((char *)pages[((v)-1) >> 32] + (((v)-1) & 0xffffffffu)))
	for (uint32_t k = 0; k < hd.pages; k++) {
		rav_cell *src = (rav_cell *)(image + (size_t)k * RAV_PAGE_SIZE);
		rav_cell *pg = pages[k];
		unsigned fill = page_fill(src);
		page_set(pg, fill, RAV_PAGE_BUFFER);
		for (unsigned c = 1; c < fill; c++) {
			rav_cell *cl = &pg[c];
			VG_CELL_ALLOC(cl);
			rav_type t = cell_type(&src[c]);
			rav_type lt = t >= RAV_TYPE_FIRST_USER ? map[t] : t;
			cl->w[0] = (src[c].w[0] & ~RAV_TYPE_MASK) | lt;
			unsigned pw = pointer_words(lt);
			for (int w = 1; w < 4; w++)
				cl->w[w] = (pw & (1u << w)) && src[c].w[w] ? ADDR(src[c].w[w]) : src[c].w[w];
			if (t == RAV_TYPE_DEAD) {
				cl->w[2] = cl->w[3] = 0;
				rav__dead_push(mh, cl);
			} else if (t != RAV_TYPE_ROOT) {
				mh->st.live_cells++;
				if (t == RAV_TYPE_REF)
					mh->st.ref_cells++;
			}
		}
	}
	free(image);
	heap_set_top(mh, pages[hd.pages - 1], hd.top);
	m->root = hd.root ? (uintptr_t *)ADDR(hd.root) : NULL;
#undef ADDR
	/* Check every link both ways. */
	for (uint32_t k = 0; k < hd.pages && st == RAV_OK; k++) {
		rav_cell *pg = pages[k];
		unsigned fill = page_fill(pg);
		for (unsigned c = 1; c < fill && st == RAV_OK; c++) {
			rav_cell *cl = &pg[c];
			rav_type t = cell_type(cl);
			if (t == RAV_TYPE_DEAD)
				continue;
			if (t == RAV_TYPE_ROOT) {
				for (int w = 1; w < 4 && st == RAV_OK; w++) {
					rav_cell *tg = (rav_cell *)cl->w[w];
					if (tg && &cl->w[w] != m->root)
						st = bad_page("a root other than the message root holds a reference", k);
					else if (tg && (((uintptr_t)tg & (RAV_CELL_SIZE - 1)) ||
							*backlink_slot_of(tg, &cl->w[w]) != (uintptr_t)&cl->w[w]))
						st = bad_page("root slot and its target disagree", k);
				}
				continue;
			}
			unsigned mask = type_refmask(t);
			for (int f = 0; f < 2 && st == RAV_OK; f++) {
				rav_cell *tg = (rav_cell *)cl->w[1 + f];
				if (!(mask & (1u << f)) || !tg)
					continue;
				if (((uintptr_t)tg & (RAV_CELL_SIZE - 1)) || cell_type(tg) == RAV_TYPE_DEAD ||
				    cell_type(tg) == RAV_TYPE_ROOT || cell_type(tg) == RAV_TYPE_EMPTY ||
				    *backlink_slot_of(tg, &cl->w[1 + f]) != (uintptr_t)&cl->w[1 + f])
					st = bad_page("reference and back-link disagree", k);
			}
			if (st != RAV_OK)
				break;
			/* Back-links must name reference slots that point here. */
			int first = t == RAV_TYPE_REF ? RAV_W_BACK1 : RAV_W_BACK;
			uintptr_t weight = 0;
			for (int w = first; w <= 3; w++) {
				uintptr_t *s = (uintptr_t *)cl->w[w];
				if (!s) {
					st = bad_page("raviolo without referrer", k);
					break;
				}
				if (!is_ref_slot(s) || *s != (uintptr_t)cl) {
					st = bad_page("back-link names a slot that does not point back", k);
					break;
				}
				rav_cell *sc = cell_of(s);
				weight += cell_type(sc) == RAV_TYPE_REF ? cell_scalar(sc) : 1;
			}
			/* A reference raviolo's weight is the number of leaf slots above it. */
			if (st == RAV_OK && t == RAV_TYPE_REF && weight != cell_scalar(cl))
				st = bad_page("reference raviolo with a wrong referrer count", k);
		}
	}
	if (st == RAV_OK && m->root && (cell_type(cell_of(m->root)) != RAV_TYPE_ROOT || word_of(m->root) == 0))
		st = bad("message root is not a root slot", 40);
	/* Forward chains of reference ravioli must end at a raviolo (no loops). */
	size_t limit = (size_t)hd.pages * CELLS;
	for (uint32_t k = 0; k < hd.pages && st == RAV_OK; k++) {
		rav_cell *pg = pages[k];
		unsigned fill = page_fill(pg);
		for (unsigned c = 1; c < fill && st == RAV_OK; c++) {
			rav_cell *q = &pg[c];
			size_t steps = 0;
			while (cell_type(q) == RAV_TYPE_REF && steps++ <= limit)
				q = (rav_cell *)q->w[RAV_W_FWD];
			if (steps > limit)
				st = bad_page("reference ravioli form a loop", k);
		}
	}
	free(pages);
	if (st != RAV_OK) {
		rav__heap_destroy(mh);
		free(m);
		return st;
	}
	/* Record the pages' contents so a replay sees what arrived. */
#if RAV_TRACING
	if (RAV_UNLIKELY(rav__tracing)) {
		for (rav_cell *pg = mh->first; pg; pg = (rav_cell *)pg->w[PH_NEXT]) {
			unsigned fill = pg == mh->top_page ? mh->top : page_fill(pg);
			for (unsigned c = 1; c < fill; c++) {
				rav_cell *cl = &pg[c];
				REC(RAV_EV_ALLOC, cell_type(cl), 0, cl, 0, 0);
				if (cell_type(cl) == RAV_TYPE_DEAD) {
					REC(RAV_EV_FREE, RAV_TYPE_DEAD, 0, cl, 0, 0);
					continue;
				}
				if (cell_scalar(cl) || (cl->w[0] & ~RAV_TYPE_MASK))
					REC(RAV_EV_TYPE_WORD, 0, 0, cl, cell_type(cl), cl->w[0]);
				unsigned pw = pointer_words(cell_type(cl));
				for (int w = 1; w < 4; w++) {
					if (!cl->w[w])
						continue;
					if (pw & (1u << w))
						REC(RAV_EV_LINK, 0, 0, &cl->w[w], 0, cl->w[w]);
					else
						REC(RAV_EV_DATA_STORE, 0, 0, &cl->w[w], 0, cl->w[w]);
				}
			}
		}
	}
#endif
	REC(RAV_EV_DESERIALIZE, 0, h->id, mh->st.live_cells, off + hd.payload, 0);
	uintptr_t dummy = 0;
	if (!m->root)
		m->root = &dummy;
	st = rav__arrive(h, m, (uintptr_t *)dst);
	free(m->heap.root_stack);
	free(m->heap.pending);
	free(m);
	return st;
}

rav_status rav_serialize(rav_heap *h, rav_root r, int fd, unsigned flags)
{
	RAV_SITE_BEGIN();
	rav_status ret = serialize_root(h, r, fd, flags);
	RAV_SITE_END();
	return ret;
}

rav_status rav_deserialize(rav_heap *h, int fd, rav_root dst)
{
	RAV_SITE_BEGIN();
	rav_status ret = deserialize(h, fd, dst);
	RAV_SITE_END();
	return ret;
}
