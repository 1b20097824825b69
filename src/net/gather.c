/* gather.c - collects witness cosignatures (C2SP tlog-witness v1.0.0, client side) for the
 * log's checkpoints and publishes the newest one that meets the policy's quorum.
 *
 * Each round sends, to every witness at once (libcurl multi, keep-alive):
 *   "old <M>\n" <consistency proof M -> N, base64 lines> "\n" <checkpoint note>
 * where M is the size we believe the witness last cosigned for this log (0 at first: a
 * witness that knows more answers 409 with its size, and gets the request again from there,
 * once per round). A 200 carries cosignature lines, which are verified before use. 409 with
 * the size we sent (v1.0.0: same size, different root), 422 (main: the same, or a bad proof),
 * or a size larger than ours are fork evidence: alarm, no retry. Reference:
 * ../shared/reference/c2sp-formats.md §7.6.
 */
#include "treatylog/gather.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "treatylog/note.h"
#include "treatylog/text.h"

#define RESP_MAX (64u << 10)

typedef struct buf {
    char *p;
    size_t len, cap;
    bool overflow;
} buf;

typedef struct wstate {
    size_t pi; /* index in the policy's witnesses */
    CURL *curl;
    struct curl_slist *hdrs;
    char url[TL_POLICY_URL_MAX + 32];
    uint64_t size;   /* what we believe it cosigned for us */
    char *req;       /* this round's request body */
    size_t req_len;
    buf resp;
    bool active, retried;
    char *lines;     /* its verified cosignature line(s) for this round's checkpoint */
    size_t lines_len;
} wstate;

struct tl_gather {
    tl_seq *seq;
    tl_policy *pol;
    tl_gather_config cfg;
    size_t nw;
    wstate w[TL_POLICY_WITNESSES_MAX];
    CURLM *multi;
    pthread_t th;
    bool started;
    pthread_mutex_t mu; /* stop flag and stats */
    bool stop;
    tl_gather_stats st;
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > RESP_MAX) {
        b->overflow = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return 0;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

/* Records an outcome for witness i (under mu). */
static void note_result(tl_gather *g, wstate *w, bool ok, bool alarm, bool conflict,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void note_result(tl_gather *g, wstate *w, bool ok, bool alarm, bool conflict,
                        const char *fmt, ...)
{
    pthread_mutex_lock(&g->mu);
    tl_gather_witness *s = &g->st.w[w->pi];
    s->up = ok;
    if (ok)
        s->ok++;
    else
        s->failures++;
    if (alarm)
        s->alarms++;
    if (conflict)
        s->conflicts++;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->last_error, sizeof s->last_error, fmt, ap);
        va_end(ap);
        if (n < 0)
            s->last_error[0] = '\0';
    } else {
        s->last_error[0] = '\0';
    }
    if (ok) {
        s->cosigned_size = w->size;
    }
    pthread_mutex_unlock(&g->mu);
    if (alarm)
        fprintf(stderr, "treatylog serve: ALARM witness %s: %s\n", s->name, s->last_error);
}

/* Builds witness w's request for the checkpoint (note, size) from size w->size. */
static tl_err build_request(tl_gather *g, wstate *w, const char *note, size_t nlen,
                            uint64_t size, tl_diag *d)
{
    char *proof = NULL;
    size_t plen = 0;
    tl_err e = TL_OK;
    if (w->size > 0 && w->size < size)
        e = tl_seq_proof_consistency(g->seq, w->size, size, &proof, &plen, d);
    if (e != TL_OK)
        return e;
    free(w->req);
    w->req = malloc(32 + plen + 1 + nlen);
    if (!w->req) {
        free(proof);
        return tl_fail(d, TL_ERR_NOMEM, "witness request");
    }
    int k = snprintf(w->req, 32, "old %llu\n", (unsigned long long)w->size);
    size_t at = (size_t)k;
    if (plen)
        memcpy(w->req + at, proof, plen);
    at += plen;
    w->req[at++] = '\n';
    memcpy(w->req + at, note, nlen);
    w->req_len = at + nlen;
    free(proof);
    return TL_OK;
}

