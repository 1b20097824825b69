/* fuzz_ruleset.c - libFuzzer target for treatylog/rules/v1 rulesets (src/rules/ruleset.c) and
 * the engine built from what parses (src/rules/engine.c).
 *
 * Properties (a violation traps):
 *   - tl_ruleset_parse returns only OK, FORMAT or TOOBIG; on error *out is NULL and the message
 *     is one printable line that starts with "f.rules:<line>:<column>: " (or the size error);
 *   - on success every rule has an id, a known kind, a confidence mark of C, V, P or PC, and
 *     params JSON that jansson parses as an object; tl_ruleset_find finds each rule;
 *   - an engine builds from it, accepts an empty witnessed checkpoint and lists no findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treatylog/rules.h"
#include "treatylog/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    tl_ruleset *rs = (tl_ruleset *)buf; /* must be overwritten */
    tl_diag d = {{0}};
    tl_err e = tl_ruleset_parse(&rs, "f.rules", buf, size, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    if (e != TL_OK) {
        check(rs == NULL);
        size_t n = strnlen(d.msg, sizeof d.msg);
        check(n > 0 && n < sizeof d.msg);
        for (size_t i = 0; i < n; i++)
            check((unsigned char)d.msg[i] >= 0x20 && (unsigned char)d.msg[i] != 0x7f);
        check(strncmp(d.msg, "f.rules:", 8) == 0);
        free(buf);
        return 0;
    }
    for (size_t i = 0; i < tl_ruleset_count(rs); i++) {
        const tl_rule *r = tl_ruleset_rule(rs, i);
        check(r != NULL && tl_ruleset_find(rs, tl_rule_id(r)) == r);
        const char *c = tl_rule_confidence(r);
        check(!strcmp(c, "C") || !strcmp(c, "V") || !strcmp(c, "P") || !strcmp(c, "PC"));
        check(strlen(tl_rule_kind(r)) > 0);
        json_error_t je;
        json_t *j = json_loads(tl_rule_params_json(r), JSON_REJECT_DUPLICATES, &je);
        check(json_is_object(j));
        json_decref(j);
    }
    tl_engine *en = tl_engine_new(rs);
    check(en != NULL);
    check(tl_engine_witnessed(en, 0, 0, &d) == TL_OK);
    char *t = NULL;
    size_t tl = 0;
    check(tl_engine_findings_text(en, 0, &t, &tl) == TL_OK && tl == 0);
    free(t);
    tl_engine_free(en);
    tl_ruleset_free(rs);
    free(buf);
    return 0;
}
