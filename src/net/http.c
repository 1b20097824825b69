/* http.c - the HTTP front (libmicrohttpd): C2SP tlog-tiles read API (checkpoint, tiles, entry
 * bundles), POST /add, proofs, /healthz and /metrics. See docs/api.md.
 *
 * POST /add is asynchronous: the handler submits to the sequencer and suspends the
 * connection; the sequencer's answer callback stores the answer and resumes it; MHD then calls
 * the handler again, which sends the answer. A per-request mutex orders suspend before resume.
 */
#include "treatylog/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <zlib.h>

#include "api.h"
#include "httputil.h"
#include "treatylog/treaty.h"
#include "treatylog/webstatic.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"

#define NSTATUS 12
static const unsigned status_codes[NSTATUS] = {200, 202, 400, 403, 404, 405,
                                               409, 413, 429, 500, 503, 0};

struct tl_server {
    struct MHD_Daemon *mhd;
    tl_seq *seq;
    tl_server_config cfg;
    unsigned port;
    pthread_mutex_t log_mu; /* access log lines */
    _Atomic uint64_t status[NSTATUS];
    _Atomic uint64_t requests;
};

typedef struct req {
    tl_server *srv;
    struct MHD_Connection *conn;
    bool is_add;
    uint8_t *body;
    size_t len, cap;
    bool too_big;
    pthread_mutex_t mu;
    bool submitted, suspended, done;
    tl_answer ans;
    unsigned status;
    uint64_t t0_ns;
} req;

void tl_server_config_default(tl_server_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8420";
    c->max_connections = 1024;
    c->conn_timeout_s = 30;
    c->max_body = TL_ENTRY_MAX;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count_status(tl_server *s, unsigned code)
{
    size_t i = 0;
    while (status_codes[i] && status_codes[i] != code)
        i++;
    atomic_fetch_add(&s->status[i], 1);
}

/* Sends body (taken over: freed by MHD) with status and content type. */
static enum MHD_Result send_buf(struct MHD_Connection *c, req *r, unsigned status,
                                const char *ctype, char *body, size_t len, const char *cache)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (cache)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    if (status == 429 || status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (r)
        r->status = status;
    return ret;
}

/* A short text message ("treatylog: ..." + LF). */
static enum MHD_Result send_text(struct MHD_Connection *c, req *r, unsigned status,
                                 const char *msg)
{
    size_t n = strlen(msg);
    char *b = malloc(n + 2);
    if (!b)
        return MHD_NO;
    memcpy(b, msg, n);
    b[n] = '\n';
    b[n + 1] = '\0';
    return send_buf(c, r, status, "text/plain; charset=utf-8", b, n + 1, "no-store");
}

static unsigned status_for(tl_err e)
{
    switch (e) {
    case TL_OK:
        return 200;
    case TL_ERR_FORMAT:
    case TL_ERR_USAGE:
    case TL_ERR_RANGE:
        return 400;
    case TL_ERR_SIGNATURE:
        return 403;
    case TL_ERR_NOTFOUND:
        return 404;
    case TL_ERR_CONFLICT:
        return 409;
    case TL_ERR_TOOBIG:
        return 413;
    case TL_ERR_PUSHBACK:
        return 429;
    case TL_ERR_IO:
    case TL_ERR_LOCKED:
        return 503;
    case TL_ERR_NOMEM:
    case TL_ERR_INTERNAL:
    case TL_ERR_PROOF:
    case TL_ERR_QUORUM:
        return 500;
    }
    return 500;
}

/* ---- tiles ---- */

static bool accepts_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    return ae && strstr(ae, "gzip") != NULL;
}

/* gzip-compresses buf; returns NULL if it cannot. */
static char *gzip(const uint8_t *buf, size_t len, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)len);
    char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)buf;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Is the tile (or bundle) t part of the log at published size `size`? */
