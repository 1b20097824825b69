/* entry.c - the treaty-mode entry layout (entry.h). */
#include "treatylog/entry.h"

#include <stdio.h>
#include <string.h>

#include "treatylog/text.h"

size_t tl_entry_head(char head[static TL_ENTRY_HEAD_MAX], uint64_t logged_ms)
{
    int n = snprintf(head, TL_ENTRY_HEAD_MAX, TL_ENTRY_V1_HEADER "logged %llu\n\n",
                     (unsigned long long)logged_ms);
    return (size_t)n;
}

tl_err tl_entry_parse(const uint8_t *e, size_t len, uint64_t *logged_ms, const uint8_t **sub,
                      size_t *sublen, tl_diag *d)
{
    static const char lg[] = "logged ";
    const char *p = (const char *)e;
    if (len < TL_ENTRY_V1_HEADER_LEN || memcmp(p, TL_ENTRY_V1_HEADER, TL_ENTRY_V1_HEADER_LEN) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "entry: first line is not \"treatylog/entry/v1\"");
    size_t i = TL_ENTRY_V1_HEADER_LEN;
    if (len - i < sizeof lg - 1 || memcmp(p + i, lg, sizeof lg - 1) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "entry: second line is not \"logged <unix ms>\"");
    i += sizeof lg - 1;
    size_t j = i;
    while (j < len && j - i <= 20 && p[j] != '\n')
        j++;
    if (j >= len || p[j] != '\n')
        return tl_fail(d, TL_ERR_FORMAT, "entry: the logged line does not end");
    uint64_t v = 0;
    if (tl_parse_u64(&v, p + i, j - i) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "entry: logged time \"%.*s\" is not a canonical decimal",
                       (int)(j - i), p + i);
    if (j + 1 >= len || p[j + 1] != '\n')
        return tl_fail(d, TL_ERR_FORMAT, "entry: no empty line after the logged time");
    if (j + 2 >= len)
        return tl_fail(d, TL_ERR_FORMAT, "entry: no submission after the header");
    *logged_ms = v;
    *sub = e + j + 2;
    *sublen = len - (j + 2);
    return TL_OK;
}

void tl_submission_key(uint8_t out[static TL_HASH_LEN], const uint8_t *sub, size_t len)
{
    tl_leaf_hash(out, sub, len);
}
