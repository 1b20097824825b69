/* follow_pipeline_test.c - a follower fed many entries per call decodes them on two threads
 * (follow.c): the findings must be byte for byte those of the same log fed one entry per call
 * (decoded on the caller's thread only), with and without signature checks, with raw entries,
 * undecodable notifications, forged signatures, and a registry entry in the middle of a call
 * (the notifications after it must be judged by the registry as it is then, not by the copy
 * the decoders started with).
 */
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
#define N  600             /* entries after genesis */

static tl_schemas *S_;
static tl_skey op, xa, xb, rogue;

static char *registry_doc(const char *action)
{
    char a[TL_VKEY_TEXT_MAX], b[TL_VKEY_TEXT_MAX], o[TL_VKEY_TEXT_MAX];
    tl_vkey_format(a, &xa.vkey);
    tl_vkey_format(b, &xb.vkey);
    tl_vkey_format(o, &op.vkey);
    json_t *g;
    if (strcmp(action, "genesis") == 0) {
        char policy[TL_VKEY_TEXT_MAX + 64];
        snprintf(policy, sizeof policy, "log %s\nquorum none\n", o);
        g = json_pack("{s:s, s:[{s:s, s:s, s:[s]}, {s:s, s:s, s:[s]}], s:s, s:[{s:s, s:s}]}",
                      "action", "genesis", "parties", "code", "XA", "name", "A", "keys", a, "code",
                      "XB", "name", "B", "keys", b, "witness_policy", policy, "rulesets", "name",
                      "t.rules", "sha256",
                      "0000000000000000000000000000000000000000000000000000000000000000");
    } else {
        g = json_pack("{s:s, s:[{s:s}]}", "action", "remove", "parties", "code", "XA");
    }
    char *js = json_dumps(g, JSON_COMPACT);
    json_decref(g);
    char *text = NULL;
    assert_true(asprintf(&text, "%s%s\n", TL_REGISTRY_HEADER, js) > 0);
    free(js);
    return text;
}

static char *request(const char *from, int serial, bool valid)
{
    char *text = NULL;
    assert_true(asprintf(&text,
                         TL_NOTIFICATION_HEADER
                         "{\"type\":\"vd11.ch3.explanation-request\",\"from\":\"%s\",\"serial\":%d,"
                         "\"sent\":\"2022-02-11T12:00:00Z\",\"to\":[\"XB\"],\"treaty_ref\":\"t\","
                         "\"refs\":[],\"body\":{\"concerning\":\"XB\",\"description\":\"d\","
                         "\"area\":{\"text\":\"a\"},\"questions\":[\"%s\"]}}\n",
                         from, serial, valid ? "area" : "") > 0);
    return text;
}

static const char RULES[] = "treatylog/rules/v1\n"
                            "rule share share-all {\n on vd11.ch3.explanation-request\n"
                            " severity advisory\n confidence P\n}\n";

static uint8_t *ents[N + 1];
static size_t lens[N + 1];
static size_t expect_verified; /* findings with verify on, counted as the log is made */
static size_t expect_all;      /* and with verify off */

/* The log: genesis, then requests from XA and XB signed by their own keys, by a rogue key
 * named XA or by the other party, some undecodable, some raw; at N/2 XA is removed. */
