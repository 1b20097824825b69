/* util.c - helpers shared by the subcommands: exit codes, messages, file and key loading. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "treatylog/schema.h"
#include "treatylog/store.h"
#include "treatylog/text.h"

int cli_exit_code(tl_err e)
{
    switch (e) {
    case TL_OK:
        return 0;
    case TL_ERR_SIGNATURE:
    case TL_ERR_PROOF:
    case TL_ERR_QUORUM:
    case TL_ERR_CONFLICT:
        return EXIT_VERIFY;
    case TL_ERR_NOMEM:
    case TL_ERR_IO:
    case TL_ERR_FORMAT:
    case TL_ERR_PUSHBACK:
    case TL_ERR_INTERNAL:
    case TL_ERR_NOTFOUND:
    case TL_ERR_RANGE:
    case TL_ERR_USAGE:
    case TL_ERR_LOCKED:
    case TL_ERR_TOOBIG:
        return EXIT_USAGE;
    }
    return EXIT_USAGE;
}

int cli_fail(const char *cmd, tl_err e, const tl_diag *d)
{
    const char *msg = d && d->msg[0] ? d->msg : tl_strerror(e);
    fprintf(stderr, "treatylog %s: %s\n", cmd, msg);
    return cli_exit_code(e);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "treatylog %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "Try 'treatylog help' for usage.\n");
    return EXIT_USAGE;
}

tl_err cli_read_file(const char *path, size_t max, uint8_t **out, size_t *outlen, tl_diag *d)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return tl_fail(d, errno == ENOENT ? TL_ERR_NOTFOUND : TL_ERR_IO, "%s: %s", path,
                       strerror(errno));
    size_t cap = 65536, len = 0;
    uint8_t *buf = malloc(cap);
    tl_err e = buf ? TL_OK : tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
    while (e == TL_OK) {
        if (len == cap) {
            if (cap > max) {
                e = tl_fail(d, TL_ERR_TOOBIG, "%s: larger than %zu bytes", path, max);
                break;
            }
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                e = tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
                break;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                e = tl_fail(d, TL_ERR_IO, "%s: read error", path);
            break;
        }
    }
    if (e == TL_OK && len > max)
        e = tl_fail(d, TL_ERR_TOOBIG, "%s: %zu bytes, larger than %zu", path, len, max);
    if (e == TL_OK && len == cap) {
        uint8_t *nb = realloc(buf, cap + 1);
        if (!nb)
            e = tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
        else
            buf = nb;
    }
    if (f != stdin)
        fclose(f);
    if (e != TL_OK) {
        free(buf);
        return e;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return TL_OK;
}

tl_err cli_load_vkey(const char *arg, tl_vkey *out, tl_diag *d)
{
    /* Key text contains '+' and no '/'-free file name is likely to; try the text first. */
    tl_diag d1;
    if (tl_vkey_parse(out, arg, strlen(arg), &d1) == TL_OK)
        return TL_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(arg, 4096, &buf, &len, d);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, TL_ERR_USAGE, "%s is neither a verifier key (%s) nor a key file",
                       arg, d1.msg);
    if (e != TL_OK)
        return e;
    while (len > 0 && (buf[len - 1] == '\n'))
        len--;
    e = tl_vkey_parse(out, (const char *)buf, len, d);
    free(buf);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "%s", arg);
    return TL_OK;
}

