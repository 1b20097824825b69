/* witness_server_test.c - the witness HTTP service in-process (witness.c), with the clock
 * fixed at 1767139200 and the state's system calls injectable: byte-exact 200 bodies over
 * HTTP, content types, no cosignature when the state cannot be made durable, state kept
 * across a restart, concurrent requests for one origin never rolling the state back, the
 * prefix, and the method/path/size errors. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/witness_server.h"

#define T0         1767139200u
#define EM         "\xe2\x80\x94 "
#define ORIGIN     "treatylog.example/test-log"
#define ORIGIN_HEX "48dd9c762f8f450a64bfa35b16150d612444e3c9ca029ffe975c267de5f843be"
#define LOG_VKEY   "treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0"
#define W_SKEY                                                                                     \
    "PRIVATE+KEY+treatylog.example/test-witness+6a9442cd+BMkdeZbK33ahbRpzsUlwRT0aLejTSOol1dEoHdKD" \
    "br9e"
#define TEXT256 ORIGIN "\n256\n3JNJ+Xh+0Ahtptl/Z5xRpRmPmORW6Vsdh/o6vAEv7DE=\n"
#define TEXT300 ORIGIN "\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n"
#define CP256                                                                                      \
    TEXT256 "\n" EM "treatylog.example/test-log syoxQhHgnihAb9MUl08RRxVGQ2kKBvX+2KRPV/9DXI8a18d5"  \
            "vDXdTnx1LnhXz8jueaXzx/M6K1MR3wxaMpviOAz3Ow8=\n"
#define CP300                                                                                      \
    TEXT300 "\n" EM "treatylog.example/test-log syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW" \
            "4eo0BwNMkvknZkWkymvouUAlsrWblus4pRTP+gTkA4=\n"
#define REQ0 "old 0\n\n" CP256
#define REQ1 "old 256\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\n\n" CP300
#define COSIG0                                                                                     \
    EM "treatylog.example/test-witness apRCzQAAAABpVGeA0xRvHY7teXN9+zVuUgrYVoPUuTDRuEK1iTOWvT8rU3" \
       "rZXH5gw18YBvkn7YxumaQIdlX3h7Hq1iM460PiKst4Cw==\n"
#define COSIG1                                                                                     \
    EM "treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087aq/VPyuKeK+" \
       "BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n"

static int fail_syncfs; /* errno for the next syncfs, or 0 */

static int f_open(const char *p, int flags, mode_t mode)
{
    return open(p, flags, mode);
}
static int f_syncfs(int fd)
{
    if (fail_syncfs) {
        errno = fail_syncfs;
        fail_syncfs = 0;
        return -1;
    }
    return syncfs(fd);
}
static const tl_sys faulty = {f_open, write, fsync, f_syncfs, rename, close, NULL};

typedef struct fixture {
    char dir[256];
    tl_witness_logs *logs;
    tl_skey key;
    tl_witness_server *srv;
    char base[64];
} fixture;