static bool published_tile(const tl_tile *t, uint64_t size)
{
    uint64_t cnt = tl_tile_level_count(size, t->level);
    uint64_t full = cnt / TL_TILE_WIDTH;
    if (t->width == TL_TILE_WIDTH)
        return t->index < full;
    /* Partial: a smaller width of an earlier size, or the right edge of this one. */
    return t->index < full || (t->index == full && t->width <= cnt % TL_TILE_WIDTH);
}

static enum MHD_Result serve_tile(tl_server *s, struct MHD_Connection *c, req *r,
                                  const char *url)
{
    tl_tile t;
    tl_diag d;
    if (tl_tile_path_parse(&t, url, strlen(url), &d) != TL_OK)
        return send_text(c, r, 404, "treatylog: not a canonical tile path");
    if (!published_tile(&t, tl_seq_size(s->seq)))
        return send_text(c, r, 404, "treatylog: tile beyond the published tree size");
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, &t);
    tl_store *st = tl_seq_store(s->seq);
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = st->ops->read(st, path, &buf, &len, &d);
    if (e == TL_ERR_NOTFOUND)
        return send_text(c, r, 404, "treatylog: no such tile");
    if (e != TL_OK)
        return send_text(c, r, 500, d.msg);
    const char *immutable = "public, max-age=31536000, immutable";
    if (t.entries && accepts_gzip(c)) {
        size_t zlen = 0;
        char *z = gzip(buf, len, &zlen);
        if (z) {
            free(buf);
            struct MHD_Response *resp =
                MHD_create_response_from_buffer(zlen, z, MHD_RESPMEM_MUST_FREE);
            if (!resp) {
                free(z);
                return MHD_NO;
            }
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    "application/octet-stream");
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, immutable);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
            MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
            enum MHD_Result ret = MHD_queue_response(c, 200, resp);
            MHD_destroy_response(resp);
            r->status = 200;
            return ret;
        }
    }
    return send_buf(c, r, 200, "application/octet-stream", (char *)buf, len, immutable);
}

/* ---- proofs and status ---- */

static bool query_u64(struct MHD_Connection *c, const char *key, uint64_t *out, bool *present)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    *present = v != NULL;
    if (!v)
        return true;
    return tl_parse_u64(out, v, strlen(v)) == TL_OK;
}

static enum MHD_Result serve_proof(tl_server *s, struct MHD_Connection *c, req *r,
                                   const char *url)
{
    tl_diag d = {{0}};
    char *body = NULL;
    size_t len = 0;
    tl_err e;
    const char *ctype = "text/plain; charset=utf-8";
    if (strcmp(url, "/v1/proof") == 0) {
        const char *h = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "hash");
        if (!h)
            return send_text(c, r, 400, "treatylog: missing ?hash= (base64 or hex leaf hash)");
        char tmp[128];
        size_t n = strlen(h);
        if (n >= sizeof tmp)
            return send_text(c, r, 400, "treatylog: hash too long");
        memcpy(tmp, h, n + 1);
        for (size_t i = 0; i < n; i++) {
            if (tmp[i] == ' ')
                tmp[i] = '+'; /* an unescaped '+' decoded as a space */
        }
        uint8_t leaf[TL_HASH_LEN];
        size_t got = 0;
        bool ok = tl_b64_decode(leaf, sizeof leaf, &got, tmp, n) == TL_OK && got == TL_HASH_LEN;
        if (!ok && n == 64) {
            ok = true;
            for (size_t i = 0; i < 32 && ok; i++) {
                unsigned v = 0;
                for (int k = 0; k < 2; k++) {
                    char ch = tmp[2 * i + (size_t)k];
                    v <<= 4;
                    if (ch >= '0' && ch <= '9')
                        v |= (unsigned)(ch - '0');
                    else if (ch >= 'a' && ch <= 'f')
                        v |= (unsigned)(ch - 'a' + 10);
                    else
                        ok = false;
                }
                leaf[i] = (uint8_t)v;
            }
        }
        if (!ok)
            return send_text(c, r, 400,
                             "treatylog: hash must be 32 bytes, in base64 or 64 hex digits");
        e = tl_seq_proof_by_hash(s->seq, leaf, &body, &len, &d);
        if (e == TL_ERR_PUSHBACK)
            return send_text(c, r, 202, d.msg);
    } else if (strcmp(url, "/v1/proof/inclusion") == 0) {
        uint64_t index = 0, size = 0;
        bool hi = false, hs = false;
        if (!query_u64(c, "index", &index, &hi) || !query_u64(c, "size", &size, &hs) || !hi)
            return send_text(c, r, 400,
                             "treatylog: need index=N (and optionally size=S), decimal");
        e = tl_seq_proof_inclusion(s->seq, index, hs ? size : 0, &body, &len, &d);
    } else if (strcmp(url, "/v1/proof/consistency") == 0) {
        uint64_t old = 0, size = 0;
        bool ho = false, hs = false;
        if (!query_u64(c, "old", &old, &ho) || !query_u64(c, "size", &size, &hs) || !ho)
            return send_text(c, r, 400, "treatylog: need old=M (and optionally size=S), decimal");
        e = tl_seq_proof_consistency(s->seq, old, hs ? size : 0, &body, &len, &d);
    } else {
        return send_text(c, r, 404, "treatylog: no such endpoint");
    }
    if (e != TL_OK) {
        char msg[TL_DIAG_LEN + 16];
        snprintf(msg, sizeof msg, "treatylog: %.500s", d.msg);
        return send_text(c, r, status_for(e), msg);
    }
    return send_buf(c, r, 200, ctype, body, len, "no-store");
}


