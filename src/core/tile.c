/* tile.c - C2SP tlog-tiles v0.1.0 coordinates, implements https://c2sp.org/tlog-tiles:
 * canonical tile paths, the tile inventory of a tree size, where a tree node lives, and
 * entry bundles. See reference/c2sp-formats.md §6.
 *
 *   path   = "tile/" ( <L> | "entries" ) "/" <N> [ ".p/" <W> ]
 *   <L>    = decimal 0..63, no leading zero
 *   <N>    = *( "x" 3DIGIT "/" ) 3DIGIT    base 1000, most significant first, no "x000" lead
 *   <W>    = decimal 1..255, no leading zero (only on partial tiles)
 *
 *   hash tile, level L, index N: W (<= 256) hashes of 32 bytes, entry i =
 *       MTH of the perfect subtree (height 8L, index 256N + i)
 *   bundle = entry*        entry = u16_be(len) || bytes[len]        0 <= len <= 65535
 */
#include "treatylog/tile.h"

#include <assert.h>
#include <string.h>

#include "treatylog/text.h"

/* Appends the decimal digits of v (no padding) at p; returns the new end. */
static char *put_dec(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static char *put_group(char *p, unsigned g)
{
    assert(g < 1000);
    *p++ = (char)('0' + g / 100);
    *p++ = (char)('0' + g / 10 % 10);
    *p++ = (char)('0' + g % 10);
    return p;
}

size_t tl_tile_path(char out[static TL_TILE_PATH_MAX], const tl_tile *t)
{
    assert(t->width >= 1 && t->width <= TL_TILE_WIDTH);
    assert(t->level <= TL_TILE_LEVEL_MAX);
    assert(!t->entries || t->level == 0);
    /* Longest: "tile/entries/" (13) + 7 groups "x018/x446/.../615" (33) + ".p/255" (6). */
    char *p = out;
    memcpy(p, "tile/", 5);
    p += 5;
    if (t->entries) {
        memcpy(p, "entries", 7);
        p += 7;
    } else {
        p = put_dec(p, t->level);
    }
    *p++ = '/';
    unsigned groups[7]; /* base-1000 digits, least significant first; 2^64 has 7 */
    size_t ng = 0;
    uint64_t n = t->index;
    do {
        groups[ng++] = (unsigned)(n % 1000);
        n /= 1000;
    } while (n != 0);
    while (ng > 1) {
        *p++ = 'x';
        p = put_group(p, groups[--ng]);
        *p++ = '/';
    }
    p = put_group(p, groups[0]);
    if (t->width < TL_TILE_WIDTH) {
        memcpy(p, ".p/", 3);
        p += 3;
        p = put_dec(p, t->width);
    }
    *p = '\0';
    size_t len = (size_t)(p - out);
    assert(len < TL_TILE_PATH_MAX);
    return len;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads a 3-digit group at s[*pos]; false if there are not three digits. */
static bool get_group(const char *s, size_t len, size_t *pos, unsigned *g)
{
    if (len - *pos < 3 || !is_digit(s[*pos]) || !is_digit(s[*pos + 1]) || !is_digit(s[*pos + 2]))
        return false;
    *g = (unsigned)(s[*pos] - '0') * 100 + (unsigned)(s[*pos + 1] - '0') * 10 +
         (unsigned)(s[*pos + 2] - '0');
    *pos += 3;
    return true;
}

tl_err tl_tile_path_parse(tl_tile *out, const char *path, size_t len, tl_diag *d)
{
    size_t pos = 0;
    if (len > 0 && path[0] == '/')
        pos = 1;
    if (len - pos < 5 || memcmp(path + pos, "tile/", 5) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "tile path: does not start with tile/");
    pos += 5;

    tl_tile t = {.entries = false, .level = 0, .index = 0, .width = TL_TILE_WIDTH};
    if (len - pos >= 8 && memcmp(path + pos, "entries/", 8) == 0) {
        t.entries = true;
        pos += 8;
    } else {
        size_t start = pos;
        while (pos < len && path[pos] != '/')
            pos++;
        uint64_t level = 0;
        if (pos == len)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: no tile index");
        if (tl_parse_u64(&level, path + start, pos - start) != TL_OK)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: level is not a canonical decimal");
        if (level > TL_TILE_LEVEL_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: level %llu above %d",
                           (unsigned long long)level, TL_TILE_LEVEL_MAX);
        t.level = (uint8_t)level;
        pos++; /* the '/' */
    }

    /* <N>: "x"-prefixed groups, then the last group. */
    uint64_t n = 0;
    bool first = true;
    for (;;) {
        bool x = pos < len && path[pos] == 'x';
        if (x)
            pos++;
        unsigned g = 0;
        if (!get_group(path, len, &pos, &g))
            return tl_fail(d, TL_ERR_FORMAT, "tile path: index group is not 3 digits");
        if (x && first && g == 0)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: index has a leading x000 group");
        if (n > (UINT64_MAX - g) / 1000)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: index overflows 64 bits");
        n = n * 1000 + g;
        first = false;
        if (!x)
            break;
        if (pos >= len || path[pos] != '/')
            return tl_fail(d, TL_ERR_FORMAT, "tile path: x group not followed by /");
        pos++;
    }
    t.index = n;

    if (pos < len) {
        if (len - pos < 3 || memcmp(path + pos, ".p/", 3) != 0)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: junk after the index");
        pos += 3;
        uint64_t w = 0;
        if (tl_parse_u64(&w, path + pos, len - pos) != TL_OK)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: width is not a canonical decimal");
        if (w < 1 || w >= TL_TILE_WIDTH)
            return tl_fail(d, TL_ERR_FORMAT, "tile path: partial width %llu not in 1..255",
                           (unsigned long long)w);
        t.width = (uint16_t)w;
    }
    *out = t;
    return TL_OK;
}

uint64_t tl_tile_level_count(uint64_t size, unsigned level)
{
    if (level >= 8) /* 256^8 = 2^64 */
        return 0;
    return size >> (TL_TILE_HEIGHT * level);
}

bool tl_tile_for_size(tl_tile *out, bool entries, unsigned level, uint64_t index, uint64_t size)
{
    if (level > TL_TILE_LEVEL_MAX || (entries && level != 0))
        return false;
    uint64_t cnt = tl_tile_level_count(size, level);
    uint64_t full = cnt / TL_TILE_WIDTH;
    unsigned w = (unsigned)(cnt % TL_TILE_WIDTH);
    uint16_t width;
    if (index < full)
        width = TL_TILE_WIDTH;
    else if (index == full && w > 0)
        width = (uint16_t)w; /* partial: the leftmost w entries */
    else
        return false;        /* not yet begun; empty tiles are never served */
    out->entries = entries;
    out->level = (uint8_t)level;
    out->index = index;
    out->width = width;
    return true;
}

void tl_tile_locate(tl_tile *t, unsigned *first, unsigned height, uint64_t index)
{
    assert(height < 64);
    unsigned r = height % TL_TILE_HEIGHT;
    /* The node is the subtree over entries [o, o + 2^r) of tile N at level height/8, where
     * index * 2^r = N * 256 + o. Only the low 8 bits of index << r matter for o. */
    unsigned o = (unsigned)((index << r) & (TL_TILE_WIDTH - 1));
    t->entries = false;
    t->level = (uint8_t)(height / TL_TILE_HEIGHT);
    t->index = index >> (TL_TILE_HEIGHT - r);
    t->width = (uint16_t)(o + (1u << r));
    *first = o;
}

void tl_tile_subtree_hash(uint8_t out[static TL_HASH_LEN], const uint8_t *hashes, unsigned count)
{
    assert(count >= 1 && count <= TL_TILE_WIDTH && (count & (count - 1)) == 0);
    /* Fold left to right keeping one pending left sibling per height (at most 9). */
    uint8_t stack[TL_TILE_HEIGHT + 1][TL_HASH_LEN];
    for (unsigned i = 0; i < count; i++) {
        uint8_t carry[TL_HASH_LEN];
        memcpy(carry, hashes + (size_t)i * TL_HASH_LEN, TL_HASH_LEN);
        unsigned h = 0;
        while ((i >> h) & 1) {
            tl_node_hash(carry, stack[h], carry);
            h++;
        }
        memcpy(stack[h], carry, TL_HASH_LEN);
    }
    memcpy(out, stack[__builtin_ctz(count)], TL_HASH_LEN);
}

tl_err tl_bundle_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **entry,
                      size_t *elen)
{
    size_t p = *pos;
    if (p == len)
        return TL_ERR_NOTFOUND;
    if (p > len || len - p < 2)
        return TL_ERR_FORMAT;
    size_t n = (size_t)buf[p] << 8 | buf[p + 1];
    if (len - p - 2 < n)
        return TL_ERR_FORMAT;
    *entry = buf + p + 2;
    *elen = n;
    *pos = p + 2 + n;
    return TL_OK;
}

size_t tl_bundle_put(uint8_t *out, const uint8_t *entry, size_t elen)
{
    if (elen > TL_ENTRY_MAX)
        return 0;
    out[0] = (uint8_t)(elen >> 8);
    out[1] = (uint8_t)(elen & 0xff);
    if (elen > 0)
        memcpy(out + 2, entry, elen);
    return elen + 2;
}
