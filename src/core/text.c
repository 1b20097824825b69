/* text.c - strict text primitives for every treatylog parser; implements the shared
 * conventions of reference/c2sp-formats.md §1 (canonical decimal, RFC 4648 §4 padded base64,
 * UTF-8, signed-note text and key-name rules of https://c2sp.org/signed-note).
 */
#include "treatylog/text.h"

#include <string.h>

#include <sodium.h>

tl_err tl_parse_u64(uint64_t *out, const char *s, size_t len)
{
    /* Canonical: 1..20 digits, no leading zero unless the number is "0" itself. */
    if (len == 0 || len > 20)
        return TL_ERR_FORMAT;
    if (s[0] == '0' && len > 1)
        return TL_ERR_FORMAT;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TL_ERR_FORMAT;
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return TL_ERR_FORMAT; /* overflow */
        v = v * 10 + digit;
    }
    *out = v;
    return TL_OK;
}

size_t tl_format_u64(char out[static 21], uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

size_t tl_b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t tl_b64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t enc = tl_b64_len(n);
    if (n == 0) {
        out[0] = '\0'; /* in may be NULL; libsodium declares it non-null */
        return 0;
    }
    /* sodium_bin2base64 always writes the terminating NUL; out holds enc + 1 bytes. */
    sodium_bin2base64(out, enc + 1, in, n, sodium_base64_VARIANT_ORIGINAL);
    return enc;
}

/*
 * Decoding. Canonical padded base64 is a sequence of 4-character quanta; only the last may
 * end in "=" or "==":
 *
 *   xxxx ... xxxx  xxxx      n bytes, n % 3 == 0
 *   xxxx ... xxxx  xxx=      last quantum carries 2 bytes; low 2 bits of the 3rd char are 0
 *   xxxx ... xxxx  xx==      last quantum carries 1 byte;  low 4 bits of the 2nd char are 0
 *
 * We check the shape (length, padding) and the alphabet here, then let libsodium (with no
 * ignore set) decode and reject non-zero trailing bits. The alphabet check is ours because
 * libsodium 1.0.18 decodes every byte >= 0x80 as '/' (found by fuzz/fuzz_key.c).
 */
static bool b64_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

tl_err tl_b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t len)
{
    if (len % 4 != 0)
        return TL_ERR_FORMAT;
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=')
        pad = (len >= 2 && s[len - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++) {
        if (!b64_alphabet(s[i]))
            return TL_ERR_FORMAT;
    }
    size_t need = len / 4 * 3 - pad;
    if (need > cap)
        return TL_ERR_TOOBIG;
    if (len == 0) {
        *outlen = 0; /* libsodium's pointers are declared non-null; out may be NULL here */
        return TL_OK;
    }
    size_t got = 0;
    if (sodium_base642bin(out, cap, s, len, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return TL_ERR_FORMAT;
    if (got != need)
        return TL_ERR_FORMAT; /* cannot happen after the checks above; fail safe */
    *outlen = got;
    return TL_OK;
}

/* Decodes one UTF-8 sequence at s[0..len) (len >= 1). Returns its length and sets *cp, or
 * returns 0 if the bytes are not the start of a well-formed sequence (Unicode Table 3-7). */
static size_t utf8_next(uint32_t *cp, const uint8_t *s, size_t len)
{
    uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    uint32_t v;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
        v = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        v = b & 0x0Fu;
        if (b == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (b == 0xED)
            hi = 0x9F; /* no surrogates U+D800..U+DFFF */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        v = b & 0x07u;
        if (b == 0xF0)
            lo = 0x90; /* no overlongs */
        else if (b == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if (len < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    v = (v << 6) | (s[1] & 0x3Fu);
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return n;
}

bool tl_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_next(&cp, s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool tl_note_text_valid(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 && s[i] != '\n')
            return false;
    }
    return tl_utf8_valid(s, len);
}

/* Go unicode.IsSpace: the Unicode White_Space property (reference/c2sp-formats.md §1). */
static bool is_unicode_space(uint32_t cp)
{
    switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

bool tl_keyname_valid(const char *name, size_t len)
{
    if (len == 0)
        return false;
    const uint8_t *s = (const uint8_t *)name;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_next(&cp, s + i, len - i);
        if (n == 0 || cp == '+' || is_unicode_space(cp))
            return false;
        i += n;
    }
    return true;
}
