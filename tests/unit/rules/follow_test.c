/* follow_test.c - the rules fed from log entries (follow.h): registry entries applied in
 * order, and, with verify on, a notification counts only if a current key of its sender signed
 * it (what `check` and `verify-evidence` rely on: nothing the operator wrote is trusted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"
#include "treatylog/entry.h"
#include "treatylog/follow.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/registry.h"

#define T0 1644580800000LL /* 2022-02-11T12:00:00Z */

static tl_schemas *S_;
static tl_skey op, xa, xb, rogue;

static char *genesis(void)
{
    char a[TL_VKEY_TEXT_MAX], b[TL_VKEY_TEXT_MAX], o[TL_VKEY_TEXT_MAX];
    tl_vkey_format(a, &xa.vkey);
    tl_vkey_format(b, &xb.vkey);
    tl_vkey_format(o, &op.vkey);
    char policy[TL_VKEY_TEXT_MAX + 64];
    snprintf(policy, sizeof policy, "log %s\nquorum none\n", o);
    json_t *g =
        json_pack("{s:s, s:[{s:s, s:s, s:[s]}, {s:s, s:s, s:[s]}], s:s, s:[{s:s, s:s}]}", "action",
                  "genesis", "parties", "code", "XA", "name", "A", "keys", a, "code", "XB", "name",
                  "B", "keys", b, "witness_policy", policy, "rulesets", "name", "t.rules", "sha256",
                  "0000000000000000000000000000000000000000000000000000000000000000");
    char *js = json_dumps(g, JSON_COMPACT);
    json_decref(g);
    char *text = NULL;
    assert_true(asprintf(&text, "%s%s\n", TL_REGISTRY_HEADER, js) > 0);
    free(js);
    return text;
}

/* An explanation request from `from` (serial) to XB only: the share-all rule's advisory. */
static char *request(const char *from, int serial)
{
    char *text = NULL;
    assert_true(asprintf(&text,
                         TL_NOTIFICATION_HEADER
                         "{\"type\":\"vd11.ch3.explanation-request\",\"from\":\"%s\",\"serial\":%d,"
                         "\"sent\":\"2022-02-11T12:00:00Z\",\"to\":[\"XB\"],\"treaty_ref\":\"t\","
                         "\"refs\":[],\"body\":{\"concerning\":\"XB\",\"description\":\"d\","
                         "\"area\":{\"text\":\"a\"},\"questions\":[\"area\"]}}\n",
                         from, serial) > 0);
    return text;
}

static const char RULES[] = "treatylog/rules/v1\n"
                            "rule share share-all {\n on vd11.ch3.explanation-request\n"
                            " severity advisory\n confidence P\n}\n";

/* Feeds genesis + XA's request signed by `signer`; returns the findings text at size 2. */
static char *run(const tl_skey *signer, bool verify)
{
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    assert_int_equal(tl_ruleset_parse(&rs, "t.rules", RULES, strlen(RULES), &d), TL_OK);
    tl_follow *f = NULL;
    assert_int_equal(tl_follow_new(&f, rs, S_, &op.vkey, NULL, &d), TL_OK);
    tl_follow_set_verify(f, verify);
    char *g = genesis(), *r = request("XA", 1);
    size_t l0 = 0, l1 = 0;
    uint8_t *e0 = tu_signed_entry(T0, g, &op, &l0),
            *e1 = tu_signed_entry(T0 + 1000, r, signer, &l1);
    const uint8_t *es[2] = {e0, e1};
    size_t ls[2] = {l0, l1};
    if (tl_follow_entries(f, 0, es, ls, 2, &d) != TL_OK)
        fail_msg("entries: %s", d.msg);
    assert_int_equal(tl_follow_size(f), 2);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(tl_follow_findings_text(f, 2, &out, &len), TL_OK);
    free(g);
    free(r);
    free(e0);
    free(e1);
    tl_follow_free(f);
    tl_ruleset_free(rs);
    return out;
}

static void test_signed_by_sender_counts(void **state)
{
    (void)state;
    char *out = run(&xa, true);
    assert_non_null(strstr(out, "\"id\":\"share/1\""));
    free(out);
}

static void test_forged_is_stepped_over(void **state)
{
    (void)state;
    /* Signed by a key named XA that the registry does not hold (the operator forging a
     * notification), and by XB's key (another party): neither counts with verify on. */
    char *out = run(&rogue, true);
    assert_null(strstr(out, "share/1"));
    free(out);
    out = run(&xb, true);
    assert_null(strstr(out, "share/1"));
    free(out);
    /* Without verify (serve, which checked at submission) the rules read it. */
    out = run(&rogue, false);
    assert_non_null(strstr(out, "\"id\":\"share/1\""));
    free(out);
}

static int setup(void **state)
{
    (void)state;
    if (tl_init() != TL_OK)
        return -1;
    char dir[4096];
    const char *f = __FILE__;
    const char *cut = strstr(f, "tests/unit/rules/");
    snprintf(dir, sizeof dir, "%.*sschemas", (int)(cut ? cut - f : 0), f);
    tl_diag d = {{0}};
    if (tl_schemas_load(&S_, dir, &d) != TL_OK) {
        fprintf(stderr, "%s: %s\n", dir, d.msg);
        return -1;
    }
    tu_key(&op, "t.example/log", 1);
    tu_key(&xa, "XA", 2);
    tu_key(&xb, "XB", 3);
    tu_key(&rogue, "XA", 4);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tl_schemas_free(S_);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_by_sender_counts),
        cmocka_unit_test(test_forged_is_stepped_over),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
