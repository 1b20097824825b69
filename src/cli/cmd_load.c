/* cmd_load.c - treatylog load: a bounded, open-loop HTTP load generator for a treatylog server
 * on this machine (POST <URL>/add), for benchmarks and fault tests.
 *
 * Open loop: request i is due at t0 + i/R whatever the server does, and its latency is taken
 * from that scheduled time, so a slow server shows up as latency, not as a lower send rate
 * (no coordinated omission). A request that falls due while all C connections are busy is
 * counted as late and starts as soon as one frees. Sending stops at S seconds; requests still
 * waiting for a connection then are "unsent"; in-flight ones get at most 10 s more, the rest
 * are "unfinished".
 *
 * Every body is unique: a 27-byte header "load <12 hex run id> <8 hex seq>\n", then filler
 * derived from (run id, seq). With --verify, 1 response in 100 (seq % 100 == 0) is checked as
 * a c2sp.org/tlog-proof@v1 for leaf SHA-256(0x00 || body) against the given log key.
 *
 * Treaty mode (--sign KEYFILE, repeatable): the bodies are signed notifications instead, all
 * made before the run so that signing costs nothing during it: request i is sent by party
 * i % P (the key's name is the party code) with serial --first-serial + i / P, the
 * notification being the example of --type (default vd11.ch11.statement, which needs no refs)
 * with that from, serial and sent = now, canonicalised and validated, then signed.
 *
 * Safety: only loopback targets (127.0.0.0/8, ::1, localhost; the host as libcurl parses it,
 * and the same parsed URL is what libcurl connects to), no proxy, no redirects, http(s) only,
 * R <= 1,000,000/s, S <= 3600 s, C <= 1024, memory and time bounded.
 *
 * One thread: libcurl's multi-socket interface on epoll; epoll_pwait2 gives the send schedule
 * nanosecond deadlines (poll's milliseconds would add up to 1 ms of generator lag; a timerfd
 * re-armed per request cost a third of the CPU in a VM). Linux.
 * All state lives in one load_run owned by cmd_load.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "treatylog/hash.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"
#include "treatylog/tlogproof.h"

#define NS_PER_S           UINT64_C(1000000000)
#define LOAD_RATE_MAX      UINT64_C(1000000)
#define LOAD_DURATION_MAX  UINT64_C(3600)
#define LOAD_CONNS_DEFAULT UINT64_C(64)
#define LOAD_CONNS_MAX     UINT64_C(1024)
#define LOAD_SIZE_DEFAULT  UINT64_C(256)
#define LOAD_SIZE_MAX      (UINT64_C(1) << 20)
#define LOAD_BUFFERS_MAX   (UINT64_C(256) << 20) /* connections x size: request bodies held */
#define LOAD_DRAIN_NS      (10 * NS_PER_S)       /* grace for in-flight requests after S */
#define LOAD_VERIFY_EVERY  100                   /* --verify checks seq % 100 == 0 */
#define LOAD_RESP_MAX      ((size_t)1 << 20)     /* a kept response; a tlog-proof is ~3 KiB */
#define LOAD_RUNID_LEN     12                    /* hex digits (48 random bits) */
#define LOAD_HEADER_LEN    27                    /* "load " runid " " 8 hex seq "\n" */
#define LOAD_OTHER_CODES   8                     /* distinct "other" statuses itemised */
#define LOAD_FD_SPARE      64                    /* descriptors besides the connections */
#define LOAD_EVENTS        256
#define LOAD_SIGN_MAX      16                  /* --sign keys (parties) */
#define LOAD_NOTES_MAX     UINT64_C(20000000)  /* signed notifications made ahead */
#define LOAD_NOTES_BYTES   (UINT64_C(2) << 30) /* their bytes, at most */
#define LOAD_TYPE_DEFAULT  "vd11.ch11.statement"
#define LOAD_SERIAL_MARK   "\"serial\":987654321987654321" /* placeholder in the template */
#define LOAD_MSG_MAX       200                             /* bytes of a refusal's message kept */

/* Latency histogram, HDR style: microseconds, exact below 256, then 128 linear sub-buckets
 * per power of two (relative error < 0.8 %), up to 2^36 us (19 hours; runs last < 1 h). */
#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_TOP_BITS 36
#define HIST_MAX_US   ((UINT64_C(1) << HIST_TOP_BITS) - 1)
#define HIST_BUCKETS  ((HIST_TOP_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

struct load_run;

/* One keep-alive connection's worth of state: an easy handle, its body and response. */
typedef struct load_conn {
    CURL *easy;
    struct load_run *run;
    bool busy;         /* added to the multi handle */
    bool keep;         /* keep the response body for --verify */
    tl_err resp_err;   /* TL_ERR_TOOBIG or TL_ERR_NOMEM while keeping it */
    uint64_t seq;      /* request number, 0-based */
    uint64_t sched_ns; /* when it was due (CLOCK_MONOTONIC) */
    uint64_t freed_ns; /* when it last became idle (0: before the run) */
    uint8_t *body;     /* run->size bytes */
    uint8_t *resp;
    size_t resp_len, resp_cap;
    char msg[LOAD_MSG_MAX + 1]; /* the start of the response, for a refusal's message */
    size_t msg_len;
    char errbuf[CURL_ERROR_SIZE];
} load_conn;

typedef struct load_other {
    long code;
    uint64_t n;
} load_other;

