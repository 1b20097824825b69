/* rulesfile.c - finding the ruleset a log is under: a file given by --ruleset, else the one
 * its registry names by SHA-256: the text logged with the registry if it was, else the file
 * of that name in the source tree's rules/ (set at build time) or $TREATYLOG_RULES. And the
 * other way, for `init --registry` and `registry add`: the texts to log with a registry
 * document, from those files (DESIGN §3: the ruleset's "text is itself logged"). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
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

static const char *rules_dir(void)
{
    const char *env = getenv("TREATYLOG_RULES");
    return env && env[0] ? env : TL_RULES_DIR;
}

tl_err cli_load_ruleset(const char *file, const tl_registry *reg, cli_ruleset *r, tl_diag *d)
{
    memset(r, 0, sizeof *r);
    if (file)
        return load(r, file, file, d);
    if (!reg || reg->nrulesets == 0)
        return tl_fail(d, TL_ERR_NOTFOUND, "the registry names no ruleset: give --ruleset FILE");
    /* Logged with the registry: its SHA-256 was checked when the entry was applied. */
    for (size_t i = 0; i < reg->nrulesets; i++) {
        const tl_registry_ruleset *lr = &reg->rulesets[i];
        if (!lr->text)
            continue;
        char *text = malloc(lr->text_len + 1);
        if (!text)
            return tl_fail(d, TL_ERR_NOMEM, "ruleset %s", lr->name);
        memcpy(text, lr->text, lr->text_len + 1);
        memcpy(r->sha256, lr->sha256, sizeof r->sha256);
        snprintf(r->name, sizeof r->name, "%s", lr->name);
        tl_err e = tl_ruleset_parse(&r->rs, r->name, text, lr->text_len, d);
        if (e != TL_OK) {
            free(text);
            memset(r, 0, sizeof *r);
            return tl_diag_prefix(d, e, "the ruleset %s logged with the registry", lr->name);
        }
        r->text = text;
        r->len = lr->text_len;
        return TL_OK;
    }
    const char *dir = rules_dir();
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

void cli_embed_ruleset_texts(json_t *doc, const char *what)
{
    json_t *list = json_object_get(doc, "rulesets");
    if (!json_is_array(list))
        return;
    const char *dir = rules_dir();
    bool added[TL_REGISTRY_RULESETS_MAX] = {false}, any = false;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *hex = json_string_value(json_object_get(item, "sha256"));
        if (i >= TL_REGISTRY_RULESETS_MAX || !json_is_object(item) || !name || !hex ||
            json_object_get(item, "text") || strchr(name, '/'))
            continue; /* malformed ones are refused, with the reason, by the registry parser */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        uint8_t *buf = NULL;
        size_t len = 0;
        tl_diag ld;
        uint8_t h[32];
        char hh[65];
        json_t *text = NULL;
        if (cli_read_file(path, TL_RULESET_MAX, &buf, &len, &ld) == TL_OK) {
            SHA256(buf, len, h);
            for (size_t k = 0; k < 32; k++)
                snprintf(hh + 2 * k, 3, "%02x", h[k]);
            if (strcmp(hh, hex) == 0 && len > 0)
                text = json_stringn((const char *)buf, len); /* NULL unless valid UTF-8 */
        }
        free(buf);
        if (text && json_object_set_new(item, "text", text) == 0)
            added[i] = any = true;
        else
            fprintf(stderr,
                    "treatylog %s: note: no file %s with the SHA-256 the registry names: the "
                    "ruleset's text is not logged with it (give rulesets[].text, or put the "
                    "file in %s)\n",
                    what, path, dir);
    }
    /* It must still fit in an entry, with room for the signatures: if not, the texts added
     * here go (texts the document gave itself stay, for the parser to judge). */
    char *js = any ? json_dumps(doc, JSON_COMPACT) : NULL;
    size_t jl = js ? strlen(js) : any ? SIZE_MAX : 0;
    free(js);
    if (jl > TL_REGISTRY_MAX - 4096) {
        json_array_foreach(list, i, item)
        {
            if (i < TL_REGISTRY_RULESETS_MAX && added[i])
                json_object_del(item, "text");
        }
        fprintf(stderr,
                "treatylog %s: note: with the rulesets' texts the registry document would not fit "
                "in an entry: the texts are not logged\n",
                what);
    }
}
