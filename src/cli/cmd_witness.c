/* cmd_witness.c - treatylog witness serve: a C2SP tlog-witness v1.0.0 witness over HTTP
 * (docs/witness.md). Every setting is a flag and a config-file key of the same name, as for
 * treatylog serve; flags win over the file, except `log`, which both add to (repeatable). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "treatylog/text.h"
#include "treatylog/witness.h"
#include "treatylog/witness_server.h"

#define USAGE                                                                                      \
    "usage: treatylog witness serve --dir STATE --key KEY --log ORIGIN=VKEY [--log ...]\n"         \
    "         [--listen ADDR] [--prefix /PATH] [--config FILE] [--SETTING VALUE...]\n"             \
    "       (settings: docs/witness.md)"

enum {
    S_DIR,
    S_LISTEN,
    S_KEY,
    S_PREFIX,
    S_MAX_CONN,
    S_CONN_TIMEOUT,
    S_ACCESS_LOG,
    S_FIXED_TIME,
    S_COUNT
};

/* The --log / `log` values: ORIGIN=VKEY, in order. */
typedef struct loglist {
    const char **v;
    size_t n, cap;
} loglist;

static bool loglist_add(loglist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        const char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

static bool on_log_line(void *ctx, const char *v)
{
    return loglist_add(ctx, v);
}

static tl_err number(const cli_setting *s, uint64_t *out, uint64_t min, uint64_t max,
                     tl_diag *d)
{
    return cli_setting_u64(s, out, min, max, d);
}

/* Adds ORIGIN=VKEY (VKEY: key text or a file holding it). */
static tl_err add_log(tl_witness_logs *logs, const char *arg, tl_diag *d)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || eq[1] == '\0')
        return tl_fail(d, TL_ERR_USAGE, "--log '%s': want ORIGIN=VKEY", arg);
    tl_vkey k;
    tl_err e = cli_load_vkey(eq + 1, &k, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "--log %.*s", (int)(eq - arg), arg);
    e = tl_witness_logs_add(logs, arg, (size_t)(eq - arg), &k, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "--log %.*s", (int)(eq - arg), arg);
    return TL_OK;
}