/* The whole run; owned by cmd_load, passed to every function and callback. */
typedef struct load_run {
    /* settings */
    uint64_t rate, duration, size, nconns, total;
    bool wait, json;
    tl_policy *policy; /* --verify, else NULL */
    char runid[LOAD_RUNID_LEN + 1];
    uint64_t fill_seed;

    /* --sign: total signed notifications, made ahead, note i at notes + note_off[i] */
    char *notes;
    uint64_t *note_off; /* total + 1 offsets */
    size_t nparties;
    uint64_t first_serial;
    const char *type;

    /* libcurl and the event loop */
    CURLU *cu; /* the checked target; every easy handle uses it (CURLOPT_CURLU) */
    char *url; /* its text, for messages (curl_free) */
    struct curl_slist *headers;
    CURLM *multi;
    int epfd;
    bool no_pwait2;  /* the kernel lacks epoll_pwait2: millisecond waits */
    bool curl_timer; /* libcurl asked for a timeout at curl_deadline */
    uint64_t curl_deadline;
    bool cb_failed; /* a callback's system call failed: cb_msg says which */
    char cb_msg[128];
    load_conn *conns;
    size_t *idle; /* indexes of idle conns, a FIFO ring: the longest idle goes first */
    size_t idle_head, nidle;

    /* the schedule */
    uint64_t t0, t_end;
    uint64_t next;       /* next request to start */
    uint64_t late;       /* sent after waiting for a connection */
    uint64_t lag_max_ns; /* worst start delay of a request that had a connection free */

    /* results */
    uint64_t sent, unsent, unfinished;
    uint64_t ok, ok_window, n429, n503, nother, nxport;
    load_other other[LOAD_OTHER_CODES];
    size_t nother_codes;
    uint64_t verified, verify_failed;
    long first_refusal_code;
    char first_refusal[LOAD_MSG_MAX + 1];
    char first_xport[CURL_ERROR_SIZE + 64];
    char first_verify[TL_DIAG_LEN + 64];
    uint64_t lat_max_us;
    uint64_t hist[HIST_BUCKETS];
} load_run;

static uint64_t mono_ns(void)
{
    struct timespec ts = {0, 0};
    /* Cannot fail: CLOCK_MONOTONIC exists on every Linux and ts is valid. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* ---- latency histogram ---- */

static size_t hist_index(uint64_t us)
{
    if (us > HIST_MAX_US)
        us = HIST_MAX_US;
    if (us < 2 * HIST_SUB)
        return (size_t)us;
    unsigned top = 63u - (unsigned)__builtin_clzll(us);
    unsigned shift = top - HIST_SUB_BITS;
    return (size_t)shift * HIST_SUB + (size_t)(us >> shift);
}

/* Largest value that lands in bucket i. */
static uint64_t hist_upper(size_t i)
{
    if (i < 2 * HIST_SUB)
        return i;
    size_t shift = i / HIST_SUB - 1;
    uint64_t mant = i - shift * HIST_SUB;
    return ((mant + 1) << shift) - 1;
}

/* The p-th percentile (0 < p <= 100) of the 200s' latencies in microseconds: the upper edge
 * of the bucket holding that rank, never above the exact maximum. 0 if there are none. */
static uint64_t hist_percentile(const load_run *r, double p)
{
    if (r->ok == 0)
        return 0;
    double want = p / 100.0 * (double)r->ok;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += r->hist[i];
        if (seen >= rank)
            return min_u64(hist_upper(i), r->lat_max_us);
    }
    return r->lat_max_us;
}

/* ---- bodies ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Body of request seq: "load <runid> <seq as 8 hex>\n" then lower-case letters from a PRNG
 * seeded with (run, seq), so bodies are unique, deterministic and plain text. */
static void body_fill(const load_run *r, uint8_t *b, uint64_t seq)
{
    static const char hex[] = "0123456789abcdef";
    memcpy(b, "load ", 5);
    memcpy(b + 5, r->runid, LOAD_RUNID_LEN);
    b[5 + LOAD_RUNID_LEN] = ' ';
    for (size_t i = 0; i < 8; i++)
        b[5 + LOAD_RUNID_LEN + 1 + i] = (uint8_t)hex[(seq >> (28 - 4 * i)) & 0xf];
    b[LOAD_HEADER_LEN - 1] = '\n';
    uint64_t x = r->fill_seed ^ (seq * UINT64_C(0xD6E8FEB86659FD93));
    uint64_t bits = 0;
    for (size_t i = LOAD_HEADER_LEN; i < r->size; i++) {
        if ((i - LOAD_HEADER_LEN) % 8 == 0)
            bits = splitmix64(&x);
        b[i] = (uint8_t)('a' + (bits & 0xff) % 26);
        bits >>= 8;
    }
}

/* ---- errors ---- */

/* Prints "treatylog load: <formatted>" for a failed set-up step and returns EXIT_USAGE. */
static int setup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int setup_fail(const char *fmt, ...)
{
    tl_diag d;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d.msg, sizeof d.msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        d.msg[0] = '\0';
    return cli_fail("load", TL_ERR_IO, &d);
}

/* ---- the target ---- */

/* True if host (as libcurl's URL parser returns it: IPv6 in brackets, IPv4 normalised) is a
 * loopback address or "localhost" (which libcurl resolves itself, never through DNS). */
static bool host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    size_t n = strlen(host);
    if (n >= 2 && n < INET6_ADDRSTRLEN + 2 && host[0] == '[' && host[n - 1] == ']') {
        char buf[INET6_ADDRSTRLEN + 2];
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
    }
    return false;
}

/* Parses URL, refuses anything but http(s) on loopback without query or fragment, and sets
 * r->cu to <URL>/add[?wait=0] and r->url to its text. Returns 0 or an exit code (printed). */
