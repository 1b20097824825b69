/* cmd_serve.c - treatylog serve: the log as a durable HTTP service. Every setting is a flag and
 * a config-file key of the same name (docs/operations.md); flags win over the file. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treatylog/gather.h"
#include "treatylog/sequencer.h"
#include "treatylog/server.h"
#include "treatylog/text.h"
#include "treatylog/treaty.h"
#include "treatylog/webstatic.h"

#ifndef TL_WEB_DIR
#define TL_WEB_DIR "web/dist"
#endif

enum {
    S_DIR,
    S_LISTEN,
    S_BATCH_MS,
    S_MAX_BATCH,
    S_MAX_BODY,
    S_MAX_CONN,
    S_JOURNAL_LIMIT,
    S_WAIT_TIMEOUT,
    S_CONN_TIMEOUT,
    S_THREADS,
    S_ACCESS_LOG,
    S_WITNESS_POLICY,
    S_WITNESS_INTERVAL,
    S_WITNESS_TIMEOUT,
    S_SCHEMAS,
    S_WEB,
    S_COUNT
};

/* A numeric setting into an unsigned. */
static tl_err number(const cli_setting *s, unsigned *out, unsigned min, unsigned max, tl_diag *d)
{
    uint64_t v = *out;
    tl_err e = cli_setting_u64(s, &v, min, max, d);
    if (e == TL_OK)
        *out = (unsigned)v;
    return e;
}

