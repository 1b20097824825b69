/* witness.c - the witness HTTP service (libmicrohttpd), C2SP tlog-witness v1.0.0: POST
 * <prefix>/add-checkpoint, GET <prefix>/<hex>/checkpoint, /healthz and /metrics. See
 * docs/witness.md; the decisions are the pure functions of core/witness.c.
 *
 * One thread per connection: an add-checkpoint blocks its thread while the group commit that
 * carries its new state becomes durable, and threads of other origins join the same commit.
 *
 *   POST add-checkpoint
 *     tl_witness_check             parse, origin, log signature, old <= size, size-0 root
 *     lock the origin's slot       (the per-origin mutex of c2sp-formats.md §7.5)
 *       tl_witness_decide          against the slot's state; signs on success
 *       tl_wstate_replace          CAS against the stored record, durable before returning
 *       slot = new record
 *     unlock
 *     answer                       a cosignature leaves only after the commit
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "treatylog/hash.h"
#include "httputil.h"
#include "treatylog/text.h"
#include "treatylog/witness_server.h"

#include "treatylog/clock.h"
#include "witness_state.h"

#define HEX_LEN                 (2 * TL_HASH_LEN)
#define PREFIX_MAX              255
#define EVIDENCE_PER_ORIGIN_MAX 1024 /* distinct evidence files per origin and run */
#define NSTATUS                 11
static const unsigned status_codes[NSTATUS] = {200, 400, 403, 404, 405, 409, 413, 422, 500, 503, 0};

/* One configured origin. mu guards state and rec: it is held from the decision until the new
 * record is durable, so two requests for one origin never decide against the same state. */
typedef struct slot {
    pthread_mutex_t mu;
    char hex[HEX_LEN + 1];
    const tl_witness_log *log;
    tl_witness_state state;
    char *rec; /* the stored record (NULL if never cosigned) */
    size_t rec_len;
    uint8_t (*seen)[TL_HASH_LEN]; /* evidence kept this run: SHA-256(status, checkpoint) */
    size_t nseen;
} slot;

typedef struct hex_index {
    char hex[HEX_LEN + 1];
    size_t slot;
} hex_index;

struct tl_witness_server {
    struct MHD_Daemon *mhd;
    tl_witness_server_config cfg;
    char prefix[PREFIX_MAX + 1];
    size_t prefix_len;
    tl_skey key;
    tl_wstate *st;
    slot *slots; /* one per configured origin, by tl_witness_log.index */
    size_t nslots;
    hex_index *by_hex; /* sorted by hex, for GET <hex>/checkpoint */
    unsigned port;
    pthread_mutex_t log_mu;               /* access and alarm log lines */
    _Atomic uint64_t status[NSTATUS];     /* every response */
    _Atomic uint64_t add_status[NSTATUS]; /* add-checkpoint responses */
    _Atomic uint64_t cosignatures, inconsistent, repeats, evidence_errors, store_errors;
};

enum { K_OTHER, K_ADD };

typedef struct req {
    int kind;
    char *body;
    size_t len, cap;
    bool too_big;
    unsigned status;
    uint64_t t0_ns;
    char what[64]; /* "POST /add-checkpoint", for the access log */
} req;