static int setup(void **state)
{
    if (tl_init() != TL_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/tl-wsrv.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    tl_vkey lv;
    f->logs = tl_witness_logs_new();
    if (!f->logs || tl_vkey_parse(&lv, LOG_VKEY, strlen(LOG_VKEY), NULL) != TL_OK ||
        tl_witness_logs_add(f->logs, ORIGIN, strlen(ORIGIN), &lv, NULL) != TL_OK ||
        tl_skey_parse(&f->key, W_SKEY, strlen(W_SKEY), NULL) != TL_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    tl_witness_logs_free(f->logs);
    tl_skey_wipe(&f->key);
    free(f);
    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

static void start(fixture *f, const char *sub, const char *prefix)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", f->dir, sub);
    tl_witness_server_config c;
    tl_witness_server_config_default(&c);
    c.dir = dir;
    c.listen = "127.0.0.1:0";
    c.prefix = prefix;
    c.key = &f->key;
    c.logs = f->logs;
    c.fixed_time = T0;
    c.sys = &faulty;
    tl_diag d = {{0}};
    tl_err e = tl_witness_server_start(&f->srv, &c, &d);
    if (e != TL_OK)
        fail_msg("start: %s", d.msg);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", tl_witness_server_port(f->srv));
}

static void stop(fixture *f)
{
    tl_witness_server_stop(f->srv);
    f->srv = NULL;
}

typedef struct reply {
    long status;
    char ctype[128];
    char body[4096];
    size_t len;
} reply;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    size_t k = sz * n;
    if (r->len + k < sizeof r->body) {
        memcpy(r->body + r->len, p, k);
        r->len += k;
        r->body[r->len] = '\0';
    }
    return k;
}

/* method "POST" sends body; path is appended to the base URL. */
static void http(const fixture *f, reply *r, const char *method, const char *path, const char *body,
                 size_t len)
{
    memset(r, 0, sizeof *r);
    char url[512];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(r->ctype, sizeof r->ctype, "%s", ct);
    curl_easy_cleanup(c);
}

static long post(const fixture *f, reply *r, const char *body)
{
    http(f, r, "POST", "/add-checkpoint", body, strlen(body));
    return r->status;
}

static void test_exact_and_durable(void **state)
{
    fixture *f = *state;
    reply r;
    start(f, "a", "");
    http(f, &r, "GET", "/" ORIGIN_HEX "/checkpoint", NULL, 0);
    assert_int_equal(r.status, 404);

    /* The state cannot be made durable: 503, no cosignature, nothing stored. */
    fail_syncfs = EIO;
    assert_int_equal(post(f, &r, REQ0), 503);
    assert_null(strstr(r.body, "\xe2\x80\x94"));
    assert_non_null(strstr(r.body, "nothing was cosigned"));
    http(f, &r, "GET", "/" ORIGIN_HEX "/checkpoint", NULL, 0);
    assert_int_equal(r.status, 404);

    assert_int_equal(post(f, &r, REQ0), 200);
    assert_string_equal(r.ctype, "text/plain; charset=utf-8");
    assert_string_equal(r.body, COSIG0);
    assert_int_equal(post(f, &r, REQ1), 200);
    assert_string_equal(r.body, COSIG1);
    /* A rollback to the older checkpoint is refused with the stored size. */
    assert_int_equal(post(f, &r, REQ0), 409);
    assert_string_equal(r.ctype, "text/x.tlog.size");
    assert_string_equal(r.body, "300\n");
    http(f, &r, "GET", "/" ORIGIN_HEX "/checkpoint", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, CP300 COSIG1);
    stop(f);

    /* Restart: the state is what was acknowledged. */
    start(f, "a", "");
    assert_int_equal(post(f, &r, REQ1), 409);
    assert_string_equal(r.body, "300\n");
    assert_int_equal(post(f, &r, "old 300\n\n" CP300), 200);
    assert_string_equal(r.body, COSIG1);
    http(f, &r, "GET", "/metrics", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "treatylog_witness_add_checkpoint_total{code=\"409\"} 1\n"));
    assert_non_null(strstr(r.body, "treatylog_witness_cosignatures_total 1\n"));
    assert_non_null(strstr(r.body, "treatylog_witness_healthy 1\n"));
    stop(f);
}

typedef struct poster {
    const fixture *f;
    const char *body;
    long status;
} poster;

static void *post_thread(void *arg)
{
    poster *p = arg;
    reply *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    char url[512];
    snprintf(url, sizeof url, "%s/add-checkpoint", p->f->base);
    CURL *c = curl_easy_init();
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
        r->len = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
        curl_easy_cleanup(c);
    }
    free(r);
    return NULL;
}

/* c2sp-formats.md §7.5: concurrent requests for one origin cannot roll the state back. From
 * 256, half the threads advance to 300 and half re-cosign 256: exactly one advance wins, and
 * the state ends at 300 whatever the interleaving. */
