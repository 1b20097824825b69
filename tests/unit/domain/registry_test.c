/* registry_test.c - the party registry (registry.c): treatylog/registry/v1 documents, applied
 * in order to build the state; bad documents, bad signatures and actions that do not fit the
 * state are refused and leave the state unchanged.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/registry.h"

#define OPERATOR "treatylog.example/registry-test"

static tl_skey op, imposter, xa, xa2, xb, xc, yb_as_xa, witness;
static char op_vkey[TL_VKEY_TEXT_MAX], xa_vkey[TL_VKEY_TEXT_MAX], xa2_vkey[TL_VKEY_TEXT_MAX],
    xb_vkey[TL_VKEY_TEXT_MAX], xc_vkey[TL_VKEY_TEXT_MAX], wrong_vkey[TL_VKEY_TEXT_MAX],
    w_vkey[TL_VKEY_TEXT_MAX];
static char policy[4 * TL_VKEY_TEXT_MAX];

static void key(tl_skey *k, char *text, const char *name, uint8_t type, uint8_t seedbyte)
{
    uint8_t seed[TL_SEED_LEN];
    memset(seed, seedbyte, sizeof seed);
    assert_int_equal(tl_skey_from_seed(k, name, strlen(name), type, seed, NULL), TL_OK);
    if (text)
        tl_vkey_format(text, &k->vkey);
}

static int setup(void **state)
{
    (void)state;
    if (tl_init() != TL_OK)
        return -1;
    key(&op, op_vkey, OPERATOR, TL_KEY_ED25519, 1);
    key(&imposter, NULL, OPERATOR, TL_KEY_ED25519, 2);
    key(&xa, xa_vkey, "XA", TL_KEY_ED25519, 3);
    key(&xa2, xa2_vkey, "XA", TL_KEY_ED25519, 4);
    key(&xb, xb_vkey, "XB", TL_KEY_ED25519, 5);
    key(&xc, xc_vkey, "XC", TL_KEY_ED25519, 6);
    key(&yb_as_xa, wrong_vkey, "XB", TL_KEY_ED25519, 7);
    key(&witness, w_vkey, "w1.example", TL_KEY_COSIG_V1, 8);
    snprintf(policy, sizeof policy, "log %s\nwitness W1 %s\nquorum W1\n", op_vkey, w_vkey);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *party(const char *code, const char *name, const char *k1, const char *role)
{
    json_t *p = json_object();
    json_object_set_new(p, "code", json_string(code));
    if (name)
        json_object_set_new(p, "name", json_string(name));
    if (k1)
        json_object_set_new(p, "keys", json_pack("[s]", k1));
    if (role)
        json_object_set_new(p, "roles", json_pack("[s]", role));
    return p;
}

static json_t *doc(const char *action, json_t *parties)
{
    return json_pack("{s:s, s:o}", "action", action, "parties", parties);
}

static json_t *genesis_doc(void)
{
    json_t *g = doc("genesis", json_pack("[o, o]", party("XA", "Arcadia", xa_vkey, "chair"),
                                         party("XB", "Borduria", xb_vkey, NULL)));
    json_object_set_new(g, "witness_policy", json_string(policy));
    json_object_set_new(
        g, "rulesets",
        json_pack("[{s:s, s:s}]", "name", "vd11.rules", "sha256",
                  "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"));
    return g;
}

/* The registry text of d (takes the reference). */
static char *text_of(json_t *d, size_t *len)
{
    char *js = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    assert_non_null(js);
    size_t jl = strlen(js);
    char *t = malloc(TL_REGISTRY_HEADER_LEN + jl + 2);
    assert_non_null(t);
    memcpy(t, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN);
    memcpy(t + TL_REGISTRY_HEADER_LEN, js, jl);
    t[TL_REGISTRY_HEADER_LEN + jl] = '\n';
    t[TL_REGISTRY_HEADER_LEN + jl + 1] = '\0';
    free(js);
    *len = TL_REGISTRY_HEADER_LEN + jl + 1;
    return t;
}

