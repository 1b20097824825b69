/* tape_test.c - the fast path of strict JSON and notification validation (schema_tape.c)
 * against the reference path (jansson + schema_json.c, and the validator of schema.c).
 *
 * The fast path may give up on anything, but where it decides it must decide as the reference
 * does: a text it accepts is one the reference accepts, with the same tree (same values, same
 * key order); a notification it finds valid is one the reference finds valid. And the public
 * entry points, which try the fast path first, must give the same verdict and the same message
 * as the reference path on every schema example and on mutated variants: each required field
 * of the envelope and of the body removed, or given a value of the wrong JSON type, or a
 * string value made too long or emptied. TL_NOTIFICATION_NO_DOC must decode the same fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain/schema_int.h"
#include "testutil.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"

static tl_schemas *S_;

static int setup(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    if (tl_init() != TL_OK || tl_schemas_load(&S_, tu_schemas_dir(), &d) != TL_OK) {
        fprintf(stderr, "loading %s: %s\n", tu_schemas_dir(), d.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tl_schemas_free(S_);
    return 0;
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}

/* Compares fast and reference on buf[0..len): returns 1 if the fast path decided (accepted),
 * 0 if it gave up. Fails the test on any disagreement. */
static int json_differential(const char *buf, size_t len, bool one_line)
{
    json_t *fast = tl_schema_fast_json(buf, len, one_line);
    json_t *ref = NULL;
    tl_diag d = {{0}};
    tl_err e = tl_schema_parse_json_ref(&ref, buf, len, one_line, &d);
    /* The public entry point: the reference's verdict and message. */
    json_t *pub = NULL;
    tl_diag pd = {{0}};
    tl_err pe = tl_schema_parse_json(&pub, buf, len, one_line, &pd);
    assert_int_equal(pe, e);
    if (e != TL_OK)
        assert_string_equal(pd.msg, d.msg);
    if (fast) {
        if (e != TL_OK)
            fail_msg("fast path accepted what the reference refuses (%s): %.*s", d.msg, (int)len,
                     buf);
        char *a = dump(fast), *b = dump(ref);
        if (strcmp(a, b) != 0)
            fail_msg("trees differ:\n fast %s\n ref  %s", a, b);
        free(a);
        free(b);
    }
    if (pub) {
        char *a = dump(pub), *b = dump(ref);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    json_decref(fast);
    json_decref(ref);
    json_decref(pub);
    return fast != NULL;
}

static void test_json_accepted_alike(void **state)
{
    (void)state;
    /* Texts the fast path must decide (and decide as the reference does). */
    static const char *ok[] = {
        "{}",
        "{\"a\":1}",
        "{\"a\":-0,\"b\":0,\"c\":-12,\"d\":123456789012345678}",
        "{\"a\":true,\"b\":false,\"c\":null,\"d\":[],\"e\":{}}",
        "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"s\":\"\\\"\\\\\\/ \\u00e9 \\u20AC \\ud83d\\ude00 \\n\"}",
        "{\"k\\u00e9y\":1,\"k\xc3\xa9y2\":2}",
        "{\"a\":[1,[2,[3,{\"b\":[]}]]],\"z\":\"\"}",
        "{\"\":\"empty key\"}",
        "{\"a\" : [ 1 , 2 ] , \"b\" : { \"c\" : \"d\" } }",
        "{\"b\":1,\"a\":2,\"c\":3}", /* key order kept */
        "{\"long\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,"
        "\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,"
        "\"k17\":17,\"k18\":18,\"k19\":19,\"k20\":20,\"k21\":21,\"k22\":22,\"k23\":23,"
        "\"k24\":24,\"k25\":25,\"k26\":26,\"k27\":27,\"k28\":28,\"k29\":29,\"k30\":30,"
        "\"k31\":31,\"k32\":32,\"k33\":33,\"k34\":34,\"k35\":35}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (!json_differential(ok[i], strlen(ok[i]), true))
            fail_msg("fast path gave up on %s", ok[i]);
        assert_true(json_differential(ok[i], strlen(ok[i]), false));
    }
    /* Whitespace other than spaces: only outside the one-line form. */
    const char *ws = " \t\r\n{\n\t\"a\" :\r\n 1\n}\n ";
    assert_true(json_differential(ws, strlen(ws), false));
    assert_false(json_differential(ws, strlen(ws), true));
}

static void test_json_refused_alike(void **state)
{
    (void)state;
    /* Texts the reference refuses (or that the fast path leaves to it): the public entry
     * point must give the reference's message, and the fast path never accept. */
    static const char *bad[] = {
        "",
        "[]",
        "[1]",
        "\"s\"",
        "1",
        " {}",
        "{} ",
        "{}x",
        "{}{}",
        "{",
        "}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":[1,]}",
        "{\"a\":[,1]}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":-01}",
        "{\"a\":1.5}",
        "{\"a\":1e3}",
        "{\"a\":1E3}",
        "{\"a\":9223372036854775807}",
        "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":12345678901234567890123}",
        "{\"a\":tru}",
        "{\"a\":truex}",
        "{\"a\":nul}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{\"b\":1,\"b\":1}}",
        "{\"k\\u00e9y\":1,\"k\xc3\xa9y\":2}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\u0001\"}",
        "{\"a\":\"\\t\"}",
        "{\"a\":\"\\r\"}",
        "{\"a\":\"\\b\"}",
        "{\"a\":\"\\f\"}",
        "{\"a\":\"\\u007f\"}",
        "{\"a\":\"\\u0085\"}",
        "{\"a\":\"\\x41\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"k\\n\":1}",
        "{\"k\\u000a\":1}",
        "{\"a\":\"raw\ttab\"}",
        "{\"a\":\"raw\x7f\x64\x65l\"}",
        "{\"a\":\"c1 \xc2\x85\"}",
        "{\"a\":\"bad \xc3\"}",
        "{\"a\":\"bad \xc0\xaf\"}",
        "{\"a\":\"bad \xed\xa0\x80\"}",
        "{\"a\":\"bad \xf4\x90\x80\x80\"}",
        "{\"a\":\"bad \xff\"}",
        "{\"a\":\"unterminated}",
        "{\"a\":1}\n",
        "\xef\xbb\xbf{}",
        "{\"a\":\"x\"\x01}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_differential(bad[i], strlen(bad[i]), true);
        json_differential(bad[i], strlen(bad[i]), false);
    }
    /* An embedded NUL, which strlen would hide. */
    static const char nul[] = "{\"a\":\"x\0y\"}";
    json_differential(nul, sizeof nul - 1, true);
    json_differential(nul, sizeof nul - 1, false);
    /* Deep nesting: past the fast path's depth, the reference decides. */
    char deep[400];
    size_t n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 100; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_false(json_differential(deep, n, true));
}

