/* findings.c - the state of each finding as of a view (a log size and the witnessed
 * checkpoints up to it) and its canonical JSON line, the FINDING of
 * docs/decisions/0003-treaty-api.md:
 *
 *   {"id":..,"rule":..,"state":..,"severity":..,"parties":[..],"trigger":N,"entries":[..],
 *    "due":"..."|null,"why":"..","params":{..},"confidence":"..","range":[from,to]|null}
 *
 * Deadlines use the time bounds of 0003: the answering entry's `before` bound (witness time of
 * the first witnessed checkpoint containing it) at or before the deadline -> met; its `after`
 * bound (the last witnessed checkpoint without it) past the deadline -> late; otherwise its
 * `logged` decides. With no answer, a witnessed checkpoint past the deadline -> missed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

static const char *const STATE_NAMES[] = {"pending", "met",      "missed", "late",
                                          "breach",  "advisory", "void",   "operator-time"};

const char *tl_finding_state_name(tl_finding_state s)
{
    if ((unsigned)s < sizeof STATE_NAMES / sizeof STATE_NAMES[0])
        return STATE_NAMES[s];
    return "unknown";
}

typedef struct view {
    const tl_engine *e;
    uint64_t size;
    size_t ncp; /* checkpoints of size <= size */
} view;

/* Number of checkpoints (of the view) whose size is <= x. */
static size_t cps_upto(const view *v, uint64_t x)
{
    size_t lo = 0, hi = v->ncp;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->e->cps[mid].size <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The deadline of f in the view: moved by a receipt anchor once that is in the view. */
static int64_t due_at(const view *v, const finding *f)
{
    return f->anchor != NONE && f->anchor < v->size ? f->anchor_due_ms : f->due_ms;
}

static bool reply_met(const view *v, const finding *f)
{
    int64_t due = due_at(v, f);
    if (f->reply_ms != NO_TIME)
        return f->reply_ms <= due;
    uint64_t r = f->reply;
    size_t k = cps_upto(v, r); /* cps[0..k) did not contain r; cps[k] (if any) did */
    if (k < v->ncp && v->e->cps[k].time_s * 1000 <= due)
        return true;
    if (k > 0 && v->e->cps[k - 1].max_s * 1000 > due)
        return false;
    return v->e->ents[r].logged_ms <= due;
}

static tl_finding_state state_of(const view *v, const finding *f)
{
    if (f->voided != NONE && f->voided < v->size)
        return TL_FINDING_VOID;
    if (f->kind == FK_STATIC)
        return (tl_finding_state)f->state;
    if (f->reply != NONE && f->reply < v->size)
        return reply_met(v, f) ? TL_FINDING_MET : TL_FINDING_LATE;
    if (v->ncp && v->e->cps[v->ncp - 1].max_s * 1000 > due_at(v, f))
        return TL_FINDING_MISSED;
    return TL_FINDING_PENDING;
}

static void ename(char out[32], const tl_engine *e, uint64_t i)
{
    snprintf(out, 32, "%.2s/%llu", e->ents[i].from, (unsigned long long)e->ents[i].serial);
}

static void add_why(buf *b, const view *v, const finding *f, tl_finding_state st)
{
    const tl_engine *e = v->e;
    char nm[32];
    if (st == TL_FINDING_VOID) {
        ename(nm, e, f->voided);
        buf_str(b, "void: ");
        char tn[32];
        ename(tn, e, f->trigger);
        if (f->void_kind == 1)
            buf_fmt(b, "%s amended by %s so that the rule no longer applies; was: ", tn, nm);
        else if (f->void_kind == 2)
            buf_fmt(b, "%s refused by %s, so the deadline no longer applies; was: ", tn, nm);
        else
            buf_fmt(b, "%s withdrawn by %s; was: ", tn, nm);
    }
    buf desc = {NULL, 0, 0, true};
    const char *why = f->why;
    if (!why) {
        rules_desc(e, f, &desc);
        why = desc.ok && desc.p ? desc.p : "";
    }
    if (f->kind == FK_STATIC) {
        buf_str(b, why);
        free(desc.p);
        if (!desc.ok)
            b->ok = false;
        return;
    }
    const view *dv = v;
    view vv;
    if (st == TL_FINDING_VOID) {
        vv = (view){v->e, f->voided, cps_upto(v, f->voided)};
        dv = &vv;
        st = state_of(dv, f);
    }
    int64_t due = due_at(dv, f);
    switch (st) {
    case TL_FINDING_PENDING:
        buf_str(b, "awaiting ");
        buf_str(b, why);
        buf_str(b, " by ");
        buf_time(b, due);
        break;
    case TL_FINDING_MISSED:
        buf_str(b, "no ");
        buf_str(b, why);
        buf_str(b, " by ");
        buf_time(b, due);
        break;
    case TL_FINDING_MET:
    case TL_FINDING_LATE: {
        buf_str(b, why);
        buf_str(b, ": ");
        if (f->reply != f->trigger) {
            ename(nm, e, f->reply);
            buf_str(b, nm);
            buf_str(b, " ");
        }
        if (f->reply_ms != NO_TIME) {
            buf_str(b, tl_rule_param(rules_rule(e, f->rule), "met-by", 0, 0));
            buf_str(b, " ");
            buf_time(b, f->reply_ms);
        } else {
            buf_str(b, "logged ");
            buf_time(b, e->ents[f->reply].logged_ms);
        }
        buf_str(b, st == TL_FINDING_MET ? ", by " : ", after ");
        buf_time(b, due);
        if (st == TL_FINDING_LATE) {
            /* Say when it was missed: the first witnessed checkpoint past the deadline
             * without the answer. */
            size_t k = cps_upto(v, f->reply);
            for (size_t i = 0; i < k; i++) {
                if (e->cps[i].max_s * 1000 > due) {
                    buf_fmt(b, "; missed as of the witnessed checkpoint of size %llu until then",
                            (unsigned long long)e->cps[i].size);
                    break;
                }
            }
        }
        break;
    }
    default:
        break;
    }
    free(desc.p);
    if (!desc.ok)
        b->ok = false;
}

/* The entries a finding rests on in the view, ascending, without duplicates, into out (room
 * for f->nent + 4). Returns their number. */
static size_t view_entries(uint64_t *out, const view *v, const finding *f)
{
    uint64_t extra[4];
    size_t nx = 0;
    extra[nx++] = f->trigger;
    if (f->kind == FK_DEADLINE && f->reply != NONE && f->reply < v->size && f->reply != f->trigger)
        extra[nx++] = f->reply;
    if (f->anchor != NONE && f->anchor < v->size)
        extra[nx++] = f->anchor;
    if (f->voided != NONE && f->voided < v->size && f->void_kind == 2)
        extra[nx++] = f->voided;    /* the refusal */
    for (size_t i = 1; i < nx; i++) /* insertion sort of at most 4 */
        for (size_t k = i; k > 0 && extra[k] < extra[k - 1]; k--) {
            uint64_t t = extra[k];
            extra[k] = extra[k - 1];
            extra[k - 1] = t;
        }
    size_t i = 0, j = 0, n = 0;
    while (i < nx || j < f->nent) {
        uint64_t x;
        if (j >= f->nent || (i < nx && extra[i] <= f->ent[j]))
            x = extra[i++];
        else
            x = f->ent[j++];
        if ((n && out[n - 1] == x) || x >= v->size)
            continue;
        out[n++] = x;
    }
    return n;
}

typedef struct sortctx {
    const tl_engine *e;
} sortctx;

static int cmp_f(const void *a, const void *b, void *ctx)
{
    const tl_engine *e = ((const sortctx *)ctx)->e;
    const finding *x = &e->f[*(const uint64_t *)a], *y = &e->f[*(const uint64_t *)b];
    if (x->trigger != y->trigger)
        return x->trigger < y->trigger ? -1 : 1;
    if (x->rule != y->rule)
        return e->rank[x->rule] < e->rank[y->rule] ? -1 : 1;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return *(const uint64_t *)a < *(const uint64_t *)b ? -1 : 1;
}

tl_err tl_engine_findings(const tl_engine *e, uint64_t size, tl_finding_fn fn, void *ctx)
{
    return tl_engine_findings_pick(e, size, NULL, fn, ctx);
}

tl_err tl_engine_findings_pick(const tl_engine *e, uint64_t size, tl_finding_fn pick,
                               tl_finding_fn fn, void *ctx)
{
    if (size > e->n)
        return TL_ERR_USAGE;
    view v = {e, size, 0};
    v.ncp = e->ncps;
    v.ncp = cps_upto(&v, size);
    uint64_t *ids = malloc((e->nf ? e->nf : 1) * sizeof *ids);
    if (!ids)
        return TL_ERR_NOMEM;
    uint64_t nids = 0;
    for (uint64_t i = 0; i < e->nf; i++)
        if (e->f[i].created <= size)
            ids[nids++] = i;
    sortctx sc = {e};
    qsort_r(ids, nids, sizeof *ids, cmp_f, &sc);
    buf b = {NULL, 0, 0, true};
    tl_err err = TL_OK;
    for (uint64_t k = 0; k < nids && err == TL_OK; k++) {
        const finding *f = &e->f[ids[k]];
        tl_finding_state st = state_of(&v, f);
        const char *rid = rules_rule_id(e, f->rule);
        const char *sev = tl_finding_state_name(st);
        const char *rsev = rules_rule_severity(e, f->rule);
        if (rsev && (st == TL_FINDING_MISSED || st == TL_FINDING_LATE))
            sev = rsev;
        b.len = 0;
        char id[TL_RULE_ID_MAX + 48];
        if (f->n)
            snprintf(id, sizeof id, "%s/%llu/%u", rid, (unsigned long long)f->trigger, f->n);
        else
            snprintf(id, sizeof id, "%s/%llu", rid, (unsigned long long)f->trigger);
        tl_finding tf = {.id = id,
                         .rule = rid,
                         .state = st,
                         .state_name = tl_finding_state_name(st),
                         .severity = sev,
                         .nparties = f->nparties,
                         .parties = (const char(*)[TL_PARTY_LEN + 1]) f->parties,
                         .trigger = f->trigger};
        if (pick) {
            int pk = pick(ctx, &tf);
            if (pk == 0)
                continue;
            if (pk != 1) {
                err = TL_ERR_CONFLICT;
                break;
            }
        }
        buf_str(&b, "{\"id\":");
        buf_json_str(&b, id);
        buf_str(&b, ",\"rule\":");
        buf_json_str(&b, rid);
        buf_fmt(&b, ",\"state\":\"%s\",\"severity\":\"%s\",\"parties\":[",
                tl_finding_state_name(st), sev);
        for (size_t i = 0; i < f->nparties; i++)
            buf_fmt(&b, "%s\"%s\"", i ? "," : "", f->parties[i]);
        buf_fmt(&b, "],\"trigger\":%llu,\"entries\":[", (unsigned long long)f->trigger);
        uint64_t *ents = malloc((f->nent + 4) * sizeof *ents);
        if (!ents) {
            err = TL_ERR_NOMEM;
            break;
        }
        size_t ne = view_entries(ents, &v, f);
        for (size_t i = 0; i < ne; i++)
            buf_fmt(&b, "%s%llu", i ? "," : "", (unsigned long long)ents[i]);
        buf_str(&b, "]");
        int64_t due = due_at(&v, f);
        buf_str(&b, ",\"due\":");
        if (due != NO_TIME) {
            buf_str(&b, "\"");
            buf_time(&b, due);
            buf_str(&b, "\"");
        } else {
            buf_str(&b, "null");
        }
        buf wb = {NULL, 0, 0, true};
        add_why(&wb, &v, f, st);
        buf_str(&b, ",\"why\":");
        buf_json_str(&b, wb.ok && wb.p ? wb.p : "");
        bool wok = wb.ok;
        free(wb.p);
        buf_str(&b, ",\"params\":");
        const tl_rule *r = rules_rule(e, f->rule);
        buf_str(&b, tl_rule_params_json(r));
        buf_fmt(&b, ",\"confidence\":\"%s\",\"range\":", tl_rule_confidence(r));
        tl_finding_state rs = st == TL_FINDING_VOID ? TL_FINDING_PENDING : st;
        if (f->kind == FK_DEADLINE && (rs == TL_FINDING_MISSED || rs == TL_FINDING_LATE)) {
            uint64_t from = f->range_from != NONE ? f->range_from : f->trigger;
            uint64_t to = rules_first_after(e, from, due);
            if (to >= size)
                to = size - 1;
            buf_fmt(&b, "[%llu,%llu]", (unsigned long long)from, (unsigned long long)to);
            tf.has_range = true;
            tf.range_from = from;
            tf.range_to = to;
        } else {
            buf_str(&b, "null");
        }
        buf_str(&b, "}");
        if (!b.ok || !wok) {
            free(ents);
            err = TL_ERR_NOMEM;
            break;
        }
        tf.nentries = ne;
        tf.entries = ents;
        tf.has_due = due != NO_TIME;
        tf.due_ms = due;
        tf.json = b.p;
        tf.json_len = b.len;
        if (fn(ctx, &tf) != 0)
            err = TL_ERR_CONFLICT;
        free(ents);
    }
    free(b.p);
    free(ids);
    return err;
}

typedef struct textctx {
    buf b;
} textctx;

static int to_text(void *ctx, const tl_finding *f)
{
    textctx *t = ctx;
    buf_add(&t->b, f->json, f->json_len);
    buf_add(&t->b, "\n", 1);
    return t->b.ok ? 0 : 1;
}

tl_err tl_engine_findings_text(const tl_engine *e, uint64_t size, char **out, size_t *len)
{
    textctx t = {{NULL, 0, 0, true}};
    tl_err err = tl_engine_findings(e, size, to_text, &t);
    if (err == TL_ERR_CONFLICT)
        err = TL_ERR_NOMEM;
    if (err != TL_OK) {
        free(t.b.p);
        return err;
    }
    if (!t.b.p) {
        t.b.p = strdup("");
        if (!t.b.p)
            return TL_ERR_NOMEM;
    }
    *out = t.b.p;
    *len = t.b.len;
    return TL_OK;
}