static enum MHD_Result serve_metrics(tl_server *s, struct MHD_Connection *c, req *r)
{
    tl_seq_stats st;
    tl_seq_stats_get(s->seq, &st);
    tl_sbuf b = {0};
    tl_sbuf_printf(&b, "# HELP treatylog_tree_size Entries in the latest published checkpoint.\n"
                  "# TYPE treatylog_tree_size gauge\ntreatylog_tree_size %llu\n",
              (unsigned long long)st.size);
    tl_sbuf_printf(&b, "# TYPE treatylog_checkpoints_total counter\ntreatylog_checkpoints_total %llu\n",
              (unsigned long long)st.checkpoints);
    tl_sbuf_printf(&b,
              "# TYPE treatylog_submissions_total counter\n"
              "treatylog_submissions_total{result=\"accepted\"} %llu\n"
              "treatylog_submissions_total{result=\"duplicate\"} %llu\n"
              "treatylog_submissions_total{result=\"rejected\"} %llu\n"
              "treatylog_submissions_total{result=\"pushback\"} %llu\n",
              (unsigned long long)st.accepted, (unsigned long long)st.duplicates,
              (unsigned long long)st.rejected, (unsigned long long)st.pushback);
    tl_sbuf_printf(&b, "# TYPE treatylog_io_errors_total counter\ntreatylog_io_errors_total %llu\n",
              (unsigned long long)st.io_errors);
    tl_sbuf_printf(&b,
              "# HELP treatylog_journal_depth Accepted entries not yet integrated.\n"
              "# TYPE treatylog_journal_depth gauge\ntreatylog_journal_depth %llu\n"
              "# TYPE treatylog_journal_bytes gauge\ntreatylog_journal_bytes %llu\n",
              (unsigned long long)st.journal_depth, (unsigned long long)st.journal_bytes);
    tl_sbuf_printf(&b,
              "# TYPE treatylog_batches_total counter\ntreatylog_batches_total %llu\n"
              "# TYPE treatylog_batch_entries_total counter\ntreatylog_batch_entries_total %llu\n",
              (unsigned long long)st.batches, (unsigned long long)st.batch_entries);
    tl_sbuf_printf(&b, "# HELP treatylog_integration_latency_seconds Submission to published "
                  "checkpoint.\n# TYPE treatylog_integration_latency_seconds histogram\n");
    for (size_t i = 0; i < TL_LATENCY_BUCKETS; i++)
        tl_sbuf_printf(&b, "treatylog_integration_latency_seconds_bucket{le=\"%g\"} %llu\n",
                  tl_seq_latency_bounds_ms[i] / 1000.0, (unsigned long long)st.latency_le_ms[i]);
    tl_sbuf_printf(&b,
              "treatylog_integration_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
              "treatylog_integration_latency_seconds_sum %.6f\n"
              "treatylog_integration_latency_seconds_count %llu\n",
              (unsigned long long)st.latency_count, st.latency_sum_s,
              (unsigned long long)st.latency_count);
    tl_sbuf_printf(&b, "# TYPE treatylog_http_responses_total counter\n");
    for (size_t i = 0; i < NSTATUS; i++) {
        uint64_t v = atomic_load(&s->status[i]);
        if (status_codes[i])
            tl_sbuf_printf(&b, "treatylog_http_responses_total{code=\"%u\"} %llu\n", status_codes[i],
                      (unsigned long long)v);
        else
            tl_sbuf_printf(&b, "treatylog_http_responses_total{code=\"other\"} %llu\n",
                      (unsigned long long)v);
    }
    tl_sbuf_printf(&b,
              "# TYPE treatylog_healthy gauge\ntreatylog_healthy %d\n"
              "# TYPE treatylog_writable gauge\ntreatylog_writable %d\n",
              st.healthy ? 1 : 0, st.writable ? 1 : 0);
    if (s->cfg.gather) {
        tl_gather_stats gs;
        tl_gather_stats_get(s->cfg.gather, &gs);
        tl_sbuf_printf(&b,
                  "# HELP treatylog_witnessed_size Size of the newest checkpoint that met the "
                  "witness quorum.\n# TYPE treatylog_witnessed_size gauge\n"
                  "treatylog_witnessed_size %llu\n"
                  "# TYPE treatylog_witness_quorum_met gauge\ntreatylog_witness_quorum_met %d\n"
                  "# TYPE treatylog_witness_rounds_total counter\n"
                  "treatylog_witness_rounds_total %llu\n",
                  (unsigned long long)gs.witnessed_size, gs.quorum_met ? 1 : 0,
                  (unsigned long long)gs.rounds);
        tl_sbuf_printf(&b, "# TYPE treatylog_witness_up gauge\n");
        for (size_t i = 0; i < gs.nwitnesses; i++)
            tl_sbuf_printf(&b, "treatylog_witness_up{witness=\"%s\"} %d\n", gs.w[i].name,
                      gs.w[i].up ? 1 : 0);
        tl_sbuf_printf(&b, "# TYPE treatylog_witness_cosigned_size gauge\n");
        for (size_t i = 0; i < gs.nwitnesses; i++)
            tl_sbuf_printf(&b, "treatylog_witness_cosigned_size{witness=\"%s\"} %llu\n",
                      gs.w[i].name, (unsigned long long)gs.w[i].cosigned_size);
        tl_sbuf_printf(&b, "# HELP treatylog_witness_alarms_total Refusals for inconsistency and "
                      "other fork evidence.\n# TYPE treatylog_witness_alarms_total counter\n");
        for (size_t i = 0; i < gs.nwitnesses; i++)
            tl_sbuf_printf(&b, "treatylog_witness_alarms_total{witness=\"%s\"} %llu\n",
                      gs.w[i].name, (unsigned long long)gs.w[i].alarms);
        tl_sbuf_printf(&b, "# TYPE treatylog_witness_failures_total counter\n");
        for (size_t i = 0; i < gs.nwitnesses; i++)
            tl_sbuf_printf(&b, "treatylog_witness_failures_total{witness=\"%s\"} %llu\n",
                      gs.w[i].name, (unsigned long long)gs.w[i].failures);
    }
    if (b.oom) {
        free(b.p);
        return MHD_NO;
    }
    return send_buf(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len,
                    "no-store");
}