/* ---- notifications ---- */

static char *text_of(const json_t *doc, size_t *len)
{
    char *js = json_dumps(doc, JSON_COMPACT);
    assert_non_null(js);
    size_t jl = strlen(js);
    char *t = malloc(TL_NOTIFICATION_HEADER_LEN + jl + 2);
    assert_non_null(t);
    memcpy(t, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN);
    memcpy(t + TL_NOTIFICATION_HEADER_LEN, js, jl);
    t[TL_NOTIFICATION_HEADER_LEN + jl] = '\n';
    t[TL_NOTIFICATION_HEADER_LEN + jl + 1] = '\0';
    *len = TL_NOTIFICATION_HEADER_LEN + jl + 1;
    free(js);
    return t;
}

static bool same_strings(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fields a NO_DOC parse and a full parse decode. */
static void assert_same_decoded(const tl_notification *a, const tl_notification *b)
{
    assert_string_equal(a->type, b->type);
    assert_string_equal(a->from, b->from);
    assert_true(a->serial == b->serial && a->sent == b->sent && a->to_all == b->to_all);
    assert_true(a->nto == b->nto && a->nrefs == b->nrefs);
    if (a->nto)
        assert_memory_equal(a->to, b->to, a->nto * sizeof a->to[0]);
    if (a->nrefs)
        assert_memory_equal(a->refs, b->refs, a->nrefs * sizeof a->refs[0]);
    assert_true(same_strings(a->treaty_ref, b->treaty_ref));
    assert_true(same_strings(a->remarks, b->remarks));
    assert_true(json_equal(a->body, b->body));
}

static size_t decided, refused;

/* doc as a notification text: the tape's verdict agrees with the reference validator, and
 * tl_notification_parse (with and without NO_DOC) gives the reference's verdict and message.
 * Returns the reference's verdict. */
static tl_err notification_differential(const json_t *doc)
{
    size_t len = 0;
    char *text = text_of(doc, &len);
    const char *line = text + TL_NOTIFICATION_HEADER_LEN;
    size_t llen = len - TL_NOTIFICATION_HEADER_LEN - 1;
    /* The reference: jansson, then the validator of schema.c. */
    json_t *ref = NULL;
    tl_diag rd = {{0}};
    tl_err re = tl_schema_parse_json_ref(&ref, line, llen, true, &rd);
    assert_int_equal(re, TL_OK); /* json_dumps output is strict JSON here */
    re = tl_schema_validate_notification(S_, ref, &rd);
    /* The tape. */
    tl_tape tp;
    tl_tape_init(&tp);
    assert_true(tl_tape_parse(&tp, line, llen, true)); /* no reals in these documents */
    const tl_msgtype *mt = NULL;
    bool fast_ok = tl_tape_valid_notification(S_, &tp, &mt);
    if (fast_ok && re != TL_OK)
        fail_msg("tape accepts what the validator refuses (%s): %s", rd.msg, line);
    if (re == TL_OK) {
        if (!fast_ok)
            fail_msg("tape undecided on a valid notification: %s", line);
        decided++;
        assert_string_equal(mt->name, json_string_value(json_object_get(ref, "type")));
    } else {
        refused++;
    }
    tl_tape_free(&tp);
    /* The public entry points. */
    tl_notification full, lean;
    tl_diag fd = {{0}}, ld = {{0}};
    tl_err fe = tl_notification_parse(&full, S_, text, len, &fd);
    tl_err le = tl_notification_parse_ex(&lean, S_, text, len, TL_NOTIFICATION_NO_DOC, &ld);
    assert_int_equal(fe, re);
    assert_int_equal(le, re);
    if (re == TL_OK) {
        assert_true(json_equal(full.doc, ref));
        assert_null(lean.doc);
        assert_same_decoded(&full, &lean);
        /* The NO_DOC form owns what it points at: it outlives a freed full parse. */
        tl_notification_free(&full);
        assert_true(json_equal(lean.body, json_object_get(ref, "body")));
        tl_notification_free(&lean);
    } else {
        assert_string_equal(fd.msg, rd.msg);
        assert_string_equal(ld.msg, rd.msg);
        assert_null(full.doc);
        assert_null(lean.body);
    }
    json_decref(ref);
    free(text);
    return re;
}

/* A value of another JSON type than v's. */
static json_t *ill_typed(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_integer(12345);
    case JSON_INTEGER:
    case JSON_REAL:
        return json_string("12");
    case JSON_ARRAY:
        return json_object();
    case JSON_OBJECT:
        return json_pack("[s]", "x");
    default:
        return json_string("true");
    }
}

