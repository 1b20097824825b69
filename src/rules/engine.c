/* engine.c - the rules engine (rules.h): rules compiled from a ruleset, the log fed in order,
 * each rule kind's evaluation on a new entry and on a witnessed checkpoint (docs/rules.md).
 *
 * Everything a finding needs later is copied out of the notification during tl_engine_add.
 * Findings are created once and only move forward (a reply resolves an open deadline, a
 * withdrawal voids); their state at a given view (a log size and the witnessed checkpoints up
 * to it) is computed in findings.c, so the same view always gives the same bytes. Lookups are
 * hash maps keyed by leaf hash, trigger index, (party, year) or activity id: no scans of the
 * log, except operator-time, which checks each entry once, when its bounds become known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"
#include "treatylog/text.h"
#include "treatylog/values.h"

enum kind {
    K_REPLY,
    K_ADVANCE,
    K_THRESHOLD,
    K_DUE,
    K_QUOTA,
    K_COUNT,
    K_CONC,
    K_CAL,
    K_DVO,
    K_NEAR,
    K_SERIAL,
    K_SKEW,
    K_SHARE,
    K_CONTENT,
    K_ABSENT,
    K_PEAK,
    K_OPTIME,
    K_SPAN,
    K_LIMIT,
    K_WITHDRAWAL,
    K_LINKED,
    K_NKINDS
};

static const char *const KIND_NAMES[] = {
    "reply-deadline",
    "advance-notice",
    "threshold",
    "due-date",
    "quota",
    "count-limit",
    "concurrency",
    "calendar",
    "declared-vs-observed",
    "near-threshold",
    "serial",
    "sent-skew",
    "share-all",
    "reply-content",
    "absent",
    "peak-from-stages",
    "operator-time",
    "field-span",
    "limit",
    "withdrawal",
    "linked",
};
_Static_assert(sizeof KIND_NAMES / sizeof KIND_NAMES[0] == K_NKINDS,
               "one name per kind, in the order of enum kind");

#define MAX_CONDS  16
#define MAX_PAIRS  8
#define NPARTY     676 /* AA..ZZ */
#define STATES_MAX 64  /* participants of one multinational activity read ("by_state") */

typedef struct node {
    uint64_t index, next;
    int64_t a, b; /* concurrency: start and end day */
} node;

/* count-limit, concurrency: per key, how many entries were counted and the newest RECENT of
 * them (the findings list at most that many), contiguous so that listing them is cheap. */
#define RECENT 64
typedef struct recent {
    uint64_t cnt;
    uint32_t n, pos; /* entries held, and where the next one goes */
    uint64_t idx[RECENT];
} recent;

struct crule {
    const tl_rule *r;
    enum kind kind;
    size_t nwhen; /* "when" parameters */
    const char *id;
    const char *severity; /* NULL: the kind's default */
    uint16_t on[MAX_TYPES];
    size_t non;
    uint16_t other[MAX_TYPES];
    size_t nother;
    char other_names[MAX_TYPES * (TL_RULE_WORD_MAX + 4)];
    enum party_mode pmode;
    const char *pfield, *prole;
    int64_t hours_ms, grace_ms, days, longer_ms, before_ms, span_ms;
    const char *span_from, *span_to;
    bool has_before;
    bool has_hours, has_longer, match_activity;
    uint16_t sched_type;
    const char *sched_field;
    uint16_t amend_type[MAX_TYPES];
    const char *amend_field[MAX_TYPES];
    size_t namend_types;
    const char *met_by, *field, *only_if, *unless, *by, *start, *end, *list, *questions, *answers,
        *stages, *count, *activities, *year, *flag, *accept, *grounds, *gvalue;
    cond any[MAX_CONDS];
    size_t nany;
    cond unless_any[MAX_CONDS];
    size_t nunless;
    const char *pairs[MAX_PAIRS][2];
    size_t npairs;
    cond thr[MAX_CONDS];
    size_t nthr;
    int64_t max, years, per_year, per_sender, tol, threshold, margin, window_days;
    unsigned due_m, due_d;
    /* reply-deadline "anchor receipt TYPE FIELD". */
    bool anchor_receipt;
    uint16_t ack_type;
    const char *ack_field;
    /* threshold, count-limit, concurrency: "aggregate per_state", "by-state FIELD". */
    bool per_state;
    const char *by_state;
    /* threshold "by-day MM-DD YEARS". */
    bool has_byday;
    unsigned byday_m, byday_d;
    int64_t byday_years;
    /* quota extensions. */
    int64_t per_sender_div, per_units, per_unit, per_unit_sender;
    uint16_t units_type, notice_type;
    const char *units_field, *units_year, *unit_field, *beyond, *notice_field, *notice_value,
        *notice_year;
    /* declared-vs-observed "unreported below", "tolerance-percent" given. */
    bool unreported_below, has_tol;
    /* threshold "each ARRAY". */
    const char *each;
    /* field-span "min-hours", "from-in TYPE". */
    bool has_min;
    int64_t min_ms;
    uint16_t from_in;
    /* State. */
    u64map m1, m2, m3, m4, m5, m6, m7;
    strmap s1, s2;
    node *nodes;
    size_t nnodes, ncap;
    recent *rec; /* count-limit, concurrency: m2 key -> position */
    size_t nrec, rcap;
    struct trec *trecs; /* threshold with amendments: m1 trigger -> position */
    size_t ntrecs, tcap;
    char **blobs; /* reply-content questions, declared values */
    size_t nblobs, bcap;
    uint64_t *last_serial, *last_index;
    bool due_started;
    int64_t due_year;
};

/* ---------------------------------------------------------------------------------------
 * Small helpers.
 */

static int pcode(const char *c)
{
    if (c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z')
        return -1;
    return (c[0] - 'A') * 26 + (c[1] - 'A');
}

static uint16_t type_id(const tl_engine *e, const char *name)
{
    uint64_t v;
    return strmap_get(&e->types, name, strlen(name), &v) ? (uint16_t)v : 0;
}

static bool in_list(const uint16_t *l, size_t n, uint16_t t)
{
    if (!t)
        return false;
    for (size_t i = 0; i < n; i++)
        if (l[i] == t)
            return true;
    return false;
}

/* "UA/412": the human name of an entry. */
static void ename(char out[32], const tl_engine *e, uint64_t i)
{
    const entry *en = &e->ents[i];
    char digits[21];
    size_t nd = tl_format_u64(digits, en->serial);
    out[0] = en->from[0];
    out[1] = en->from[1];
    out[2] = '/';
    memcpy(out + 3, digits, nd);
    out[3 + nd] = 0;
}

static void parse_cond(cond *c, const tl_rule *r, const char *key, size_t occ)
{
    snprintf(c->field, sizeof c->field, "%s", tl_rule_param(r, key, occ, 0));
    c->gt = strcmp(tl_rule_param(r, key, occ, 1), ">") == 0;
    c->value = strtoll(tl_rule_param(r, key, occ, 2), NULL, 10);
}

static bool cond_holds(const cond *c, int64_t v)
{
    return c->gt ? v > c->value : v >= c->value;
}

static void cond_text(buf *b, const cond *c, int64_t v)
{
    buf_fmt(b, "%s %lld %s %lld", c->field, (long long)v, c->gt ? ">" : ">=", (long long)c->value);
}

static bool body_str(const json_t *body, const char *path, const char **s)
{
    const json_t *j = body_get(body, path);
    if (!json_is_string(j))
        return false;
    *s = json_string_value(j);
    return true;
}

/* ---------------------------------------------------------------------------------------
 * Compiling rules.
 */

static bool intern(tl_engine *e, const char *name, uint16_t *id)
{
    uint64_t v;
    if (strmap_get(&e->types, name, strlen(name), &v)) {
        *id = (uint16_t)v;
        return true;
    }
    if (e->types.n >= 60000)
        return false;
    v = e->types.n + 1;
    char **nn = realloc(e->type_names, (size_t)v * sizeof *nn);
    if (!nn)
        return false;
    e->type_names = nn;
    nn[v - 1] = strdup(name);
    if (!nn[v - 1])
        return false;
    if (!strmap_put(&e->types, name, strlen(name), v)) {
        free(nn[v - 1]);
        return false;
    }
    *id = (uint16_t)v;
    return true;
}

static bool compile_types(tl_engine *e, const tl_rule *r, const char *key, uint16_t *ids, size_t *n,
                          char *names, size_t names_len)
{
    size_t cnt = tl_rule_param_count(r, key);
    for (size_t i = 0; i < cnt && *n < MAX_TYPES; i++) {
        const char *t = tl_rule_param(r, key, i, 0);
        if (!intern(e, t, &ids[*n]))
            return false;
        (*n)++;
        if (names) {
            size_t l = strlen(names);
            snprintf(names + l, names_len - l, "%s%s", l ? " or " : "", t);
        }
    }
    return true;
}

static bool compile(tl_engine *e, crule *c, const tl_rule *r)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->id = tl_rule_id(r);
    c->nwhen = tl_rule_param_count(r, "when");
    const char *k = tl_rule_kind(r);
    c->kind = K_NKINDS;
    for (size_t i = 0; i < sizeof KIND_NAMES / sizeof KIND_NAMES[0]; i++)
        if (!strcmp(k, KIND_NAMES[i]))
            c->kind = (enum kind)i;
    if (c->kind == K_NKINDS)
        return false; /* the parser knows a kind the engine does not: a bug */
    c->severity = tl_rule_param(r, "severity", 0, 0);
    if (!compile_types(e, r, "on", c->on, &c->non, NULL, 0))
        return false;
    const char *okeys[] = {"reply", "require", "declared", "calendar", "request"};
    for (size_t i = 0; i < 5; i++)
        if (!compile_types(e, r, okeys[i], c->other, &c->nother, c->other_names,
                           sizeof c->other_names))
            return false;
    const char *p = tl_rule_param(r, "party", 0, 0);
    c->pmode = PM_SELF;
    if (p) {
        if (!strcmp(p, "to"))
            c->pmode = PM_TO;
        else if (!strcmp(p, "any"))
            c->pmode = PM_ANY;
        else if (!strcmp(p, "referenced"))
            c->pmode = PM_REFS;
        else if (!strcmp(p, "sender"))
            c->pmode = PM_SELF;
        else if (!strncmp(p, "role:", 5)) {
            c->pmode = PM_ROLE;
            c->prole = p + 5;
        } else {
            c->pmode = PM_FIELD;
            c->pfield = p;
        }
    }
    c->has_hours = tl_rule_param_count(r, "hours") > 0;
    c->hours_ms = tl_rule_param_int(r, "hours", 0) * HOUR_MS;
    c->grace_ms = tl_rule_param_int(r, "grace-hours", 0) * HOUR_MS;
    c->days = tl_rule_param_int(r, "days", -1);
    c->has_before = tl_rule_param_count(r, "hours-before") > 0;
    c->span_from = tl_rule_param(r, "from", 0, 0);
    c->span_to = tl_rule_param(r, "to", 0, 0);
    c->span_ms = tl_rule_param_int(r, "max-hours", 0) * HOUR_MS;
    c->before_ms = tl_rule_param_int(r, "hours-before", 0) * HOUR_MS;
    c->has_longer = tl_rule_param_count(r, "longer-than-hours") > 0;
    c->longer_ms = tl_rule_param_int(r, "longer-than-hours", 0) * HOUR_MS;
    const char *m = tl_rule_param(r, "match", 0, 0);
    c->match_activity = m && !strcmp(m, "activity");
    c->met_by = tl_rule_param(r, "met-by", 0, 0);
    const char *anc = tl_rule_param(r, "anchor", 0, 0);
    if (anc && !strcmp(anc, "receipt")) {
        const char *at = tl_rule_param(r, "anchor", 0, 1);
        c->anchor_receipt = true;
        if (!intern(e, at ? at : "generic.acknowledgement", &c->ack_type))
            return false;
        c->ack_field = tl_rule_param(r, "anchor", 0, 2);
        if (!c->ack_field)
            c->ack_field = "received";
    }
    const char *agg = tl_rule_param(r, "aggregate", 0, 0);
    c->per_state = agg && !strcmp(agg, "per_state");
    c->by_state = tl_rule_param(r, "by-state", 0, 0);
    if (!c->by_state)
        c->by_state = "by_state";
    const char *bd = tl_rule_param(r, "by-day", 0, 0);
    if (bd) {
        c->has_byday = true;
        c->byday_m = (unsigned)((bd[0] - '0') * 10 + (bd[1] - '0'));
        c->byday_d = (unsigned)((bd[3] - '0') * 10 + (bd[4] - '0'));
        c->byday_years = strtoll(tl_rule_param(r, "by-day", 0, 1), NULL, 10);
    }
    c->per_sender_div = tl_rule_param_int(r, "per-sender-divisor", 0);
    c->per_units = tl_rule_param_int(r, "per-units", 0);
    c->per_unit = tl_rule_param_int(r, "per-unit", 0);
    c->per_unit_sender = tl_rule_param_int(r, "per-unit-sender", 0);
    c->unit_field = tl_rule_param(r, "unit-field", 0, 0);
    c->beyond = tl_rule_param(r, "beyond", 0, 0);
    if (tl_rule_param(r, "units-from", 0, 0)) {
        if (!intern(e, tl_rule_param(r, "units-from", 0, 0), &c->units_type))
            return false;
        c->units_field = tl_rule_param(r, "units-from", 0, 1);
        c->units_year = tl_rule_param(r, "units-from", 0, 2);
    }
    if (tl_rule_param(r, "notice", 0, 0)) {
        if (!intern(e, tl_rule_param(r, "notice", 0, 0), &c->notice_type))
            return false;
        c->notice_field = tl_rule_param(r, "notice", 0, 1);
        c->notice_value = tl_rule_param(r, "notice", 0, 2);
        c->notice_year = tl_rule_param(r, "notice", 0, 3);
    }
    c->each = tl_rule_param(r, "each", 0, 0);
    c->unreported_below = tl_rule_param_count(r, "unreported") > 0;
    c->has_tol = tl_rule_param_count(r, "tolerance-percent") > 0;
    c->has_min = tl_rule_param_count(r, "min-hours") > 0;
    c->min_ms = tl_rule_param_int(r, "min-hours", 0) * HOUR_MS;
    if (tl_rule_param(r, "from-in", 0, 0) &&
        !intern(e, tl_rule_param(r, "from-in", 0, 0), &c->from_in))
        return false;
    size_t nam = tl_rule_param_count(r, "amended-by");
    for (size_t i = 0; i < nam && i < MAX_TYPES; i++) {
        if (!intern(e, tl_rule_param(r, "amended-by", i, 0), &c->amend_type[i]))
            return false;
        c->amend_field[i] = tl_rule_param(r, "amended-by", i, 1);
        c->namend_types++;
    }
    if (c->kind == K_REPLY && tl_rule_param(r, "schedule", 0, 0)) {
        /* "schedule" is a message type and a field, not a type list: intern it here. */
        if (!intern(e, tl_rule_param(r, "schedule", 0, 0), &c->sched_type))
            return false;
        c->sched_field = tl_rule_param(r, "schedule", 0, 1);
    }
    c->field = tl_rule_param(r, "field", 0, 0);
    c->only_if = tl_rule_param(r, "only-if", 0, 0);
    c->unless = tl_rule_param(r, "unless", 0, 0);
    c->by = tl_rule_param(r, "by", 0, 0);
    c->start = tl_rule_param(r, "start", 0, 0);
    c->end = tl_rule_param(r, "end", 0, 0);
    c->list = tl_rule_param(r, "list", 0, 0);
    c->questions = tl_rule_param(r, "questions", 0, 0);
    c->answers = tl_rule_param(r, "answers", 0, 0);
    c->stages = tl_rule_param(r, "stages", 0, 0);
    c->count = tl_rule_param(r, "count", 0, 0);
    c->activities = tl_rule_param(r, "activities", 0, 0);
    c->year = tl_rule_param(r, "year", 0, 0);
    c->flag = tl_rule_param(r, "flag", 0, 0);
    c->accept = tl_rule_param(r, "accept-field", 0, 0);
    c->grounds = tl_rule_param(r, "grounds-field", 0, 0);
    c->gvalue = tl_rule_param(r, "grounds-value", 0, 0);
    c->nany = tl_rule_param_count(r, "any");
    if (c->nany > MAX_CONDS)
        c->nany = MAX_CONDS;
    for (size_t i = 0; i < c->nany; i++)
        parse_cond(&c->any[i], r, "any", i);
    c->nunless = tl_rule_param_count(r, "unless-any");
    if (c->nunless > MAX_CONDS)
        c->nunless = MAX_CONDS;
    for (size_t i = 0; i < c->nunless; i++)
        parse_cond(&c->unless_any[i], r, "unless-any", i);
    c->nthr = tl_rule_param_count(r, "threshold");
    if (c->kind == K_DVO) {
        if (c->nthr > MAX_CONDS)
            c->nthr = MAX_CONDS;
        for (size_t i = 0; i < c->nthr; i++)
            parse_cond(&c->thr[i], r, "threshold", i);
    }
    c->npairs = tl_rule_param_count(r, "pair");
    if (c->npairs > MAX_PAIRS)
        c->npairs = MAX_PAIRS;
    for (size_t i = 0; i < c->npairs; i++) {
        c->pairs[i][0] = tl_rule_param(r, "pair", i, 0);
        c->pairs[i][1] = tl_rule_param(r, "pair", i, 1);
    }
    c->max = tl_rule_param_int(r, "max", 0);
    if (c->kind == K_LINKED) {
        c->max = tl_rule_param_int(r, "distance-km", 0);
        c->days = tl_rule_param_int(r, "overlap-days", 1);
        c->list = tl_rule_param(r, "area", 0, 0);
    }
    c->years = tl_rule_param_int(r, "years", 1);
    c->per_year = tl_rule_param_int(r, "per-year", 0);
    c->per_sender = tl_rule_param_int(r, "per-sender", 0);
    c->tol = c->kind == K_DVO ? tl_rule_param_int(r, "tolerance-percent", 0)
                              : tl_rule_param_int(r, "tolerance-seconds", 60);
    c->threshold = c->kind == K_NEAR ? tl_rule_param_int(r, "threshold", 0) : 0;
    c->margin = tl_rule_param_int(r, "margin-percent", 0);
    c->window_days = tl_rule_param_int(r, "window-days", 365);
    const char *due = tl_rule_param(r, "due", 0, 0);
    if (due) {
        c->due_m = (unsigned)((due[0] - '0') * 10 + (due[1] - '0'));
        c->due_d = (unsigned)((due[3] - '0') * 10 + (due[4] - '0'));
    }
    if (c->kind == K_SERIAL) {
        c->last_serial = calloc(NPARTY, sizeof *c->last_serial);
        c->last_index = calloc(NPARTY, sizeof *c->last_index);
        if (!c->last_serial || !c->last_index)
            return false;
    }
    return true;
}