static int target_setup(load_run *r, const char *url)
{
    r->cu = curl_url();
    if (!r->cu)
        return setup_fail("out of memory");
    CURLUcode uc = curl_url_set(r->cu, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK)
        return cli_usage("load", "%s: %s (give a URL like http://127.0.0.1:8080)", url,
                         curl_url_strerror(uc));
    char *scheme = NULL, *host = NULL, *path = NULL, *query = NULL, *frag = NULL;
    int rc = 0;
    if (curl_url_get(r->cu, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(r->cu, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(r->cu, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        rc = cli_usage("load", "%s: not an http:// URL with a host", url);
    if (rc == 0 && strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = cli_usage("load", "%s: scheme %s not supported (http or https)", url, scheme);
    if (rc == 0 && !host_is_loopback(host))
        rc = cli_usage("load",
                       "refusing %s: host %s is not loopback (127.0.0.0/8, [::1] or "
                       "localhost); treatylog load only targets this machine",
                       url, host);
    if (rc == 0 && (curl_url_get(r->cu, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
                    curl_url_get(r->cu, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK))
        rc = cli_usage("load", "%s: give the server's base URL, without ? or #", url);
    if (rc == 0) {
        size_t n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        char *p = malloc(n + sizeof "/add");
        if (!p) {
            rc = setup_fail("out of memory");
        } else {
            memcpy(p, path, n);
            memcpy(p + n, "/add", sizeof "/add");
            if (curl_url_set(r->cu, CURLUPART_PATH, p, 0) != CURLUE_OK ||
                (!r->wait && curl_url_set(r->cu, CURLUPART_QUERY, "wait=0", 0) != CURLUE_OK) ||
                curl_url_get(r->cu, CURLUPART_URL, &r->url, 0) != CURLUE_OK)
                rc = cli_usage("load", "%s: cannot form %s/add", url, url);
            free(p);
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(path);
    curl_free(query);
    curl_free(frag);
    return rc;
}

/* ---- libcurl callbacks ---- */

static void cb_fail(load_run *r, const char *what)
{
    if (!r->cb_failed)
        snprintf(r->cb_msg, sizeof r->cb_msg, "%s: %s", what, strerror(errno));
    r->cb_failed = true;
}

/* CURLMOPT_SOCKETFUNCTION: mirror libcurl's interest in a socket into the epoll set. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    load_run *r = userp;
    if (what == CURL_POLL_REMOVE) {
        /* The socket may already be closed (then the kernel dropped it from the set). */
        if (epoll_ctl(r->epfd, EPOLL_CTL_DEL, s, NULL) != 0 && errno != ENOENT && errno != EBADF) {
            cb_fail(r, "epoll_ctl(DEL)");
            return -1;
        }
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((what & CURL_POLL_IN) ? (uint32_t)EPOLLIN : 0u) |
                ((what & CURL_POLL_OUT) ? (uint32_t)EPOLLOUT : 0u);
    ev.data.fd = s;
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, s, &ev) == 0)
        return 0;
    if (errno == ENOENT && epoll_ctl(r->epfd, EPOLL_CTL_ADD, s, &ev) == 0)
        return 0;
    cb_fail(r, "epoll_ctl");
    return -1;
}

/* CURLMOPT_TIMERFUNCTION: -1 removes the timer, else call back in timeout_ms. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    load_run *r = userp;
    r->curl_timer = timeout_ms >= 0;
    if (r->curl_timer)
        r->curl_deadline = mono_ns() + (uint64_t)timeout_ms * UINT64_C(1000000);
    return 0;
}

/* CURLOPT_WRITEFUNCTION: discard, or keep up to LOAD_RESP_MAX bytes for --verify. */
static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
    load_conn *c = userp;
    size_t n = size * nmemb; /* size is always 1 */
    if (c->msg_len < LOAD_MSG_MAX) {
        size_t k = min_u64(n, LOAD_MSG_MAX - c->msg_len);
        memcpy(c->msg + c->msg_len, ptr, k);
        c->msg_len += k;
    }
    if (!c->keep || c->resp_err != TL_OK)
        return n;
    if (n > LOAD_RESP_MAX - c->resp_len) {
        c->resp_err = TL_ERR_TOOBIG;
        return n;
    }
    if (c->resp_len + n > c->resp_cap) {
        size_t cap = c->resp_cap ? c->resp_cap : 4096;
        while (cap < c->resp_len + n)
            cap *= 2;
        if (cap > LOAD_RESP_MAX)
            cap = LOAD_RESP_MAX;
        uint8_t *nb = realloc(c->resp, cap);
        if (!nb) {
            c->resp_err = TL_ERR_NOMEM;
            return n;
        }
        c->resp = nb;
        c->resp_cap = cap;
    }
    memcpy(c->resp + c->resp_len, ptr, n);
    c->resp_len += n;
    return n;
}

/* ---- setup and teardown ---- */

/* Makes sure C connections fit under RLIMIT_NOFILE, raising the soft limit if allowed. */
static int fd_limit(const load_run *r)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return setup_fail("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    rlim_t need = (rlim_t)(r->nconns + LOAD_FD_SPARE);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
            return cli_usage("load",
                             "--connections %" PRIu64 " needs %" PRIu64
                             " open files; the hard limit (ulimit -Hn) is %" PRIu64,
                             r->nconns, (uint64_t)need, (uint64_t)rl.rlim_max);
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return setup_fail("raising the open-file limit to %" PRIu64 ": %s", (uint64_t)need,
                              strerror(errno));
    }
    return 0;
}

static CURLcode easy_setup(load_run *r, load_conn *c)
{
    CURL *e = c->easy;
    /* The target is the checked CURLU itself; no proxy (an http_proxy variable must not
     * carry the load off this machine), no redirects (the default), http(s) only. */
    CURLcode res = curl_easy_setopt(e, CURLOPT_CURLU, r->cu);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_PROXY, "");
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_USERAGENT, "treatylog-load/0.1.0");
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->size);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)c->body);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    if (res == CURLE_OK)
        res = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    return res;
}

/* Creates the event loop, the multi handle and C idle connections. 0 or an exit code. */
static int run_setup(load_run *r)
{
    unsigned char rnd[LOAD_RUNID_LEN / 2 + 8];
    randombytes_buf(rnd, sizeof rnd);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < LOAD_RUNID_LEN / 2; i++) {
        r->runid[2 * i] = hex[rnd[i] >> 4];
        r->runid[2 * i + 1] = hex[rnd[i] & 0xf];
    }
    r->runid[LOAD_RUNID_LEN] = '\0';
    memcpy(&r->fill_seed, rnd + LOAD_RUNID_LEN / 2, 8);

    int rc = fd_limit(r);
    if (rc)
        return rc;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0)
        return setup_fail("epoll_create1: %s", strerror(errno));

    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    if (h)
        r->headers = h;
    /* "Expect:" off: libcurl 7.x waits up to 1 s for a 100-continue before bodies > 1 KiB. */
    h = h ? curl_slist_append(r->headers, "Expect:") : NULL;
    if (!h)
        return setup_fail("out of memory");
    r->headers = h;

    r->multi = curl_multi_init();
    if (!r->multi)
        return setup_fail("cannot initialise a libcurl multi handle");
    long nc = (long)r->nconns;
    CURLMcode mc = curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(r->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, nc);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, nc);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, nc);
    if (mc != CURLM_OK)
        return setup_fail("libcurl: %s", curl_multi_strerror(mc));

    r->conns = calloc((size_t)r->nconns, sizeof *r->conns);
    r->idle = calloc((size_t)r->nconns, sizeof *r->idle);
    if (!r->conns || !r->idle)
        return setup_fail("out of memory");
    for (size_t i = 0; i < r->nconns; i++) {
        load_conn *c = &r->conns[i];
        c->run = r;
        c->body = malloc((size_t)r->size);
        c->easy = curl_easy_init();
        if (!c->body || !c->easy)
            return setup_fail("out of memory");
        CURLcode res = easy_setup(r, c);
        if (res != CURLE_OK)
            return setup_fail("libcurl: %s", curl_easy_strerror(res));
        r->idle[r->nidle++] = i;
    }
    return 0;
}

