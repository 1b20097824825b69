/* cmd_query.c - treatylog reindex, list and show: the query index (qindex.h) of a log
 * directory, rebuilt from the log, and the entries it finds, from a directory's index or from
 * a server's query API (GET /v1/entries, /v1/entries/<index>; decision 0003), for a person
 * (aligned columns) or as the API's JSON (--json). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "treatylog/log.h"
#include "treatylog/qindex.h"
#include "treatylog/schema.h"
#include "treatylog/text.h"

#ifndef TL_SCHEMAS_DIR
#define TL_SCHEMAS_DIR "schemas"
#endif

#define QINDEX_FILE   ".treatylog/query.db"
#define REINDEX_BATCH 1024

static bool is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* ---- reindex ---------------------------------------------------------------------------- */

/* The log key: --vkey if given, else the one a treatylog log directory keeps. */
static tl_err log_vkey(tl_store *st, const char *arg, tl_vkey *k, tl_diag *d)
{
    if (arg)
        return cli_load_vkey(arg, k, d);
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = st->ops->read(st, ".treatylog/log.vkey", &buf, &len, d);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, TL_ERR_USAGE, "give the log's verifier key with --vkey");
    if (e != TL_OK)
        return e;
    while (len > 0 && buf[len - 1] == '\n')
        len--;
    e = tl_vkey_parse(k, (const char *)buf, len, d);
    free(buf);
    return e;
}

static void remove_db(const char *path)
{
    char p[4200];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* Indexes entries 0..size-1 of the log in st into a new index at tmp. */
static tl_err build(tl_store *st, uint64_t size, const char *tmp, const tl_vkey *k,
                    const tl_schemas *s, tl_diag *d)
{
    tl_qindex *q = NULL;
    tl_reader *r = NULL;
    tl_err e = tl_qindex_open(&q, tmp, false, d);
    if (e == TL_OK)
        e = tl_reader_new(&r, st, size, d);
    uint8_t *bufs[REINDEX_BATCH] = {0};
    size_t lens[REINDEX_BATCH];
    for (uint64_t first = 0; first < size && e == TL_OK; first += REINDEX_BATCH) {
        size_t n = size - first < REINDEX_BATCH ? (size_t)(size - first) : REINDEX_BATCH;
        for (size_t i = 0; i < n && e == TL_OK; i++)
            e = tl_reader_entry(r, first + i, &bufs[i], &lens[i], d);
        if (e == TL_OK)
            e = tl_qindex_put(q, first, (const uint8_t *const *)bufs, lens, n, k, s, d);
        for (size_t i = 0; i < n; i++) {
            free(bufs[i]);
            bufs[i] = NULL;
        }
    }
    tl_reader_free(r);
    tl_qindex_close(q);
    return e;
}

int cmd_reindex(int argc, char **argv)
{
    const char *vkey_arg = NULL, *schemas_arg = NULL;
    const cli_opt opts[] = {{"vkey", &vkey_arg, NULL}, {"schemas", &schemas_arg, NULL}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("reindex", argc, argv, opts, 2, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1)
        return cli_usage("reindex", "usage: treatylog reindex DIR [--vkey VKEY] [--schemas DIR]");
    const char *dir = pos[0];
    const char *sdir = schemas_arg;
    if (!sdir) {
        const char *env = getenv("TREATYLOG_SCHEMAS");
        sdir = env && env[0] ? env : TL_SCHEMAS_DIR;
    }
    tl_diag d = {{0}};
    tl_schemas *s = NULL;
    tl_store *st = NULL;
    tl_vkey k;
    tl_checkpoint cp;
    tl_err e = tl_schemas_load(&s, sdir, &d);
    /* The writer lock: a running server keeps its own index (the same file) up to date, and
     * replacing it under the server would lose its updates. A log we may not lock (a
     * read-only copy) is read without it. */
    if (e == TL_OK) {
        e = tl_store_posix_open(&st, dir, true, NULL, &d);
        if (e == TL_ERR_LOCKED)
            e = tl_fail(&d, e,
                        "%s is in use (a running `treatylog serve` keeps its query index up to "
                        "date itself); stop it first",
                        dir);
        else if (e != TL_OK && e != TL_ERR_NOTFOUND)
            e = tl_store_posix_open(&st, dir, false, NULL, &d);
    }
    if (e == TL_OK)
        e = log_vkey(st, vkey_arg, &k, &d);
    if (e == TL_OK)
        e = tl_read_checkpoint(st, &k, &cp, NULL, NULL, &d);
    char path[4096], tmp[4096];
    int n1 = snprintf(path, sizeof path, "%s/%s", dir, QINDEX_FILE);
    int n2 = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (e == TL_OK && (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof tmp))
        e = tl_fail(&d, TL_ERR_USAGE, "%s: path too long", dir);
    if (e == TL_OK) {
        remove_db(tmp);
        e = build(st, cp.size, tmp, &k, s, &d);
    }
    /* The commit point: the new index replaces the old one whole. A WAL left by a process
     * that had the old one open must not be replayed onto the new file. */
    if (e == TL_OK) {
        char p[4200];
        snprintf(p, sizeof p, "%s-wal", path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", path);
        unlink(p);
        if (rename(tmp, path) != 0)
            e = tl_fail(&d, TL_ERR_IO, "rename %s: %s", path, strerror(errno));
    }
    if (e != TL_OK && n2 > 0 && (size_t)n2 < sizeof tmp)
        remove_db(tmp);
    if (st)
        st->ops->close(st);
    tl_schemas_free(s);
    if (e != TL_OK)
        return cli_fail("reindex", e, &d);
    fprintf(stderr, "treatylog reindex: indexed %llu entries into %s\n",
            (unsigned long long)cp.size, path);
    return 0;
}

/* ---- fetching: a directory's index or a server's API -------------------------------------- */

/* The size in DIR/checkpoint (not verified: only to tell whether the index is behind). */
static bool log_size(const char *dir, uint64_t *size)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/checkpoint", dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    char line[128];
    bool ok = fgets(line, sizeof line, f) && fgets(line, sizeof line, f);
    fclose(f);
    if (!ok)
        return false;
    size_t n = strcspn(line, "\n");
    return tl_parse_u64(size, line, n) == TL_OK;
}

/* Opens DIR's index read-only, saying so if it is missing or behind the log. */
static tl_err open_dir(const char *cmd, const char *dir, tl_qindex **q, uint64_t *size, tl_diag *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, QINDEX_FILE);
    tl_err e = tl_qindex_open(q, path, true, d);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, e, "%s has no query index; build it with: treatylog reindex %s", dir,
                       dir);
    if (e != TL_OK)
        return e;
    uint64_t covered = tl_qindex_covered(*q);
    *size = covered;
    if (log_size(dir, size) && *size > covered)
        fprintf(stderr,
                "treatylog %s: the query index covers %llu of the log's %llu entries; update "
                "it with: treatylog reindex %s\n",
                cmd, (unsigned long long)covered, (unsigned long long)*size, dir);
    return TL_OK;
}

