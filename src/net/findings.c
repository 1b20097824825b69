/* findings.c - the live findings of serve (findings.h). */
#include "findings.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httputil.h"
#include "treatylog/evidence.h"
#include "treatylog/follow.h"
#include "treatylog/log.h"
#include "treatylog/text.h"

struct tl_live_findings {
    tl_follow *fo;
    tl_seq *seq;
    const char *ruleset_name;
    uint8_t sha[32];
    pthread_mutex_t mu; /* live, seen */
    bool live;
    pthread_t th;
    bool thread;
    _Atomic bool stop;
    char last_error[TL_DIAG_LEN];
    char **seen; /* "id state" reported by tl_live_findings_news */
    size_t nseen, capseen;
    tl_findings_src src;
};

/* ---- hooks ---- */

static void on_integrated(void *ctx, uint64_t first, const uint8_t *const *entries,
                          const size_t *lens, size_t n)
{
    tl_live_findings *f = ctx;
    pthread_mutex_lock(&f->mu);
    bool live = f->live;
    pthread_mutex_unlock(&f->mu);
    if (!live)
        return; /* the catch-up thread reads them from the log */
    tl_diag d;
    if (tl_follow_entries(f->fo, first, entries, lens, n, &d) != TL_OK)
        fprintf(stderr, "treatylog: rules: %s\n", d.msg);
}

static void on_witnessed(void *ctx, uint64_t size, const char *note, size_t len)
{
    tl_live_findings *f = ctx;
    pthread_mutex_lock(&f->mu);
    bool live = f->live;
    pthread_mutex_unlock(&f->mu);
    if (!live)
        return;
    tl_diag d;
    if (tl_follow_witnessed(f->fo, size, note, len, &d) != TL_OK)
        return; /* one the policy rejects is skipped */
}

/* ---- catch-up ---- */

/* A page of the witnessed archive, copied out of the archive's callback: the follower is
 * fed after the archive's lock is released (the evidence builder takes them the other way
 * round). */
#define WL_PAGE 256
typedef struct wl_ctx {
    size_t n;
    uint64_t size[WL_PAGE];
    char *note[WL_PAGE], *last[WL_PAGE]; /* first archived note; the latest, if another */
    size_t len[WL_PAGE], last_len[WL_PAGE];
} wl_ctx;

static void keep_witnessed(void *ctx, uint64_t size, const char *first, size_t first_len,
                           const char *last, size_t last_len)
{
    wl_ctx *w = ctx;
    if (w->n == WL_PAGE)
        return;
    w->size[w->n] = size;
    w->note[w->n] = strndup(first, first_len);
    w->len[w->n] = first_len;
    bool other = last_len != first_len || memcmp(last, first, first_len) != 0;
    w->last[w->n] = other ? strndup(last, last_len) : NULL;
    w->last_len[w->n] = last_len;
    w->n++;
}

static tl_err feed_archive(tl_live_findings *f, uint64_t *from, tl_diag *d)
{
    wl_ctx *w = calloc(1, sizeof *w);
    if (!w)
        return tl_fail(d, TL_ERR_NOMEM, "rules: witnessed");
    tl_err e = TL_OK;
    for (;;) {
        w->n = 0;
        e = tl_seq_witnessed_list(f->seq, *from, WL_PAGE, keep_witnessed, w, d);
        for (size_t i = 0; i < w->n; i++) {
            tl_diag wd;
            if (e == TL_OK && w->note[i] &&
                tl_follow_witnessed(f->fo, w->size[i], w->note[i], w->len[i], &wd) != TL_OK)
                wd.msg[0] = '\0'; /* one the policy rejects is skipped */
            if (e == TL_OK && w->last[i] &&
                tl_follow_witnessed(f->fo, w->size[i], w->last[i], w->last_len[i], &wd) != TL_OK)
                wd.msg[0] = '\0';
            free(w->note[i]);
            free(w->last[i]);
            *from = w->size[i] + 1;
        }
        if (e != TL_OK || w->n < WL_PAGE)
            break;
    }
    free(w);
    return e;
}

