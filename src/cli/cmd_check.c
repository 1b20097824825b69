/* cmd_check.c - treatylog check (the findings of a log, from a directory or over HTTP) and
 * treatylog verify-evidence (an evidence file, offline). Both re-derive findings from the log
 * and the ruleset alone: nothing the operator computed is trusted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "treatylog/checkpoint.h"
#include "treatylog/entry.h"
#include "treatylog/evidence.h"
#include "treatylog/follow.h"
#include "treatylog/hashindex.h"
#include "treatylog/log.h"
#include "treatylog/registry.h"
#include "treatylog/store.h"
#include "treatylog/text.h"
#include "treatylog/values.h"

static const char check_usage[] =
    "usage: treatylog check DIR|URL [--policy POLICY] [--ruleset FILE] [--at TIME] [--json]\n"
    "       [--evidence OUTDIR] [--schemas DIR]";

/* The witnessed checkpoints of a log, ascending: per size the first archived note and the
 * latest re-cosigned one (NULL if the same). `fed` marks the latest as given to the rules
 * (with --at, a note witnessed after TIME is not). */
typedef struct witlist {
    uint64_t *size;
    char **note, **last;
    size_t *len, *last_len;
    bool *fed;
    size_t n, cap;
} witlist;

static void witlist_free(witlist *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->note[i]);
        free(w->last[i]);
    }
    free(w->size);
    free(w->note);
    free(w->last);
    free(w->len);
    free(w->last_len);
    free(w->fed);
}

static tl_err witlist_add(witlist *w, uint64_t size, const char *note, size_t len, const char *last,
                          size_t last_len)
{
    if (w->n && size <= w->size[w->n - 1])
        return TL_OK;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        uint64_t *s = realloc(w->size, cap * sizeof *s);
        if (s)
            w->size = s;
        char **nn = realloc(w->note, cap * sizeof *nn);
        if (nn)
            w->note = nn;
        char **ll = realloc(w->last, cap * sizeof *ll);
        if (ll)
            w->last = ll;
        size_t *l = realloc(w->len, cap * sizeof *l);
        if (l)
            w->len = l;
        size_t *l2 = realloc(w->last_len, cap * sizeof *l2);
        if (l2)
            w->last_len = l2;
        bool *fd = realloc(w->fed, cap * sizeof *fd);
        if (fd)
            w->fed = fd;
        if (!s || !nn || !ll || !l || !l2 || !fd)
            return TL_ERR_NOMEM;
        w->cap = cap;
    }
    bool other = last && (last_len != len || memcmp(last, note, len) != 0);
    w->note[w->n] = strndup(note, len);
    w->last[w->n] = other ? strndup(last, last_len) : NULL;
    if (!w->note[w->n] || (other && !w->last[w->n])) {
        free(w->note[w->n]);
        free(w->last[w->n]);
        return TL_ERR_NOMEM;
    }
    w->size[w->n] = size;
    w->len[w->n] = len;
    w->last_len[w->n] = last_len;
    w->fed[w->n] = false;
    w->n++;
    return TL_OK;
}

static void add_row(void *ctx, uint64_t size, const char *first, size_t first_len, const char *last,
                    size_t last_len)
{
    if (witlist_add(ctx, size, first, first_len, last, last_len) != TL_OK)
        return; /* out of memory: the checkpoint is left out */
}

