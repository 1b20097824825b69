/* util.c - the rules engine's small tools: hash maps (leaf hash, u64, string keys), a growable
 * text buffer with JSON string escaping, UTC calendar arithmetic and body field access. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"
#include "treatylog/values.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

void *grow_array(void *p, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc < n + 1 || nc > SIZE_MAX / elem)
        return NULL;
    void *np = realloc(p, nc * elem);
    if (np)
        *cap = nc;
    return np;
}

/* u64map ------------------------------------------------------------------------------ */

bool u64map_get(const u64map *m, uint64_t key, uint64_t *val)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)mix64(key) & mask;; i = (i + 1) & mask) {
        if (m->keys[i] == UINT64_MAX)
            return false;
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return true;
        }
    }
}

static bool u64map_grow(u64map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    uint64_t *k = malloc(nc * sizeof *k);
    uint64_t *v = malloc(nc * sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return false;
    }
    memset(k, 0xff, nc * sizeof *k);
    for (size_t j = 0; j < m->cap; j++) {
        if (m->keys[j] == UINT64_MAX)
            continue;
        size_t i = (size_t)mix64(m->keys[j]) & (nc - 1);
        while (k[i] != UINT64_MAX)
            i = (i + 1) & (nc - 1);
        k[i] = m->keys[j];
        v[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = nc;
    return true;
}

bool u64map_put(u64map *m, uint64_t key, uint64_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && !u64map_grow(m))
        return false;
    size_t mask = m->cap - 1;
    size_t i = (size_t)mix64(key) & mask;
    while (m->keys[i] != UINT64_MAX && m->keys[i] != key)
        i = (i + 1) & mask;
    if (m->keys[i] == UINT64_MAX) {
        m->keys[i] = key;
        m->n++;
    }
    m->vals[i] = val;
    return true;
}

void u64map_free(u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* strmap ------------------------------------------------------------------------------ */

static uint64_t str_hash(const char *k, size_t kl)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < kl; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    h = mix64(h);
    return h ? h : 1;
}

bool strmap_get(const strmap *m, const char *k, size_t kl, uint64_t *val)
{
    if (!m->cap)
        return false;
    uint64_t h = str_hash(k, kl);
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (!m->hashes[i])
            return false;
        if (m->hashes[i] == h && m->klen[i] == kl && memcmp(m->arena + m->koff[i], k, kl) == 0) {
            *val = m->vals[i];
            return true;
        }
    }
}

static bool strmap_grow(strmap *m)
{
    size_t nc = m->cap ? m->cap * 2 : 64;
    uint64_t *h = calloc(nc, sizeof *h);
    uint32_t *ko = malloc(nc * sizeof *ko);
    uint32_t *kl = malloc(nc * sizeof *kl);
    uint64_t *v = malloc(nc * sizeof *v);
    if (!h || !ko || !kl || !v) {
        free(h);
        free(ko);
        free(kl);
        free(v);
        return false;
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->hashes[j])
            continue;
        size_t i = (size_t)m->hashes[j] & (nc - 1);
        while (h[i])
            i = (i + 1) & (nc - 1);
        h[i] = m->hashes[j];
        ko[i] = m->koff[j];
        kl[i] = m->klen[j];
        v[i] = m->vals[j];
    }
    free(m->hashes);
    free(m->koff);
    free(m->klen);
    free(m->vals);
    m->hashes = h;
    m->koff = ko;
    m->klen = kl;
    m->vals = v;
    m->cap = nc;
    return true;
}

bool strmap_put(strmap *m, const char *k, size_t kl, uint64_t val)
{
    if ((m->n + 1) * 4 > m->cap * 3 && !strmap_grow(m))
        return false;
    uint64_t h = str_hash(k, kl);
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    while (m->hashes[i]) {
        if (m->hashes[i] == h && m->klen[i] == kl && memcmp(m->arena + m->koff[i], k, kl) == 0) {
            m->vals[i] = val;
            return true;
        }
        i = (i + 1) & mask;
    }
    if (m->alen + kl > UINT32_MAX)
        return false;
    if (m->alen + kl + 1 > m->acap) {
        size_t nc = (m->acap + kl + 1) * 2;
        char *na = realloc(m->arena, nc);
        if (!na)
            return false;
        m->arena = na;
        m->acap = nc;
    }
    memcpy(m->arena + m->alen, k, kl);
    m->hashes[i] = h;
    m->koff[i] = (uint32_t)m->alen;
    m->klen[i] = (uint32_t)kl;
    m->vals[i] = val;
    m->alen += kl;
    m->n++;
    return true;
}

void strmap_free(strmap *m)
{
    free(m->hashes);
    free(m->koff);
    free(m->klen);
    free(m->vals);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

/* leafmap ----------------------------------------------------------------------------- */

static uint64_t leaf_key(const uint8_t leaf[32])
{
    uint64_t k;
    memcpy(&k, leaf, sizeof k);
    return mix64(k);
}

bool leafmap_get(const leafmap *m, const uint8_t leaf[32], uint64_t *index)
{
    if (!m->cap)
        return false;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)leaf_key(leaf) & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s)
            return false;
        if (memcmp(m->leaves[s - 1], leaf, 32) == 0) {
            *index = m->idx[s - 1];
            return true;
        }
    }
}