/* Mutations of object o (inside doc): each key removed, each value ill-typed, each string
 * emptied and made long, each integer made negative and huge; recursing into nested objects
 * and the first item of arrays. */
static void mutate(json_t *doc, json_t *o, int depth)
{
    if (depth > 4)
        return;
    const char *key;
    json_t *v;
    void *tmp;
    json_t *keys = json_array();
    json_object_foreach_safe(o, tmp, key, v) json_array_append_new(keys, json_string(key));
    for (size_t i = 0; i < json_array_size(keys); i++) {
        key = json_string_value(json_array_get(keys, i));
        json_t *orig = json_incref(json_object_get(o, key));
        /* Removed. */
        json_object_del(o, key);
        notification_differential(doc);
        /* Ill-typed. */
        json_object_set_new(o, key, ill_typed(orig));
        notification_differential(doc);
        if (json_is_string(orig)) {
            json_object_set_new(o, key, json_string(""));
            notification_differential(doc);
            char longs[400];
            memset(longs, 'x', sizeof longs - 1);
            longs[sizeof longs - 1] = '\0';
            json_object_set_new(o, key, json_string(longs));
            notification_differential(doc);
            json_object_set_new(o, key, json_string("*"));
            notification_differential(doc);
        }
        if (json_is_integer(orig)) {
            json_object_set_new(o, key, json_integer(-1));
            notification_differential(doc);
            json_object_set_new(o, key, json_integer(1000000000000LL));
            notification_differential(doc);
        }
        if (json_is_array(orig)) {
            json_object_set_new(o, key, json_array());
            notification_differential(doc);
            json_t *twice = json_deep_copy(orig);
            if (json_array_size(orig))
                json_array_append_new(twice, json_deep_copy(json_array_get(orig, 0)));
            json_object_set_new(o, key, twice); /* a duplicate item */
            notification_differential(doc);
        }
        /* Restored, then the nested values. */
        json_object_set(o, key, orig);
        if (json_is_object(orig))
            mutate(doc, orig, depth + 1);
        if (json_is_array(orig) && json_is_object(json_array_get(orig, 0)))
            mutate(doc, json_array_get(orig, 0), depth + 1);
        json_decref(orig);
    }
    /* An unknown field. */
    json_object_set_new(o, "zz_unknown", json_true());
    notification_differential(doc);
    json_object_del(o, "zz_unknown");
    json_decref(keys);
}