static enum MHD_Result serve_health(tl_server *s, struct MHD_Connection *c, req *r)
{
    tl_seq_stats st;
    tl_seq_stats_get(s->seq, &st);
    if (!st.healthy) {
        char msg[TL_DIAG_LEN + 32];
        snprintf(msg, sizeof msg, "unhealthy: %.500s", st.last_error);
        return send_text(c, r, 503, msg);
    }
    if (!st.writable) {
        char msg[TL_DIAG_LEN + 32];
        snprintf(msg, sizeof msg, "not writable: %.500s", st.last_error);
        return send_text(c, r, 503, msg);
    }
    if (s->cfg.gather) {
        tl_gather_stats gs;
        tl_gather_stats_get(s->cfg.gather, &gs);
        if (!gs.quorum_met && gs.rounds > 0) {
            char msg[TL_DIAG_LEN + 128];
            size_t up = 0;
            for (size_t i = 0; i < gs.nwitnesses; i++)
                up += gs.w[i].up ? 1 : 0;
            snprintf(msg, sizeof msg,
                     "witness quorum not met (%zu of %zu witnesses answering): sequencing goes "
                     "on at size %llu, newest witnessed checkpoint is size %llu",
                     up, gs.nwitnesses, (unsigned long long)st.size,
                     (unsigned long long)gs.witnessed_size);
            return send_text(c, r, 503, msg);
        }
    }
    char msg[128];
    snprintf(msg, sizeof msg, "ok size %llu", (unsigned long long)st.size);
    return send_text(c, r, 200, msg);
}

