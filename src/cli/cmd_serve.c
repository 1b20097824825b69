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
#include "treatylog/clock.h"
#include "../net/findings.h"

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
    S_RULESET,
    S_COUNT
};
_Static_assert(S_COUNT == CLI_SERVE_SETTINGS, "cli.h: CLI_SERVE_SETTINGS");

/* A numeric setting into an unsigned. */
static tl_err number(const cli_setting *s, unsigned *out, unsigned min, unsigned max, tl_diag *d)
{
    uint64_t v = *out;
    tl_err e = cli_setting_u64(s, &v, min, max, d);
    if (e == TL_OK)
        *out = (unsigned)v;
    return e;
}

/* Everything a running `serve` holds (cli.h: cli_serve). */
struct cli_serve {
    tl_seq *seq;
    tl_server *srv;
    tl_gather *gather;
    tl_schemas *schemas;
    tl_treaty *treaty;
    tl_policy *policy, *reg_policy;
    tl_webstatic *web;
    cli_ruleset rs;
    tl_live_findings *findings;
    tl_vkey logkey;
    FILE *alog;
    char url[128];
    uint64_t size;
};

void cli_serve_settings(cli_setting set[CLI_SERVE_SETTINGS])
{
    static const char *const names[S_COUNT] = {
        [S_DIR] = "dir",
        [S_LISTEN] = "listen",
        [S_BATCH_MS] = "batch-ms",
        [S_MAX_BATCH] = "max-batch",
        [S_MAX_BODY] = "max-body",
        [S_MAX_CONN] = "max-connections",
        [S_JOURNAL_LIMIT] = "journal-limit",
        [S_WAIT_TIMEOUT] = "wait-timeout-ms",
        [S_CONN_TIMEOUT] = "conn-timeout",
        [S_THREADS] = "threads",
        [S_ACCESS_LOG] = "access-log",
        [S_WITNESS_POLICY] = "witness-policy",
        [S_WITNESS_INTERVAL] = "witness-interval-ms",
        [S_WITNESS_TIMEOUT] = "witness-timeout-ms",
        [S_SCHEMAS] = "schemas",
        [S_WEB] = "web",
        [S_RULESET] = "ruleset",
    };
    for (size_t i = 0; i < S_COUNT; i++)
        set[i] = (cli_setting){names[i], NULL};
}

void cli_serve_close(cli_serve *rt)
{
    if (!rt)
        return;
    tl_server_quiesce(rt->srv);
    tl_gather_stop(rt->gather);
    tl_seq_stop(rt->seq);    /* answers every waiter, publishes, joins its threads */
    tl_server_stop(rt->srv); /* in-flight requests finish; reads still work until here */
    tl_seq_close(rt->seq);
    tl_live_findings_free(rt->findings);
    cli_ruleset_free(&rt->rs);
    tl_treaty_close(rt->treaty);
    tl_schemas_free(rt->schemas);
    free(rt->reg_policy);
    tl_webstatic_close(rt->web);
    free(rt->policy);
    if (rt->alog)
        fclose(rt->alog);
    free(rt);
}

const char *cli_serve_url(const cli_serve *rt)
{
    return rt->url;
}

tl_seq *cli_serve_seq(cli_serve *rt)
{
    return rt->seq;
}

struct tl_live_findings *cli_serve_findings(cli_serve *rt)
{
    return rt->findings;
}

