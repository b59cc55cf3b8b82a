/* format.c - small pieces of the format shared by writer and reader: the
 * CRC-32C checksum, the shape of each event kind and the kind names.
 *
 * CRC-32C (Castagnoli) is used because x86-64 computes it in hardware
 * (SSE4.2), which keeps checksum verification far below decode cost; the
 * table-driven fallback produces identical values elsewhere.
 */
#include <pthread.h>
#include <string.h>

#include "format.h"
#include "ravtrace.h"

const uint8_t ravt_kind_shape[RAV_EV_KIND_COUNT] = {
	[RAV_EV_NONE] = RAVT_SHAPE_NONE,
	[RAV_EV_TIME] = RAVT_SHAPE_TIME,
	[RAV_EV_THREAD_START] = RAVT_SHAPE_HEAPNEW,
	[RAV_EV_THREAD_NAME] = RAVT_SHAPE_XTEXT,
	[RAV_EV_THREAD_END] = RAVT_SHAPE_XSEQ,
	[RAV_EV_HEAP_NEW] = RAVT_SHAPE_HEAPNEW,
	[RAV_EV_HEAP_END] = RAVT_SHAPE_XSEQ,
	[RAV_EV_TYPE_DEF] = RAVT_SHAPE_TYPEDEF,
	[RAV_EV_PAGE_ACQUIRE] = RAVT_SHAPE_PAGE,
	[RAV_EV_PAGE_RELEASE] = RAVT_SHAPE_PAGE,
	[RAV_EV_PAGE_HANDOFF] = RAVT_SHAPE_HANDOFF,
	[RAV_EV_ALLOC] = RAVT_SHAPE_A,
	[RAV_EV_FREE] = RAVT_SHAPE_A,
	[RAV_EV_MOVE] = RAVT_SHAPE_AB,
	[RAV_EV_TRIM] = RAVT_SHAPE_A,
	[RAV_EV_FIXUP] = RAVT_SHAPE_ABC,
	[RAV_EV_REF_STORE] = RAVT_SHAPE_ABC,
	[RAV_EV_REF_CLEAR] = RAVT_SHAPE_AB,
	[RAV_EV_DATA_STORE] = RAVT_SHAPE_AVV,
	[RAV_EV_LINK] = RAVT_SHAPE_ABC,
	[RAV_EV_TYPE_WORD] = RAVT_SHAPE_AVV,
	[RAV_EV_REFRAV_INSERT] = RAVT_SHAPE_AB,
	[RAV_EV_REFRAV_REMOVE] = RAVT_SHAPE_A,
	[RAV_EV_ROOT_NEW] = RAVT_SHAPE_A,
	[RAV_EV_ROOT_FREE] = RAVT_SHAPE_A,
	[RAV_EV_MSG_BUILD] = RAVT_SHAPE_X,
	[RAV_EV_MSG_SEND] = RAVT_SHAPE_MSG,
	[RAV_EV_MSG_RECV] = RAVT_SHAPE_MSG,
	[RAV_EV_COMPACT_BEGIN] = RAVT_SHAPE_X,
	[RAV_EV_COMPACT_END] = RAVT_SHAPE_XA,
	[RAV_EV_SERIALIZE] = RAVT_SHAPE_XAB,
	[RAV_EV_DESERIALIZE] = RAVT_SHAPE_XAB,
	[RAV_EV_GC_BEGIN] = RAVT_SHAPE_X,
	[RAV_EV_GC_END] = RAVT_SHAPE_XA,
	[RAV_EV_ERROR] = RAVT_SHAPE_TEXT,
	[RAV_EV_MARK] = RAVT_SHAPE_TEXT,
	[RAV_EV_ACCESS] = RAVT_SHAPE_ACCESS,
	/* 1.1: kinds added since 1.0 keep the generic shape (FORMAT.md §10) */
	[RAV_EV_SNAPSHOT] = RAVT_SHAPE_GENERIC,
	[RAV_EV_LOST] = RAVT_SHAPE_GENERIC,
	[RAV_EV_PAGE_TO_MSG] = RAVT_SHAPE_GENERIC, /* 1.6 */
};

