/* rules_test.c - the rules engine (src/rules/engine.c, findings.c): every rule kind at its
 * boundaries, time bounds, missed -> late, void on withdrawal, determinism, and the replay of
 * Ukraine's request of 11 Feb 2022 (reference/domain.md §4.2) with rules/vd11.rules.
 *
 * Notifications are built as JSON text and parsed with tl_notification_parse against the
 * repository's schemas, so every test input is a valid notification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/notification.h"
#include "treatylog/registry.h"
#include "treatylog/rules.h"
#include "treatylog/ruleset.h"
#include "treatylog/schema.h"
#include "treatylog/text.h"
#include "treatylog/values.h"

/* The repository root: $TL_VECTORS less "tests/vectors", else from this file's path. */
static const char *repo_path(const char *rel, char *out, size_t cap)
{
    const char *v = getenv("TL_VECTORS"); /* <repo>/tests/vectors */
    const char *vc = v ? strstr(v, "tests/vectors") : NULL;
    if (vc) {
        snprintf(out, cap, "%.*s%s", (int)(vc - v), v, rel);
        return out;
    }
    const char *f = __FILE__;
    const char *cut = strstr(f, "tests/unit/rules/");
    int n = cut ? (int)(cut - f) : 0;
    snprintf(out, cap, "%.*s%s", n, f, rel);
    return out;
}