static void crule_free(crule *c)
{
    u64map_free(&c->m1);
    u64map_free(&c->m2);
    u64map_free(&c->m3);
    u64map_free(&c->m4);
    u64map_free(&c->m5);
    u64map_free(&c->m6);
    u64map_free(&c->m7);
    strmap_free(&c->s1);
    strmap_free(&c->s2);
    free(c->nodes);
    free(c->rec);
    free(c->trecs);
    for (size_t i = 0; i < c->nblobs; i++)
        free(c->blobs[i]);
    free(c->blobs);
    free(c->last_serial);
    free(c->last_index);
}

static int cmp_rank(const void *a, const void *b, void *ctx)
{
    const tl_engine *e = ctx;
    return strcmp(e->rules[*(const uint32_t *)a].id, e->rules[*(const uint32_t *)b].id);
}

/* Whether rule c can do anything for an entry of type t (1..): every kind but serial-order and
 * clock-skew (which look at every entry) acts only on the types it names (in_list is false for
 * type 0, and the single types below are compared only when set). */
static bool rule_concerns(const crule *c, uint16_t t)
{
    switch (c->kind) {
    case K_REPLY:
    case K_ADVANCE:
    case K_THRESHOLD:
    case K_DUE:
    case K_QUOTA:
    case K_COUNT:
    case K_CONC:
    case K_CAL:
    case K_DVO:
    case K_NEAR:
    case K_SHARE:
    case K_CONTENT:
    case K_ABSENT:
    case K_PEAK:
    case K_SPAN:
    case K_LIMIT:
    case K_LINKED:
    case K_WITHDRAWAL:
        break;
    case K_OPTIME:
    case K_NKINDS:
        return false;
    default:
        return true;
    }
    if (!t)
        return false;
    if (in_list(c->on, c->non, t) || in_list(c->other, c->nother, t) ||
        in_list(c->amend_type, c->namend_types, t))
        return true;
    return (c->anchor_receipt && t == c->ack_type) || t == c->sched_type || t == c->units_type ||
           t == c->notice_type || t == c->from_in;
}

static bool build_dispatch(tl_engine *e)
{
    size_t nt = e->types.n + 1;
    e->disp_off = calloc(nt + 1, sizeof *e->disp_off);
    e->disp = calloc(nt * (e->nrules ? e->nrules : 1), sizeof *e->disp);
    if (!e->disp_off || !e->disp)
        return false;
    uint32_t k = 0;
    for (size_t t = 0; t < nt; t++) {
        e->disp_off[t] = k;
        for (size_t i = 0; i < e->nrules; i++)
            if (rule_concerns(&e->rules[i], (uint16_t)t))
                e->disp[k++] = (uint32_t)i;
    }
    e->disp_off[nt] = k;
    return true;
}

tl_engine *tl_engine_new(const tl_ruleset *rs)
{
    tl_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->rs = rs;
    e->nrules = tl_ruleset_count(rs);
    e->rules = calloc(e->nrules ? e->nrules : 1, sizeof *e->rules);
    e->rank = calloc(e->nrules ? e->nrules : 1, sizeof *e->rank);
    uint32_t *order = calloc(e->nrules ? e->nrules : 1, sizeof *order);
    if (!e->rules || !e->rank || !order || !intern(e, "generic.correction", &e->correction_type))
        goto fail;
    for (size_t i = 0; i < e->nrules; i++)
        if (!compile(e, &e->rules[i], tl_ruleset_rule(rs, i)))
            goto fail;
    for (size_t i = 0; i < e->nrules; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, e->nrules, sizeof *order, cmp_rank, e);
    for (size_t i = 0; i < e->nrules; i++)
        e->rank[order[i]] = (uint32_t)i;
    free(order);
    if (!build_dispatch(e))
        goto fail;
    return e;
fail:
    free(order);
    tl_engine_free(e);
    return NULL;
}

void tl_engine_free(tl_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; e->rules && i < e->nrules; i++)
        crule_free(&e->rules[i]);
    free(e->rules);
    free(e->rank);
    tl_registry_free(e->reg);
    for (size_t i = 0; i < e->types.n; i++)
        free(e->type_names[i]);
    free(e->type_names);
    free(e->disp_off);
    free(e->disp);
    strmap_free(&e->types);
    free(e->ents);
    leafmap_free(&e->leaves);
    for (uint64_t i = 0; i < e->nf; i++) {
        free(e->f[i].ent);
        free(e->f[i].why);
    }
    free(e->f);
    u64map_free(&e->trig_head);
    u64map_free(&e->withdrawn);
    free(e->cps);
    free(e);
}

tl_err tl_engine_set_registry(tl_engine *e, const tl_registry *r)
{
    tl_registry *c = tl_registry_clone(r);
    if (!c)
        return TL_ERR_NOMEM;
    tl_registry_free(e->reg);
    e->reg = c;
    return TL_OK;
}

uint64_t tl_engine_size(const tl_engine *e)
{
    return e->n;
}

/* ---------------------------------------------------------------------------------------
 * Findings: creation.
 */

/* A new finding of rule ri about trigger, existing from view size `created`. Returns its id,
 * or NONE when out of memory. why is taken over (freed on failure). */
static uint64_t new_finding(tl_engine *e, size_t ri, uint32_t n, uint64_t trigger, uint64_t created,
                            enum fkind kind, tl_finding_state state, char *why)
{
    finding *nfp = grow_array(e->f, &e->fcap, e->nf, sizeof *nfp, 256);
    if (!nfp) {
        free(why);
        return NONE;
    }
    e->f = nfp;
    uint64_t id = e->nf;
    finding *f = &e->f[id];
    memset(f, 0, sizeof *f);
    f->rule = (uint32_t)ri;
    f->n = n;
    f->trigger = trigger;
    f->created = created;
    f->reply = NONE;
    f->voided = NONE;
    f->range_from = NONE;
    f->next_key = NONE;
    f->due_ms = NO_TIME;
    f->reply_ms = NO_TIME;
    f->anchor = NONE;
    f->anchor_due_ms = NO_TIME;
    f->kind = (uint8_t)kind;
    f->state = (uint8_t)state;
    f->why = why;
    uint64_t head = NONE;
    (void)u64map_get(&e->trig_head, trigger, &head);
    f->next_trig = head;
    if (!u64map_put(&e->trig_head, trigger, id)) {
        free(why);
        return NONE;
    }
    uint64_t w;
    if (u64map_get(&e->withdrawn, trigger, &w))
        f->voided = w;
    e->nf++;
    return id;
}

static void add_party(finding *f, const char *code)
{
    if (f->nparties >= TL_FINDING_PARTIES_MAX)
        return;
    for (size_t i = 0; i < f->nparties; i++)
        if (!memcmp(f->parties[i], code, 2))
            return;
    memcpy(f->parties[f->nparties], code, 2);
    f->parties[f->nparties][2] = 0;
    f->nparties++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sets the further entries of f (sorted, duplicates and the trigger dropped). */
static bool set_entries(finding *f, const uint64_t *ents, size_t n)
{
    if (!n)
        return true;
    uint64_t *c = malloc(n * sizeof *c);
    if (!c)
        return false;
    memcpy(c, ents, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i] != f->trigger && (k == 0 || c[k - 1] != c[i]))
            c[k++] = c[i];
    f->ent = c;
    f->nent = (uint32_t)k;
    return true;
}

static char *bdone(buf *b)
{
    if (!b->ok) {
        free(b->p);
        return NULL;
    }
    return b->p ? b->p : strdup("");
}

/* A static finding (breach, advisory, met, operator-time) with its why. */
static tl_err static_finding(tl_engine *e, size_t ri, uint32_t n, uint64_t trigger,
                             uint64_t created, tl_finding_state st, buf *why, const char *party,
                             const uint64_t *ents, size_t nents)
{
    char *w = NULL;
    if (why) {
        w = bdone(why);
        if (!w)
            return TL_ERR_NOMEM;
    }
    crule *c = &e->rules[ri];
    if (c->severity && (st == TL_FINDING_BREACH || st == TL_FINDING_ADVISORY))
        st = !strcmp(c->severity, "breach") ? TL_FINDING_BREACH : TL_FINDING_ADVISORY;
    uint64_t id = new_finding(e, ri, n, trigger, created, FK_STATIC, st, w);
    if (id == NONE)
        return TL_ERR_NOMEM;
    if (party)
        add_party(&e->f[id], party);
    if (!set_entries(&e->f[id], ents, nents))
        return TL_ERR_NOMEM;
    return TL_OK;
}

/* ---------------------------------------------------------------------------------------
 * Rule kinds on a new entry.
 */

typedef struct addctx {
    tl_engine *e;
    uint64_t index;
    int64_t logged_ms;
    const tl_notification *n;
    uint16_t type;
} addctx;

static bool flags_ok(const crule *c, const json_t *body);
static bool when_ok(const crule *c, const json_t *body);

