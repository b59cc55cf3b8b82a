/* engine-model.h - what the two files of test-engine-model share: the
 * model (test-engine-model.c: its bookkeeping, the engine side of each
 * object, the full comparison, the main loop) and the random operations
 * that change both (engine-model-ops.c).
 */
#ifndef RAV_TEST_ENGINE_MODEL_H
#define RAV_TEST_ENGINE_MODEL_H

#include "rav-test.h"

enum {
	NROOTS = 32,
	DVECS = 2,
	DVEC_MAX = 4000,
	RVEC_MAX = 2000,
	BYTES_MAX = 12000,
	LIVE_SOFT_MAX = 12000,
	CLOSED_MAX = 3000,
	CHECK_EVERY = 1000,
};

typedef enum mtype { M_NONE = 0, M_NODE, M_PAIR, M_DATA, M_TYPES } mtype;

extern rav_type engine_type[M_TYPES];
extern const unsigned ref_mask[M_TYPES]; /* which fields of each type hold references */

typedef struct mobj {
	uint8_t type;  /* M_NONE once dead */
	uint32_t refc; /* referring slots: roots, fields, reference-vector elements */
	uintptr_t f[2]; /* data value, or target id (0: null) */
	uint32_t alive_at; /* position in alive[] */
	uint32_t mark;
} mobj;

struct model {
	mobj *obj;
	uint32_t nobj, cap;
	uint32_t *alive;
	uint32_t nalive;
	uint32_t root_target[NROOTS];
	uintptr_t dvec[DVECS][DVEC_MAX];
	size_t dlen[DVECS];
	uint32_t rvec[RVEC_MAX];
	size_t rlen;
	unsigned char bytes[BYTES_MAX];
	size_t blen;
	uint32_t epoch;
	uint32_t *stack;
};
extern struct model M;

extern rav_heap *h;
extern rav_root roots[NROOTS];
extern rav_root droots[DVECS], rroot, broot;
extern rav_channel *chan;
extern rav_rng rng;
extern uint64_t seed, op_no;
extern char ops_ring[16][160];

#define OPDESC(...) snprintf(ops_ring[op_no % 16], sizeof ops_ring[0], __VA_ARGS__)

/* Report a mismatch with the seed and the last operations, and exit. */
void fail(const char *file, int line, const char *what);
#define MCHECK(cond)                                                                                     \
	do {                                                                                             \
		if (!(cond))                                                                             \
			fail(__FILE__, __LINE__, #cond);                                                 \
	} while (0)
#define MOK(expr)                                                                                        \
	do {                                                                                             \
		rav_status _s = (expr);                                                                  \
		if (_s != RAV_OK)                                                                        \
			fail(__FILE__, __LINE__, #expr " did not return RAV_OK");                        \
	} while (0)

typedef struct pick {
	rav_ref ref;
	uint32_t id;
} pick;

uint32_t m_new(mtype t);
void m_bury(uint32_t id);
void m_inc(uint32_t id);
void m_dec(uint32_t id);
void m_collect(void);
uint32_t m_closed_subtree(int r, bool *shared);
rav_ref root_ref(int r);
void verify(rav_ref ref, uint32_t id);
bool pick_obj(pick *p);
int field_of_kind(uint32_t id, bool want_ref);
mtype random_type(void);
void init_obj(rav_heap *hh, rav_ref ref, uint32_t id);

/* engine-model-ops.c */
void op_new_root(void);
void op_new_field(void);
void op_store_data(void);
void op_store_ref(void);
void op_root_set(void);
void op_clear_field(void);
void op_clear_root(void);
void op_new_before(void);
void op_move(void);
void op_collect(void);
void op_dvec(void);
void op_rvec(void);
void op_bytes(void);
void op_msg_adopt(void);
void op_msg_build(void);
void op_serialize(void);
void op_mode(void);
void op_compact(void);

#endif /* RAV_TEST_ENGINE_MODEL_H */