/* A note over text signed by s1, and also by s2 if non-NULL. */
static char *sign2(const char *text, size_t tlen, const tl_skey *s1, const tl_skey *s2,
                   size_t *nlen)
{
    char *note = NULL;
    assert_int_equal(tl_note_sign(&note, nlen, text, tlen, s1, NULL), TL_OK);
    if (s2) {
        char line[TL_SIGLINE_MAX];
        size_t ll = 0;
        assert_int_equal(tl_note_sigline(line, &ll, text, tlen, s2, 0, NULL), TL_OK);
        note = realloc(note, *nlen + ll + 1);
        assert_non_null(note);
        memcpy(note + *nlen, line, ll + 1);
        *nlen += ll;
    }
    return note;
}

/* Applies document d (reference taken) signed by s1 (and s2). */
static tl_err apply2(tl_registry *r, json_t *d, const tl_skey *s1, const tl_skey *s2,
                     uint64_t index, tl_diag *dg)
{
    size_t tlen = 0, nlen = 0;
    char *text = text_of(d, &tlen);
    char *note = sign2(text, tlen, s1, s2, &nlen);
    tl_err e = tl_registry_apply(r, note, nlen, &op.vkey, index, dg);
    free(note);
    free(text);
    return e;
}

static tl_err apply(tl_registry *r, json_t *d, uint64_t index, tl_diag *dg)
{
    return apply2(r, d, &op, NULL, index, dg);
}

static bool same_state(const tl_registry *a, const tl_registry *b)
{
    if (a->genesis != b->genesis || a->index != b->index || a->nparties != b->nparties ||
        a->nrulesets != b->nrulesets || a->witness_policy_len != b->witness_policy_len)
        return false;
    if ((a->witness_policy == NULL) != (b->witness_policy == NULL) ||
        (a->witness_policy && strcmp(a->witness_policy, b->witness_policy) != 0))
        return false;
    for (size_t i = 0; i < a->nparties; i++) {
        const tl_party *p = &a->parties[i], *q = &b->parties[i];
        if (strcmp(p->code, q->code) != 0 || strcmp(p->name, q->name) != 0 ||
            p->nkeys != q->nkeys || p->nroles != q->nroles || p->since != q->since)
            return false;
        for (size_t k = 0; k < p->nkeys; k++)
            if (!tl_vkey_equal(&p->keys[k], &q->keys[k]))
                return false;
        for (size_t k = 0; k < p->nroles; k++)
            if (strcmp(p->roles[k], q->roles[k]) != 0)
                return false;
    }
    for (size_t i = 0; i < a->nrulesets; i++) {
        const tl_registry_ruleset *x = &a->rulesets[i], *y = &b->rulesets[i];
        if (strcmp(x->name, y->name) != 0 || memcmp(x->sha256, y->sha256, TL_HASH_LEN) != 0 ||
            (x->text == NULL) != (y->text == NULL) || x->text_len != y->text_len ||
            (x->text && memcmp(x->text, y->text, x->text_len) != 0))
            return false;
    }
    return true;
}

/* A registry after genesis at index 0. */
static tl_registry *genesis(void)
{
    tl_registry *r = tl_registry_new();
    assert_non_null(r);
    tl_diag d = {{0}};
    tl_err e = apply(r, genesis_doc(), 0, &d);
    if (e != TL_OK)
        fail_msg("genesis refused: %s", d.msg);
    return r;
}

/* Expects d (reference taken), signed by s1/s2 at index, to fail with want and a message
 * containing needle, leaving r as it was. */
static void refused2(tl_registry *r, json_t *d, const tl_skey *s1, const tl_skey *s2,
                     uint64_t index, tl_err want, const char *needle)
{
    tl_registry *before = tl_registry_clone(r);
    assert_non_null(before);
    tl_diag dg = {{0}};
    tl_err e = apply2(r, d, s1, s2, index, &dg);
    if (e != want || !strstr(dg.msg, needle))
        fail_msg("got %d \"%s\", want %d with \"%s\"", e, dg.msg, want, needle);
    assert_true(same_state(before, r));
    tl_registry_free(before);
}

