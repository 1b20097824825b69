/* schema_test.c - the message schemas (schemas/<type>.json), the validator (schema.c), the value
 * formats (values.c) and notification texts (notification.c).
 *
 * The catalogue tests are generated from the schemas themselves: for every message type its
 * example is accepted, and for every required field of the envelope and of the body a variant
 * without it and a variant with a value of the wrong JSON type are refused with that field
 * named (issue 5, "Must show"). Hand-written cases cover the formats, integers, duplicate
 * keys, control characters, line structure, unknown fields and types, and the loader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"
#include "treatylog/sequencer.h"
#include "treatylog/text.h"
#include "treatylog/values.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* The schema directory: $TL_SCHEMAS, else <source tree>/schemas found from this file's path. */
static tl_schemas *S_;

static int setup(void **state)
{
    (void)state;
    if (tl_init() != TL_OK)
        return -1;
    tl_diag d = {{0}};
    if (tl_schemas_load(&S_, tu_schemas_dir(), &d) != TL_OK) {
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

/* ---------------------------------------------------------------------------------------
 * Helpers.
 */

/* The notification text of doc: header, compact JSON, LF (malloc'd). */
static char *doc_text(const json_t *doc, size_t *len)
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

static tl_err parse_text(const char *text, size_t len, tl_diag *d)
{
    tl_notification n;
    memset(d, 0, sizeof *d);
    tl_err e = tl_notification_parse(&n, S_, text, len, d);
    if (e == TL_OK)
        tl_notification_free(&n);
    else
        assert_null(n.doc); /* nothing allocated on error */
    return e;
}

static tl_err parse_doc(const json_t *doc, tl_diag *d)
{
    size_t len;
    char *t = doc_text(doc, &len);
    tl_err e = parse_text(t, len, d);
    free(t);
    return e;
}

/* Parses the JSON line `line` wrapped as a notification text. */
static tl_err parse_line(const char *line, size_t llen, tl_diag *d)
{
    char *t = malloc(TL_NOTIFICATION_HEADER_LEN + llen + 1);
    assert_non_null(t);
    memcpy(t, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN);
    memcpy(t + TL_NOTIFICATION_HEADER_LEN, line, llen);
    t[TL_NOTIFICATION_HEADER_LEN + llen] = '\n';
    tl_err e = parse_text(t, TL_NOTIFICATION_HEADER_LEN + llen + 1, d);
    free(t);
    return e;
}

/* A fresh copy of the first example of type. */
static json_t *example(const char *type)
{
    const tl_msgtype *t = tl_schemas_find(S_, type);
    assert_non_null(t);
    json_t *ex = json_array_get(json_object_get(t->schema, "examples"), 0);
    assert_non_null(ex);
    json_t *c = json_deep_copy(ex);
    assert_non_null(c);
    return c;
}

/* Expects doc to be refused with exactly msg. */
static void expect_refused(const json_t *doc, const char *msg)
{
    tl_diag d;
    tl_err e = parse_doc(doc, &d);
    if (e != TL_ERR_FORMAT || strcmp(d.msg, msg) != 0)
        fail_msg("want FORMAT \"%s\", got %d \"%s\"", msg, e, d.msg);
}

static void expect_accepted(const json_t *doc)
{
    tl_diag d;
    tl_err e = parse_doc(doc, &d);
    if (e != TL_OK)
        fail_msg("want OK, got %d \"%s\"", e, d.msg);
}

/* Sets body.<field> (or the envelope field if body_field is false) of a copy of the ch5
 * example to the JSON text val, then expects msg (NULL: accepted). */
static void ch5_set(bool body_field, const char *path, const char *val, const char *msg)
{
    json_t *doc = example("vd11.ch5.notification");
    json_error_t err;
    json_t *v = json_loads(val, JSON_DECODE_ANY, &err);
    if (!v)
        fail_msg("bad test value %s: %s", val, err.text);
    /* path: "a" or "a.b" or "a.b.N" (N an index). */
    json_t *cur = body_field ? json_object_get(doc, "body") : doc;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    char *seg = buf, *dot;
    while ((dot = strchr(seg, '.')) != NULL) {
        *dot = '\0';
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)strtoul(seg, NULL, 10))
                                 : json_object_get(cur, seg);
        assert_non_null(cur);
        seg = dot + 1;
    }
    if (json_is_array(cur))
        assert_int_equal(json_array_set_new(cur, (size_t)strtoul(seg, NULL, 10), v), 0);
    else
        assert_int_equal(json_object_set_new(cur, seg, v), 0);
    if (msg)
        expect_refused(doc, msg);
    else
        expect_accepted(doc);
    json_decref(doc);
}

/* ---------------------------------------------------------------------------------------
 * The catalogue: every type of domain.md §2.4 has a schema, every example is accepted.
 */

static const char *const catalogue[] = {
    "generic.acknowledgement",
    "generic.correction",
    "generic.reminder",
    "vd11.ch1.annual-exchange",
    "vd11.ch2.defence-planning",
    "vd11.ch2.clarification-request",
    "vd11.ch2.clarification-reply",
    "vd11.ch7.calendar",
    "vd11.ch8.large-activity-notice",
    "vd11.ch11.statement",
    "vd11.ch3.explanation-request",
    "vd11.ch3.explanation-reply",
    "vd11.ch3.meeting-request",
    "vd11.ch3.meeting-notice",
    "vd11.ch3.meeting-record",
    "vd11.ch3.poc-designation",
    "vd11.ch3.hazardous-incident",
    "vd11.ch3.incident-reply",
    "vd11.ch3.visit-invitation",
    "vd11.ch4.contact-invitation",
    "vd11.ch5.notification",
    "vd11.ch5.change",
    "vd11.ch6.observation-invitation",
    "vd11.ch6.observation-reply",
    "vd11.ch6.observation-report",
    "vd11.ch9.inspection-request",
    "vd11.ch9.inspection-reply",
    "vd11.ch9.inspection-report",
    "vd11.ch9.evaluation-request",
    "vd11.ch9.evaluation-reply",
    "vd11.ch9.evaluation-report",
    "vd11.ch9.quota-filled",
    "os.flight-notice",
    "os.acknowledgement",
    "os.mission-plan",
    "os.mission-plan-reply",
    "os.mission-report",
    "os.aircraft-designation",
    "os.quota-transfer",
};
#define NCATALOGUE (sizeof catalogue / sizeof catalogue[0])

