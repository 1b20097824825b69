/* webstatic_test.c - static dashboard files under one root (webstatic.c): index and assets,
 * content types, SPA fallback, and every way out of the root refused ("..", ".", hidden
 * names, backslashes, symlinks to outside and inside, directories, FIFOs, API paths). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/webstatic.h"

static char base[256]; /* tmp dir: base/root is the web root, base/secret.txt is outside */
static char root[300];

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void sub(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/webstatic_test.XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(root, sizeof root, "%s/root", base);
    sub("root");
    sub("root/assets");
    sub("root/.hidden");
    put("root/index.html", "<!doctype html><title>t</title>");
    put("root/assets/app.js", "console.log(1)");
    put("root/assets/app.css", "body{}");
    put("root/assets/logo.svg", "<svg/>");
    put("root/assets/app.js.map", "{}");
    put("root/data.json", "[]");
    put("root/notes.exe", "MZ");
    put("root/.env", "SECRET=1");
    put("root/.hidden/x.js", "1");
    put("secret.txt", "outside");
    char p[512], t[512];
    snprintf(p, sizeof p, "%s/assets/out.txt", root);
    snprintf(t, sizeof t, "%s/secret.txt", base);
    assert_int_equal(symlink(t, p), 0);
    snprintf(p, sizeof p, "%s/assets/in.js", root);
    assert_int_equal(symlink("app.js", p), 0);
    snprintf(p, sizeof p, "%s/up", root);
    assert_int_equal(symlink("..", p), 0);
    snprintf(p, sizeof p, "%s/assets/fifo.js", root);
    assert_int_equal(mkfifo(p, 0644), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static tl_webstatic *open_root(void)
{
    tl_webstatic *w = NULL;
    tl_diag d;
    assert_int_equal(tl_webstatic_open(root, &w, &d), TL_OK);
    return w;
}

/* Reads a path and checks the bytes and type; returns the info. */
static tl_webstatic_file want(tl_webstatic *w, const char *path, const char *body, const char *type)
{
    uint8_t *b = NULL;
    size_t n = 0;
    tl_webstatic_file f;
    tl_diag d = {{0}};
    tl_err e = tl_webstatic_read(w, path, &b, &n, &f, &d);
    if (e != TL_OK)
        fail_msg("%s: %s", path, d.msg);
    assert_int_equal(n, strlen(body));
    assert_memory_equal(b, body, n);
    assert_string_equal(f.content_type, type);
    assert_int_equal(f.size, n);
    free(b);
    return f;
}

static void refused(tl_webstatic *w, const char *path, tl_err want_e)
{
    tl_webstatic_file f;
    tl_diag d = {{0}};
    tl_err e = tl_webstatic_get(w, path, &f, &d);
    if (e != want_e)
        fail_msg("%s: got %d (%s), want %d", path, e, d.msg, want_e);
    assert_int_equal(f.fd, -1);
}

static void test_serves_files(void **state)
{
    (void)state;
    tl_webstatic *w = open_root();
    tl_webstatic_file f =
        want(w, "/", "<!doctype html><title>t</title>", "text/html; charset=utf-8");
    assert_false(f.fallback);
    assert_false(f.immutable);
    want(w, "/index.html", "<!doctype html><title>t</title>", "text/html; charset=utf-8");
    f = want(w, "/assets/app.js", "console.log(1)", "text/javascript; charset=utf-8");
    assert_true(f.immutable);
    want(w, "/assets/app.css", "body{}", "text/css; charset=utf-8");
    want(w, "/assets/logo.svg", "<svg/>", "image/svg+xml");
    want(w, "/assets/app.js.map", "{}", "application/json");
    f = want(w, "/data.json", "[]", "application/json");
    assert_false(f.immutable);
    /* The query string and fragment are not part of the path. */
    want(w, "/assets/app.js?v=2", "console.log(1)", "text/javascript; charset=utf-8");
    want(w, "/?x=1", "<!doctype html><title>t</title>", "text/html; charset=utf-8");
    tl_webstatic_close(w);
}

static void test_fd_interface(void **state)
{
    (void)state;
    tl_webstatic *w = open_root();
    tl_webstatic_file f;
    tl_diag d;
    assert_int_equal(tl_webstatic_get(w, "/assets/app.css", &f, &d), TL_OK);
    assert_true(f.fd >= 0);
    char b[16] = {0};
    assert_int_equal(read(f.fd, b, sizeof b), 6);
    assert_string_equal(b, "body{}");
    close(f.fd);
    tl_webstatic_close(w);
}

static void test_spa_fallback(void **state)
{
    (void)state;
    tl_webstatic *w = open_root();
    tl_webstatic_file f =
        want(w, "/findings", "<!doctype html><title>t</title>", "text/html; charset=utf-8");
    assert_true(f.fallback);
    f = want(w, "/findings/vd11.x/3", "<!doctype html><title>t</title>",
             "text/html; charset=utf-8");
    assert_true(f.fallback);
    /* A missing asset is a 404, never the page. */
    refused(w, "/assets/missing.js", TL_ERR_NOTFOUND);
    refused(w, "/missing.png", TL_ERR_NOTFOUND);
    /* API paths never fall back. */
    refused(w, "/v1/nothing", TL_ERR_NOTFOUND);
    refused(w, "/v1", TL_ERR_NOTFOUND);
    refused(w, "/tile/0/x", TL_ERR_NOTFOUND);
    refused(w, "/checkpoint", TL_ERR_NOTFOUND);
    refused(w, "/add", TL_ERR_NOTFOUND);
    refused(w, "/healthz", TL_ERR_NOTFOUND);
    refused(w, "/metrics", TL_ERR_NOTFOUND);
    assert_true(tl_webstatic_is_api_path("/v1/entries"));
    assert_true(tl_webstatic_is_api_path("/checkpoint"));
    assert_false(tl_webstatic_is_api_path("/v1x"));
    assert_false(tl_webstatic_is_api_path("/addresses"));
    assert_false(tl_webstatic_is_api_path("/"));
    tl_webstatic_close(w);
}

static void test_refuses_escapes(void **state)
{
    (void)state;
    tl_webstatic *w = open_root();
    refused(w, "/../secret.txt", TL_ERR_FORMAT);
    refused(w, "/assets/../../secret.txt", TL_ERR_FORMAT);
    refused(w, "/assets/../index.html", TL_ERR_FORMAT);
    refused(w, "/./index.html", TL_ERR_FORMAT);
    refused(w, "/..", TL_ERR_FORMAT);
    refused(w, "//etc/passwd", TL_ERR_FORMAT);
    refused(w, "/assets//app.js", TL_ERR_FORMAT);
    refused(w, "/.env", TL_ERR_FORMAT);
    refused(w, "/.hidden/x.js", TL_ERR_FORMAT);
    refused(w, "/assets\\..\\..\\secret.txt", TL_ERR_FORMAT);
    refused(w, "/assets/a\nb.js", TL_ERR_FORMAT);
    refused(w, "index.html", TL_ERR_FORMAT);
    refused(w, "", TL_ERR_FORMAT);
    /* Symlinks are never followed: not out of the root, not inside it either. */
    refused(w, "/assets/out.txt", TL_ERR_NOTFOUND);
    refused(w, "/assets/in.js", TL_ERR_NOTFOUND);
    refused(w, "/up/secret.txt", TL_ERR_NOTFOUND);
    refused(w, "/up/root/index.html", TL_ERR_NOTFOUND);
    /* Only regular files of the known types. */
    refused(w, "/assets/fifo.js", TL_ERR_NOTFOUND);
    refused(w, "/assets/", TL_ERR_NOTFOUND);
    refused(w, "/notes.exe", TL_ERR_NOTFOUND);
    refused(w, "/index.html/x.js", TL_ERR_NOTFOUND);
    /* Too long, too deep. */
    char longp[1200];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    refused(w, longp, TL_ERR_FORMAT);
    refused(w, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r.js", TL_ERR_FORMAT);
    tl_webstatic_close(w);
}

static void test_content_types_and_open(void **state)
{
    (void)state;
    assert_string_equal(tl_webstatic_content_type("a.png"), "image/png");
    assert_string_equal(tl_webstatic_content_type("x/y/a.mjs"), "text/javascript; charset=utf-8");
    assert_null(tl_webstatic_content_type("a.exe"));
    assert_null(tl_webstatic_content_type("Makefile"));
    assert_null(tl_webstatic_content_type(".js"));
    tl_webstatic *w = NULL;
    tl_diag d;
    assert_int_equal(tl_webstatic_open("/nonexistent/web", &w, &d), TL_ERR_IO);
    assert_null(w);
    char p[512];
    snprintf(p, sizeof p, "%s/index.html", root);
    assert_int_equal(tl_webstatic_open(p, &w, &d), TL_ERR_IO);
    assert_int_equal(tl_webstatic_open("", &w, &d), TL_ERR_USAGE);
    tl_webstatic_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_files),           cmocka_unit_test(test_fd_interface),
        cmocka_unit_test(test_spa_fallback),           cmocka_unit_test(test_refuses_escapes),
        cmocka_unit_test(test_content_types_and_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