/* ---- witnessed checkpoints ---- */

static void add_witnessed(void *ctx, uint64_t size, const char *first, size_t first_len,
                          const char *last, size_t last_len)
{
    json_t *arr = ctx;
    json_t *o = json_pack("{s:I, s:s%, s:s%}", "size", (json_int_t)size, "first", first,
                          first_len, "last", last, last_len);
    if (o)
        json_array_append_new(arr, o);
}

static enum MHD_Result serve_checkpoints(tl_server *s, struct MHD_Connection *c, req *r)
{
    uint64_t from = 0;
    bool have = false;
    if (!query_u64(c, "from", &from, &have))
        return send_text(c, r, 400, "treatylog: from must be a decimal size");
    enum { PAGE = 100 };
    json_t *arr = json_array();
    tl_diag d;
    if (!arr)
        return MHD_NO;
    if (tl_seq_witnessed_list(s->seq, from, PAGE + 1, add_witnessed, arr, &d) != TL_OK) {
        json_decref(arr);
        return send_text(c, r, 500, d.msg);
    }
    json_t *next = json_null();
    if (json_array_size(arr) > PAGE) {
        json_t *extra = json_array_get(arr, PAGE);
        next = json_integer(json_integer_value(json_object_get(extra, "size")));
        json_array_remove(arr, PAGE);
    }
    json_t *doc = json_pack("{s:o, s:o}", "checkpoints", arr, "next", next);
    char *txt = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!txt)
        return MHD_NO;
    return send_buf(c, r, 200, "application/json", txt, strlen(txt), "no-store");
}

/* ---- POST /add ---- */

static void on_answer(void *ctx, tl_answer *a)
{
    req *r = ctx;
    pthread_mutex_lock(&r->mu);
    r->ans = *a;
    r->done = true;
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&r->mu);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, req *r)
{
    tl_answer *a = &r->ans;
    if (a->kind == TL_ANSWER_ERROR) {
        char msg[TL_DIAG_LEN + 16];
        snprintf(msg, sizeof msg, "treatylog: %.500s", a->msg);
        free(a->body);
        a->body = NULL;
        return send_text(c, r, status_for(a->err), msg);
    }
    char *body = a->body;
    a->body = NULL;
    return send_buf(c, r, 200, "text/plain; charset=utf-8", body, a->body_len, "no-store");
}