static void test_catalogue_complete(void **state)
{
    (void)state;
    assert_int_equal(NCATALOGUE, 39);
    assert_int_equal(tl_schemas_ntypes(S_), NCATALOGUE);
    for (size_t i = 0; i < NCATALOGUE; i++) {
        const tl_msgtype *t = tl_schemas_find(S_, catalogue[i]);
        if (!t)
            fail_msg("no schema for %s", catalogue[i]);
        assert_string_equal(t->name, catalogue[i]);
    }
    /* Sorted, and findable by name. */
    for (size_t i = 1; i < tl_schemas_ntypes(S_); i++)
        assert_true(strcmp(tl_schemas_type_at(S_, i - 1)->name, tl_schemas_type_at(S_, i)->name) <
                    0);
    assert_null(tl_schemas_type_at(S_, tl_schemas_ntypes(S_)));
    assert_null(tl_schemas_find(S_, "envelope"));
    assert_null(tl_schemas_find(S_, "common"));
    assert_null(tl_schemas_find(S_, "vd11.ch5"));
    assert_non_null(tl_schemas_file(S_, "envelope"));
    assert_non_null(tl_schemas_file(S_, "common"));
    /* Annotations for the treaty-mode hook. */
    const tl_msgtype *t = tl_schemas_find(S_, "vd11.ch3.meeting-record");
    assert_int_equal(t->refs_min, 2);
    assert_int_equal(t->nref_types, 2);
    assert_string_equal(t->ref_types[0], "vd11.ch3.meeting-notice");
    assert_string_equal(t->from_role, "chair");
    t = tl_schemas_find(S_, "vd11.ch5.notification");
    assert_int_equal(t->refs_min, 0);
    assert_null(t->from_role);
    assert_string_equal(tl_schemas_find(S_, "generic.reminder")->from_role, "secretariat");
}

static void test_examples_accepted(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < tl_schemas_ntypes(S_); i++) {
        const tl_msgtype *t = tl_schemas_type_at(S_, i);
        const json_t *ex = json_object_get(t->schema, "examples");
        assert_true(json_array_size(ex) >= 1);
        for (size_t k = 0; k < json_array_size(ex); k++) {
            expect_accepted(json_array_get(ex, k));
            n++;
        }
        /* The template is the first example, as a text that parses to that type. */
        char *text = NULL;
        size_t len = 0;
        tl_diag d = {{0}};
        assert_int_equal(tl_notification_template(&text, &len, S_, t->name, &d), TL_OK);
        assert_int_equal(strlen(text), len);
        tl_notification nt;
        if (tl_notification_parse(&nt, S_, text, len, &d) != TL_OK)
            fail_msg("%s template: %s", t->name, d.msg);
        assert_string_equal(nt.type, t->name);
        assert_true(json_equal(nt.doc, json_array_get(ex, 0)));
        tl_notification_free(&nt);
        /* A pretty-printed copy (an edited template) has the same canonical text. */
        char *pretty = json_dumps(json_array_get(ex, 0), JSON_INDENT(2));
        char *canon = NULL;
        size_t clen = 0;
        assert_int_equal(tl_notification_from_json(&canon, &clen, S_, pretty, strlen(pretty), &d),
                         TL_OK);
        assert_int_equal(clen, len);
        assert_memory_equal(canon, text, len);
        free(canon);
        free(pretty);
        free(text);
    }
    print_message("%zu examples of %zu types accepted\n", n, tl_schemas_ntypes(S_));
    char *text = NULL;
    size_t len = 0;
    tl_diag d;
    assert_int_equal(tl_notification_template(&text, &len, S_, "vd11.ch5.notificaton", &d),
                     TL_ERR_NOTFOUND);
    assert_null(text);
}

/* ---------------------------------------------------------------------------------------
 * Generated: each required field missing, and ill-typed.
 */

/* Follows $ref (absolute after loading: "<file>.json#/a/b") until a node says its type. */
static const json_t *resolve(const json_t *sch)
{
    for (int hops = 0; hops < 16; hops++) {
        const json_t *ref = json_object_get(sch, "$ref");
        if (!ref || json_object_get(sch, "type"))
            return sch;
        const char *r = json_string_value(ref);
        const char *hash = strchr(r, '#');
        assert_non_null(hash);
        char file[128];
        assert_true(hash - r > 5 && (size_t)(hash - r) < sizeof file);
        snprintf(file, sizeof file, "%.*s", (int)(hash - r - 5), r);
        char ptr[256];
        const json_t *cur = tl_schemas_file(S_, file);
        assert_non_null(cur);
        snprintf(ptr, sizeof ptr, "%s", hash + 1);
        for (char *seg = ptr; *seg == '/';) {
            char *next = strchr(seg + 1, '/');
            if (next)
                *next = '\0';
            cur = json_object_get(cur, seg + 1);
            assert_non_null(cur);
            if (!next)
                break;
            *next = '/';
            seg = next;
        }
        sch = cur;
    }
    fail_msg("$ref chain too long");
    return NULL;
}

static bool type_allows(const json_t *type, const json_t *v)
{
    const char *want[8];
    size_t n = 0;
    if (json_is_string(type)) {
        want[n++] = json_string_value(type);
    } else {
        for (size_t i = 0; i < json_array_size(type) && n < 8; i++)
            want[n++] = json_string_value(json_array_get(type, i));
    }
    for (size_t i = 0; i < n; i++) {
        const char *t = want[i];
        if ((json_is_integer(v) && (!strcmp(t, "integer") || !strcmp(t, "number"))) ||
            (json_is_real(v) && !strcmp(t, "number")) ||
            (json_is_string(v) && !strcmp(t, "string")) ||
            (json_is_object(v) && !strcmp(t, "object")) ||
            (json_is_array(v) && !strcmp(t, "array")) ||
            (json_is_boolean(v) && !strcmp(t, "boolean")) ||
            (json_is_null(v) && !strcmp(t, "null")))
            return true;
    }
    return false;
}

/* A value whose JSON type the field's schema does not allow: 42 for strings, "12" for
 * integers, and so on. */
static json_t *ill_typed(const json_t *field_schema, const char *what)
{
    const json_t *sch = resolve(field_schema);
    const json_t *type = json_object_get(sch, "type");
    if (!type)
        fail_msg("%s: the schema of a required field must say its type", what);
    json_t *cands[] = {json_integer(42), json_string("12"), json_object(),
                       json_array(),     json_true(),       json_null()};
    json_t *pick = NULL;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (!pick && !type_allows(type, cands[i]))
            pick = json_incref(cands[i]);
        json_decref(cands[i]);
    }
    assert_non_null(pick);
    return pick;
}

/* Removes and mistypes each required field of schema `sch` found at doc.<at> ("" = the
 * envelope, "body"); returns the number of cases. */
