/* fuzz_notification.c - libFuzzer target for notification texts and the schema validator
 * (notification.c, schema.c, values.c), against the shipped schemas/ directory.
 *
 * Properties (a violation traps):
 *   - tl_notification_parse returns only OK, FORMAT or TOOBIG (TOOBIG only past 65,535 bytes),
 *     and every error message is one printable line;
 *   - whatever parses has a known type, a party code in from, serial >= 1, ["*"] or party
 *     codes in to, and its canonical text (tl_notification_from_json of the JSON line) parses
 *     to the same decoded fields and is a fixed point (canonical of canonical is itself);
 *   - tl_notification_from_json on the raw input returns OK, FORMAT or TOOBIG, and what it
 *     returns parses;
 *   - the sequencer hook (tl_notification_check_submission) returns OK, FORMAT or TOOBIG.
 *
 * The schema directory is $TL_SCHEMAS, else schemas/ of the source tree this file is in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
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
    schemas = fuzz_schemas("fuzz_notification");
    return 0;
}

static void check_diag(const tl_diag *d)
{
    size_t n = strnlen(d->msg, sizeof d->msg);
    check(n > 0 && n < sizeof d->msg);
    for (size_t i = 0; i < n; i++)
        check((unsigned char)d->msg[i] >= 0x20 && d->msg[i] != 0x7f);
}

static void check_decoded(const tl_notification *n)
{
    check(tl_schemas_find(schemas, n->type) != NULL);
    check(tl_value_party(n->from, strlen(n->from)));
    check(n->serial >= 1);
    check(n->to_all ? n->nto == 0 : n->nto >= 1);
    for (size_t i = 0; i < n->nto; i++)
        check(tl_value_party(n->to[i], strlen(n->to[i])));
    check(n->treaty_ref != NULL && json_is_object(n->body));
}

static bool same(const tl_notification *a, const tl_notification *b)
{
    return strcmp(a->type, b->type) == 0 && strcmp(a->from, b->from) == 0 &&
           a->serial == b->serial && a->sent == b->sent && a->to_all == b->to_all &&
           a->nto == b->nto && a->nrefs == b->nrefs &&
           (a->nto == 0 || memcmp(a->to, b->to, a->nto * sizeof a->to[0]) == 0) &&
           (a->nrefs == 0 || memcmp(a->refs, b->refs, a->nrefs * sizeof a->refs[0]) == 0) &&
           json_equal(a->doc, b->doc);
}

/* The canonical text of a parsed text's JSON line: it parses to the same thing and is a
 * fixed point. */
static void check_canonical(const tl_notification *n, const char *text, size_t len)
{
    const char *line = text + TL_NOTIFICATION_HEADER_LEN;
    size_t llen = len - TL_NOTIFICATION_HEADER_LEN - 1;
    char *c1 = NULL, *c2 = NULL;
    size_t l1 = 0, l2 = 0;
    tl_diag d;
    tl_err e = tl_notification_from_json(&c1, &l1, schemas, line, llen, &d);
    if (e == TL_ERR_TOOBIG)
        return; /* jansson may escape more than the input did */
    check(e == TL_OK);
    tl_notification m;
    check(tl_notification_parse(&m, schemas, c1, l1, &d) == TL_OK);
    check(same(n, &m));
    tl_notification_free(&m);
    check(tl_notification_from_json(&c2, &l2, schemas, c1 + TL_NOTIFICATION_HEADER_LEN,
                                    l1 - TL_NOTIFICATION_HEADER_LEN - 1, &d) == TL_OK);
    check(l1 == l2 && memcmp(c1, c2, l1) == 0);
    free(c1);
    free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly-sized copy so ASan catches any read past the end. */
    char *buf = malloc(size ? size : 1);
    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);

    tl_notification n;
    tl_diag d = {{0}};
    tl_err e = tl_notification_parse(&n, schemas, buf, size, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    check(e != TL_ERR_TOOBIG || size > TL_NOTIFICATION_MAX);
    if (e == TL_OK) {
        check_decoded(&n);
        check_canonical(&n, buf, size);
        tl_notification_free(&n);
    } else {
        check(n.doc == NULL && n.to == NULL && n.refs == NULL);
        check_diag(&d);
    }

    char *text = NULL;
    size_t len = 0;
    e = tl_notification_from_json(&text, &len, schemas, buf, size, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    if (e == TL_OK) {
        check(tl_notification_parse(&n, schemas, text, len, &d) == TL_OK);
        check_decoded(&n);
        tl_notification_free(&n);
        free(text);
    } else {
        check(text == NULL);
        check_diag(&d);
    }

    e = tl_notification_check_submission(schemas, (const uint8_t *)buf, size, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    free(buf);
    return 0;
}