/* Party qualification of a reply from `from` for a deadline finding. */
static bool party_ok(const tl_engine *e, const finding *f, const char *from)
{
    if (f->nparties == 0)
        return memcmp(e->ents[f->trigger].from, from, 2) != 0;
    for (size_t i = 0; i < f->nparties; i++)
        if (!memcmp(f->parties[i], from, 2))
            return true;
    return false;
}

/* The open deadline findings of rule ri (no answer yet) whose trigger the entry references
 * and which its sender may answer (party_ok): a reply resolves them at reply_ms; a refusal
 * (reply-deadline "accept-field": the answer's boolean field is not true) voids those not
 * already void, from the refusal on. */
static void answer_by_refs(const addctx *a, size_t ri, bool refusal, int64_t reply_ms)
{
    tl_engine *e = a->e;
    for (size_t k = 0; k < a->n->nrefs; k++) {
        uint64_t t;
        if (!leafmap_get(&e->leaves, a->n->refs[k], &t))
            continue;
        uint64_t id = NONE;
        (void)u64map_get(&e->trig_head, t, &id);
        for (; id != NONE; id = e->f[id].next_trig) {
            finding *f = &e->f[id];
            if (f->rule != ri || f->kind != FK_DEADLINE || f->reply != NONE ||
                !party_ok(e, f, a->n->from))
                continue;
            if (!refusal) {
                f->reply = a->index;
                f->reply_ms = reply_ms;
            } else if (f->voided == NONE) {
                f->voided = a->index;
                f->void_kind = 2;
            }
        }
    }
}

/* reply-deadline with "schedule TYPE FIELD": an entry of TYPE referencing an open trigger
 * whose FIELD (a time) lies after the trigger's deadline gets an advisory (a meeting notice
 * scheduling the meeting after the deadline). Its trigger is that entry. */
static tl_err k_schedule(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    int64_t when;
    bool isdate;
    if (!body_time(a->n->body, c->sched_field, &when, &isdate))
        return TL_OK;
    for (size_t k = 0; k < a->n->nrefs; k++) {
        uint64_t t;
        if (!leafmap_get(&e->leaves, a->n->refs[k], &t))
            continue;
        uint64_t id = NONE;
        (void)u64map_get(&e->trig_head, t, &id);
        for (; id != NONE; id = e->f[id].next_trig) {
            const finding *f = &e->f[id];
            if (f->rule != ri || f->kind != FK_DEADLINE || f->trigger != t || when <= f->due_ms)
                continue;
            char sname[32], tname[32];
            ename(sname, e, a->index);
            ename(tname, e, t);
            int64_t due = f->due_ms;
            buf w = {NULL, 0, 0, true};
            buf_fmt(&w, "%s schedules it for %s ", sname, c->sched_field);
            buf_time(&w, when);
            buf_fmt(&w, ", after the deadline of %s, ", tname);
            buf_time(&w, due);
            uint64_t ents[1] = {t};
            return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w,
                                  a->n->from, ents, 1);
        }
    }
    return TL_OK;
}

/* reply-deadline with "anchor receipt": the first acknowledgement (of the rule's type) from a
 * party that must answer, referencing the trigger and logged by the deadline counted from the
 * trigger's logged, moves the deadline to its receipt time (its FIELD, kept between the
 * trigger's logged and its own) plus the hours. From its index on; an acknowledgement logged
 * after that deadline comes too late to move it. */
static void anchor_by_refs(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    const crule *c = &e->rules[ri];
    for (size_t k = 0; k < a->n->nrefs; k++) {
        uint64_t t;
        if (!leafmap_get(&e->leaves, a->n->refs[k], &t))
            continue;
        int64_t recv;
        bool isdate;
        if (!body_time(a->n->body, c->ack_field, &recv, &isdate) || recv > a->logged_ms)
            recv = a->logged_ms;
        if (recv < e->ents[t].logged_ms)
            recv = e->ents[t].logged_ms;
        uint64_t id = NONE;
        (void)u64map_get(&e->trig_head, t, &id);
        for (; id != NONE; id = e->f[id].next_trig) {
            finding *f = &e->f[id];
            if (f->rule != ri || f->kind != FK_DEADLINE || f->trigger != t || f->anchor != NONE ||
                a->logged_ms > f->due_ms || !party_ok(e, f, a->n->from))
                continue;
            f->anchor = a->index;
            f->anchor_due_ms = recv + c->hours_ms;
        }
    }
}

static tl_err k_reply(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    if (in_list(c->other, c->nother, a->type)) {
        int64_t ms = NO_TIME;
        bool isdate, acc = false;
        if (c->accept && !(body_bool(n->body, c->accept, &acc) && acc))
            answer_by_refs(a, ri, true, 0);
        else if (!c->met_by || body_time(n->body, c->met_by, &ms, &isdate))
            answer_by_refs(a, ri, false, ms); /* without its met-by time an answer does not count */
    }
    if (c->anchor_receipt && a->type == c->ack_type)
        anchor_by_refs(a, ri);
    if (c->sched_type && a->type == c->sched_type) {
        tl_err err = k_schedule(a, ri);
        if (err != TL_OK)
            return err;
    }
    if (!in_list(c->on, c->non, a->type) || !flags_ok(c, n->body) || !when_ok(c, n->body))
        return TL_OK;
    int64_t base = a->logged_ms;
    bool isdate;
    if (c->span_from && !body_time(n->body, c->span_from, &base, &isdate))
        base = a->logged_ms; /* "from" absent or null: from the trigger's logged */
    /* The parties that must answer. */
    char parties[TL_FINDING_PARTIES_MAX][3];
    size_t np = 0;
    bool per_party = false;
    const char *s;
    switch (c->pmode) {
    case PM_FIELD: {
        const json_t *pv = body_get(n->body, c->pfield);
        if (json_is_string(pv)) {
            s = json_string_value(pv);
            if (tl_value_party(s, strlen(s))) {
                memcpy(parties[0], s, 3);
                np = 1;
            }
            break;
        }
        if (!json_is_array(pv))
            break;
        /* An array of party codes or of objects with a "party": each one but the sender
         * answers for itself (one finding each). */
        per_party = true;
        for (size_t i = 0; i < json_array_size(pv) && np < TL_FINDING_PARTIES_MAX; i++) {
            const json_t *el = json_array_get(pv, i);
            if (json_is_object(el))
                el = json_object_get(el, "party");
            s = json_string_value(el);
            if (!s || !tl_value_party(s, strlen(s)) || !memcmp(s, n->from, 2))
                continue;
            bool dup = false;
            for (size_t j = 0; j < np; j++)
                dup = dup || !memcmp(parties[j], s, 2);
            if (!dup)
                memcpy(parties[np++], s, 3);
        }
        if (!np)
            return TL_OK;
        break;
    }
    case PM_TO:
        if (n->to_all)
            return TL_OK; /* addressed to all: nobody by name */
        per_party = true;
        for (size_t i = 0; i < n->nto && np < TL_FINDING_PARTIES_MAX; i++)
            if (memcmp(n->to[i], n->from, 2) != 0)
                memcpy(parties[np++], n->to[i], 3);
        if (!np)
            return TL_OK;
        break;
    case PM_ROLE:
        for (size_t i = 0; e->reg && i < e->reg->nparties && np < TL_FINDING_PARTIES_MAX; i++)
            if (tl_registry_has_role(e->reg, e->reg->parties[i].code, c->prole))
                memcpy(parties[np++], e->reg->parties[i].code, 3);
        break;
    case PM_SELF:
        memcpy(parties[0], n->from, 2);
        parties[0][2] = 0;
        np = 1;
        break;
    case PM_REFS:
        /* The senders of the entries the trigger references (the requester of a reply). */
        for (size_t k = 0; k < n->nrefs && np < TL_FINDING_PARTIES_MAX; k++) {
            uint64_t t;
            if (!leafmap_get(&e->leaves, n->refs[k], &t) || !memcmp(e->ents[t].from, n->from, 2))
                continue;
            bool dup = false;
            for (size_t j = 0; j < np; j++)
                dup = dup || !memcmp(parties[j], e->ents[t].from, 2);
            if (!dup) {
                memcpy(parties[np], e->ents[t].from, 2);
                parties[np++][2] = 0;
            }
        }
        if (!np)
            return TL_OK;
        break;
    case PM_ANY:
        break;
    }
    size_t nf = per_party ? np : 1;
    for (size_t i = 0; i < nf; i++) {
        size_t from = per_party ? i : 0, to = per_party ? i + 1 : np;
        char *w = NULL; /* derived when listed: rules_desc */
        uint64_t id = new_finding(e, ri, per_party ? (uint32_t)(i + 1) : 0, a->index, a->index + 1,
                                  FK_DEADLINE, TL_FINDING_PENDING, w);
        if (id == NONE)
            return TL_ERR_NOMEM;
        finding *f = &e->f[id];
        f->due_ms = base + c->hours_ms;
        for (size_t j = from; j < to; j++)
            add_party(f, parties[j]);
        if (c->pmode == PM_REFS) {
            /* The parties come from the referenced entries: the finding rests on them. */
            uint64_t ents[16];
            size_t ne = 0;
            for (size_t k = 0; k < n->nrefs && ne < 16; k++) {
                uint64_t t;
                if (leafmap_get(&e->leaves, n->refs[k], &t) && memcmp(e->ents[t].from, n->from, 2))
                    ents[ne++] = t;
            }
            if (!set_entries(f, ents, ne))
                return TL_ERR_NOMEM;
        }
    }
    return TL_OK;
}

/* only-if / unless on a boolean field (absent counts as false). */
static bool flags_ok(const crule *c, const json_t *body)
{
    bool v = false;
    if (c->only_if && !(body_bool(body, c->only_if, &v) && v))
        return false;
    v = false;
    if (c->unless && body_bool(body, c->unless, &v) && v)
        return false;
    return true;
}

static bool when_ok(const crule *c, const json_t *body);

static tl_err k_advance(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    if (!in_list(c->on, c->non, a->type) || !flags_ok(c, a->n->body) || !when_ok(c, a->n->body))
        return TL_OK;
    int64_t start;
    bool isdate;
    if (!body_time(a->n->body, c->field, &start, &isdate))
        return TL_OK;
    int64_t due;
    if (c->days >= 0) {
        int64_t day = start / DAY_MS;
        if (start < 0 && start % DAY_MS)
            day--;
        due = (day - c->days + 1) * DAY_MS - 1;
    } else if (c->has_before) {
        due = start - c->before_ms;
    } else {
        due = start + c->grace_ms;
    }
    uint64_t id =
        new_finding(e, ri, 0, a->index, a->index + 1, FK_DEADLINE, TL_FINDING_PENDING, NULL);
    if (id == NONE)
        return TL_ERR_NOMEM;
    e->f[id].aux_ms = start;
    e->f[id].due_ms = due;
    e->f[id].reply = a->index;
    add_party(&e->f[id], a->n->from);
    return TL_OK;
}

static bool when_ok(const crule *c, const json_t *body)
{
    size_t nw = c->nwhen;
    for (size_t i = 0; i < nw; i++) {
        const char *field = tl_rule_param(c->r, "when", i, 0);
        const char *s;
        if (!body_str(body, field, &s))
            return false;
        bool any = false;
        for (size_t w = 1; tl_rule_param(c->r, "when", i, w); w++)
            any = any || !strcmp(s, tl_rule_param(c->r, "when", i, w));
        if (!any)
            return false;
    }
    return true;
}

/* threshold: the values a rule reads from its trigger, kept when the rule has "amended-by" so
 * that an amendment can be laid over them. */
typedef struct trec {
    int64_t v[MAX_CONDS];
    bool has[MAX_CONDS];
    int64_t by_ms, s_ms, e_ms;
    bool has_by, has_s, has_e, e_date;
    int8_t only_if, unless; /* -1 absent, 0 false, 1 true */
    bool when;
    bool states;           /* "aggregate per_state": the values are per participant */
    char st[MAX_CONDS][3]; /* ... and the participant with the largest value */
    uint32_t namend;       /* findings made by amendments so far */
} trec;

/* The participants of a "by_state" object: member names that are party codes with an object
 * value, in code order (JSON member order is not kept). Returns their number (at most max). */
static size_t state_members(const json_t *bs, const char **keys, const json_t **vals, size_t max)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    if (!json_is_object(bs))
        return 0;
    json_object_foreach((json_t *)bs, k, v)
    {
        if (!json_is_object(v) || !tl_value_party(k, strlen(k)) || n == max)
            continue;
        size_t i = n++;
        while (i > 0 && strcmp(keys[i - 1], k) > 0) {
            keys[i] = keys[i - 1];
            vals[i] = vals[i - 1];
            i--;
        }
        keys[i] = k;
        vals[i] = v;
    }
    return n;
}

/* Reads into r the fields of body the rule looks at; fields absent from body stay as they are.
 * With "aggregate per_state" and a by_state object, each count is the largest of the
 * participants' (a condition holds for one participant exactly when it holds for the largest);
 * the activity's own counts are read only while no by_state was seen. */
static void trec_read(const crule *c, const json_t *body, trec *r)
{
    const char *keys[STATES_MAX];
    const json_t *vals[STATES_MAX];
    size_t ns =
        c->per_state ? state_members(body_get(body, c->by_state), keys, vals, STATES_MAX) : 0;
    if (ns) {
        r->states = true;
        for (size_t i = 0; i < c->nany; i++) {
            r->has[i] = false;
            for (size_t k = 0; k < ns; k++) {
                int64_t v;
                if (body_int(vals[k], c->any[i].field, &v) && (!r->has[i] || v > r->v[i])) {
                    r->v[i] = v;
                    r->has[i] = true;
                    memcpy(r->st[i], keys[k], 3);
                }
            }
        }
    }
    for (size_t i = 0; !r->states && i < c->nany; i++) {
        int64_t v;
        if (body_int(body, c->any[i].field, &v)) {
            r->v[i] = v;
            r->has[i] = true;
        }
    }
    int64_t t;
    bool isdate, fl;
    if (c->by && body_time(body, c->by, &t, &isdate)) {
        r->by_ms = t;
        r->has_by = true;
    }
    if (c->has_longer) {
        if (body_time(body, "start", &t, &isdate)) {
            r->s_ms = t;
            r->has_s = true;
        }
        if (body_time(body, "end", &t, &isdate)) {
            r->e_ms = t;
            r->e_date = isdate;
            r->has_e = true;
        }
    }
    if (c->only_if && body_bool(body, c->only_if, &fl))
        r->only_if = fl;
    if (c->unless && body_bool(body, c->unless, &fl))
        r->unless = fl;
}