static size_t required_variants(const json_t *ex, const json_t *sch, const char *at,
                                const char *type)
{
    size_t cases = 0;
    const json_t *req = json_object_get(sch, "required");
    const json_t *props = json_object_get(sch, "properties");
    assert_true(json_array_size(req) > 0);
    for (size_t i = 0; i < json_array_size(req); i++) {
        const char *f = json_string_value(json_array_get(req, i));
        char what[160], msg[256];
        snprintf(what, sizeof what, "%s %s%s%s", type, at, at[0] ? "." : "", f);

        /* Missing. */
        json_t *doc = json_deep_copy(ex);
        json_t *obj = at[0] ? json_object_get(doc, at) : doc;
        if (!json_object_get(obj, f))
            fail_msg("%s: the example lacks a required field", what);
        assert_int_equal(json_object_del(obj, f), 0);
        if (at[0])
            snprintf(msg, sizeof msg, "%s: missing required field \"%s\"", at, f);
        else
            snprintf(msg, sizeof msg, "missing required field \"%s\"", f);
        expect_refused(doc, msg);
        json_decref(doc);
        cases++;

        /* Ill-typed. */
        const json_t *fs = json_object_get(props, f);
        if (!fs)
            fail_msg("%s: required but not in properties", what);
        doc = json_deep_copy(ex);
        obj = at[0] ? json_object_get(doc, at) : doc;
        assert_int_equal(json_object_set_new(obj, f, ill_typed(fs, what)), 0);
        tl_diag d;
        tl_err e = parse_doc(doc, &d);
        char prefix[160];
        snprintf(prefix, sizeof prefix, "%s%s%s: must be ", at, at[0] ? "." : "", f);
        if (e != TL_ERR_FORMAT || strncmp(d.msg, prefix, strlen(prefix)) != 0)
            fail_msg("%s ill-typed: want \"%s...\", got %d \"%s\"", what, prefix, e, d.msg);
        json_decref(doc);
        cases++;
    }
    /* anyOf of alternative required fields: all of them missing. */
    const json_t *any = json_object_get(sch, "anyOf");
    if (any) {
        json_t *doc = json_deep_copy(ex);
        json_t *obj = at[0] ? json_object_get(doc, at) : doc;
        for (size_t i = 0; i < json_array_size(any); i++) {
            const json_t *r = json_object_get(json_array_get(any, i), "required");
            for (size_t j = 0; j < json_array_size(r); j++)
                (void)json_object_del(obj, json_string_value(json_array_get(r, j)));
        }
        tl_diag d;
        tl_err e = parse_doc(doc, &d);
        char prefix[160];
        snprintf(prefix, sizeof prefix, "%s: missing required field \"", at);
        if (e != TL_ERR_FORMAT || strncmp(d.msg, prefix, strlen(prefix)) != 0 ||
            !strstr(d.msg, " or "))
            fail_msg("%s anyOf: got %d \"%s\"", type, e, d.msg);
        json_decref(doc);
        cases++;
    }
    return cases;
}

static void test_required_fields_generated(void **state)
{
    (void)state;
    const json_t *env = tl_schemas_file(S_, "envelope");
    size_t env_cases = 0, body_cases = 0;
    for (size_t i = 0; i < tl_schemas_ntypes(S_); i++) {
        const tl_msgtype *t = tl_schemas_type_at(S_, i);
        const json_t *ex = json_array_get(json_object_get(t->schema, "examples"), 0);
        env_cases += required_variants(ex, env, "", t->name);
        body_cases += required_variants(ex, t->schema, "body", t->name);
    }
    print_message("generated %zu envelope and %zu body variants (missing / ill-typed / anyOf) "
                  "over %zu types, each refused with the field named\n",
                  env_cases, body_cases, tl_schemas_ntypes(S_));
    assert_int_equal(env_cases, 39 * 8 * 2);
    assert_true(body_cases > 39 * 2);
}

/* ---------------------------------------------------------------------------------------
 * Hand-written: formats and numbers.
 */

