/* fuzz_entry.c - libFuzzer target for the treaty-mode entry layout (entry.c).
 *
 * Properties (a violation traps): parsing returns OK or FORMAT; on OK the header rebuilt from
 * the logged time followed by the submission is the input byte for byte, and the submission
 * is not empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t logged = 0;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    tl_diag d = {{0}};
    tl_err e = tl_entry_parse(data, size, &logged, &sub, &sublen, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT);
    if (e != TL_OK) {
        check(d.msg[0] != '\0');
        return 0;
    }
    check(sublen > 0 && sub >= data && sub + sublen == data + size);
    char head[TL_ENTRY_HEAD_MAX];
    size_t hl = tl_entry_head(head, logged);
    check(hl == (size_t)(sub - data) && memcmp(head, data, hl) == 0);
    uint8_t k1[TL_HASH_LEN], k2[TL_HASH_LEN];
    tl_submission_key(k1, sub, sublen);
    tl_leaf_hash(k2, data, size);
    check(memcmp(k1, k2, TL_HASH_LEN) != 0);
    return 0;
}
