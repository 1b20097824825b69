/* fuzz_tilepath.c - libFuzzer target for the tile path parser and formatter and the entry
 * bundle walker (tile.c).
 *
 * Properties (a violation traps):
 *   - a path that parses has level <= 63, width 1..256, entries only at level 0, and formats
 *     back to the input byte for byte (less one leading '/'); the formatted path parses to
 *     the same tile;
 *   - walking the input as an entry bundle ends in NOTFOUND exactly at the end or FORMAT on a
 *     truncated entry, and re-encoding the entries walked gives the input's prefix back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/tile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_path(const char *s, size_t len)
{
    tl_tile t;
    tl_err e = tl_tile_path_parse(&t, s, len, NULL);
    check(e == TL_OK || e == TL_ERR_FORMAT);
    if (e != TL_OK)
        return;
    check(t.level <= TL_TILE_LEVEL_MAX);
    check(t.width >= 1 && t.width <= TL_TILE_WIDTH);
    check(!t.entries || t.level == 0);
    char out[TL_TILE_PATH_MAX];
    size_t n = tl_tile_path(out, &t);
    check(n < TL_TILE_PATH_MAX && out[n] == '\0' && strlen(out) == n);
    size_t skip = (len > 0 && s[0] == '/') ? 1 : 0;
    check(n == len - skip && memcmp(out, s + skip, n) == 0);
    tl_tile again;
    check(tl_tile_path_parse(&again, out, n, NULL) == TL_OK);
    check(again.entries == t.entries && again.level == t.level && again.index == t.index &&
          again.width == t.width);
}

static void check_bundle(const uint8_t *b, size_t len)
{
    uint8_t *re = malloc(len + 2);
    check(re != NULL);
    size_t pos = 0, relen = 0;
    tl_err e;
    for (;;) {
        const uint8_t *ent = NULL;
        size_t elen = 0;
        size_t before = pos;
        e = tl_bundle_next(b, len, &pos, &ent, &elen);
        if (e != TL_OK) {
            check(pos == before);
            break;
        }
        check(elen <= TL_ENTRY_MAX && pos == before + 2 + elen && pos <= len);
        check(ent == b + before + 2);
        relen += tl_bundle_put(re + relen, ent, elen);
    }
    check(e == TL_ERR_NOTFOUND || e == TL_ERR_FORMAT);
    check((e == TL_ERR_NOTFOUND) == (pos == len));
    check(relen == pos && memcmp(re, b, relen) == 0);
    free(re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    /* Exactly-sized copy so ASan sees any over-read. */
    char *s = malloc(size ? size : 1);
    check(s != NULL);
    if (size)
        memcpy(s, data, size);
    check_path(s, size);
    check_bundle((const uint8_t *)s, size);
    free(s);
    return 0;
}