static void test_examples_and_mutations(void **state)
{
    (void)state;
    decided = refused = 0;
    size_t examples = 0;
    for (size_t i = 0; i < tl_schemas_ntypes(S_); i++) {
        const tl_msgtype *t = tl_schemas_type_at(S_, i);
        const json_t *ex = json_object_get(t->schema, "examples");
        for (size_t k = 0; k < json_array_size(ex); k++) {
            json_t *doc = json_deep_copy(json_array_get(ex, k));
            assert_int_equal(notification_differential(doc), TL_OK);
            examples++;
            mutate(doc, doc, 0);
            /* The document itself is back as it was. */
            assert_true(json_equal(doc, json_array_get(ex, k)));
            json_decref(doc);
        }
    }
    assert_true(examples >= 39);
    /* Both verdicts were exercised, many times. */
    assert_true(decided >= examples);
    assert_true(refused > 10 * examples);
}

/* Texts that are not even notifications: the messages are the reference's. */
static void test_notification_text_errors(void **state)
{
    (void)state;
    static const char *texts[] = {
        "treatylog/notification/v1\n{\"type\":1.5}\n",
        "treatylog/notification/v1\n{\"type\":\"x\",\"type\":\"y\"}\n",
        "treatylog/notification/v1\n[]\n",
        "treatylog/notification/v1\n{\"a\":\"\\u0001\"}\n",
        "treatylog/notification/v1\n {}\n",
        "treatylog/notification/v1\n{}\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        tl_notification a, b;
        tl_diag da = {{0}}, db = {{0}};
        tl_err ea = tl_notification_parse(&a, S_, texts[i], strlen(texts[i]), &da);
        tl_err eb = tl_notification_parse_ex(&b, S_, texts[i], strlen(texts[i]),
                                             TL_NOTIFICATION_NO_DOC, &db);
        assert_int_equal(ea, TL_ERR_FORMAT);
        assert_int_equal(eb, TL_ERR_FORMAT);
        assert_string_equal(da.msg, db.msg);
        /* The message of the reference path. */
        const char *line = texts[i] + TL_NOTIFICATION_HEADER_LEN;
        json_t *ref = NULL;
        tl_diag rd = {{0}};
        tl_err re = tl_schema_parse_json_ref(&ref, line, strlen(line) - 1, true, &rd);
        if (re == TL_OK) {
            assert_int_equal(tl_schema_validate_notification(S_, ref, &rd), TL_ERR_FORMAT);
            assert_string_equal(da.msg, rd.msg);
            json_decref(ref);
        } else if (strncmp(rd.msg, "JSON", 4) == 0) {
            char want[TL_DIAG_LEN + 16];
            snprintf(want, sizeof want, "line 2: %s", rd.msg);
            assert_string_equal(da.msg, want);
        } else {
            assert_string_equal(da.msg, rd.msg);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_accepted_alike),
        cmocka_unit_test(test_json_refused_alike),
        cmocka_unit_test(test_examples_and_mutations),
        cmocka_unit_test(test_notification_text_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
