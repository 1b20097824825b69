/* bench_query.c - the query index (qindex.h) at scale: builds an index of N treaty-mode entries
 * (default 1M: 10 parties, 8 message types, logged over ten years, refs on the types that need
 * them) through tl_qindex_put with real entry bytes, then times the queries of GET
 * /v1/entries and the validator's lookups, 100 runs each with varying parameters.
 * Issue 5 goal: a query by party, type and date range over 1M entries in at most 10 ms.
 *
 *   bench_query [--n N] [--runs R] [--db PATH] [--keep]
 *
 * --db reuses an index already built there with N entries (else builds it; a fresh temp file
 * is used and removed unless --keep). Entries carry a well-formed signature line that is not
 * verified (the index is built without an operator key, as signers need the registry): the
 * build measures parsing, schema validation and SQLite, not Ed25519.
 * Prints "bench query_put ..." and one "bench query name=... median_ms=... p99_ms=..." per
 * query kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_util.h"
#include "treatylog/entry.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/qindex.h"
#include "treatylog/schema.h"


#define NPARTIES 10
#define NTYPES   8
#define BATCH    10000
#define START_MS 1577836800000LL /* 2020-01-01 */
#define SPAN_MS  (3653LL * 86400000LL)

static const char *const types[NTYPES] = {
    "vd11.ch3.explanation-request",
    "vd11.ch3.explanation-reply",
    "vd11.ch5.notification",
    "generic.acknowledgement",
    "vd11.ch9.evaluation-request",
    "vd11.ch2.clarification-request",
    "os.quota-transfer",
    "vd11.ch11.statement",
};

static const char *schemas_dir(void)
{
    static char dir[4096];
    const char *env = getenv("TL_SCHEMAS");
    if (env && env[0])
        return env;
    const char *f = __FILE__;
    const char *cut = strstr(f, "bench/bench_query.c");
    size_t n = cut ? (size_t)(cut - f) : 0;
    snprintf(dir, sizeof dir, "%.*sschemas", (int)n, f);
    return dir;
}

static void die(const char *what, const tl_diag *d)
{
    fprintf(stderr, "bench_query: %s: %s\n", what, d ? d->msg : "");
    exit(1);
}

typedef struct corpus {
    json_t *tmpl[NTYPES];
    size_t refs_min[NTYPES];
    char sigline[NPARTIES][TL_SIGLINE_MAX];
} corpus;

static int64_t logged_of(uint64_t i, uint64_t n)
{
    return START_MS + (int64_t)((double)i * ((double)SPAN_MS / (double)n));
}

/* Entry i: party i % 10, type by a mix of i, serial per party, logged spread over ten years. */
static uint8_t *make_entry(const corpus *c, uint64_t i, uint64_t n, const uint8_t prev[32],
                           size_t *len)
{
    unsigned p = (unsigned)(i % NPARTIES);
    unsigned t = (unsigned)(bench_mix(i) % NTYPES);
    char from[3] = {'X', (char)('A' + p), 0};
    json_t *doc = json_deep_copy(c->tmpl[t]);
    json_object_set_new(doc, "from", json_string(from));
    json_object_set_new(doc, "serial", json_integer((json_int_t)(i / NPARTIES + 1)));
    json_object_set_new(doc, "to", json_pack("[s]", "*"));
    json_t *refs = json_array();
    if (c->refs_min[t] > 0 && i > 0) {
        char b[64];
        tl_b64_encode(b, prev, 32);
        json_array_append_new(refs, json_string(b));
    }
    json_object_set_new(doc, "refs", refs);
    char *js = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char head[TL_ENTRY_HEAD_MAX];
    size_t hl = tl_entry_head(head, (uint64_t)logged_of(i, n));
    size_t jl = strlen(js), sl = strlen(c->sigline[p]);
    *len = hl + TL_NOTIFICATION_HEADER_LEN + jl + 2 + sl;
    uint8_t *e = malloc(*len);
    if (!e)
        die("out of memory", NULL);
    size_t o = 0;
    memcpy(e, head, hl);
    o += hl;
    memcpy(e + o, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN);
    o += TL_NOTIFICATION_HEADER_LEN;
    memcpy(e + o, js, jl);
    o += jl;
    e[o++] = '\n';
    e[o++] = '\n';
    memcpy(e + o, c->sigline[p], sl);
    free(js);
    return e;
}

