/* fuzz_ruleset.c - libFuzzer target for treatylog/rules/v1 rulesets (src/rules/ruleset.c) and
 * the engine run over notifications with them (src/rules/engine.c, findings.c).
 *
 * Input: a ruleset text, optionally followed by a line "---" and then notifications, one JSON
 * object per line (canonicalised with tl_notification_from_json, parsed with the schemas of
 * $TL_SCHEMAS or of this source tree). Entry i is logged at 2022-02-11T00:00:00Z + i hours
 * and its leaf hash is SHA-256 of its notification text (seeds reference entries that way).
 * A checkpoint of every third size is witnessed 30 minutes after its last entry.
 *
 * Properties (a violation traps):
 *   - tl_ruleset_parse returns only OK, FORMAT or TOOBIG; on error *out is NULL and the message
 *     is one printable line starting "f.rules:<line>:<column>: " (or the size message);
 *   - on success every rule has an id found by tl_ruleset_find, a confidence of C, V, P or PC
 *     and params JSON that parses as an object;
 *   - the engine accepts every parsed notification, and two engines, one told of each
 *     checkpoint at once and one only after all entries, list byte-identical findings as of
 *     every size; every finding line is a JSON object whose keys are those of decision 0003,
 *     in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treatylog/hash.h"
#include "treatylog/notification.h"
#include "treatylog/rules.h"
#include "treatylog/ruleset.h"
#include "treatylog/schema.h"

#include "fuzz_schemas.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE_MS  1644537600000LL /* 2022-02-11T00:00:00Z */
#define MAX_NOTE 64

/* Loaded once by LLVMFuzzerInitialize, read-only afterwards. */
static tl_schemas *schemas;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    schemas = fuzz_schemas("fuzz_ruleset");
    return 0;
}

static const char *const KEYS[] = {"id",      "rule", "state", "severity", "parties",    "trigger",
                                   "entries", "due",  "why",   "params",   "confidence", "range"};

static void check_lines(const char *t, size_t len)
{
    const char *p = t, *end = t + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        check(nl != NULL);
        json_error_t je;
        json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &je);
        check(json_is_object(j) && json_object_size(j) == 12);
        /* Keys in order: each one's position in the text grows. */
        const char *last = p;
        for (size_t k = 0; k < 12; k++) {
            char key[24];
            snprintf(key, sizeof key, "\"%s\":", KEYS[k]);
            const char *at = strstr(last, key);
            check(at != NULL && at < nl);
            last = at;
        }
        json_decref(j);
        p = nl + 1;
    }
}

static void run_engine(const tl_ruleset *rs, const char *notes, size_t nlen)
{
    tl_engine *a = tl_engine_new(rs), *b = tl_engine_new(rs);
    check(a && b);
    tl_diag d = {{0}};
    uint64_t n = 0;
    const char *p = notes, *end = notes + nlen;
    while (p < end && n < MAX_NOTE) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *text = NULL;
        size_t tlen = 0;
        tl_notification nt;
        if (tl_notification_from_json(&text, &tlen, schemas, p, ll, &d) == TL_OK &&
            tl_notification_parse(&nt, schemas, text, tlen, &d) == TL_OK) {
            uint8_t leaf[TL_HASH_LEN];
            tl_sha256(leaf, text, tlen);
            uint64_t logged = (uint64_t)(BASE_MS + (int64_t)n * 3600000);
            check(tl_engine_add(a, n, logged, leaf, &nt, &d) == TL_OK);
            check(tl_engine_add(b, n, logged, leaf, &nt, &d) == TL_OK);
            tl_notification_free(&nt);
            n++;
            if (n % 3 == 0)
                check(tl_engine_witnessed(a, n, (int64_t)(logged / 1000) + 1800, &d) == TL_OK);
        }
        free(text);
        p += ll + 1;
    }
    for (uint64_t s = 3; s <= n; s += 3)
        check(tl_engine_witnessed(b, s, (BASE_MS + (int64_t)(s - 1) * 3600000) / 1000 + 1800, &d) ==
              TL_OK);
    for (uint64_t s = 0; s <= n; s++) {
        char *ta = NULL, *tb = NULL;
        size_t la = 0, lb = 0;
        check(tl_engine_findings_text(a, s, &ta, &la) == TL_OK);
        check(tl_engine_findings_text(b, s, &tb, &lb) == TL_OK);
        check(la == lb && memcmp(ta, tb, la) == 0);
        if (s == n)
            check_lines(ta, la);
        free(ta);
        free(tb);
    }
    tl_engine_free(a);
    tl_engine_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    /* The ruleset ends at a line "---". */
    size_t rlen = size;
    const char *notes = NULL;
    size_t nlen = 0;
    for (size_t i = 0; i + 4 <= size; i++) {
        if ((i == 0 || buf[i - 1] == '\n') && memcmp(buf + i, "---\n", 4) == 0) {
            rlen = i;
            notes = buf + i + 4;
            nlen = size - i - 4;
            break;
        }
    }
    tl_ruleset *rs = (tl_ruleset *)buf; /* must be overwritten */
    tl_diag d = {{0}};
    tl_err e = tl_ruleset_parse(&rs, "f.rules", buf, rlen, &d);
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
    run_engine(rs, notes ? notes : "", nlen);
    tl_ruleset_free(rs);
    free(buf);
    return 0;
}