static const char *const kind_names[RAV_EV_KIND_COUNT] = {
	[RAV_EV_NONE] = "none",
	[RAV_EV_TIME] = "time",
	[RAV_EV_THREAD_START] = "thread-start",
	[RAV_EV_THREAD_NAME] = "thread-name",
	[RAV_EV_THREAD_END] = "thread-end",
	[RAV_EV_HEAP_NEW] = "heap-new",
	[RAV_EV_HEAP_END] = "heap-end",
	[RAV_EV_TYPE_DEF] = "type-def",
	[RAV_EV_PAGE_ACQUIRE] = "page-acquire",
	[RAV_EV_PAGE_RELEASE] = "page-release",
	[RAV_EV_PAGE_HANDOFF] = "page-handoff",
	[RAV_EV_ALLOC] = "alloc",
	[RAV_EV_FREE] = "free",
	[RAV_EV_MOVE] = "move",
	[RAV_EV_TRIM] = "trim",
	[RAV_EV_FIXUP] = "fixup",
	[RAV_EV_REF_STORE] = "ref-store",
	[RAV_EV_REF_CLEAR] = "ref-clear",
	[RAV_EV_DATA_STORE] = "data-store",
	[RAV_EV_LINK] = "link",
	[RAV_EV_TYPE_WORD] = "type-word",
	[RAV_EV_REFRAV_INSERT] = "refrav-insert",
	[RAV_EV_REFRAV_REMOVE] = "refrav-remove",
	[RAV_EV_ROOT_NEW] = "root-new",
	[RAV_EV_ROOT_FREE] = "root-free",
	[RAV_EV_MSG_BUILD] = "msg-build",
	[RAV_EV_MSG_SEND] = "msg-send",
	[RAV_EV_MSG_RECV] = "msg-recv",
	[RAV_EV_COMPACT_BEGIN] = "compact-begin",
	[RAV_EV_COMPACT_END] = "compact-end",
	[RAV_EV_SERIALIZE] = "serialize",
	[RAV_EV_DESERIALIZE] = "deserialize",
	[RAV_EV_GC_BEGIN] = "gc-begin",
	[RAV_EV_GC_END] = "gc-end",
	[RAV_EV_ERROR] = "error",
	[RAV_EV_MARK] = "mark",
	[RAV_EV_ACCESS] = "access",
	[RAV_EV_SNAPSHOT] = "snapshot",
	[RAV_EV_LOST] = "lost",
	[RAV_EV_PAGE_TO_MSG] = "page-to-msg",
};