/* Appends "&name=value" (escaped) to a query string. */
static tl_err add_param(char **qs, const char *name, const char *value, tl_diag *d)
{
    if (!value)
        return TL_OK;
    char *esc = curl_easy_escape(NULL, value, 0);
    char *n = NULL;
    int r = esc ? asprintf(&n, "%s%s%s=%s", *qs, (*qs)[0] ? "&" : "?", name, esc) : -1;
    curl_free(esc);
    if (r < 0)
        return tl_fail(d, TL_ERR_NOMEM, "query");
    free(*qs);
    *qs = n;
    return TL_OK;
}

static tl_err fetch_page(const char *loc, tl_qindex *q, uint64_t size, const tl_qfilter *f,
                         json_t **out, tl_diag *d)
{
    if (q)
        return tl_qindex_query(q, f, size, out, d);
    char *qs = strdup("");
    if (!qs)
        return tl_fail(d, TL_ERR_NOMEM, "query");
    const char *names[] = {"party", "type", "since", "until", "ref", "after", "limit", "time"};
    const char *vals[] = {f->party, f->type,  f->since, f->until,
                          f->ref,   f->after, f->limit, f->time};
    tl_err e = TL_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && e == TL_OK; i++)
        e = add_param(&qs, names[i], vals[i], d);
    char *path = NULL;
    if (e == TL_OK && asprintf(&path, "/v1/entries%s", qs) < 0)
        e = tl_fail(d, TL_ERR_NOMEM, "query");
    free(qs);
    if (e == TL_OK)
        e = cli_http_json(loc, path, out, d);
    free(path);
    return e;
}