static void make_log(void)
{
    char *g = registry_doc("genesis");
    ents[0] = tu_signed_entry(T0, g, &op, &lens[0]);
    free(g);
    int serial[2] = {0, 0};
    for (int i = 1; i <= N; i++) {
        int64_t ms = T0 + i * 1000;
        if (i == N / 2) {
            char *r = registry_doc("remove");
            ents[i] = tu_signed_entry(ms, r, &op, &lens[i]);
            free(r);
            continue;
        }
        if (i % 37 == 0) { /* a raw entry */
            ents[i] = (uint8_t *)strdup("not an entry");
            lens[i] = strlen("not an entry");
            continue;
        }
        int p = i % 3 == 0; /* 1: XB */
        const char *from = p ? "XB" : "XA";
        bool valid = i % 11 != 0;
        int signer = i % 5; /* 0: rogue, 1: the other party, else the sender */
        const tl_skey *k = signer == 0 ? &rogue : signer == 1 ? (p ? &xa : &xb) : (p ? &xb : &xa);
        char *r = request(from, ++serial[p], valid);
        ents[i] = tu_signed_entry(ms, r, k, &lens[i]);
        free(r);
        if (valid) {
            expect_all++;
            bool removed = !p && i > N / 2;
            if (signer >= 2 && !removed)
                expect_verified++;
        }
    }
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The findings of the whole log fed in calls of `chunk` entries. */
static char *run(size_t chunk, bool verify)
{
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    assert_int_equal(tl_ruleset_parse(&rs, "t.rules", RULES, strlen(RULES), &d), TL_OK);
    tl_follow *f = NULL;
    assert_int_equal(tl_follow_new(&f, rs, S_, &op.vkey, NULL, &d), TL_OK);
    tl_follow_set_verify(f, verify);
    for (size_t i = 0; i <= N; i += chunk) {
        size_t n = i + chunk <= N + 1 ? chunk : N + 1 - i;
        if (tl_follow_entries(f, i, (const uint8_t *const *)ents + i, lens + i, n, &d) != TL_OK)
            fail_msg("entries at %zu: %s", i, d.msg);
    }
    assert_int_equal(tl_follow_size(f), N + 1);
    uint64_t *regs = NULL;
    size_t nregs = 0;
    assert_int_equal(tl_follow_registry_entries(f, &regs, &nregs), TL_OK);
    assert_int_equal(nregs, 2); /* genesis and the removal */
    assert_int_equal(regs[1], N / 2);
    free(regs);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(tl_follow_findings_text(f, N + 1, &out, &len), TL_OK);
    tl_follow_free(f);
    tl_ruleset_free(rs);
    return out;
}

static void test_parallel_is_sequential(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        bool verify = v == 1;
        char *one = run(1, verify);
        assert_int_equal(lines(one), verify ? expect_verified : expect_all);
        /* One call for everything, calls of 100 (a removal inside one), of 33, of 256. */
        static const size_t chunks[] = {N + 1, 100, 33, 256};
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            char *many = run(chunks[c], verify);
            if (strcmp(one, many) != 0)
                fail_msg("verify=%d chunk=%zu: findings differ", verify, chunks[c]);
            free(many);
        }
        free(one);
    }
    assert_true(expect_verified > 50 && expect_all > expect_verified + 100);
}

/* Entries given again (a call overlapping what was fed) are ignored; a gap is refused. */
static void test_overlap_and_gap(void **state)
{
    (void)state;
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    assert_int_equal(tl_ruleset_parse(&rs, "t.rules", RULES, strlen(RULES), &d), TL_OK);
    tl_follow *f = NULL;
    assert_int_equal(tl_follow_new(&f, rs, S_, &op.vkey, NULL, &d), TL_OK);
    tl_follow_set_verify(f, true);
    const uint8_t *const *e = (const uint8_t *const *)ents;
    assert_int_equal(tl_follow_entries(f, 0, e, lens, 100, &d), TL_OK);
    assert_int_equal(tl_follow_entries(f, 50, e + 50, lens + 50, 100, &d), TL_OK);
    assert_int_equal(tl_follow_size(f), 150);
    assert_int_equal(tl_follow_entries(f, 151, e + 151, lens + 151, 10, &d), TL_ERR_RANGE);
    assert_int_equal(tl_follow_entries(f, 150, e + 150, lens + 150, N + 1 - 150, &d), TL_OK);
    char *a = NULL;
    size_t alen = 0;
    assert_int_equal(tl_follow_findings_text(f, N + 1, &a, &alen), TL_OK);
    char *b = run(1, true);
    assert_string_equal(a, b);
    free(a);
    free(b);
    tl_follow_free(f);
    tl_ruleset_free(rs);
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
    make_log();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i <= N; i++)
        free(ents[i]);
    tl_schemas_free(S_);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_is_sequential),
        cmocka_unit_test(test_overlap_and_gap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
