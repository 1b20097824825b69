/* fuzz_receipt.c - libFuzzer target for the receipt parser and verifier. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    tl_receipt r;
    if (tl_receipt_parse(&r, (const char *)data, size, NULL) != TL_OK)
        return 0;
    if (r.nproof > 63 || r.note < (const char *)data || r.note + r.note_len != (const char *)data + size)
        __builtin_trap();
    tl_skey k;
    uint8_t seed[32] = {7};
    if (tl_skey_from_seed(&k, "fuzz.example/log", 16, TL_KEY_ED25519, seed, NULL) != TL_OK)
        __builtin_trap();
    /* Must never verify: nobody but this key's holder signs batch notes. */
    if (tl_receipt_verify(&r, r.leaf, &k.vkey, NULL) == TL_OK)
        __builtin_trap();
    return 0;
}
