/* bench_rules.c - the rules engine (rules.h) on a synthetic treaty log: rules/vd11.rules over
 * N notifications of a realistic mix (Chapter III requests, some answered, replies, prior
 * notifications with stages over and under the thresholds, invitations, incidents and their
 * replies, acknowledgements, statements) from 50 parties, a witnessed checkpoint every 1,000
 * entries. Goal (DESIGN §8): 1M notifications in <= 2 s; one new entry in <= 50 us.
 *
 *   bench_rules [--n N] [--schemas DIR] [--rules FILE]
 *
 * Prints (bench_util.h format):
 * Times are the CPU time of the benchmark thread (the machine may be shared).
 *   bench rules-parse   n=.. seconds=.. per_s=.. free_seconds=..  tl_notification_parse alone,
 *                                                     and tl_notification_free of what it made
 *   bench rules-parse-nodoc n=.. seconds=.. ...       the same with TL_NOTIFICATION_NO_DOC
 *   bench rules-engine  n=.. seconds=.. per_s=..      tl_engine_add + witnessed alone
 *   bench rules-total   n=.. seconds=.. per_s=..      parse-nodoc + engine + free, on one thread
 *                                                     (text generation and hashing excluded)
 *   bench rules-pipeline n=.. wall_seconds=.. per_s=.. cpu_seconds=..  the same log as entries
 *                                                     (a genesis registry entry, then each text
 *                                                     as a signed note) through tl_follow_entries
 *                                                     in calls of 256 (as `check`): decoding on
 *                                                     two threads, the engine in log order
 *   bench rules-follow-1 n=.. wall_seconds=..         the same, one entry per call (one thread)
 *   bench rules-add     mean_us=.. p99_us=.. max_us=..  one add at the end of the log
 *   bench rules-findings n=.. seconds=..              listing all findings as JSON
 *   bench rules-findings-last-page n=.. formatted=100 seconds=..   the last page of 100, the
 *                                                     rest offered unformatted (a deep ?after=)
 *   bench rules-rss     kib=..
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "treatylog/entry.h"
#include "treatylog/follow.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/registry.h"
#include "treatylog/rules.h"
#include "treatylog/ruleset.h"
#include "treatylog/schema.h"
#include "treatylog/text.h"

#define NPART  50
#define BASE_S 1735689600LL /* 2025-01-01T00:00:00Z */

static void path_near(char *out, size_t cap, const char *rel)
{
    const char *f = __FILE__;
    const char *cut = strstr(f, "bench/bench_rules.c");
    snprintf(out, cap, "%.*s%s", cut ? (int)(cut - f) : 0, f, rel);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, fp) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(fp);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

static void code(char out[3], uint64_t p)
{
    out[0] = (char)('A' + p / 26);
    out[1] = (char)('A' + p % 26);
    out[2] = 0;
}

static void iso(char out[32], int64_t s, bool date_only)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct gen {
    uint64_t serial[NPART];
    uint8_t (*leaf)[32];
    uint64_t last_req, last_notif, last_incident;
    char from_req[3], conc_req[3], inc_to[3];
} gen;