static void load_corpus(corpus *c, const tl_schemas *s)
{
    tl_diag d = {{0}};
    for (int t = 0; t < NTYPES; t++) {
        char *text = NULL;
        size_t len = 0;
        if (tl_notification_template(&text, &len, s, types[t], &d) != TL_OK)
            die(types[t], &d);
        c->tmpl[t] = json_loadb(text + TL_NOTIFICATION_HEADER_LEN,
                                len - TL_NOTIFICATION_HEADER_LEN - 1, 0, NULL);
        free(text);
        const tl_msgtype *mt = tl_schemas_find(s, types[t]);
        if (!c->tmpl[t] || !mt)
            die(types[t], NULL);
        c->refs_min[t] = mt->refs_min;
    }
    for (int p = 0; p < NPARTIES; p++) {
        char name[3] = {'X', (char)('A' + p), 0};
        tl_skey k;
        uint8_t seed[TL_SEED_LEN];
        memset(seed, p + 1, sizeof seed);
        size_t ll = 0;
        if (tl_skey_from_seed(&k, name, 2, TL_KEY_ED25519, seed, &d) != TL_OK ||
            tl_note_sigline(c->sigline[p], &ll, "x\n", 2, &k, 0, &d) != TL_OK)
            die("key", &d);
        tl_skey_wipe(&k);
    }
}