static bool trec_applies(const crule *c, const trec *r)
{
    if ((c->only_if && r->only_if != 1) || (c->unless && r->unless == 1) || !r->when)
        return false;
    if (c->has_longer) {
        if (!r->has_s || !r->has_e)
            return false;
        if (r->e_ms - r->s_ms + (r->e_date ? DAY_MS : 0) <= c->longer_ms)
            return false;
    }
    return true;
}

/* Whether any condition holds; its text into d (" (a >= b, ...") and absent fields into miss. */
static bool trec_crosses(const crule *c, const trec *r, buf *d, buf *miss)
{
    bool crossed = false;
    for (size_t i = 0; i < c->nany; i++) {
        if (!r->has[i]) {
            if (miss) {
                buf_str(miss, miss->len ? ", " : "");
                buf_str(miss, c->any[i].field);
            }
            continue;
        }
        if (cond_holds(&c->any[i], r->v[i])) {
            if (d) {
                buf_str(d, crossed ? ", " : " (");
                cond_text(d, &c->any[i], r->v[i]);
                if (r->states)
                    buf_fmt(d, " for %s", r->st[i]);
            }
            crossed = true;
        }
    }
    return crossed;
}

/* A threshold finding about trigger t from the record r; base_ms is the time an "hours"
 * deadline runs from. act is the activity for "match activity". Returns the id or NONE. */
static uint64_t thr_finding(tl_engine *e, size_t ri, uint64_t t, uint32_t sub, uint64_t created,
                            const trec *r, int64_t base_ms, const char *act)
{
    crule *c = &e->rules[ri];
    buf d = {NULL, 0, 0, true}, missing = {NULL, 0, 0, true};
    (void)trec_crosses(c, r, &d, &missing);
    char tname[32];
    ename(tname, e, t);
    buf w = {NULL, 0, 0, true};
    buf_str(&w, c->other_names);
    if (act)
        buf_fmt(&w, " for activity %s, reported by %s", act, tname);
    else
        buf_fmt(&w, " from %.2s referencing %s", e->ents[t].from, tname);
    buf_add(&w, d.p ? d.p : "", d.len);
    buf_str(&w, ")");
    if (missing.len) {
        buf_str(&w, "; not reported: ");
        buf_add(&w, missing.p, missing.len);
    }
    free(d.p);
    free(missing.p);
    char *ws = bdone(&w);
    if (!ws)
        return NONE;
    uint64_t id = new_finding(e, ri, sub, t, created, FK_DEADLINE, TL_FINDING_PENDING, ws);
    if (id == NONE)
        return NONE;
    finding *f = &e->f[id];
    if (c->by && c->has_byday && r->has_by)
        f->due_ms =
            (days_from_civil(year_of_ms(r->by_ms) - c->byday_years, c->byday_m, c->byday_d) + 1) *
                DAY_MS -
            1; /* the end of that day */
    else if (c->by)
        f->due_ms = r->has_by ? r->by_ms : base_ms;
    else
        f->due_ms = base_ms + (c->has_hours ? c->hours_ms : 0);
    return id;
}

/* An amendment (an "amended-by" message of the trigger's sender referencing it): lay its
 * values over the trigger's and re-decide. A live finding the amended values no longer
 * support is voided from the amendment on; a crossing the original did not have gives a new
 * finding about the same trigger (sub-number 1, 2 ...), its hours counted from the amendment. */
static tl_err thr_amend(const addctx *a, size_t ri, const json_t *over)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    for (size_t k = 0; k < a->n->nrefs; k++) {
        uint64_t t, pos;
        if (!leafmap_get(&e->leaves, a->n->refs[k], &t) || !u64map_get(&c->m1, t, &pos) ||
            memcmp(e->ents[t].from, a->n->from, 2) != 0)
            continue;
        trec *r = &c->trecs[pos];
        trec_read(c, over, r);
        bool now = trec_applies(c, r) && trec_crosses(c, r, NULL, NULL);
        finding *live = NULL;
        uint64_t id = NONE;
        (void)u64map_get(&e->trig_head, t, &id);
        for (; id != NONE && !live; id = e->f[id].next_trig)
            if (e->f[id].rule == ri && e->f[id].voided == NONE)
                live = &e->f[id];
        if (live && !now) {
            live->voided = a->index;
            live->void_kind = 1;
        } else if (!live && now) {
            uint64_t nid = thr_finding(e, ri, t, ++r->namend, a->index + 1, r, a->logged_ms, NULL);
            if (nid == NONE)
                return TL_ERR_NOMEM;
            add_party(&e->f[nid], e->ents[t].from);
            uint64_t have;
            if (u64map_get(&c->m3, t, &have))
                e->f[nid].reply = have;
        }
    }
    return TL_OK;
}

/* threshold: judges one activity of the trigger: its body (sub 0) or, with "each", an element
 * of its array (sub i + 1, the sender named as the party). */
static tl_err thr_judge(const addctx *a, size_t ri, const json_t *obj, uint32_t sub)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    trec r0;
    memset(&r0, 0, sizeof r0);
    r0.only_if = r0.unless = -1;
    r0.when = when_ok(c, obj);
    trec_read(c, obj, &r0);
    if (c->namend_types && !c->match_activity) {
        /* Keep the values for amendments. */
        trec *nt = grow_array(c->trecs, &c->tcap, c->ntrecs, sizeof *nt, 64);
        if (!nt)
            return TL_ERR_NOMEM;
        c->trecs = nt;
        c->trecs[c->ntrecs] = r0;
        if (!u64map_put(&c->m1, a->index, c->ntrecs++))
            return TL_ERR_NOMEM;
    }
    if (!trec_applies(c, &r0) || !trec_crosses(c, &r0, NULL, NULL))
        return TL_OK;
    const char *act = NULL;
    if (c->match_activity && !body_str(obj, "activity", &act))
        return TL_OK;
    uint64_t id = thr_finding(e, ri, a->index, sub, a->index + 1, &r0, a->logged_ms, act);
    if (id == NONE)
        return TL_ERR_NOMEM;
    finding *f = &e->f[id];
    if (!c->match_activity || sub) {
        add_party(f, n->from);
    }
    if (c->match_activity) {
        size_t al = strlen(act);
        uint64_t have;
        if (strmap_get(&c->s1, act, al, &have)) {
            f->reply = have;
        } else {
            uint64_t head = NONE;
            (void)strmap_get(&c->s2, act, al, &head);
            f->next_key = head;
            if (!strmap_put(&c->s2, act, al, id))
                return TL_ERR_NOMEM;
        }
    }
    return TL_OK;
}

static tl_err k_threshold(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    if (in_list(c->other, c->nother, a->type)) {
        if (!c->match_activity) {
            answer_by_refs(a, ri, false, NO_TIME);
            /* Remember the first required message for each trigger, for amendments. */
            for (size_t k = 0; c->namend_types && k < n->nrefs; k++) {
                uint64_t t, v;
                if (leafmap_get(&e->leaves, n->refs[k], &t) &&
                    in_list(c->on, c->non, e->ents[t].type) &&
                    !memcmp(e->ents[t].from, n->from, 2) && !u64map_get(&c->m3, t, &v) &&
                    !u64map_put(&c->m3, t, a->index))
                    return TL_ERR_NOMEM;
            }
        } else {
            const char *act;
            if (body_str(n->body, "activity", &act)) {
                uint64_t v;
                size_t al = strlen(act);
                if (!strmap_get(&c->s1, act, al, &v) && !strmap_put(&c->s1, act, al, a->index))
                    return TL_ERR_NOMEM;
                uint64_t id = NONE;
                (void)strmap_get(&c->s2, act, al, &id);
                for (; id != NONE; id = e->f[id].next_key)
                    if (e->f[id].reply == NONE)
                        e->f[id].reply = a->index;
            }
        }
    }
    for (size_t i = 0; i < c->namend_types; i++) {
        if (a->type != c->amend_type[i])
            continue;
        const json_t *over = c->amend_field[i] ? body_get(n->body, c->amend_field[i]) : n->body;
        if (json_is_object(over)) {
            tl_err err = thr_amend(a, ri, over);
            if (err != TL_OK)
                return err;
        }
    }
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    if (!c->each)
        return thr_judge(a, ri, n->body, 0);
    /* "each ARRAY": every element is an activity of its own (a calendar's activities). */
    const json_t *arr = body_get(n->body, c->each);
    size_t na = json_array_size(arr);
    for (size_t i = 0; i < na && i < 1024; i++) {
        const json_t *el = json_array_get(arr, i);
        if (!json_is_object(el))
            continue;
        tl_err err = thr_judge(a, ri, el, (uint32_t)(i + 1));
        if (err != TL_OK)
            return err;
    }
    return TL_OK;
}

static bool push_node(crule *c, node nd, uint64_t *pos);

/* quota keys: (party, year), (party, party, year). */
static uint64_t qkey1(int p, int64_t year)
{
    return (uint64_t)p * 100000 + (uint64_t)year;
}

static uint64_t qkey2(int p, int q, int64_t year)
{
    return ((uint64_t)p * NPARTY + (uint64_t)q) * 100000 + (uint64_t)year;
}

/* A counter in c->s1 under a text key; add > 0 adds to it. Returns the value before. */
static bool qcount(crule *c, const char *key, uint64_t add, uint64_t *before)
{
    uint64_t v = 0;
    (void)strmap_get(&c->s1, key, strlen(key), &v);
    *before = v;
    return !add || strmap_put(&c->s1, key, strlen(key), v + add);
}

/* Appends the chain of nodes from head (their index and, if set, their second entry) to ents. */
static void chain_entries(const crule *c, uint64_t head, uint64_t *ents, size_t *ne, size_t max)
{
    for (; head != NONE && *ne + 2 <= max; head = c->nodes[head].next) {
        ents[(*ne)++] = c->nodes[head].index;
        if (c->nodes[head].a >= 0)
            ents[(*ne)++] = (uint64_t)c->nodes[head].a;
    }
}

/* quota: a receiving State may refuse requests on quota grounds only when its quota is used.
 * State: m1 (receiver, year) -> accepted, m2 (receiver, requester, year) -> accepted, m3
 * request -> its first reply, m4 (receiver, year) -> chain of accepted visits (reply, request),
 * m5 (party, year) -> units reported for that year, m6 -> chain of those reports, m7 request
 * -> position+1 of its unit in blobs, s1 unit counters, s2 quota notices (party|year). */