/* From a directory: its private archive; over HTTP: GET /v1/checkpoints. */
static tl_err load_witnessed(const char *loc, bool url, witlist *w, tl_diag *d)
{
    if (!url) {
        char path[4096];
        snprintf(path, sizeof path, "%s/.treatylog/index.db", loc);
        struct stat stt;
        if (stat(path, &stt) != 0)
            return TL_OK; /* never served: no witnessed checkpoint */
        tl_hashindex *h = NULL;
        tl_err e = tl_hashindex_open(&h, path, d);
        uint64_t from = 0;
        while (e == TL_OK) {
            size_t before = w->n;
            e = tl_hashindex_witnessed(h, from, 1000, add_row, w, d);
            if (w->n == before)
                break;
            from = w->size[w->n - 1] + 1;
        }
        tl_hashindex_close(h);
        return e;
    }
    uint64_t from = 0;
    for (;;) {
        char path[64];
        snprintf(path, sizeof path, "/v1/checkpoints?from=%llu", (unsigned long long)from);
        json_t *o = NULL;
        tl_err e = cli_http_json(loc, path, &o, d);
        if (e != TL_OK)
            return e;
        json_t *arr = json_object_get(o, "checkpoints"), *next = json_object_get(o, "next");
        for (size_t i = 0; i < json_array_size(arr) && e == TL_OK; i++) {
            json_t *c = json_array_get(arr, i);
            json_t *s = json_object_get(c, "size"), *f = json_object_get(c, "first"),
                   *l = json_object_get(c, "last");
            if (!json_is_integer(s) || !json_is_string(f) || !json_is_string(l))
                e = tl_fail(d, TL_ERR_FORMAT, "GET %s: a checkpoint without size, first or last",
                            path);
            else
                e = witlist_add(w, (uint64_t)json_integer_value(s), json_string_value(f),
                                json_string_length(f), json_string_value(l), json_string_length(l));
        }
        bool more = json_is_integer(next);
        if (more)
            from = (uint64_t)json_integer_value(next);
        json_decref(o);
        if (e != TL_OK || !more)
            return e;
    }
}

/* The witness time of a note under the policy (the latest listed witness's timestamp), or
 * INT64_MAX if the policy rejects it. */
static int64_t witness_time(const tl_policy *p, const char *note, size_t len)
{
    uint64_t times[TL_POLICY_WITNESSES_MAX];
    tl_checkpoint cp;
    if (tl_policy_check(p, note, len, &cp, times, NULL) != TL_OK)
        return INT64_MAX;
    uint64_t t = 0;
    for (size_t i = 0; i < p->nwitnesses; i++)
        if (times[i] > t)
            t = times[i];
    return (int64_t)t;
}

/* near() for evidence: the archived checkpoints around an entry, at most `top`. */
typedef struct near_ctx {
    const witlist *w;
    uint64_t top;
} near_ctx;

static tl_err near(void *ctx, uint64_t index, uint64_t *below, char **below_note, size_t *below_len,
                   uint64_t *above, char **above_note, size_t *above_len, tl_diag *d)
{
    (void)d;
    const near_ctx *c = ctx;
    *below = *above = 0;
    *below_note = *above_note = NULL;
    *below_len = *above_len = 0;
    for (size_t i = 0; i < c->w->n; i++) {
        uint64_t s = c->w->size[i];
        if (s > c->top)
            break;
        if (s <= index) { /* the latest note the rules were given of that size */
            bool l = c->w->last[i] && c->w->fed[i];
            *below = s;
            free(*below_note);
            *below_note =
                strndup(l ? c->w->last[i] : c->w->note[i], l ? c->w->last_len[i] : c->w->len[i]);
            *below_len = l ? c->w->last_len[i] : c->w->len[i];
        } else {
            *above = s;
            *above_note = strndup(c->w->note[i], c->w->len[i]);
            *above_len = c->w->len[i];
            break;
        }
    }
    return TL_OK;
}

typedef struct out_ctx {
    bool json;
    const char *evdir;
    const tl_evidence_src *src;
    const uint64_t *regs;
    size_t nregs;
    size_t n;
    tl_err e;
    tl_diag d;
} out_ctx;