static void test_formats_dates(void **state)
{
    (void)state;
    ch5_set(true, "start", "\"2024-02-29\"", NULL);
    static const char *bad[] = {"\"2025-02-29\"",
                                "\"2025-04-31\"",
                                "\"2025-4-20\"",
                                "\"20250420\"",
                                "\"2025-13-01\"",
                                "\"2025-00-10\"",
                                "\"2025-04-20T00:00:00Z\"",
                                "\" 2025-04-20\"",
                                "\"\"",
                                "20250420"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ch5_set(true, "start", bad[i], "body.start: must be a date (YYYY-MM-DD)");
    ch5_set(true, "stages.1.from", "\"2025-02-30\"",
            "body.stages[1].from: must be a date (YYYY-MM-DD)");

    ch5_set(false, "sent", "\"2025-03-01T23:59:59Z\"", NULL);
    static const char *badt[] = {"\"2025-03-01T09:00:00+00:00\"",
                                 "\"2025-03-01T09:00:00.5Z\"",
                                 "\"2025-03-01t09:00:00z\"",
                                 "\"2025-03-01T24:00:00Z\"",
                                 "\"2025-03-01T23:59:60Z\"",
                                 "\"2025-03-01 09:00:00Z\"",
                                 "\"2025-03-01T09:00Z\"",
                                 "\"2025-03-01\"",
                                 "1740819600"};
    for (size_t i = 0; i < sizeof badt / sizeof badt[0]; i++)
        ch5_set(false, "sent", badt[i], "sent: must be a UTC date-time (YYYY-MM-DDThh:mm:ssZ)");
}

static void test_formats_parties(void **state)
{
    (void)state;
    static const char *bad[] = {"\"xa\"",
                                "\"XAA\"",
                                "\"X\"",
                                "\"*\"",
                                "\"1A\"",
                                ("\"\xc3\x84"
                                 "A\""), /* split: \x84A would be one escape */
                                "\"X \"",
                                "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ch5_set(false, "from", bad[i], "from: must be a party code (two upper-case letters)");
    ch5_set(false, "to", "[\"XB\",\"XC\"]", NULL);
    ch5_set(false, "to", "[\"XB\",\"xc\"]",
            "to[1]: must be a party code (two upper-case letters) or \"*\"");
    ch5_set(false, "to", "[\"*\",\"XB\"]", "to: \"*\" must be the only recipient");
    ch5_set(false, "to", "[\"XB\",\"XC\",\"XB\"]", "to[2]: duplicate of to[0]");
    ch5_set(false, "to", "[]", "to: must have at least 1 item");
    ch5_set(false, "to", "\"*\"", "to: must be a list of party codes, or [\"*\"]");
    ch5_set(true, "participants", "[\"XA\",\"XA\"]",
            "body.participants[1]: duplicate of "
            "body.participants[0]");
    ch5_set(true, "participants", "[]", "body.participants: must have at least 1 item");
    ch5_set(true, "by_state", "{\"XA\":{\"troops_peak\":1},\"x-a\":{}}",
            "body.by_state: key \"x-a\" must be a party code (two upper-case letters)");
    ch5_set(true, "by_state", "{\"XA\":{\"troops_peak\":-5}}",
            "body.by_state.XA.troops_peak: must be an integer >= 0");
}

static void test_formats_leafhash(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"",  /* 43: unpadded */
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\"", /* non-zero trailing bits */
        "\"Ogyp6FdcbrfYxedz0mBn9fW1dDSd_U3TtzALyjVaGgY=\"", /* base64url */
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", /* 33 bytes */
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"", /* 31 bytes */
        "\" Ogyp6FdcbrfYxedz0mBn9fW1dDSd/U3TtzALyjVaGgY\"", /* space */
        "\"\"",
        "42",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ch5_set(false, "refs.0", bad[i], "refs[0]: must be base64 of a 32-byte hash");
    ch5_set(false, "refs.0", "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"", NULL);
    ch5_set(false, "refs",
            "[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
            "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]",
            "refs[1]: duplicate of refs[0]");
    ch5_set(false, "refs", "{}", "refs: must be an array");
}

static void test_formats_degrees(void **state)
{
    (void)state;
    static const char *ok[] = {"\"58\"", "\"0\"",          "\"-0.5\"",    "\"58.123456\"",
                               "\"90\"", "\"-90.000000\"", "\"0.000001\""};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ch5_set(true, "area.polygon.2.0", ok[i], NULL);
    static const char *bad[] = {"\"58.1234567\"", "\"058.1\"",  "\"+58.1\"", "\"58.\"",  "\".5\"",
                                "\"-0\"",         "\"-0.000\"", "\"1e1\"",   "\"58,1\"", "\"\"",
                                "\"-\"",          "58.1",       "58",        "\"1000\"", "\" 58\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ch5_set(true, "area.polygon.2.0", bad[i],
                "body.area.polygon[2][0]: must be a decimal-degrees string");
    ch5_set(true, "area.polygon.2.0", "\"90.000001\"",
            "body.area.polygon[2][0]: must be a latitude between -90 and 90 degrees");
    ch5_set(true, "area.polygon.2.0", "\"-181\"",
            "body.area.polygon[2][0]: must be a latitude between -90 and 90 degrees");
    ch5_set(true, "area.polygon.2.1", "\"180\"", NULL);
    ch5_set(true, "area.polygon.2.1", "\"-180.000000\"", NULL);
    ch5_set(true, "area.polygon.2.1", "\"180.000001\"",
            "body.area.polygon[2][1]: must be a longitude between -180 and 180 degrees");
    ch5_set(true, "area.polygon.2", "[\"57.4\"]",
            "body.area.polygon[2]: must have exactly 2 items");
    ch5_set(true, "area.polygon", "[[\"1\",\"2\"],[\"3\",\"4\"]]",
            "body.area.polygon: must have at least 3 items");
    ch5_set(true, "area", "{}", "body.area: missing required field \"polygon\" or \"text\"");
    ch5_set(true, "area", "{\"text\":\"x\",\"radius\":5}", "body.area: unknown field \"radius\"");
}

static void test_integers(void **state)
{
    (void)state;
    ch5_set(true, "troops_peak", "0", NULL);
    ch5_set(true, "troops_peak", "9223372036854775807", NULL);
    static const char *bad[] = {"1.5", "1e3",  "1E3",  "12.0", "\"12\"",
                                "-1",  "true", "null", "[12]", "-0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ch5_set(true, "troops_peak", bad[i], "body.troops_peak: must be an integer >= 0");
    ch5_set(false, "serial", "0", "serial: must be an integer >= 1");
    ch5_set(false, "serial", "1.0", "serial: must be an integer >= 1");
    ch5_set(true, "stages.0.troops", "\"10400\"", "body.stages[0].troops: must be an integer >= 0");
    ch5_set(true, "without_advance_notice", "0",
            "body.without_advance_notice: must be true or "
            "false");
    ch5_set(true, "kind", "\"sea\"",
            "body.kind: must be one of \"land\", \"amphibious\", "
            "\"airborne\", \"transfer\", \"concentration\"");
    ch5_set(true, "activity", "\"\"",
            "body.activity: must be a non-empty string of at most 64 "
            "characters");

    /* Past 64 bits: not a JSON integer jansson keeps, refused as JSON. */
    json_t *doc = example("vd11.ch5.notification");
    char *js = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *p = strstr(js, "\"troops_peak\":10400");
    assert_non_null(p);
    size_t at = (size_t)(p - js) + strlen("\"troops_peak\":");
    char line[8192];
    snprintf(line, sizeof line, "%.*s99999999999999999999%s", (int)at, js, js + at + 5);
    tl_diag d;
    assert_int_equal(parse_line(line, strlen(line), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "too big integer"));
    /* NaN and Infinity are not JSON. */
    snprintf(line, sizeof line, "%.*sNaN%s", (int)at, js, js + at + 5);
    assert_int_equal(parse_line(line, strlen(line), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 2: JSON column"));
    snprintf(line, sizeof line, "%.*sInfinity%s", (int)at, js, js + at + 5);
    assert_int_equal(parse_line(line, strlen(line), &d), TL_ERR_FORMAT);
    free(js);
}

/* ---------------------------------------------------------------------------------------
 * Hand-written: document structure.
 */

static void test_duplicate_keys(void **state)
{
    (void)state;
    tl_diag d;
    char *t = NULL;
    size_t len = 0;
    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch3.explanation-request", &d),
                     TL_OK);
    /* Top level: a second "from". */
    const char *line = t + TL_NOTIFICATION_HEADER_LEN;
    size_t llen = len - TL_NOTIFICATION_HEADER_LEN - 1;
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s,\"from\":\"RU\"}", (int)(llen - 1), line);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "duplicate object key"));
    assert_non_null(strstr(d.msg, "line 2: JSON column"));
    /* Nested: a second "concerning" in body. */
    const char *b = strstr(line, "\"concerning\":\"RU\"");
    assert_non_null(b);
    size_t at = (size_t)(b - line);
    snprintf(buf, sizeof buf, "%.*s\"concerning\":\"BY\",%.*s", (int)at, line, (int)(llen - at),
             line + at);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "duplicate object key"));
    free(t);
}