static void *catch_up(void *arg)
{
    tl_live_findings *f = arg;
    tl_reader *rd = NULL;
    tl_diag d = {{0}};
    uint64_t wfrom = 0;
    tl_err e = tl_reader_new(&rd, tl_seq_store(f->seq), tl_seq_size(f->seq), &d);
    while (e == TL_OK && !atomic_load(&f->stop)) {
        e = feed_archive(f, &wfrom, &d);
        uint64_t size = tl_seq_size(f->seq);
        tl_reader_set_size(rd, size);
        for (uint64_t i = tl_follow_size(f->fo); i < size && e == TL_OK; i++) {
            if (atomic_load(&f->stop))
                break;
            uint8_t *ent = NULL;
            size_t len = 0;
            e = tl_reader_entry(rd, i, &ent, &len, &d);
            if (e == TL_OK) {
                const uint8_t *ep = ent;
                e = tl_follow_entries(f->fo, i, &ep, &len, 1, &d);
            }
            free(ent);
        }
        if (e != TL_OK)
            break;
        pthread_mutex_lock(&f->mu);
        if (tl_follow_size(f->fo) >= tl_seq_size(f->seq)) {
            f->live = true;
            pthread_mutex_unlock(&f->mu);
            e = feed_archive(f, &wfrom, &d); /* what was witnessed meanwhile */
            break;
        }
        pthread_mutex_unlock(&f->mu);
    }
    if (e != TL_OK) {
        pthread_mutex_lock(&f->mu);
        snprintf(f->last_error, sizeof f->last_error, "%s", d.msg);
        pthread_mutex_unlock(&f->mu);
    }
    tl_reader_free(rd);
    return NULL;
}

/* ---- the HTTP source ---- */