static void refused(tl_registry *r, json_t *d, uint64_t index, tl_err want, const char *needle)
{
    refused2(r, d, &op, NULL, index, want, needle);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_genesis(void **state)
{
    (void)state;
    tl_registry *r = genesis();
    assert_true(r->genesis);
    assert_int_equal(r->index, 0);
    assert_int_equal(r->nparties, 2);
    const tl_party *a = tl_registry_party(r, "XA");
    assert_non_null(a);
    assert_string_equal(a->name, "Arcadia");
    assert_int_equal(a->nkeys, 1);
    assert_true(tl_vkey_equal(&a->keys[0], &xa.vkey));
    assert_true(tl_registry_has_role(r, "XA", "chair"));
    assert_false(tl_registry_has_role(r, "XB", "chair"));
    assert_false(tl_registry_has_role(r, "XC", "chair"));
    assert_null(tl_registry_party(r, "XC"));
    size_t n = 9;
    const tl_vkey *k = tl_registry_party_keys(r, "XB", &n);
    assert_int_equal(n, 1);
    assert_true(tl_vkey_equal(&k[0], &xb.vkey));
    assert_null(tl_registry_party_keys(r, "XC", &n));
    assert_int_equal(n, 0);
    assert_string_equal(r->witness_policy, policy);
    assert_int_equal(r->nrulesets, 1);
    assert_string_equal(r->rulesets[0].name, "vd11.rules");
    assert_hash_hex(r->rulesets[0].sha256,
                    "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    tl_registry_free(r);
}

static void test_second_genesis(void **state)
{
    (void)state;
    tl_registry *r = genesis();
    refused(r, genesis_doc(), 1, TL_ERR_CONFLICT, "already has one");
    tl_registry_free(r);
}

static void test_add_remove(void **state)
{
    (void)state;
    tl_registry *r = genesis();
    tl_diag d = {{0}};
    assert_int_equal(
        apply(r, doc("add", json_pack("[o]", party("XC", "Carpania", xc_vkey, "secretariat"))), 3,
              &d),
        TL_OK);
    assert_int_equal(r->nparties, 3);
    assert_int_equal(r->index, 3);
    assert_int_equal(tl_registry_party(r, "XC")->since, 3);
    assert_true(tl_registry_has_role(r, "XC", "secretariat"));
    refused(r, doc("add", json_pack("[o]", party("XC", "Again", xc_vkey, NULL))), 4,
            TL_ERR_CONFLICT, "already registered");
    refused(r, doc("add", json_pack("[o]", party("XD", "Dawn", xc_vkey, NULL))), 4, TL_ERR_FORMAT,
            "not the party code");

    assert_int_equal(apply(r, doc("remove", json_pack("[{s:s}]", "code", "XA")), 5, &d), TL_OK);
    assert_int_equal(r->nparties, 2);
    assert_null(tl_registry_party(r, "XA"));
    assert_string_equal(r->parties[0].code, "XB");
    assert_string_equal(r->parties[1].code, "XC");
    refused(r, doc("remove", json_pack("[{s:s}]", "code", "XA")), 6, TL_ERR_CONFLICT,
            "not registered");
    refused(r, doc("remove", json_pack("[{s:s, s:s}]", "code", "XB", "name", "B")), 6,
            TL_ERR_FORMAT, "unknown field \"name\" in remove");
    /* Index must increase. */
    refused(r, doc("remove", json_pack("[{s:s}]", "code", "XB")), 5, TL_ERR_CONFLICT, "not after");
    tl_registry_free(r);
}

static void test_rotate(void **state)
{
    (void)state;
    tl_registry *r = genesis();
    json_t *rot = doc("rotate", json_pack("[{s:s, s:[s]}]", "code", "XA", "keys", xa2_vkey));
    json_incref(rot);
    /* Operator only: refused. */
    refused(r, rot, 1, TL_ERR_SIGNATURE, "not signed by a current key of XA");
    /* Operator and the new key only: refused. */
    json_incref(rot);
    refused2(r, rot, &op, &xa2, 1, TL_ERR_SIGNATURE, "current key");
    /* Operator and another party's key: refused. */
    json_incref(rot);
    refused2(r, rot, &op, &xb, 1, TL_ERR_SIGNATURE, "current key");
    /* The old key alone, without the operator: refused. */
    json_incref(rot);
    refused2(r, rot, &xa, NULL, 1, TL_ERR_SIGNATURE, "operator key");
    /* Operator and the old key: accepted. */
    tl_diag d = {{0}};
    tl_err e = apply2(r, rot, &op, &xa, 1, &d);
    if (e != TL_OK)
        fail_msg("rotation refused: %s", d.msg);
    const tl_party *a = tl_registry_party(r, "XA");
    assert_int_equal(a->nkeys, 1);
    assert_true(tl_vkey_equal(&a->keys[0], &xa2.vkey));
    assert_int_equal(a->since, 1);
    assert_string_equal(a->name, "Arcadia");
    assert_true(tl_registry_has_role(r, "XA", "chair"));
    /* Now the old key no longer counts. */
    refused2(r, doc("rotate", json_pack("[{s:s, s:[s]}]", "code", "XA", "keys", xa_vkey)), &op, &xa,
             2, TL_ERR_SIGNATURE, "current key");
    refused2(r, doc("rotate", json_pack("[{s:s, s:[s]}]", "code", "XC", "keys", xc_vkey)), &op, &xc,
             2, TL_ERR_CONFLICT, "not registered");
    refused2(
        r,
        doc("rotate", json_pack("[{s:s, s:[s], s:s}]", "code", "XA", "keys", xa_vkey, "name", "X")),
        &op, &xa2, 2, TL_ERR_FORMAT, "unknown field \"name\" in rotate");
    tl_registry_free(r);
}

static void test_signed_by_someone_else(void **state)
{
    (void)state;
    tl_registry *r = tl_registry_new();
    assert_non_null(r);
    refused2(r, genesis_doc(), &imposter, NULL, 0, TL_ERR_SIGNATURE, "operator key");
    refused2(r, genesis_doc(), &xa, NULL, 0, TL_ERR_SIGNATURE, "operator key");
    assert_false(r->genesis);
    /* Not a note at all. */
    tl_diag d = {{0}};
    assert_int_equal(tl_registry_apply(r, "hello\n", 6, &op.vkey, 0, &d), TL_ERR_FORMAT);
    assert_false(r->genesis);
    tl_registry_free(r);
}

static void test_bad_documents(void **state)
{
    (void)state;
    tl_registry *r = tl_registry_new();
    assert_non_null(r);
    json_t *g;
    /* Duplicate codes. */
    g = genesis_doc();
    json_array_append_new(json_object_get(g, "parties"), party("XA", "Again", xa2_vkey, NULL));
    refused(r, g, 0, TL_ERR_FORMAT, "parties[2].code: XA appears twice");
    /* Bad codes. */
    const char *bad_codes[] = {"xa", "X", "XAA", "X1", "", "ÄA"};
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        g = genesis_doc();
        json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "code",
                            json_string(bad_codes[i]));
        refused(r, g, 0, TL_ERR_FORMAT, "parties[0].code");
    }
    /* Bad keys. */
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "keys",
                        json_pack("[s]", "XA+00000000+AAAA"));
    refused(r, g, 0, TL_ERR_FORMAT, "parties[0].keys[0]");
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "keys", json_array());
    refused(r, g, 0, TL_ERR_FORMAT, "parties[0].keys");
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "keys",
                        json_pack("[s, s]", xa_vkey, xa_vkey));
    refused(r, g, 0, TL_ERR_FORMAT, "same key");
    /* A key whose name is not the code. */
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "keys",
                        json_pack("[s]", wrong_vkey));
    refused(r, g, 0, TL_ERR_FORMAT, "key name \"XB\" is not the party code XA");
    /* A witness key as a party key. */
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "keys",
                        json_pack("[s]", w_vkey));
    refused(r, g, 0, TL_ERR_FORMAT, "type 0x01");
    /* Unknown fields, top level and in a party and a ruleset. */
    g = genesis_doc();
    json_object_set_new(g, "comment", json_string("hi"));
    refused(r, g, 0, TL_ERR_FORMAT, "unknown field \"comment\"");
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 1), "flag", json_true());
    refused(r, g, 0, TL_ERR_FORMAT, "parties[1]: unknown field \"flag\"");
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "rulesets"), 0), "url", json_null());
    refused(r, g, 0, TL_ERR_FORMAT, "rulesets[0]: unknown field \"url\"");
    /* Bad roles, rulesets, policy, action. */
    g = genesis_doc();
    json_object_set_new(json_array_get(json_object_get(g, "parties"), 0), "roles",
                        json_pack("[s]", "Chair"));
    refused(r, g, 0, TL_ERR_FORMAT, "roles[0]");
    g = genesis_doc();
    json_object_set_new(
        json_array_get(json_object_get(g, "rulesets"), 0), "sha256",
        json_string("5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03"));
    refused(r, g, 0, TL_ERR_FORMAT, "rulesets[0].sha256");
    g = genesis_doc();
    json_object_set_new(g, "witness_policy", json_string("quorum nobody\n"));
    refused(r, g, 0, TL_ERR_FORMAT, "witness_policy");
    g = genesis_doc();
    json_object_del(g, "witness_policy");
    refused(r, g, 0, TL_ERR_FORMAT, "witness_policy: required");
    g = genesis_doc();
    json_object_set_new(g, "action", json_string("merge"));
    refused(r, g, 0, TL_ERR_FORMAT, "action");
    /* add before genesis. */
    refused(r, doc("add", json_pack("[o]", party("XC", "Carpania", xc_vkey, NULL))), 0,
            TL_ERR_CONFLICT, "no genesis");
    assert_false(r->genesis);
    tl_registry_free(r);
}