/* ---- output for a person ------------------------------------------------------------------ */

static const char *str_or(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

/* Appends to out[0..cap) at *n, never past cap (a long summary is cut). */
static void addf(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void addf(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0)
        *n = *n + (size_t)k < cap ? *n + (size_t)k : cap - 1;
}

/* The short summary of a row: activity, dates, troops, recipients, refs. */
static void summary(const json_t *r, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    const char *act = str_or(r, "activity", NULL), *start = str_or(r, "start", NULL),
               *end = str_or(r, "end", NULL);
    if (act)
        addf(out, cap, &n, "%s ", act);
    if (start)
        addf(out, cap, &n, "%s..%s ", start, end ? end : "");
    json_t *troops = json_object_get(r, "troops");
    if (json_is_integer(troops))
        addf(out, cap, &n, "troops %lld ", (long long)json_integer_value(troops));
    json_t *to = json_object_get(r, "to");
    if (json_array_size(to) > 0 &&
        !(json_array_size(to) == 1 && strcmp(str_or(json_array_get(to, 0), "", ""), "*") == 0)) {
        addf(out, cap, &n, "to ");
        size_t i;
        json_t *v;
        json_array_foreach(to, i, v) addf(out, cap, &n, "%s%s", i ? "," : "", json_string_value(v));
        addf(out, cap, &n, " ");
    }
    size_t nrefs = json_array_size(json_object_get(r, "refs"));
    if (nrefs)
        addf(out, cap, &n, "refs %zu ", nrefs);
    if (n > 0 && n < cap && out[n - 1] == ' ')
        out[n - 1] = '\0';
}

static void cell_logged(const json_t *r, char out[32])
{
    const char *l = str_or(r, "logged", NULL);
    if (!l || strlen(l) < 19) {
        snprintf(out, 32, "-");
        return;
    }
    snprintf(out, 32, "%.10s %.8s", l, l + 11);
}

static void cell_from(const json_t *r, char out[48])
{
    json_t *serial = json_object_get(r, "serial");
    const char *from = str_or(r, "from", "-");
    if (json_is_integer(serial))
        snprintf(out, 48, "%s/%lld", from, (long long)json_integer_value(serial));
    else
        snprintf(out, 48, "%s", from);
}

static bool print_table(const json_t *rows)
{
    int wi = 5, wf = 11, wt = 4;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        char idx[24], from[48];
        int a = snprintf(idx, sizeof idx, "%lld",
                         (long long)json_integer_value(json_object_get(r, "index")));
        cell_from(r, from);
        int b = (int)strlen(from), c = (int)strlen(str_or(r, "type", "-"));
        wi = a > wi ? a : wi;
        wf = b > wf ? b : wf;
        wt = c > wt ? c : wt;
    }
    if (printf("%-*s  %-19s  %-*s  %-*s  %s\n", wi, "INDEX", "LOGGED (UTC)", wf, "FROM/SERIAL", wt,
               "TYPE", "SUMMARY") < 0)
        return false;
    json_array_foreach(rows, i, r)
    {
        char logged[32], from[48], sum[512];
        cell_logged(r, logged);
        cell_from(r, from);
        summary(r, sum, sizeof sum);
        const char *type = str_or(r, "type", NULL);
        if (!type)
            type = str_or(r, "kind", "-");
        /* No trailing blanks when there is no summary. */
        if (printf("%-*lld  %-19s  %-*s  %-*s%s%s\n", wi,
                   (long long)json_integer_value(json_object_get(r, "index")), logged, wf, from,
                   sum[0] ? wt : 0, type, sum[0] ? "  " : "", sum) < 0)
            return false;
    }
    return true;
}

static bool print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    bool ok = s && printf("%s\n", s) >= 0;
    free(s);
    return ok;
}

/* ---- list -------------------------------------------------------------------------------- */

