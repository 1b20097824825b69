/* testutil.h - small helpers shared by the cmocka unit tests (header-only). */
#ifndef TREATYLOG_TESTUTIL_H
#define TREATYLOG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

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
#define assert_hash_hex(h, hex)                                                                   \
    do {                                                                                          \
        uint8_t want_[32];                                                                        \
        assert_int_equal(tu_hex(want_, (hex)), 32);                                               \
        assert_memory_equal((h), want_, 32);                                                      \
    } while (0)

#endif