static enum MHD_Result handle_add(tl_server *s, struct MHD_Connection *c, req *r,
                                  const char *upload, size_t *upload_size)
{
    if (*upload_size > 0) {
        if (!r->too_big) {
            if (r->len + *upload_size > s->cfg.max_body) {
                r->too_big = true;
            } else {
                if (r->len + *upload_size > r->cap) {
                    size_t cap = r->cap ? r->cap : 1024;
                    while (cap < r->len + *upload_size)
                        cap *= 2;
                    uint8_t *nb = realloc(r->body, cap);
                    if (!nb)
                        return MHD_NO;
                    r->body = nb;
                    r->cap = cap;
                }
                memcpy(r->body + r->len, upload, *upload_size);
                r->len += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* The whole body is here (or we were resumed with the answer). */
    pthread_mutex_lock(&r->mu);
    bool done = r->done, submitted = r->submitted;
    pthread_mutex_unlock(&r->mu);
    if (done)
        return send_answer(c, r);
    if (submitted)
        return MHD_YES; /* spurious call while waiting */
    if (r->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "treatylog: body over the %zu-byte limit", s->cfg.max_body);
        return send_text(c, r, 413, msg);
    }
    if (r->len == 0)
        return send_text(c, r, 400, "treatylog: empty body; POST the entry bytes");
    const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
    bool wait = true;
    if (w && strcmp(w, "0") == 0)
        wait = false;
    else if (w && strcmp(w, "1") != 0)
        return send_text(c, r, 400, "treatylog: wait must be 0 or 1");
    tl_diag d = {{0}};
    pthread_mutex_lock(&r->mu);
    r->submitted = true;
    tl_err e = s->cfg.treaty
                   ? tl_treaty_submit(s->cfg.treaty, r->body, r->len, wait, on_answer, r, &d)
                   : tl_seq_submit(s->seq, r->body, r->len, wait, on_answer, r, &d);
    if (e == TL_OK && !r->done) {
        r->suspended = true;
        MHD_suspend_connection(c);
    }
    done = r->done;
    pthread_mutex_unlock(&r->mu);
    if (e != TL_OK) {
        char msg[TL_DIAG_LEN + 16];
        snprintf(msg, sizeof msg, "treatylog: %.500s", d.msg);
        return send_text(c, r, status_for(e), msg);
    }
    if (done)
        return send_answer(c, r);
    return MHD_YES;
}

/* ---- query API and dashboard ---- */

static const char *query_arg(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result serve_web(tl_server *s, struct MHD_Connection *c, req *r,
                                 const char *url)
{
    tl_webstatic_file f;
    tl_diag d;
    tl_err e = tl_webstatic_get(s->cfg.web, url, &f, &d);
    if (e != TL_OK) {
        char msg[TL_DIAG_LEN + 16];
        snprintf(msg, sizeof msg, "treatylog: %.500s", d.msg);
        return send_text(c, r, e == TL_ERR_NOTFOUND ? 404 : status_for(e), msg);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)f.size, f.fd);
    if (!resp) {
        close(f.fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f.content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; style-src 'self' "
                            "'unsafe-inline'");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    r->status = 200;
    return ret;
}

/* ---- dispatch ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    tl_server *s = cls;
    req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = c;
        r->t0_ns = now_ns();
        pthread_mutex_init(&r->mu, NULL);
        r->is_add = strcmp(url, "/add") == 0;
        *con_cls = r;
        atomic_fetch_add(&s->requests, 1);
        /* Answer on a later call, never the first: a response queued on the first call
         * (before MHD has the whole request) makes MHD close the connection. */
        return MHD_YES;
    }
    if (r->is_add) {
        if (strcmp(method, "POST") != 0)
            return send_text(c, r, 405, "treatylog: /add takes POST");
        return handle_add(s, c, r, upload, upload_size);
    }
    if (*upload_size > 0) {
        *upload_size = 0; /* a body where none is wanted: ignore it */
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/checkpoint") == 0 || strncmp(url, "/tile/", 6) == 0 ||
        strncmp(url, "/v1/", 4) == 0 || strcmp(url, "/healthz") == 0 ||
        strcmp(url, "/metrics") == 0) {
        if (!get)
            return send_text(c, r, 405, "treatylog: this endpoint takes GET");
    }
    if (strcmp(url, "/checkpoint") == 0) {
        char *note = NULL;
        size_t nlen = 0;
        uint64_t size = 0;
        tl_diag d;
        tl_err e = s->cfg.gather ? tl_seq_witnessed(s->seq, &note, &nlen, &size, &d)
                                 : tl_seq_checkpoint(s->seq, &note, &nlen, &size, &d);
        if (e == TL_ERR_NOTFOUND)
            return send_text(c, r, 503, "treatylog: no checkpoint has met the witness quorum yet");
        if (e != TL_OK)
            return send_text(c, r, 500, d.msg);
        return send_buf(c, r, 200, "text/plain; charset=utf-8", note, nlen, "max-age=1");
    }
    if (strcmp(url, "/v1/checkpoints") == 0)
        return serve_checkpoints(s, c, r);
    if (strncmp(url, "/tile/", 6) == 0)
        return serve_tile(s, c, r, url + 1);
    if (strncmp(url, "/v1/proof", 9) == 0)
        return serve_proof(s, c, r, url);
    if (strcmp(url, "/healthz") == 0)
        return serve_health(s, c, r);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(s, c, r);
    if (tl_api_handles(url)) {
        tl_api a = {s->seq, s->cfg.treaty, s->cfg.policy, s->cfg.findings};
        char *body = NULL;
        size_t len = 0;
        const char *ctype = "text/plain; charset=utf-8";
        unsigned st = tl_api_get(&a, url, query_arg, c, &body, &len, &ctype);
        if (!body)
            return send_text(c, r, 500, "treatylog: out of memory");
        return send_buf(c, r, st, ctype, body, len, "no-store");
    }
    if (s->cfg.web && get && !tl_webstatic_is_api_path(url))
        return serve_web(s, c, r, url);
    return send_text(c, r, 404, "treatylog: no such endpoint (see docs/api.md)");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    tl_server *s = cls;
    req *r = *con_cls;
    if (!r)
        return;
    count_status(s, r->status);
    if (s->cfg.access_log) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char addr[64] = "-";
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, addr,
                      sizeof addr);
        pthread_mutex_lock(&s->log_mu);
        fprintf(s->cfg.access_log, "%s %s %u %zu %.3fms%s\n", addr, r->is_add ? "POST /add" : "GET",
                r->status, r->len, (double)(now_ns() - r->t0_ns) / 1e6,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
        fflush(s->cfg.access_log);
        pthread_mutex_unlock(&s->log_mu);
    }
    free(r->ans.body);
    free(r->body);
    pthread_mutex_destroy(&r->mu);
    free(r);
    *con_cls = NULL;
}