const char *rav_event_kind_name(unsigned kind)
{
	if (kind < RAV_EV_KIND_COUNT && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

unsigned rav_event_kind_loc_mask(unsigned kind)
{
	return ravt_shape_addr_mask(ravt_shape_of(kind));
}

unsigned rav_event_type_field_names(const rav_event *ev, const char *names[2])
{
	names[0] = names[1] = NULL;
	if (ev->kind != RAV_EV_TYPE_DEF || !ev->text || !ev->text[0])
		return 0;
	/* The text's `a` bytes are NUL-terminated (the reader interns them
	 * whole; an empty text is the interner out of memory). */
	return ravt_type_text_field_names(ev->text, (size_t)ev->a, names);
}

unsigned ravt_type_text_field_names(const char *text, size_t len, const char *names[2])
{
	names[0] = names[1] = NULL;
	const char *p = text, *end = text + len;
	unsigned n = 0;
	for (int f = 0; f < 2; f++) {
		p += strlen(p);
		if (p >= end)
			break;
		p++;
		if (*p) {
			names[f] = p;
			n++;
		}
	}
	return n;
}

int rav_event_kind_from_name(const char *name)
{
	if (!name)
		return -1;
	for (unsigned k = 0; k < RAV_EV_KIND_COUNT; k++) {
		if (kind_names[k] && strcmp(kind_names[k], name) == 0)
			return (int)k;
	}
	/* Also accept the C spelling ("PAGE_HANDOFF", "page_handoff"). */
	char buf[32];
	size_t n = strlen(name);
	if (n >= sizeof buf)
		return -1;
	for (size_t i = 0; i <= n; i++) {
		char ch = name[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		buf[i] = ch == '_' ? '-' : ch;
	}
	for (unsigned k = 0; k < RAV_EV_KIND_COUNT; k++) {
		if (kind_names[k] && strcmp(kind_names[k], buf) == 0)
			return (int)k;
	}
	return -1;
}

/* ---- CRC-32C -------------------------------------------------------------- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw;
#if defined(__x86_64__)
/* The hardware loop runs three streams of CRC_LANE bytes side by side (one
 * crc32 instruction's result feeds the next: one stream waits for each,
 * three keep the unit busy) and joins them: the checksum of A B C from
 * state s is Z2(crc(s, A)) ^ Z1(crc(0, B)) ^ crc(0, C), where Zn is the
 * state after n * CRC_LANE zero bytes, a linear map: four tables of 256
 * each (crc_zero).  (The reader checks every events payload before its
 * first decode: perf on the decode thread put 4-6% of its time on a third
 * of its instructions' worth there.) */
enum { CRC_LANE = 1024 };
static uint32_t crc_zero[2][4][256];
static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len);

static void crc_zero_fill(void)
{
	static const uint8_t zeros[CRC_LANE];
	for (int z = 0; z < 2; z++) {
		uint32_t basis[32];
		for (int j = 0; j < 32; j++) {
			uint32_t c = crc_sw((uint32_t)1 << j, zeros, CRC_LANE);
			if (z)
				c = crc_sw(c, zeros, CRC_LANE);
			basis[j] = c;
		}
		for (int k = 0; k < 4; k++) {
			crc_zero[z][k][0] = 0;
			for (unsigned v = 1; v < 256; v++)
				crc_zero[z][k][v] = crc_zero[z][k][v & (v - 1)] ^ basis[8 * k + __builtin_ctz(v)];
		}
	}
}

static inline uint32_t crc_zero_apply(int z, uint32_t c)
{
	return crc_zero[z][0][c & 0xff] ^ crc_zero[z][1][(c >> 8) & 0xff] ^ crc_zero[z][2][(c >> 16) & 0xff] ^
	       crc_zero[z][3][c >> 24];
}
#endif

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & -(c & 1));
		crc_table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = crc_table[0][i];
		for (int t = 1; t < 8; t++) {
			c = crc_table[0][c & 0xff] ^ (c >> 8);
			crc_table[t][i] = c;
		}
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
	if (crc_hw)
		crc_zero_fill();
#endif
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= crc;
		crc = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^ crc_table[5][(v >> 16) & 0xff] ^
		      crc_table[4][(v >> 24) & 0xff] ^ crc_table[3][(v >> 32) & 0xff] ^
		      crc_table[2][(v >> 40) & 0xff] ^ crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw_run(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;
	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 3 * CRC_LANE) {
		uint64_t c1 = 0, c2 = 0;
		for (size_t i = 0; i < CRC_LANE; i += 8) {
			uint64_t v0, v1, v2;
			memcpy(&v0, p + i, 8);
			memcpy(&v1, p + CRC_LANE + i, 8);
			memcpy(&v2, p + 2 * CRC_LANE + i, 8);
			c = __builtin_ia32_crc32di(c, v0);
			c1 = __builtin_ia32_crc32di(c1, v1);
			c2 = __builtin_ia32_crc32di(c2, v2);
		}
		c = crc_zero_apply(1, (uint32_t)c) ^ crc_zero_apply(0, (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * CRC_LANE;
		len -= 3 * CRC_LANE;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

void ravt_text_end_at_char(char *s)
{
	size_t len = strlen(s), i = len;
	while (i && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (!i)
		return;
	unsigned char c = (unsigned char)s[i - 1];
	size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (i - 1 + need > len)
		s[i - 1] = 0;
}

uint32_t ravt_crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_hw_run(crc, data, len);
#endif
	return ~crc_sw(crc, data, len);
}

uint32_t ravt_frame_crc(const ravt_frame *f)
{
	return ravt_crc32c(0, f, offsetof(ravt_frame, frame_crc));
}

uint32_t ravt_header_crc(const void *header, size_t header_size)
{
	ravt_header h;
	memcpy(&h, header, sizeof h);
	h.header_crc = 0;
	uint32_t crc = ravt_crc32c(0, &h, sizeof h);
	if (header_size > sizeof h)
		crc = ravt_crc32c(crc, (const uint8_t *)header + sizeof h, header_size - sizeof h);
	return crc;
}
