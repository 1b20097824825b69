/* fuzz_tape.c - libFuzzer target comparing the fast path of strict JSON and notification
 * validation (src/domain/schema_tape.c) with the reference path (jansson + schema_json.c, and
 * the validator of schema.c), against the shipped schemas/ directory.
 *
 * Properties (a violation traps):
 *   - for the input as a whole and as the JSON line of a notification, in both one_line modes:
 *     whatever the fast path accepts, the reference path accepts, with the same tree (same
 *     compact dump, so same values and key order); tl_schema_parse_json gives the reference
 *     path's verdict and message;
 *   - a document the tape finds a valid notification, the reference validator finds valid;
 *   - tl_notification_parse and tl_notification_parse_ex(TL_NOTIFICATION_NO_DOC) give the same
 *     verdict and message, and decode the same fields.
 *
 * The schema directory is $TL_SCHEMAS, else schemas/ of the source tree this file is in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/domain/schema_int.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"

#include "fuzz_schemas.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loaded once by LLVMFuzzerInitialize, read-only afterwards. */
static tl_schemas *schemas;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    schemas = fuzz_schemas("fuzz_tape");
    return 0;
}

static bool same_dump(const json_t *a, const json_t *b)
{
    char *x = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
    char *y = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
    check(x && y);
    bool same = strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

static void json_differential(const char *buf, size_t len, bool one_line)
{
    json_t *fast = tl_schema_fast_json(buf, len, one_line);
    json_t *ref = NULL, *pub = NULL;
    tl_diag rd = {{0}}, pd = {{0}};
    tl_err re = tl_schema_parse_json_ref(&ref, buf, len, one_line, &rd);
    tl_err pe = tl_schema_parse_json(&pub, buf, len, one_line, &pd);
    check(pe == re);
    if (re != TL_OK) {
        check(fast == NULL);
        check(strcmp(pd.msg, rd.msg) == 0);
        return;
    }
    if (fast)
        check(same_dump(fast, ref));
    check(same_dump(pub, ref));
    /* A valid notification for the tape is one for the reference. */
    tl_tape tp;
    tl_tape_init(&tp);
    if (tl_tape_parse(&tp, buf, len, one_line)) {
        check(fast != NULL);
        const tl_msgtype *t = NULL;
        tl_diag vd = {{0}};
        if (tl_tape_valid_notification(schemas, &tp, &t))
            check(tl_schema_validate_notification(schemas, ref, &vd) == TL_OK);
    }
    tl_tape_free(&tp);
    json_decref(fast);
    json_decref(ref);
    json_decref(pub);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void notification_differential(const char *buf, size_t len)
{
    tl_notification a, b;
    tl_diag da = {{0}}, db = {{0}};
    tl_err ea = tl_notification_parse(&a, schemas, buf, len, &da);
    tl_err eb = tl_notification_parse_ex(&b, schemas, buf, len, TL_NOTIFICATION_NO_DOC, &db);
    check(ea == eb);
    if (ea != TL_OK) {
        check(strcmp(da.msg, db.msg) == 0);
        return;
    }
    check(b.doc == NULL);
    check(strcmp(a.type, b.type) == 0 && strcmp(a.from, b.from) == 0);
    check(a.serial == b.serial && a.sent == b.sent && a.to_all == b.to_all);
    check(a.nto == b.nto && a.nrefs == b.nrefs);
    check(a.nto == 0 || memcmp(a.to, b.to, a.nto * sizeof a.to[0]) == 0);
    check(a.nrefs == 0 || memcmp(a.refs, b.refs, a.nrefs * sizeof a.refs[0]) == 0);
    check(same_str(a.treaty_ref, b.treaty_ref) && same_str(a.remarks, b.remarks));
    check(json_equal(a.body, b.body));
    tl_notification_free(&a);
    tl_notification_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly-sized copy so ASan catches any read past the end. */
    char *buf = malloc(size ? size : 1);
    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    json_differential(buf, size, true);
    json_differential(buf, size, false);
    notification_differential(buf, size);
    /* The JSON line of a notification text. */
    if (size > TL_NOTIFICATION_HEADER_LEN + 1 &&
        memcmp(buf, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN) == 0) {
        const char *line = buf + TL_NOTIFICATION_HEADER_LEN;
        size_t llen = size - TL_NOTIFICATION_HEADER_LEN;
        if (line[llen - 1] == '\n')
            llen--;
        char *l = malloc(llen ? llen : 1);
        check(l != NULL);
        memcpy(l, line, llen);
        json_differential(l, llen, true);
        free(l);
    }
    free(buf);
    return 0;
}