static char *read_file(const char *rel, size_t *len)
{
    char path[4096];
    repo_path(rel, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    b[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return b;
}

static tl_schemas *S_;

static int setup(void **state)
{
    (void)state;
    if (tl_init() != TL_OK)
        return -1;
    char dir[4096];
    tl_diag d = {{0}};
    if (tl_schemas_load(&S_, repo_path("schemas", dir, sizeof dir), &d) != TL_OK) {
        fprintf(stderr, "schemas: %s\n", d.msg);
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
 * A harness: a ruleset, an engine, leaves by index.
 */

#define MAXE 2048

typedef struct H {
    tl_ruleset *rs;
    tl_engine *e;
    uint64_t n;
    uint8_t leaf[MAXE][32];
    tl_registry *reg;
    const char *sent; /* if set, the "sent" of the next notifications; else the logged second */
    char *text[MAXE]; /* each notification's text and logged time, for rederive() */
    int64_t logged_ms[MAXE];
    uint64_t wsize[64];
    int64_t wtime[64];
    size_t nw;
} H;

static void h_init(H *h, const char *rules)
{
    memset(h, 0, sizeof *h);
    tl_diag d = {{0}};
    if (tl_ruleset_parse(&h->rs, "test.rules", rules, strlen(rules), &d) != TL_OK)
        fail_msg("ruleset: %s", d.msg);
    h->e = tl_engine_new(h->rs);
    assert_non_null(h->e);
}

static void h_init_file(H *h, const char *rel)
{
    memset(h, 0, sizeof *h);
    size_t len;
    char *t = read_file(rel, &len);
    tl_diag d = {{0}};
    if (tl_ruleset_parse(&h->rs, rel, t, len, &d) != TL_OK)
        fail_msg("ruleset: %s", d.msg);
    free(t);
    h->e = tl_engine_new(h->rs);
    assert_non_null(h->e);
}

static void h_free(H *h)
{
    for (uint64_t i = 0; i < h->n; i++)
        free(h->text[i]);
    tl_engine_free(h->e);
    tl_ruleset_free(h->rs);
    tl_registry_free(h->reg);
}

/* A registry with these parties (codes separated by spaces; "PL:chair" gives a role). */
static void h_registry(H *h, const char *parties)
{
    tl_registry *r = tl_registry_new();
    assert_non_null(r);
    r->genesis = true;
    const char *p = parties;
    while (*p) {
        tl_party *pt = &r->parties[r->nparties++];
        memcpy(pt->code, p, 2);
        p += 2;
        if (*p == ':') {
            p++;
            size_t n = strcspn(p, " ");
            memcpy(pt->roles[0], p, n);
            pt->nroles = 1;
            p += n;
        }
        while (*p == ' ')
            p++;
    }
    assert_int_equal(tl_engine_set_registry(h->e, r), TL_OK);
    tl_registry_free(h->reg);
    h->reg = r;
}

static int64_t T(const char *dt)
{
    int64_t s;
    assert_int_equal(tl_value_datetime(dt, strlen(dt), &s), TL_OK);
    return s;
}

static void fmt_time(char out[32], int64_t s)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Adds a notification logged at logged_ms; refs is a list of earlier indices ending in -1.
 * to is a JSON array text. Returns its index. */
static uint64_t h_add_ms(H *h, int64_t logged_ms, const char *type, const char *from,
                         uint64_t serial, const char *to, const int *refs, const char *body)
{
    char sent[32];
    fmt_time(sent, logged_ms / 1000);
    if (h->sent)
        snprintf(sent, sizeof sent, "%s", h->sent);
    char refs_s[2048] = "";
    for (size_t i = 0; refs && refs[i] >= 0; i++) {
        char b64[64];
        tl_b64_encode(b64, h->leaf[refs[i]], 32);
        size_t l = strlen(refs_s);
        snprintf(refs_s + l, sizeof refs_s - l, "%s\"%s\"", i ? "," : "", b64);
    }
    char *text = malloc(16384);
    assert_non_null(text);
    int n = snprintf(text, 16384,
                     TL_NOTIFICATION_HEADER "{\"type\":\"%s\",\"from\":\"%s\",\"serial\":%llu,"
                                            "\"sent\":\"%s\",\"to\":%s,\"treaty_ref\":\"test\","
                                            "\"refs\":[%s],\"body\":%s}\n",
                     type, from, (unsigned long long)serial, sent, to, refs_s, body);
    assert_true(n > 0 && n < 16384);
    tl_notification nt;
    tl_diag d = {{0}};
    if (tl_notification_parse(&nt, S_, text, (size_t)n, &d) != TL_OK)
        fail_msg("notification %s: %s\n%s", type, d.msg, text);
    uint64_t i = h->n++;
    assert_true(i < MAXE);
    tl_sha256(h->leaf[i], text, (size_t)n);
    h->leaf[i][31] ^= (uint8_t)i; /* unique even for equal texts */
    if (tl_engine_add(h->e, i, (uint64_t)logged_ms, h->leaf[i], &nt, &d) != TL_OK)
        fail_msg("add: %s", d.msg);
    tl_notification_free(&nt);
    char *keep = realloc(text, (size_t)n + 1);
    h->text[i] = keep ? keep : text;
    h->logged_ms[i] = logged_ms;
    return i;
}

static uint64_t h_add(H *h, const char *logged, const char *type, const char *from, uint64_t serial,
                      const char *to, const int *refs, const char *body)
{
    return h_add_ms(h, T(logged) * 1000, type, from, serial, to, refs, body);
}

static void h_wit(H *h, uint64_t size, const char *time)
{
    tl_diag d = {{0}};
    if (tl_engine_witnessed(h->e, size, T(time), &d) != TL_OK)
        fail_msg("witnessed: %s", d.msg);
    assert_true(h->nw < 64);
    h->wsize[h->nw] = size;
    h->wtime[h->nw++] = T(time);
}

/* Findings as of size (malloc'd text). */
static char *h_text(H *h, uint64_t size)
{
    char *t;
    size_t l;
    assert_int_equal(tl_engine_findings_text(h->e, size, &t, &l), TL_OK);
    assert_int_equal(strlen(t), l);
    /* A copy: gcc -O3 cannot tell that t does not point into this frame (&t was passed out),
     * and its -Wdangling-pointer then flags every later use of the text. */
    char *copy = strdup(t);
    assert_non_null(copy);
    free(t);
    return copy;
}

/* The line of finding `id` in text (static buffer), or NULL. */
static const char *line_of(const char *text, const char *id)
{
    static char line[4096];
    char key[256];
    snprintf(key, sizeof key, "{\"id\":\"%s\",", id);
    const char *p = text;
    while (p && *p) {
        if (!strncmp(p, key, strlen(key))) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            assert_true(n < sizeof line);
            memcpy(line, p, n);
            line[n] = 0;
            return line;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

/* Asserts that finding id as of size has this state (and, if non-NULL, contains `also`). */
static void expect(H *h, uint64_t size, const char *id, const char *state, const char *also)
{
    char *t = h_text(h, size);
    const char *l = line_of(t, id);
    if (!l)
        fail_msg("no finding %s as of %llu in:\n%s", id, (unsigned long long)size, t);
    char want[64];
    snprintf(want, sizeof want, "\"state\":\"%s\"", state);
    if (!strstr(l, want))
        fail_msg("finding %s as of %llu: want %s, got\n%s", id, (unsigned long long)size, state, l);
    if (also && !strstr(l, also))
        fail_msg("finding %s: want \"%s\" in\n%s", id, also, l);
    free(t);
}

static void expect_none(H *h, uint64_t size, const char *id)
{
    char *t = h_text(h, size);
    const char *l = line_of(t, id);
    if (l)
        fail_msg("unexpected finding as of %llu:\n%s", (unsigned long long)size, l);
    free(t);
}

/* What verify-evidence does: a fresh engine fed only the entries finding `id` (as of size)
 * lists and its range (the others skipped), with the same witnessed checkpoints, must give the
 * same finding line. */
static void rederive(H *h, uint64_t size, const char *id)
{
    char *t = h_text(h, size);
    const char *l = line_of(t, id);
    if (!l)
        fail_msg("no finding %s as of %llu", id, (unsigned long long)size);
    char want[4096];
    snprintf(want, sizeof want, "%s", l);
    free(t);
    bool use[MAXE] = {false};
    const char *p = strstr(want, "\"entries\":[") + 11;
    while (*p != ']') {
        use[strtoull(p, (char **)&p, 10)] = true;
        if (*p == ',')
            p++;
    }
    const char *rg = strstr(want, "\"range\":[");
    if (rg) {
        char *q;
        uint64_t from = strtoull(rg + 9, &q, 10), to = strtoull(q + 1, NULL, 10);
        for (uint64_t i = from; i <= to; i++)
            use[i] = true;
    }
    tl_engine *e = tl_engine_new(h->rs);
    assert_non_null(e);
    if (h->reg)
        assert_int_equal(tl_engine_set_registry(e, h->reg), TL_OK);
    tl_diag d = {{0}};
    for (uint64_t i = 0; i < size; i++) {
        if (!use[i]) {
            assert_int_equal(tl_engine_skip(e, i, (uint64_t)h->logged_ms[i]), TL_OK);
            continue;
        }
        tl_notification nt;
        assert_int_equal(tl_notification_parse(&nt, S_, h->text[i], strlen(h->text[i]), &d), TL_OK);
        assert_int_equal(tl_engine_add(e, i, (uint64_t)h->logged_ms[i], h->leaf[i], &nt, &d),
                         TL_OK);
        tl_notification_free(&nt);
    }
    for (size_t k = 0; k < h->nw; k++)
        if (h->wsize[k] <= size)
            assert_int_equal(tl_engine_witnessed(e, h->wsize[k], h->wtime[k], &d), TL_OK);
    char *got;
    size_t gl;
    assert_int_equal(tl_engine_findings_text(e, size, &got, &gl), TL_OK);
    const char *gl2 = line_of(got, id);
    if (!gl2 || strcmp(gl2, want) != 0)
        fail_msg("finding %s from its entries only:\n%s\nwant\n%s", id, gl2 ? gl2 : "(none)", want);
    free(got);
    tl_engine_free(e);
}

static const int NOREFS[] = {-1};
#define REFS(...) ((const int[]){__VA_ARGS__, -1})

static const char *REQ_BODY =
    "{\"concerning\":\"RU\",\"description\":\"movement of forces\",\"area\":{\"text\":\"x\"},"
    "\"questions\":[\"area\",\"end_date\",\"designation\",\"subordination\",\"formations\","
    "\"equipment_types\"]}";

static const char *RULE_REPLY = "treatylog/rules/v1\n"
                                "rule r.reply reply-deadline {\n"
                                "  on vd11.ch3.explanation-request\n"
                                "  reply vd11.ch3.explanation-reply\n"
                                "  party concerning\n"
                                "  hours 48\n"
                                "  confidence C\n"
                                "}\n";

/* ---------------------------------------------------------------------------------------
 * reply-deadline
 */

static void test_reply_boundary(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    /* 0: request; 1: reply exactly at the deadline. 2: request; 3: reply one second late. */
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-13T12:00:00Z", "vd11.ch3.explanation-reply", "RU", 1, "[\"*\"]", REFS(0),
          "{\"answers\":{},\"statement\":\"\"}");
    h_add(&h, "2022-02-14T12:00:00Z", "vd11.ch3.explanation-request", "UA", 2, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-16T12:00:01Z", "vd11.ch3.explanation-reply", "RU", 2, "[\"*\"]", REFS(2),
          "{\"answers\":{},\"statement\":\"\"}");
    expect(&h, 4, "r.reply/0", "met", "\"entries\":[0,1],\"due\":\"2022-02-13T12:00:00Z\"");
    expect(&h, 4, "r.reply/0", "met", "\"range\":null");
    expect(&h, 4, "r.reply/2", "late", "after 2022-02-16T12:00:00Z");
    expect(&h, 4, "r.reply/2", "late", "\"range\":[2,3]");
    /* As of size 3 the second request has no reply yet and nothing is witnessed: pending. */
    expect(&h, 3, "r.reply/2", "pending", "awaiting vd11.ch3.explanation-reply from RU");
    expect_none(&h, 2, "r.reply/2");
    h_free(&h);
}

/* tl_engine_findings_pick: pick sees each finding's key only, unformatted; what it takes is
 * formatted exactly as in the full listing, in the same order; a stop ends the listing. */
typedef struct pick_rec {
    char ids[16][64];
    char json[16][512];
    size_t n;
    size_t picked, stop_at; /* pick: take every `picked`-th (0: all); stop at the stop_at-th */
    size_t offered;
    bool json_seen; /* pick was given a formatted finding: a bug */
} pick_rec;

static int rec_one(void *ctx, const tl_finding *x)
{
    pick_rec *r = ctx;
    assert_true(r->n < 16);
    snprintf(r->ids[r->n], sizeof r->ids[r->n], "%s", x->id);
    snprintf(r->json[r->n], sizeof r->json[r->n], "%.*s", (int)x->json_len, x->json);
    r->n++;
    return 0;
}

static int rec_pick(void *ctx, const tl_finding *x)
{
    pick_rec *r = ctx;
    size_t k = r->offered++;
    if (x->json || x->entries || !x->id || !x->rule || !x->state_name)
        r->json_seen = true;
    if (r->stop_at && k == r->stop_at)
        return -1;
    return r->picked == 0 || k % r->picked == 0;
}

static void test_findings_pick(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    /* Five requests, one answered: four pending findings and one met. */
    for (int i = 0; i < 5; i++) {
        char t[32];
        snprintf(t, sizeof t, "2022-02-1%dT12:00:00Z", i + 1);
        h_add(&h, t, "vd11.ch3.explanation-request", "UA", (uint64_t)i + 1, "[\"*\"]", NOREFS,
              REQ_BODY);
    }
    h_add(&h, "2022-02-20T12:00:00Z", "vd11.ch3.explanation-reply", "RU", 1, "[\"*\"]", REFS(2),
          "{\"answers\":{},\"statement\":\"\"}");
    pick_rec all = {0}, every = {0}, odd = {.picked = 2}, stop = {.stop_at = 3};
    assert_int_equal(tl_engine_findings(h.e, 6, rec_one, &all), TL_OK);
    assert_int_equal(all.n, 5);
    assert_int_equal(tl_engine_findings_pick(h.e, 6, rec_pick, rec_one, &every), TL_OK);
    assert_int_equal(every.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(every.ids[i], all.ids[i]);
        assert_string_equal(every.json[i], all.json[i]);
    }
    assert_int_equal(tl_engine_findings_pick(h.e, 6, rec_pick, rec_one, &odd), TL_OK);
    assert_int_equal(odd.offered, 5);
    assert_int_equal(odd.n, 3); /* the 1st, 3rd and 5th */
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(odd.ids[i], all.ids[2 * i]);
        assert_string_equal(odd.json[i], all.json[2 * i]);
    }
    assert_int_equal(tl_engine_findings_pick(h.e, 6, rec_pick, rec_one, &stop), TL_ERR_CONFLICT);
    assert_int_equal(stop.n, 3);
    assert_int_equal(stop.offered, 4);
    assert_false(every.json_seen || odd.json_seen || stop.json_seen);
    /* NULL pick: the same as tl_engine_findings. */
    pick_rec none = {0};
    assert_int_equal(tl_engine_findings_pick(h.e, 6, NULL, rec_one, &none), TL_OK);
    assert_int_equal(none.n, 5);
    assert_string_equal(none.json[4], all.json[4]);
    h_free(&h);
}

static void test_reply_wrong_party_or_ref(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-11T13:00:00Z", "vd11.ch3.explanation-request", "UA", 2, "[\"*\"]", NOREFS,
          REQ_BODY);
    /* A reply from BY (not the State concerned) and one from RU to the other request. */
    h_add(&h, "2022-02-12T12:00:00Z", "vd11.ch3.explanation-reply", "BY", 1, "[\"*\"]", REFS(0),
          "{\"answers\":{},\"statement\":\"\"}");
    h_add(&h, "2022-02-12T12:00:00Z", "vd11.ch3.explanation-reply", "RU", 1, "[\"*\"]", REFS(1),
          "{\"answers\":{},\"statement\":\"\"}");
    expect(&h, 4, "r.reply/0", "pending", NULL);
    expect(&h, 4, "r.reply/1", "met", NULL);
    h_free(&h);
}

static void test_missed_only_when_witnessed_past(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-13T12:00:00Z", "vd11.ch11.statement", "EE", 1, "[\"*\"]", NOREFS,
          "{\"topic\":\"t\",\"text\":\"x\"}");
    h_wit(&h, 2, "2022-02-13T12:00:00Z"); /* witness time exactly at the deadline */
    expect(&h, 2, "r.reply/0", "pending", NULL);
    h_add(&h, "2022-02-13T12:00:01Z", "vd11.ch11.statement", "EE", 2, "[\"*\"]", NOREFS,
          "{\"topic\":\"t\",\"text\":\"x\"}");
    h_wit(&h, 3, "2022-02-13T12:00:01Z"); /* one second past */
    expect(&h, 3, "r.reply/0", "missed",
           "\"why\":\"no vd11.ch3.explanation-reply from RU referencing UA/1 by "
           "2022-02-13T12:00:00Z\"");
    /* range: from the request to the first entry logged after the deadline (index 2). */
    expect(&h, 3, "r.reply/0", "missed", "\"range\":[0,2]}");
    expect(&h, 2, "r.reply/0", "pending", NULL); /* the older view is unchanged */
    h_free(&h);
}

static void test_missed_then_late(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_wit(&h, 1, "2022-02-14T00:00:00Z");
    expect(&h, 1, "r.reply/0", "missed", "\"range\":[0,0]");
    h_add(&h, "2022-02-17T09:00:00Z", "vd11.ch3.explanation-reply", "RU", 1, "[\"UA\",\"PL\"]",
          REFS(0), "{\"answers\":{},\"statement\":\"\"}");
    h_wit(&h, 2, "2022-02-17T09:00:05Z");
    expect(&h, 2, "r.reply/0", "late", "missed as of the witnessed checkpoint of size 1");
    expect(&h, 2, "r.reply/0", "late", "\"entries\":[0,1]");
    expect(&h, 2, "r.reply/0", "late", "\"range\":[0,1]");
    expect(&h, 1, "r.reply/0", "missed", NULL); /* still derivable at the older checkpoint */
    h_free(&h);
}

/* The time bounds of 0003 override logged: a reply logged "in time" whose last witnessed
 * checkpoint without it is already past the deadline is late; one logged "late" but contained
 * in a checkpoint witnessed before the deadline is met. */
static void test_time_bounds(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 2, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_wit(&h, 2, "2022-02-13T13:00:00Z"); /* past the deadline */
    /* Operator claims logged before the deadline (clock kept at the previous value). */
    h_add(&h, "2022-02-13T11:00:00Z", "vd11.ch3.explanation-reply", "RU", 1, "[\"*\"]", REFS(0),
          "{\"answers\":{},\"statement\":\"\"}");
    expect(&h, 3, "r.reply/0", "late", NULL);
    h_free(&h);

    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-13T12:30:00Z", "vd11.ch3.explanation-reply", "RU", 1, "[\"*\"]", REFS(0),
          "{\"answers\":{},\"statement\":\"\"}");
    /* Without bounds, logged decides: late. */
    expect(&h, 2, "r.reply/0", "late", NULL);
    /* A checkpoint containing it witnessed before the deadline: met. */
    h_wit(&h, 2, "2022-02-13T11:59:59Z");
    expect(&h, 2, "r.reply/0", "met", NULL);
    h_free(&h);
}

static void test_void_on_withdraw(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 2, "[\"*\"]", NOREFS,
          REQ_BODY);
    /* Someone else's withdrawal does nothing; the sender's own voids. */
    h_add(&h, "2022-02-11T13:00:00Z", "generic.correction", "EE", 1, "[\"*\"]", REFS(0),
          "{\"action\":\"withdraw\",\"reason\":\"r\"}");
    h_add(&h, "2022-02-11T13:00:00Z", "generic.correction", "UA", 3, "[\"*\"]", REFS(1),
          "{\"action\":\"amend\",\"reason\":\"r\",\"amended\":{}}");
    h_add(&h, "2022-02-11T14:00:00Z", "generic.correction", "UA", 4, "[\"*\"]", REFS(0),
          "{\"action\":\"withdraw\",\"reason\":\"sent in error\"}");
    h_wit(&h, 5, "2022-02-14T00:00:00Z");
    expect(&h, 5, "r.reply/0", "void", "UA/1 withdrawn by UA/4");
    expect(&h, 5, "r.reply/0", "void", "\"severity\":\"void\"");
    expect(&h, 5, "r.reply/1", "missed", NULL);
    expect(&h, 4, "r.reply/0", "pending", NULL); /* no checkpoint in that view yet */
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * advance-notice, snap
 */

static char *notif_body(const char *act, const char *start, const char *end, int troops, int tanks,
                        bool snap, const char *extra)
{
    char *b = malloc(4096);
    assert_non_null(b);
    snprintf(b, 4096,
             "{\"activity\":\"%s\",\"designation\":\"D\",\"purpose\":\"p\",\"participants\":["
             "\"XA\"],\"command_level\":\"corps\",\"kind\":\"land\",\"without_advance_notice\":%s,"
             "\"start\":\"%s\",\"end\":\"%s\",\"area\":{\"text\":\"a\"},\"troops_peak\":%d,"
             "\"troops_total\":%d,\"battle_tanks\":%d,\"acv\":10,\"artillery\":10,"
             "\"in_calendar\":true%s}",
             act, snap ? "true" : "false", start, end, troops, troops * 3, tanks,
             extra ? extra : "");
    return b;
}

static void test_advance_notice(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\n"
               "rule lead advance-notice {\n on vd11.ch5.notification\n field start\n days 42\n"
               " unless without_advance_notice\n confidence PC\n}\n"
               "rule snap advance-notice {\n on vd11.ch5.notification\n field start\n"
               " grace-hours 0\n only-if without_advance_notice\n confidence V\n}\n");
    char *b1 = notif_body("A1", "2025-04-20", "2025-04-30", 5000, 10, false, NULL);
    char *b2 = notif_body("A2", "2025-04-20", "2025-04-30", 5000, 10, false, NULL);
    char *b3 = notif_body("A3", "2025-05-01", "2025-05-02", 5000, 10, true, NULL);
    char *b4 = notif_body("A4", "2025-05-01", "2025-05-02", 5000, 10, true, NULL);
    /* 42 days before 20 Apr is 9 Mar: logged on 9 Mar at 23:59:59 is in time, 10 Mar is not. */
    h_add(&h, "2025-03-09T23:59:59Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b1);
    h_add(&h, "2025-03-10T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b2);
    /* Snap: notified when the troops begin it (start 00:00, grace 0). */
    h_add(&h, "2025-05-01T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, b3);
    h_add(&h, "2025-05-01T00:00:01Z", "vd11.ch5.notification", "XA", 4, "[\"*\"]", NOREFS, b4);
    expect(&h, 4, "lead/0", "met", "\"due\":\"2025-03-09T23:59:59.999Z\"");
    expect(&h, 4, "lead/1", "late", "\"parties\":[\"XA\"]");
    expect_none(&h, 4, "lead/2"); /* the snap exception */
    expect_none(&h, 4, "snap/0");
    expect(&h, 4, "snap/2", "met", NULL);
    expect(&h, 4, "snap/3", "late", "\"due\":\"2025-05-01T00:00:00Z\"");
    free(b1);
    free(b2);
    free(b3);
    free(b4);
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * threshold
 */

static const char *RULE_OBS = "treatylog/rules/v1\n"
                              "rule obs threshold {\n on vd11.ch5.notification\n"
                              " any troops_peak >= 13000\n any battle_tanks > 300\n"
                              " require vd11.ch6.observation-invitation\n by start\n"
                              " unless without_advance_notice\n severity breach\n"
                              " confidence V\n}\n";

static const char *INV_BODY =
    "{\"activity\":\"A\",\"programme\":\"p\",\"arrival\":{\"time\":\"2025-04-21T08:00:00Z\","
    "\"place\":\"Tartu\"},\"observers_per_state\":2,\"reply_by\":\"2025-03-22T00:00:00Z\"}";

static void test_threshold(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_OBS);
    char *b[6];
    b[0] = notif_body("A0", "2025-04-20", "2025-04-30", 12999, 300, false, NULL); /* below both */
    b[1] = notif_body("A1", "2025-04-20", "2025-04-30", 13000, 10, false, NULL);  /* >= 13000 */
    b[2] = notif_body("A2", "2025-04-20", "2025-04-30", 100, 301, false, NULL);   /* > 300 */
    b[3] = notif_body("A3", "2025-04-20", "2025-04-30", 20000, 10, true, NULL);   /* snap */
    for (int i = 0; i < 4; i++)
        h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", (uint64_t)i + 1, "[\"*\"]",
              NOREFS, b[i]);
    expect_none(&h, 4, "obs/0");
    expect(&h, 4, "obs/1", "pending", "troops_peak 13000 >= 13000");
    expect(&h, 4, "obs/2", "pending", "battle_tanks 301 > 300");
    expect_none(&h, 4, "obs/3");
    /* An invitation referencing notification 1 in time; none for 2. */
    h_add(&h, "2025-03-02T00:00:00Z", "vd11.ch6.observation-invitation", "XA", 5, "[\"*\"]",
          REFS(1), INV_BODY);
    /* An invitation from another State does not count. */
    h_add(&h, "2025-03-02T00:00:00Z", "vd11.ch6.observation-invitation", "XB", 1, "[\"*\"]",
          REFS(2), INV_BODY);
    h_wit(&h, 6, "2025-04-20T00:00:01Z");
    expect(&h, 6, "obs/1", "met", "\"entries\":[1,4]");
    expect(&h, 6, "obs/2", "missed", "\"severity\":\"breach\"");
    for (int i = 0; i < 4; i++)
        free(b[i]);
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * counting: peak from stages, count limits, concurrency, near threshold
 */

static void test_peak_from_stages(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule peak peak-from-stages {\n on vd11.ch5.notification\n"
               " field troops_peak\n stages stages\n count troops\n confidence P\n}\n");
    /* Consecutive stages: peak 10400 (the total over the activity, 17300, is not a peak). */
    char *b0 =
        notif_body("A0", "2025-04-20", "2025-04-30", 10400, 1, false,
                   ",\"stages\":[{\"from\":\"2025-04-20\",\"to\":\"2025-04-24\",\"troops\":10400},"
                   "{\"from\":\"2025-04-25\",\"to\":\"2025-04-30\",\"troops\":6900}]");
    /* Overlapping on 24 Apr: 17300 at once, stated 10400 -> breach. */
    char *b1 =
        notif_body("A1", "2025-04-20", "2025-04-30", 10400, 1, false,
                   ",\"stages\":[{\"from\":\"2025-04-20\",\"to\":\"2025-04-24\",\"troops\":10400},"
                   "{\"from\":\"2025-04-24\",\"to\":\"2025-04-30\",\"troops\":6900}]");
    /* Stated exactly the computed peak: fine. */
    char *b2 =
        notif_body("A2", "2025-04-20", "2025-04-30", 17300, 1, false,
                   ",\"stages\":[{\"from\":\"2025-04-20\",\"to\":\"2025-04-24\",\"troops\":10400},"
                   "{\"from\":\"2025-04-24\",\"to\":\"2025-04-30\",\"troops\":6900}]");
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b0);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b1);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, b2);
    expect_none(&h, 3, "peak/0");
    expect(&h, 3, "peak/1", "breach", "below the peak of 17300 troops");
    expect(&h, 3, "peak/1", "breach", "2025-04-24");
    expect_none(&h, 3, "peak/2");
    free(b0);
    free(b1);
    free(b2);
    h_free(&h);
}

static void test_count_limit(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule six count-limit {\n on vd11.ch5.notification\n"
               " any troops_peak > 13000\n unless-any troops_peak > 40000\n max 6\n"
               " field start\n confidence V\n}\n"
               "rule big count-limit {\n on vd11.ch5.notification\n any troops_peak > 40000\n"
               " max 1\n years 3\n field start\n confidence V\n}\n");
    char act[16];
    uint64_t s = 1;
    /* 13000 exactly does not count (> 13000); six over it are allowed; 50000 counts under
     * "big" only. */
    char *b = notif_body("X0", "2025-05-01", "2025-05-02", 13000, 1, false, NULL);
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("BIG1", "2025-05-01", "2025-05-02", 50000, 1, false, NULL);
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
    free(b);
    for (int i = 0; i < 6; i++) {
        snprintf(act, sizeof act, "M%d", i);
        b = notif_body(act, "2025-06-01", "2025-06-02", 13001, 1, false, NULL);
        h_add(&h, "2025-01-02T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
        free(b);
    }
    /* The same activity id again counts once. */
    b = notif_body("M0", "2025-06-01", "2025-06-02", 13001, 1, false, NULL);
    h_add(&h, "2025-01-02T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
    free(b);
    char *t = h_text(&h, h.n);
    assert_null(strstr(t, "\"rule\":\"six\""));
    free(t);
    /* A seventh: breach. Another State's seventh is its own first. */
    b = notif_body("M7", "2025-07-01", "2025-07-02", 20000, 1, false, NULL);
    uint64_t i7 =
        h_add(&h, "2025-01-03T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("M7", "2025-07-01", "2025-07-02", 20000, 1, false, NULL);
    h_add(&h, "2025-01-03T00:00:00Z", "vd11.ch5.notification", "XB", 1, "[\"*\"]", NOREFS, b);
    free(b);
    char id[32];
    snprintf(id, sizeof id, "six/%llu", (unsigned long long)i7);
    expect(&h, h.n, id, "breach", "7 activities");
    expect(&h, h.n, id, "breach", "\"entries\":[2,3,4,5,6,7,9]");
    /* Large ones: one in 2025, the next in 2027 is inside three calendar years, 2028 not. */
    b = notif_body("BIG2", "2028-05-01", "2028-05-02", 50000, 1, false, NULL);
    uint64_t i28 =
        h_add(&h, "2025-01-04T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
    free(b);
    snprintf(id, sizeof id, "big/%llu", (unsigned long long)i28);
    expect_none(&h, h.n, id);
    b = notif_body("BIG3", "2027-05-01", "2027-05-02", 50000, 1, false, NULL);
    uint64_t i27 =
        h_add(&h, "2025-01-04T00:00:00Z", "vd11.ch5.notification", "XA", s++, "[\"*\"]", NOREFS, b);
    free(b);
    snprintf(id, sizeof id, "big/%llu", (unsigned long long)i27);
    expect(&h, h.n, id, "breach", "2025-2027");
    h_free(&h);
}

static void test_concurrency(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule once concurrency {\n on vd11.ch5.notification\n"
               " any troops_peak > 13000\n max 3\n start start\n end end\n confidence V\n}\n");
    const char *iv[][2] = {{"2025-05-01", "2025-05-10"},
                           {"2025-05-05", "2025-05-15"},
                           {"2025-05-10", "2025-05-20"},
                           {"2025-05-11", "2025-05-12"},  /* 2, 3 and this: 3 at once */
                           {"2025-05-10", "2025-05-10"}}; /* 1, 2, 3, this on 10 May: 4 */
    for (int i = 0; i < 5; i++) {
        char act[8];
        snprintf(act, sizeof act, "C%d", i);
        char *b = notif_body(act, iv[i][0], iv[i][1], 14000, 1, false, NULL);
        h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch5.notification", "XA", (uint64_t)i + 1, "[\"*\"]",
              NOREFS, b);
        free(b);
    }
    expect_none(&h, 5, "once/3");
    expect(&h, 5, "once/4", "breach", "4 such activities at once on 2025-05-10");
    expect(&h, 5, "once/4", "breach", "\"entries\":[0,1,2,4]");
    h_free(&h);
}

static void test_near_threshold(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule near near-threshold {\n on vd11.ch5.notification\n"
               " field troops_peak\n threshold 13000\n margin-percent 5\n confidence P\n}\n");
    int v[] = {12349, 12350, 12999, 13000};
    for (int i = 0; i < 4; i++) {
        char *b = notif_body("N", "2025-05-01", "2025-05-02", v[i], 1, false, NULL);
        h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch5.notification", "XA", (uint64_t)i + 1, "[\"*\"]",
              NOREFS, b);
        free(b);
    }
    expect_none(&h, 4, "near/0");
    expect(&h, 4, "near/1", "advisory", "troops_peak 12350 is 95.0% of 13000");
    expect(&h, 4, "near/2", "advisory", NULL);
    expect_none(&h, 4, "near/3");
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * declared vs observed, calendar, quota, due date
 */

static void test_declared_vs_observed(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule dvo declared-vs-observed {\n"
               " on vd11.ch6.observation-report\n declared vd11.ch5.notification\n"
               " pair troops_peak observed.troops\n pair acv observed.acv\n"
               " tolerance-percent 10\n threshold troops_peak >= 13000\n confidence P\n}\n");
    char *b = notif_body("D1", "2025-04-20", "2025-04-30", 12000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("D2", "2025-04-20", "2025-04-30", 10000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b);
    free(b);
#define REP                                                                                        \
    "{\"activity\":\"%s\",\"observed_from\":\"2025-04-21T08:00:00Z\","                             \
    "\"observed_to\":\"2025-04-23T18:00:00Z\",\"observed\":{\"troops\":%d},\"access_given\":true}"
    char body[512];
    struct {
        const char *act;
        int troops;
    } cases[] = {{"D1", 13100}, {"D2", 11001}, {"D2", 11000}};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body, REP, cases[i].act, cases[i].troops);
        h_add(&h, "2025-04-25T00:00:00Z", "vd11.ch6.observation-report", "XC", (uint64_t)i + 1,
              "[\"*\"]", REFS(0, 1), body);
    }
    expect(&h, 5, "dvo/2", "breach", "observed.troops 13100 >= 13000 (declared 12000)");
    expect(&h, 5, "dvo/2", "breach", "not reported: observed observed.acv");
    expect(&h, 5, "dvo/2", "breach", "\"parties\":[\"XA\"]");
    expect(&h, 5, "dvo/3", "advisory", "observed.troops 11001 vs declared troops_peak 10000");
    expect_none(&h, 5, "dvo/4");
    h_free(&h);
}

static void test_calendar(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule cal calendar {\n on vd11.ch5.notification\n"
               " calendar vd11.ch7.calendar\n activities activities\n year year\n field start\n"
               " flag in_calendar\n confidence V\n}\n");
    h_add(&h, "2024-11-10T00:00:00Z", "vd11.ch7.calendar", "XA", 1, "[\"*\"]", NOREFS,
          "{\"year\":2025,\"nil\":false,\"activities\":[{\"activity\":\"IN\",\"kind\":\"land\","
          "\"purpose\":\"p\",\"participants\":[\"XA\"],\"area\":{\"text\":\"a\"},\"start\":"
          "\"2025-04-20\",\"end\":\"2025-04-30\",\"troops_peak\":10000,\"battle_tanks\":1,"
          "\"acv\":1,\"artillery\":1}]}");
    char *b = notif_body("IN", "2025-04-20", "2025-04-30", 10000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("OUT", "2025-04-20", "2025-04-30", 10000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, b);
    free(b);
    expect_none(&h, 3, "cal/1");
    expect(&h, 3, "cal/2", "advisory", "no vd11.ch7.calendar from XA for 2025 lists activity OUT");
    h_free(&h);
}

static void test_quota(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule q quota {\n on vd11.ch9.inspection-request\n"
               " reply vd11.ch9.inspection-reply\n accept-field accept\n grounds-field grounds\n"
               " grounds-value quota\n per-year 3\n per-sender 1\n confidence V\n}\n");
    const char *req = "{\"reasons\":\"r\",\"specified_area\":{\"polygon\":[[\"58.0\",\"25.0\"],["
                      "\"58.0\",\"26.0\"],"
                      "[\"57.5\",\"26.0\"]]},\"entry_point\":\"e\","
                      "\"transport\":\"t\",\"start_location\":{\"name\":\"n\"},\"inspectors\":4}";
    const char *yes = "{\"accept\":true,\"grounds\":null,\"entry_point\":\"e\","
                      "\"entry_time\":\"2025-06-03T12:00:00Z\"}";
    const char *no = "{\"accept\":false,\"grounds\":\"quota\",\"entry_point\":null,"
                     "\"entry_time\":null}";
    /* XA asks XB; XB refuses citing quota with nothing accepted: breach. */
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch9.inspection-request", "XA", 1, "[\"XB\"]", NOREFS,
          req);
    h_add(&h, "2025-06-01T10:00:00Z", "vd11.ch9.inspection-reply", "XB", 1, "[\"XA\"]", REFS(0),
          no);
    expect(&h, 2, "q/1", "breach", "accepted 0 of 3 in 2025 and 0 of 1 from XA");
    /* XB accepts one each from XC, XD, XE; then refuses XF on quota: fine (3 used). */
    const char *who[] = {"XC", "XD", "XE"};
    for (int i = 0; i < 3; i++) {
        char t1[32], t2[32];
        snprintf(t1, sizeof t1, "2025-06-02T0%d:00:00Z", 2 * i);
        snprintf(t2, sizeof t2, "2025-06-02T0%d:00:00Z", 2 * i + 1);
        int r =
            (int)h_add(&h, t1, "vd11.ch9.inspection-request", who[i], 1, "[\"XB\"]", NOREFS, req);
        h_add(&h, t2, "vd11.ch9.inspection-reply", "XB", (uint64_t)i + 2, "[\"*\"]", REFS(r), yes);
    }
    int r = (int)h_add(&h, "2025-06-03T00:00:00Z", "vd11.ch9.inspection-request", "XF", 1,
                       "[\"XB\"]", NOREFS, req);
    h_add(&h, "2025-06-03T01:00:00Z", "vd11.ch9.inspection-reply", "XB", 5, "[\"*\"]", REFS(r), no);
    char id[16];
    snprintf(id, sizeof id, "q/%d", r + 1);
    expect_none(&h, h.n, id);
    h_free(&h);
}

static void test_due_date(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule cal-due due-date {\n on vd11.ch7.calendar\n"
               " due 11-15\n confidence V\n}\n");
    h_registry(&h, "XA XB");
    const char *cal = "{\"year\":2026,\"nil\":true,\"activities\":[]}";
    /* XA on the due date's last second; XB not. */
    h_add(&h, "2025-11-15T23:59:59Z", "vd11.ch7.calendar", "XA", 1, "[\"*\"]", NOREFS, cal);
    h_wit(&h, 1, "2025-11-15T23:59:59Z");
    expect_none(&h, 1, "cal-due/0/2");
    h_add(&h, "2025-11-16T00:00:05Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS,
          "{\"topic\":\"t\",\"text\":\"x\"}");
    h_wit(&h, 2, "2025-11-16T00:00:06Z");
    char *t = h_text(&h, 2);
    assert_null(line_of(t, "cal-due/1/1")); /* XA met: no finding */
    free(t);
    expect(&h, 2, "cal-due/1/2", "missed", "no vd11.ch7.calendar from XB for 2025");
    expect(&h, 2, "cal-due/1/2", "missed", "\"due\":\"2025-11-15T23:59:59.999Z\"");
    h_add(&h, "2025-11-20T00:00:00Z", "vd11.ch7.calendar", "XB", 1, "[\"*\"]", NOREFS, cal);
    expect(&h, 3, "cal-due/1/2", "late", "XB/1 logged 2025-11-20T00:00:00Z");
    expect(&h, 2, "cal-due/1/2", "missed", NULL);
    /* The same log, the checkpoints heard only at the end: the same findings. */
    H h2;
    h_init(&h2, "treatylog/rules/v1\nrule cal-due due-date {\n on vd11.ch7.calendar\n"
                " due 11-15\n confidence V\n}\n");
    h_registry(&h2, "XA XB");
    h_add(&h2, "2025-11-15T23:59:59Z", "vd11.ch7.calendar", "XA", 1, "[\"*\"]", NOREFS, cal);
    h_add(&h2, "2025-11-16T00:00:05Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS,
          "{\"topic\":\"t\",\"text\":\"x\"}");
    h_add(&h2, "2025-11-20T00:00:00Z", "vd11.ch7.calendar", "XB", 1, "[\"*\"]", NOREFS, cal);
    h_wit(&h2, 1, "2025-11-15T23:59:59Z");
    h_wit(&h2, 2, "2025-11-16T00:00:06Z");
    for (uint64_t size = 1; size <= 3; size++) {
        char *a = h_text(&h, size), *b = h_text(&h2, size);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    h_free(&h2);
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * integrity: serial, skew, operator time
 */

static void test_serial_and_skew(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule s serial {\n confidence P\n}\n"
               "rule k sent-skew {\n tolerance-seconds 3600\n confidence P\n}\n");
    const char *st = "{\"topic\":\"t\",\"text\":\"x\"}";
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch11.statement", "XA", 1, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch11.statement", "XA", 4, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch11.statement", "XA", 4, "[\"*\"]", NOREFS, st);
    expect_none(&h, 4, "s/1");
    expect(&h, 4, "s/2", "breach", "XA serial 4 after 2: serial 3 missing");
    expect(&h, 4, "s/2", "breach", "\"entries\":[1,2]");
    expect(&h, 4, "s/3", "breach", "repeats");
    /* Skew: sent 3600 s before logged is within the tolerance, 3601 s is not; either way. */
    h.sent = "2025-01-01T00:00:00Z";
    h_add(&h, "2025-01-01T01:00:00Z", "vd11.ch11.statement", "XA", 5, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-01-01T01:00:01Z", "vd11.ch11.statement", "XA", 6, "[\"*\"]", NOREFS, st);
    h.sent = "2025-01-01T02:00:02Z";
    h_add(&h, "2025-01-01T01:00:01Z", "vd11.ch11.statement", "XA", 7, "[\"*\"]", NOREFS, st);
    h.sent = NULL;
    expect_none(&h, 7, "k/4");
    expect(&h, 7, "k/5", "advisory",
           "sent 2025-01-01T00:00:00Z, logged 2025-01-01T01:00:01Z: more than 3600 s apart");
    expect(&h, 7, "k/6", "advisory", NULL);
    expect_none(&h, 7, "k/0");
    h_free(&h);
}

static void test_operator_time(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule op operator-time {\n tolerance-seconds 60\n"
               " confidence P\n}\n");
    const char *st = "{\"topic\":\"t\",\"text\":\"x\"}";
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch11.statement", "XA", 1, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-01-01T00:10:01Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS, st);
    h_wit(&h, 2, "2025-01-01T00:10:00Z"); /* entry 1 logged after the witness time */
    h_add(&h, "2025-01-01T00:10:01Z", "vd11.ch11.statement", "XA", 3, "[\"*\"]", NOREFS, st);
    h_wit(&h, 3, "2025-01-01T00:10:05Z"); /* fine */
    /* Entry 3's "after" is 00:10:05; logged 00:09:04 is 61 s before it; 00:09:05 is not. */
    h_wit(&h, 3, "2025-01-01T00:10:05Z");
    expect_none(&h, 3, "op/0");
    expect(&h, 3, "op/1", "operator-time", "after the witness time 2025-01-01T00:10:00Z");
    expect(&h, 3, "op/1", "operator-time", "\"severity\":\"operator-time\"");
    expect_none(&h, 3, "op/2");
    expect_none(&h, 1, "op/1"); /* the view before that checkpoint */
    h_free(&h);

    h_init(&h, "treatylog/rules/v1\nrule op operator-time {\n tolerance-seconds 60\n"
               " confidence P\n}\n");
    h_add(&h, "2025-01-01T00:09:04Z", "vd11.ch11.statement", "XA", 1, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-01-01T00:09:05Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS, st);
    h_wit(&h, 0, "2025-01-01T00:10:05Z");
    h_wit(&h, 2, "2025-01-01T00:10:06Z");
    expect(&h, 2, "op/0/1", "operator-time", "more than 60 s before");
    expect_none(&h, 2, "op/1/1");
    h_free(&h);

    /* Cosignature times are whole seconds: logged 00:10:00.999 is within the witness second
     * 00:10:00, 00:10:01.000 is after it. */
    h_init(&h, "treatylog/rules/v1\nrule op operator-time {\n tolerance-seconds 60\n"
               " confidence P\n}\n");
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch11.statement", "XA", 1, "[\"*\"]", NOREFS, st);
    h_add_ms(&h, T("2025-01-01T00:10:00Z") * 1000 + 999, "vd11.ch11.statement", "XA", 2, "[\"*\"]",
             NOREFS, st);
    h_wit(&h, 2, "2025-01-01T00:10:00Z");
    h_add_ms(&h, T("2025-01-01T00:10:01Z") * 1000, "vd11.ch11.statement", "XA", 3, "[\"*\"]",
             NOREFS, st);
    h_wit(&h, 3, "2025-01-01T00:10:00Z");
    expect_none(&h, 3, "op/1");
    expect(&h, 3, "op/2", "operator-time", "after the witness time 2025-01-01T00:10:00Z");
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * more kinds: hours-before (Open Skies), threshold by activity, per-addressee deadlines, when
 */

static const char *FLIGHT = "{\"entry_point\":\"e\",\"os_airfield\":\"a\",\"eta_entry\":"
                            "\"2025-08-04T10:00:00Z\",\"etd_to_airfield\":\"2025-08-04T14:00:00Z\","
                            "\"preflight_inspection\":{\"place\":\"a\",\"time\":"
                            "\"2025-08-05T08:00:00Z\"},\"diplomatic_clearance\":\"d\","
                            "\"aircraft\":\"x\",\"distance_km\":1200,\"personnel\":{\"count\":"
                            "18,\"commitment\":\"M8bLBlPX/dnuZLc1/Q2hsbcXT73nslsW3M/mcMiKVjA=\"}}";

static void test_open_skies(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/open-skies.rules");
    /* ETA 4 Aug 10:00: notices at exactly 72 h before and one second later. */
    h_add(&h, "2025-08-01T10:00:00Z", "os.flight-notice", "XB", 1, "[\"*\"]", NOREFS, FLIGHT);
    h_add(&h, "2025-08-01T10:00:01Z", "os.flight-notice", "XB", 2, "[\"XA\"]", NOREFS, FLIGHT);
    h_add(&h, "2025-08-01T12:00:00Z", "os.acknowledgement", "XA", 1, "[\"*\"]", REFS(0),
          "{\"received\":\"2025-08-01T11:00:00Z\"}");
    h_wit(&h, 3, "2025-08-02T10:00:02Z");
    expect(&h, 3, "os.notice-72h/0", "met", "\"due\":\"2025-08-01T10:00:00Z\"");
    expect(&h, 3, "os.notice-72h/1", "late", "72 hours or more before eta_entry");
    expect(&h, 3, "os.notify-all/0", "met", NULL);
    expect(&h, 3, "os.notify-all/1", "breach", "addressed to XA only");
    expect(&h, 3, "os.ack-24h/0", "met", "\"entries\":[0,2]");
    expect(&h, 3, "os.ack-24h/1", "missed", "any other party");
    h_free(&h);
}

#define SPAN_REP                                                                                   \
    "{\"visit_start\":\"2025-07-08T06:00:00Z\",\"visit_end\":\"%s\","                              \
    "\"observed\":{\"personnel\":3000},\"differences_from_aemi\":\"\"}"
#define SPAN_REQ                                                                                   \
    "{\"reasons\":\"r\",\"specified_area\":{\"polygon\":[[\"58.0\",\"25.0\"],"                     \
    "[\"58.0\",\"26.0\"],[\"57.5\",\"26.0\"]]},\"entry_point\":\"e\","                             \
    "\"transport\":\"t\",\"start_location\":{\"name\":\"n\"},\"inspectors\":%d}"
#define SPAN_AC                                                                                    \
    "{\"action\":\"%s\",\"aircraft\":{\"type\":\"t\",\"registration\":"                            \
    "\"XB-OSA\",\"sensors\":[\"s\"]},\"effective\":\"2025-10-01\"}"

/* vd11.ch5.cancel: a change with change "cancel" voids its notification's findings; an
 * amendment does not. */
static void test_cancel(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/vd11.rules");
    h_registry(&h, "XA XB");
    char *b = notif_body("C1", "2025-04-20", "2025-04-30", 14000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("C2", "2025-04-20", "2025-04-30", 14000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b);
    free(b);
    h_add(&h, "2025-03-05T00:00:00Z", "vd11.ch5.change", "XA", 3, "[\"*\"]", REFS(0),
          "{\"activity\":\"C1\",\"change\":\"cancel\",\"reason\":\"r\"}");
    h_add(&h, "2025-03-05T00:00:00Z", "vd11.ch5.change", "XA", 4, "[\"*\"]", REFS(1),
          "{\"activity\":\"C2\",\"change\":\"amend\",\"reason\":\"r\",\"troops_peak\":"
          "15000}");
    /* A cancellation by another State does nothing. */
    h_add(&h, "2025-03-05T00:00:00Z", "vd11.ch5.change", "XB", 1, "[\"*\"]", REFS(1),
          "{\"activity\":\"C2\",\"change\":\"cancel\",\"reason\":\"r\"}");
    h_wit(&h, 5, "2025-04-20T00:00:01Z");
    expect(&h, 5, "vd11.ch6.observe-threshold/0", "void", "XA/1 withdrawn by XA/3");
    expect(&h, 5, "vd11.ch6.observe-threshold/1", "missed", NULL);
    expect(&h, 2, "vd11.ch6.observe-threshold/0", "pending", NULL);
    h_free(&h);
}

/* Amendments re-decide the observation rules (domain.md §3.4: a snap activity that grows is
 * followed by a change, and the observation rule re-evaluates on it). */
static void test_amendments(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/vd11.rules");
    h_registry(&h, "XA");
    /* A snap activity of exactly 72 h: not observable; a change to six days makes it so, with
     * 72 h from the change to invite. */
    char *b = notif_body("S1", "2025-05-01", "2025-05-03", 14000, 1, true, NULL);
    h_add(&h, "2025-05-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b);
    free(b);
    h_add(&h, "2025-05-02T00:00:00Z", "vd11.ch5.change", "XA", 2, "[\"*\"]", REFS(0),
          "{\"activity\":\"S1\",\"change\":\"amend\",\"reason\":\"r\",\"end\":"
          "\"2025-05-06\"}");
    expect_none(&h, 1, "vd11.ch6.snap-observe/0");
    expect_none(&h, 2, "vd11.ch6.snap-observe/0");
    expect(&h, 2, "vd11.ch6.snap-observe/0/1", "pending", "\"due\":\"2025-05-05T00:00:00Z\"");
    h_add(&h, "2025-05-03T00:00:00Z", "vd11.ch6.observation-invitation", "XA", 3, "[\"*\"]",
          REFS(0), INV_BODY);
    expect(&h, 3, "vd11.ch6.snap-observe/0/1", "met", "\"entries\":[0,2]");

    /* A notification over the threshold, invited at once; amended below it: void; amended
     * over it again: a new finding, met by the invitation already sent. */
    b = notif_body("N1", "2025-09-01", "2025-09-05", 14000, 1, false, NULL);
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch5.notification", "XA", 4, "[\"*\"]", NOREFS, b);
    free(b);
    h_add(&h, "2025-06-02T00:00:00Z", "vd11.ch6.observation-invitation", "XA", 5, "[\"*\"]",
          REFS(3), INV_BODY);
    h_add(&h, "2025-06-03T00:00:00Z", "generic.correction", "XA", 6, "[\"*\"]", REFS(3),
          "{\"action\":\"amend\",\"reason\":\"r\",\"amended\":{\"troops_peak\":12000}}");
    expect(&h, 5, "vd11.ch6.observe-threshold/3", "met", "\"entries\":[3,4]");
    expect(&h, 6, "vd11.ch6.observe-threshold/3", "void",
           "XA/4 amended by XA/6 so that the rule no longer applies");
    /* Another State's change is not an amendment of XA's notification. */
    h_add(&h, "2025-06-04T00:00:00Z", "vd11.ch5.change", "XB", 1, "[\"*\"]", REFS(3),
          "{\"activity\":\"N1\",\"change\":\"amend\",\"troops_peak\":20000}");
    expect_none(&h, 7, "vd11.ch6.observe-threshold/3/1");
    h_add(&h, "2025-06-05T00:00:00Z", "vd11.ch5.change", "XA", 7, "[\"*\"]", REFS(3),
          "{\"activity\":\"N1\",\"change\":\"amend\",\"troops_peak\":13500}");
    expect(&h, 8, "vd11.ch6.observe-threshold/3/1", "met", "troops_peak 13500 >= 13000");
    expect(&h, 8, "vd11.ch6.observe-threshold/3/1", "met", "\"entries\":[3,4]");
    expect(&h, 8, "vd11.ch6.observe-threshold/3", "void", NULL);
    h_free(&h);
}

static void test_span_limit_when(void **state)
{
    (void)state;
    H h;
    h_init(&h,
           "treatylog/rules/v1\n"
           "rule span field-span {\n on vd11.ch9.evaluation-report\n from visit_start\n"
           " to visit_end\n max-hours 12\n confidence V\n}\n"
           "rule team limit {\n on vd11.ch9.inspection-request\n any inspectors > 4\n"
           " confidence V\n}\n"
           "rule add advance-notice {\n on os.aircraft-designation\n when action designate add\n"
           " field effective\n days 30\n confidence C\n}\n"
           "rule del advance-notice {\n on os.aircraft-designation\n when action delete\n"
           " field effective\n days 90\n confidence C\n}\n");
    const char *st = "{\"topic\":\"t\",\"text\":\"x\"}";
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch11.statement", "XA", 1, "[\"*\"]", NOREFS, st);
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS, st);
    char body[512];
    snprintf(body, sizeof body, SPAN_REP, "2025-07-08T18:00:00Z"); /* exactly 12 h */
    h_add(&h, "2025-07-09T00:00:00Z", "vd11.ch9.evaluation-report", "XB", 1, "[\"*\"]", REFS(0, 1),
          body);
    snprintf(body, sizeof body, SPAN_REP, "2025-07-08T18:00:01Z");
    h_add(&h, "2025-07-09T00:00:00Z", "vd11.ch9.evaluation-report", "XB", 2, "[\"*\"]", REFS(0, 1),
          body);
    expect_none(&h, 4, "span/2");
    expect(&h, 4, "span/3", "advisory",
           "visit_end 2025-07-08T18:00:01Z is more than 12 hours after visit_start");
    snprintf(body, sizeof body, SPAN_REQ, 4);
    h_add(&h, "2025-07-10T00:00:00Z", "vd11.ch9.inspection-request", "XA", 3, "[\"XB\"]", NOREFS,
          body);
    snprintf(body, sizeof body, SPAN_REQ, 5);
    h_add(&h, "2025-07-10T00:00:00Z", "vd11.ch9.inspection-request", "XA", 4, "[\"XB\"]", NOREFS,
          body);
    expect_none(&h, 6, "team/4");
    expect(&h, 6, "team/5", "advisory", "inspectors 5 > 4");
    /* Designation 30 days ahead: effective 2025-10-01 -> by 2025-09-01; deletion 90 days. */
    snprintf(body, sizeof body, SPAN_AC, "add");
    h_add(&h, "2025-09-01T23:59:59Z", "os.aircraft-designation", "XB", 3, "[\"*\"]", NOREFS, body);
    snprintf(body, sizeof body, SPAN_AC, "delete");
    h_add(&h, "2025-09-02T00:00:00Z", "os.aircraft-designation", "XB", 4, "[\"*\"]", NOREFS, body);
    expect(&h, 8, "add/6", "met", NULL);
    expect_none(&h, 8, "del/6");
    expect(&h, 8, "del/7", "late", "\"due\":\"2025-07-03T23:59:59.999Z\"");
    expect_none(&h, 8, "add/7");
    h_free(&h);
}

static void test_threshold_by_activity(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule nt threshold {\n on vd11.ch6.observation-report\n"
               " any observed.troops >= 9000\n any observed.battle_tanks >= 250\n"
               " require vd11.ch5.notification\n match activity\n hours 24\n"
               " severity breach\n confidence V\n}\n");
    char *b = notif_body("KNOWN", "2025-04-20", "2025-04-30", 9500, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b);
    free(b);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch11.statement", "XA", 2, "[\"*\"]", NOREFS,
          "{\"topic\":\"t\",\"text\":\"x\"}");
    char body[512];
#define REP2                                                                                       \
    "{\"activity\":\"%s\",\"observed_from\":\"2025-04-21T08:00:00Z\","                             \
    "\"observed_to\":\"2025-04-23T18:00:00Z\",\"observed\":{\"troops\":%d},\"access_given\":true}"
    snprintf(body, sizeof body, REP2, "KNOWN", 9000);
    h_add(&h, "2025-04-25T00:00:00Z", "vd11.ch6.observation-report", "XC", 1, "[\"*\"]", REFS(0, 1),
          body);
    snprintf(body, sizeof body, REP2, "UNKNOWN", 9000);
    h_add(&h, "2025-04-25T00:00:00Z", "vd11.ch6.observation-report", "XC", 2, "[\"*\"]", REFS(0, 1),
          body);
    snprintf(body, sizeof body, REP2, "SMALL", 8999);
    h_add(&h, "2025-04-25T00:00:00Z", "vd11.ch6.observation-report", "XC", 3, "[\"*\"]", REFS(0, 1),
          body);
    expect(&h, 5, "nt/2", "met", "\"entries\":[0,2]");
    /* The absent tank count is "not reported", not 0. */
    expect(&h, 5, "nt/3", "pending", "not reported: observed.battle_tanks");
    expect_none(&h, 5, "nt/4");
    h_wit(&h, 5, "2025-04-26T00:00:01Z");
    expect(&h, 5, "nt/3", "missed", "\"severity\":\"breach\"");
    /* A notification of it arriving later resolves it as late. */
    b = notif_body("UNKNOWN", "2025-04-20", "2025-04-30", 9500, 1, false, NULL);
    h_add(&h, "2025-04-27T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, b);
    free(b);
    expect(&h, 6, "nt/3", "late", "\"entries\":[3,5]");
    h_free(&h);
}

static void test_per_addressee_and_when(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule ack reply-deadline {\n on vd11.ch3.hazardous-incident\n"
               " reply generic.acknowledgement\n party to\n hours 24\n severity advisory\n"
               " confidence P\n}\n"
               "rule land threshold {\n on vd11.ch5.notification\n when kind amphibious airborne\n"
               " any troops_peak >= 3500\n require vd11.ch6.observation-invitation\n by start\n"
               " confidence V\n}\n");
    const char *inc = "{\"occurred\":\"2025-01-01T00:00:00Z\",\"area\":{\"text\":\"a\"},"
                      "\"involved\":[{\"party\":\"XB\",\"platform\":\"p\"}],\"description\":"
                      "\"d\",\"severity\":\"serious\"}";
    h_add(&h, "2025-01-01T00:00:00Z", "vd11.ch3.hazardous-incident", "XA", 1,
          "[\"XB\",\"XC\",\"XA\"]", NOREFS, inc);
    h_add(&h, "2025-01-01T01:00:00Z", "generic.acknowledgement", "XC", 1, "[\"XA\"]", REFS(0),
          "{\"received\":\"2025-01-01T00:30:00Z\"}");
    h_wit(&h, 2, "2025-01-02T00:00:01Z");
    expect(&h, 2, "ack/0/1", "missed", "\"parties\":[\"XB\"]");
    expect(&h, 2, "ack/0/1", "missed", "\"severity\":\"advisory\"");
    expect(&h, 2, "ack/0/2", "met", "\"parties\":[\"XC\"]");
    expect_none(&h, 2, "ack/0/3"); /* the sender itself is not asked */
    char *land = malloc(4096);     /* an airborne landing */
    assert_non_null(land);
    snprintf(land, 4096,
             "{\"activity\":\"L1\",\"designation\":\"D\",\"purpose\":\"p\",\"participants\":["
             "\"XA\"],\"command_level\":\"brigade\",\"kind\":\"airborne\","
             "\"without_advance_notice\":false,\"start\":\"2025-04-20\",\"end\":\"2025-04-21\","
             "\"area\":{\"text\":\"a\"},\"troops_peak\":3500,\"troops_total\":3500,"
             "\"battle_tanks\":0,\"acv\":0,\"artillery\":0,\"in_calendar\":true}");
    char *notland = notif_body("L2", "2025-04-20", "2025-04-30", 3500, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, land);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, notland);
    expect(&h, 4, "land/2", "pending", "troops_peak 3500 >= 3500");
    expect_none(&h, 4, "land/3");
    free(land);
    free(notland);
    h_free(&h);
}

static void test_incident_involved(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/vd11.rules");
    h_registry(&h, "US RU EE");
    h_add(&h, "2023-03-14T12:00:00Z", "vd11.ch3.hazardous-incident", "US", 1, "[\"*\"]", NOREFS,
          "{\"occurred\":\"2023-03-14T07:03:00Z\",\"area\":{\"text\":\"Black Sea\"},"
          "\"involved\":[{\"party\":\"US\",\"platform\":\"MQ-9\"},{\"party\":\"RU\","
          "\"platform\":\"Su-27\"}],\"description\":\"d\",\"severity\":\"high-risk\"}");
    h_wit(&h, 1, "2023-03-17T12:00:01Z");
    expect(&h, 1, "vd11.ch3.incident-reply/0/1", "missed",
           "\"severity\":\"advisory\",\"parties\":[\"RU\"]");
    expect_none(&h, 1, "vd11.ch3.incident-reply/0/2"); /* the reporter answers nothing */
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * The worked timeline of domain.md §4.2 with rules/vd11.rules.
 */

typedef struct step {
    int kind; /* 0 add, 1 witnessed */
    const char *time;
    const char *type, *from;
    uint64_t serial;
    const char *to;
    int refs[3];
    const char *body;
    uint64_t size;
} step;

static const char *STMT = "{\"topic\":\"t\",\"text\":\"other traffic\"}";

static const step TIMELINE[] = {
    {0,
     "2022-02-11T12:00:00Z",
     "vd11.ch3.explanation-request",
     "UA",
     412,
     "[\"*\"]",
     {-1},
     NULL,
     0},
    {1, "2022-02-11T12:00:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 1},
    {0, "2022-02-12T09:00:00Z", "vd11.ch11.statement", "EE", 1, "[\"*\"]", {-1}, NULL, 0},
    {0, "2022-02-13T11:00:00Z", "vd11.ch11.statement", "US", 1, "[\"*\"]", {-1}, NULL, 0},
    {1, "2022-02-13T11:00:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 3},
    {0, "2022-02-13T12:10:00Z", "vd11.ch11.statement", "EE", 2, "[\"*\"]", {-1}, NULL, 0},
    {1, "2022-02-13T12:10:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 4},
    {0,
     "2022-02-13T18:00:00Z",
     "vd11.ch3.meeting-request",
     "UA",
     413,
     "[\"*\"]",
     {0, -1},
     "{\"kind\":\"all-states\",\"with\":\"RU\",\"purpose\":\"explanation\"}",
     0},
    {1, "2022-02-13T18:00:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 5},
    {0,
     "2022-02-14T10:00:00Z",
     "vd11.ch3.meeting-notice",
     "PL",
     88,
     "[\"*\"]",
     {4, -1},
     "{\"start\":\"2022-02-15T15:00:00Z\",\"venue\":\"Hofburg, Vienna\",\"format\":\"closed\"}",
     0},
    {1, "2022-02-14T10:00:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 6},
    {0,
     "2022-02-15T17:30:00Z",
     "vd11.ch3.meeting-record",
     "PL",
     89,
     "[\"*\"]",
     {5, 4, -1},
     "{\"held_start\":\"2022-02-15T15:00:00Z\",\"held_end\":\"2022-02-15T16:40:00Z\","
     "\"present\":[\"UA\",\"PL\",\"EE\",\"US\"],\"absent\":[\"RU\"],\"summary\":\"\"}",
     0},
    {1, "2022-02-15T17:30:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 7},
    /* Step 7, the variant: Russia's note entered as a reply. */
    {0,
     "2022-02-17T09:00:00Z",
     "vd11.ch3.explanation-reply",
     "RU",
     1,
     "[\"UA\",\"PL\"]",
     {0, -1},
     "{\"answers\":{},\"statement\":\"planned combat training; no notification required\"}",
     0},
    {1, "2022-02-17T09:00:30Z", NULL, NULL, 0, NULL, {-1}, NULL, 8},
};
#define NTIMELINE (sizeof TIMELINE / sizeof TIMELINE[0])

/* Replays the timeline; with late_witness, all entries first and the checkpoints after. */
static void replay(H *h, bool late_witness, size_t upto)
{
    h_init_file(h, "rules/vd11.rules");
    h_registry(h, "UA RU PL:chair EE US");
    for (int pass = 0; pass < (late_witness ? 2 : 1); pass++) {
        for (size_t i = 0; i < upto; i++) {
            const step *s = &TIMELINE[i];
            if (s->kind == 0 && (!late_witness || pass == 0))
                h_add(h, s->time, s->type, s->from, s->serial, s->to, s->refs,
                      s->body ? s->body
                              : (!strcmp(s->type, "vd11.ch11.statement") ? STMT : REQ_BODY));
            else if (s->kind == 1 && (!late_witness || pass == 1))
                h_wit(h, s->size, s->time);
        }
    }
}

static void test_timeline_2022(void **state)
{
    (void)state;
    H h;
    replay(&h, false, NTIMELINE);
    /* Step 1: pending (RU), due 13 Feb 12:00; share-all met. */
    expect(&h, 1, "vd11.ch3.reply-48h/0", "pending",
           "\"parties\":[\"RU\"],\"trigger\":0,\"entries\":[0],\"due\":\"2022-02-13T12:00:00Z\"");
    expect(&h, 1, "vd11.ch3.share-all/0", "met", NULL);
    /* Step 2: unchanged. */
    expect(&h, 3, "vd11.ch3.reply-48h/0", "pending", NULL);
    /* Step 3: the first witnessed checkpoint after the deadline: missed, the whole line. */
    char *t = h_text(&h, 4);
    const char *l = line_of(t, "vd11.ch3.reply-48h/0");
    assert_non_null(l);
    assert_string_equal(
        l, "{\"id\":\"vd11.ch3.reply-48h/0\",\"rule\":\"vd11.ch3.reply-48h\",\"state\":\"missed\","
           "\"severity\":\"missed\",\"parties\":[\"RU\"],\"trigger\":0,\"entries\":[0],"
           "\"due\":\"2022-02-13T12:00:00Z\",\"why\":\"no vd11.ch3.explanation-reply from RU "
           "referencing UA/412 by 2022-02-13T12:00:00Z\",\"params\":{\"on\":"
           "\"vd11.ch3.explanation-request\",\"reply\":\"vd11.ch3.explanation-reply\",\"party\":"
           "\"concerning\",\"hours\":48},\"confidence\":\"C\",\"range\":[0,3]}");
    free(t);
    /* "As of the checkpoint of 12:30 on 13 Feb": missed. */
    assert_int_equal(tl_engine_size_at(h.e, T("2022-02-13T12:30:00Z")), 4);
    /* Step 4: meeting-48h pending, due 15 Feb 18:00, the chair named. */
    expect(&h, 5, "vd11.ch3.meeting-48h/4", "pending",
           "\"parties\":[\"PL\"],\"trigger\":4,\"entries\":[4],\"due\":\"2022-02-15T18:00:00Z\"");
    /* Step 5: still pending; the notice's start lies before the deadline: no advisory. */
    expect(&h, 6, "vd11.ch3.meeting-48h/4", "pending", NULL);
    expect_none(&h, 6, "vd11.ch3.meeting-48h/5");
    /* Step 6: met by held_start 15:00; RU absent: advisory (VD11 wording to verify). */
    expect(&h, 7, "vd11.ch3.meeting-48h/4", "met",
           "PL/89 held_start 2022-02-15T15:00:00Z, by 2022-02-15T18:00:00Z");
    expect(&h, 7, "vd11.ch3.meeting-48h/4", "met", "\"entries\":[4,6]");
    expect(&h, 7, "vd11.ch3.attendance/6/1", "advisory", "\"parties\":[\"RU\"]");
    expect(&h, 7, "vd11.ch3.reply-48h/0", "missed", NULL);
    /* Step 7 (variant): late, reply-content lists the six questions, share-all advisory. */
    expect(&h, 8, "vd11.ch3.reply-48h/0", "late",
           "RU/1 logged 2022-02-17T09:00:00Z, after 2022-02-13T12:00:00Z; missed as of the "
           "witnessed checkpoint of size 4 until then");
    expect(&h, 8, "vd11.ch3.reply-content/7", "advisory",
           "RU/1 leaves 6 questions of UA/412 without an answer: area, end_date, designation, "
           "subordination, formations, equipment_types");
    expect(&h, 8, "vd11.ch3.share-all/7", "advisory", "addressed to UA, PL only");
    expect(&h, 4, "vd11.ch3.reply-48h/0", "missed", NULL); /* still derivable */
    assert_int_equal(tl_engine_size_at(h.e, T("2022-02-18T00:00:00Z")), 8);
    h_free(&h);
}

/* Step 5's other branch: had UA/413 been logged before 15:00 on 13 Feb, the notice for 15:00
 * on 15 Feb schedules the meeting after the deadline: an advisory. */
static void test_timeline_meeting_scheduled_late(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/vd11.rules");
    h_registry(&h, "UA RU PL:chair");
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-13T14:59:59Z", "vd11.ch3.meeting-request", "UA", 2, "[\"*\"]", REFS(0),
          "{\"kind\":\"all-states\",\"with\":\"RU\",\"purpose\":\"explanation\"}");
    h_add(&h, "2022-02-14T10:00:00Z", "vd11.ch3.meeting-notice", "PL", 1, "[\"*\"]", REFS(1),
          "{\"start\":\"2022-02-15T15:00:00Z\",\"venue\":\"Vienna\",\"format\":\"closed\"}");
    expect(&h, 3, "vd11.ch3.meeting-48h/2", "advisory",
           "PL/1 schedules it for start 2022-02-15T15:00:00Z, after the deadline of UA/2, "
           "2022-02-15T14:59:59Z");
    expect(&h, 3, "vd11.ch3.meeting-48h/2", "advisory", "\"entries\":[1,2]");
    expect(&h, 3, "vd11.ch3.meeting-48h/1", "pending", NULL);
    h_free(&h);
    /* At 15:00:00 exactly the start is at the deadline: no advisory. */
    h_init_file(&h, "rules/vd11.rules");
    h_registry(&h, "UA RU PL:chair");
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-13T15:00:00Z", "vd11.ch3.meeting-request", "UA", 2, "[\"*\"]", REFS(0),
          "{\"kind\":\"all-states\",\"with\":\"RU\",\"purpose\":\"explanation\"}");
    h_add(&h, "2022-02-14T10:00:00Z", "vd11.ch3.meeting-notice", "PL", 1, "[\"*\"]", REFS(1),
          "{\"start\":\"2022-02-15T15:00:00Z\",\"venue\":\"Vienna\",\"format\":\"closed\"}");
    expect_none(&h, 3, "vd11.ch3.meeting-48h/2");
    h_free(&h);
}

static void test_determinism(void **state)
{
    (void)state;
    H a, b, c;
    replay(&a, false, NTIMELINE);
    replay(&b, false, NTIMELINE);
    replay(&c, true, NTIMELINE); /* checkpoints reported only after all entries */
    uint64_t sizes[] = {1, 3, 4, 5, 6, 7, 8};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *ta = h_text(&a, sizes[i]), *tb = h_text(&b, sizes[i]), *tc = h_text(&c, sizes[i]);
        assert_true(strlen(ta) > 0);
        assert_string_equal(ta, tb);
        assert_string_equal(ta, tc);
        free(ta);
        free(tb);
        free(tc);
    }
    /* Sorted by trigger index, then rule id. */
    char *t = h_text(&a, 8);
    const char *p1 = strstr(t, "\"id\":\"vd11.ch3.reply-48h/0\"");
    const char *p2 = strstr(t, "\"id\":\"vd11.ch3.share-all/0\"");
    const char *p3 = strstr(t, "\"id\":\"vd11.ch3.meeting-48h/4\"");
    assert_true(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    free(t);
    h_free(&a);
    h_free(&b);
    h_free(&c);
}

/* A random log (seeded) fed to three engines that hear of the same witnessed checkpoints at
 * different moments: at once, late (a few entries later), and only after every entry. Findings
 * as of every checkpoint size and of the whole log must be byte for byte the same. */
typedef struct rstep {
    int64_t logged_s;
    char type[48], from[3], to[16], body[700];
    int refs[3];
    uint64_t serial;
} rstep;

static uint64_t rnd(uint64_t *st)
{
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return *st >> 33;
}

static void test_determinism_random(void **state)
{
    (void)state;
    enum { N = 600 };
    rstep *st = calloc(N, sizeof *st);
    assert_non_null(st);
    uint64_t seed = 42, serial[4] = {0};
    const char *codes[4] = {"XA", "XB", "XC", "XD"};
    int64_t t = T("2025-01-01T00:00:00Z");
    int last_req = -1, last_notif = -1;
    for (int i = 0; i < N; i++) {
        rstep *r = &st[i];
        t += (int64_t)(rnd(&seed) % 7200);
        r->logged_s = t;
        int p = (int)(rnd(&seed) % 4);
        snprintf(r->from, sizeof r->from, "%s", codes[p]);
        snprintf(r->to, sizeof r->to, "[\"*\"]");
        r->refs[0] = -1;
        unsigned k = (unsigned)(rnd(&seed) % 6);
        if (k == 0) {
            snprintf(r->type, sizeof r->type, "vd11.ch3.explanation-request");
            snprintf(r->body, sizeof r->body,
                     "{\"concerning\":\"%s\",\"description\":\"d\",\"area\":{\"text\":\"a\"},"
                     "\"questions\":[\"area\"]}",
                     codes[(p + 1) % 4]);
            last_req = i;
        } else if (k == 1 && last_req >= 0) {
            snprintf(r->type, sizeof r->type, "vd11.ch3.explanation-reply");
            memcpy(r->from, st[last_req].body + 15, 2); /* {"concerning":"XB" */
            r->from[2] = 0;
            p = r->from[1] - 'A';
            r->refs[0] = last_req;
            r->refs[1] = -1;
            snprintf(r->body, sizeof r->body, "{\"answers\":{},\"statement\":\"\"}");
        } else if (k == 2) {
            snprintf(r->type, sizeof r->type, "vd11.ch5.notification");
            char *b = notif_body("R", "2025-06-01", "2025-06-10", 8000 + (int)(rnd(&seed) % 8000),
                                 100, rnd(&seed) % 5 == 0, NULL);
            char act[16];
            snprintf(act, sizeof act, "R%d", i);
            char *q = strstr(b, "\"R\"");
            snprintf(r->body, sizeof r->body, "%.*s\"%s\"%s", (int)(q - b), b, act, q + 3);
            free(b);
            last_notif = i;
        } else if (k == 3 && last_notif >= 0) {
            snprintf(r->type, sizeof r->type, "generic.correction");
            memcpy(r->from, st[last_notif].from, sizeof r->from);
            p = r->from[1] - 'A';
            r->refs[0] = last_notif;
            r->refs[1] = -1;
            snprintf(r->body, sizeof r->body, "{\"action\":\"withdraw\",\"reason\":\"r\"}");
        } else {
            snprintf(r->type, sizeof r->type, "vd11.ch11.statement");
            snprintf(r->body, sizeof r->body, "{\"topic\":\"t\",\"text\":\"x\"}");
        }
        r->serial = ++serial[p];
        if (rnd(&seed) % 50 == 0)
            r->serial++; /* now and then a gap */
    }
    H hs[3];
    for (int v = 0; v < 3; v++) {
        h_init_file(&hs[v], "rules/vd11.rules");
        h_registry(&hs[v], "XA XB XC XD");
    }
    /* Checkpoints every 25 entries, witnessed 30 s after the last entry in them. */
    uint64_t pending[N / 25 + 1];
    size_t np = 0, done1 = 0;
    for (int i = 0; i < N; i++) {
        const rstep *r = &st[i];
        for (int v = 0; v < 3; v++)
            h_add_ms(&hs[v], r->logged_s * 1000, r->type, r->from, r->serial, r->to, r->refs,
                     r->body);
        char wt[32];
        if ((i + 1) % 25 == 0) {
            fmt_time(wt, r->logged_s + 30);
            h_wit(&hs[0], (uint64_t)i + 1, wt);
            pending[np++] = (uint64_t)i + 1;
        }
        /* Engine 1 hears of each checkpoint 10 entries later. */
        while (done1 < np && pending[done1] + 10 <= (uint64_t)i + 1) {
            fmt_time(wt, st[pending[done1] - 1].logged_s + 30);
            h_wit(&hs[1], pending[done1], wt);
            done1++;
        }
    }
    for (; done1 < np; done1++) {
        char wt[32];
        fmt_time(wt, st[pending[done1] - 1].logged_s + 30);
        h_wit(&hs[1], pending[done1], wt);
    }
    for (size_t j = 0; j < np; j++) {
        char wt[32];
        fmt_time(wt, st[pending[j] - 1].logged_s + 30);
        h_wit(&hs[2], pending[j], wt);
    }
    size_t nonempty = 0;
    for (size_t j = 0; j <= np; j++) {
        uint64_t size = j < np ? pending[j] : (uint64_t)N;
        char *a = h_text(&hs[0], size), *b = h_text(&hs[1], size), *c = h_text(&hs[2], size);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
        nonempty += strlen(a) > 0;
        free(a);
        free(b);
        free(c);
    }
    assert_true(nonempty > 0);
    /* The log has every kind of outcome the rules of this mix give. */
    char *all = h_text(&hs[0], N);
    assert_non_null(strstr(all, "\"state\":\"missed\""));
    assert_non_null(strstr(all, "\"state\":\"met\""));
    assert_non_null(strstr(all, "\"state\":\"void\""));
    assert_non_null(strstr(all, "\"rule\":\"gen.serial-gap\""));
    free(all);
    for (int v = 0; v < 3; v++)
        h_free(&hs[v]);
    free(st);
}

static void test_usage_errors(void **state)
{
    (void)state;
    H h;
    h_init(&h, RULE_REPLY);
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    tl_diag d = {{0}};
    assert_int_equal(tl_engine_witnessed(h.e, 2, 0, &d), TL_ERR_USAGE);
    assert_int_equal(tl_engine_witnessed(h.e, 1, T("2022-02-11T12:00:01Z"), &d), TL_OK);
    assert_int_equal(tl_engine_witnessed(h.e, 0, T("2022-02-11T12:00:01Z"), &d), TL_ERR_USAGE);
    assert_int_equal(tl_engine_skip(h.e, 5, 0), TL_ERR_USAGE);
    assert_int_equal(tl_engine_skip(h.e, 1, 0), TL_OK); /* no time: the previous entry's */
    /* An add logged before the skipped entry (which took 12:00:00) is refused. */
    tl_notification nt;
    char txt[1024];
    int tn = snprintf(txt, sizeof txt,
                      TL_NOTIFICATION_HEADER "{\"type\":\"vd11.ch11.statement\",\"from\":\"EE\","
                                             "\"serial\":1,\"sent\":\"2022-02-11T11:00:00Z\","
                                             "\"to\":[\"*\"],\"treaty_ref\":\"t\",\"refs\":[],"
                                             "\"body\":{\"topic\":\"t\",\"text\":\"x\"}}\n");
    assert_int_equal(tl_notification_parse(&nt, S_, txt, (size_t)tn, &d), TL_OK);
    uint8_t leaf[32] = {7};
    assert_int_equal(
        tl_engine_add(h.e, 2, (uint64_t)(T("2022-02-11T12:00:00Z") - 1) * 1000, leaf, &nt, &d),
        TL_ERR_USAGE);
    assert_int_equal(
        tl_engine_add(h.e, 3, (uint64_t)T("2022-02-11T12:00:00Z") * 1000, leaf, &nt, &d),
        TL_ERR_USAGE); /* not the next index */
    assert_int_equal(
        tl_engine_add(h.e, 2, (uint64_t)T("2022-02-11T12:00:00Z") * 1000, leaf, &nt, &d), TL_OK);
    tl_notification_free(&nt);
    char *t;
    size_t l;
    assert_int_equal(tl_engine_findings_text(h.e, 4, &t, &l), TL_ERR_USAGE);
    assert_int_equal(tl_engine_findings_text(h.e, 0, &t, &l), TL_OK);
    assert_string_equal(t, "");
    free(t);
    h_free(&h);
}

/* ---------------------------------------------------------------------------------------
 * aggregate activity | per_state; the receipt anchor; from, accept-field, party referenced;
 * quota from units and caps; by-day; field-span from-in and min-hours; linked; unreported
 */

static void test_aggregate(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\n"
               "rule act threshold {\n on vd11.ch5.notification\n any troops_peak >= 13000\n"
               " require vd11.ch6.observation-invitation\n aggregate activity\n confidence V\n}\n"
               "rule ps threshold {\n on vd11.ch5.notification\n any troops_peak >= 13000\n"
               " require vd11.ch6.observation-invitation\n aggregate per_state\n confidence V\n}\n"
               "rule cla count-limit {\n on vd11.ch5.notification\n any troops_peak > 13000\n"
               " max 1\n field start\n aggregate activity\n confidence V\n}\n"
               "rule clp count-limit {\n on vd11.ch5.notification\n any troops_peak > 13000\n"
               " max 1\n field start\n aggregate per_state\n confidence V\n}\n");
    const char *bs[] = {
        ",\"by_state\":{\"XB\":{\"troops_peak\":6000},\"XA\":{\"troops_peak\":8000}}",
        ",\"by_state\":{\"XA\":{\"troops_peak\":13000},\"XB\":{\"troops_peak\":1000}}",
        ",\"by_state\":{\"XA\":{\"troops_peak\":12999},\"XB\":{\"troops_peak\":12999}}",
        NULL,
    };
    for (int i = 0; i < 4; i++) {
        char act[8];
        snprintf(act, sizeof act, "G%d", i);
        char *b = notif_body(act, "2025-05-01", "2025-05-02", i == 2 ? 25998 : 14000 - (i == 3), 1,
                             false, bs[i]);
        h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", (uint64_t)i + 1, "[\"*\"]",
              NOREFS, b);
        free(b);
    }
    /* The whole activity crosses in 0, 1, 2; 3 states 13999 without by_state. */
    expect(&h, 4, "act/0", "pending", "troops_peak 14000 >= 13000)");
    expect(&h, 4, "act/2", "pending", "troops_peak 25998 >= 13000)");
    /* Per participant: 0 (8000 and 6000) and 2 (12999 each: the threshold minus one) do not;
     * 1 does for XA at exactly 13000; 3 has no by_state: the sender's whole count. */
    expect_none(&h, 4, "ps/0");
    expect(&h, 4, "ps/1", "pending", "troops_peak 13000 >= 13000 for XA)");
    expect_none(&h, 4, "ps/2");
    expect(&h, 4, "ps/3", "pending", "troops_peak 13999 >= 13000)");
    /* count-limit: activity 0 counts 14000 once for XA: 1, 2 and 3 are XA's 2nd to 4th. Per
     * state, 0 and 2 count for nobody, 1 is XA's first (13000 is not > 13000: none), and 3
     * (no by_state, 13999) XA's first. */
    expect(&h, 4, "cla/1", "breach", "XA: 2 activities");
    char *t = h_text(&h, 4);
    assert_null(strstr(t, "\"rule\":\"clp\""));
    free(t);
    /* A joint activity of XB over the cap for XA and XB each: per state one finding each
     * (sub-numbers in code order), XA's its 2nd, XB's its 1st. */
    char *b = notif_body("G9", "2025-06-01", "2025-06-02", 30000, 1, false,
                         ",\"by_state\":{\"XB\":{\"troops_peak\":15000},"
                         "\"XA\":{\"troops_peak\":15000}}");
    h_add(&h, "2025-03-02T00:00:00Z", "vd11.ch5.notification", "XB", 1, "[\"*\"]", NOREFS, b);
    free(b);
    expect(&h, 5, "clp/4/1", "breach", "XA: 2 activities");
    expect(&h, 5, "clp/4/1", "breach", "(its part of XB, aggregate per_state)");
    expect(&h, 5, "clp/4/1", "breach", "\"parties\":[\"XA\"],\"trigger\":4,\"entries\":[3,4]");
    expect_none(&h, 5, "clp/4/2"); /* XB's first */
    expect_none(&h, 5, "cla/4");   /* XB's first as the lead State */
    rederive(&h, 4, "ps/1");
    rederive(&h, 5, "clp/4/1");
    h_free(&h);
}

static const char *ACK(const char *received)
{
    static char b[128];
    snprintf(b, sizeof b, "{\"received\":\"%s\"}", received);
    return b;
}

static void test_anchor_receipt(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule rc reply-deadline {\n on vd11.ch3.explanation-request\n"
               " reply vd11.ch3.explanation-reply\n party concerning\n hours 48\n"
               " anchor receipt\n confidence V\n}\n");
    const char *rep = "{\"answers\":{},\"statement\":\"\"}";
    /* 0: request; 1: RU's acknowledgement, received 6 h later: due 13 Feb 18:00; 2: the
     * reply exactly then: met. */
    h_add(&h, "2022-02-11T12:00:00Z", "vd11.ch3.explanation-request", "UA", 1, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-11T19:00:00Z", "generic.acknowledgement", "RU", 1, "[\"UA\"]", REFS(0),
          ACK("2022-02-11T18:00:00Z"));
    expect(&h, 1, "rc/0", "pending", "\"due\":\"2022-02-13T12:00:00Z\""); /* before the ack */
    expect(&h, 2, "rc/0", "pending", "\"entries\":[0,1],\"due\":\"2022-02-13T18:00:00Z\"");
    h_add(&h, "2022-02-13T18:00:00Z", "vd11.ch3.explanation-reply", "RU", 2, "[\"*\"]", REFS(0),
          rep);
    expect(&h, 3, "rc/0", "met", "\"entries\":[0,1,2]");
    char *early = h_text(&h, 3); /* the view of size 3 must not change as the log grows */
    /* 3: request; 4: acknowledgement; 5: the reply one second after receipt + 48 h: late. */
    h_add(&h, "2022-02-14T12:00:00Z", "vd11.ch3.explanation-request", "UA", 2, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-14T18:30:00Z", "generic.acknowledgement", "RU", 3, "[\"UA\"]", REFS(3),
          ACK("2022-02-14T18:00:00Z"));
    h_add(&h, "2022-02-16T18:00:01Z", "vd11.ch3.explanation-reply", "RU", 4, "[\"*\"]", REFS(3),
          rep);
    expect(&h, 6, "rc/3", "late", "after 2022-02-16T18:00:00Z");
    expect(&h, 6, "rc/3", "late", "\"range\":[3,5]");
    /* 6: request without acknowledgement (7: one from BY, not the State concerned, and 8: one
     * from RU logged after the deadline from logged do not move it): from logged. */
    h_add(&h, "2022-02-17T12:00:00Z", "vd11.ch3.explanation-request", "UA", 3, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-17T13:00:00Z", "generic.acknowledgement", "BY", 1, "[\"UA\"]", REFS(6),
          ACK("2022-02-17T13:00:00Z"));
    h_add(&h, "2022-02-19T12:00:01Z", "generic.acknowledgement", "RU", 5, "[\"UA\"]", REFS(6),
          ACK("2022-02-19T12:00:00Z"));
    h_wit(&h, 9, "2022-02-19T12:00:02Z");
    expect(&h, 9, "rc/6", "missed", "\"entries\":[6],\"due\":\"2022-02-19T12:00:00Z\"");
    /* A received time outside [trigger logged, ack logged] is clamped to it. */
    h_add(&h, "2022-02-20T12:00:00Z", "vd11.ch3.explanation-request", "UA", 4, "[\"*\"]", NOREFS,
          REQ_BODY);
    h_add(&h, "2022-02-20T13:00:00Z", "generic.acknowledgement", "RU", 6, "[\"UA\"]", REFS(9),
          ACK("2022-02-25T00:00:00Z"));
    expect(&h, 11, "rc/9", "pending", "\"due\":\"2022-02-22T13:00:00Z\"");
    rederive(&h, 3, "rc/0");
    rederive(&h, 6, "rc/3");
    rederive(&h, 9, "rc/6");
    rederive(&h, 11, "rc/9");
    char *late = h_text(&h, 3);
    assert_string_equal(early, late);
    free(early);
    free(late);
    h_free(&h);
}

static const char *INSP_YES(const char *entry)
{
    static char b[256];
    snprintf(b, sizeof b,
             "{\"accept\":true,\"grounds\":null,\"entry_point\":\"e\",\"entry_time\":\"%s\"}",
             entry);
    return b;
}

static const char *INSP_NO = "{\"accept\":false,\"grounds\":\"quota\",\"entry_point\":null,"
                             "\"entry_time\":null}";

static void test_entry_and_report_due(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\n"
               "rule entry reply-deadline {\n on vd11.ch9.inspection-request\n"
               " reply vd11.ch9.inspection-reply\n party to\n hours 36\n met-by entry_time\n"
               " accept-field accept\n confidence V\n}\n"
               "rule rep reply-deadline {\n on vd11.ch9.inspection-reply\n only-if accept\n"
               " reply vd11.ch9.inspection-report\n party referenced\n from entry_time\n"
               " hours 384\n confidence P\n}\n");
    char req[1024];
    snprintf(req, sizeof req, SPAN_REQ, 4);
    const char *report = "{\"arrived_area\":\"2025-06-03T16:00:00Z\",\"ended\":"
                         "\"2025-06-05T16:00:00Z\",\"observed\":{\"troops\":2500},"
                         "\"activities_seen\":[],\"remarks_on_cooperation\":\"\","
                         "\"force_majeure\":false}";
    /* 0/2: entry exactly 36 h after the request: met; its report 16 days after the entry
     * time, exactly at the deadline (4: met). 1/3: entry one second later: late; its report
     * from the wrong State (5) does not count, the one a second late (6) is late. */
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch9.inspection-request", "XA", 1, "[\"XB\"]", NOREFS,
          req);
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch9.inspection-request", "XA", 2, "[\"XB\"]", NOREFS,
          req);
    h_add(&h, "2025-06-01T10:00:00Z", "vd11.ch9.inspection-reply", "XB", 1, "[\"XA\"]", REFS(0),
          INSP_YES("2025-06-02T12:00:00Z"));
    h_add(&h, "2025-06-01T10:00:00Z", "vd11.ch9.inspection-reply", "XB", 2, "[\"XA\"]", REFS(1),
          INSP_YES("2025-06-02T12:00:01Z"));
    h_add(&h, "2025-06-18T12:00:00Z", "vd11.ch9.inspection-report", "XA", 3, "[\"*\"]", REFS(0, 2),
          report);
    h_add(&h, "2025-06-18T12:00:00Z", "vd11.ch9.inspection-report", "XB", 3, "[\"*\"]", REFS(1, 3),
          report);
    h_add(&h, "2025-06-18T12:00:02Z", "vd11.ch9.inspection-report", "XA", 4, "[\"*\"]", REFS(1, 3),
          report);
    expect(&h, 7, "entry/0/1", "met", "entry_time 2025-06-02T12:00:00Z, by 2025-06-02T12:00:00Z");
    expect(&h, 7, "entry/1/1", "late", "\"due\":\"2025-06-02T12:00:00Z\"");
    expect(&h, 7, "rep/2", "met", "\"parties\":[\"XA\"],\"trigger\":2,\"entries\":[0,2,4]");
    expect(&h, 7, "rep/2", "met", "\"due\":\"2025-06-18T12:00:00Z\"");
    expect(&h, 7, "rep/3", "late", "\"due\":\"2025-06-18T12:00:01Z\"");
    /* 7/8: a refusal voids the entry deadline, and gives no report deadline. */
    h_add(&h, "2025-07-01T00:00:00Z", "vd11.ch9.inspection-request", "XC", 1, "[\"XB\"]", NOREFS,
          req);
    expect(&h, 8, "entry/7/1", "pending", NULL);
    h_add(&h, "2025-07-01T01:00:00Z", "vd11.ch9.inspection-reply", "XB", 3, "[\"XC\"]", REFS(7),
          INSP_NO);
    h_wit(&h, 9, "2025-08-01T00:00:00Z");
    expect(&h, 9, "entry/7/1", "void", "refused by XB/3, so the deadline no longer applies");
    expect_none(&h, 9, "rep/8");
    rederive(&h, 7, "entry/0/1");
    rederive(&h, 7, "entry/1/1");
    rederive(&h, 7, "rep/2");
    rederive(&h, 7, "rep/3");
    rederive(&h, 9, "entry/7/1");
    h_free(&h);
}

static const char *EVAL_RULE =
    " on vd11.ch9.evaluation-request\n reply vd11.ch9.evaluation-reply\n accept-field accept\n"
    " grounds-field grounds\n grounds-value quota\n"
    " units-from vd11.ch1.annual-exchange units valid_from\n per-units 2\n per-year 15\n"
    " per-sender-divisor 5\n unit-field unit\n per-unit 2\n per-unit-sender 1\n";

/* Entries of the quota test: one minute apart from 1 Jun 2025. */
static int64_t QT(const H *h)
{
    return T("2025-06-01T00:00:00Z") * 1000 + (int64_t)h->n * 60000;
}

/* An evaluation request from `who` to XA for unit u (referencing the AEMI, entry 0), answered
 * yes or "quota" by XA; returns the reply's index. */
static uint64_t eval_pair(H *h, uint64_t *sa, const char *who, uint64_t ser, const char *u,
                          bool yes)
{
    char rq[128];
    snprintf(rq, sizeof rq, "{\"unit\":\"%s\",\"date\":\"2025-07-08\",\"team\":3}", u);
    int r =
        (int)h_add_ms(h, QT(h), "vd11.ch9.evaluation-request", who, ser, "[\"XA\"]", REFS(0), rq);
    return h_add_ms(h, QT(h), "vd11.ch9.evaluation-reply", "XA", (*sa)++, "[\"*\"]", REFS(r),
                    yes ? "{\"accept\":true,\"grounds\":null,\"visit_start\":"
                          "\"2025-07-08T08:00:00Z\"}"
                        : "{\"accept\":false,\"grounds\":\"quota\",\"visit_start\":null}");
}

static void test_evaluation_quota(void **state)
{
    (void)state;
    H h;
    char rules[2048];
    snprintf(rules, sizeof rules,
             "treatylog/rules/v1\nrule eq quota {\n%s beyond breach\n confidence V\n}\n"
             "rule qf quota {\n%s notice vd11.ch9.quota-filled quota evaluation year\n"
             " severity advisory\n confidence V\n}\n",
             EVAL_RULE, EVAL_RULE);
    h_init(&h, rules);
    /* XA reports 5 units for 2025: quota ceil(5 / 2) = 3, a fifth of it under 1: 1 per State. */
    char aemi[4096] = "{\"valid_from\":\"2025-01-01\",\"nil\":false,\"units\":[";
    for (int i = 0; i < 5; i++) {
        size_t l = strlen(aemi);
        snprintf(aemi + l, sizeof aemi - l,
                 "%s{\"unit\":\"U%d\",\"designation\":\"d\",\"level\":\"brigade\","
                 "\"subordination\":\"s\",\"location\":[\"58.0\",\"26.0\"],\"personnel\":100,"
                 "\"holdings\":{}}",
                 i ? "," : "", i);
    }
    strcat(aemi, "],\"deployment_plans\":[],\"part\":1,\"parts\":1}");
    /* Sent twice (a resubmission of part 1): counted once. */
    h_add(&h, "2024-12-10T00:00:00Z", "vd11.ch1.annual-exchange", "XA", 1, "[\"*\"]", NOREFS, aemi);
    h_add(&h, "2024-12-11T00:00:00Z", "vd11.ch1.annual-exchange", "XA", 2, "[\"*\"]", NOREFS, aemi);
    uint64_t sa = 3; /* XA's next serial */
    char id[32];
    uint64_t r = eval_pair(&h, &sa, "XB", 1, "U1", false); /* nothing accepted yet: breach */
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)r);
    expect(&h, h.n, id, "breach", "accepted 0 of 3 in 2025 and 0 of 1 from XB");
    expect(&h, h.n, id, "breach", "1 per 2 of the 5 units XA reported for 2025, at most 15");
    expect(&h, h.n, id, "breach", "\"entries\":[0,1,2,3]");
    rederive(&h, h.n, id);
    eval_pair(&h, &sa, "XB", 2, "U1", true);      /* 1 of 3 */
    eval_pair(&h, &sa, "XC", 1, "U1", true);      /* 2 of 3; U1 twice */
    r = eval_pair(&h, &sa, "XD", 1, "U1", false); /* U1 at its cap of 2: a refusal is fine */
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)r);
    expect_none(&h, h.n, id);
    r = eval_pair(&h, &sa, "XB", 3, "U2", false); /* XB at its 1: fine */
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)r);
    expect_none(&h, h.n, id);
    r = eval_pair(&h, &sa, "XD", 2, "U2", true); /* 3 of 3: at the quota, no finding */
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)r);
    expect_none(&h, h.n, id);
    r = eval_pair(&h, &sa, "XE", 1, "U3",
                  false); /* the quota is used: fine, but no quota-filled notice */
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)r);
    expect_none(&h, h.n, id);
    snprintf(id, sizeof id, "qf/%llu", (unsigned long long)r);
    expect(&h, h.n, id, "advisory",
           "without an earlier vd11.ch9.quota-filled with quota evaluation");
    rederive(&h, h.n, id);
    r = eval_pair(&h, &sa, "XF", 1, "U3", true); /* a fourth accepted: beyond the quota */
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)r);
    expect(&h, h.n, id, "breach", "beyond its quota (already 3 of 3 in 2025)");
    expect(&h, h.n, id, "breach", "\"parties\":[\"XF\"]");
    rederive(&h, h.n, id);
    /* After XA's quota-filled notice, a refusal gets no advisory. */
    h_add_ms(&h, QT(&h), "vd11.ch9.quota-filled", "XA", sa++, "[\"*\"]", REFS((int)r),
             "{\"quota\":\"evaluation\",\"year\":2025}");
    r = eval_pair(&h, &sa, "XG", 1, "U4", false);
    snprintf(id, sizeof id, "qf/%llu", (unsigned long long)r);
    expect_none(&h, h.n, id);
    /* A receiving State with no AEMI: its quota is unknown, nothing judged. */
    int q = (int)h_add_ms(&h, QT(&h), "vd11.ch9.evaluation-request", "XA", sa++, "[\"XZ\"]",
                          REFS(0), "{\"unit\":\"Z1\",\"date\":\"2025-07-08\",\"team\":3}");
    uint64_t z = h_add_ms(&h, QT(&h), "vd11.ch9.evaluation-reply", "XZ", 1, "[\"*\"]", REFS(q),
                          "{\"accept\":false,\"grounds\":\"quota\",\"visit_start\":null}");
    snprintf(id, sizeof id, "eq/%llu", (unsigned long long)z);
    expect_none(&h, h.n, id);
    h_free(&h);
}

static void test_by_day(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule big threshold {\n on vd11.ch5.notification\n"
               " any troops_peak > 40000\n require vd11.ch8.large-activity-notice\n"
               " match activity\n by start\n by-day 11-15 2\n severity breach\n"
               " confidence V\n}\n");
#define LN                                                                                         \
    "{\"activity\":\"%s\",\"year\":2027,\"troops_peak\":50000,\"battle_tanks\":100,"               \
    "\"start\":\"2027-09-01\",\"end\":\"2027-09-20\",\"area\":{\"text\":\"a\"}}"
    char b1[512], b2[512];
    snprintf(b1, sizeof b1, LN, "L1");
    snprintf(b2, sizeof b2, LN, "L2");
#undef LN
    /* Announced on 15 Nov 2025 at 23:59:59 (in time) and on 16 Nov at 00:00:00 (late). */
    h_add(&h, "2025-11-15T23:59:59Z", "vd11.ch8.large-activity-notice", "XA", 1, "[\"*\"]", NOREFS,
          b1);
    h_add(&h, "2025-11-16T00:00:00Z", "vd11.ch8.large-activity-notice", "XA", 2, "[\"*\"]", NOREFS,
          b2);
    char *n1 = notif_body("L1", "2027-09-01", "2027-09-20", 50000, 1, false, NULL);
    char *n2 = notif_body("L2", "2027-09-01", "2027-09-20", 50000, 1, false, NULL);
    char *n3 = notif_body("L3", "2027-09-01", "2027-09-20", 40000, 1, false, NULL);
    char *n4 = notif_body("L4", "2027-09-01", "2027-09-20", 40001, 1, false, NULL);
    h_add(&h, "2027-07-01T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, n1);
    h_add(&h, "2027-07-01T00:00:00Z", "vd11.ch5.notification", "XA", 4, "[\"*\"]", NOREFS, n2);
    h_add(&h, "2027-07-01T00:00:00Z", "vd11.ch5.notification", "XA", 5, "[\"*\"]", NOREFS, n3);
    h_add(&h, "2027-07-01T00:00:00Z", "vd11.ch5.notification", "XA", 6, "[\"*\"]", NOREFS, n4);
    h_wit(&h, 6, "2027-07-01T00:00:01Z");
    expect(&h, 6, "big/2", "met", "\"due\":\"2025-11-15T23:59:59.999Z\"");
    expect(&h, 6, "big/3", "late", "\"severity\":\"breach\"");
    expect_none(&h, 6, "big/4"); /* 40000 is not > 40000 */
    expect(&h, 6, "big/5", "missed", "for activity L4");
    rederive(&h, 6, "big/2");
    rederive(&h, 6, "big/3");
    rederive(&h, 6, "big/5");
    free(n1);
    free(n2);
    free(n3);
    free(n4);
    h_free(&h);
}

static void test_open_skies_flight(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/open-skies.rules");
    const char *plan = "{\"route\":[[\"59.0\",\"24.0\"],[\"58.5\",\"26.0\"]],\"profile\":\"p\","
                       "\"start_time\":\"2025-08-06T14:00:00Z\",\"sensors\":[\"s\"]}";
    /* A report: flight end, outcome, optional extra members. */
#define OSREP(end, outcome, extra)                                                                 \
    "{\"flight_start\":\"2025-08-05T14:00:00Z\",\"flight_end\":" end ",\"route\":[],"              \
    "\"profile\":\"\",\"weather\":\"\",\"sensor_periods\":[],\"data_amount\":\"\","                \
    "\"inspection_result\":\"\",\"outcome\":\"" outcome "\",\"explanation\":\"\","                 \
    "\"departure\":\"2025-08-09T09:00:00Z\"" extra "}"
    /* ETA 4 Aug 10:00 for each notice: A (0), B (1), C (2); plans of A (3) and B (4). */
    for (int i = 0; i < 3; i++)
        h_add(&h, "2025-08-01T00:00:00Z", "os.flight-notice", "XB", (uint64_t)i + 1, "[\"*\"]",
              NOREFS, FLIGHT);
    h_add(&h, "2025-08-04T12:00:00Z", "os.mission-plan", "XB", 4, "[\"XA\"]", REFS(0), plan);
    h_add(&h, "2025-08-04T12:00:00Z", "os.mission-plan", "XB", 5, "[\"XA\"]", REFS(1), plan);
    /* 5: A completed exactly 96 h after the ETA: no window finding; within the report deadline
     * (ETA + 288 h = 16 Aug 10:00). */
    h_add(&h, "2025-08-10T00:00:00Z", "os.mission-report", "XB", 6, "[\"*\"]", REFS(0, 3),
          OSREP("\"2025-08-08T10:00:00Z\"", "flown", ""));
    /* Prohibited with the observers exactly 24 h late (6: advisory) or a second more (7: the
     * ground holds); declined exactly 8 h after the plan (8: advisory) or a second more (9). */
    h_add(&h, "2025-08-10T00:00:00Z", "os.mission-report", "XB", 7, "[\"*\"]", REFS(0, 3),
          OSREP("null", "prohibited", ",\"arrival\":\"2025-08-05T10:00:00Z\""));
    h_add(&h, "2025-08-10T00:00:00Z", "os.mission-report", "XB", 8, "[\"*\"]", REFS(0, 3),
          OSREP("null", "prohibited", ",\"arrival\":\"2025-08-05T10:00:01Z\""));
    h_add(&h, "2025-08-10T00:00:00Z", "os.mission-report", "XB", 9, "[\"*\"]", REFS(0, 3),
          OSREP("null", "declined", ",\"declined_at\":\"2025-08-04T20:00:00Z\""));
    h_add(&h, "2025-08-10T00:00:00Z", "os.mission-report", "XB", 10, "[\"*\"]", REFS(0, 3),
          OSREP("null", "declined", ",\"declined_at\":\"2025-08-04T20:00:01Z\""));
    /* 10: B one second over 96 h: advisory; its report a second after its deadline: late. */
    h_add(&h, "2025-08-16T10:00:01Z", "os.mission-report", "XB", 11, "[\"*\"]", REFS(1, 4),
          OSREP("\"2025-08-08T10:00:01Z\"", "flown", ""));
    h_wit(&h, 11, "2025-08-16T10:00:01Z");
    expect(&h, 11, "os.report-due/0", "met", "\"entries\":[0,5],\"due\":\"2025-08-16T10:00:00Z\"");
    expect_none(&h, 11, "os.window-96h/5");
    expect(&h, 11, "os.window-96h/10", "advisory", "more than 96 hours after eta_entry of XB/2");
    expect(&h, 11, "os.window-96h/10", "advisory", "\"entries\":[1,10]");
    expect(&h, 11, "os.report-due/1", "late", NULL);
    expect(&h, 11, "os.late-arrival/6", "advisory", "not more than 24 hours after eta_entry");
    expect_none(&h, 11, "os.late-arrival/7");
    expect(&h, 11, "os.plan-agree-8h/8", "advisory", "not more than 8 hours after logged of XB/4");
    expect_none(&h, 11, "os.plan-agree-8h/9");
    /* C has no report by ETA + 288 h: missed once witnessed past. */
    expect(&h, 11, "os.report-due/2", "missed", "no os.mission-report from XB referencing XB/3");
    rederive(&h, 11, "os.report-due/0");
    rederive(&h, 11, "os.report-due/1");
    rederive(&h, 11, "os.report-due/2");
    rederive(&h, 11, "os.window-96h/10");
    rederive(&h, 11, "os.late-arrival/6");
    rederive(&h, 11, "os.plan-agree-8h/8");
#undef OSREP
    h_free(&h);
}

static char *linked_body(const char *act, const char *start, const char *end, int troops,
                         const char *lat, const char *lon)
{
    char *b = malloc(2048);
    assert_non_null(b);
    snprintf(b, 2048,
             "{\"activity\":\"%s\",\"designation\":\"D\",\"purpose\":\"p\",\"participants\":["
             "\"XA\"],\"command_level\":\"brigade\",\"kind\":\"land\",\"without_advance_notice\":"
             "false,\"start\":\"%s\",\"end\":\"%s\",\"area\":{\"polygon\":[[\"%s\",\"%s\"],["
             "\"%s\",\"%s\"],[\"%s\",\"%s\"]]},\"troops_peak\":%d,\"troops_total\":%d,"
             "\"battle_tanks\":10,\"acv\":10,\"artillery\":10,\"in_calendar\":true}",
             act, start, end, lat, lon, lat, lon, lat, lon, troops, troops);
    return b;
}

static void test_linked(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule ln linked {\n on vd11.ch5.notification\n"
               " any troops_peak >= 13000\n distance-km 300\n overlap-days 1\n start start\n"
               " end end\n area area\n confidence P\n}\n");
    /* Points on the meridian 25 E: 1 degree of latitude is 111.2 km. */
    char *b[6];
    b[0] = linked_body("K0", "2025-05-01", "2025-05-10", 7000, "58.0", "25.0");
    b[1] = linked_body("K1", "2025-05-10", "2025-05-20", 6000, "59.0", "25.0"); /* 1 day, 111 km */
    b[2] =
        linked_body("K2", "2025-05-11", "2025-05-20", 6999, "58.0", "25.0"); /* no overlap with 0 */
    b[3] = linked_body("K3", "2025-05-01", "2025-05-10", 6000, "61.0", "25.0");  /* 334 km from 0 */
    b[4] = linked_body("K4", "2025-05-01", "2025-05-10", 13000, "58.0", "25.0"); /* over alone */
    b[5] = linked_body("K5", "2025-05-05", "2025-05-06", 5999, "58.5", "25.0");
    for (int i = 0; i < 6; i++) {
        h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", (uint64_t)i + 1, "[\"*\"]",
              NOREFS, b[i]);
        free(b[i]);
    }
    /* 1 with 0: 13000 >= 13000 (the threshold exactly). */
    expect(&h, 6, "ln/1", "advisory", "sum of troops_peak 13000 >= 13000");
    expect(&h, 6, "ln/1", "advisory", "\"entries\":[0,1]");
    /* 2 overlaps 1 only: 6999 + 6000 = 12999, the threshold minus one. */
    expect_none(&h, 6, "ln/2");
    /* 3 is 334 km from 0, 222 from 1 (no common day): nothing. 4 crosses alone. */
    expect_none(&h, 6, "ln/3");
    expect_none(&h, 6, "ln/4");
    /* 5 overlaps 0 (and 3 at 278 km): 5999 + 7000 + 6000 = 18999. */
    expect(&h, 6, "ln/5", "advisory", "\"entries\":[0,3,5]");
    expect(&h, 6, "ln/5", "advisory", "sum of troops_peak 18999 >= 13000");
    /* The distance at its bound (1 degree of latitude = 111.195 km): 7 is 299.1 km from 6
     * (linked: 13000); 8 is 301.3 km from 6 and 2.2 km from 7 (6000 + 6000 only). */
    const char *ll[][2] = {{"58.0", "7000"}, {"60.69", "6000"}, {"60.71", "6000"}};
    for (int i = 0; i < 3; i++) {
        char act[8];
        snprintf(act, sizeof act, "K%d", 6 + i);
        char *x = linked_body(act, "2025-07-01", "2025-07-05", atoi(ll[i][1]), ll[i][0], "25.0");
        h_add(&h, "2025-03-02T00:00:00Z", "vd11.ch5.notification", "XA", (uint64_t)(7 + i),
              "[\"*\"]", NOREFS, x);
        free(x);
    }
    expect(&h, 9, "ln/7", "advisory", "\"entries\":[6,7]");
    expect_none(&h, 9, "ln/8");
    rederive(&h, 6, "ln/1");
    rederive(&h, 6, "ln/5");
    h_free(&h);
}

static void test_unreported_below(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\nrule air declared-vs-observed {\n"
               " on vd11.ch6.observation-report\n declared vd11.ch5.notification\n"
               " pair aircraft_sorties observed.aircraft_sorties\n"
               " threshold aircraft_sorties >= 200\n unreported below\n confidence V\n}\n");
    char *n0 = notif_body("S0", "2025-05-01", "2025-05-02", 5000, 1, false, NULL);
    char *n1 = notif_body("S1", "2025-05-01", "2025-05-02", 5000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, n0);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, n1);
#define AREP                                                                                       \
    "{\"activity\":\"%s\",\"observed_from\":\"2025-05-01T08:00:00Z\",\"observed_to\":"             \
    "\"2025-05-02T08:00:00Z\",\"observed\":{\"aircraft_sorties\":%d},\"access_given\":true}"
    char r0[512], r1[512];
    snprintf(r0, sizeof r0, AREP, "S0", 200);
    snprintf(r1, sizeof r1, AREP, "S1", 199);
#undef AREP
    h_add(&h, "2025-05-03T00:00:00Z", "vd11.ch6.observation-report", "XB", 1, "[\"*\"]", REFS(0, 1),
          r0);
    h_add(&h, "2025-05-03T00:00:00Z", "vd11.ch6.observation-report", "XB", 2, "[\"*\"]", REFS(0, 1),
          r1);
    expect(&h, 4, "air/2", "breach",
           "observed.aircraft_sorties 200 >= 200 (declared: not reported)");
    expect(&h, 4, "air/2", "breach", "\"parties\":[\"XA\"]");
    expect_none(&h, 4, "air/3");
    rederive(&h, 4, "air/2");
    free(n0);
    free(n1);
    h_free(&h);
}

static void test_threshold_each(void **state)
{
    (void)state;
    H h;
    h_init_file(&h, "rules/vd11.rules");
    /* XA's calendar: a landing of 3000 (the threshold), one of 2999 (minus one), a land
     * activity of 3000 (not a landing, under 9000) and a land one of 9000. */
#define CAL_ACT(id, kind, troops)                                                                  \
    "{\"activity\":\"" id "\",\"kind\":\"" kind "\",\"purpose\":\"p\",\"participants\":[\"XA\"],"  \
    "\"area\":{\"text\":\"a\"},\"start\":\"2025-06-01\",\"end\":\"2025-06-05\",\"troops_"          \
    "peak\":" troops ",\"battle_tanks\":1,\"acv\":1,\"artillery\":1}"
    h_add(
        &h, "2024-11-01T00:00:00Z", "vd11.ch7.calendar", "XA", 1, "[\"*\"]", NOREFS,
        "{\"year\":2025,\"nil\":false,\"activities\":[" CAL_ACT(
            "C1", "amphibious",
            "3000") "," CAL_ACT("C2", "airborne",
                                "2999") "," CAL_ACT("C3", "land", "3000") "," CAL_ACT("C4", "land",
                                                                                      "9000") "]}");
#undef CAL_ACT
    /* C4 notified on the day it starts, at 00:00:00 (in time by "by start"). */
    char *b = notif_body("C4", "2025-06-01", "2025-06-05", 9000, 1, false, NULL);
    h_add(&h, "2025-06-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b);
    free(b);
    h_wit(&h, 2, "2025-06-01T00:00:01Z");
    expect(&h, 2, "vd11.ch5.landing-threshold/0/1", "missed",
           "vd11.ch5.notification for activity C1, reported by XA/1 (troops_peak 3000 >= 3000)");
    expect(&h, 2, "vd11.ch5.landing-threshold/0/1", "missed", "\"severity\":\"breach\"");
    expect(&h, 2, "vd11.ch5.landing-threshold/0/1", "missed", "\"parties\":[\"XA\"]");
    expect_none(&h, 2, "vd11.ch5.landing-threshold/0/2");
    expect_none(&h, 2, "vd11.ch5.landing-threshold/0/3");
    expect_none(&h, 2, "vd11.ch5.notify-threshold.calendar/0/3");
    expect(&h, 2, "vd11.ch5.notify-threshold.calendar/0/4", "met", "\"entries\":[0,1]");
    rederive(&h, 2, "vd11.ch5.landing-threshold/0/1");
    rederive(&h, 2, "vd11.ch5.notify-threshold.calendar/0/4");
    h_free(&h);
}

static void test_aggregate_more(void **state)
{
    (void)state;
    H h;
    h_init(&h, "treatylog/rules/v1\n"
               "rule cc concurrency {\n on vd11.ch5.notification\n any troops_peak > 13000\n"
               " max 1\n start start\n end end\n aggregate per_state\n confidence V\n}\n"
               "rule ps threshold {\n on vd11.ch5.notification\n any troops_peak >= 13000\n"
               " require vd11.ch6.observation-invitation\n aggregate per_state\n"
               " amended-by generic.correction amended\n confidence V\n}\n");
    char *b = notif_body("P0", "2025-06-01", "2025-06-05", 28000, 1, false,
                         ",\"by_state\":{\"XA\":{\"troops_peak\":14000},"
                         "\"XB\":{\"troops_peak\":14000}}");
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 1, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("P1", "2025-06-03", "2025-06-04", 14000, 1, false, NULL);
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XB", 1, "[\"*\"]", NOREFS, b);
    free(b);
    b = notif_body("P2", "2025-06-01", "2025-06-05", 14100, 1, false,
                   ",\"by_state\":{\"XA\":{\"troops_peak\":100},\"XC\":{\"troops_peak\":14000}}");
    h_add(&h, "2025-03-01T00:00:00Z", "vd11.ch5.notification", "XA", 2, "[\"*\"]", NOREFS, b);
    free(b);
    /* XB's part of P0 and its own P1 overlap on 3 June: two at once. */
    expect_none(&h, 3, "cc/0/1");
    expect_none(&h, 3, "cc/0/2");
    expect(&h, 3, "cc/1", "breach", "XB: 2 such activities at once on 2025-06-03");
    expect(&h, 3, "cc/1", "breach", "\"entries\":[0,1]");
    expect_none(&h, 3, "cc/2/1"); /* XA's 100 does not count; XC's first */
    expect_none(&h, 3, "cc/2/2");
    rederive(&h, 3, "cc/1");
    /* Threshold per state with amendments: P3 under it for each participant; an amendment of
     * the by_state puts XA at exactly 13000 (a finding /1), another back under it (void). */
    b = notif_body("P3", "2025-09-01", "2025-09-05", 14000, 1, false,
                   ",\"by_state\":{\"XA\":{\"troops_peak\":12000},\"XB\":{\"troops_peak\":2000}}");
    h_add(&h, "2025-03-02T00:00:00Z", "vd11.ch5.notification", "XA", 3, "[\"*\"]", NOREFS, b);
    free(b);
    expect_none(&h, 4, "ps/3");
    h_add(&h, "2025-03-03T00:00:00Z", "generic.correction", "XA", 4, "[\"*\"]", REFS(3),
          "{\"action\":\"amend\",\"reason\":\"r\",\"amended\":{\"by_state\":{\"XA\":"
          "{\"troops_peak\":13000},\"XB\":{\"troops_peak\":1000}}}}");
    expect(&h, 5, "ps/3/1", "pending", "troops_peak 13000 >= 13000 for XA)");
    /* An amendment of the whole activity's count alone leaves the participants' counts. */
    h_add(&h, "2025-03-04T00:00:00Z", "generic.correction", "XA", 5, "[\"*\"]", REFS(3),
          "{\"action\":\"amend\",\"reason\":\"r\",\"amended\":{\"troops_peak\":100}}");
    expect(&h, 6, "ps/3/1", "pending", NULL);
    h_add(&h, "2025-03-05T00:00:00Z", "generic.correction", "XA", 6, "[\"*\"]", REFS(3),
          "{\"action\":\"amend\",\"reason\":\"r\",\"amended\":{\"by_state\":{\"XA\":"
          "{\"troops_peak\":12999}}}}");
    expect(&h, 7, "ps/3/1", "void", "amended by XA/6 so that the rule no longer applies");
    h_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_boundary),
        cmocka_unit_test(test_reply_wrong_party_or_ref),
        cmocka_unit_test(test_missed_only_when_witnessed_past),
        cmocka_unit_test(test_missed_then_late),
        cmocka_unit_test(test_time_bounds),
        cmocka_unit_test(test_void_on_withdraw),
        cmocka_unit_test(test_advance_notice),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_peak_from_stages),
        cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_near_threshold),
        cmocka_unit_test(test_declared_vs_observed),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_due_date),
        cmocka_unit_test(test_serial_and_skew),
        cmocka_unit_test(test_operator_time),
        cmocka_unit_test(test_open_skies),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_amendments),
        cmocka_unit_test(test_span_limit_when),
        cmocka_unit_test(test_threshold_by_activity),
        cmocka_unit_test(test_per_addressee_and_when),
        cmocka_unit_test(test_incident_involved),
        cmocka_unit_test(test_timeline_2022),
        cmocka_unit_test(test_timeline_meeting_scheduled_late),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_determinism_random),
        cmocka_unit_test(test_findings_pick),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_aggregate),
        cmocka_unit_test(test_anchor_receipt),
        cmocka_unit_test(test_entry_and_report_due),
        cmocka_unit_test(test_evaluation_quota),
        cmocka_unit_test(test_by_day),
        cmocka_unit_test(test_open_skies_flight),
        cmocka_unit_test(test_linked),
        cmocka_unit_test(test_unreported_below),
        cmocka_unit_test(test_threshold_each),
        cmocka_unit_test(test_aggregate_more),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