static void test_concurrent_no_rollback(void **state)
{
    fixture *f = *state;
    reply r;
    start(f, "b", "");
    assert_int_equal(post(f, &r, REQ0), 200);
    enum { N = 24 };
    pthread_t t[N];
    poster p[N];
    for (int i = 0; i < N; i++) {
        p[i] = (poster){.f = f, .body = i % 2 ? REQ1 : "old 256\n\n" CP256};
        assert_int_equal(pthread_create(&t[i], NULL, post_thread, &p[i]), 0);
    }
    int advanced = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_true(p[i].status == 200 || p[i].status == 409);
        if (i % 2 && p[i].status == 200)
            advanced++;
    }
    assert_int_equal(advanced, 1);
    http(f, &r, "GET", "/" ORIGIN_HEX "/checkpoint", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, CP300 COSIG1);
    stop(f);
}

static void test_prefix_and_errors(void **state)
{
    fixture *f = *state;
    reply r;
    start(f, "c", "/w");
    assert_int_equal(post(f, &r, REQ0), 404); /* not under the prefix */
    http(f, &r, "POST", "/w/add-checkpoint", REQ0, strlen(REQ0));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, COSIG0);
    http(f, &r, "GET", "/w/" ORIGIN_HEX "/checkpoint", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, CP256 COSIG0);
    http(f, &r, "GET", "/w/add-checkpoint", NULL, 0);
    assert_int_equal(r.status, 405);
    http(f, &r, "POST", "/w/" ORIGIN_HEX "/checkpoint", "x", 1);
    assert_int_equal(r.status, 405);
    http(f, &r, "POST", "/metrics", "x", 1);
    assert_int_equal(r.status, 405);
    char upper[] = "/w/" ORIGIN_HEX "/checkpoint";
    upper[3] = 'A';
    http(f, &r, "GET", upper, NULL, 0);
    assert_int_equal(r.status, 404);
    http(f, &r, "GET", "/w/" ORIGIN_HEX "/checkpoints", NULL, 0);
    assert_int_equal(r.status, 404);
    http(f, &r, "GET",
         "/w/0000000000000000000000000000000000000000000000000000000000000000/"
         "checkpoint",
         NULL, 0);
    assert_int_equal(r.status, 404);
    http(f, &r, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "treatylog: ok 1 logs\n");
    /* Over the body cap: 413, and the server goes on. */
    size_t big = TL_WITNESS_BODY_MAX + 1;
    char *b = malloc(big + 1);
    assert_non_null(b);
    memset(b, 'x', big);
    b[big] = '\0';
    http(f, &r, "POST", "/w/add-checkpoint", b, big);
    assert_int_equal(r.status, 413);
    free(b);
    http(f, &r, "POST", "/w/add-checkpoint", "", 0);
    assert_int_equal(r.status, 400);
    http(f, &r, "POST", "/w/add-checkpoint", REQ1, strlen(REQ1));
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, COSIG1);
    stop(f);
}

static void test_refuses_foreign_state(void **state)
{
    fixture *f = *state;
    reply r;
    start(f, "d", "");
    assert_int_equal(post(f, &r, REQ0), 200);
    stop(f);
    /* A record that no longer carries this witness's cosignature: refuse to start. */
    char path[512];
    snprintf(path, sizeof path, "%s/d/cosigned/%s", f->dir, ORIGIN_HEX);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(CP256, fp);
    fclose(fp);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/d", f->dir);
    tl_witness_server_config c;
    tl_witness_server_config_default(&c);
    c.dir = dir;
    c.listen = "127.0.0.1:0";
    c.key = &f->key;
    c.logs = f->logs;
    tl_witness_server *s = NULL;
    tl_diag d = {{0}};
    assert_int_equal(tl_witness_server_start(&s, &c, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "refusing to start"));
    /* A 0x01 key is no witness key. */
    tl_skey lk;
    uint8_t seed[TL_SEED_LEN] = {3};
    assert_int_equal(tl_skey_from_seed(&lk, "x", 1, TL_KEY_ED25519, seed, NULL), TL_OK);
    c.key = &lk;
    assert_int_equal(tl_witness_server_start(&s, &c, &d), TL_ERR_USAGE);
    c.key = &f->key;
    c.prefix = "/trailing/";
    assert_int_equal(tl_witness_server_start(&s, &c, &d), TL_ERR_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_durable),
        cmocka_unit_test(test_concurrent_no_rollback),
        cmocka_unit_test(test_prefix_and_errors),
        cmocka_unit_test(test_refuses_foreign_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