static void build(tl_qindex *q, const tl_schemas *s, uint64_t n)
{
    corpus c;
    load_corpus(&c, s);
    uint8_t **ents = calloc(BATCH, sizeof *ents);
    size_t *lens = calloc(BATCH, sizeof *lens);
    if (!ents || !lens)
        die("out of memory", NULL);
    uint8_t prev[32] = {0};
    uint64_t bytes = 0;
    double t0 = bench_now(), c0 = bench_cpu();
    tl_diag d = {{0}};
    for (uint64_t first = tl_qindex_covered(q); first < n; first += BATCH) {
        size_t m = n - first < BATCH ? (size_t)(n - first) : BATCH;
        for (size_t i = 0; i < m; i++) {
            ents[i] = make_entry(&c, first + i, n, prev, &lens[i]);
            tl_leaf_hash(prev, ents[i], lens[i]);
            bytes += lens[i];
        }
        if (tl_qindex_put(q, first, (const uint8_t *const *)ents, lens, m, NULL, s, &d) != TL_OK)
            die("put", &d);
        for (size_t i = 0; i < m; i++)
            free(ents[i]);
        if ((first / BATCH) % 20 == 0)
            fprintf(stderr, "bench_query: indexed %llu / %llu\n", (unsigned long long)(first + m),
                    (unsigned long long)n);
    }
    double t = bench_now() - t0, cpu = bench_cpu() - c0;
    printf("bench query_put n=%llu seconds=%.1f entries_per_s=%.0f cpu_s=%.1f avg_entry_bytes=%.0f "
           "load=%.2f\n",
           (unsigned long long)n, t, (double)n / t, cpu, (double)bytes / (double)n,
           bench_loadavg());
    for (int i = 0; i < NTYPES; i++)
        json_decref(c.tmpl[i]);
    free(ents);
    free(lens);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs fn(q, run, ctx) `runs` times; prints median and p99 in ms and the rows of the last. */
typedef size_t (*bench_fn)(tl_qindex *q, uint64_t n, unsigned run);

static void timeit(const char *name, tl_qindex *q, uint64_t n, unsigned runs, bench_fn fn)
{
    double *ms = calloc(runs, sizeof *ms);
    if (!ms)
        die("out of memory", NULL);
    size_t rows = 0;
    for (unsigned r = 0; r < runs; r++) {
        double t0 = bench_now();
        rows += fn(q, n, r);
        ms[r] = (bench_now() - t0) * 1e3;
    }
    qsort(ms, runs, sizeof *ms, cmp_double);
    size_t p99 = (size_t)((double)runs * 0.99);
    if (p99 >= runs)
        p99 = runs - 1;
    printf("bench query name=%s n=%llu runs=%u median_ms=%.3f p99_ms=%.3f max_ms=%.3f "
           "avg_rows=%.1f\n",
           name, (unsigned long long)n, runs, ms[runs / 2], ms[p99], ms[runs - 1],
           (double)rows / runs);
    fflush(stdout);
    free(ms);
}

static size_t run_query(tl_qindex *q, const tl_qfilter *f)
{
    json_t *out = NULL;
    tl_diag d = {{0}};
    if (tl_qindex_query(q, f, 0, &out, &d) != TL_OK)
        die("query", &d);
    /* What the HTTP layer does with the answer. */
    char *s = json_dumps(out, JSON_COMPACT);
    size_t rows = json_array_size(json_object_get(out, "entries"));
    free(s);
    json_decref(out);
    return rows;
}

static void day_of(char out[16], int64_t ms)
{
    char ts[32];
    tl_qindex_format_ms(ts, ms);
    snprintf(out, 16, "%.10s", ts);
}

/* The query: one party, one type, one year. */
static size_t q_party_type_range(tl_qindex *q, uint64_t n, unsigned run)
{
    (void)n;
    char party[3] = {'X', (char)('A' + run % NPARTIES), 0}, since[16], until[16];
    int64_t y = START_MS + (int64_t)(run % 9) * 365 * 86400000LL;
    day_of(since, y);
    day_of(until, y + 365 * 86400000LL);
    tl_qfilter f = {.party = party, .type = types[run % NTYPES], .since = since, .until = until};
    return run_query(q, &f);
}

static size_t q_party_type_range_late(tl_qindex *q, uint64_t n, unsigned run)
{
    /* The same, from the middle of its result (a later page). */
    (void)n;
    char party[3] = {'X', (char)('A' + run % NPARTIES), 0}, after[24];
    snprintf(after, sizeof after, "%llu", (unsigned long long)(n / 2));
    tl_qfilter f = {.party = party,
                    .type = types[run % NTYPES],
                    .since = "2021-01-01",
                    .until = "2029-01-01",
                    .after = after};
    return run_query(q, &f);
}

static size_t q_party(tl_qindex *q, uint64_t n, unsigned run)
{
    (void)n;
    char party[3] = {'X', (char)('A' + run % NPARTIES), 0};
    tl_qfilter f = {.party = party, .limit = "1000"};
    return run_query(q, &f);
}

static size_t q_prefix_range(tl_qindex *q, uint64_t n, unsigned run)
{
    (void)n;
    char since[16], until[16];
    int64_t m = START_MS + (int64_t)(run % 100) * 30 * 86400000LL;
    day_of(since, m);
    day_of(until, m + 30 * 86400000LL);
    tl_qfilter f = {.type = run % 2 ? "vd11.ch3.*" : "vd11.*", .since = since, .until = until};
    return run_query(q, &f);
}

static size_t q_range(tl_qindex *q, uint64_t n, unsigned run)
{
    (void)n;
    char since[16];
    day_of(since, START_MS + (int64_t)(run % 100) * 30 * 86400000LL);
    tl_qfilter f = {.since = since};
    return run_query(q, &f);
}

static size_t q_page(tl_qindex *q, uint64_t n, unsigned run)
{
    char after[24];
    snprintf(after, sizeof after, "%llu", (unsigned long long)(bench_mix(run) % n));
    tl_qfilter f = {.after = after};
    return run_query(q, &f);
}

static size_t q_ref(tl_qindex *q, uint64_t n, unsigned run)
{
    /* The refs of a random entry that has one, then who refers to that leaf. */
    uint64_t i = bench_mix(run + 7) % n;
    json_t *o = NULL;
    tl_diag d = {{0}};
    for (; i < n; i++) {
        if (tl_qindex_entry(q, i, &o, &d) != TL_OK)
            die("entry", &d);
        if (json_array_size(json_object_get(o, "refs")) > 0)
            break;
        json_decref(o);
        o = NULL;
    }
    if (!o)
        return 0;
    tl_qfilter f = {.ref = json_string_value(json_array_get(json_object_get(o, "refs"), 0))};
    size_t rows = run_query(q, &f);
    json_decref(o);
    return rows;
}

static size_t q_entry(tl_qindex *q, uint64_t n, unsigned run)
{
    json_t *o = NULL;
    tl_diag d = {{0}};
    if (tl_qindex_entry(q, bench_mix(run) % n, &o, &d) != TL_OK)
        die("entry", &d);
    char *s = json_dumps(o, JSON_COMPACT);
    free(s);
    json_decref(o);
    return 1;
}

static size_t q_serial(tl_qindex *q, uint64_t n, unsigned run)
{
    char party[3] = {'X', (char)('A' + run % NPARTIES), 0};
    uint8_t k[TL_HASH_LEN];
    tl_err e = tl_qindex_serial_used(q, party, bench_mix(run) % (n / NPARTIES) + 1, k, NULL);
    return e == TL_OK ? 1 : 0;
}

static size_t q_stats(tl_qindex *q, uint64_t n, unsigned run)
{
    (void)n;
    (void)run;
    json_t *o = NULL;
    tl_diag d = {{0}};
    if (tl_qindex_stats(q, &o, &d) != TL_OK)
        die("stats", &d);
    size_t days = json_array_size(json_object_get(o, "per_day"));
    json_decref(o);
    return days;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, runs = 100;
    const char *db = NULL;
    bool keep = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = bench_u64_arg("--n", argv[++i], 1000, 100000000);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = bench_u64_arg("--runs", argv[++i], 1, 100000);
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else {
            fprintf(stderr, "usage: %s [--n N] [--runs R] [--db PATH] [--keep]\n", argv[0]);
            return 2;
        }
    }
    if (tl_init() != TL_OK)
        die("init", NULL);
    tl_diag d = {{0}};
    tl_schemas *s = NULL;
    if (tl_schemas_load(&s, schemas_dir(), &d) != TL_OK)
        die(schemas_dir(), &d);
    char tmpdir[] = "/tmp/bench_query.XXXXXX", path[128];
    if (!db) {
        if (!mkdtemp(tmpdir))
            die("mkdtemp", NULL);
        snprintf(path, sizeof path, "%s/query.db", tmpdir);
        db = path;
    }
    tl_qindex *q = NULL;
    if (tl_qindex_open(&q, db, false, &d) != TL_OK)
        die(db, &d);
    if (tl_qindex_covered(q) < n)
        build(q, s, n);
    else if (tl_qindex_covered(q) > n)
        n = tl_qindex_covered(q);
    fprintf(stderr, "bench_query: %s holds %llu entries\n", db,
            (unsigned long long)tl_qindex_covered(q));
    unsigned r = (unsigned)runs;
    timeit("party_type_year", q, n, r, q_party_type_range);
    timeit("party_type_8y_after_mid", q, n, r, q_party_type_range_late);
    timeit("party_limit1000", q, n, r, q_party);
    timeit("type_prefix_month", q, n, r, q_prefix_range);
    timeit("since", q, n, r, q_range);
    timeit("page_after", q, n, r, q_page);
    timeit("ref", q, n, r, q_ref);
    timeit("entry", q, n, r, q_entry);
    timeit("serial_used", q, n, r, q_serial);
    timeit("stats", q, n, r, q_stats);
    tl_qindex_close(q);
    tl_schemas_free(s);
    if (db == path && !keep) {
        char p[160];
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", path, sfx[i]);
            unlink(p);
        }
        rmdir(tmpdir);
    } else if (db == path) {
        fprintf(stderr, "bench_query: kept %s\n", path);
    }
    return 0;
}
