/* symbols-private.h - what the two libdw users of trace/ share: the
 * symbolizer (symbols.c) and the call-site spec resolver (sitespec.c).
 */
#ifndef RAVT_SYMBOLS_PRIVATE_H
#define RAVT_SYMBOLS_PRIVATE_H

#include <elfutils/libdw.h>

/* A DIE's name: DW_AT_name, else its linkage name (C++ overloads; C has
 * none); NULL if it has neither. */
const char *ravt_die_name(Dwarf_Die *die);

#endif /* RAVT_SYMBOLS_PRIVATE_H */