static tl_err k_quota(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    int pn = pcode(n->from);
    if (c->units_type && a->type == c->units_type && pn >= 0) {
        const json_t *u = body_get(n->body, c->units_field);
        int64_t t;
        bool isdate;
        if (json_is_array(u) && body_time(n->body, c->units_year, &t, &isdate)) {
            /* The units of the year are summed over the parts (a multi-part AEMI); an entry
             * with the number `part` of an earlier one replaces it (a resubmission). */
            int64_t part = 1, year = year_of_ms(t);
            (void)body_int(n->body, "part", &part);
            char pk[64];
            snprintf(pk, sizeof pk, "#%.2s|%lld|%lld", n->from, (long long)year, (long long)part);
            uint64_t k = qkey1(pn, year), sum = 0, head = NONE, pos, old = 0;
            (void)u64map_get(&c->m5, k, &sum);
            (void)u64map_get(&c->m6, k, &head);
            (void)strmap_get(&c->s1, pk, strlen(pk), &old);
            node nd = {a->index, head, -1, 0};
            if (!u64map_put(&c->m5, k, sum - old + json_array_size(u)) ||
                !strmap_put(&c->s1, pk, strlen(pk), json_array_size(u)) ||
                !push_node(c, nd, &pos) || !u64map_put(&c->m6, k, pos))
                return TL_ERR_NOMEM;
        }
    }
    if (c->notice_type && a->type == c->notice_type && pn >= 0) {
        const char *v;
        int64_t y;
        if (body_str(n->body, c->notice_field, &v) && !strcmp(v, c->notice_value) &&
            body_int(n->body, c->notice_year, &y)) {
            char key[32];
            uint64_t have;
            snprintf(key, sizeof key, "%.2s|%lld", n->from, (long long)y);
            if (!strmap_get(&c->s2, key, strlen(key), &have) &&
                !strmap_put(&c->s2, key, strlen(key), a->index))
                return TL_ERR_NOMEM;
        }
    }
    if (c->unit_field && in_list(c->on, c->non, a->type)) {
        const char *u;
        if (body_str(n->body, c->unit_field, &u)) {
            char **nb = grow_array(c->blobs, &c->bcap, c->nblobs, sizeof *nb, 64);
            if (!nb)
                return TL_ERR_NOMEM;
            c->blobs = nb;
            char *cp = strdup(u);
            if (!cp)
                return TL_ERR_NOMEM;
            c->blobs[c->nblobs++] = cp;
            if (!u64map_put(&c->m7, a->index, c->nblobs))
                return TL_ERR_NOMEM;
        }
    }
    if (!in_list(c->other, c->nother, a->type))
        return TL_OK;
    uint64_t t = NONE;
    for (size_t k = 0; k < n->nrefs && t == NONE; k++) {
        uint64_t x;
        if (leafmap_get(&e->leaves, n->refs[k], &x) && in_list(c->on, c->non, e->ents[x].type))
            t = x;
    }
    uint64_t seen;
    if (t == NONE || u64map_get(&c->m3, t, &seen))
        return TL_OK;
    if (!u64map_put(&c->m3, t, a->index))
        return TL_ERR_NOMEM;
    int recv = pn, insp = pcode(e->ents[t].from);
    if (recv < 0 || insp < 0)
        return TL_OK;
    int64_t year = year_of_ms(e->ents[t].logged_ms);
    /* The quota of the receiver for the year: fixed, or from the units it reported for the
     * latest year up to this one (not judged while it has reported none). */
    int64_t quota = c->per_year, units = -1, uyear = 0;
    uint64_t uhead = NONE;
    if (c->per_units) {
        for (int64_t y = year; y > year - 100 && units < 0; y--) {
            uint64_t v;
            if (u64map_get(&c->m5, qkey1(recv, y), &v)) {
                units = (int64_t)v;
                uyear = y;
                (void)u64map_get(&c->m6, qkey1(recv, y), &uhead);
            }
        }
        if (units < 0)
            return TL_OK;
        int64_t q = (units + c->per_units - 1) / c->per_units;
        if (q < quota)
            quota = q;
    }
    int64_t per_sender = c->per_sender;
    if (c->per_sender_div)
        per_sender = quota / c->per_sender_div > 1 ? quota / c->per_sender_div : 1;
    uint64_t k1 = qkey1(recv, year), k2 = qkey2(recv, insp, year);
    uint64_t c1 = 0, c2 = 0, cu = 0, cus = 0, head = NONE;
    (void)u64map_get(&c->m1, k1, &c1);
    (void)u64map_get(&c->m2, k2, &c2);
    (void)u64map_get(&c->m4, k1, &head);
    const char *unit = NULL;
    char uk1[TL_RULE_WORD_MAX * 4 + 64], uk2[TL_RULE_WORD_MAX * 4 + 64];
    uint64_t upos;
    if (c->unit_field && u64map_get(&c->m7, t, &upos)) {
        unit = c->blobs[upos - 1];
        snprintf(uk1, sizeof uk1, "%.2s|%lld|%s", n->from, (long long)year, unit);
        snprintf(uk2, sizeof uk2, "%.2s|%.2s|%lld|%s", n->from, e->ents[t].from, (long long)year,
                 unit);
        (void)qcount(c, uk1, 0, &cu);
        (void)qcount(c, uk2, 0, &cus);
    }
    /* Which caps are reached, as text. */
    buf caps = {NULL, 0, 0, true};
    if ((int64_t)c1 >= quota)
        buf_fmt(&caps, "%s%llu of %lld in %lld", caps.len ? ", " : "", (unsigned long long)c1,
                (long long)quota, (long long)year);
    if ((int64_t)c2 >= per_sender)
        buf_fmt(&caps, "%s%llu of %lld from %.2s", caps.len ? ", " : "", (unsigned long long)c2,
                (long long)per_sender, e->ents[t].from);
    if (unit && c->per_unit && (int64_t)cu >= c->per_unit)
        buf_fmt(&caps, "%s%llu of %lld for unit %s", caps.len ? ", " : "", (unsigned long long)cu,
                (long long)c->per_unit, unit);
    if (unit && c->per_unit_sender && (int64_t)cus >= c->per_unit_sender)
        buf_fmt(&caps, "%s%llu of %lld for unit %s from %.2s", caps.len ? ", " : "",
                (unsigned long long)cus, (long long)c->per_unit_sender, unit, e->ents[t].from);
    bool used = caps.len > 0;
    char rname[32], tname[32];
    ename(rname, e, a->index);
    ename(tname, e, t);
    /* The entries the finding rests on: the request, the visits counted, the unit reports. */
    uint64_t ents[132];
    size_t ne = 0;
    ents[ne++] = t;
    chain_entries(c, head, ents, &ne, 66);
    chain_entries(c, uhead, ents, &ne, 132);
    buf w = {NULL, 0, 0, true};
    tl_finding_state st = TL_FINDING_BREACH;
    const char *party = n->from;
    bool acc = false;
    const char *g;
    if (body_bool(n->body, c->accept, &acc) && acc) {
        node nd = {a->index, head, (int64_t)t, 0};
        uint64_t pos, dummy;
        if (!u64map_put(&c->m1, k1, c1 + 1) || !u64map_put(&c->m2, k2, c2 + 1) ||
            !push_node(c, nd, &pos) || !u64map_put(&c->m4, k1, pos) ||
            (unit && (!qcount(c, uk1, 1, &dummy) || !qcount(c, uk2, 1, &dummy)))) {
            free(caps.p);
            return TL_ERR_NOMEM;
        }
        if (!used || !c->beyond || c->notice_type) {
            free(caps.p);
            return TL_OK;
        }
        /* An accepted visit beyond a cap: the requester asked for more than is owed. */
        st = !strcmp(c->beyond, "advisory") ? TL_FINDING_ADVISORY : TL_FINDING_BREACH;
        party = e->ents[t].from;
        buf_fmt(&w, "%.2s accepted %s in %s beyond its quota (already ", n->from, tname, rname);
        buf_add(&w, caps.p, caps.len);
        buf_str(&w, ")");
    } else if (!body_str(n->body, c->grounds, &g) || strcmp(g, c->gvalue) != 0) {
        free(caps.p);
        return TL_OK;
    } else if (c->notice_type) {
        /* A refusal on quota grounds with the quota used: was it announced? */
        char key[32];
        uint64_t have;
        snprintf(key, sizeof key, "%.2s|%lld", n->from, (long long)year);
        if (!used || strmap_get(&c->s2, key, strlen(key), &have)) {
            free(caps.p);
            return TL_OK;
        }
        st = TL_FINDING_ADVISORY;
        buf_fmt(&w, "%.2s refused %s in %s citing %s (", n->from, tname, rname, c->gvalue);
        buf_add(&w, caps.p, caps.len);
        buf_fmt(&w, ") without an earlier %s with %s %s for %lld",
                tl_rule_param(c->r, "notice", 0, 0), c->notice_field, c->notice_value,
                (long long)year);
    } else {
        if (used) {
            free(caps.p);
            return TL_OK; /* the quota is indeed used up */
        }
        buf_fmt(&w,
                "%.2s refused %s in %s citing %s while it had accepted %llu of %lld in %lld and "
                "%llu of %lld from %.2s",
                n->from, tname, rname, c->gvalue, (unsigned long long)c1, (long long)quota,
                (long long)year, (unsigned long long)c2, (long long)per_sender, e->ents[t].from);
        if (unit && (c->per_unit || c->per_unit_sender))
            buf_fmt(&w, "; unit %s: %llu of %lld, %llu of %lld from %.2s", unit,
                    (unsigned long long)cu, (long long)c->per_unit, (unsigned long long)cus,
                    (long long)c->per_unit_sender, e->ents[t].from);
    }
    free(caps.p);
    if (c->per_units)
        buf_fmt(&w, " (quota: 1 per %lld of the %lld units %.2s reported for %lld, at most %lld)",
                (long long)c->per_units, (long long)units, n->from, (long long)uyear,
                (long long)c->per_year);
    return static_finding(e, ri, 0, a->index, a->index + 1, st, &w, party, ents, ne);
}

static bool any_crosses(const cond *cs, size_t nc, const json_t *body, buf *txt)
{
    bool crossed = false;
    for (size_t i = 0; i < nc; i++) {
        int64_t v;
        if (body_int(body, cs[i].field, &v) && cond_holds(&cs[i], v)) {
            if (txt) {
                buf_str(txt, crossed ? ", " : "");
                cond_text(txt, &cs[i], v);
            }
            crossed = true;
        }
    }
    return crossed;
}

static bool push_node(crule *c, node nd, uint64_t *pos)
{
    node *nn = grow_array(c->nodes, &c->ncap, c->nnodes, sizeof *nn, 64);
    if (!nn)
        return false;
    c->nodes = nn;
    c->nodes[c->nnodes] = nd;
    *pos = c->nnodes++;
    return true;
}

/* The units an activity counts for: with "aggregate per_state" and a by_state object, each
 * participant with its own counts (sub-numbers 1, 2 ... in code order); otherwise the sender
 * with the activity's counts (sub-number 0). Returns their number. */
/* The record of key (m2); NULL when there is none and create is false, or out of memory.
 * Creating one may move the others. */
static recent *recent_at(crule *c, uint64_t key, bool create)
{
    uint64_t pos;
    if (u64map_get(&c->m2, key, &pos))
        return &c->rec[pos];
    if (!create)
        return NULL;
    recent *nr = grow_array(c->rec, &c->rcap, c->nrec, sizeof *nr, 64);
    if (!nr)
        return NULL;
    c->rec = nr;
    if (!u64map_put(&c->m2, key, c->nrec))
        return NULL;
    recent *r = &c->rec[c->nrec++];
    r->cnt = 0;
    r->n = r->pos = 0;
    return r;
}

static void recent_push(recent *r, uint64_t index)
{
    r->cnt++;
    r->idx[r->pos] = index;
    r->pos = (r->pos + 1) % RECENT;
    if (r->n < RECENT)
        r->n++;
}

/* Appends r's entries, newest first, to ents while *ne < max. */
static void recent_list(const recent *r, uint64_t *ents, size_t *ne, size_t max)
{
    for (uint32_t j = 0; j < r->n && *ne < max; j++)
        ents[(*ne)++] = r->idx[(r->pos + RECENT - 1 - j) % RECENT];
}

static size_t count_units(const crule *c, const tl_notification *n, const char **who,
                          const json_t **vals)
{
    size_t ns =
        c->per_state ? state_members(body_get(n->body, c->by_state), who, vals, STATES_MAX) : 0;
    if (ns)
        return ns;
    who[0] = n->from;
    vals[0] = n->body;
    return 1;
}

/* One counting unit of an entry for a count-limit or concurrency rule: the party it counts
 * for, the counts to judge, and 0 for the whole activity or i + 1 for by_state member i. */
typedef tl_err (*unit_fn)(const addctx *a, size_t ri, const char *who, const json_t *vals,
                          uint32_t sub);

/* Runs fn for each counting unit of the entry (count_units), if rule ri reads its type. */
static tl_err per_unit(const addctx *a, size_t ri, unit_fn fn)
{
    crule *c = &a->e->rules[ri];
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    const char *who[STATES_MAX];
    const json_t *vals[STATES_MAX];
    size_t nu = count_units(c, a->n, who, vals);
    bool states = vals[0] != a->n->body;
    for (size_t i = 0; i < nu; i++) {
        tl_err err = fn(a, ri, who[i], vals[i], states ? (uint32_t)(i + 1) : 0);
        if (err != TL_OK)
            return err;
    }
    return TL_OK;
}

static tl_err k_count_unit(const addctx *a, size_t ri, const char *from, const json_t *vals,
                           uint32_t sub);

static tl_err k_count(const addctx *a, size_t ri)
{
    return per_unit(a, ri, k_count_unit);
}

static tl_err k_count_unit(const addctx *a, size_t ri, const char *who, const json_t *vals,
                           uint32_t sub)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    buf why = {NULL, 0, 0, true};
    if (!any_crosses(c->any, c->nany, vals, &why) ||
        any_crosses(c->unless_any, c->nunless, vals, NULL)) {
        free(why.p);
        return TL_OK;
    }
    int64_t t;
    bool isdate;
    int pc = pcode(who);
    if (pc < 0 || !body_time(n->body, c->field, &t, &isdate)) {
        free(why.p);
        return TL_OK;
    }
    const char *act;
    if (body_str(n->body, "activity", &act)) {
        char key[TL_RULE_WORD_MAX + 80];
        int kl = snprintf(key, sizeof key, "%.2s|%s", who, act);
        uint64_t v;
        if (kl > 0 && (size_t)kl < sizeof key) {
            if (strmap_get(&c->s1, key, (size_t)kl, &v)) {
                free(why.p);
                return TL_OK; /* the same activity again (a re-notification) counts once */
            }
            if (!strmap_put(&c->s1, key, (size_t)kl, a->index)) {
                free(why.p);
                return TL_ERR_NOMEM;
            }
        }
    }
    int64_t year = year_of_ms(t);
    uint64_t key = (uint64_t)pc * 100000 + (uint64_t)year;
    recent *rc = recent_at(c, key, true);
    if (!rc) {
        free(why.p);
        return TL_ERR_NOMEM;
    }
    recent_push(rc, a->index);
    for (int64_t from = year - c->years + 1; from <= year; from++) {
        uint64_t sum = 0;
        for (int64_t y = from; y < from + c->years; y++) {
            const recent *r = recent_at(c, (uint64_t)pc * 100000 + (uint64_t)y, false);
            sum += r ? r->cnt : 0;
        }
        if ((int64_t)sum <= c->max)
            continue;
        uint64_t ents[64];
        size_t ne = 0;
        for (int64_t y = from; y < from + c->years; y++) {
            const recent *r = recent_at(c, (uint64_t)pc * 100000 + (uint64_t)y, false);
            if (r)
                recent_list(r, ents, &ne, 64);
        }
        buf w = {NULL, 0, 0, true};
        buf_fmt(&w, "%.2s: %llu activities (", who, (unsigned long long)sum);
        buf_add(&w, why.p ? why.p : "", why.len);
        if (c->years == 1)
            buf_fmt(&w, " for this one) in %lld, at most %lld per calendar year", (long long)from,
                    (long long)c->max);
        else
            buf_fmt(&w, " for this one) in %lld-%lld, at most %lld per %lld calendar years",
                    (long long)from, (long long)(from + c->years - 1), (long long)c->max,
                    (long long)c->years);
        if (sub)
            buf_fmt(&w, " (its part of %s, aggregate per_state)", n->from);
        free(why.p);
        return static_finding(e, ri, sub, a->index, a->index + 1, TL_FINDING_BREACH, &w, who, ents,
                              ne);
    }
    free(why.p);
    return TL_OK;
}

static tl_err k_conc_unit(const addctx *a, size_t ri, const char *from, const json_t *vals,
                          uint32_t sub);

static tl_err k_conc(const addctx *a, size_t ri)
{
    return per_unit(a, ri, k_conc_unit);
}

