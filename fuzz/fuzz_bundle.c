/* fuzz_bundle.c - libFuzzer target for entry bundles (tlog-tiles: u16be length || bytes, per
 * entry), as audit and monitor read them from any server. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/tile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    size_t pos = 0;
    uint8_t *copy = malloc(TL_ENTRY_MAX + 2);
    if (!copy)
        return 0;
    for (;;) {
        const uint8_t *ent = NULL;
        size_t elen = 0, before = pos;
        tl_err e = tl_bundle_next(data, size, &pos, &ent, &elen);
        if (e == TL_ERR_NOTFOUND) {
            if (pos != size)
                __builtin_trap(); /* the clean end is the end of the data */
            break;
        }
        if (e != TL_OK) {
            if (pos != before)
                __builtin_trap(); /* a failed read leaves the position */
            break;
        }
        if (pos != before + 2 + elen || ent != data + before + 2 || pos > size)
            __builtin_trap();
        uint8_t leaf[TL_HASH_LEN];
        tl_leaf_hash(leaf, ent, elen);
        /* Re-encoding what was read gives the same bytes. */
        size_t w = tl_bundle_put(copy, ent, elen);
        if (w != elen + 2 || memcmp(copy, data + before, w) != 0)
            __builtin_trap();
    }
    free(copy);
    return 0;
}