static int serve(int argc, char **argv)
{
    cli_setting set[S_COUNT] = {
        [S_DIR] = {"dir", NULL},
        [S_LISTEN] = {"listen", NULL},
        [S_KEY] = {"key", NULL},
        [S_PREFIX] = {"prefix", NULL},
        [S_MAX_CONN] = {"max-connections", NULL},
        [S_CONN_TIMEOUT] = {"conn-timeout", NULL},
        [S_ACCESS_LOG] = {"access-log", NULL},
        [S_FIXED_TIME] = {"fixed-time", NULL},
    };
    /* --log repeats, which cli_parse does not do: take those pairs out first. */
    loglist logs = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return cli_usage("witness", "out of memory");
    int nrest = 0;
    bool ddash = false;
    for (int i = 0; i < argc; i++) {
        ddash = ddash || strcmp(argv[i], "--") == 0;
        if (!ddash && i > 0 && strcmp(argv[i], "--log") == 0) {
            if (i + 1 >= argc) {
                free(rest);
                free(logs.v);
                return cli_usage("witness", "option --log needs a value");
            }
            if (!loglist_add(&logs, argv[++i])) {
                free(rest);
                free(logs.v);
                return cli_usage("witness", "out of memory");
            }
            continue;
        }
        rest[nrest++] = argv[i];
    }
    const char *config = NULL;
    cli_opt opts[S_COUNT + 1];
    for (size_t i = 0; i < S_COUNT; i++)
        opts[i] = (cli_opt){set[i].name, &set[i].value, NULL};
    opts[S_COUNT] = (cli_opt){"config", &config, NULL};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("witness", nrest, rest, opts, S_COUNT + 1, pos, 0, &npos);
    free(rest);
    if (rc) {
        free(logs.v);
        return rc;
    }

    tl_diag d = {{0}};
    char *cfgbuf = NULL;
    tl_err e = config ? cli_read_settings(config, set, S_COUNT, "log", on_log_line, &logs,
                                          &cfgbuf, &d)
                      : TL_OK;
    if (e == TL_OK && (!set[S_DIR].value || !set[S_KEY].value || logs.n == 0))
        e = tl_fail(&d, TL_ERR_USAGE, "need --dir, --key and at least one --log\n%s", USAGE);
    tl_witness_server_config wc;
    tl_witness_server_config_default(&wc);
    uint64_t max_conn = wc.max_connections, conn_timeout = wc.conn_timeout_s, fixed = 0;
    if (e == TL_OK)
        e = number(&set[S_MAX_CONN], &max_conn, 1, 65536, &d);
    if (e == TL_OK)
        e = number(&set[S_CONN_TIMEOUT], &conn_timeout, 1, 3600, &d);
    if (e == TL_OK)
        e = number(&set[S_FIXED_TIME], &fixed, 1, (uint64_t)INT64_MAX, &d);
    tl_skey key;
    bool have_key = false;
    if (e == TL_OK) {
        e = cli_load_skey(set[S_KEY].value, TL_KEY_COSIG_V1, &key, &d);
        have_key = e == TL_OK;
    }
    tl_witness_logs *wl = tl_witness_logs_new();
    if (!wl && e == TL_OK)
        e = tl_fail(&d, TL_ERR_NOMEM, "logs");
    for (size_t i = 0; e == TL_OK && i < logs.n; i++)
        e = add_log(wl, logs.v[i], &d);
    FILE *alog = NULL;
    if (e == TL_OK)
        e = cli_open_access_log(set[S_ACCESS_LOG].value, &wc.access_log, &alog, &d);
    free(logs.v);
    if (e != TL_OK) {
        if (have_key)
            tl_skey_wipe(&key);
        tl_witness_logs_free(wl);
        free(cfgbuf);
        return cli_fail("witness", e, &d);
    }
    wc.dir = set[S_DIR].value;
    if (set[S_LISTEN].value)
        wc.listen = set[S_LISTEN].value;
    if (set[S_PREFIX].value)
        wc.prefix = set[S_PREFIX].value;
    wc.key = &key;
    wc.logs = wl;
    wc.max_connections = (unsigned)max_conn;
    wc.conn_timeout_s = (unsigned)conn_timeout;
    wc.fixed_time = fixed;
    wc.alarm_log = stderr;

    /* Signals are taken by sigwait below, never by the server's threads. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    tl_witness_server *srv = NULL;
    e = tl_witness_server_start(&srv, &wc, &d);
    char vkey[TL_VKEY_TEXT_MAX];
    tl_vkey_format(vkey, &key.vkey);
    tl_skey_wipe(&key); /* the server keeps its own copy */
    if (e != TL_OK) {
        tl_witness_logs_free(wl);
        if (alog)
            fclose(alog);
        free(cfgbuf);
        return cli_fail("witness", e, &d);
    }
    const char *host = wc.listen;
    const char *colon = strrchr(host, ':');
    int hl = colon ? (int)(colon - host) : 0;
    if (hl == 0 || (hl == 1 && host[0] == '*')) {
        host = "127.0.0.1";
        hl = 9;
    }
    printf("http://%.*s:%u%s\n", hl, host, tl_witness_server_port(srv), wc.prefix);
    fflush(stdout);
    fprintf(stderr, "treatylog witness: %s witnessing %zu log(s) on http://%.*s:%u%s, state %s\n",
            vkey, tl_witness_logs_count(wl), hl, host, tl_witness_server_port(srv), wc.prefix,
            wc.dir);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "treatylog witness: %s: finishing in-flight requests, then exiting\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    tl_witness_server_quiesce(srv);
    tl_witness_server_stop(srv);
    tl_witness_logs_free(wl);
    if (alog)
        fclose(alog);
    free(cfgbuf);
    return 0;
}

int cmd_witness(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 1, argv + 1);
    return cli_usage("witness", "%s", USAGE);
}