static void start_request(tl_gather *g, wstate *w)
{
    w->resp.len = 0;
    w->resp.overflow = false;
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->req);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->req_len);
    curl_multi_add_handle(g->multi, w->curl);
    w->active = true;
}

/* Keeps only the lines of w's response that are signatures by w's key and verify over the
 * checkpoint. Returns true if at least one did. */
static bool accept_cosignature(tl_gather *g, wstate *w, const char *note, size_t nlen)
{
    const tl_policy_witness *pw = &g->pol->witnesses[w->pi];
    free(w->lines);
    w->lines = NULL;
    w->lines_len = 0;
    if (w->resp.len == 0 || w->resp.p[w->resp.len - 1] != '\n')
        return false;
    char *lines = malloc(w->resp.len + 1);
    if (!lines)
        return false;
    size_t n = 0;
    char prefix[8 + TL_POLICY_NAME_MAX];
    int pl = snprintf(prefix, sizeof prefix, "\xe2\x80\x94 %s ", pw->key.name);
    for (size_t at = 0; at < w->resp.len;) {
        const char *nl = memchr(w->resp.p + at, '\n', w->resp.len - at);
        size_t ll = (size_t)(nl - (w->resp.p + at)) + 1;
        if (pl > 0 && ll > (size_t)pl && memcmp(w->resp.p + at, prefix, (size_t)pl) == 0) {
            memcpy(lines + n, w->resp.p + at, ll);
            n += ll;
        }
        at += ll;
    }
    if (n == 0) {
        free(lines);
        return false;
    }
    /* Verify: the checkpoint with these lines appended, under the witness key alone. */
    char *full = malloc(nlen + n);
    bool ok = false;
    if (full) {
        memcpy(full, note, nlen);
        memcpy(full + nlen, lines, n);
        tl_note parsed;
        tl_sigcheck res;
        ok = tl_note_parse(&parsed, full, nlen + n, NULL) == TL_OK &&
             tl_note_verify(&parsed, &pw->key, 1, &res, NULL) == TL_OK && res.ok;
        if (ok) {
            pthread_mutex_lock(&g->mu);
            g->st.w[w->pi].last_time = res.time;
            pthread_mutex_unlock(&g->mu);
        }
        free(full);
    }
    if (!ok) {
        free(lines);
        return false;
    }
    w->lines = lines;
    w->lines_len = n;
    return true;
}

/* Handles one finished request; may restart it (409 with a usable size). */
static void finish_request(tl_gather *g, wstate *w, CURLcode rc, const char *note, size_t nlen,
                           uint64_t size)
{
    long status = 0;
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(g->multi, w->curl);
    w->active = false;
    pthread_mutex_lock(&g->mu);
    g->st.w[w->pi].requests++;
    pthread_mutex_unlock(&g->mu);
    if (rc != CURLE_OK) {
        note_result(g, w, false, false, false, "%s: %s", w->url, curl_easy_strerror(rc));
        return;
    }
    if (status == 200) {
        uint64_t sent = w->size;
        w->size = size;
        if (accept_cosignature(g, w, note, nlen)) {
            note_result(g, w, true, false, false, NULL);
        } else {
            w->size = sent;
            note_result(g, w, false, true, false,
                        "200 without a valid cosignature by its key for size %llu",
                        (unsigned long long)size);
        }
        return;
    }
    if (status == 409) {
        uint64_t theirs = 0;
        size_t len = w->resp.len;
        bool parsed = len >= 2 && w->resp.p[len - 1] == '\n' &&
                      tl_parse_u64(&theirs, w->resp.p, len - 1) == TL_OK;
        if (!parsed) {
            note_result(g, w, false, false, true, "409 with a malformed size body");
        } else if (theirs == w->size) {
            note_result(g, w, false, true, true,
                        "409 for old %llu = its own size: it holds a different tree of that "
                        "size (fork evidence)",
                        (unsigned long long)theirs);
        } else if (theirs > size) {
            note_result(g, w, false, true, true,
                        "it has cosigned size %llu of this log, larger than ours (%llu)",
                        (unsigned long long)theirs, (unsigned long long)size);
        } else if (!w->retried) {
            tl_diag d;
            w->retried = true;
            w->size = theirs;
            if (build_request(g, w, note, nlen, size, &d) == TL_OK)
                start_request(g, w);
            else
                note_result(g, w, false, false, true, "cannot build a proof from %llu: %s",
                            (unsigned long long)theirs, d.msg);
        } else {
            note_result(g, w, false, false, true, "409 again (size %llu)",
                        (unsigned long long)theirs);
        }
        return;
    }
    if (status == 422)
        note_result(g, w, false, true, true,
                    "422: it refused the consistency proof from %llu (fork evidence or a bug)",
                    (unsigned long long)w->size);
    else
        note_result(g, w, false, false, false, "HTTP %ld: %.200s", status,
                    w->resp.p ? w->resp.p : "");
}