int cmd_list(int argc, char **argv)
{
    tl_qfilter f = {0};
    bool json = false, all = false;
    const cli_opt opts[] = {
        {"party", &f.party, NULL}, {"type", &f.type, NULL}, {"since", &f.since, NULL},
        {"until", &f.until, NULL}, {"ref", &f.ref, NULL},   {"after", &f.after, NULL},
        {"limit", &f.limit, NULL}, {"json", NULL, &json},   {"all", NULL, &all},
        {"time", &f.time, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("list", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1)
        return cli_usage("list", "usage: treatylog list DIR|URL [--party P] [--type T] "
                                 "[--since D] [--until D] [--time logged|sent|activity] "
                                 "[--ref B64] [--after N] [--limit N] [--all] [--json]");
    const char *loc = pos[0];
    tl_diag d = {{0}};
    tl_qindex *q = NULL;
    uint64_t size = 0;
    tl_err e = is_url(loc) ? TL_OK : open_dir("list", loc, &q, &size, &d);
    /* With --all, every page, as one answer. */
    json_t *ans = NULL;
    char after[24];
    while (e == TL_OK) {
        json_t *page = NULL;
        e = fetch_page(loc, q, size, &f, &page, &d);
        if (e != TL_OK)
            break;
        if (!ans) {
            ans = page;
        } else {
            json_array_extend(json_object_get(ans, "entries"), json_object_get(page, "entries"));
            json_object_set(ans, "next", json_object_get(page, "next"));
            json_object_set(ans, "size", json_object_get(page, "size"));
            json_decref(page);
        }
        json_t *next = json_object_get(ans, "next");
        if (!all || !json_is_integer(next))
            break;
        snprintf(after, sizeof after, "%lld", (long long)json_integer_value(next));
        f.after = after;
    }
    tl_qindex_close(q);
    if (e != TL_OK) {
        json_decref(ans);
        return cli_fail("list", e, &d);
    }
    bool ok;
    if (json) {
        ok = print_json(ans);
    } else {
        json_t *rows = json_object_get(ans, "entries");
        ok = print_table(rows);
        json_t *next = json_object_get(ans, "next");
        if (ok && json_is_integer(next))
            ok = printf("(more: --after %lld)\n", (long long)json_integer_value(next)) >= 0;
    }
    json_decref(ans);
    return ok && fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

/* ---- show -------------------------------------------------------------------------------- */

int cmd_show(int argc, char **argv)
{
    bool json = false;
    const cli_opt opts[] = {{"json", NULL, &json}};
    const char *pos[2];
    size_t npos = 0;
    int rc = cli_parse("show", argc, argv, opts, 1, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos != 2)
        return cli_usage("show", "usage: treatylog show DIR|URL INDEX [--json]");
    tl_diag d = {{0}};
    uint64_t index = 0;
    tl_err e = cli_parse_u64(pos[1], &index, &d);
    if (e != TL_OK)
        return cli_usage("show", "INDEX: %s", d.msg);
    json_t *o = NULL;
    if (is_url(pos[0])) {
        char path[64];
        snprintf(path, sizeof path, "/v1/entries/%llu", (unsigned long long)index);
        e = cli_http_json(pos[0], path, &o, &d);
    } else {
        tl_qindex *q = NULL;
        uint64_t size = 0;
        e = open_dir("show", pos[0], &q, &size, &d);
        if (e == TL_OK)
            e = tl_qindex_entry(q, index, &o, &d);
        tl_qindex_close(q);
    }
    if (e != TL_OK)
        return cli_fail("show", e, &d);
    bool ok = true;
    if (json) {
        ok = print_json(o);
    } else {
        /* The scalar fields one a line, then the document pretty-printed. */
        const char *skip[] = {"notification", "submission"};
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
        {
            if (strcmp(k, skip[0]) == 0 || strcmp(k, skip[1]) == 0)
                continue;
            char *s = json_is_string(v) ? strdup(json_string_value(v))
                                        : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            ok = ok && s && printf("%-12s %s\n", k, s) >= 0;
            free(s);
        }
        json_t *n = json_object_get(o, "notification");
        if (ok && n && !json_is_null(n)) {
            char *s = json_dumps(n, JSON_INDENT(2));
            ok = s && printf("document:\n%s\n", s) >= 0;
            free(s);
        }
        const char *sub = json_string_value(json_object_get(o, "submission"));
        if (ok && sub)
            ok = printf("submission (signed note):\n%s", sub) >= 0;
    }
    json_decref(o);
    return ok && fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}