void tl_witness_server_config_default(tl_witness_server_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8421";
    c->prefix = "";
    c->max_connections = 1024;
    c->conn_timeout_s = 30;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t status_slot(unsigned code)
{
    size_t i = 0;
    while (status_codes[i] && status_codes[i] != code)
        i++;
    return i;
}

/* Queues a copy of body[0..len) with status and content type. */
static enum MHD_Result send_body(struct MHD_Connection *c, req *r, unsigned status,
                                 const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                r->kind == K_ADD ? "POST" : "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

/* A one-line "treatylog: <msg>" text answer. */
static enum MHD_Result send_text(struct MHD_Connection *c, req *r, unsigned status, const char *msg)
{
    char b[TL_DIAG_LEN + 64];
    int n = snprintf(b, sizeof b, "treatylog: %.500s\n", msg);
    return send_body(c, r, status, TL_WITNESS_CTYPE_TEXT, b, (size_t)n);
}

/* ---- POST add-checkpoint ---- */

/* Copies the slot's record (for evidence); the slot's mutex is held. */
static void snapshot(const slot *sl, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!sl->rec)
        return;
    *out = malloc(sl->rec_len + 1);
    if (*out) {
        memcpy(*out, sl->rec, sl->rec_len + 1);
        *len = sl->rec_len;
    }
}

/* Decides whether a refused-for-inconsistency request is new evidence (the slot's mutex is
 * held). Anyone can replay a log's signed checkpoint with junk proof lines and get a 422, so
 * evidence is kept once per (status, checkpoint text) and origin, at most
 * EVIDENCE_PER_ORIGIN_MAX per run: the number of files is bounded by what the log signed. */
static bool new_evidence(slot *sl, unsigned status, const tl_witness_req *wr)
{
    uint8_t st[2] = {(uint8_t)(status >> 8), (uint8_t)status};
    uint8_t h[TL_HASH_LEN];
    tl_sha256_2(h, st, sizeof st, wr->parsed.text, wr->parsed.text_len);
    for (size_t i = 0; i < sl->nseen; i++) {
        if (memcmp(sl->seen[i], h, TL_HASH_LEN) == 0)
            return false;
    }
    if (sl->nseen == EVIDENCE_PER_ORIGIN_MAX)
        return false;
    if (sl->nseen % 16 == 0) {
        uint8_t(*n)[TL_HASH_LEN] = realloc(sl->seen, (sl->nseen + 16) * sizeof *n);
        if (!n)
            return false;
        sl->seen = n;
    }
    memcpy(sl->seen[sl->nseen++], h, TL_HASH_LEN);
    return true;
}

/* Keeps a refused-for-inconsistency request as evidence and raises the alarm. */
static void keep_evidence(tl_witness_server *s, const slot *sl, const tl_witness_resp *resp,
                          uint64_t now, const char *stored, size_t slen, const req *r)
{
    atomic_fetch_add(&s->inconsistent, 1);
    char name[96] = "";
    tl_diag d = {{0}};
    const char *reason = resp->body;
    if (strncmp(reason, "treatylog: ", 11) == 0)
        reason += 11;
    else if (resp->status == 409)
        reason = "same tree size as the stored checkpoint, different root";
    tl_err e = tl_wstate_evidence(s->st, sl->hex, now, sl->log->origin, resp->status, reason,
                                  stored ? stored : "", slen, r->body, r->len, name, &d);
    if (e != TL_OK)
        atomic_fetch_add(&s->evidence_errors, 1);
    if (s->cfg.alarm_log) {
        pthread_mutex_lock(&s->log_mu);
        if (e == TL_OK)
            fprintf(s->cfg.alarm_log,
                    "treatylog witness: ALARM: origin %s refused for inconsistency (%u); "
                    "evidence in %s/evidence/%s\n",
                    sl->log->origin, resp->status, s->cfg.dir, name);
        else
            fprintf(s->cfg.alarm_log,
                    "treatylog witness: ALARM: origin %s refused for inconsistency (%u); "
                    "cannot keep the evidence: %s\n",
                    sl->log->origin, resp->status, d.msg);
        fflush(s->cfg.alarm_log);
        pthread_mutex_unlock(&s->log_mu);
    }
}

/* Replaces a 200 that could not be stored by an error (no cosignature leaves). */
static void store_failed(tl_witness_resp *resp, tl_err e, const tl_diag *d)
{
    tl_witness_resp_clear(resp);
    resp->status = e == TL_ERR_IO ? 503 : 500;
    resp->content_type = TL_WITNESS_CTYPE_TEXT;
    int n = snprintf(resp->body, sizeof resp->body,
                     "treatylog: cannot store the witness state, nothing was cosigned: %.400s\n",
                     d->msg);
    resp->body_len = (size_t)n < sizeof resp->body ? (size_t)n : sizeof resp->body - 1;
}

static enum MHD_Result handle_add(tl_witness_server *s, struct MHD_Connection *c, req *r)
{
    if (r->too_big) {
        char msg[96];
        snprintf(msg, sizeof msg, "body over the %d-byte limit", TL_WITNESS_BODY_MAX);
        return send_text(c, r, 413, msg);
    }
    tl_witness_req *wr = malloc(sizeof *wr);
    tl_witness_resp *resp = malloc(sizeof *resp);
    if (!wr || !resp) {
        free(wr);
        free(resp);
        return MHD_NO;
    }
    uint64_t now = s->cfg.fixed_time ? s->cfg.fixed_time
                                     : (uint64_t)(tl_clock_now_ms(s->cfg.clock) / 1000);
    char *stored = NULL;
    size_t slen = 0;
    slot *sl = NULL;
    bool keep = false;
    if (tl_witness_check(resp, wr, s->cfg.logs, r->body ? r->body : "", r->len)) {
        sl = &s->slots[wr->log->index];
        pthread_mutex_lock(&sl->mu);
        tl_witness_decide(resp, wr, &sl->state, now, &s->key);
        if (resp->status == 200) {
            tl_diag d = {{0}};
            tl_err e = tl_wstate_replace(s->st, sl->hex, sl->rec, sl->rec_len, resp->record,
                                         resp->record_len, &d);
            if (e == TL_OK) {
                free(sl->rec);
                sl->rec = resp->record;
                sl->rec_len = resp->record_len;
                resp->record = NULL;
                sl->state = resp->new_state;
                atomic_fetch_add(&s->cosignatures, 1);
            } else {
                atomic_fetch_add(&s->store_errors, 1);
                store_failed(resp, e, &d);
            }
        } else if (resp->inconsistent) {
            keep = new_evidence(sl, resp->status, wr);
            if (keep)
                snapshot(sl, &stored, &slen);
        }
        pthread_mutex_unlock(&sl->mu);
    } else if (resp->inconsistent && wr->log) {
        sl = &s->slots[wr->log->index];
        pthread_mutex_lock(&sl->mu);
        keep = new_evidence(sl, resp->status, wr);
        if (keep)
            snapshot(sl, &stored, &slen);
        pthread_mutex_unlock(&sl->mu);
    }
    if (resp->inconsistent && sl && keep)
        keep_evidence(s, sl, resp, now, stored, slen, r);
    else if (resp->inconsistent)
        atomic_fetch_add(&s->repeats, 1);
    free(stored);
    enum MHD_Result ret =
        send_body(c, r, resp->status, resp->content_type, resp->body, resp->body_len);
    tl_witness_resp_clear(resp);
    free(resp);
    free(wr);
    return ret;
}

/* ---- GET ---- */

static int cmp_hex(const void *a, const void *b)
{
    return strcmp(((const hex_index *)a)->hex, ((const hex_index *)b)->hex);
}

/* "<hex>/checkpoint" (after the prefix and its '/'): the origin's latest cosigned record. */
static enum MHD_Result serve_checkpoint(tl_witness_server *s, struct MHD_Connection *c, req *r,
                                        const char *path)
{
    hex_index key;
    if (strlen(path) != HEX_LEN + 11 || strcmp(path + HEX_LEN, "/checkpoint") != 0)
        return send_text(c, r, 404, "no such endpoint (see docs/witness.md)");
    memcpy(key.hex, path, HEX_LEN);
    key.hex[HEX_LEN] = '\0';
    const hex_index *hit = bsearch(&key, s->by_hex, s->nslots, sizeof *s->by_hex, cmp_hex);
    if (!hit)
        return send_text(c, r, 404, "unknown origin hash (lower-case hex SHA-256 of the origin)");
    slot *sl = &s->slots[hit->slot];
    char *rec = NULL;
    size_t len = 0;
    pthread_mutex_lock(&sl->mu);
    snapshot(sl, &rec, &len);
    bool none = sl->rec == NULL;
    pthread_mutex_unlock(&sl->mu);
    if (none)
        return send_text(c, r, 404, "this witness has not cosigned a checkpoint of that origin");
    if (!rec)
        return MHD_NO;
    enum MHD_Result ret = send_body(c, r, 200, TL_WITNESS_CTYPE_TEXT, rec, len);
    free(rec);
    return ret;
}


static void sb_codes(tl_sbuf *b, const char *name, _Atomic uint64_t *v)
{
    for (size_t i = 0; i < NSTATUS; i++) {
        unsigned long long n = (unsigned long long)atomic_load(&v[i]);
        if (status_codes[i])
            tl_sbuf_printf(b, "%s{code=\"%u\"} %llu\n", name, status_codes[i], n);
        else
            tl_sbuf_printf(b, "%s{code=\"other\"} %llu\n", name, n);
    }
}

static enum MHD_Result serve_metrics(tl_witness_server *s, struct MHD_Connection *c, req *r)
{
    tl_wstate_stats st;
    tl_wstate_stats_get(s->st, &st);
    tl_sbuf b = {0};
    tl_sbuf_printf(&b, "# HELP treatylog_witness_add_checkpoint_total add-checkpoint requests by "
                  "status.\n# TYPE treatylog_witness_add_checkpoint_total counter\n");
    sb_codes(&b, "treatylog_witness_add_checkpoint_total", s->add_status);
    tl_sbuf_printf(&b,
              "# HELP treatylog_witness_cosignatures_total Cosignatures made (each after "
              "its state was durable).\n"
              "# TYPE treatylog_witness_cosignatures_total counter\n"
              "treatylog_witness_cosignatures_total %llu\n",
              (unsigned long long)atomic_load(&s->cosignatures));
    tl_sbuf_printf(&b,
              "# HELP treatylog_witness_inconsistent_total ALARM: distinct checkpoints with a "
              "valid log signature refused for inconsistency (fork evidence, kept under "
              "evidence/). Alert on any increase.\n"
              "# TYPE treatylog_witness_inconsistent_total counter\n"
              "treatylog_witness_inconsistent_total %llu\n"
              "# HELP treatylog_witness_inconsistent_repeats_total The same refusals again "
              "(no new evidence kept).\n"
              "# TYPE treatylog_witness_inconsistent_repeats_total counter\n"
              "treatylog_witness_inconsistent_repeats_total %llu\n",
              (unsigned long long)atomic_load(&s->inconsistent),
              (unsigned long long)atomic_load(&s->repeats));
    tl_sbuf_printf(&b,
              "# TYPE treatylog_witness_evidence_errors_total counter\n"
              "treatylog_witness_evidence_errors_total %llu\n"
              "# TYPE treatylog_witness_store_errors_total counter\n"
              "treatylog_witness_store_errors_total %llu\n",
              (unsigned long long)atomic_load(&s->evidence_errors),
              (unsigned long long)atomic_load(&s->store_errors));
    tl_sbuf_printf(&b,
              "# HELP treatylog_witness_commits_total Records made durable, and the group "
              "commits (one syncfs each) that carried them.\n"
              "# TYPE treatylog_witness_commits_total counter\n"
              "treatylog_witness_commits_total %llu\n"
              "# TYPE treatylog_witness_commit_batches_total counter\n"
              "treatylog_witness_commit_batches_total %llu\n",
              (unsigned long long)st.commits, (unsigned long long)st.batches);
    tl_sbuf_printf(&b, "# TYPE treatylog_witness_http_responses_total counter\n");
    sb_codes(&b, "treatylog_witness_http_responses_total", s->status);
    tl_sbuf_printf(&b,
              "# TYPE treatylog_witness_logs gauge\ntreatylog_witness_logs %zu\n"
              "# TYPE treatylog_witness_healthy gauge\ntreatylog_witness_healthy %d\n",
              s->nslots, st.healthy ? 1 : 0);
    if (b.oom) {
        free(b.p);
        return MHD_NO;
    }
    enum MHD_Result ret =
        send_body(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    free(b.p);
    return ret;
}

static enum MHD_Result serve_health(tl_witness_server *s, struct MHD_Connection *c, req *r)
{
    tl_wstate_stats st;
    tl_wstate_stats_get(s->st, &st);
    char msg[TL_DIAG_LEN + 64];
    if (!st.healthy) {
        snprintf(msg, sizeof msg, "unhealthy: %.450s", st.last_error);
        return send_text(c, r, 503, msg);
    }
    snprintf(msg, sizeof msg, "ok %zu logs", s->nslots);
    return send_text(c, r, 200, msg);
}

/* ---- dispatch ---- */

/* The part of url after the prefix, or NULL if url is not under it. */
static const char *under_prefix(const tl_witness_server *s, const char *url)
{
    if (strncmp(url, s->prefix, s->prefix_len) != 0)
        return NULL;
    return url + s->prefix_len;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    tl_witness_server *s = cls;
    req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->t0_ns = now_ns();
        const char *rest = under_prefix(s, url);
        r->kind = rest && strcmp(rest, "/add-checkpoint") == 0 ? K_ADD : K_OTHER;
        snprintf(r->what, sizeof r->what, "%s %s", method, url);
        *con_cls = r;
        /* A declared oversized body is refused before it is read (and the connection
         * closed). Anything else is answered on a later call, never this first one:
         * libmicrohttpd closes the connection after a response queued before the request was
         * read to its end, which would defeat keep-alive. */
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t clen = 0;
        if (r->kind == K_ADD && strcmp(method, "POST") == 0 && cl &&
            tl_parse_u64(&clen, cl, strlen(cl)) == TL_OK && clen > TL_WITNESS_BODY_MAX) {
            r->too_big = true;
            return handle_add(s, c, r);
        }
        return MHD_YES;
    }
    if (r->kind == K_ADD && strcmp(method, "POST") == 0) {
        if (*upload_size > 0) {
            size_t n = *upload_size;
            *upload_size = 0;
            if (r->too_big || r->len + n > TL_WITNESS_BODY_MAX) {
                r->too_big = true; /* no Content-Length (chunked): discard, 413 at the end */
                return MHD_YES;
            }
            if (r->len + n > r->cap) {
                size_t cap = r->cap ? r->cap : 1024;
                while (cap < r->len + n)
                    cap *= 2;
                char *nb = realloc(r->body, cap);
                if (!nb)
                    return MHD_NO;
                r->body = nb;
                r->cap = cap;
            }
            memcpy(r->body + r->len, upload, n);
            r->len += n;
            return MHD_YES;
        }
        return handle_add(s, c, r);
    }
    if (*upload_size > 0) {
        *upload_size = 0; /* a body where none is wanted: ignore it */
        return MHD_YES;
    }
    if (r->kind == K_ADD)
        return send_text(c, r, 405, "add-checkpoint takes POST");
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const char *rest = under_prefix(s, url);
    bool known = strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0 ||
                 (rest && rest[0] == '/' && strlen(rest) == 1 + HEX_LEN + 11);
    if (known && !get)
        return send_text(c, r, 405, "this endpoint takes GET");
    if (strcmp(url, "/healthz") == 0)
        return serve_health(s, c, r);
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(s, c, r);
    if (rest && rest[0] == '/')
        return serve_checkpoint(s, c, r, rest + 1);
    return send_text(c, r, 404, "no such endpoint (see docs/witness.md)");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    tl_witness_server *s = cls;
    req *r = *con_cls;
    if (!r)
        return;
    size_t i = status_slot(r->status);
    atomic_fetch_add(&s->status[i], 1);
    if (r->kind == K_ADD)
        atomic_fetch_add(&s->add_status[i], 1);
    if (s->cfg.access_log) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char addr[64] = "-";
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, addr,
                      sizeof addr);
        pthread_mutex_lock(&s->log_mu);
        fprintf(s->cfg.access_log, "%s %s %u %zu %.3fms%s\n", addr, r->what, r->status, r->len,
                (double)(now_ns() - r->t0_ns) / 1e6,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
        fflush(s->cfg.access_log);
        pthread_mutex_unlock(&s->log_mu);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* ---- start and stop ---- */


/* Loads every configured origin's record into its slot. */
static tl_err load_slots(tl_witness_server *s, tl_diag *d)
{
    size_t n = tl_witness_logs_count(s->cfg.logs);
    s->slots = calloc(n ? n : 1, sizeof *s->slots);
    s->by_hex = calloc(n ? n : 1, sizeof *s->by_hex);
    if (!s->slots || !s->by_hex)
        return tl_fail(d, TL_ERR_NOMEM, "witness slots");
    for (size_t i = 0; i < n; i++) {
        slot *sl = &s->slots[i];
        pthread_mutex_init(&sl->mu, NULL);
        s->nslots = i + 1;
        sl->log = tl_witness_logs_at(s->cfg.logs, i);
        tl_witness_origin_hex(sl->hex, sl->log->origin, sl->log->origin_len);
        tl_witness_state_init(&sl->state);
        memcpy(s->by_hex[i].hex, sl->hex, sizeof sl->hex);
        s->by_hex[i].slot = i;
        tl_err e = tl_wstate_read(s->st, sl->hex, &sl->rec, &sl->rec_len, d);
        if (e == TL_ERR_NOTFOUND)
            continue;
        tl_checkpoint cp;
        if (e == TL_OK)
            e = tl_witness_record_parse(&sl->state, &cp, sl->rec, sl->rec_len, &s->key.vkey, d);
        if (e == TL_OK && (cp.origin_len != sl->log->origin_len ||
                           memcmp(cp.origin, sl->log->origin, cp.origin_len) != 0))
            e = tl_fail(d, TL_ERR_FORMAT, "it is for origin %s", cp.origin);
        if (e != TL_OK)
            return tl_diag_prefix(d, e,
                                  "the record of origin %s (%s) in %s/state.journal is not "
                                  "a record of this witness; refusing to start",
                                  sl->log->origin, sl->hex, s->cfg.dir);
    }
    qsort(s->by_hex, n, sizeof *s->by_hex, cmp_hex);
    return TL_OK;
}

tl_err tl_witness_server_start(tl_witness_server **out, const tl_witness_server_config *cfg,
                               tl_diag *d)
{
    if (!cfg || !cfg->dir || !cfg->key || !cfg->logs)
        return tl_fail(d, TL_ERR_USAGE, "witness server: need a state directory, key and logs");
    if (cfg->key->vkey.type != TL_KEY_COSIG_V1)
        return tl_fail(d, TL_ERR_USAGE,
                       "witness key %s is not a cosignature/v1 key (make one "
                       "with treatylog keygen NAME --witness)",
                       cfg->key->vkey.name);
    const char *prefix = cfg->prefix ? cfg->prefix : "";
    size_t pl = strlen(prefix);
    if (pl > PREFIX_MAX || (pl > 0 && (prefix[0] != '/' || prefix[pl - 1] == '/')))
        return tl_fail(d, TL_ERR_USAGE, "prefix '%s' must be empty or /PATH with no trailing /",
                       prefix);
    tl_witness_server *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "witness server");
    s->cfg = *cfg;
    memcpy(s->prefix, prefix, pl + 1);
    s->prefix_len = pl;
    s->key = *cfg->key;
    pthread_mutex_init(&s->log_mu, NULL);
    struct sockaddr_storage ss;
    tl_err e = tl_http_parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8421", &ss, d);
    if (e == TL_OK)
        e = tl_wstate_open(&s->st, cfg->dir, &s->key.vkey, cfg->sys, d);
    if (e == TL_OK)
        e = load_slots(s, d);
    if (e == TL_OK) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
        if (ss.ss_family == AF_INET6)
            flags |= MHD_USE_IPv6;
        s->mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections ? cfg->max_connections : 1024,
            MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s ? cfg->conn_timeout_s : 30,
            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)TL_HTTP_CONN_MEMORY, MHD_OPTION_END);
        if (!s->mhd)
            e = tl_fail(d, TL_ERR_IO,
                        "cannot listen on %s (address in use, or not an address of this host?)",
                        cfg->listen ? cfg->listen : "127.0.0.1:8421");
    }
    if (e != TL_OK) {
        tl_witness_server_stop(s);
        return e;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    *out = s;
    return TL_OK;
}

unsigned tl_witness_server_port(const tl_witness_server *s)
{
    return s->port;
}

void tl_witness_server_quiesce(tl_witness_server *s)
{
    if (s)
        tl_http_quiesce(s->mhd);
}

void tl_witness_server_stop(tl_witness_server *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd); /* joins every connection thread */
    tl_wstate_close(s->st);
    for (size_t i = 0; i < s->nslots; i++) {
        pthread_mutex_destroy(&s->slots[i].mu);
        free(s->slots[i].rec);
        free(s->slots[i].seen);
    }
    free(s->slots);
    free(s->by_hex);
    tl_skey_wipe(&s->key);
    pthread_mutex_destroy(&s->log_mu);
    free(s);
}
