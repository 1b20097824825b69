/* testutil.h - small helpers shared by the cmocka unit tests (header-only). */
#ifndef TREATYLOG_TESTUTIL_H
#define TREATYLOG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "treatylog/entry.h"
#include "treatylog/key.h"
#include "treatylog/note.h"

/* Decodes lower-case hex into out (exactly strlen(hex)/2 bytes); fails the test on bad hex. */
static inline size_t tu_hex(uint8_t *out, const char *hex)
{
    size_t n = strlen(hex);
    assert_true(n % 2 == 0);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + (size_t)j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                fail_msg("bad hex digit %c", c);
        }
        out[i] = (uint8_t)v;
    }
    return n / 2;
}

/* Asserts that 32 bytes equal the given 64-digit hex string. */
#define assert_hash_hex(h, hex)                                                                    \
    do {                                                                                           \
        uint8_t want_[32];                                                                         \
        assert_int_equal(tu_hex(want_, (hex)), 32);                                                \
        assert_memory_equal((h), want_, 32);                                                       \
    } while (0)

/* The message schemas: $TL_SCHEMAS, else schemas/ of the source tree this file is in. */
static inline const char *tu_schemas_dir(void)
{
    static char dir[4096];
    const char *env = getenv("TL_SCHEMAS");
    if (env && env[0])
        return env;
    const char *f = __FILE__;
    const char *cut = strstr(f, "tests/testutil.h");
    size_t n = cut ? (size_t)(cut - f) : 0;
    snprintf(dir, sizeof dir, "%.*sschemas", (int)n, f);
    return dir;
}

/* A deterministic Ed25519 signing key named name: seed = 32 bytes of seedbyte. */
static inline void tu_key(tl_skey *k, const char *name, uint8_t seedbyte)
{
    uint8_t seed[TL_SEED_LEN];
    memset(seed, seedbyte, sizeof seed);
    assert_int_equal(tl_skey_from_seed(k, name, strlen(name), TL_KEY_ED25519, seed, NULL), TL_OK);
}

/* A treatylog/entry/v1 entry logged at ms whose submission is text signed by k (*len bytes;
 * caller frees). */
static inline uint8_t *tu_signed_entry(int64_t ms, const char *text, const tl_skey *k, size_t *len)
{
    char *note = NULL;
    size_t nlen = 0;
    assert_int_equal(tl_note_sign(&note, &nlen, text, strlen(text), k, NULL), TL_OK);
    char head[TL_ENTRY_HEAD_MAX];
    size_t hl = tl_entry_head(head, (uint64_t)ms);
    uint8_t *e = malloc(hl + nlen);
    assert_non_null(e);
    memcpy(e, head, hl);
    memcpy(e + hl, note, nlen);
    free(note);
    *len = hl + nlen;
    return e;
}

#endif