tl_err tl_server_start(tl_server **out, tl_seq *seq, const tl_server_config *cfg, tl_diag *d)
{
    tl_server *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "server");
    s->seq = seq;
    if (cfg)
        s->cfg = *cfg;
    else
        tl_server_config_default(&s->cfg);
    if (s->cfg.max_body == 0 || s->cfg.max_body > TL_ENTRY_MAX)
        s->cfg.max_body = TL_ENTRY_MAX;
    pthread_mutex_init(&s->log_mu, NULL);
    struct sockaddr_storage ss;
    tl_err e = tl_http_parse_listen(s->cfg.listen ? s->cfg.listen : "127.0.0.1:8420", &ss, d);
    if (e != TL_OK) {
        free(s);
        return e;
    }
    unsigned threads = s->cfg.threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
        s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.conn_timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)TL_HTTP_CONN_MEMORY, MHD_OPTION_END);
    if (!s->mhd) {
        free(s);
        return tl_fail(d, TL_ERR_IO,
                       "cannot listen on %s (address in use, or not an address of this host?)",
                       cfg && cfg->listen ? cfg->listen : "127.0.0.1:8420");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    *out = s;
    return TL_OK;
}

unsigned tl_server_port(const tl_server *s)
{
    return s->port;
}

void tl_server_quiesce(tl_server *s)
{
    if (s)
        tl_http_quiesce(s->mhd);
}

void tl_server_stop(tl_server *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    pthread_mutex_destroy(&s->log_mu);
    free(s);
}