static int print_one(void *ctx, const tl_finding *f)
{
    out_ctx *c = ctx;
    c->n++;
    if (c->json) {
        printf("%.*s\n", (int)f->json_len, f->json);
    } else {
        char parties[64] = "";
        for (size_t i = 0; i < f->nparties && i < 8; i++) {
            strcat(parties, i ? "," : "");
            strcat(parties, f->parties[i]);
        }
        json_t *j = json_loadb(f->json, f->json_len, 0, NULL);
        const char *why = json_string_value(json_object_get(j, "why"));
        printf("%-13s %-32s %-6s entry %-6llu %s\n", f->state_name, f->rule, parties,
               (unsigned long long)f->trigger, why ? why : "");
        json_decref(j);
    }
    if (c->evdir) {
        char *ev = NULL;
        size_t len = 0;
        tl_err e = tl_evidence_build(c->src, f, c->regs, c->nregs, &ev, &len, &c->d);
        if (e == TL_OK) {
            char path[4096], id[256];
            snprintf(id, sizeof id, "%s", f->id);
            for (char *p = id; *p; p++)
                if (*p == '/')
                    *p = '_';
            snprintf(path, sizeof path, "%s/%s.json", c->evdir, id);
            FILE *fp = fopen(path, "w");
            if (!fp || fwrite(ev, 1, len, fp) != len || fclose(fp) != 0)
                e = tl_fail(&c->d, TL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        }
        free(ev);
        if (e != TL_OK) {
            c->e = e;
            return 1;
        }
    }
    return 0;
}

/* The registry of entry 0 of a log (unverified here; it names the policy and the rulesets). */
static tl_err genesis(tl_reader *rd, const tl_vkey *op, tl_registry **out, tl_diag *d)
{
    uint8_t *ent = NULL;
    size_t len = 0;
    tl_err e = tl_reader_entry(rd, 0, &ent, &len, d);
    uint64_t logged;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    if (e == TL_OK)
        e = tl_entry_parse(ent, len, &logged, &sub, &sublen, d);
    tl_registry *r = e == TL_OK ? tl_registry_new() : NULL;
    if (e == TL_OK && !r)
        e = tl_fail(d, TL_ERR_NOMEM, "registry");
    if (e == TL_OK)
        e = tl_registry_apply(r, (const char *)sub, sublen, op, 0, d);
    free(ent);
    if (e != TL_OK) {
        tl_registry_free(r);
        return tl_diag_prefix(d, e, "entry 0 is not a genesis registry (not a treaty log?)");
    }
    *out = r;
    return TL_OK;
}

int cmd_check(int argc, char **argv)
{
    const char *policy_path = NULL, *ruleset = NULL, *at = NULL, *evdir = NULL, *schemas_dir = NULL;
    bool json = false;
    cli_opt opts[] = {
        {"policy", &policy_path, NULL}, {"ruleset", &ruleset, NULL},     {"at", &at, NULL},
        {"evidence", &evdir, NULL},     {"schemas", &schemas_dir, NULL}, {"json", NULL, &json},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("check", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1)
        return cli_usage("check", "%s", check_usage);
    const char *loc = pos[0];
    bool url = strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0;
    tl_diag d = {{0}};
    int64_t at_s = 0;
    tl_err e = TL_OK;
    if (at) {
        int64_t days = 0;
        if (tl_value_datetime(at, strlen(at), &at_s) != TL_OK) {
            if (tl_value_date(at, strlen(at), &days) == TL_OK)
                at_s = days * 86400 + 86399; /* the end of that day */
            else
                e = tl_fail(&d, TL_ERR_USAGE,
                            "--at: a date (2022-02-13) or UTC date-time "
                            "(2022-02-13T12:30:00Z), not \"%s\"",
                            at);
        }
    }
    /* The log key and the witness policy. */
    tl_policy *policy = NULL;
    tl_vkey logkey;
    if (e == TL_OK && policy_path) {
        e = cli_load_policy(policy_path, NULL, &policy, &d);
        if (e == TL_OK && policy->nlogs == 0)
            e = tl_fail(&d, TL_ERR_USAGE, "%s lists no log key", policy_path);
        if (e == TL_OK)
            logkey = policy->logs[0].key;
    } else if (e == TL_OK && !url) {
        char kp[4096];
        snprintf(kp, sizeof kp, "%s/.treatylog/log.vkey", loc);
        e = cli_load_vkey(kp, &logkey, &d);
    } else if (e == TL_OK) {
        e = tl_fail(&d, TL_ERR_USAGE, "over HTTP, give the witness policy: --policy POLICY");
    }
    tl_store *st = NULL;
    tl_checkpoint cp;
    char *cpnote = NULL;
    size_t cplen = 0;
    tl_reader *rd = NULL;
    tl_registry *reg = NULL;
    if (e == TL_OK)
        e = tl_store_open_readonly(&st, loc, &d);
    if (e == TL_OK)
        e = tl_read_checkpoint(st, &logkey, &cp, &cpnote, &cplen, &d);
    if (e == TL_OK)
        e = tl_reader_new(&rd, st, cp.size, &d);
    if (e == TL_OK)
        e = genesis(rd, &logkey, &reg, &d);
    if (e == TL_OK && !policy) { /* the registry's own policy (trust on first use) */
        policy = tl_policy_new();
        if (!policy)
            e = tl_fail(&d, TL_ERR_NOMEM, "policy");
        else if (!reg->witness_policy)
            e = tl_fail(&d, TL_ERR_FORMAT, "the registry has no witness policy: give --policy");
        else
            e = tl_policy_parse(policy, reg->witness_policy, reg->witness_policy_len, &d);
        if (e != TL_OK)
            tl_diag_prefix(&d, e, "the registry's witness policy");
    }
    cli_ruleset rs;
    memset(&rs, 0, sizeof rs);
    tl_schemas *schemas = NULL;
    if (e == TL_OK)
        e = cli_load_ruleset(ruleset, reg, &rs, &d);
    if (e == TL_OK)
        e = cli_load_schemas(schemas_dir, &schemas, &d);
    witlist w = {0};
    if (e == TL_OK)
        e = load_witnessed(loc, url, &w, &d);
    tl_follow *fo = NULL;
    if (e == TL_OK)
        e = tl_follow_new(&fo, rs.rs, schemas, &logkey, policy, &d);
    if (e == TL_OK)
        tl_follow_set_verify(fo, true);
    /* Each size's first note, then its latest re-cosigning; with --at, only what the
     * witnesses had cosigned by then. */
    for (size_t i = 0; i < w.n && e == TL_OK; i++) {
        if (w.size[i] > cp.size)
            break;
        if (at && witness_time(policy, w.note[i], w.len[i]) > at_s)
            break;
        tl_diag wd;
        if (tl_follow_witnessed(fo, w.size[i], w.note[i], w.len[i], &wd) != TL_OK)
            fprintf(stderr, "treatylog check: witnessed checkpoint %llu skipped: %s\n",
                    (unsigned long long)w.size[i], wd.msg);
        if (w.last[i] && (!at || witness_time(policy, w.last[i], w.last_len[i]) <= at_s) &&
            tl_follow_witnessed(fo, w.size[i], w.last[i], w.last_len[i], &wd) == TL_OK)
            w.fed[i] = true;
    }
    for (uint64_t i = 0; i < cp.size && e == TL_OK;) {
        enum { CHUNK = 256 };
        uint8_t *ents[CHUNK];
        size_t lens[CHUNK], n = 0;
        for (; n < CHUNK && i + n < cp.size && e == TL_OK; n++)
            e = tl_reader_entry(rd, i + n, &ents[n], &lens[n], &d);
        if (e != TL_OK && n > 0)
            n--;
        if (e == TL_OK)
            e = tl_follow_entries(fo, i, (const uint8_t *const *)ents, lens, n, &d);
        for (size_t k = 0; k < n; k++)
            free(ents[k]);
        i += n;
    }
    uint64_t view = 0;
    if (e == TL_OK) {
        view = tl_follow_witnessed_size(fo);
        if (view == 0)
            e = tl_fail(&d, TL_ERR_NOTFOUND,
                        "no witnessed checkpoint%s: findings need witnessed time",
                        at ? " by then" : " yet");
    }
    if (e == TL_OK && evdir && mkdir(evdir, 0755) != 0 && errno != EEXIST)
        e = tl_fail(&d, TL_ERR_IO, "cannot create %s: %s", evdir, strerror(errno));
    uint64_t *regs = NULL;
    size_t nregs = 0;
    if (e == TL_OK)
        e = tl_follow_registry_entries(fo, &regs, &nregs);
    /* Evidence proves against the note the rules were given last (its time is "now"). */
    char *topnote = NULL;
    size_t toplen = 0;
    uint64_t topsize = 0;
    if (e == TL_OK && tl_follow_witnessed_note(fo, &topsize, &topnote, &toplen) != TL_OK)
        e = tl_fail(&d, TL_ERR_NOMEM, "check");
    near_ctx nc = {&w, view};
    tl_evidence_src src = {.reader = rd,
                           .near = near,
                           .ctx = &nc,
                           .checkpoint = topnote,
                           .checkpoint_len = toplen,
                           .size = view};
    src.ruleset_name = rs.name;
    memcpy(src.ruleset_sha256, rs.sha256, 32);
    out_ctx oc = {.json = json, .evdir = evdir, .src = &src, .regs = regs, .nregs = nregs};
    if (e == TL_OK) {
        if (!json)
            printf("# findings of %s at size %llu (ruleset %s)\n", loc, (unsigned long long)view,
                   rs.name);
        e = tl_follow_findings(fo, view, print_one, &oc);
        if (e == TL_OK && oc.e != TL_OK) {
            e = oc.e;
            d = oc.d;
        }
    }
    free(regs);
    free(topnote);
    tl_follow_free(fo);
    witlist_free(&w);
    tl_schemas_free(schemas);
    cli_ruleset_free(&rs);
    tl_registry_free(reg);
    tl_reader_free(rd);
    free(cpnote);
    if (st)
        st->ops->close(st);
    free(policy);
    if (e != TL_OK)
        return cli_fail("check", e, &d);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

int cmd_verify_evidence(int argc, char **argv)
{
    const char *policy_path = NULL, *ruleset = NULL, *schemas_dir = NULL;
    cli_opt opts[] = {
        {"policy", &policy_path, NULL},
        {"ruleset", &ruleset, NULL},
        {"schemas", &schemas_dir, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc =
        cli_parse("verify-evidence", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || !policy_path)
        return cli_usage("verify-evidence",
                         "usage: treatylog verify-evidence FILE --policy POLICY [--ruleset FILE] "
                         "[--schemas DIR]");
    tl_diag d = {{0}};
    tl_policy *policy = NULL;
    uint8_t *ev = NULL, *rt = NULL;
    size_t evlen = 0, rlen = 0;
    tl_schemas *schemas = NULL;
    char *finding = NULL;
    tl_err e = cli_load_policy(policy_path, NULL, &policy, &d);
    if (e == TL_OK)
        e = cli_read_file(pos[0], 256u << 20, &ev, &evlen, &d);
    if (e == TL_OK && ruleset) /* else the text logged with the file's registry entries */
        e = cli_read_file(ruleset, 1u << 20, &rt, &rlen, &d);
    if (e == TL_OK)
        e = cli_load_schemas(schemas_dir, &schemas, &d);
    if (e == TL_OK)
        e = tl_evidence_verify((const char *)ev, evlen, policy, (const char *)rt, rlen, schemas,
                               &finding, &d);
    if (e == TL_OK)
        printf("OK %s\n", finding ? finding : "");
    free(finding);
    free(ev);
    free(rt);
    free(policy);
    tl_schemas_free(schemas);
    if (e != TL_OK)
        return cli_fail("verify-evidence", e, &d);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}