static unsigned msg(char **body, size_t *len, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static unsigned msg(char **body, size_t *len, unsigned status, const char *fmt, ...)
{
    char buf[TL_DIAG_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(buf));
    *body = json_dumps(o, JSON_COMPACT);
    *len = *body ? strlen(*body) : 0;
    json_decref(o);
    return status;
}

/* 0 if ready, else a 503 answer. */
static unsigned not_ready(tl_live_findings *f, char **body, size_t *len)
{
    pthread_mutex_lock(&f->mu);
    bool live = f->live;
    char err[TL_DIAG_LEN];
    snprintf(err, sizeof err, "%s", f->last_error);
    pthread_mutex_unlock(&f->mu);
    if (err[0])
        return msg(body, len, 500, "the rules stopped: %s", err);
    if (!live)
        return msg(body, len, 503, "evaluating the log: %llu of %llu entries",
                   (unsigned long long)tl_follow_size(f->fo),
                   (unsigned long long)tl_seq_size(f->seq));
    return 0;
}

/* Paging of GET /v1/findings: findings come in the engine's order (trigger index, rule id in
 * byte order, sub-number), so a finding's id "<rule>/<trigger>[/<n>]" is its place in the
 * list, and the cursor `after` is the id of the last finding of the previous page. The cursor
 * is compared by key, not looked up: it stays valid whatever appears or changes meanwhile. */
#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX     1000
#define LIST_ID_MAX        (TL_RULE_ID_MAX + 48)

typedef struct list_key {
    uint64_t trigger;
    const char *rule; /* not NUL-terminated: rule[0..rule_len) */
    size_t rule_len;
    uint64_t n; /* 0: no sub-number */
} list_key;

/* Parses a finding id into *k (pointing into id). False unless it is "<rule>/<trigger>" or
 * "<rule>/<trigger>/<n>": rule 1 to 64 bytes of [a-z0-9.-] starting with a letter or digit
 * (docs/rules.md), trigger and n canonical decimals, n from 1 to 2^32-1. */
static bool list_key_parse(const char *id, list_key *k)
{
    const char *s1 = strchr(id, '/');
    if (!s1 || s1 == id || (size_t)(s1 - id) > TL_RULE_ID_MAX)
        return false;
    for (const char *p = id; p < s1; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  (p > id && (*p == '.' || *p == '-'));
        if (!ok)
            return false;
    }
    const char *t = s1 + 1, *s2 = strchr(t, '/');
    size_t tlen = s2 ? (size_t)(s2 - t) : strlen(t);
    if (tl_parse_u64(&k->trigger, t, tlen) != TL_OK)
        return false;
    k->n = 0;
    if (s2 &&
        (tl_parse_u64(&k->n, s2 + 1, strlen(s2 + 1)) != TL_OK || k->n == 0 || k->n > UINT32_MAX))
        return false;
    k->rule = id;
    k->rule_len = (size_t)(s1 - id);
    return true;
}

/* <0, 0, >0 as a comes before, at or after b in the listing order. */
static int list_key_cmp(const list_key *a, const list_key *b)
{
    if (a->trigger != b->trigger)
        return a->trigger < b->trigger ? -1 : 1;
    size_t m = a->rule_len < b->rule_len ? a->rule_len : b->rule_len;
    int c = memcmp(a->rule, b->rule, m);
    if (c)
        return c < 0 ? -1 : 1;
    if (a->rule_len != b->rule_len)
        return a->rule_len < b->rule_len ? -1 : 1;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return 0;
}

typedef struct list_ctx {
    const char *state, *rule, *party;
    tl_sbuf out;
    size_t n;
    json_t *counts;
    /* paging (the list only) */
    uint64_t limit, from, to; /* trigger window from..to, inclusive */
    bool has_after;
    list_key after;
    bool more, stopped, bad;
    char last[LIST_ID_MAX]; /* the id of the last finding listed */
} list_ctx;

static bool party_in(const tl_finding *x, const char *party)
{
    for (size_t i = 0; i < x->nparties; i++)
        if (strcmp(x->parties[i], party) == 0)
            return true;
    return false;
}

/* Which findings a list (or the counts) takes, from their key alone: 1 take, 0 pass by, -1
 * stop. Nothing passed by is formatted (tl_engine_findings_pick). */
static int list_pick(void *ctx, const tl_finding *x)
{
    list_ctx *c = ctx;
    if (c->counts) {
        json_t *v = json_object_get(c->counts, x->state_name);
        json_object_set_new(c->counts, x->state_name,
                            json_integer(v ? json_integer_value(v) + 1 : 1));
        return 0;
    }
    if (x->trigger < c->from)
        return 0;
    if (x->trigger > c->to) { /* in trigger order: nothing more can match */
        c->stopped = true;
        return -1;
    }
    if (c->has_after && x->trigger < c->after.trigger)
        return 0;
    if (c->has_after && x->trigger == c->after.trigger) {
        list_key k;
        if (!list_key_parse(x->id, &k)) { /* not an id of the engine's: a bug */
            c->bad = c->stopped = true;
            return -1;
        }
        if (list_key_cmp(&k, &c->after) <= 0)
            return 0;
    }
    if ((c->state && strcmp(c->state, x->state_name) != 0) ||
        (c->rule && strcmp(c->rule, x->rule) != 0) || (c->party && !party_in(x, c->party)))
        return 0;
    if (c->n == c->limit) { /* one more than the page: there is a next page */
        c->more = c->stopped = true;
        return -1;
    }
    return 1;
}

static int list_one(void *ctx, const tl_finding *x)
{
    list_ctx *c = ctx;
    if (c->n++)
        tl_sbuf_printf(&c->out, ",");
    tl_sbuf_printf(&c->out, "%.*s", (int)x->json_len, x->json);
    snprintf(c->last, sizeof c->last, "%s", x->id);
    return 0;
}

/* The paging parameters of a list request into c; 0, or a 400 answer naming the parameter. */
static unsigned list_args(list_ctx *c, tl_api_arg_fn arg, void *argctx, char **body, size_t *len)
{
    const char *limit = arg(argctx, "limit"), *after = arg(argctx, "after");
    const char *from = arg(argctx, "from"), *to = arg(argctx, "to");
    c->limit = LIST_LIMIT_DEFAULT;
    if (limit && (tl_parse_u64(&c->limit, limit, strlen(limit)) != TL_OK || c->limit < 1 ||
                  c->limit > LIST_LIMIT_MAX))
        return msg(body, len, 400, "limit: must be a number from 1 to %d", LIST_LIMIT_MAX);
    if (after) {
        if (!list_key_parse(after, &c->after))
            return msg(body, len, 400,
                       "after: must be the next of the previous page (a finding id: "
                       "<rule>/<trigger>[/<n>])");
        c->has_after = true;
    }
    c->from = 0;
    c->to = UINT64_MAX;
    if (from && tl_parse_u64(&c->from, from, strlen(from)) != TL_OK)
        return msg(body, len, 400, "from: must be an entry index (a decimal number)");
    if (to && tl_parse_u64(&c->to, to, strlen(to)) != TL_OK)
        return msg(body, len, 400, "to: must be an entry index (a decimal number)");
    if (c->to < c->from)
        return msg(body, len, 400, "to: must not be below from");
    return 0;
}

static unsigned src_list(void *ctx, tl_api_arg_fn arg, void *argctx, char **body, size_t *len)
{
    tl_live_findings *f = ctx;
    list_ctx c = {
        .state = arg(argctx, "state"), .rule = arg(argctx, "rule"), .party = arg(argctx, "party")};
    unsigned st = list_args(&c, arg, argctx, body, len);
    if (st)
        return st;
    st = not_ready(f, body, len);
    if (st)
        return st;
    uint64_t size = tl_follow_witnessed_size(f->fo);
    tl_sbuf_printf(&c.out, "{\"findings\":[");
    tl_err e = size ? tl_follow_findings_pick(f->fo, size, list_pick, list_one, &c) : TL_OK;
    if (e == TL_ERR_CONFLICT && c.stopped) /* list_one stopped the listing */
        e = TL_OK;
    if (c.more)
        tl_sbuf_printf(&c.out, "],\"next\":\"%s\",", c.last);
    else
        tl_sbuf_printf(&c.out, "],\"next\":null,");
    tl_sbuf_printf(&c.out, "\"at\":{\"size\":%llu}}", (unsigned long long)size);
    if (e != TL_OK || c.bad || c.out.oom) {
        free(c.out.p);
        return msg(body, len, 500, "listing findings failed");
    }
    *body = c.out.p;
    *len = c.out.len;
    return 200;
}

static char *src_counts(void *ctx)
{
    tl_live_findings *f = ctx;
    char *b = NULL;
    size_t l = 0;
    if (not_ready(f, &b, &l)) {
        free(b);
        return NULL;
    }
    list_ctx c = {0};
    c.counts = json_object();
    uint64_t size = tl_follow_witnessed_size(f->fo);
    if (size)
        if (tl_follow_findings_pick(f->fo, size, list_pick, list_one, &c) != TL_OK)
            json_object_clear(c.counts);
    char *s = json_dumps(c.counts, JSON_COMPACT);
    json_decref(c.counts);
    return s;
}

/* Evidence: the witnessed checkpoints around an entry come from the sequencer's archive. */
typedef struct near_ctx {
    uint64_t size;
    char *note;
    size_t len;
} near_ctx;

static void keep_note(void *ctx, uint64_t size, const char *first, size_t first_len,
                      const char *last, size_t last_len)
{
    (void)last, (void)last_len;
    near_ctx *n = ctx;
    n->size = size;
    n->note = malloc(first_len + 1);
    if (n->note) {
        memcpy(n->note, first, first_len);
        n->note[first_len] = '\0';
        n->len = first_len;
    }
}

typedef struct bounds2 {
    near_ctx below, above;
} bounds2;

/* Below an entry, the latest note of that size (the rules' "after" bound); above it, the
 * first (their "before" bound). */
static void keep_below(void *ctx, uint64_t size, const char *first, size_t first_len,
                       const char *last, size_t last_len)
{
    (void)first, (void)first_len;
    keep_note(&((bounds2 *)ctx)->below, size, last, last_len, NULL, 0);
}

static void keep_above(void *ctx, uint64_t size, const char *first, size_t first_len,
                       const char *last, size_t last_len)
{
    keep_note(&((bounds2 *)ctx)->above, size, first, first_len, last, last_len);
}

typedef struct ev_ctx {
    tl_live_findings *f;
    uint64_t top;
} ev_ctx;

static tl_err near(void *ctx, uint64_t index, uint64_t *below, char **below_note, size_t *below_len,
                   uint64_t *above, char **above_note, size_t *above_len, tl_diag *d)
{
    ev_ctx *c = ctx;
    bounds2 b = {{0}, {0}};
    tl_err e = tl_seq_witnessed_bounds(c->f->seq, index, keep_below, keep_above, &b, d);
    if (b.above.note && b.above.size > c->top) { /* past the evidence's checkpoint */
        free(b.above.note);
        b.above = (near_ctx){0};
    }
    *below = b.below.size;
    *below_note = b.below.note;
    *below_len = b.below.len;
    *above = b.above.size;
    *above_note = b.above.note;
    *above_len = b.above.len;
    return e;
}

typedef struct find1 {
    const char *id;
    const tl_evidence_src *src;
    const uint64_t *regs;
    size_t nregs;
    char *out;
    size_t len;
    tl_err e;
    tl_diag d;
    bool found;
} find1;

static int build_one(void *ctx, const tl_finding *x)
{
    find1 *c = ctx;
    if (strcmp(x->id, c->id) != 0)
        return 0;
    c->found = true;
    c->e = tl_evidence_build(c->src, x, c->regs, c->nregs, &c->out, &c->len, &c->d);
    return 1;
}

/* Only the finding asked for is formatted. */
static int pick_id(void *ctx, const tl_finding *x)
{
    const find1 *c = ctx;
    return strcmp(x->id, c->id) == 0;
}

static unsigned src_evidence(void *ctx, const char *id, char **body, size_t *len)
{
    tl_live_findings *f = ctx;
    unsigned st = not_ready(f, body, len);
    if (st)
        return st;
    /* The note the rules applied last: its time is the findings' "now". */
    uint64_t size = 0;
    near_ctx top = {0};
    if (tl_follow_witnessed_note(f->fo, &size, &top.note, &top.len) != TL_OK || !size) {
        free(top.note);
        return msg(body, len, 404, "no witnessed checkpoint yet, so no finding");
    }
    top.size = size;
    tl_diag d = {{0}};
    tl_err e = TL_OK;
    tl_reader *rd = NULL;
    if (e == TL_OK)
        e = tl_reader_new(&rd, tl_seq_store(f->seq), size, &d);
    uint64_t *regs = NULL;
    size_t nregs = 0;
    if (e == TL_OK)
        e = tl_follow_registry_entries(f->fo, &regs, &nregs);
    find1 c = {.id = id, .regs = regs, .nregs = nregs};
    ev_ctx ec = {f, size};
    tl_evidence_src src = {.reader = rd,
                           .near = near,
                           .ctx = &ec,
                           .checkpoint = top.note,
                           .checkpoint_len = top.len,
                           .size = size,
                           .ruleset_name = f->ruleset_name};
    memcpy(src.ruleset_sha256, f->sha, 32);
    c.src = &src;
    if (e == TL_OK)
        e = tl_follow_findings_pick(f->fo, size, pick_id, build_one, &c);
    if (e == TL_ERR_CONFLICT && c.found)
        e = TL_OK; /* build_one stopped the listing at the finding */
    tl_reader_free(rd);
    free(regs);
    free(top.note);
    if (e != TL_OK)
        return msg(body, len, e == TL_ERR_NOTFOUND ? 404 : 500, "evidence: %s", d.msg);
    if (!c.found)
        return msg(body, len, 404, "no finding %s at size %llu", id, (unsigned long long)size);
    if (c.e != TL_OK)
        return msg(body, len, 500, "evidence: %s", c.d.msg);
    *body = c.out;
    *len = c.len;
    return 200;
}

/* ---- life ---- */

tl_err tl_live_findings_new(tl_live_findings **out, const tl_ruleset *rs, const char *ruleset_name,
                            const uint8_t ruleset_sha256[32], const tl_schemas *schemas,
                            const tl_vkey *op_key, const tl_policy *policy, tl_diag *d)
{
    tl_live_findings *f = calloc(1, sizeof *f);
    if (!f)
        return tl_fail(d, TL_ERR_NOMEM, "findings");
    tl_err e = tl_follow_new(&f->fo, rs, schemas, op_key, policy, d);
    if (e != TL_OK) {
        free(f);
        return e;
    }
    f->ruleset_name = ruleset_name;
    memcpy(f->sha, ruleset_sha256, 32);
    pthread_mutex_init(&f->mu, NULL);
    f->src = (tl_findings_src){src_list, src_evidence, src_counts, f};
    *out = f;
    return TL_OK;
}

void tl_live_findings_hooks(tl_live_findings *f, tl_treaty *t, tl_seq_config *cfg)
{
    tl_treaty_chain(t, on_integrated, f);
    cfg->witnessed = on_witnessed;
    cfg->witnessed_ctx = f;
}

tl_err tl_live_findings_start(tl_live_findings *f, tl_seq *seq, tl_diag *d)
{
    f->seq = seq;
    if (pthread_create(&f->th, NULL, catch_up, f) != 0)
        return tl_fail(d, TL_ERR_INTERNAL, "cannot start the rules thread");
    f->thread = true;
    return TL_OK;
}

const tl_findings_src *tl_live_findings_src(tl_live_findings *f)
{
    return &f->src;
}

typedef struct news_ctx {
    tl_live_findings *f;
    void (*fn)(void *, const char *);
    void *ctx;
    size_t n;
} news_ctx;

static int news_one(void *ctx, const tl_finding *x)
{
    news_ctx *c = ctx;
    tl_live_findings *f = c->f;
    char key[512];
    snprintf(key, sizeof key, "%s %s", x->id, x->state_name);
    for (size_t i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i], key) == 0)
            return 0;
    if (f->nseen == f->capseen) {
        size_t cap = f->capseen ? 2 * f->capseen : 64;
        char **ns = realloc(f->seen, cap * sizeof *ns);
        if (!ns)
            return 1;
        f->seen = ns;
        f->capseen = cap;
    }
    f->seen[f->nseen] = strdup(key);
    if (!f->seen[f->nseen])
        return 1;
    f->nseen++;
    char *line = strndup(x->json, x->json_len);
    if (line)
        c->fn(c->ctx, line);
    free(line);
    c->n++;
    return 0;
}