static void test_bad_text(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    size_t len = 0;
    char *t = text_of(genesis_doc(), &len);
    assert_int_equal(tl_registry_check_text(t, len, &d), TL_OK);
    assert_int_equal(tl_registry_check_text(t, len - 1, &d), TL_ERR_FORMAT);
    t[0] = 'T';
    assert_int_equal(tl_registry_check_text(t, len, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 1"));
    free(t);
    const char dup[] = "treatylog/registry/v1\n{\"action\":\"add\",\"action\":\"add\"}\n";
    assert_int_equal(tl_registry_check_text(dup, sizeof dup - 1, &d), TL_ERR_FORMAT);
    const char two[] = "treatylog/registry/v1\n{\"action\":\n\"add\"}\n";
    assert_int_equal(tl_registry_check_text(two, sizeof two - 1, &d), TL_ERR_FORMAT);
}

/* Failed applies in the middle of a sequence change nothing; the next valid one still works. */
static void test_apply_after_failure(void **state)
{
    (void)state;
    tl_registry *r = genesis();
    refused(r, doc("add", json_pack("[o]", party("XA", "Dup", xa_vkey, NULL))), 1, TL_ERR_CONFLICT,
            "already registered");
    /* Atomic across several parties: XC is fine, XB is a duplicate. */
    refused(r,
            doc("add", json_pack("[o, o]", party("XC", "Carpania", xc_vkey, NULL),
                                 party("XB", "Dup", xb_vkey, NULL))),
            1, TL_ERR_CONFLICT, "parties[1]: XB is already registered");
    assert_null(tl_registry_party(r, "XC"));
    /* A bad policy replacement with a valid party change. */
    json_t *a = doc("add", json_pack("[o]", party("XC", "Carpania", xc_vkey, NULL)));
    json_object_set_new(a, "witness_policy", json_string("nonsense\n"));
    refused(r, a, 1, TL_ERR_FORMAT, "witness_policy");
    tl_diag d = {{0}};
    assert_int_equal(
        apply(r, doc("add", json_pack("[o]", party("XC", "Carpania", xc_vkey, NULL))), 1, &d),
        TL_OK);
    assert_int_equal(r->nparties, 3);
    tl_registry_free(r);
}

/* The registry at any index is derived from the entries alone: replaying the prefix up to
 * each entry on a fresh registry gives the state the running registry had there. */
static void test_replay(void **state)
{
    (void)state;
    char policy2[sizeof policy + 32];
    snprintf(policy2, sizeof policy2, "log %s\nquorum none\n", op_vkey);
    json_t *docs[5];
    docs[0] = genesis_doc();
    docs[1] = doc("add", json_pack("[o]", party("XC", "Carpania", xc_vkey, "secretariat")));
    docs[2] =
        doc("rotate", json_pack("[{s:s, s:[s, s]}]", "code", "XA", "keys", xa2_vkey, xa_vkey));
    docs[3] = doc("remove", json_pack("[{s:s}]", "code", "XB"));
    docs[4] = doc("add", json_array());
    json_object_set_new(docs[4], "witness_policy", json_string(policy2));
    json_object_set_new(docs[4], "rulesets", json_array());
    const tl_skey *second[5] = {NULL, NULL, &xa, NULL, NULL};
    const uint64_t index[5] = {0, 4, 9, 10, 17};

    char *notes[5];
    size_t nlens[5];
    for (size_t i = 0; i < 5; i++) {
        size_t tlen = 0;
        char *text = text_of(docs[i], &tlen);
        notes[i] = sign2(text, tlen, &op, second[i], &nlens[i]);
        free(text);
    }
    tl_registry *run = tl_registry_new();
    assert_non_null(run);
    tl_diag d = {{0}};
    for (size_t i = 0; i < 5; i++) {
        tl_err e = tl_registry_apply(run, notes[i], nlens[i], &op.vkey, index[i], &d);
        if (e != TL_OK)
            fail_msg("entry %zu: %s", i, d.msg);
        assert_int_equal(run->index, index[i]);
        tl_registry *replay = tl_registry_new();
        assert_non_null(replay);
        for (size_t j = 0; j <= i; j++)
            assert_int_equal(tl_registry_apply(replay, notes[j], nlens[j], &op.vkey, index[j], &d),
                             TL_OK);
        assert_true(same_state(run, replay));
        tl_registry_free(replay);
        switch (i) {
        case 0:
            assert_int_equal(run->nparties, 2);
            break;
        case 1:
            assert_int_equal(run->nparties, 3);
            assert_int_equal(tl_registry_party(run, "XC")->since, 4);
            break;
        case 2:
            assert_int_equal(tl_registry_party(run, "XA")->nkeys, 2);
            assert_int_equal(tl_registry_party(run, "XA")->since, 9);
            assert_int_equal(tl_registry_party(run, "XB")->since, 0);
            break;
        case 3:
            assert_int_equal(run->nparties, 2);
            assert_null(tl_registry_party(run, "XB"));
            assert_string_equal(run->witness_policy, policy);
            break;
        case 4:
            assert_string_equal(run->witness_policy, policy2);
            assert_int_equal(run->nrulesets, 0);
            assert_int_equal(run->nparties, 2);
            break;
        }
    }
    /* A clone is a deep snapshot: it survives later applies and frees of the original. */
    tl_registry *snap = tl_registry_clone(run);
    assert_non_null(snap);
    assert_true(same_state(snap, run));
    /* Replaying an entry again is refused (index not increasing, or state conflict). */
    assert_int_equal(tl_registry_apply(run, notes[1], nlens[1], &op.vkey, 18, &d), TL_ERR_CONFLICT);
    for (size_t i = 0; i < 5; i++)
        free(notes[i]);
    tl_registry_free(run);
    assert_string_equal(snap->witness_policy, policy2);
    assert_int_equal(snap->index, 17);
    tl_registry_free(snap);
}

/* A ruleset {name, sha256 of text, text} as JSON (with_text false: without the text). */
static json_t *ruleset_item(const char *name, const char *text, bool with_text)
{
    uint8_t h[TL_HASH_LEN];
    char hex[2 * TL_HASH_LEN + 1];
    tl_sha256(h, text, strlen(text));
    for (size_t i = 0; i < TL_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    json_t *o = json_pack("{s:s, s:s}", "name", name, "sha256", hex);
    if (with_text)
        json_object_set_new(o, "text", json_string(text));
    return o;
}

/* A ruleset's text is logged with the registry (DESIGN §3): kept when its SHA-256 matches,
 * refused when not, carried over by sha256, dropped with its ruleset, deep-copied by clone. */
static void test_ruleset_text(void **state)
{
    (void)state;
    const char *t1 = "# ruleset one\nrule a.b reply-deadline\n", *t2 = "# two\n";
    tl_registry *r = tl_registry_new();
    assert_non_null(r);
    json_t *g = genesis_doc();
    json_object_set_new(g, "rulesets", json_pack("[o]", ruleset_item("one.rules", t1, true)));
    tl_diag d = {{0}};
    assert_int_equal(apply(r, g, 0, &d), TL_OK);
    assert_int_equal(r->nrulesets, 1);
    assert_non_null(r->rulesets[0].text);
    assert_int_equal(r->rulesets[0].text_len, strlen(t1));
    assert_string_equal(r->rulesets[0].text, t1);
    /* A text whose hash is not the sha256 given: refused, nothing changes. */
    json_t *bad = json_pack("[o]", ruleset_item("one.rules", t1, false));
    json_object_set_new(json_array_get(bad, 0), "text", json_string(t2));
    refused(r, json_pack("{s:s, s:[], s:o}", "action", "add", "parties", "rulesets", bad), 1,
            TL_ERR_FORMAT, "rulesets[0].text: its SHA-256 is not the sha256 given for one.rules");
    json_t *empty = json_pack("[o]", ruleset_item("one.rules", t1, false));
    json_object_set_new(json_array_get(empty, 0), "text", json_integer(1));
    refused(r, json_pack("{s:s, s:[], s:o}", "action", "add", "parties", "rulesets", empty), 1,
            TL_ERR_FORMAT, "rulesets[0].text: must be the ruleset's text");
    /* A clone owns its own copy. */
    tl_registry *c = tl_registry_clone(r);
    assert_non_null(c);
    assert_ptr_not_equal(c->rulesets[0].text, r->rulesets[0].text);
    assert_true(same_state(c, r));
    /* A new list naming the same sha256 without text, and a second ruleset with one: the
     * first keeps its text, the second has its own. */
    json_t *two = json_pack("[o, o]", ruleset_item("one.rules", t1, false),
                            ruleset_item("two.rules", t2, true));
    assert_int_equal(
        apply(r, json_pack("{s:s, s:[], s:o}", "action", "add", "parties", "rulesets", two), 1, &d),
        TL_OK);
    assert_int_equal(r->nrulesets, 2);
    assert_string_equal(r->rulesets[0].text, t1);
    assert_string_equal(r->rulesets[1].text, t2);
    /* A list without either text, for another sha256: no text. */
    json_t *other = json_pack("[o]", ruleset_item("one.rules", "# other\n", false));
    assert_int_equal(
        apply(r, json_pack("{s:s, s:[], s:o}", "action", "add", "parties", "rulesets", other), 2,
              &d),
        TL_OK);
    assert_int_equal(r->nrulesets, 1);
    assert_null(r->rulesets[0].text);
    /* The clone still has the genesis text (ASan: no shared pointer freed twice). */
    assert_string_equal(c->rulesets[0].text, t1);
    tl_registry_free(c);
    /* The canonical text of a registry file keeps the text; a wrong one is refused there too. */
    json_t *g2 = genesis_doc();
    json_object_set_new(g2, "rulesets", json_pack("[o]", ruleset_item("one.rules", t1, true)));
    char *js = json_dumps(g2, JSON_COMPACT);
    json_decref(g2);
    char *text = NULL;
    size_t tlen = 0;
    assert_int_equal(tl_registry_from_json(&text, &tlen, js, strlen(js), true, &d), TL_OK);
    assert_non_null(strstr(text, "\"text\":\"# ruleset one\\nrule a.b reply-deadline\\n\""));
    free(text);
    free(js);
    tl_registry_free(r);
}

static void test_from_json(void **state)
{
    (void)state;
    json_t *g = genesis_doc();
    char *pretty = json_dumps(g, JSON_INDENT(2));
    assert_non_null(pretty);
    size_t clen = 0, tlen = 0;
    char *canon = NULL;
    tl_diag d = {{0}};
    assert_int_equal(tl_registry_from_json(&canon, &clen, pretty, strlen(pretty), true, &d), TL_OK);
    char *want = text_of(g, &tlen);
    assert_int_equal(clen, tlen);
    assert_memory_equal(canon, want, tlen);
    assert_int_equal(tl_registry_check_text(canon, clen, &d), TL_OK);
    free(canon);
    free(want);
    free(pretty);
    /* genesis_only refuses other actions; errors leave *text alone. */
    const char add[] = "{\"action\": \"remove\",\n \"parties\": [{\"code\": \"XA\"}]}\n";
    canon = NULL;
    assert_int_equal(tl_registry_from_json(&canon, &clen, add, sizeof add - 1, true, &d),
                     TL_ERR_FORMAT);
    assert_null(canon);
    assert_int_equal(tl_registry_from_json(&canon, &clen, add, sizeof add - 1, false, &d), TL_OK);
    free(canon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_second_genesis),
        cmocka_unit_test(test_add_remove),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_signed_by_someone_else),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_apply_after_failure),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_ruleset_text),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
