/* rulesfile.c - finding the ruleset a log is under: a file given by --ruleset, else the one
 * its registry names by SHA-256, looked up by name in the source tree's rules/ (set at build
 * time) or $TREATYLOG_RULES. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "cli.h"
#include "treatylog/registry.h"
#include "treatylog/ruleset.h"

#ifndef TL_RULES_DIR
#define TL_RULES_DIR "rules"
#endif

void cli_ruleset_free(cli_ruleset *r)
{
    tl_ruleset_free(r->rs);
    free(r->text);
    memset(r, 0, sizeof *r);
}

static tl_err load(cli_ruleset *r, const char *path, const char *name, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, TL_RULESET_MAX, &buf, &len, d);
    if (e != TL_OK)
        return e;
    SHA256(buf, len, r->sha256);
    const char *base = strrchr(name, '/');
    snprintf(r->name, sizeof r->name, "%s", base ? base + 1 : name);
    e = tl_ruleset_parse(&r->rs, r->name, (const char *)buf, len, d);
    if (e != TL_OK) {
        free(buf);
        return e;
    }
    r->text = (char *)buf;
    r->len = len;
    return TL_OK;
}

tl_err cli_load_ruleset(const char *file, const tl_registry *reg, cli_ruleset *r, tl_diag *d)
{
    memset(r, 0, sizeof *r);
    if (file)
        return load(r, file, file, d);
    if (!reg || reg->nrulesets == 0)
        return tl_fail(d, TL_ERR_NOTFOUND, "the registry names no ruleset: give --ruleset FILE");
    const char *env = getenv("TREATYLOG_RULES");
    const char *dir = env && env[0] ? env : TL_RULES_DIR;
    for (size_t i = 0; i < reg->nrulesets; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, reg->rulesets[i].name);
        cli_ruleset c;
        memset(&c, 0, sizeof c);
        tl_diag ld;
        if (load(&c, path, reg->rulesets[i].name, &ld) != TL_OK)
            continue;
        if (memcmp(c.sha256, reg->rulesets[i].sha256, sizeof c.sha256) == 0) {
            *r = c;
            return TL_OK;
        }
        cli_ruleset_free(&c);
    }
    return tl_fail(d, TL_ERR_NOTFOUND,
                   "none of the rulesets the registry names (%s, ...) is in %s with the "
                   "registered SHA-256: give --ruleset FILE",
                   reg->rulesets[0].name, dir);
}
