/* http.c - GET a JSON document from a treatylog server (libcurl), for the CLI clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"

#define HTTP_BODY_MAX (64u << 20) /* largest answer read */

typedef struct sink {
    char *buf;
    size_t len, cap;
    bool overflow;
} sink;

static size_t on_data(char *p, size_t sz, size_t nm, void *ctx)
{
    sink *k = ctx;
    size_t n = sz * nm;
    if (k->len + n + 1 > HTTP_BODY_MAX) {
        k->overflow = true;
        return 0;
    }
    if (k->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 65536;
        while (cap < k->len + n + 1)
            cap *= 2;
        char *nb = realloc(k->buf, cap);
        if (!nb)
            return 0;
        k->buf = nb;
        k->cap = cap;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    k->buf[k->len] = '\0';
    return n;
}

tl_err cli_http_json(const char *base, const char *path, json_t **out, tl_diag *d)
{
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    char *url = NULL;
    if (asprintf(&url, "%.*s%s", (int)bl, base, path) < 0)
        return tl_fail(d, TL_ERR_NOMEM, "GET");
    CURL *c = curl_easy_init();
    if (!c) {
        free(url);
        return tl_fail(d, TL_ERR_NOMEM, "GET");
    }
    sink k = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "treatylog/0.1");
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    tl_err e = TL_OK;
    if (rc != CURLE_OK) {
        e = tl_fail(d, k.overflow ? TL_ERR_TOOBIG : TL_ERR_IO, "GET %s: %s", url,
                    k.overflow ? "answer too large" : curl_easy_strerror(rc));
    } else if (status != 200) {
        size_t ml = k.buf ? strcspn(k.buf, "\n") : 0;
        e = tl_fail(d,
                    status == 404   ? TL_ERR_NOTFOUND
                    : status == 400 ? TL_ERR_FORMAT
                                    : TL_ERR_IO,
                    "GET %s: HTTP %ld%s%.*s", url, status, ml ? ": " : "",
                    (int)(ml > 300 ? 300 : ml), k.buf ? k.buf : "");
    } else {
        json_error_t je;
        *out = json_loadb(k.buf ? k.buf : "", k.len, 0, &je);
        if (!*out || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            e = tl_fail(d, TL_ERR_FORMAT, "GET %s: not a JSON object: %s", url, je.text);
        }
    }
    free(k.buf);
    free(url);
    return e;
}
