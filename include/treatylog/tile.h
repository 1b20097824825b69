/* tile.h - C2SP tlog-tiles v0.1.0 coordinates: tile paths (tile/<L>/<N>[.p/<W>] and
 * tile/entries/<N>[.p/<W>]), the tile inventory of a tree size, where a tree node lives in
 * the tiles, and entry bundles (u16be length || bytes, per entry).
 *
 *   level-L tile N, entry i = MTH of the perfect subtree (height 8L, index N*256 + i)
 *   <N> = base-1000 groups, "x"-prefixed but the last: 1234067 -> x001/x234/067
 *
 * Pure code. Thread-safe.
 */
#ifndef TREATYLOG_TILE_H
#define TREATYLOG_TILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"

#define TL_TILE_WIDTH 256
#define TL_TILE_HEIGHT 8
#define TL_TILE_LEVEL_MAX 63
#define TL_TILE_PATH_MAX 96 /* longest path incl. NUL */
#define TL_ENTRY_MAX 65535  /* largest entry, bytes (u16 prefix) */

typedef struct tl_tile {
    bool entries;   /* true: tile/entries/..., a bundle (level is then 0) */
    uint8_t level;  /* 0..63 */
    uint64_t index; /* N */
    uint16_t width; /* 1..256; 256 = full (no .p/ suffix) */
} tl_tile;

/* Writes the canonical path ("tile/0/x001/234.p/5", no leading slash, NUL-terminated);
 * returns its length. */
size_t tl_tile_path(char out[static TL_TILE_PATH_MAX], const tl_tile *t);

/* Parses a canonical tile path (optionally with one leading '/'); anything non-canonical
 * (tile/00/000, tile/0/0, tile/0/x000/001, .p/0, .p/256, .p/07, level > 63, junk) is
 * TL_ERR_FORMAT. */
TL_MUST_CHECK tl_err tl_tile_path_parse(tl_tile *out, const char *path, size_t len, tl_diag *d);

/* Number of hashes that exist at tile level `level` for tree size `size`
 * (= size / 256^level). */
uint64_t tl_tile_level_count(uint64_t size, unsigned level);

/* The tile at `level` with index `index` as it stands for tree size `size`: fills *out with
 * its width (full or partial) and returns true, or false if that tile does not exist at that
 * size. For entries == true, level must be 0. */
bool tl_tile_for_size(tl_tile *out, bool entries, unsigned level, uint64_t index,
                      uint64_t size);

/* Where the perfect-subtree node (height, index) lives: the tile at level height/8, and the
 * range [*first, *first + 2^(height%8)) of its entries whose subtree hash is the node.
 * t->width is set to the narrowest width that holds the node (*first + 2^(height%8)); use
 * tl_tile_for_size() for the width the tile actually has. height must be below 64. */
void tl_tile_locate(tl_tile *t, unsigned *first, unsigned height, uint64_t index);

/* Hashes the perfect subtree over `count` (a power of two, <= 256) consecutive 32-byte
 * entries of tile data (no I/O). count == 1 copies the entry. */
void tl_tile_subtree_hash(uint8_t out[static TL_HASH_LEN], const uint8_t *hashes,
                          unsigned count);

/* Walks an entry bundle: on TL_OK, *entry and *elen are the entry at *pos and *pos advances.
 * Returns TL_ERR_NOTFOUND at the clean end, TL_ERR_FORMAT on a truncated entry (or a *pos
 * past len); *pos, *entry and *elen are untouched on error. */
TL_MUST_CHECK tl_err tl_bundle_next(const uint8_t *buf, size_t len, size_t *pos,
                                    const uint8_t **entry, size_t *elen);

/* Writes u16be(elen) || entry into out (elen + 2 bytes); returns elen + 2, or 0 if
 * elen > TL_ENTRY_MAX. */
size_t tl_bundle_put(uint8_t *out, const uint8_t *entry, size_t elen);

#endif