tl_err cli_serve_open(cli_serve **out, cli_setting *set, const tl_clock *clock, tl_diag *d)
{
    tl_err e = set[S_DIR].value ? TL_OK
                                : tl_fail(d, TL_ERR_USAGE,
                                          "usage: treatylog serve --dir DIR [--listen ADDR] "
                                          "[--config FILE] (see docs/operations.md)");
    cli_serve *rt = calloc(1, sizeof *rt);
    if (!rt)
        return tl_fail(d, TL_ERR_NOMEM, "serve");
    tl_seq_config sc;
    tl_seq_config_default(&sc);
    tl_server_config hc;
    tl_server_config_default(&hc);
    unsigned max_body = (unsigned)hc.max_body;
    if (e == TL_OK)
        e = number(&set[S_BATCH_MS], &sc.batch_ms, 1, 60000, d);
    if (e == TL_OK)
        e = number(&set[S_MAX_BATCH], &sc.max_batch, 1, 1000000, d);
    if (e == TL_OK)
        e = number(&set[S_JOURNAL_LIMIT], &sc.journal_limit, 1, 100000000, d);
    if (e == TL_OK)
        e = number(&set[S_WAIT_TIMEOUT], &sc.wait_timeout_ms, 1, 3600000, d);
    if (e == TL_OK)
        e = number(&set[S_MAX_BODY], &max_body, 1, 65535, d);
    if (e == TL_OK)
        e = number(&set[S_MAX_CONN], &hc.max_connections, 1, 65536, d);
    if (e == TL_OK)
        e = number(&set[S_CONN_TIMEOUT], &hc.conn_timeout_s, 1, 3600, d);
    if (e == TL_OK)
        e = number(&set[S_THREADS], &hc.threads, 1, 256, d);
    hc.max_body = max_body;
    tl_gather_config gc = {.interval_ms = 5000, .timeout_ms = 5000};
    if (e == TL_OK)
        e = number(&set[S_WITNESS_INTERVAL], &gc.interval_ms, 10, 3600000, d);
    if (e == TL_OK)
        e = number(&set[S_WITNESS_TIMEOUT], &gc.timeout_ms, 10, 600000, d);
    if (e == TL_OK && set[S_WITNESS_POLICY].value)
        e = cli_load_policy(set[S_WITNESS_POLICY].value, NULL, &rt->policy, d);
    if (set[S_LISTEN].value)
        hc.listen = set[S_LISTEN].value;
    if (e == TL_OK)
        e = cli_open_access_log(set[S_ACCESS_LOG].value, &hc.access_log, &rt->alog, d);
    /* Treaty mode when the log starts with a registry (init --registry). */
    if (e == TL_OK && tl_treaty_is_treaty_log(set[S_DIR].value)) {
        e = cli_load_schemas(set[S_SCHEMAS].value, &rt->schemas, d);
        if (e == TL_OK)
            e = tl_treaty_open(&rt->treaty, set[S_DIR].value, rt->schemas, d);
        if (e == TL_OK) {
            tl_treaty_seq_config(rt->treaty, &sc);
            tl_treaty_set_clock(rt->treaty, clock);
        }
        if (e == TL_OK && !rt->policy) { /* witness times from the registry's policy */
            tl_registry *r = tl_treaty_registry(rt->treaty);
            rt->reg_policy = tl_policy_new();
            if (r && rt->reg_policy && r->witness_policy &&
                tl_policy_parse(rt->reg_policy, r->witness_policy, r->witness_policy_len,
                                NULL) != TL_OK) {
                free(rt->reg_policy);
                rt->reg_policy = NULL;
            }
            tl_registry_free(r);
        }
    }
    if (e == TL_OK && !rt->treaty && (set[S_RULESET].value || set[S_SCHEMAS].value))
        fprintf(stderr, "treatylog serve: warning: --ruleset and --schemas apply to treaty logs "
                        "(made with init --registry); this log is raw\n");
    /* The dashboard: --web DIR, else (treaty logs: it shows their notifications) the source
     * tree's web/dist if it was built. */
    if (e == TL_OK && (set[S_WEB].value || !rt->treaty ||
                       tl_webstatic_open(TL_WEB_DIR, &rt->web, NULL) != TL_OK)) {
        rt->web = NULL;
        if (set[S_WEB].value)
            e = tl_webstatic_open(set[S_WEB].value, &rt->web, d);
    }
    hc.web = rt->web;
    hc.treaty = rt->treaty;
    hc.policy = rt->policy ? rt->policy : rt->reg_policy;
    /* The rules: the ruleset the registry names (or --ruleset), findings kept current. */
    if (e == TL_OK && rt->treaty) {
        tl_registry *r = tl_treaty_registry(rt->treaty);
        tl_diag rd;
        char kp[4096];
        snprintf(kp, sizeof kp, "%s/.treatylog/log.vkey", set[S_DIR].value);
        tl_err re = cli_load_ruleset(set[S_RULESET].value, r, &rt->rs, &rd);
        if (re == TL_OK)
            re = cli_load_vkey(kp, &rt->logkey, &rd);
        if (re == TL_OK)
            re = tl_live_findings_new(&rt->findings, rt->rs.rs, rt->rs.name, rt->rs.sha256,
                                      rt->schemas, &rt->logkey, hc.policy, &rd);
        bool named = false;
        for (size_t i = 0; r && re == TL_OK && i < r->nrulesets; i++)
            named = named || memcmp(r->rulesets[i].sha256, rt->rs.sha256, 32) == 0;
        if (re == TL_OK && !named)
            fprintf(stderr,
                    "treatylog serve: warning: the registry does not name ruleset %s (by its "
                    "SHA-256): its findings' evidence files will not verify\n",
                    rt->rs.name);
        if (re == TL_OK) {
            tl_live_findings_hooks(rt->findings, rt->treaty, &sc);
            hc.findings = tl_live_findings_src(rt->findings);
        } else if (set[S_RULESET].value) {
            e = re;
            *d = rd;
        } else {
            fprintf(stderr, "treatylog serve: no findings: %s\n", rd.msg);
        }
        tl_registry_free(r);
    }
    if (e == TL_OK)
        e = tl_seq_open(&rt->seq, set[S_DIR].value, &sc, d);
    if (e == TL_OK && rt->treaty)
        tl_treaty_attach(rt->treaty, rt->seq);
    if (e == TL_OK && rt->findings)
        e = tl_live_findings_start(rt->findings, rt->seq, d);
    if (e == TL_OK && rt->policy) {
        bool listed = false;
        for (size_t i = 0; i < rt->policy->nlogs; i++)
            listed = listed || tl_vkey_equal(&rt->policy->logs[i].key, tl_seq_log_key(rt->seq));
        if (!listed)
            e = tl_fail(d, TL_ERR_USAGE,
                        "%s does not list this log's key (add a line: log <its .pub key>)",
                        set[S_WITNESS_POLICY].value);
        if (e == TL_OK)
            e = tl_gather_start(&rt->gather, rt->seq, rt->policy, &gc, d);
        hc.gather = rt->gather;
    }
    if (e == TL_OK)
        e = tl_server_start(&rt->srv, rt->seq, &hc, d);
    if (e != TL_OK) {
        cli_serve_close(rt);
        return e;
    }
    char *note = NULL;
    size_t nlen = 0;
    tl_diag cd;
    if (tl_seq_checkpoint(rt->seq, &note, &nlen, &rt->size, &cd) == TL_OK)
        free(note);
    const char *host = hc.listen;
    const char *colon = strrchr(host, ':');
    int hl = colon ? (int)(colon - host) : 0;
    if (hl == 0 || (hl == 1 && host[0] == '*')) {
        host = "127.0.0.1";
        hl = 9;
    }
    snprintf(rt->url, sizeof rt->url, "http://%.*s:%u", hl, host, tl_server_port(rt->srv));
    fprintf(stderr, "treatylog serve: %s log %s (size %llu) on %s%s\n",
            rt->treaty ? "treaty" : "raw", set[S_DIR].value, (unsigned long long)rt->size,
            rt->url, rt->web ? " (dashboard at /)" : "");
    *out = rt;
    return TL_OK;
}

void cli_block_signals(sigset_t *sigs)
{
    /* Signals are taken by sigwait, never by the server's threads. */
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cmd_serve(int argc, char **argv)
{
    cli_setting set[S_COUNT];
    cli_serve_settings(set);
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
    sigset_t sigs;
    cli_block_signals(&sigs);
    cli_serve *rt = NULL;
    if (e == TL_OK)
        e = cli_serve_open(&rt, set, NULL, &d);
    if (e != TL_OK) {
        free(cfgbuf);
        return cli_fail("serve", e, &d);
    }
    printf("%s\n", cli_serve_url(rt));
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "treatylog serve: %s: integrating what was accepted, then exiting\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    cli_serve_close(rt);
    free(cfgbuf);
    return 0;
}