int cmd_serve(int argc, char **argv)
{
    cli_setting set[S_COUNT] = {
        [S_DIR] = {"dir", NULL},
        [S_LISTEN] = {"listen", NULL},
        [S_BATCH_MS] = {"batch-ms", NULL},
        [S_MAX_BATCH] = {"max-batch", NULL},
        [S_MAX_BODY] = {"max-body", NULL},
        [S_MAX_CONN] = {"max-connections", NULL},
        [S_JOURNAL_LIMIT] = {"journal-limit", NULL},
        [S_WAIT_TIMEOUT] = {"wait-timeout-ms", NULL},
        [S_CONN_TIMEOUT] = {"conn-timeout", NULL},
        [S_THREADS] = {"threads", NULL},
        [S_ACCESS_LOG] = {"access-log", NULL},
        [S_WITNESS_POLICY] = {"witness-policy", NULL},
        [S_WITNESS_INTERVAL] = {"witness-interval-ms", NULL},
        [S_WITNESS_TIMEOUT] = {"witness-timeout-ms", NULL},
        [S_SCHEMAS] = {"schemas", NULL},
        [S_WEB] = {"web", NULL},
    };
    const char *config = NULL;
    cli_opt opts[S_COUNT + 1];
    for (size_t i = 0; i < S_COUNT; i++)
        opts[i] = (cli_opt){set[i].name, &set[i].value, NULL};
    opts[S_COUNT] = (cli_opt){"config", &config, NULL};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("serve", argc, argv, opts, S_COUNT + 1, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos == 1 && !set[S_DIR].value)
        set[S_DIR].value = pos[0];
    tl_diag d = {{0}};
    char *cfgbuf = NULL;
    tl_err e = config ? cli_read_settings(config, set, S_COUNT, NULL, NULL, NULL, &cfgbuf, &d)
                      : TL_OK;
    if (e == TL_OK && !set[S_DIR].value)
        e = tl_fail(&d, TL_ERR_USAGE, "usage: treatylog serve --dir DIR [--listen ADDR] "
                                      "[--config FILE] (see docs/operations.md)");
    tl_seq_config sc;
    tl_seq_config_default(&sc);
    tl_server_config hc;
    tl_server_config_default(&hc);
    unsigned max_body = (unsigned)hc.max_body;
    if (e == TL_OK)
        e = number(&set[S_BATCH_MS], &sc.batch_ms, 1, 60000, &d);
    if (e == TL_OK)
        e = number(&set[S_MAX_BATCH], &sc.max_batch, 1, 1000000, &d);
    if (e == TL_OK)
        e = number(&set[S_JOURNAL_LIMIT], &sc.journal_limit, 1, 100000000, &d);
    if (e == TL_OK)
        e = number(&set[S_WAIT_TIMEOUT], &sc.wait_timeout_ms, 1, 3600000, &d);
    if (e == TL_OK)
        e = number(&set[S_MAX_BODY], &max_body, 1, 65535, &d);
    if (e == TL_OK)
        e = number(&set[S_MAX_CONN], &hc.max_connections, 1, 65536, &d);
    if (e == TL_OK)
        e = number(&set[S_CONN_TIMEOUT], &hc.conn_timeout_s, 1, 3600, &d);
    if (e == TL_OK)
        e = number(&set[S_THREADS], &hc.threads, 1, 256, &d);
    hc.max_body = max_body;
    tl_gather_config gc = {.interval_ms = 5000, .timeout_ms = 5000};
    if (e == TL_OK)
        e = number(&set[S_WITNESS_INTERVAL], &gc.interval_ms, 10, 3600000, &d);
    if (e == TL_OK)
        e = number(&set[S_WITNESS_TIMEOUT], &gc.timeout_ms, 10, 600000, &d);
    tl_policy *policy = NULL;
    if (e == TL_OK && set[S_WITNESS_POLICY].value)
        e = cli_load_policy(set[S_WITNESS_POLICY].value, NULL, &policy, &d);
    if (set[S_LISTEN].value)
        hc.listen = set[S_LISTEN].value;
    FILE *alog = NULL;
    if (e == TL_OK)
        e = cli_open_access_log(set[S_ACCESS_LOG].value, &hc.access_log, &alog, &d);
    if (e != TL_OK) {
        free(cfgbuf);
        free(policy);
        return cli_fail("serve", e, &d);
    }
    /* Signals are taken by sigwait below, never by the server's threads. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    tl_seq *seq = NULL;
    tl_server *srv = NULL;
    tl_gather *gather = NULL;
    tl_schemas *schemas = NULL;
    tl_treaty *treaty = NULL;
    tl_policy *reg_policy = NULL;
    tl_webstatic *web = NULL;
    /* Treaty mode when the log starts with a registry (init --registry). */
    if (tl_treaty_is_treaty_log(set[S_DIR].value)) {
        e = cli_load_schemas(set[S_SCHEMAS].value, &schemas, &d);
        if (e == TL_OK)
            e = tl_treaty_open(&treaty, set[S_DIR].value, schemas, &d);
        if (e == TL_OK)
            tl_treaty_seq_config(treaty, &sc);
        if (e == TL_OK && !policy) { /* witness times from the registry's policy */
            tl_registry *r = tl_treaty_registry(treaty);
            reg_policy = tl_policy_new();
            if (r && reg_policy && r->witness_policy &&
                tl_policy_parse(reg_policy, r->witness_policy, r->witness_policy_len, NULL) !=
                    TL_OK) {
                free(reg_policy);
                reg_policy = NULL;
            }
            tl_registry_free(r);
        }
    }
    /* The dashboard: --web DIR, else the source tree's web/dist if it was built. */
    if (e == TL_OK && (set[S_WEB].value || tl_webstatic_open(TL_WEB_DIR, &web, NULL) != TL_OK)) {
        web = NULL;
        if (set[S_WEB].value)
            e = tl_webstatic_open(set[S_WEB].value, &web, &d);
    }
    hc.web = web;
    hc.treaty = treaty;
    hc.policy = policy ? policy : reg_policy;
    if (e == TL_OK)
        e = tl_seq_open(&seq, set[S_DIR].value, &sc, &d);
    if (e == TL_OK && treaty)
        tl_treaty_attach(treaty, seq);
    if (e == TL_OK && policy) {
        bool listed = false;
        for (size_t i = 0; i < policy->nlogs; i++)
            listed = listed || tl_vkey_equal(&policy->logs[i].key, tl_seq_log_key(seq));
        if (!listed)
            e = tl_fail(&d, TL_ERR_USAGE,
                        "%s does not list this log's key (add a line: log <its .pub key>)",
                        set[S_WITNESS_POLICY].value);
        if (e == TL_OK)
            e = tl_gather_start(&gather, seq, policy, &gc, &d);
        hc.gather = gather;
    }
    if (e == TL_OK)
        e = tl_server_start(&srv, seq, &hc, &d);
    if (e != TL_OK) {
        tl_gather_stop(gather);
        free(policy);
        tl_seq_close(seq);
        tl_treaty_close(treaty);
        tl_schemas_free(schemas);
        free(reg_policy);
        tl_webstatic_close(web);
        if (alog)
            fclose(alog);
        free(cfgbuf);
        return cli_fail("serve", e, &d);
    }
    char *note = NULL;
    size_t nlen = 0;
    uint64_t size = 0;
    if (tl_seq_checkpoint(seq, &note, &nlen, &size, &d) == TL_OK)
        free(note);
    const char *host = hc.listen;
    const char *colon = strrchr(host, ':');
    int hl = colon ? (int)(colon - host) : 0;
    if (hl == 0 || (hl == 1 && host[0] == '*')) {
        host = "127.0.0.1";
        hl = 9;
    }
    printf("http://%.*s:%u\n", hl, host, tl_server_port(srv));
    fflush(stdout);
    fprintf(stderr, "treatylog serve: %s log %s (size %llu) on http://%.*s:%u%s\n",
            treaty ? "treaty" : "raw", set[S_DIR].value, (unsigned long long)size, hl, host,
            tl_server_port(srv), web ? " (dashboard at /)" : "");
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "treatylog serve: %s: integrating what was accepted, then exiting\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    tl_server_quiesce(srv);
    tl_gather_stop(gather);
    tl_seq_stop(seq);      /* answers every waiter, publishes, joins its threads */
    tl_server_stop(srv);   /* in-flight requests finish; reads still work until here */
    tl_seq_close(seq);
    tl_treaty_close(treaty);
    tl_schemas_free(schemas);
    free(reg_policy);
    tl_webstatic_close(web);
    free(policy);
    if (alog)
        fclose(alog);
    free(cfgbuf);
    return 0;
}