/* One round for the checkpoint (note, size). */
static void round_for(tl_gather *g, const char *note, size_t nlen, uint64_t size)
{
    for (size_t i = 0; i < g->nw; i++) {
        wstate *w = &g->w[i];
        w->retried = false;
        free(w->lines);
        w->lines = NULL;
        w->lines_len = 0;
        if (w->size > size) {
            note_result(g, w, false, true, false,
                        "it cosigned size %llu, larger than ours (%llu)",
                        (unsigned long long)w->size, (unsigned long long)size);
            continue;
        }
        tl_diag d;
        if (build_request(g, w, note, nlen, size, &d) != TL_OK) {
            note_result(g, w, false, false, false, "request: %s", d.msg);
            continue;
        }
        start_request(g, w);
    }
    for (;;) {
        int running = 0;
        curl_multi_perform(g->multi, &running);
        int left = 0;
        CURLMsg *m = curl_multi_info_read(g->multi, &left);
        while (m) {
            if (m->msg == CURLMSG_DONE) {
                for (size_t i = 0; i < g->nw; i++) {
                    if (g->w[i].active && g->w[i].curl == m->easy_handle) {
                        finish_request(g, &g->w[i], m->data.result, note, nlen, size);
                        break;
                    }
                }
            }
            m = curl_multi_info_read(g->multi, &left);
        }
        bool any = false;
        for (size_t i = 0; i < g->nw; i++)
            any = any || g->w[i].active;
        if (!any)
            break;
        curl_multi_poll(g->multi, NULL, 0, 100, NULL);
    }
    /* The checkpoint with every verified cosignature, in policy order. */
    size_t total = nlen;
    for (size_t i = 0; i < g->nw; i++)
        total += g->w[i].lines_len;
    char *full = malloc(total + 1);
    if (!full)
        return;
    memcpy(full, note, nlen);
    size_t at = nlen;
    for (size_t i = 0; i < g->nw; i++) {
        if (g->w[i].lines_len) {
            memcpy(full + at, g->w[i].lines, g->w[i].lines_len);
            at += g->w[i].lines_len;
        }
    }
    tl_checkpoint cp;
    tl_diag d;
    bool met = tl_policy_check(g->pol, full, at, &cp, NULL, &d) == TL_OK && cp.size == size;
    if (met && tl_seq_set_witnessed(g->seq, full, at, size, &d) != TL_OK) {
        fprintf(stderr, "treatylog serve: cannot archive witnessed checkpoint %llu: %s\n",
                (unsigned long long)size, d.msg);
        met = false;
    }
    pthread_mutex_lock(&g->mu);
    g->st.rounds++;
    if (met) {
        g->st.witnessed_size = size;
        g->st.quorum_met = true;
        g->st.quorum_lost_since_ms = 0;
    } else {
        if (g->st.quorum_met || g->st.quorum_lost_since_ms == 0)
            g->st.quorum_lost_since_ms = wall_ms();
        g->st.quorum_met = false;
    }
    pthread_mutex_unlock(&g->mu);
    free(full);
}