static tl_err k_conc_unit(const addctx *a, size_t ri, const char *from, const json_t *vals,
                          uint32_t sub)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    if (!any_crosses(c->any, c->nany, vals, NULL))
        return TL_OK;
    int64_t s, en;
    bool d1, d2;
    int pc = pcode(from);
    if (pc < 0 || !body_time(n->body, c->start, &s, &d1) || !body_time(n->body, c->end, &en, &d2))
        return TL_OK;
    int64_t sd = s / DAY_MS, ed = en / DAY_MS;
    if (ed < sd)
        return TL_OK;
    if (ed - sd > 400)
        ed = sd + 400; /* bound the work per activity: longer ones count for 401 days */
    /* Per (party, day): how many activities cover it, and a chain of them. */
    int64_t best = 0, best_day = sd;
    for (int64_t day = sd; day <= ed; day++) {
        uint64_t key = (uint64_t)(day + 1000000) * 1024 + (uint64_t)pc;
        recent *rc = recent_at(c, key, true);
        if (!rc)
            return TL_ERR_NOMEM;
        recent_push(rc, a->index);
        if ((int64_t)rc->cnt > best) {
            best = (int64_t)rc->cnt;
            best_day = day;
        }
    }
    if (best <= c->max)
        return TL_OK;
    uint64_t ents[64];
    size_t ne = 0;
    const recent *br = recent_at(c, (uint64_t)(best_day + 1000000) * 1024 + (uint64_t)pc, false);
    if (br)
        recent_list(br, ents, &ne, 64);
    buf w = {NULL, 0, 0, true};
    buf_fmt(&w, "%.2s: %lld such activities at once on ", from, (long long)best);
    buf_time(&w, best_day * DAY_MS);
    buf_fmt(&w, ", at most %lld", (long long)c->max);
    if (sub)
        buf_fmt(&w, " (its part of %s, aggregate per_state)", n->from);
    return static_finding(e, ri, sub, a->index, a->index + 1, TL_FINDING_BREACH, &w, from, ents,
                          ne);
}

static tl_err k_cal(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    char key[TL_RULE_WORD_MAX + 100];
    if (in_list(c->other, c->nother, a->type)) {
        int64_t year;
        const json_t *acts = body_get(n->body, c->activities);
        if (!body_int(n->body, c->year, &year) || !json_is_array(acts))
            return TL_OK;
        for (size_t i = 0; i < json_array_size(acts); i++) {
            const char *act;
            if (!body_str(json_array_get(acts, i), "activity", &act))
                continue;
            int kl = snprintf(key, sizeof key, "%.2s|%lld|%s", n->from, (long long)year, act);
            if (kl > 0 && (size_t)kl < sizeof key && !strmap_put(&c->s1, key, (size_t)kl, 1))
                return TL_ERR_NOMEM;
        }
    }
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    const char *act;
    int64_t t;
    bool isdate, flag = true, has_flag = c->flag && body_bool(n->body, c->flag, &flag);
    if (!body_str(n->body, "activity", &act) || !body_time(n->body, c->field, &t, &isdate))
        return TL_OK;
    int64_t year = year_of_ms(t);
    int kl = snprintf(key, sizeof key, "%.2s|%lld|%s", n->from, (long long)year, act);
    uint64_t v;
    bool listed = kl > 0 && (size_t)kl < sizeof key && strmap_get(&c->s1, key, (size_t)kl, &v);
    if (listed && (!has_flag || flag))
        return TL_OK;
    buf w = {NULL, 0, 0, true};
    char tname[32];
    ename(tname, e, a->index);
    if (has_flag && !flag)
        buf_fmt(&w, "%s: activity %s notified with %s false", tname, act, c->flag);
    else
        buf_fmt(&w, "%s: no %s from %.2s for %lld lists activity %s%s", tname, c->other_names,
                n->from, (long long)year, act,
                has_flag ? " (though the notification says it is in the calendar)" : "");
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, n->from, NULL,
                          0);
}

static tl_err k_dvo(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    const char *act;
    bool is_decl = in_list(c->other, c->nother, a->type), is_rep = in_list(c->on, c->non, a->type);
    if ((!is_decl && !is_rep) || !body_str(n->body, "activity", &act))
        return TL_OK;
    size_t al = strlen(act);
    if (is_decl) {
        /* A declaration: remember its values (NO_TIME for "not reported"). */
        char **nb = grow_array(c->blobs, &c->bcap, c->nblobs, sizeof *nb, 64);
        if (!nb)
            return TL_ERR_NOMEM;
        c->blobs = nb;
        int64_t *vals = malloc((MAX_PAIRS + 2) * sizeof *vals);
        if (!vals)
            return TL_ERR_NOMEM;
        vals[0] = (int64_t)a->index;
        vals[1] = pcode(n->from);
        for (size_t i = 0; i < c->npairs; i++)
            if (!body_int(n->body, c->pairs[i][0], &vals[2 + i]))
                vals[2 + i] = NO_TIME;
        c->blobs[c->nblobs] = (char *)vals;
        if (!strmap_put(&c->s1, act, al, c->nblobs++))
            return TL_ERR_NOMEM;
    }
    if (!is_rep)
        return TL_OK;
    uint64_t pos;
    if (!strmap_get(&c->s1, act, al, &pos))
        return TL_OK;
    const int64_t *dv = (const int64_t *)c->blobs[pos];
    buf over = {NULL, 0, 0, true}, cross = {NULL, 0, 0, true}, miss = {NULL, 0, 0, true};
    for (size_t i = 0; i < c->npairs; i++) {
        int64_t o;
        bool has_o = body_int(n->body, c->pairs[i][1], &o);
        int64_t d = dv[2 + i];
        if (has_o && d == NO_TIME && c->unreported_below) {
            /* "unreported below": a count the declaration leaves out is below every
             * threshold, so an observed value crossing one is a breach. */
            for (size_t k = 0; k < c->nthr; k++) {
                if (strcmp(c->thr[k].field, c->pairs[i][0]) != 0 || !cond_holds(&c->thr[k], o))
                    continue;
                buf_str(&cross, cross.len ? ", " : "");
                buf_fmt(&cross, "%s %lld %s %lld (declared: not reported)", c->pairs[i][1],
                        (long long)o, c->thr[k].gt ? ">" : ">=", (long long)c->thr[k].value);
            }
        }
        if (!has_o || d == NO_TIME) {
            if (has_o || d != NO_TIME) {
                buf_str(&miss, miss.len ? ", " : "");
                buf_fmt(&miss, "%s %s", has_o ? "declared" : "observed",
                        has_o ? c->pairs[i][0] : c->pairs[i][1]);
            }
            continue;
        }
        if (c->has_tol && o * 100 > d * (100 + c->tol)) {
            buf_str(&over, over.len ? ", " : "");
            buf_fmt(&over, "%s %lld vs declared %s %lld", c->pairs[i][1], (long long)o,
                    c->pairs[i][0], (long long)d);
        }
        for (size_t k = 0; k < c->nthr; k++) {
            if (strcmp(c->thr[k].field, c->pairs[i][0]) != 0)
                continue;
            if (cond_holds(&c->thr[k], o) && !cond_holds(&c->thr[k], d)) {
                buf_str(&cross, cross.len ? ", " : "");
                buf_fmt(&cross, "%s %lld %s %lld (declared %lld)", c->pairs[i][1], (long long)o,
                        c->thr[k].gt ? ">" : ">=", (long long)c->thr[k].value, (long long)d);
            }
        }
    }
    tl_err err = TL_OK;
    if (cross.len || over.len) {
        char rname[32], dname[32];
        ename(rname, e, a->index);
        ename(dname, e, (uint64_t)dv[0]);
        buf w = {NULL, 0, 0, true};
        buf_fmt(&w, "activity %s: %s observed ", act, rname);
        if (cross.len) {
            buf_str(&w, "crossing a threshold the declaration did not: ");
            buf_add(&w, cross.p, cross.len);
        }
        if (over.len) {
            buf_fmt(&w, "%sover the declaration of %s by more than %lld%%: ", cross.len ? "; " : "",
                    dname, (long long)c->tol);
            buf_add(&w, over.p, over.len);
        }
        if (miss.len) {
            buf_str(&w, "; not reported: ");
            buf_add(&w, miss.p, miss.len);
        }
        char host[3] = {0};
        if (dv[1] >= 0) {
            host[0] = (char)('A' + dv[1] / 26);
            host[1] = (char)('A' + dv[1] % 26);
        }
        uint64_t ents[1] = {(uint64_t)dv[0]};
        err = static_finding(e, ri, 0, a->index, a->index + 1,
                             cross.len ? TL_FINDING_BREACH : TL_FINDING_ADVISORY, &w,
                             host[0] ? host : NULL, ents, 1);
    }
    free(over.p);
    free(cross.p);
    free(miss.p);
    return err;
}

static tl_err k_near(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    int64_t v;
    if (!in_list(c->on, c->non, a->type) || !body_int(a->n->body, c->field, &v))
        return TL_OK;
    int64_t lo = (c->threshold * (100 - c->margin) + 99) / 100;
    if (v < lo || v >= c->threshold)
        return TL_OK;
    char tname[32];
    ename(tname, e, a->index);
    buf w = {NULL, 0, 0, true};
    int64_t tenths = v * 1000 / c->threshold;
    buf_fmt(&w, "%s: %s %lld is %lld.%lld%% of %lld (within %lld%% below it)", tname, c->field,
            (long long)v, (long long)(tenths / 10), (long long)(tenths % 10),
            (long long)c->threshold, (long long)c->margin);
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, a->n->from,
                          NULL, 0);
}

static tl_err k_serial(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    int pc = pcode(a->n->from);
    if (pc < 0)
        return TL_OK;
    uint64_t last = c->last_serial[pc], s = a->n->serial;
    uint64_t prev = c->last_index[pc];
    if (s > last) {
        c->last_serial[pc] = s;
        c->last_index[pc] = a->index;
    }
    if (s == last + 1)
        return TL_OK;
    buf w = {NULL, 0, 0, true};
    if (s <= last)
        buf_fmt(&w, "%.2s serial %llu repeats or goes back (highest so far %llu)", a->n->from,
                (unsigned long long)s, (unsigned long long)last);
    else if (s == last + 2)
        buf_fmt(&w, "%.2s serial %llu after %llu: serial %llu missing", a->n->from,
                (unsigned long long)s, (unsigned long long)last, (unsigned long long)(last + 1));
    else
        buf_fmt(&w, "%.2s serial %llu after %llu: serials %llu to %llu missing", a->n->from,
                (unsigned long long)s, (unsigned long long)last, (unsigned long long)(last + 1),
                (unsigned long long)(s - 1));
    uint64_t ents[1] = {prev};
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_BREACH, &w, a->n->from, ents,
                          last ? 1 : 0);
}

static tl_err k_skew(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    int64_t sent = a->n->sent * 1000, diff = a->logged_ms - sent;
    if (diff < 0)
        diff = -diff;
    if (diff <= c->tol * 1000)
        return TL_OK;
    char tname[32];
    ename(tname, e, a->index);
    buf w = {NULL, 0, 0, true};
    buf_fmt(&w, "%s: sent ", tname);
    buf_time(&w, sent);
    buf_str(&w, ", logged ");
    buf_time(&w, a->logged_ms);
    buf_fmt(&w, ": more than %lld s apart", (long long)c->tol);
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, a->n->from,
                          NULL, 0);
}

static tl_err k_share(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    if (a->n->to_all) /* why derived when listed: rules_desc */
        return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_MET, NULL, a->n->from,
                              NULL, 0);
    char tname[32];
    ename(tname, e, a->index);
    buf w = {NULL, 0, 0, true};
    buf_fmt(&w, "%s is addressed to ", tname);
    for (size_t i = 0; i < a->n->nto; i++)
        buf_fmt(&w, "%s%s", i ? ", " : "", a->n->to[i]);
    buf_str(&w, " only, not to all (\"*\")");
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, a->n->from,
                          NULL, 0);
}

static tl_err k_content(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    if (in_list(c->other, c->nother, a->type)) {
        const json_t *q = body_get(n->body, c->questions);
        if (json_is_array(q) && json_array_size(q)) {
            buf b = {NULL, 0, 0, true};
            for (size_t i = 0; i < json_array_size(q); i++) {
                const char *s = json_string_value(json_array_get(q, i));
                if (s)
                    buf_add(&b, s, strlen(s) + 1); /* NUL-separated */
            }
            buf_add(&b, "", 1);
            char *blob = bdone(&b);
            if (!blob)
                return TL_ERR_NOMEM;
            char **nb = grow_array(c->blobs, &c->bcap, c->nblobs, sizeof *nb, 64);
            if (!nb) {
                free(blob);
                return TL_ERR_NOMEM;
            }
            c->blobs = nb;
            c->blobs[c->nblobs] = blob;
            if (!u64map_put(&c->m1, a->index, c->nblobs++))
                return TL_ERR_NOMEM;
        }
    }
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    const json_t *ans = body_get(n->body, c->answers);
    for (size_t k = 0; k < n->nrefs; k++) {
        uint64_t t, pos;
        if (!leafmap_get(&e->leaves, n->refs[k], &t) || !u64map_get(&c->m1, t, &pos))
            continue;
        buf miss = {NULL, 0, 0, true};
        size_t nmiss = 0;
        for (const char *q = c->blobs[pos]; *q; q += strlen(q) + 1) {
            const json_t *v = json_is_object(ans) ? json_object_get(ans, q) : NULL;
            if (v && !json_is_null(v))
                continue;
            buf_str(&miss, nmiss++ ? ", " : "");
            buf_str(&miss, q);
        }
        if (!nmiss) {
            free(miss.p);
            continue;
        }
        char rname[32], tname[32];
        ename(rname, e, a->index);
        ename(tname, e, t);
        buf w = {NULL, 0, 0, true};
        buf_fmt(&w, "%s leaves %zu question%s of %s without an answer: ", rname, nmiss,
                nmiss == 1 ? "" : "s", tname);
        buf_add(&w, miss.p, miss.len);
        free(miss.p);
        uint64_t ents[1] = {t};
        tl_err err = static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w,
                                    n->from, ents, 1);
        if (err != TL_OK)
            return err;
        break; /* one finding per reply */
    }
    return TL_OK;
}