size_t tl_live_findings_news(tl_live_findings *f, void (*fn)(void *ctx, const char *json),
                             void *ctx)
{
    news_ctx c = {f, fn, ctx, 0};
    uint64_t size = tl_follow_witnessed_size(f->fo);
    if (size)
        if (tl_follow_findings(f->fo, size, news_one, &c) != TL_OK)
            return c.n;
    return c.n;
}

uint64_t tl_live_findings_witnessed_size(tl_live_findings *f)
{
    return tl_follow_witnessed_size(f->fo);
}

int64_t tl_live_findings_witnessed_time(tl_live_findings *f)
{
    return tl_follow_witnessed_time(f->fo);
}

typedef struct all_ctx {
    char **lines;
    size_t n, cap;
} all_ctx;

static int all_one(void *ctx, const tl_finding *x)
{
    all_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        char **nl = realloc(c->lines, cap * sizeof *nl);
        if (!nl)
            return 1;
        c->lines = nl;
        c->cap = cap;
    }
    c->lines[c->n] = strndup(x->json, x->json_len);
    if (!c->lines[c->n])
        return 1;
    c->n++;
    return 0;
}

void tl_live_findings_all(tl_live_findings *f, void (*fn)(void *ctx, const char *json), void *ctx)
{
    /* Collected first: fn may call back into the findings (evidence), which lock them. */
    all_ctx c = {0};
    uint64_t size = tl_follow_witnessed_size(f->fo);
    if (size && tl_follow_findings(f->fo, size, all_one, &c) != TL_OK)
        fprintf(stderr, "treatylog: listing findings failed\n");
    for (size_t i = 0; i < c.n; i++) {
        fn(ctx, c.lines[i]);
        free(c.lines[i]);
    }
    free(c.lines);
}

void tl_live_findings_free(tl_live_findings *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    if (f->thread)
        pthread_join(f->th, NULL);
    for (size_t i = 0; i < f->nseen; i++)
        free(f->seen[i]);
    free(f->seen);
    tl_follow_free(f->fo);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