static void test_control_characters(void **state)
{
    (void)state;
    tl_diag d;
    json_t *doc = example("vd11.ch3.explanation-request");
    /* Escaped control characters in strings, keys. */
    json_object_set_new(doc, "remarks", json_string("bell\x07here"));
    expect_refused(doc, "remarks: control character U+0007 in a string");
    json_object_set_new(doc, "remarks", json_string("tab\there"));
    expect_refused(doc, "remarks: control character U+0009 in a string");
    /* jansson writes DEL and C1 characters raw: the line check finds them first. */
    json_object_set_new(doc, "remarks", json_string("del\x7fhere"));
    assert_int_equal(parse_doc(doc, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 2: JSON column "));
    assert_non_null(strstr(d.msg, ": control character U+007F"));
    json_object_set_new(doc, "remarks", json_string("c1 \xc2\x85 here"));
    assert_int_equal(parse_doc(doc, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, ": control character U+0085"));
    json_object_set_new(doc, "remarks", json_string(""));
    json_object_set_new(json_object_get(doc, "body"), "description", json_string("a\rb"));
    expect_refused(doc, "body.description: control character U+000D in a string");
    json_object_set_new(json_object_get(doc, "body"), "description", json_string("ok"));
    json_object_set_new(doc, "remarks", json_string("line one\nline two, \xd0\xba\xd0\xb8"));
    expect_accepted(doc); /* LF inside a string, written as \n: allowed */
    json_object_set_new(doc, "re\nmarks", json_string(""));
    expect_refused(doc, "[\"re\\u000amarks\"]: control character U+000A in a key");
    json_decref(doc);

    /* Raw control characters in the line. */
    char *t = NULL;
    size_t len = 0;
    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch3.explanation-request", &d),
                     TL_OK);
    char *line = t + TL_NOTIFICATION_HEADER_LEN;
    size_t llen = len - TL_NOTIFICATION_HEADER_LEN - 1;
    char *sp = strchr(line, ',');
    *sp = '\t'; /* JSON whitespace, but a control character */
    assert_int_equal(parse_line(line, llen, &d), TL_ERR_FORMAT);
    char want[96];
    snprintf(want, sizeof want, "line 2: JSON column %d: control character U+0009",
             (int)(sp - line) + 1);
    assert_string_equal(d.msg, want);
    *sp = ',';
    /* A raw DEL inside a string (valid JSON) is still refused. */
    char *q = strstr(line, "reinforcement");
    *q = 0x7f;
    assert_int_equal(parse_line(line, llen, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "control character U+007F"));
    *q = 'r';
    /* A NUL, raw or escaped. */
    *q = '\0';
    assert_int_equal(parse_line(line, llen, &d), TL_ERR_FORMAT);
    *q = 'r';
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s\\u0000%.*s", (int)(q - line), line,
             (int)(llen - (size_t)(q - line)), q);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    if (!strstr(d.msg, "\\u0000"))
        fail_msg("%s", d.msg);
    snprintf(buf, sizeof buf, "%.*s\\u0085%.*s", (int)(q - line), line,
             (int)(llen - (size_t)(q - line)), q);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "body.description: control character U+0085 in a string");
    snprintf(buf, sizeof buf, "%.*s\\u007f%.*s", (int)(q - line), line,
             (int)(llen - (size_t)(q - line)), q);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "body.description: control character U+007F in a string");
    snprintf(buf, sizeof buf, "%.*s\\n%.*s", (int)(q - line), line,
             (int)(llen - (size_t)(q - line)), q);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_OK);
    /* Invalid UTF-8. */
    *q = (char)0xc3;
    assert_int_equal(parse_line(line, llen, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "line 2: JSON: not valid UTF-8");
    *q = 'r';
    /* CRLF line end. */
    line[llen] = '\r';
    assert_int_equal(parse_line(line, llen + 1, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "control character U+000D"));
    line[llen] = '\n';
    assert_int_equal(parse_text(t, len, &d), TL_OK);
    free(t);
}