static void run_free(load_run *r)
{
    for (size_t i = 0; r->conns && i < r->nconns; i++) {
        if (r->conns[i].busy) {
            /* Failing here leaves a handle to curl_multi_cleanup, which copes. */
            (void)curl_multi_remove_handle(r->multi, r->conns[i].easy);
        }
    }
    /* Closing connections calls on_socket, which needs epfd: close the fds after this. */
    if (r->multi)
        (void)curl_multi_cleanup(r->multi); /* only fails for a bad handle */
    for (size_t i = 0; r->conns && i < r->nconns; i++) {
        if (r->conns[i].easy)
            curl_easy_cleanup(r->conns[i].easy);
        free(r->conns[i].body);
        free(r->conns[i].resp);
    }
    free(r->conns);
    free(r->idle);
    curl_slist_free_all(r->headers);
    curl_url_cleanup(r->cu);
    curl_free(r->url);
    if (r->epfd >= 0)
        (void)close(r->epfd); /* nothing written through it: no deferred error to report */
    free(r->policy);
    free(r->notes);
    free(r->note_off);
    free(r);
}

/* ---- signed notifications (--sign) ---- */

/* CPU seconds of this process so far. */
static double cpu_s(void)
{
    struct timespec ts = {0, 0};
    (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* cannot fail on Linux */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The canonical text of type's example sent by `from` now, with the serial placeholder:
 * *text (malloc'd), whose serial digits start at *pre and end at *post. */
static tl_err note_template(const tl_schemas *s, const char *type, const char *from, char **text,
                            size_t *len, size_t *pre, size_t *post, tl_diag *d)
{
    char *tmpl = NULL;
    size_t tlen = 0;
    tl_err e = tl_notification_template(&tmpl, &tlen, s, type, d);
    if (e != TL_OK)
        return e;
    json_error_t je;
    json_t *o =
        json_loadb(tmpl + TL_NOTIFICATION_HEADER_LEN, tlen - TL_NOTIFICATION_HEADER_LEN, 0, &je);
    free(tmpl);
    if (!json_is_object(o)) {
        json_decref(o);
        return tl_fail(d, TL_ERR_INTERNAL, "the example of %s is not a JSON object", type);
    }
    if (json_array_size(json_object_get(o, "refs")) > 0) {
        json_decref(o);
        return tl_fail(d, TL_ERR_USAGE,
                       "--type %s: its example references other entries, which this log may "
                       "not hold; pick a type that needs no refs (e.g. %s)",
                       type, LOAD_TYPE_DEFAULT);
    }
    char sent[32];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(sent, sizeof sent, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        json_decref(o);
        return tl_fail(d, TL_ERR_INTERNAL, "cannot format the time");
    }
    char *js = NULL;
    if (json_object_set_new(o, "from", json_string(from)) != 0 ||
        json_object_set_new(o, "serial", json_integer(987654321)) != 0 ||
        json_object_set_new(o, "sent", json_string(sent)) != 0 ||
        !(js = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        json_decref(o);
        return tl_fail(d, TL_ERR_NOMEM, "building a notification");
    }
    json_decref(o);
    e = tl_notification_from_json(text, len, s, js, strlen(js), d);
    free(js);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "a %s from %s", type, from);
    static const char mark[] = "\"serial\":987654321";
    const char *m = strstr(*text, mark);
    const char *after = m ? m + sizeof mark - 1 : NULL;
    if (!m || (*after != ',' && *after != '}') || strstr(after, mark)) {
        free(*text);
        *text = NULL;
        return tl_fail(d, TL_ERR_INTERNAL, "cannot place the serial in the %s text", type);
    }
    *pre = (size_t)(m - *text) + sizeof "\"serial\":" - 1;
    *post = (size_t)(after - *text);
    return TL_OK;
}

/* Makes the run's r->total signed notifications (see the top of the file) into r->notes. */
static tl_err make_notes(load_run *r, const char *const *keypaths, size_t nkeys,
                         const char *schemas_dir, tl_diag *d)
{
    double t0 = (double)mono_ns() / 1e9, c0 = cpu_s();
    tl_schemas *s = NULL;
    tl_err e = cli_load_schemas(schemas_dir, &s, d);
    if (e != TL_OK)
        return e;
    tl_skey keys[LOAD_SIGN_MAX];
    char *text[LOAD_SIGN_MAX] = {NULL};
    size_t tlen[LOAD_SIGN_MAX] = {0}, pre[LOAD_SIGN_MAX] = {0}, post[LOAD_SIGN_MAX] = {0};
    size_t nloaded = 0;
    for (; e == TL_OK && nloaded < nkeys; nloaded++) {
        e = cli_load_skey(keypaths[nloaded], TL_KEY_ED25519, &keys[nloaded], d);
        if (e != TL_OK)
            break;
        for (size_t j = 0; j < nloaded && e == TL_OK; j++)
            if (strcmp(keys[j].vkey.name, keys[nloaded].vkey.name) == 0)
                e = tl_fail(d, TL_ERR_USAGE,
                            "--sign %s: party %s is given twice (serials would "
                            "collide)",
                            keypaths[nloaded], keys[nloaded].vkey.name);
        if (e == TL_OK)
            e = note_template(s, r->type, keys[nloaded].vkey.name, &text[nloaded], &tlen[nloaded],
                              &pre[nloaded], &post[nloaded], d);
    }
    r->note_off = e == TL_OK ? malloc((size_t)(r->total + 1) * sizeof *r->note_off) : NULL;
    if (e == TL_OK && !r->note_off)
        e = tl_fail(d, TL_ERR_NOMEM, "%" PRIu64 " notifications", r->total);
    size_t cap = 0, used = 0;
    char buf[TL_NOTIFICATION_MAX + 32];
    for (uint64_t i = 0; e == TL_OK && i < r->total; i++) {
        size_t p = (size_t)(i % nkeys);
        uint64_t serial = r->first_serial + i / nkeys;
        char num[24];
        int nn = snprintf(num, sizeof num, "%" PRIu64, serial);
        size_t blen = pre[p] + (size_t)nn + (tlen[p] - post[p]);
        if (nn <= 0 || blen > TL_NOTIFICATION_MAX) {
            e = tl_fail(d, TL_ERR_TOOBIG, "a %s with serial %s is too long", r->type, num);
            break;
        }
        memcpy(buf, text[p], pre[p]);
        memcpy(buf + pre[p], num, (size_t)nn);
        memcpy(buf + pre[p] + (size_t)nn, text[p] + post[p], tlen[p] - post[p]);
        if (i < nkeys) { /* the first of each party, checked as the server will */
            tl_notification n;
            e = tl_notification_parse(&n, s, buf, blen, d);
            if (e != TL_OK) {
                tl_diag_prefix(d, e, "the notification made for %s", keys[p].vkey.name);
                break;
            }
            tl_notification_free(&n);
        }
        char *note = NULL;
        size_t nlen = 0;
        e = tl_note_sign(&note, &nlen, buf, blen, &keys[p], d);
        if (e != TL_OK)
            break;
        if (used + nlen > cap) {
            size_t ncap = cap ? cap * 2 : (size_t)min_u64(r->total * (nlen + 8), 1u << 26);
            while (ncap < used + nlen)
                ncap *= 2;
            if (ncap > LOAD_NOTES_BYTES)
                ncap = LOAD_NOTES_BYTES;
            char *nb = used + nlen <= ncap ? realloc(r->notes, ncap) : NULL;
            if (!nb) {
                free(note);
                e = tl_fail(d, TL_ERR_NOMEM,
                            "%" PRIu64 " signed notifications need over %" PRIu64
                            " MiB: lower --rate or --duration",
                            r->total, (uint64_t)(ncap >> 20));
                break;
            }
            r->notes = nb;
            cap = ncap;
        }
        r->note_off[i] = used;
        memcpy(r->notes + used, note, nlen);
        used += nlen;
        free(note);
    }
    if (e == TL_OK)
        r->note_off[r->total] = used;
    for (size_t i = 0; i < nloaded; i++)
        tl_skey_wipe(&keys[i]);
    for (size_t i = 0; i < nkeys; i++)
        free(text[i]);
    tl_schemas_free(s);
    if (e == TL_OK) {
        r->nparties = nkeys;
        fprintf(stderr,
                "treatylog load: signed %" PRIu64 " %s notifications (%zu part%s, serials %" PRIu64
                "..%" PRIu64 ", %.0f bytes each on average) in %.2f s, cpu %.2f s\n",
                r->total, r->type, nkeys, nkeys == 1 ? "y" : "ies", r->first_serial,
                r->first_serial + (r->total - 1) / nkeys, (double)used / (double)r->total,
                (double)mono_ns() / 1e9 - t0, cpu_s() - c0);
    } else {
        free(r->notes);
        r->notes = NULL;
    }
    return e;
}

/* ---- the run ---- */

static uint64_t sched_ns(const load_run *r, uint64_t i)
{
    return r->t0 + i * NS_PER_S / r->rate; /* i < 3.6e9: i * 1e9 < 2^64 */
}

static tl_err conn_start(load_run *r, load_conn *c, uint64_t seq, uint64_t sched, tl_diag *d)
{
    c->seq = seq;
    c->sched_ns = sched;
    c->keep = r->policy && seq % LOAD_VERIFY_EVERY == 0;
    c->resp_len = 0;
    c->resp_err = TL_OK;
    c->msg_len = 0;
    c->errbuf[0] = '\0';
    if (r->notes) {
        /* The easy handle is not in the multi handle now: its body may change. */
        uint64_t off = r->note_off[seq], n = r->note_off[seq + 1] - off;
        CURLcode res = curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
        if (res == CURLE_OK)
            res = curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, r->notes + off);
        if (res != CURLE_OK)
            return tl_fail(d, TL_ERR_INTERNAL, "%s: libcurl: %s", r->url, curl_easy_strerror(res));
    } else {
        body_fill(r, c->body, seq);
    }
    CURLMcode mc = curl_multi_add_handle(r->multi, c->easy);
    if (mc != CURLM_OK)
        return tl_fail(d, TL_ERR_INTERNAL, "%s: libcurl: %s", r->url, curl_multi_strerror(mc));
    c->busy = true;
    r->sent++;
    return TL_OK;
}

/* Starts every due request a free connection can take, in order. A request whose connection
 * (the longest idle) freed only after its scheduled time found them all busy: it is late.
 * Any other delay is the generator's own (lag_max_ns). */
static tl_err issue_due(load_run *r, uint64_t now, tl_diag *d)
{
    while (r->next < r->total && r->nidle > 0) {
        uint64_t s = sched_ns(r, r->next);
        if (s > now)
            return TL_OK;
        load_conn *c = &r->conns[r->idle[r->idle_head]];
        r->idle_head = (r->idle_head + 1) % r->nconns;
        r->nidle--;
        if (c->freed_ns > s)
            r->late++;
        else if (now - s > r->lag_max_ns)
            r->lag_max_ns = now - s;
        tl_err e = conn_start(r, c, r->next, s, d);
        if (e != TL_OK)
            return e;
        r->next++;
    }
    return TL_OK;
}

static void count_other(load_run *r, long code)
{
    r->nother++;
    for (size_t i = 0; i < r->nother_codes; i++) {
        if (r->other[i].code == code) {
            r->other[i].n++;
            return;
        }
    }
    if (r->nother_codes < LOAD_OTHER_CODES)
        r->other[r->nother_codes++] = (load_other){code, 1};
}

/* Checks a kept response as a tlog-proof of the request body's leaf. */
static void verify_one(load_run *r, const load_conn *c)
{
    tl_diag d = {{0}};
    tl_err e = c->resp_err;
    if (e == TL_ERR_TOOBIG)
        e = tl_fail(&d, e, "response larger than %zu bytes", LOAD_RESP_MAX);
    else if (e != TL_OK)
        e = tl_fail(&d, e, "out of memory keeping the response");
    else if (c->resp_len == 0)
        e = tl_fail(&d, TL_ERR_FORMAT, "empty response (--wait 1 should return a tlog-proof)");
    tl_tlog_proof p;
    if (e == TL_OK)
        e = tl_tlog_proof_parse(&p, (const char *)c->resp, c->resp_len, &d);
    if (e == TL_OK) {
        uint8_t leaf[TL_HASH_LEN];
        tl_leaf_hash(leaf, c->body, (size_t)r->size);
        e = tl_tlog_proof_verify(&p, leaf, r->policy, NULL, &d);
    }
    r->verified++;
    if (e != TL_OK) {
        if (r->verify_failed == 0)
            snprintf(r->first_verify, sizeof r->first_verify, "request %" PRIu64 ": %s", c->seq,
                     d.msg[0] ? d.msg : tl_strerror(e));
        r->verify_failed++;
    }
}

/* Collects finished transfers: counts them, records latency, frees their connections. */
static tl_err collect_done(load_run *r, tl_diag *d)
{
    CURLMsg *m;
    int left = 0;
    uint64_t now = mono_ns();
    for (m = curl_multi_info_read(r->multi, &left); m; m = curl_multi_info_read(r->multi, &left)) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result; /* m is invalid after remove_handle */
        char *priv = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv)
            return tl_fail(d, TL_ERR_INTERNAL, "libcurl lost a transfer's private pointer");
        load_conn *c = (load_conn *)(void *)priv;
        CURLMcode mc = curl_multi_remove_handle(r->multi, easy);
        if (mc != CURLM_OK)
            return tl_fail(d, TL_ERR_INTERNAL, "%s: libcurl: %s", r->url, curl_multi_strerror(mc));
        c->busy = false;
        c->freed_ns = now;
        r->idle[(r->idle_head + r->nidle) % r->nconns] = (size_t)(c - r->conns);
        r->nidle++;
        if (res != CURLE_OK) {
            if (r->nxport == 0)
                snprintf(r->first_xport, sizeof r->first_xport, "%s: %s", r->url,
                         c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
            r->nxport++;
            continue;
        }
        long code = 0;
        if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
            code = 0;
        if (code != 200 && r->first_refusal_code == 0) {
            r->first_refusal_code = code;
            size_t k = c->msg_len;
            while (k > 0 && (c->msg[k - 1] == '\n' || c->msg[k - 1] == '\r'))
                k--;
            for (size_t i = 0; i < k; i++) /* one printable line */
                r->first_refusal[i] = (unsigned char)c->msg[i] < 0x20 ? ' ' : c->msg[i];
            r->first_refusal[k] = '\0';
        }
        if (code == 429) {
            r->n429++;
        } else if (code == 503) {
            r->n503++;
        } else if (code != 200) {
            count_other(r, code);
        } else {
            r->ok++;
            if (now < r->t_end)
                r->ok_window++;
            uint64_t us = (now - c->sched_ns) / 1000;
            if (us > r->lat_max_us)
                r->lat_max_us = us;
            r->hist[hist_index(us)]++;
            if (c->keep)
                verify_one(r, c);
        }
    }
    return TL_OK;
}

/* Waits for socket events until `wake` at the latest: epoll_pwait2 for nanosecond deadlines
 * (Linux >= 5.11), else epoll_wait in whole milliseconds, rounded up. Returns the number of
 * events (0 on timeout or a signal), or -1 with errno set. */
static int wait_events(load_run *r, struct epoll_event *evs, uint64_t now, uint64_t wake)
{
    uint64_t dt = wake > now ? wake - now : 0;
    if (!r->no_pwait2) {
        struct timespec ts = {(time_t)(dt / NS_PER_S), (long)(dt % NS_PER_S)};
        int n = epoll_pwait2(r->epfd, evs, LOAD_EVENTS, &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n < 0 && errno == EINTR ? 0 : n;
        r->no_pwait2 = true;
    }
    uint64_t ms = (dt + 999999) / 1000000;
    int n = epoll_wait(r->epfd, evs, LOAD_EVENTS, (int)min_u64(ms, 1000));
    return n < 0 && errno == EINTR ? 0 : n;
}

static tl_err socket_action(load_run *r, curl_socket_t fd, int flags, tl_diag *d)
{
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(r->multi, fd, flags, &running);
    if (mc != CURLM_OK)
        return tl_fail(d, TL_ERR_IO, "%s: libcurl: %s%s%s", r->url, curl_multi_strerror(mc),
                       r->cb_failed ? ": " : "", r->cb_msg);
    if (r->cb_failed)
        return tl_fail(d, TL_ERR_IO, "%s: %s", r->url, r->cb_msg);
    return TL_OK;
}

/* Runs the schedule: sends for `duration` seconds, then drains for at most 10 s. */
static tl_err run_loop(load_run *r, tl_diag *d)
{
    struct epoll_event evs[LOAD_EVENTS];
    r->t0 = mono_ns();
    r->t_end = r->t0 + r->duration * NS_PER_S;
    uint64_t hard_end = r->t_end + LOAD_DRAIN_NS;
    bool issuing = true;
    tl_err e = TL_OK;
    for (;;) {
        uint64_t now = mono_ns();
        if (issuing) {
            /* Every request is due before t_end: a late wake-up still sends what is due. */
            e = issue_due(r, now, d);
            if (e != TL_OK)
                return e;
            if (now >= r->t_end) {
                issuing = false;
                r->unsent = r->total - r->next;
            }
        }
        /* libcurl's timeouts first: a new transfer asks for one at once, to start. */
        if (r->curl_timer && now >= r->curl_deadline) {
            r->curl_timer = false;
            e = socket_action(r, CURL_SOCKET_TIMEOUT, 0, d);
            if (e == TL_OK)
                e = collect_done(r, d);
            if (e != TL_OK)
                return e;
            continue;
        }
        if ((!issuing && r->nidle == r->nconns) || now >= hard_end)
            break;
        uint64_t wake = issuing ? r->t_end : hard_end;
        if (issuing && r->next < r->total && r->nidle > 0)
            wake = min_u64(wake, sched_ns(r, r->next));
        if (r->curl_timer)
            wake = min_u64(wake, r->curl_deadline);
        int n = wait_events(r, evs, now, wake);
        if (n < 0)
            return tl_fail(d, TL_ERR_IO, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n && e == TL_OK; i++) {
            uint32_t ev = evs[i].events;
            int flags = ((ev & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                        ((ev & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                        ((ev & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
            e = socket_action(r, evs[i].data.fd, flags, d);
        }
        if (e == TL_OK)
            e = collect_done(r, d);
        if (e != TL_OK)
            return e;
    }
    r->unfinished = r->nconns - r->nidle;
    return TL_OK;
}

/* ---- the report ---- */

static void put_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static double us_ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void report_json(const load_run *r, double thr)
{
    printf("{\"url\":");
    put_json_string(r->url);
    printf(",\"rate\":%" PRIu64 ",\"duration_s\":%" PRIu64 ",\"size\":%" PRIu64
           ",\"connections\":%" PRIu64 ",\"wait\":%d",
           r->rate, r->duration, r->size, r->nconns, r->wait ? 1 : 0);
    printf(",\"scheduled\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"late\":%" PRIu64
           ",\"unsent\":%" PRIu64 ",\"unfinished\":%" PRIu64,
           r->total, r->sent, r->late, r->unsent, r->unfinished);
    printf(",\"status\":{\"200\":%" PRIu64 ",\"429\":%" PRIu64 ",\"503\":%" PRIu64
           ",\"other\":%" PRIu64 "},\"other_codes\":{",
           r->ok, r->n429, r->n503, r->nother);
    for (size_t i = 0; i < r->nother_codes; i++)
        printf("%s\"%ld\":%" PRIu64, i ? "," : "", r->other[i].code, r->other[i].n);
    printf("},\"transport_errors\":%" PRIu64, r->nxport);
    printf(",\"ok_in_window\":%" PRIu64 ",\"throughput\":%.1f", r->ok_window, thr);
    if (r->ok)
        printf(",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,"
               "\"max\":%.3f}",
               us_ms(hist_percentile(r, 50)), us_ms(hist_percentile(r, 90)),
               us_ms(hist_percentile(r, 99)), us_ms(hist_percentile(r, 99.9)),
               us_ms(r->lat_max_us));
    else
        printf(",\"latency_ms\":null");
    printf(",\"generator_lag_max_ms\":%.3f", (double)r->lag_max_ns / 1e6);
    if (r->notes) {
        printf(",\"signed\":{\"type\":");
        put_json_string(r->type);
        printf(",\"parties\":%zu,\"first_serial\":%" PRIu64 ",\"bytes_mean\":%.1f}", r->nparties,
               r->first_serial, (double)r->note_off[r->total] / (double)r->total);
    } else {
        printf(",\"signed\":null");
    }
    printf(",\"first_refusal\":");
    if (r->first_refusal_code) {
        printf("{\"status\":%ld,\"message\":", r->first_refusal_code);
        put_json_string(r->first_refusal);
        printf("}");
    } else {
        printf("null");
    }
    if (r->policy)
        printf(",\"verify\":{\"checked\":%" PRIu64 ",\"failed\":%" PRIu64 "}", r->verified,
               r->verify_failed);
    else
        printf(",\"verify\":null");
    printf(",\"first_transport_error\":");
    if (r->nxport)
        put_json_string(r->first_xport);
    else
        printf("null");
    printf(",\"first_verify_error\":");
    if (r->verify_failed)
        put_json_string(r->first_verify);
    else
        printf("null");
    printf("}\n");
}

static void report_text(const load_run *r, double thr)
{
    if (r->notes)
        printf("target      %s, %" PRIu64 " req/s for %" PRIu64 " s, signed %s notifications "
               "(%zu parties, %.0f bytes on average), %" PRIu64 " connections\n",
               r->url, r->rate, r->duration, r->type, r->nparties,
               (double)r->note_off[r->total] / (double)r->total, r->nconns);
    else
        printf("target      %s, %" PRIu64 " req/s for %" PRIu64 " s, %" PRIu64
               "-byte bodies, %" PRIu64 " connections\n",
               r->url, r->rate, r->duration, r->size, r->nconns);
    printf("requests    %" PRIu64 " scheduled, %" PRIu64 " sent, %" PRIu64 " late, %" PRIu64
           " unsent, %" PRIu64 " unfinished\n",
           r->total, r->sent, r->late, r->unsent, r->unfinished);
    printf("responses   200: %" PRIu64 "  429: %" PRIu64 "  503: %" PRIu64 "  other: %" PRIu64,
           r->ok, r->n429, r->n503, r->nother);
    for (size_t i = 0; i < r->nother_codes; i++)
        printf("%s%ld x%" PRIu64, i ? ", " : " (", r->other[i].code, r->other[i].n);
    printf("%s  transport errors: %" PRIu64 "\n", r->nother_codes ? ")" : "", r->nxport);
    printf("throughput  %.1f ok/s in the %" PRIu64 " s sending window (%" PRIu64 " of %" PRIu64
           " 200s)\n",
           thr, r->duration, r->ok_window, r->ok);
    if (r->ok)
        printf("latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (200s, from the "
               "scheduled time)\n",
               us_ms(hist_percentile(r, 50)), us_ms(hist_percentile(r, 90)),
               us_ms(hist_percentile(r, 99)), us_ms(hist_percentile(r, 99.9)),
               us_ms(r->lat_max_us));
    else
        printf("latency ms  none (no 200s)\n");
    printf("generator   at most %.3f ms behind schedule with a connection free\n",
           (double)r->lag_max_ns / 1e6);
    if (r->policy)
        printf("verify      %" PRIu64 " proofs checked, %" PRIu64 " failed\n", r->verified,
               r->verify_failed);
    if (r->first_refusal_code)
        printf("first non-200: %ld %s\n", r->first_refusal_code, r->first_refusal);
    if (r->nxport)
        printf("first transport error: %s\n", r->first_xport);
    if (r->verify_failed)
        printf("first verify failure: %s\n", r->first_verify);
}

/* ---- the command ---- */

/* Strict decimal option within [lo, hi]; 0 or an exit code (printed). */
static int opt_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    tl_diag d = {{0}};
    if (cli_parse_u64(s, out, &d) != TL_OK)
        return cli_usage("load", "--%s: %s", name, d.msg);
    if (*out < lo || *out > hi)
        return cli_usage("load", "--%s %s: must be %" PRIu64 "..%" PRIu64, name, s, lo, hi);
    return 0;
}

int cmd_load(int argc, char **argv)
{
    const char *signpaths[LOAD_SIGN_MAX];
    size_t nsign = 0;
    int rc = submit_take_repeated("load", &argc, argv, "sign", signpaths, LOAD_SIGN_MAX, &nsign);
    if (rc)
        return rc;
    const char *rate_s = NULL, *dur_s = NULL, *size_s = NULL, *conns_s = NULL, *wait_s = NULL,
               *vkey_arg = NULL, *type_s = NULL, *first_s = NULL, *schemas_s = NULL;
    bool json = false;
    const cli_opt opts[] = {{"rate", &rate_s, NULL},       {"duration", &dur_s, NULL},
                            {"size", &size_s, NULL},       {"connections", &conns_s, NULL},
                            {"wait", &wait_s, NULL},       {"verify", &vkey_arg, NULL},
                            {"type", &type_s, NULL},       {"first-serial", &first_s, NULL},
                            {"schemas", &schemas_s, NULL}, {"json", NULL, &json}};
    const char *pos[1];
    size_t npos = 0;
    rc = cli_parse("load", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || !rate_s || !dur_s)
        return cli_usage("load", "usage: treatylog load URL --rate R --duration S [--size B] "
                                 "[--connections C] [--wait 0|1] [--verify VKEY] [--json]\n"
                                 "       [--sign KEYFILE]... [--type TYPE] [--first-serial N] "
                                 "[--schemas DIR]");
    if (nsign == 0 && (type_s || first_s || schemas_s))
        return cli_usage("load", "--type, --first-serial and --schemas go with --sign KEYFILE");
    if (nsign > 0 && size_s)
        return cli_usage("load", "--size does not go with --sign (the notifications have their "
                                 "own size)");
    if (nsign > 0 && vkey_arg)
        return cli_usage("load", "--verify does not go with --sign (a treaty log's proof is of "
                                 "the entry, not of the body; use treatylog submit)");
    load_run *r = calloc(1, sizeof *r);
    if (!r)
        return setup_fail("out of memory");
    r->epfd = -1;
    r->json = json;
    r->size = LOAD_SIZE_DEFAULT;
    r->nconns = LOAD_CONNS_DEFAULT;
    r->wait = true;
    rc = opt_u64("rate", rate_s, 1, LOAD_RATE_MAX, &r->rate);
    if (!rc)
        rc = opt_u64("duration", dur_s, 1, LOAD_DURATION_MAX, &r->duration);
    if (!rc && size_s)
        rc = opt_u64("size", size_s, LOAD_HEADER_LEN, LOAD_SIZE_MAX, &r->size);
    if (!rc && conns_s)
        rc = opt_u64("connections", conns_s, 1, LOAD_CONNS_MAX, &r->nconns);
    if (!rc && wait_s) {
        if (strcmp(wait_s, "0") != 0 && strcmp(wait_s, "1") != 0)
            rc = cli_usage("load", "--wait %s: must be 0 or 1", wait_s);
        r->wait = strcmp(wait_s, "1") == 0;
    }
    if (!rc && r->size * r->nconns > LOAD_BUFFERS_MAX)
        rc = cli_usage("load",
                       "--size %" PRIu64 " x --connections %" PRIu64 " is over %" PRIu64
                       " MiB of request buffers",
                       r->size, r->nconns, LOAD_BUFFERS_MAX >> 20);
    r->type = type_s ? type_s : LOAD_TYPE_DEFAULT;
    r->first_serial = 1;
    if (!rc && first_s)
        rc = opt_u64("first-serial", first_s, 1, UINT64_C(1) << 50, &r->first_serial);
    if (!rc && nsign > 0 && r->rate * r->duration > LOAD_NOTES_MAX)
        rc = cli_usage("load",
                       "--sign: --rate x --duration is over %" PRIu64
                       " notifications, all signed ahead",
                       LOAD_NOTES_MAX);
    if (!rc && vkey_arg && !r->wait)
        rc = cli_usage("load", "--verify needs --wait 1 (only then does /add return a proof)");
    if (!rc && vkey_arg) {
        tl_diag d = {{0}};
        tl_err e = cli_load_policy(NULL, vkey_arg, &r->policy, &d);
        if (e != TL_OK)
            rc = cli_fail("load", e, &d);
    }
    if (!rc)
        rc = target_setup(r, pos[0]);
    r->total = r->rate * r->duration;
    if (!rc && nsign > 0) {
        tl_diag d = {{0}};
        tl_err e = make_notes(r, signpaths, nsign, schemas_s, &d);
        if (e != TL_OK)
            rc = cli_fail("load", e, &d);
    }
    if (!rc)
        rc = run_setup(r);
    if (rc) {
        run_free(r);
        return rc;
    }
    tl_diag d = {{0}};
    tl_err e = run_loop(r, &d);
    if (e != TL_OK) {
        rc = cli_fail("load", e, &d);
        run_free(r);
        return rc;
    }
    double thr = (double)r->ok_window / (double)r->duration;
    if (r->json)
        report_json(r, thr);
    else
        report_text(r, thr);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "treatylog load: writing to stdout: %s\n", strerror(errno));
        rc = EXIT_USAGE;
    } else if (r->verify_failed) {
        fprintf(stderr,
                "treatylog load: %" PRIu64 " of %" PRIu64 " sampled proofs failed; "
                "first: %s\n",
                r->verify_failed, r->verified, r->first_verify);
        rc = EXIT_VERIFY;
    } else if (r->ok == 0) {
        fprintf(stderr,
                "treatylog load: no request to %s succeeded (%" PRIu64 " non-200, %" PRIu64
                " transport errors, %" PRIu64 " unfinished)%s%s\n",
                r->url, r->n429 + r->n503 + r->nother, r->nxport, r->unfinished,
                r->nxport ? "; first error: " : "", r->nxport ? r->first_xport : "");
        rc = EXIT_VERIFY;
    }
    run_free(r);
    return rc;
}