tl_err cli_load_policy(const char *policy_path, const char *vkey_arg, tl_policy **out,
                       tl_diag *d)
{
    tl_policy *p = tl_policy_new();
    if (!p)
        return tl_fail(d, TL_ERR_NOMEM, "policy");
    tl_err e = TL_OK;
    if (policy_path) {
        uint8_t *buf = NULL;
        size_t len = 0;
        e = cli_read_file(policy_path, TL_POLICY_TEXT_MAX, &buf, &len, d);
        if (e == TL_OK) {
            e = tl_policy_parse(p, (const char *)buf, len, d);
            if (e != TL_OK)
                e = tl_diag_prefix(d, e, "%s", policy_path);
            free(buf);
        }
        if (e == TL_OK && vkey_arg) {
            tl_vkey k;
            e = cli_load_vkey(vkey_arg, &k, d);
            bool found = false;
            for (size_t i = 0; e == TL_OK && i < p->nlogs; i++)
                found = found || tl_vkey_equal(&p->logs[i].key, &k);
            if (e == TL_OK && !found)
                e = tl_fail(d, TL_ERR_USAGE, "--vkey %s is not a log of policy %s", vkey_arg,
                            policy_path);
        }
    } else if (vkey_arg) {
        tl_vkey k;
        e = cli_load_vkey(vkey_arg, &k, d);
        if (e == TL_OK)
            tl_policy_single_log(p, &k);
    } else {
        e = tl_fail(d, TL_ERR_USAGE, "need --vkey VKEY or --policy FILE");
    }
    if (e != TL_OK) {
        free(p);
        return e;
    }
    *out = p;
    return TL_OK;
}

tl_err cli_parse_u64(const char *s, uint64_t *out, tl_diag *d)
{
    if (tl_parse_u64(out, s, strlen(s)) != TL_OK)
        return tl_fail(d, TL_ERR_USAGE,
                       "'%s' is not a number (decimal digits, no sign, no leading zero)", s);
    return TL_OK;
}

bool cli_write_stdout(const void *buf, size_t len)
{
    return fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0;
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts, size_t nopts,
              const char **pos, size_t maxpos, size_t *npos)
{
    *npos = 0;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            const cli_opt *o = NULL;
            for (size_t k = 0; k < nopts; k++) {
                if (strcmp(a + 2, opts[k].name) == 0)
                    o = &opts[k];
            }
            if (!o)
                return cli_usage(cmd, "unknown option %s", a);
            if (o->flag) {
                *o->flag = true;
            } else {
                if (i + 1 >= argc)
                    return cli_usage(cmd, "option %s needs a value", a);
                *o->value = argv[++i];
            }
            continue;
        }
        if (*npos >= maxpos)
            return cli_usage(cmd, "unexpected argument '%s'", a);
        pos[(*npos)++] = a;
    }
    return 0;
}

#ifndef TL_SCHEMAS_DIR
#define TL_SCHEMAS_DIR "schemas"
#endif

tl_err cli_load_schemas(const char *dir, tl_schemas **out, tl_diag *d)
{
    if (!dir) {
        const char *env = getenv("TREATYLOG_SCHEMAS");
        dir = env && env[0] ? env : TL_SCHEMAS_DIR;
    }
    return tl_schemas_load(out, dir, d);
}

tl_err cli_log_key(tl_store *st, const char *vkey_arg, tl_vkey *k, tl_diag *d)
{
    if (vkey_arg)
        return cli_load_vkey(vkey_arg, k, d);
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = st->ops->read(st, ".treatylog/log.vkey", &buf, &len, d);
    if (e == TL_ERR_NOTFOUND || e == TL_ERR_USAGE)
        return tl_fail(d, TL_ERR_USAGE, "give the log's verifier key with --vkey");
    if (e != TL_OK)
        return e;
    while (len > 0 && buf[len - 1] == '\n')
        len--;
    e = tl_vkey_parse(k, (const char *)buf, len, d);
    free(buf);
    return e;
}

tl_err cli_load_skey(const char *path, uint8_t type, tl_skey *k, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, 4096, &buf, &len, d);
    if (e != TL_OK)
        return e;
    size_t n = len;
    while (n > 0 && buf[n - 1] == '\n')
        n--;
    e = tl_skey_parse(k, (const char *)buf, n, d);
    sodium_memzero(buf, len);
    free(buf);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "%s", path);
    if (k->vkey.type != type) {
        tl_skey_wipe(k);
        return tl_fail(d, TL_ERR_USAGE,
                       type == TL_KEY_COSIG_V1
                           ? "%s is not a witness key (type 0x04); make one with treatylog "
                             "keygen NAME --out PREFIX --witness"
                           : "%s is a witness key (type 0x04), not a signing key: make one "
                             "with treatylog keygen NAME --out PREFIX",
                       path);
    }
    return TL_OK;
}
