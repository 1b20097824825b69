/* http.c - a read-only store over the C2SP tlog-tiles HTTP read API (GET <prefix>/<path>),
 * with libcurl: keep-alive, gzip accepted (entry bundles are often served compressed),
 * 404 mapped to TL_ERR_NOTFOUND so readers can fall back from a partial to a full tile.
 */
#include "treatylog/store.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define HTTP_OBJECT_MAX (64u << 20)

typedef struct http_store {
    tl_store base; /* must be first */
    CURL *curl;    /* owned by this store; one request at a time */
    char *prefix;  /* without trailing slash */
} http_store;

typedef struct sink {
    uint8_t *buf;
    size_t len, cap;
    int overflow;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *k = ud;
    size_t n = size * nmemb;
    if (k->len + n > HTTP_OBJECT_MAX) {
        k->overflow = 1;
        return 0;
    }
    if (k->len + n > k->cap) {
        size_t cap = k->cap ? k->cap : 16384;
        while (cap < k->len + n)
            cap *= 2;
        uint8_t *nb = realloc(k->buf, cap);
        if (!nb)
            return 0;
        k->buf = nb;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    return n;
}

static tl_err http_read(tl_store *st, const char *path, uint8_t **out, size_t *outlen,
                        tl_diag *d)
{
    http_store *s = (http_store *)st;
    size_t ulen = strlen(s->prefix) + 1 + strlen(path) + 1;
    char *url = malloc(ulen);
    if (!url)
        return tl_fail(d, TL_ERR_NOMEM, "fetching %s", path);
    int n = snprintf(url, ulen, "%s/%s", s->prefix, path);
    if (n < 0 || (size_t)n >= ulen) {
        free(url);
        return tl_fail(d, TL_ERR_INTERNAL, "url for %s", path);
    }
    sink k = {0};
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &k);
    CURLcode rc = curl_easy_perform(s->curl);
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    tl_err e = TL_OK;
    if (rc != CURLE_OK)
        e = k.overflow ? tl_fail(d, TL_ERR_TOOBIG, "GET %s: response larger than %u bytes", url,
                                 HTTP_OBJECT_MAX)
                       : tl_fail(d, TL_ERR_IO, "GET %s: %s", url, curl_easy_strerror(rc));
    else if (status == 404)
        e = tl_fail(d, TL_ERR_NOTFOUND, "GET %s: 404 not found", url);
    else if (status != 200)
        e = tl_fail(d, TL_ERR_IO, "GET %s: HTTP status %ld", url, status);
    free(url);
    if (e != TL_OK) {
        free(k.buf);
        return e;
    }
    if (!k.buf) {
        k.buf = malloc(1);
        if (!k.buf)
            return tl_fail(d, TL_ERR_NOMEM, "fetching %s", path);
    }
    *out = k.buf;
    *outlen = k.len;
    return TL_OK;
}

static tl_err http_stage(tl_store *st, const char *path, const uint8_t *buf, size_t len,
                         tl_diag *d)
{
    (void)st, (void)buf, (void)len;
    return tl_fail(d, TL_ERR_USAGE, "cannot write %s: an HTTP log is read-only", path);
}

static tl_err http_sync(tl_store *st, tl_diag *d)
{
    (void)st;
    return tl_fail(d, TL_ERR_USAGE, "an HTTP log is read-only");
}

static tl_err http_commit(tl_store *st, const uint8_t *cp, size_t len, tl_diag *d)
{
    (void)st, (void)cp, (void)len;
    return tl_fail(d, TL_ERR_USAGE, "an HTTP log is read-only");
}

static tl_err http_list(tl_store *st, const char *dir, char ***names, size_t *n, tl_diag *d)
{
    (void)st;
    *names = NULL;
    *n = 0;
    return tl_fail(d, TL_ERR_USAGE, "cannot list %s over HTTP", dir);
}

static tl_err http_put_sync(tl_store *st, const char *path, const uint8_t *buf, size_t len,
                            tl_diag *d)
{
    return http_stage(st, path, buf, len, d);
}

static tl_err http_remove(tl_store *st, const char *path, tl_diag *d)
{
    (void)st;
    return tl_fail(d, TL_ERR_USAGE, "cannot remove %s: an HTTP log is read-only", path);
}

static void http_close(tl_store *st)
{
    http_store *s = (http_store *)st;
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->prefix);
    free(s);
}

static const struct tl_store_ops http_ops = {
    .name = "http",
    .read = http_read,
    .stage = http_stage,
    .sync = http_sync,
    .commit = http_commit,
    .list = http_list,
    .put_sync = http_put_sync,
    .remove = http_remove,
    .close = http_close,
};

tl_err tl_store_http_open(tl_store **out, const char *url, tl_diag *d)
{
    http_store *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "opening %s", url);
    s->base.ops = &http_ops;
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    s->prefix = strndup(url, n);
    s->curl = curl_easy_init();
    if (!s->prefix || !s->curl) {
        http_close(&s->base);
        return tl_fail(d, TL_ERR_NOMEM, "opening %s", url);
    }
    curl_easy_setopt(s->curl, CURLOPT_ACCEPT_ENCODING, ""); /* gzip, identity, ... */
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "treatylog/0.1");
    *out = &s->base;
    return TL_OK;
}

tl_err tl_store_open_readonly(tl_store **out, const char *loc, tl_diag *d)
{
    if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
        return tl_store_http_open(out, loc, d);
    return tl_store_posix_open(out, loc, false, NULL, d);
}
