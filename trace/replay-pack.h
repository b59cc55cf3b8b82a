/* replay-pack.h - keyframes that hold their own cell blocks packed.
 *
 * A keyframe shares every block that did not change before the next one
 * (copy-on-write, replay-model.h); the blocks it holds alone are what it
 * costs.  In a heap churned everywhere that is nearly the whole heap per
 * keyframe, and the keyframe budget then fixes the interval between two
 * (and so the longest seek) at the heap's size.  Packed, those blocks take
 * about a third (a word is stored as its difference from the same word of
 * the cell before, in as many bytes as that needs): three times as many
 * keyframes fit, and a seek replays a third as far.
 *
 * A block is packed once the keyframe is the only holder of it and of its
 * page block (when the next keyframe is taken, or a neighbour is dropped);
 * its slot then points at ravt_packed_block.  Restoring a keyframe copies
 * it and unpacks into fresh blocks of the copy, which are the copy's own:
 * the seek that follows writes them without copying them again, which is
 * about what unpacking costs.  Packing and unpacking run under the lock
 * that guards the keyframe list (replay-index.c): a count of 1 read there
 * cannot rise, since only a restore copies a keyframe.
 */
#ifndef RAVT_REPLAY_PACK_H
#define RAVT_REPLAY_PACK_H

#include "replay-model.h"

typedef struct ravt_kfpack ravt_kfpack;

/* Pack the cell blocks only k holds (adding a pack to *packs).  Returns
 * the bytes the new pack takes; *freed: bytes of blocks given back.  Out of
 * memory: packs nothing, returns 0. */
uint64_t ravt_kfpack_add(ravt_model *k, ravt_kfpack **packs, uint64_t *freed);
/* m is a copy of the keyframe the packs belong to: give it its packed
 * blocks back.  false when out of memory (m is then unusable: clear it). */
bool ravt_kfpack_restore(ravt_model *m, const ravt_kfpack *packs);
/* Bytes the packs take. */
uint64_t ravt_kfpack_bytes(const ravt_kfpack *packs);
void ravt_kfpack_free(ravt_kfpack *packs);
/* Tests: every pack written to a mapping of its own (as large packs are),
 * its first 2 MB advised huge pages and grown past them, whatever the size
 * of the last pack. */
void ravt_kfpack_map_always(bool on);

#endif /* RAVT_REPLAY_PACK_H */