static void test_line_structure(void **state)
{
    (void)state;
    tl_diag d;
    char *t = NULL;
    size_t len = 0;
    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch5.notification", &d), TL_OK);
    assert_int_equal(parse_text(t, len, &d), TL_OK);
    /* Missing final LF; text after it; a blank line. */
    assert_int_equal(parse_text(t, len - 1, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "line 2: must end with a line feed");
    char *more = malloc(len + 8);
    memcpy(more, t, len);
    memcpy(more + len, "{}\n", 3);
    assert_int_equal(parse_text(more, len + 3, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 3: unexpected text"));
    more[len] = '\n';
    assert_int_equal(parse_text(more, len + 1, &d), TL_ERR_FORMAT);
    free(more);
    /* Header: other version, other case, missing, CRLF. */
    memcpy(t, "treatylog/notification/v2", 25);
    assert_int_equal(parse_text(t, len, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "line 1: unknown format \"treatylog/notification/v2\" (want "
                               "treatylog/notification/v1)");
    memcpy(t, "Treatylog/notification/v1", 25);
    assert_int_equal(parse_text(t, len, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "line 1: must be \"treatylog/notification/v1\"");
    memcpy(t, "treatylog/notification/v1", 25);
    assert_int_equal(
        parse_text(t + TL_NOTIFICATION_HEADER_LEN, len - TL_NOTIFICATION_HEADER_LEN, &d),
        TL_ERR_FORMAT);
    assert_int_equal(parse_text("", 0, &d), TL_ERR_FORMAT);
    assert_int_equal(parse_text(S(TL_NOTIFICATION_HEADER), &d), TL_ERR_FORMAT);
    free(t);

    /* Multi-line JSON (a pretty-printed object) is not a notification text... */
    json_t *doc = example("vd11.ch5.notification");
    char *pretty = json_dumps(doc, JSON_INDENT(1));
    assert_int_equal(parse_line(pretty, strlen(pretty), &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "line 3: unexpected text after the JSON line (the object must be "
                               "on one line)");
    /* A line break inside the JSON line itself (here, the last one) is one too. */
    assert_int_equal(tl_schema_parse_json(&(json_t *){NULL}, pretty, strlen(pretty), true, &d),
                     TL_ERR_FORMAT);
    assert_string_equal(d.msg, "JSON column 2: line break (the object must be on one line)");
    /* ...but tl_notification_from_json turns it into one. */
    char *canon = NULL;
    size_t clen = 0;
    assert_int_equal(tl_notification_from_json(&canon, &clen, S_, pretty, strlen(pretty), &d),
                     TL_OK);
    assert_int_equal(parse_text(canon, clen, &d), TL_OK);
    free(canon);
    free(pretty);
    /* Spaces around the object, a BOM, an array, two objects. */
    char *js = json_dumps(doc, JSON_COMPACT);
    char buf[8192];
    snprintf(buf, sizeof buf, " %s", js);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "must be one object"));
    snprintf(buf, sizeof buf, "%s ", js);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    snprintf(buf, sizeof buf, "\xef\xbb\xbf%s", js);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    snprintf(buf, sizeof buf, "%s%s", js, js);
    assert_int_equal(parse_line(buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "end of file expected"));
    assert_int_equal(parse_line(S("{}"), &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "missing required field \"type\"");
    /* Spaces between tokens are JSON and allowed. */
    char *spaced = json_dumps(doc, JSON_INDENT(0));
    for (char *c = spaced; *c; c++) {
        if (*c == '\n')
            *c = ' ';
    }
    assert_int_equal(parse_line(spaced, strlen(spaced), &d), TL_OK);
    free(spaced);
    free(js);
    json_decref(doc);

    /* Over the size limit. */
    doc = example("vd11.ch11.statement");
    char *big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    json_object_set_new(json_object_get(doc, "body"), "text", json_string(big));
    assert_int_equal(parse_doc(doc, &d), TL_ERR_TOOBIG);
    char *txt = NULL;
    size_t tl = 0;
    char *bj = json_dumps(doc, JSON_COMPACT);
    assert_int_equal(tl_notification_from_json(&txt, &tl, S_, bj, strlen(bj), &d), TL_ERR_TOOBIG);
    free(bj);
    free(big);
    json_decref(doc);
}

static void test_unknown_fields_and_types(void **state)
{
    (void)state;
    json_t *doc = example("vd11.ch5.notification");
    json_object_set_new(doc, "priority", json_string("urgent"));
    expect_refused(doc, "unknown field \"priority\"");
    json_object_del(doc, "priority");
    json_object_set_new(json_object_get(doc, "body"), "troops", json_integer(5));
    expect_refused(doc, "body: unknown field \"troops\"");
    json_object_del(json_object_get(doc, "body"), "troops");
    json_object_set_new(doc, "type", json_string("vd11.ch5.notificaton"));
    expect_refused(doc, "type: unknown message type \"vd11.ch5.notificaton\"");
    json_object_set_new(doc, "type", json_string("envelope"));
    expect_refused(doc, "type: unknown message type \"envelope\"");
    json_object_set_new(doc, "type", json_string("common"));
    expect_refused(doc, "type: unknown message type \"common\"");
    json_object_set_new(doc, "type", json_string("\"q\\"));
    expect_refused(doc, "type: unknown message type \"\\\"q\\\\\"");
    json_object_set_new(doc, "type", json_string(""));
    expect_refused(doc, "type: must be a non-empty string of at most 64 characters");
    /* A body of another type. */
    json_object_set_new(doc, "type", json_string("vd11.ch3.explanation-request"));
    expect_refused(doc, "body: missing required field \"concerning\"");
    json_decref(doc);

    /* remarks is optional; free-form objects stay free. */
    doc = example("vd11.ch5.notification");
    json_object_del(doc, "remarks");
    expect_accepted(doc);
    json_decref(doc);
    doc = example("vd11.ch2.defence-planning");
    json_object_set_new(json_object_get(json_object_get(doc, "body"), "sections"), "anything",
                        json_pack("{s:[i,s]}", "x", 1, "y"));
    expect_accepted(doc);
    json_decref(doc);
    /* Null where a type does not allow it; null where it does. */
    doc = example("vd11.ch9.inspection-reply");
    json_t *body = json_object_get(doc, "body");
    json_object_set_new(body, "accept", json_false());
    json_object_set_new(body, "grounds", json_string("quota"));
    json_object_set_new(body, "entry_point", json_null());
    json_object_set_new(body, "entry_time", json_null());
    expect_accepted(doc);
    json_object_set_new(body, "grounds", json_string("weather"));
    expect_refused(doc, "body.grounds: must be one of null, \"quota\", \"force-majeure\"");
    json_object_set_new(body, "grounds", json_null());
    json_object_set_new(body, "entry_time", json_string("soon"));
    expect_refused(doc, "body.entry_time: must be a UTC date-time (YYYY-MM-DDThh:mm:ssZ) or null");
    json_decref(doc);
}

static void test_refs_required(void **state)
{
    (void)state;
    json_t *doc = example("vd11.ch3.explanation-reply");
    json_object_set_new(doc, "refs", json_array());
    expect_refused(doc, "refs: vd11.ch3.explanation-reply must reference at least 1 earlier entry "
                        "(vd11.ch3.explanation-request)");
    json_decref(doc);
    doc = example("vd11.ch3.meeting-record");
    json_array_remove(json_object_get(doc, "refs"), 1);
    expect_refused(doc, "refs: vd11.ch3.meeting-record must reference at least 2 earlier entries "
                        "(vd11.ch3.meeting-notice, vd11.ch3.meeting-request)");
    json_decref(doc);
    doc = example("generic.acknowledgement");
    json_object_set_new(doc, "refs", json_array());
    expect_refused(doc, "refs: generic.acknowledgement must reference at least 1 earlier entry");
    json_decref(doc);
}

static void test_decoded_fields(void **state)
{
    (void)state;
    char *t = NULL;
    size_t len = 0;
    tl_diag d;
    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch5.notification", &d), TL_OK);
    tl_notification n;
    assert_int_equal(tl_notification_parse(&n, S_, t, len, &d), TL_OK);
    assert_string_equal(n.type, "vd11.ch5.notification");
    assert_string_equal(n.from, "XA");
    assert_true(n.serial == 57);
    assert_true(n.sent == 1740819600); /* 2025-03-01T09:00:00Z */
    assert_true(n.to_all);
    assert_int_equal(n.nto, 0);
    assert_int_equal(n.nrefs, 1);
    assert_hash_hex(n.refs[0], "3a0ca9e8575c6eb7d8c5e773d26067f5f5b574349dfd4dd3b7300bca355a1a06");
    assert_string_equal(n.treaty_ref, "VD11 Ch. V");
    assert_string_equal(n.remarks, "");
    assert_true(json_is_object(n.body));
    assert_int_equal(json_integer_value(json_object_get(n.body, "troops_peak")), 10400);
    tl_notification_free(&n);
    assert_null(n.doc);
    tl_notification_free(&n); /* twice is fine */
    tl_notification_free(NULL);
    free(t);

    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch3.explanation-reply", &d),
                     TL_OK);
    assert_int_equal(tl_notification_parse(&n, S_, t, len, &d), TL_OK);
    assert_false(n.to_all);
    assert_int_equal(n.nto, 2);
    assert_string_equal(n.to[0], "UA");
    assert_string_equal(n.to[1], "PL");
    assert_true(n.sent == 1645088400); /* 2022-02-17T09:00:00Z */
    tl_notification_free(&n);
    free(t);

    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch3.explanation-request", &d),
                     TL_OK);
    assert_int_equal(tl_notification_parse(&n, S_, t, len, &d), TL_OK);
    assert_true(n.sent == 1644580680); /* 2022-02-11T11:58:00Z */
    assert_int_equal(n.nrefs, 0);
    assert_null(n.refs);
    assert_string_equal(n.remarks,
                        "Request under the Chapter III mechanism; reply expected within 48 hours.");
    tl_notification_free(&n);
    free(t);
}

static void test_submission_hook(void **state)
{
    (void)state;
    tl_skey k;
    uint8_t seed[TL_SEED_LEN] = {7};
    assert_int_equal(tl_skey_from_seed(&k, S("UA"), TL_KEY_ED25519, seed, NULL), TL_OK);
    char *t = NULL;
    size_t len = 0;
    tl_diag d;
    assert_int_equal(tl_notification_template(&t, &len, S_, "vd11.ch3.explanation-request", &d),
                     TL_OK);
    char *note = NULL;
    size_t nlen = 0;
    assert_int_equal(tl_note_sign(&note, &nlen, t, len, &k, &d), TL_OK);
    {
        /* Plugs into the sequencer's validation hook as it is. */
        tl_validate_fn fn = tl_notification_check_submission;
        assert_int_equal(fn((void *)S_, (const uint8_t *)note, nlen, &d), TL_OK);
        /* The text alone is not a signed note. */
        assert_int_equal(fn((void *)S_, (const uint8_t *)t, len, &d), TL_ERR_FORMAT);
        assert_non_null(strstr(d.msg, "signed note"));
        /* A signed note of an invalid notification. */
        char *bad = strstr(note, "\"RU\"");
        assert_non_null(bad);
        bad[1] = 'r';
        assert_int_equal(fn((void *)S_, (const uint8_t *)note, nlen, &d), TL_ERR_FORMAT);
        assert_string_equal(d.msg,
                            "body.concerning: must be a party code (two upper-case letters)");
    }
    free(note);
    free(t);
    tl_skey_wipe(&k);
}

static void test_deep_paths(void **state)
{
    (void)state;
    /* Free-form content may nest (up to jansson's limit); paths past 48 levels end in "...". */
    json_t *doc = example("vd11.ch2.defence-planning");
    json_t *inner = json_string("deep\x07");
    for (int i = 0; i < 60; i++) {
        json_t *a = json_array();
        json_array_append_new(a, inner);
        inner = a;
    }
    json_object_set_new(json_object_get(json_object_get(doc, "body"), "sections"), "x", inner);
    tl_diag d;
    assert_int_equal(parse_doc(doc, &d), TL_ERR_FORMAT);
    assert_true(strncmp(d.msg, "body.sections.x[0][0][0]", 24) == 0);
    assert_non_null(strstr(d.msg, "[0]...: control character U+0007 in a string"));
    json_decref(doc);
}

/* ---------------------------------------------------------------------------------------
 * values.h
 */

static void test_values(void **state)
{
    (void)state;
    int64_t v = 99;
    assert_int_equal(tl_value_date(S("1970-01-01"), &v), TL_OK);
    assert_true(v == 0);
    assert_int_equal(tl_value_date(S("2000-03-01"), &v), TL_OK);
    assert_true(v == 11017);
    assert_int_equal(tl_value_date(S("9999-12-31"), &v), TL_OK);
    assert_true(v == 2932896);
    assert_int_equal(tl_value_date(S("0001-01-01"), &v), TL_OK);
    assert_true(v == -719162);
    assert_int_equal(tl_value_date(S("1900-02-29"), &v), TL_ERR_FORMAT);
    assert_int_equal(tl_value_date(S("2000-02-29"), &v), TL_OK);
    v = 5;
    assert_int_equal(tl_value_date(S("2000-02-30"), &v), TL_ERR_FORMAT);
    assert_true(v == 5);                                           /* untouched on error */
    assert_int_equal(tl_value_date("2000-02-010", 10, &v), TL_OK); /* the length bounds it */
    assert_int_equal(tl_value_datetime(S("1970-01-01T00:00:00Z"), &v), TL_OK);
    assert_true(v == 0);
    assert_int_equal(tl_value_datetime(S("1969-12-31T23:59:59Z"), &v), TL_OK);
    assert_true(v == -1);
    assert_int_equal(tl_value_datetime(S("2038-01-19T03:14:08Z"), &v), TL_OK);
    assert_true(v == 2147483648LL);

    assert_true(tl_value_party(S("UA")));
    assert_false(tl_value_party(S("Ua")));
    assert_false(tl_value_party(S("U")));
    assert_false(tl_value_party("UA", 3));

    int32_t m = 7;
    assert_int_equal(tl_value_degrees(S("58.10"), &m), TL_OK);
    assert_int_equal(m, 58100000);
    assert_int_equal(tl_value_degrees(S("-0.000001"), &m), TL_OK);
    assert_int_equal(m, -1);
    assert_int_equal(tl_value_degrees(S("-180"), &m), TL_OK);
    assert_int_equal(m, -180000000);
    assert_int_equal(tl_value_degrees(S("180.000001"), &m), TL_ERR_RANGE);
    assert_int_equal(tl_value_degrees(S("999"), &m), TL_ERR_RANGE);
    assert_int_equal(m, -180000000);
    assert_int_equal(tl_value_degrees(S("1800"), &m), TL_ERR_FORMAT);

    uint8_t h[TL_HASH_LEN];
    assert_int_equal(tl_value_leafhash(S("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), h),
                     TL_OK);
    assert_int_equal(tl_value_leafhash(S("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), h),
                     TL_ERR_FORMAT);
}

/* ---------------------------------------------------------------------------------------
 * The loader, on scratch directories.
 */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static char *read_all(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(TL_SCHEMA_FILE_MAX);
    size_t n = fread(buf, 1, TL_SCHEMA_FILE_MAX - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A scratch directory with the real envelope.json and common.json. */
static void scratch(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/tl-schema-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *env = read_all(tu_schemas_dir(), "envelope.json");
    char *common = read_all(tu_schemas_dir(), "common.json");
    write_file(dir, "envelope.json", env);
    write_file(dir, "common.json", common);
    free(env);
    free(common);
}

static void remove_dir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#define NEW_TYPE_OK                                                                                \
    "{\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":\"common.json#/$defs/count\"},"          \
    "\"w\":{\"$ref\":\"#/$defs/when\"}},\"required\":[\"n\"],\"additionalProperties\":false,"      \
    "\"$defs\":{\"when\":{\"$ref\":\"common.json#/$defs/date\"}},"                                 \
    "\"examples\":[{\"type\":\"xx.test\",\"from\":\"XA\",\"serial\":1,"                            \
    "\"sent\":\"2025-01-01T00:00:00Z\",\"to\":[\"*\"],\"treaty_ref\":\"none\",\"refs\":[],"        \
    "\"body\":{\"n\":1,\"w\":\"2025-01-01\"}}]}"

static tl_err load_with(const char *name, const char *text, tl_diag *d)
{
    char dir[64];
    scratch(dir, sizeof dir);
    write_file(dir, name, text);
    tl_schemas *s = NULL;
    memset(d, 0, sizeof *d);
    tl_err e = tl_schemas_load(&s, dir, d);
    if (e == TL_OK && strcmp(name, "xx.test.json") != 0) {
        assert_int_equal(tl_schemas_ntypes(s), 0);
        tl_schemas_free(s);
    } else if (e == TL_OK) {
        /* A new type without recompiling: a document of it validates. */
        assert_int_equal(tl_schemas_ntypes(s), 1);
        char *t = NULL;
        size_t len = 0;
        assert_int_equal(tl_notification_template(&t, &len, s, "xx.test", d), TL_OK);
        tl_notification n;
        assert_int_equal(tl_notification_parse(&n, s, t, len, d), TL_OK);
        tl_notification_free(&n);
        free(t);
        tl_schemas_free(s);
    } else {
        assert_null(s);
    }
    remove_dir(dir);
    return e;
}

static void test_loader(void **state)
{
    (void)state;
    tl_diag d;
    assert_int_equal(load_with("xx.test.json", NEW_TYPE_OK, &d), TL_OK);
    /* Not JSON; duplicate keys. */
    assert_int_equal(load_with("xx.test.json", "{\"type\":", &d), TL_ERR_FORMAT);
    assert_int_equal(load_with("xx.test.json", "{\"type\":\"object\",\"type\":\"object\"}", &d),
                     TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "duplicate object key"));
    /* Keywords outside the subset. */
    assert_int_equal(load_with("xx.test.json",
                               "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\","
                               "\"pattern\":\"^x$\"}},\"examples\":[]}",
                               &d),
                     TL_ERR_FORMAT);
    assert_string_equal(d.msg, "xx.test.json: /properties/a/pattern: keyword \"pattern\" is not "
                               "in treatylog's schema subset");
    assert_int_equal(load_with("xx.test.json", "{\"type\":\"object\",\"oneOf\":[]}", &d),
                     TL_ERR_FORMAT);
    assert_int_equal(load_with("xx.test.json", "{\"type\":\"obj\"}", &d), TL_ERR_FORMAT);
    assert_int_equal(load_with("xx.test.json", "{\"type\":\"string\",\"format\":\"email\"}", &d),
                     TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "unknown format"));
    assert_int_equal(
        load_with("xx.test.json", "{\"type\":\"object\",\"anyOf\":[{\"type\":\"object\"}]}", &d),
        TL_ERR_FORMAT);
    assert_int_equal(load_with("xx.test.json", "{\"type\":\"object\",\"minItems\":-1}", &d),
                     TL_ERR_FORMAT);
    /* Unresolvable $ref. */
    assert_int_equal(load_with("xx.test.json",
                               "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":"
                               "\"common.json#/$defs/nope\"}}}",
                               &d),
                     TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "does not lead to a schema"));
    assert_int_equal(load_with("xx.test.json",
                               "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":"
                               "\"http://example.com/x.json\"}}}",
                               &d),
                     TL_ERR_FORMAT);
    /* No example; an invalid example; an example of another type. */
    assert_int_equal(load_with("xx.test.json", "{\"type\":\"object\"}", &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "xx.test.json: needs \"examples\" with at least one notification");
    const char *ex_bad =
        "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
        "\"examples\":[{\"type\":\"xx.test\",\"from\":\"XA\",\"serial\":1,"
        "\"sent\":\"2025-01-01T00:00:00Z\",\"to\":[\"*\"],\"treaty_ref\":\"none\",\"refs\":[],"
        "\"body\":{\"n\":\"1\"}}]}";
    assert_int_equal(load_with("xx.test.json", ex_bad, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "xx.test.json: examples[0]: body.n: must be an integer");
    /* A $ref loop is caught when an example meets it. */
    assert_int_equal(load_with("xx.test.json",
                               "{\"type\":\"object\",\"properties\":{\"n\":{\"$ref\":"
                               "\"#/$defs/loop\"}},\"$defs\":{\"loop\":{\"$ref\":\"#/$defs/"
                               "loop\"}},\"examples\":[{\"type\":\"xx.test\",\"from\":\"XA\","
                               "\"serial\":1,\"sent\":\"2025-01-01T00:00:00Z\",\"to\":[\"*\"],"
                               "\"treaty_ref\":\"none\",\"refs\":[],\"body\":{\"n\":1}}]}",
                               &d),
                     TL_ERR_FORMAT);
    assert_string_equal(d.msg, "xx.test.json: examples[0]: body.n: nested too deeply (more than "
                               "64 schema levels)");
    /* File names that are not type names. */
    assert_int_equal(load_with("XX.test.json", NEW_TYPE_OK, &d), TL_ERR_FORMAT);
    assert_int_equal(load_with("xx..test.json", NEW_TYPE_OK, &d), TL_ERR_FORMAT);
    /* Files that are not *.json, and dot-files, are ignored. */
    assert_int_equal(load_with("README.md", "# notes", &d), TL_OK);
    assert_int_equal(load_with(".xx.test.json", "not json", &d), TL_OK);

    /* Missing directory; missing envelope.json. */
    tl_schemas *s = NULL;
    assert_int_equal(tl_schemas_load(&s, "/nonexistent/schemas", &d), TL_ERR_NOTFOUND);
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/tl-schema-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(tl_schemas_load(&s, dir, &d), TL_ERR_NOTFOUND);
    assert_non_null(strstr(d.msg, "needs envelope.json and common.json"));
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue_complete),
        cmocka_unit_test(test_examples_accepted),
        cmocka_unit_test(test_required_fields_generated),
        cmocka_unit_test(test_formats_dates),
        cmocka_unit_test(test_formats_parties),
        cmocka_unit_test(test_formats_leafhash),
        cmocka_unit_test(test_formats_degrees),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_line_structure),
        cmocka_unit_test(test_unknown_fields_and_types),
        cmocka_unit_test(test_refs_required),
        cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_submission_hook),
        cmocka_unit_test(test_deep_paths),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_loader),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