static void *gather_main(void *arg)
{
    tl_gather *g = arg;
    uint64_t known = 0, last_round = 0;
    bool first = true;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        bool stop = g->stop;
        pthread_mutex_unlock(&g->mu);
        if (stop)
            break;
        char *note = NULL;
        size_t nlen = 0;
        uint64_t size = 0;
        tl_diag d;
        unsigned wait = first ? 0 : (g->cfg.interval_ms < 500 ? g->cfg.interval_ms : 500);
        if (tl_seq_wait_published(g->seq, known, wait, &note, &nlen, &size, &d) != TL_OK)
            continue;
        uint64_t now = wall_ms();
        if (first || size > known || now - last_round >= g->cfg.interval_ms) {
            round_for(g, note, nlen, size);
            known = size;
            last_round = now;
            first = false;
        }
        free(note);
    }
    return NULL;
}

tl_err tl_gather_start(tl_gather **out, tl_seq *seq, const tl_policy *p,
                       const tl_gather_config *cfg, tl_diag *d)
{
    if (p->nwitnesses == 0)
        return tl_fail(d, TL_ERR_USAGE, "the witness policy lists no witness");
    tl_gather *g = calloc(1, sizeof *g);
    if (!g)
        return tl_fail(d, TL_ERR_NOMEM, "gather");
    g->pol = malloc(sizeof *g->pol);
    g->multi = curl_multi_init();
    if (!g->pol || !g->multi) {
        tl_gather_stop(g);
        return tl_fail(d, TL_ERR_NOMEM, "gather");
    }
    memcpy(g->pol, p, sizeof *p);
    g->seq = seq;
    g->cfg = *cfg;
    if (g->cfg.interval_ms == 0)
        g->cfg.interval_ms = 5000;
    if (g->cfg.timeout_ms == 0)
        g->cfg.timeout_ms = 5000;
    pthread_mutex_init(&g->mu, NULL);
    tl_err e = TL_OK;
    for (size_t i = 0; i < p->nwitnesses && e == TL_OK; i++) {
        const tl_policy_witness *pw = &p->witnesses[i];
        wstate *w = &g->w[g->nw];
        if (!pw->url[0]) {
            e = tl_fail(d, TL_ERR_USAGE, "witness %s has no URL in the policy", pw->name);
            break;
        }
        size_t ul = strlen(pw->url);
        while (ul > 0 && pw->url[ul - 1] == '/')
            ul--;
        snprintf(w->url, sizeof w->url, "%.*s/add-checkpoint", (int)ul, pw->url);
        w->pi = i;
        w->curl = curl_easy_init();
        w->hdrs = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
        if (!w->curl || !w->hdrs) {
            e = tl_fail(d, TL_ERR_NOMEM, "gather");
            break;
        }
        curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
        curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdrs);
        curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &w->resp);
        curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)g->cfg.timeout_ms);
        curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)g->cfg.timeout_ms);
        curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "treatylog/0.1");
        snprintf(g->st.w[i].name, sizeof g->st.w[i].name, "%s", pw->name);
        g->nw++;
    }
    g->st.nwitnesses = g->nw;
    if (e == TL_OK && pthread_create(&g->th, NULL, gather_main, g) != 0)
        e = tl_fail(d, TL_ERR_INTERNAL, "cannot start the witness thread");
    if (e != TL_OK) {
        tl_gather_stop(g);
        return e;
    }
    g->started = true;
    *out = g;
    return TL_OK;
}

void tl_gather_stats_get(tl_gather *g, tl_gather_stats *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->st;
    pthread_mutex_unlock(&g->mu);
}

void tl_gather_stop(tl_gather *g)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->th, NULL);
    }
    for (size_t i = 0; i < g->nw; i++) {
        if (g->w[i].active)
            curl_multi_remove_handle(g->multi, g->w[i].curl);
        curl_easy_cleanup(g->w[i].curl);
        curl_slist_free_all(g->w[i].hdrs);
        free(g->w[i].req);
        free(g->w[i].resp.p);
        free(g->w[i].lines);
    }
    if (g->multi)
        curl_multi_cleanup(g->multi);
    free(g->pol);
    if (g->started)
        pthread_mutex_destroy(&g->mu);
    free(g);
}