/* The text of notification i (into buf); returns its length. */
static size_t make(gen *g, uint64_t i, int64_t logged_s, char *buf, size_t cap)
{
    uint64_t h = bench_mix(i);
    uint64_t p = h % NPART, q = (p + 1 + (h >> 8) % (NPART - 1)) % NPART;
    char from[3], other[3], sent[32], refs[200] = "";
    code(from, p);
    code(other, q);
    iso(sent, logged_s, false);
    unsigned slot = (unsigned)(i % 20);
    const char *type = "vd11.ch11.statement";
    char body[1200];
    snprintf(body, sizeof body, "{\"topic\":\"t%llu\",\"text\":\"routine statement\"}",
             (unsigned long long)i);
    char b64[48];
    if (slot == 0) {
        type = "vd11.ch3.explanation-request";
        snprintf(body, sizeof body,
                 "{\"concerning\":\"%s\",\"description\":\"d\",\"area\":{\"text\":\"a\"},"
                 "\"questions\":[\"area\",\"end_date\",\"troops\"]}",
                 other);
        g->last_req = i;
        memcpy(g->conc_req, other, 3);
    } else if (slot == 1 && (h >> 20) % 2 == 0) {
        type = "vd11.ch3.explanation-reply";
        memcpy(from, g->conc_req, 3);
        p = (uint64_t)((from[0] - 'A') * 26 + (from[1] - 'A'));
        tl_b64_encode(b64, g->leaf[g->last_req], 32);
        snprintf(refs, sizeof refs, "\"%s\"", b64);
        snprintf(body, sizeof body,
                 "{\"answers\":{\"area\":\"x\",\"troops\":100},\"statement\":\"s\"}");
    } else if (slot == 10) {
        type = "vd11.ch5.notification";
        int troops = 5000 + (int)((h >> 12) % 15000);
        char st[32], en[32], mid[32];
        int64_t start = logged_s + 50 * 86400;
        iso(st, start, true);
        iso(mid, start + 4 * 86400, true);
        iso(en, start + 9 * 86400, true);
        snprintf(body, sizeof body,
                 "{\"activity\":\"%s-%llu\",\"designation\":\"D\",\"purpose\":\"p\","
                 "\"participants\":[\"%s\"],\"command_level\":\"corps\",\"kind\":\"land\","
                 "\"without_advance_notice\":false,\"start\":\"%s\",\"end\":\"%s\",\"area\":{"
                 "\"text\":\"a\"},\"troops_peak\":%d,\"troops_total\":%d,\"battle_tanks\":100,"
                 "\"acv\":100,\"artillery\":50,\"in_calendar\":false,\"stages\":[{\"from\":\"%s\","
                 "\"to\":\"%s\",\"troops\":%d},{\"from\":\"%s\",\"to\":\"%s\",\"troops\":%d}]}",
                 from, (unsigned long long)i, from, st, en, troops, troops * 2, st, mid, troops,
                 mid, en, troops / 2);
        g->last_notif = i;
    } else if (slot == 11) {
        type = "vd11.ch6.observation-invitation";
        memcpy(from, "", 0);
        char fr[3];
        memcpy(fr, "", 0);
        (void)fr;
        tl_b64_encode(b64, g->leaf[g->last_notif], 32);
        snprintf(refs, sizeof refs, "\"%s\"", b64);
        snprintf(body, sizeof body,
                 "{\"activity\":\"a\",\"programme\":\"p\",\"arrival\":{\"time\":\"%s\","
                 "\"place\":\"x\"},\"observers_per_state\":2,\"reply_by\":\"%s\"}",
                 sent, sent);
    } else if (slot == 12) {
        type = "generic.acknowledgement";
        tl_b64_encode(b64, g->leaf[i - 1 - (h >> 30) % 10], 32);
        snprintf(refs, sizeof refs, "\"%s\"", b64);
        snprintf(body, sizeof body, "{\"received\":\"%s\"}", sent);
    } else if (slot == 13) {
        type = "vd11.ch3.hazardous-incident";
        snprintf(body, sizeof body,
                 "{\"occurred\":\"%s\",\"area\":{\"text\":\"a\"},\"involved\":[{\"party\":\"%s\","
                 "\"platform\":\"x\"}],\"description\":\"d\",\"severity\":\"serious\"}",
                 sent, other);
        g->last_incident = i;
        memcpy(g->inc_to, other, 3);
    } else if (slot == 14) {
        type = "vd11.ch3.incident-reply";
        memcpy(from, g->inc_to, 3);
        p = (uint64_t)((from[0] - 'A') * 26 + (from[1] - 'A'));
        tl_b64_encode(b64, g->leaf[g->last_incident], 32);
        snprintf(refs, sizeof refs, "\"%s\"", b64);
        snprintf(body, sizeof body, "{\"answers\":{},\"statement\":\"s\"}");
    }
    const char *to = "[\"*\"]";
    char tob[16];
    if (slot == 13) {
        snprintf(tob, sizeof tob, "[\"%s\"]", other);
        to = tob;
    }
    uint64_t pi = (uint64_t)((from[0] - 'A') * 26 + (from[1] - 'A')) % NPART;
    (void)p;
    uint64_t serial = ++g->serial[pi];
    int n = snprintf(buf, cap,
                     TL_NOTIFICATION_HEADER "{\"type\":\"%s\",\"from\":\"%s\",\"serial\":%llu,"
                                            "\"sent\":\"%s\",\"to\":%s,\"treaty_ref\":\"b\","
                                            "\"refs\":[%s],\"body\":%s}\n",
                     type, from, (unsigned long long)serial, sent, to, refs, body);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* The genesis registry text: NPART parties with one key each, the operator's key op. */
static char *genesis_text(const tl_skey *op)
{
    size_t cap = 65536, len = 0;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    char o[TL_VKEY_TEXT_MAX];
    tl_vkey_format(o, &op->vkey);
    len += (size_t)snprintf(t + len, cap - len, "%s{\"action\":\"genesis\",\"parties\":[",
                            TL_REGISTRY_HEADER);
    for (uint64_t p = 0; p < NPART; p++) {
        char c[3], vk[TL_VKEY_TEXT_MAX];
        code(c, p);
        uint8_t seed[TL_SEED_LEN];
        memset(seed, (int)(p + 7), sizeof seed);
        tl_skey k;
        if (tl_skey_from_seed(&k, c, 2, TL_KEY_ED25519, seed, NULL) != TL_OK) {
            free(t);
            return NULL;
        }
        tl_vkey_format(vk, &k.vkey);
        len += (size_t)snprintf(t + len, cap - len,
                                "%s{\"code\":\"%s\",\"name\":\"P%s\",\"keys\":[\"%s\"]}",
                                p ? "," : "", c, c, vk);
    }
    len += (size_t)snprintf(t + len, cap - len,
                            "],\"witness_policy\":\"log %s\\nquorum none\\n\",\"rulesets\":[{"
                            "\"name\":\"vd11.rules\",\"sha256\":\"%064d\"}]}\n",
                            o, 0);
    return t;
}

/* rules-pipeline and rules-follow-1: the log through tl_follow_entries in calls of `per`
 * entries; the wall time of the calls alone (generation excluded). */
static int bench_follow(uint64_t n, const tl_schemas *s, const tl_ruleset *rs, size_t per,
                        double *wall, double *cpu, uint8_t fhash[TL_HASH_LEN], size_t *nfind)
{
    tl_diag d = {{0}};
    uint8_t seed[TL_SEED_LEN];
    memset(seed, 1, sizeof seed);
    tl_skey op;
    if (tl_skey_from_seed(&op, BENCH_KEY_NAME, strlen(BENCH_KEY_NAME), TL_KEY_ED25519, seed,
                          &d) != TL_OK)
        return 1;
    tl_follow *f = NULL;
    if (tl_follow_new(&f, rs, s, &op.vkey, NULL, &d) != TL_OK)
        return 1;
    gen g;
    memset(&g, 0, sizeof g);
    g.leaf = malloc((n + 1) * sizeof *g.leaf);
    enum { C = 4096, EMAX = 8192 };
    uint8_t *ebuf = malloc((size_t)C * EMAX);
    uint8_t **ents = malloc(C * sizeof *ents);
    size_t *elen = malloc(C * sizeof *elen);
    if (!g.leaf || !ebuf || !ents || !elen)
        return 1;
    /* One signature line, valid in form, for every notification: decoding does not verify
     * (serve's follower; `check` adds Ed25519 verification, see bench_ed25519). */
    char sig[TL_SIGLINE_MAX];
    size_t siglen = 0;
    if (tl_note_sigline(sig, &siglen, "x\n", 2, &op, 0, &d) != TL_OK)
        return 1;
    char *gt = genesis_text(&op);
    char *gnote = NULL;
    size_t gnlen = 0;
    if (!gt || tl_note_sign(&gnote, &gnlen, gt, strlen(gt), &op, &d) != TL_OK) {
        fprintf(stderr, "genesis: %s\n", d.msg);
        return 1;
    }
    tl_registry *check = tl_registry_new();
    if (!check || tl_registry_apply(check, gnote, gnlen, &op.vkey, 0, &d) != TL_OK) {
        fprintf(stderr, "genesis: %s\n", d.msg);
        return 1;
    }
    tl_registry_free(check);
    double w = 0, c = 0;
    uint64_t total = n + 1; /* entry 0: genesis */
    for (uint64_t base = 0; base < total; base += C) {
        size_t nb = total - base < C ? (size_t)(total - base) : C;
        for (size_t k = 0; k < nb; k++) {
            uint64_t idx = base + k;
            uint8_t *e = ebuf + k * EMAX;
            int64_t lg = BASE_S + (int64_t)idx * 30;
            size_t hl = tl_entry_head((char *)e, (uint64_t)lg * 1000);
            size_t len;
            if (idx == 0) {
                memcpy(e + hl, gnote, gnlen);
                len = hl + gnlen;
            } else {
                size_t tl = make(&g, idx - 1, lg, (char *)e + hl, EMAX - hl - siglen - 2);
                if (!tl)
                    return 1;
                e[hl + tl] = '\n';
                memcpy(e + hl + tl + 1, sig, siglen);
                len = hl + tl + 1 + siglen;
                tl_leaf_hash(g.leaf[idx - 1], e, len);
            }
            ents[k] = e;
            elen[k] = len;
        }
        double w0 = bench_now(), c0 = bench_cpu();
        for (size_t k = 0; k < nb; k += per) {
            size_t m = nb - k < per ? nb - k : per;
            if (tl_follow_entries(f, base + k, (const uint8_t *const *)ents + k, elen + k, m,
                                  &d) != TL_OK) {
                fprintf(stderr, "follow: %s\n", d.msg);
                return 1;
            }
        }
        w += bench_now() - w0;
        c += bench_cpu() - c0;
    }
    uint64_t *regs = NULL;
    size_t nregs = 0;
    if (tl_follow_size(f) != total || tl_follow_registry_entries(f, &regs, &nregs) != TL_OK ||
        nregs != 1) {
        fprintf(stderr, "follow: the genesis entry was not applied\n");
        return 1;
    }
    free(regs);
    /* The findings, to compare the two ways of feeding byte for byte. */
    char *ft = NULL;
    size_t flen = 0;
    if (tl_follow_findings_text(f, total, &ft, &flen) != TL_OK)
        return 1;
    tl_sha256(fhash, ft, flen);
    *nfind = 0;
    for (size_t k = 0; k < flen; k++)
        *nfind += ft[k] == '\n';
    free(ft);
    *wall = w;
    *cpu = c;
    tl_follow_free(f);
    free(gt);
    free(gnote);
    free(g.leaf);
    free(ebuf);
    free(ents);
    free(elen);
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int count_fn(void *ctx, const tl_finding *f)
{
    (*(uint64_t *)ctx)++;
    (void)f;
    return 0;
}

/* The last page (100 findings) of the listing, as GET /v1/findings?after= reaches it: every
 * finding before it offered to the pick unformatted. */
typedef struct last_page {
    uint64_t seen, from, got;
} last_page;

static int page_pick(void *ctx, const tl_finding *f)
{
    last_page *p = ctx;
    (void)f;
    return p->seen++ >= p->from;
}

static int page_fn(void *ctx, const tl_finding *f)
{
    ((last_page *)ctx)->got++;
    (void)f;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    char schemas[4096], rules[4096];
    path_near(schemas, sizeof schemas, "schemas");
    path_near(rules, sizeof rules, "rules/vd11.rules");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = bench_u64_arg("--n", argv[++i], 1000, 100000000);
        else if (!strcmp(argv[i], "--schemas") && i + 1 < argc)
            snprintf(schemas, sizeof schemas, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            snprintf(rules, sizeof rules, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--n N] [--schemas DIR] [--rules FILE]\n", argv[0]);
            return 2;
        }
    }
    tl_diag d = {{0}};
    tl_schemas *s = NULL;
    if (tl_init() != TL_OK || tl_schemas_load(&s, schemas, &d) != TL_OK) {
        fprintf(stderr, "schemas: %s\n", d.msg);
        return 1;
    }
    size_t rlen;
    char *rtext = slurp(rules, &rlen);
    tl_ruleset *rs = NULL;
    if (!rtext || tl_ruleset_parse(&rs, rules, rtext, rlen, &d) != TL_OK) {
        fprintf(stderr, "rules: %s\n", rtext ? d.msg : "cannot read");
        return 1;
    }
    tl_engine *e = tl_engine_new(rs);
    tl_registry *reg = tl_registry_new();
    if (!e || !reg)
        return 1;
    reg->genesis = true;
    for (uint64_t p = 0; p < NPART; p++) {
        code(reg->parties[p].code, p);
        reg->nparties++;
    }
    if (tl_engine_set_registry(e, reg) != TL_OK)
        return 1;
    gen g;
    memset(&g, 0, sizeof g);
    g.leaf = malloc((n + 1001) * sizeof *g.leaf);
    uint64_t total = n + 1000; /* the last 1000: single-add latency */
    double *lat = malloc(1000 * sizeof *lat);
    if (!g.leaf || !lat)
        return 1;
    /* Batches of B: generate and hash (untimed), parse (timed: CPU of this thread), add (timed,
     * CPU and wall), free. The last 1000 entries are added one at a time, each timed on the
     * wall clock. */
    enum { B = 1000, TEXT_MAX = 8192 };
    tl_notification *batch = calloc(B, sizeof *batch);
    int64_t *lg = calloc(B, sizeof *lg);
    char *texts = malloc((size_t)B * TEXT_MAX);
    size_t *tlens = calloc(B, sizeof *tlens);
    if (!batch || !lg || !texts || !tlens)
        return 1;
    double t_parse = 0, t_free = 0, t_nodoc = 0, t_nfree = 0, t_engine = 0, w_engine = 0;
    for (uint64_t base = 0; base < total; base += B) {
        uint64_t nb = total - base < B ? total - base : B;
        for (uint64_t k = 0; k < nb; k++) {
            uint64_t i = base + k;
            char *t = texts + k * TEXT_MAX;
            lg[k] = BASE_S + (int64_t)i * 30;
            tlens[k] = make(&g, i, lg[k], t, TEXT_MAX);
            if (!tlens[k]) {
                fprintf(stderr, "generation failed at %llu\n", (unsigned long long)i);
                return 1;
            }
            tl_sha256(g.leaf[i], t, tlens[k]);
        }
        /* Parsed twice: with the whole document as JSON (what most callers get), then
         * without (TL_NOTIFICATION_NO_DOC, what the rules engine reads and follow.c uses). */
        double p0 = bench_tcpu();
        for (uint64_t k = 0; k < nb; k++) {
            if (tl_notification_parse(&batch[k], s, texts + k * TEXT_MAX, tlens[k], &d) != TL_OK) {
                fprintf(stderr, "entry %llu: %s\n%s", (unsigned long long)(base + k), d.msg,
                        texts + k * TEXT_MAX);
                return 1;
            }
        }
        double p1 = bench_tcpu();
        for (uint64_t k = 0; k < nb; k++)
            tl_notification_free(&batch[k]);
        double p2 = bench_tcpu();
        for (uint64_t k = 0; k < nb; k++) {
            if (tl_notification_parse_ex(&batch[k], s, texts + k * TEXT_MAX, tlens[k],
                                         TL_NOTIFICATION_NO_DOC, &d) != TL_OK) {
                fprintf(stderr, "entry %llu: %s\n", (unsigned long long)(base + k), d.msg);
                return 1;
            }
        }
        double p3 = bench_tcpu();
        double c0 = bench_tcpu(), w0 = bench_now();
        for (uint64_t k = 0; k < nb; k++) {
            uint64_t i = base + k;
            double l0 = i >= n ? bench_now() : 0;
            tl_err err = tl_engine_add(e, i, (uint64_t)lg[k] * 1000, g.leaf[i], &batch[k], &d);
            if (err == TL_OK && (i + 1) % 1000 == 0)
                err = tl_engine_witnessed(e, i + 1, lg[k] + 5, &d);
            if (err != TL_OK) {
                fprintf(stderr, "engine: %s\n", d.msg);
                return 1;
            }
            if (i >= n)
                lat[i - n] = (bench_now() - l0) * 1e6;
        }
        double c1 = bench_tcpu(), w1 = bench_now();
        for (uint64_t k = 0; k < nb; k++)
            tl_notification_free(&batch[k]);
        double c2 = bench_tcpu();
        if (base < n) {
            t_parse += p1 - p0;
            t_free += p2 - p1;
            t_nodoc += p3 - p2;
            t_nfree += c2 - c1;
            t_engine += c1 - c0;
            w_engine += w1 - w0;
        }
    }
    free(batch);
    free(lg);
    free(texts);
    free(tlens);
    printf("bench rules-parse n=%llu seconds=%.3f per_s=%.0f free_seconds=%.3f load=%.2f\n",
           (unsigned long long)n, t_parse, (double)n / t_parse, t_free, bench_loadavg());
    printf("bench rules-parse-nodoc n=%llu seconds=%.3f per_s=%.0f free_seconds=%.3f\n",
           (unsigned long long)n, t_nodoc, (double)n / t_nodoc, t_nfree);
    printf("bench rules-engine n=%llu seconds=%.3f per_s=%.0f wall_seconds=%.3f rules=%zu\n",
           (unsigned long long)n, t_engine, (double)n / t_engine, w_engine, tl_ruleset_count(rs));
    double tot = t_nodoc + t_engine + t_nfree;
    printf("bench rules-total n=%llu seconds=%.3f per_s=%.0f\n", (unsigned long long)n, tot,
           (double)n / tot);
    double pw = 0, pc = 0, ow = 0, oc = 0;
    uint8_t ph[TL_HASH_LEN], oh[TL_HASH_LEN];
    size_t pn = 0, on = 0;
    if (bench_follow(n, s, rs, 256, &pw, &pc, ph, &pn) != 0)
        return 1;
    printf("bench rules-pipeline n=%llu wall_seconds=%.3f per_s=%.0f cpu_seconds=%.3f "
           "findings=%zu load=%.2f\n",
           (unsigned long long)n, pw, (double)n / pw, pc, pn, bench_loadavg());
    if (bench_follow(n, s, rs, 1, &ow, &oc, oh, &on) != 0)
        return 1;
    printf("bench rules-follow-1 n=%llu wall_seconds=%.3f per_s=%.0f cpu_seconds=%.3f "
           "findings=%zu same_findings=%d\n",
           (unsigned long long)n, ow, (double)n / ow, oc, on, memcmp(ph, oh, sizeof ph) == 0);
    if (memcmp(ph, oh, sizeof ph) != 0) {
        fprintf(stderr, "rules-pipeline: findings differ from one entry per call\n");
        return 1;
    }
    double mean = 0;
    for (int i = 0; i < 1000; i++)
        mean += lat[i];
    mean /= 1000;
    qsort(lat, 1000, sizeof *lat, cmp_d);
    printf("bench rules-add log=%llu mean_us=%.2f p50_us=%.2f p99_us=%.2f max_us=%.2f\n",
           (unsigned long long)n, mean, lat[500], lat[990], lat[999]);
    uint64_t nf = 0;
    double t0 = bench_now();
    if (tl_engine_findings(e, tl_engine_size(e), count_fn, &nf) != TL_OK)
        return 1;
    printf("bench rules-findings n=%llu seconds=%.3f\n", (unsigned long long)nf, bench_now() - t0);
    last_page lp = {.from = nf > 100 ? nf - 100 : 0};
    t0 = bench_now();
    if (tl_engine_findings_pick(e, tl_engine_size(e), page_pick, page_fn, &lp) != TL_OK)
        return 1;
    printf("bench rules-findings-last-page n=%llu formatted=%llu seconds=%.3f\n",
           (unsigned long long)nf, (unsigned long long)lp.got, bench_now() - t0);
    printf("bench rules-rss kib=%llu\n", (unsigned long long)bench_status_kib("VmHWM:"));
    tl_engine_free(e);
    tl_registry_free(reg);
    tl_ruleset_free(rs);
    tl_schemas_free(s);
    free(rtext);
    free(g.leaf);
    free(lat);
    return 0;
}