static tl_err k_absent(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    const json_t *l = body_get(a->n->body, c->list);
    if (!json_is_array(l))
        return TL_OK;
    char tname[32];
    ename(tname, e, a->index);
    for (size_t i = 0; i < json_array_size(l); i++) {
        const char *p = json_string_value(json_array_get(l, i));
        if (!p || !tl_value_party(p, strlen(p)))
            continue;
        buf w = {NULL, 0, 0, true};
        buf_fmt(&w, "%s listed as absent (%s) in %s", p, c->list, tname);
        tl_err err = static_finding(e, ri, (uint32_t)(i + 1), a->index, a->index + 1,
                                    TL_FINDING_ADVISORY, &w, p, NULL, 0);
        if (err != TL_OK)
            return err;
    }
    return TL_OK;
}

typedef struct ev {
    int64_t day, delta;
} ev;

static int cmp_ev(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->delta < y->delta ? -1 : x->delta > y->delta; /* ends before starts */
}

static tl_err k_peak(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    if (!in_list(c->on, c->non, a->type))
        return TL_OK;
    const json_t *st = body_get(a->n->body, c->stages);
    size_t ns = json_array_size(st);
    if (!json_is_array(st) || ns == 0)
        return TL_OK;
    if (ns > 1024)
        ns = 1024;
    ev *evs = malloc(2 * ns * sizeof *evs);
    if (!evs)
        return TL_ERR_NOMEM;
    size_t ne = 0;
    for (size_t i = 0; i < ns; i++) {
        const json_t *s = json_array_get(st, i);
        int64_t f, t, v;
        bool d1, d2;
        if (!body_time(s, "from", &f, &d1) || !body_time(s, "to", &t, &d2) ||
            !body_int(s, c->count, &v) || t < f)
            continue;
        evs[ne++] = (ev){f / DAY_MS, v};
        evs[ne++] = (ev){t / DAY_MS + 1, -v};
    }
    qsort(evs, ne, sizeof *evs, cmp_ev);
    int64_t cur = 0, peak = 0, peak_day = 0;
    for (size_t i = 0; i < ne; i++) {
        cur += evs[i].delta;
        if (cur > peak) {
            peak = cur;
            peak_day = evs[i].day;
        }
    }
    free(evs);
    if (!ne)
        return TL_OK;
    char tname[32];
    ename(tname, e, a->index);
    int64_t stated;
    buf w = {NULL, 0, 0, true};
    if (!body_int(a->n->body, c->field, &stated)) {
        buf_fmt(&w, "%s: %s not reported; its %s give a peak of %lld %s on ", tname, c->field,
                c->stages, (long long)peak, c->count);
        buf_time(&w, peak_day * DAY_MS);
        return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, a->n->from,
                              NULL, 0);
    }
    if (stated >= peak) {
        free(w.p);
        return TL_OK;
    }
    buf_fmt(&w, "%s: stated %s %lld is below the peak of %lld %s at one time its %s give (on ",
            tname, c->field, (long long)stated, (long long)peak, c->count, c->stages);
    buf_time(&w, peak_day * DAY_MS);
    buf_str(&w, ")");
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_BREACH, &w, a->n->from, NULL,
                          0);
}

/* field-span: two times of one body (or, with "from-in TYPE", `from` of the entry of TYPE the
 * trigger references) at most max-hours apart, or more than min-hours apart. m1: entry of
 * TYPE -> its `from` time. */
static tl_err k_span(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    int64_t f, t;
    bool d1, d2;
    if (c->from_in && a->type == c->from_in) {
        /* "from logged": the referenced entry's own logged time. */
        bool has = !strcmp(c->span_from, "logged") ? (f = a->logged_ms, true)
                                                   : body_time(a->n->body, c->span_from, &f, &d1);
        if (has && !u64map_put(&c->m1, a->index, (uint64_t)f))
            return TL_ERR_NOMEM;
    }
    if (!in_list(c->on, c->non, a->type) || !when_ok(c, a->n->body))
        return TL_OK;
    uint64_t src = a->index;
    if (c->from_in) {
        src = NONE;
        for (size_t k = 0; k < a->n->nrefs && src == NONE; k++) {
            uint64_t x, v;
            if (leafmap_get(&e->leaves, a->n->refs[k], &x) && e->ents[x].type == c->from_in &&
                u64map_get(&c->m1, x, &v)) {
                src = x;
                f = (int64_t)v;
            }
        }
        if (src == NONE)
            return TL_OK;
    } else if (!body_time(a->n->body, c->span_from, &f, &d1)) {
        return TL_OK; /* a time not given (or null): nothing to judge */
    }
    if (!body_time(a->n->body, c->span_to, &t, &d2))
        return TL_OK;
    if (c->has_min ? t - f > c->min_ms : t - f <= c->span_ms)
        return TL_OK;
    char tname[32], sname[32];
    ename(tname, e, a->index);
    ename(sname, e, src);
    buf w = {NULL, 0, 0, true};
    buf_fmt(&w, "%s: %s ", tname, c->span_to);
    buf_time(&w, t);
    buf_fmt(&w, " is %s %lld hours after %s ", c->has_min ? "not more than" : "more than",
            (long long)((c->has_min ? c->min_ms : c->span_ms) / HOUR_MS), c->span_from);
    if (src != a->index)
        buf_fmt(&w, "of %s ", sname);
    buf_time(&w, f);
    uint64_t ents[1] = {src};
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, a->n->from,
                          ents, src != a->index ? 1 : 0);
}

/* limit: a value over a limit in one message. */
static tl_err k_limit(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    if (!in_list(c->on, c->non, a->type) || !when_ok(c, a->n->body))
        return TL_OK;
    buf why = {NULL, 0, 0, true};
    if (!any_crosses(c->any, c->nany, a->n->body, &why)) {
        free(why.p);
        return TL_OK;
    }
    char tname[32];
    ename(tname, e, a->index);
    buf w = {NULL, 0, 0, true};
    buf_fmt(&w, "%s: ", tname);
    buf_add(&w, why.p ? why.p : "", why.len);
    free(why.p);
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, a->n->from,
                          NULL, 0);
}

/* linked: activities of one sender, each under every threshold, that overlap in time and lie
 * close together, whose counts summed cross one (domain.md §3.3.2: one operation split into
 * several activities). The distance is between the centroids (mean vertex) of the areas'
 * polygons, on the sphere (equirectangular approximation: well under 1 % off at a few hundred
 * km). State: m1 sender -> position+1 of its latest record in blobs (records chain back). */
typedef struct lrec {
    uint64_t index, prev; /* prev: position+1 of the sender's previous record, 0 none */
    int64_t s, e;         /* first and last day */
    double lat, lon;      /* radians */
    int64_t v[MAX_CONDS];
    bool has[MAX_CONDS];
} lrec;

#define LINKED_SCAN 512 /* earlier activities of the sender looked at */

static double cos_d(double x) /* |x| <= pi/2 */
{
    double x2 = x * x, term = 1, sum = 1;
    for (int k = 1; k < 12; k++) {
        term *= -x2 / (double)((2 * k - 1) * (2 * k));
        sum += term;
    }
    return sum;
}

static bool area_centroid(const json_t *area, double *lat, double *lon)
{
    const json_t *poly = json_object_get(area, "polygon");
    size_t np = json_array_size(poly);
    if (!json_is_array(poly) || np == 0)
        return false;
    double sl = 0, so = 0;
    for (size_t i = 0; i < np; i++) {
        const json_t *pt = json_array_get(poly, i);
        const char *a = json_string_value(json_array_get(pt, 0));
        const char *b = json_string_value(json_array_get(pt, 1));
        int32_t la, lo;
        if (!a || !b || tl_value_degrees(a, strlen(a), &la) != TL_OK ||
            tl_value_degrees(b, strlen(b), &lo) != TL_OK)
            return false;
        sl += la;
        so += lo;
    }
    const double rad = 3.14159265358979323846 / 180e6;
    *lat = sl / (double)np * rad;
    *lon = so / (double)np * rad;
    return true;
}

/* Whether x and y lie within km of each other (no square root: squared distances). */
static bool within_km(const lrec *x, const lrec *y, int64_t km)
{
    const double pi = 3.14159265358979323846;
    double dlon = x->lon - y->lon;
    while (dlon > pi)
        dlon -= 2 * pi;
    while (dlon < -pi)
        dlon += 2 * pi;
    double dx = dlon * cos_d((x->lat + y->lat) / 2), dy = x->lat - y->lat;
    double lim = (double)km / 6371.0088; /* mean Earth radius, km */
    return dx * dx + dy * dy <= lim * lim;
}

static tl_err k_linked(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    const tl_notification *n = a->n;
    int pc = pcode(n->from);
    if (!in_list(c->on, c->non, a->type) || pc < 0 || !flags_ok(c, n->body))
        return TL_OK;
    lrec r;
    memset(&r, 0, sizeof r);
    r.index = a->index;
    int64_t s, en;
    bool d1, d2;
    if (!body_time(n->body, c->start, &s, &d1) || !body_time(n->body, c->end, &en, &d2) || en < s ||
        !area_centroid(body_get(n->body, c->list), &r.lat, &r.lon))
        return TL_OK;
    r.s = s / DAY_MS;
    r.e = en / DAY_MS;
    for (size_t i = 0; i < c->nany; i++) {
        r.has[i] = body_int(n->body, c->any[i].field, &r.v[i]);
        if (r.has[i] && cond_holds(&c->any[i], r.v[i]))
            return TL_OK; /* over a threshold on its own: other rules judge it */
    }
    uint64_t head = 0;
    (void)u64map_get(&c->m1, (uint64_t)pc, &head);
    r.prev = head;
    /* The earlier activities linked to this one, and the sums. */
    int64_t sum[MAX_CONDS];
    for (size_t i = 0; i < c->nany; i++)
        sum[i] = r.has[i] ? r.v[i] : 0;
    uint64_t ents[64];
    size_t ne = 0;
    size_t scanned = 0;
    for (uint64_t p = head; p && scanned < LINKED_SCAN; scanned++) {
        const lrec *o = (const lrec *)c->blobs[p - 1];
        p = o->prev;
        int64_t lo = o->s > r.s ? o->s : r.s, hi = o->e < r.e ? o->e : r.e;
        if (hi - lo + 1 < c->days || !within_km(o, &r, c->max))
            continue;
        if (ne < 64)
            ents[ne++] = o->index;
        for (size_t i = 0; i < c->nany; i++)
            if (o->has[i])
                sum[i] += o->v[i];
    }
    /* Keep this one. */
    char **nb = grow_array(c->blobs, &c->bcap, c->nblobs, sizeof *nb, 64);
    if (!nb)
        return TL_ERR_NOMEM;
    c->blobs = nb;
    lrec *keep = malloc(sizeof *keep);
    if (!keep)
        return TL_ERR_NOMEM;
    *keep = r;
    c->blobs[c->nblobs++] = (char *)keep;
    if (!u64map_put(&c->m1, (uint64_t)pc, c->nblobs))
        return TL_ERR_NOMEM;
    if (!ne)
        return TL_OK;
    buf d = {NULL, 0, 0, true};
    bool crossed = false;
    for (size_t i = 0; i < c->nany; i++) {
        if (!cond_holds(&c->any[i], sum[i]))
            continue;
        buf_str(&d, crossed ? ", " : "");
        buf_str(&d, "sum of ");
        cond_text(&d, &c->any[i], sum[i]);
        crossed = true;
    }
    if (!crossed) {
        free(d.p);
        return TL_OK;
    }
    char tname[32];
    ename(tname, e, a->index);
    buf w = {NULL, 0, 0, true};
    buf_fmt(&w,
            "%s and %zu other activit%s of %.2s, each under the thresholds, overlap it by %lld "
            "day%s or more within %lld km: ",
            tname, ne, ne == 1 ? "y" : "ies", n->from, (long long)c->days, c->days == 1 ? "" : "s",
            (long long)c->max);
    buf_add(&w, d.p ? d.p : "", d.len);
    free(d.p);
    return static_finding(e, ri, 0, a->index, a->index + 1, TL_FINDING_ADVISORY, &w, n->from, ents,
                          ne);
}

/* due-date: an entry of the type counts on time for the year whose window holds it, and
 * resolves the previous year's missed finding as late. */
static int64_t due_ms(const crule *c, int64_t year)
{
    return (days_from_civil(year, c->due_m, c->due_d) + 1) * DAY_MS - 1;
}

static tl_err k_due(const addctx *a, size_t ri)
{
    tl_engine *e = a->e;
    crule *c = &e->rules[ri];
    int pc = pcode(a->n->from);
    if (!in_list(c->on, c->non, a->type) || pc < 0)
        return TL_OK;
    int64_t y = year_of_ms(a->logged_ms);
    if (a->logged_ms > due_ms(c, y))
        y++;
    uint64_t v;
    if (a->logged_ms > due_ms(c, y) - c->window_days * DAY_MS) {
        uint64_t k = (uint64_t)pc * 100000 + (uint64_t)y;
        if (!u64map_get(&c->m1, k, &v) && !u64map_put(&c->m1, k, a->index))
            return TL_ERR_NOMEM;
    }
    /* The first entry after the previous due date: late for that year. */
    uint64_t kp = (uint64_t)pc * 100000 + (uint64_t)(y - 1);
    if (!u64map_get(&c->m2, kp, &v)) {
        if (!u64map_put(&c->m2, kp, a->index))
            return TL_ERR_NOMEM;
        uint64_t id;
        if (u64map_get(&c->m3, kp, &id) && e->f[id].reply == NONE)
            e->f[id].reply = a->index;
    }
    return TL_OK;
}

/* ---------------------------------------------------------------------------------------
 * Feeding the engine.
 */