bool leafmap_put(leafmap *m, const uint8_t leaf[32], uint64_t index)
{
    if (m->n >= UINT32_MAX - 1)
        return false;
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 1024;
        uint32_t *ns = calloc(nc, sizeof *ns);
        uint8_t(*nl)[32] = realloc(m->leaves, (nc / 2) * sizeof *nl);
        if (nl)
            m->leaves = nl;
        uint64_t *ni = realloc(m->idx, (nc / 2) * sizeof *ni);
        if (ni)
            m->idx = ni;
        if (!ns || !nl || !ni) {
            free(ns);
            return false;
        }
        for (size_t p = 0; p < m->n; p++) {
            size_t i = (size_t)leaf_key(m->leaves[p]) & (nc - 1);
            while (ns[i])
                i = (i + 1) & (nc - 1);
            ns[i] = (uint32_t)(p + 1);
        }
        free(m->slots);
        m->slots = ns;
        m->cap = nc;
    }
    size_t mask = m->cap - 1;
    size_t i = (size_t)leaf_key(leaf) & mask;
    while (m->slots[i]) {
        if (memcmp(m->leaves[m->slots[i] - 1], leaf, 32) == 0)
            return true; /* the first entry with a leaf keeps it */
        i = (i + 1) & mask;
    }
    memcpy(m->leaves[m->n], leaf, 32);
    m->idx[m->n] = index;
    m->slots[i] = (uint32_t)(m->n + 1);
    m->n++;
    return true;
}

void leafmap_free(leafmap *m)
{
    free(m->slots);
    free(m->leaves);
    free(m->idx);
    memset(m, 0, sizeof *m);
}

/* buf --------------------------------------------------------------------------------- */

void buf_add(buf *b, const char *s, size_t n)
{
    if (!b->ok)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->cap + n + 1) * 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->ok = false;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void buf_str(buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_fmt(buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->ok = false; /* never silently cut */
        return;
    }
    buf_add(b, tmp, (size_t)n);
}

void buf_json_str(buf *b, const char *s)
{
    buf_add(b, "\"", 1);
    size_t start = 0, i = 0;
    for (; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        buf_add(b, s + start, i - start);
        if (c == '"')
            buf_add(b, "\\\"", 2);
        else if (c == '\\')
            buf_add(b, "\\\\", 2);
        else if (c == '\n')
            buf_add(b, "\\n", 2);
        else
            buf_fmt(b, "\\u%04x", c);
        start = i + 1;
    }
    buf_add(b, s + start, i - start);
    buf_add(b, "\"", 1);
}

/* Howard Hinnant's civil-date algorithms. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t year_of_ms(int64_t ms)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(floor_div(ms, DAY_MS), &y, &m, &d);
    return y;
}

void buf_time(buf *b, int64_t ms)
{
    int64_t days = floor_div(ms, DAY_MS);
    int64_t rem = ms - days * DAY_MS;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t s = rem / 1000;
    if (rem % 1000)
        buf_fmt(b, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", (long long)y, m, d,
                (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60),
                (long long)(rem % 1000));
    else
        buf_fmt(b, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
                (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
}

/* body fields ------------------------------------------------------------------------- */

const json_t *body_get(const json_t *body, const char *path)
{
    if (!strchr(path, '.'))
        return json_is_object(body) ? json_object_get(body, path) : NULL;
    const json_t *v = body;
    const char *p = path;
    char part[TL_RULE_WORD_MAX + 1];
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n > TL_RULE_WORD_MAX || !json_is_object(v))
            return NULL;
        memcpy(part, p, n);
        part[n] = 0;
        v = json_object_get(v, part);
        p += n + (dot ? 1 : 0);
    }
    return v;
}

bool body_int(const json_t *body, const char *path, int64_t *v)
{
    const json_t *j = body_get(body, path);
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return false;
    *v = (int64_t)json_integer_value(j);
    if (*v > COUNT_MAX)
        *v = COUNT_MAX; /* so that sums and percentages of counts cannot overflow */
    return true;
}

bool body_time(const json_t *body, const char *path, int64_t *ms, bool *is_date)
{
    const json_t *j = body_get(body, path);
    if (!json_is_string(j))
        return false;
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    int64_t v;
    if (tl_value_date(s, n, &v) == TL_OK) {
        *ms = v * DAY_MS;
        *is_date = true;
        return true;
    }
    if (tl_value_datetime(s, n, &v) == TL_OK) {
        *ms = v * 1000;
        *is_date = false;
        return true;
    }
    return false;
}

bool body_bool(const json_t *body, const char *path, bool *v)
{
    const json_t *j = body_get(body, path);
    if (!json_is_boolean(j))
        return false;
    *v = json_is_true(j);
    return true;
}
