/* settings.c - settings that are both flags and config-file keys (serve, witness serve):
 * reading "key value" files and checking numbers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treatylog/text.h"

tl_err cli_read_settings(const char *path, cli_setting *set, size_t n, const char *repeat_key,
                         bool (*on_repeat)(void *ctx, const char *value), void *ctx, char **buf,
                         tl_diag *d)
{
    uint8_t *b = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, 1 << 20, &b, &len, d);
    if (e != TL_OK)
        return e;
    *buf = (char *)b;
    char *p = (char *)b;
    size_t lineno = 0;
    while (*p) {
        lineno++;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *k = p;
        while (*k == ' ' || *k == '\t')
            k++;
        p = nl ? nl + 1 : p + strlen(p);
        if (*k == '\0' || *k == '#')
            continue;
        char *v = k;
        while (*v && *v != ' ' && *v != '\t')
            v++;
        if (*v)
            *v++ = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        char *end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (*v == '\0')
            return tl_fail(d, TL_ERR_USAGE, "%s line %zu: '%s' needs a value", path, lineno, k);
        if (repeat_key && strcmp(k, repeat_key) == 0) {
            if (!on_repeat(ctx, v))
                return tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
            continue;
        }
        size_t i = 0;
        while (i < n && strcmp(set[i].name, k) != 0)
            i++;
        if (i == n)
            return tl_fail(d, TL_ERR_USAGE, "%s line %zu: unknown setting '%s'", path, lineno, k);
        if (!set[i].value)
            set[i].value = v;
    }
    return TL_OK;
}

tl_err cli_setting_u64(const cli_setting *s, uint64_t *out, uint64_t min, uint64_t max,
                       tl_diag *d)
{
    if (!s->value)
        return TL_OK;
    uint64_t v = 0;
    if (tl_parse_u64(&v, s->value, strlen(s->value)) != TL_OK || v < min || v > max)
        return tl_fail(d, TL_ERR_USAGE, "%s must be a number from %llu to %llu (got '%s')",
                       s->name, (unsigned long long)min, (unsigned long long)max, s->value);
    *out = v;
    return TL_OK;
}

tl_err cli_open_access_log(const char *value, FILE **log, FILE **owned, tl_diag *d)
{
    *owned = NULL;
    if (!value)
        return TL_OK;
    if (strcmp(value, "-") == 0) {
        *log = stderr;
        return TL_OK;
    }
    FILE *f = fopen(value, "a");
    if (!f)
        return tl_fail(d, TL_ERR_IO, "access log %s: %s", value, strerror(errno));
    *log = f;
    *owned = f;
    return TL_OK;
}