static tl_err grow_entries(tl_engine *e)
{
    entry *ne = grow_array(e->ents, &e->ecap, e->n, sizeof *ne, 1024);
    if (!ne)
        return TL_ERR_NOMEM;
    e->ents = ne;
    return TL_OK;
}

tl_err tl_engine_skip(tl_engine *e, uint64_t index, uint64_t logged_ms)
{
    if (index != e->n)
        return TL_ERR_USAGE;
    if (logged_ms > TIME_MAX_MS)
        logged_ms = TIME_MAX_MS;
    if (e->n && (int64_t)logged_ms < e->ents[e->n - 1].logged_ms)
        logged_ms = (uint64_t)e->ents[e->n - 1].logged_ms; /* no time of its own (e.g. 0) */
    if (grow_entries(e) != TL_OK)
        return TL_ERR_NOMEM;
    entry *en = &e->ents[e->n];
    memset(en, 0, sizeof *en);
    en->logged_ms = (int64_t)logged_ms;
    en->from[0] = '-';
    en->from[1] = '-';
    e->n++;
    return TL_OK;
}

/* Voids the findings of every entry of the same sender that n references (from index on). */
static tl_err withdraw_refs(tl_engine *e, uint64_t index, const tl_notification *n)
{
    for (size_t k = 0; k < n->nrefs; k++) {
        uint64_t t, w;
        if (!leafmap_get(&e->leaves, n->refs[k], &t) || memcmp(e->ents[t].from, n->from, 2) != 0)
            continue;
        if (u64map_get(&e->withdrawn, t, &w))
            continue;
        if (!u64map_put(&e->withdrawn, t, index))
            return TL_ERR_NOMEM;
        uint64_t id = NONE;
        (void)u64map_get(&e->trig_head, t, &id);
        for (; id != NONE; id = e->f[id].next_trig)
            if (e->f[id].voided == NONE)
                e->f[id].voided = index;
    }
    return TL_OK;
}

tl_err tl_engine_add(tl_engine *e, uint64_t index, uint64_t logged_ms,
                     const uint8_t leaf[TL_HASH_LEN], const tl_notification *n, tl_diag *d)
{
    if (index != e->n)
        return tl_fail(d, TL_ERR_USAGE, "rules: entry %llu given where %llu was expected",
                       (unsigned long long)index, (unsigned long long)e->n);
    if (logged_ms > TIME_MAX_MS)
        return tl_fail(d, TL_ERR_USAGE, "rules: entry %llu logged after the year 9999",
                       (unsigned long long)index);
    if (e->n && (int64_t)logged_ms < e->ents[e->n - 1].logged_ms)
        return tl_fail(d, TL_ERR_USAGE, "rules: entry %llu logged before the entry preceding it",
                       (unsigned long long)index);
    if (grow_entries(e) != TL_OK)
        return tl_fail(d, TL_ERR_NOMEM, "out of memory");
    uint16_t type = type_id(e, n->type);
    entry *en = &e->ents[e->n];
    en->logged_ms = (int64_t)logged_ms;
    en->serial = n->serial;
    memcpy(en->from, n->from, 2);
    en->type = type;
    e->n++;
    if (type && !leafmap_put(&e->leaves, leaf, index))
        return tl_fail(d, TL_ERR_NOMEM, "out of memory");
    tl_err err = TL_OK;
    const char *action;
    if (type && type == e->correction_type && body_str(n->body, "action", &action) &&
        !strcmp(action, "withdraw"))
        err = withdraw_refs(e, index, n);
    addctx a = {e, index, (int64_t)logged_ms, n, type};
    for (uint32_t di = e->disp_off[type]; err == TL_OK && di < e->disp_off[type + 1]; di++) {
        size_t i = e->disp[di];
        switch (e->rules[i].kind) {
        case K_REPLY:
            err = k_reply(&a, i);
            break;
        case K_ADVANCE:
            err = k_advance(&a, i);
            break;
        case K_THRESHOLD:
            err = k_threshold(&a, i);
            break;
        case K_DUE:
            err = k_due(&a, i);
            break;
        case K_QUOTA:
            err = k_quota(&a, i);
            break;
        case K_COUNT:
            err = k_count(&a, i);
            break;
        case K_CONC:
            err = k_conc(&a, i);
            break;
        case K_CAL:
            err = k_cal(&a, i);
            break;
        case K_DVO:
            err = k_dvo(&a, i);
            break;
        case K_NEAR:
            err = k_near(&a, i);
            break;
        case K_SERIAL:
            err = k_serial(&a, i);
            break;
        case K_SKEW:
            err = k_skew(&a, i);
            break;
        case K_SHARE:
            err = k_share(&a, i);
            break;
        case K_CONTENT:
            err = k_content(&a, i);
            break;
        case K_ABSENT:
            err = k_absent(&a, i);
            break;
        case K_PEAK:
            err = k_peak(&a, i);
            break;
        case K_SPAN:
            err = k_span(&a, i);
            break;
        case K_LIMIT:
            err = k_limit(&a, i);
            break;
        case K_LINKED:
            err = k_linked(&a, i);
            break;
        case K_WITHDRAWAL:
            if (in_list(e->rules[i].on, e->rules[i].non, type) && when_ok(&e->rules[i], n->body))
                err = withdraw_refs(e, index, n);
            break;
        case K_OPTIME:
        case K_NKINDS:
            break;
        }
    }
    if (err != TL_OK)
        return tl_fail(d, err, "rules: %s", tl_strerror(err));
    return TL_OK;
}

/* First index >= from whose logged is after ms, or e->n. */
uint64_t rules_first_after(const tl_engine *e, uint64_t from, int64_t ms)
{
    uint64_t lo = from, hi = e->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (e->ents[mid].logged_ms > ms)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static tl_err optime(tl_engine *e, size_t ri, uint64_t from, uint64_t size, int64_t before_s,
                     bool has_after, int64_t after_s)
{
    crule *c = &e->rules[ri];
    /* Cosignature times are whole seconds: an entry logged within the second the witnesses
     * stamped is not after it (decision 0003: logged/1000 > before). */
    for (uint64_t i = rules_first_after(e, from, before_s * 1000 + 999); i < size; i++) {
        char nm[32];
        ename(nm, e, i);
        buf w = {NULL, 0, 0, true};
        buf_fmt(&w, "entry %llu (%s) logged ", (unsigned long long)i, nm);
        buf_time(&w, e->ents[i].logged_ms);
        buf_fmt(&w, ", after the witness time ");
        buf_time(&w, before_s * 1000);
        buf_fmt(&w, " of the first witnessed checkpoint containing it (size %llu)",
                (unsigned long long)size);
        tl_err err = static_finding(e, ri, 0, i, size, TL_FINDING_OPERATOR_TIME, &w, NULL, NULL, 0);
        if (err != TL_OK)
            return err;
    }
    if (!has_after)
        return TL_OK;
    int64_t lim = (after_s - c->tol) * 1000;
    for (uint64_t i = from; i < size && e->ents[i].logged_ms < lim; i++) {
        char nm[32];
        ename(nm, e, i);
        buf w = {NULL, 0, 0, true};
        buf_fmt(&w, "entry %llu (%s) logged ", (unsigned long long)i, nm);
        buf_time(&w, e->ents[i].logged_ms);
        buf_fmt(&w, ", more than %lld s before the witness time ", (long long)c->tol);
        buf_time(&w, after_s * 1000);
        buf_fmt(&w, " of the last witnessed checkpoint without it (size %llu)",
                (unsigned long long)from);
        tl_err err = static_finding(e, ri, 1, i, size, TL_FINDING_OPERATOR_TIME, &w, NULL, NULL, 0);
        if (err != TL_OK)
            return err;
    }
    return TL_OK;
}

static tl_err due_pass(tl_engine *e, size_t ri, uint64_t size, int64_t w_s)
{
    crule *c = &e->rules[ri];
    if (!c->due_started) {
        if (!e->n)
            return TL_OK;
        c->due_year = year_of_ms(e->ents[0].logged_ms);
        if (due_ms(c, c->due_year) < e->ents[0].logged_ms)
            c->due_year++;
        c->due_started = true;
    }
    while (size > 0 && due_ms(c, c->due_year) < w_s * 1000) {
        int64_t y = c->due_year++, due = due_ms(c, y);
        for (size_t p = 0; e->reg && e->reg->genesis && p < e->reg->nparties; p++) {
            const char *code = e->reg->parties[p].code;
            int pc = pcode(code);
            uint64_t v, k = (uint64_t)pc * 100000 + (uint64_t)y;
            /* On time = in the window by logged and inside this checkpoint: an entry after it
             * cannot be, whenever this engine hears of the checkpoint (determinism). */
            if (pc < 0 || (u64map_get(&c->m1, k, &v) && v < size))
                continue;
            buf d = {NULL, 0, 0, true};
            buf_fmt(&d, "%s from %s for %lld", tl_rule_param(c->r, "on", 0, 0), code, (long long)y);
            char *ws = bdone(&d);
            if (!ws)
                return TL_ERR_NOMEM;
            uint64_t id = new_finding(e, ri, (uint32_t)(p + 1), size - 1, size, FK_DEADLINE,
                                      TL_FINDING_PENDING, ws);
            if (id == NONE)
                return TL_ERR_NOMEM;
            finding *f = &e->f[id];
            f->due_ms = due;
            f->range_from = rules_first_after(e, 0, due - c->window_days * DAY_MS);
            if (f->range_from > size - 1)
                f->range_from = size - 1;
            add_party(f, code);
            if (u64map_get(&c->m2, k, &v))
                f->reply = v;
            if (!u64map_put(&c->m3, k, id))
                return TL_ERR_NOMEM;
        }
    }
    return TL_OK;
}

tl_err tl_engine_witnessed(tl_engine *e, uint64_t size, int64_t witness_time_s, tl_diag *d)
{
    if (size > e->n)
        return tl_fail(d, TL_ERR_USAGE, "rules: checkpoint of size %llu beyond the %llu entries",
                       (unsigned long long)size, (unsigned long long)e->n);
    if (e->ncps && size < e->cps[e->ncps - 1].size)
        return tl_fail(d, TL_ERR_USAGE, "rules: checkpoint sizes must not decrease");
    if (witness_time_s > TIME_MAX_MS / 1000 || witness_time_s < 0)
        return tl_fail(d, TL_ERR_USAGE, "rules: witness time outside 1970..9999");
    checkpoint *ncp = grow_array(e->cps, &e->cpcap, e->ncps, sizeof *ncp, 64);
    if (!ncp)
        return tl_fail(d, TL_ERR_NOMEM, "out of memory");
    e->cps = ncp;
    bool has_prev = e->ncps > 0;
    uint64_t prev_size = has_prev ? e->cps[e->ncps - 1].size : 0;
    int64_t prev_max = has_prev ? e->cps[e->ncps - 1].max_s : 0;
    checkpoint *cp = &e->cps[e->ncps++];
    cp->size = size;
    cp->time_s = witness_time_s;
    cp->max_s = has_prev && prev_max > witness_time_s ? prev_max : witness_time_s;
    tl_err err = TL_OK;
    for (size_t i = 0; err == TL_OK && i < e->nrules; i++) {
        if (e->rules[i].kind == K_OPTIME && size > prev_size)
            err = optime(e, i, prev_size, size, witness_time_s, has_prev, prev_max);
        else if (e->rules[i].kind == K_DUE)
            err = due_pass(e, i, size, cp->max_s);
    }
    if (err != TL_OK)
        return tl_fail(d, err, "rules: %s", tl_strerror(err));
    return TL_OK;
}

uint64_t tl_engine_size_at(const tl_engine *e, int64_t time_s)
{
    size_t lo = 0, hi = e->ncps; /* max_s never decreases: the first checkpoint past time_s */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->cps[mid].max_s <= time_s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? e->cps[lo - 1].size : 0;
}

/* For findings.c. */
const char *rules_rule_id(const tl_engine *e, uint32_t ri)
{
    return e->rules[ri].id;
}

const char *rules_rule_severity(const tl_engine *e, uint32_t ri)
{
    return e->rules[ri].severity;
}

const tl_rule *rules_rule(const tl_engine *e, uint32_t ri)
{
    return e->rules[ri].r;
}

bool rules_rule_met_by(const tl_engine *e, uint32_t ri)
{
    return e->rules[ri].met_by != NULL;
}

void rules_desc(const tl_engine *e, const finding *f, buf *b)
{
    const crule *c = &e->rules[f->rule];
    char tname[32];
    ename(tname, e, f->trigger);
    uint16_t t = e->ents[f->trigger].type;
    const char *tn = t ? e->type_names[t - 1] : "?";
    switch (c->kind) {
    case K_REPLY:
        buf_str(b, c->other_names);
        buf_str(b, " from ");
        if (!f->nparties && c->pmode == PM_ROLE) {
            buf_str(b, "the holder of role ");
            buf_str(b, c->prole);
        } else if (!f->nparties) {
            buf_str(b, "any other party");
        }
        for (size_t j = 0; j < f->nparties; j++) {
            if (j)
                buf_str(b, " or ");
            buf_str(b, f->parties[j]);
        }
        buf_str(b, " referencing ");
        buf_str(b, tname);
        if (c->met_by) {
            buf_str(b, " with ");
            buf_str(b, c->met_by);
        }
        break;
    case K_ADVANCE:
        if (c->days >= 0)
            buf_fmt(b, "%s (%s) logged %lld days or more before %s ", tname, tn, (long long)c->days,
                    c->field);
        else if (c->has_before)
            buf_fmt(b, "%s (%s) logged %lld hours or more before %s ", tname, tn,
                    (long long)(c->before_ms / HOUR_MS), c->field);
        else
            buf_fmt(b, "%s (%s) logged at most %lld hours after %s ", tname, tn,
                    (long long)(c->grace_ms / HOUR_MS), c->field);
        buf_time(b, f->aux_ms);
        break;
    case K_SHARE:
        buf_fmt(b, "%s is addressed to all (\"*\")", tname);
        break;
    default:
        buf_str(b, "?");
        break;
    }
}
