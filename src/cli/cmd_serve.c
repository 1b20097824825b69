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

typedef struct setting {
    const char *name;
    const char *value; /* from a flag or the config file */
    const char *help;
} setting;

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
    S_COUNT
};

/* Reads "key value" lines (# comments, blank lines) into settings not set by flags. The
 * values point into *buf, which the caller frees. */
static tl_err read_config(const char *path, setting *set, char **buf, tl_diag *d)
{
    uint8_t *b = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, 1 << 20, &b, &len, d);
    if (e != TL_OK)
        return e;
    *buf = (char *)b;
    char *p = (char *)b;
    size_t lineno = 0;
    while (*p) {
        lineno++;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *k = p;
        while (*k == ' ' || *k == '\t')
            k++;
        p = nl ? nl + 1 : p + strlen(p);
        if (*k == '\0' || *k == '#')
            continue;
        char *v = k;
        while (*v && *v != ' ' && *v != '\t')
            v++;
        if (*v)
            *v++ = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        char *end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        size_t i = 0;
        while (i < S_COUNT && strcmp(set[i].name, k) != 0)
            i++;
        if (i == S_COUNT)
            return tl_fail(d, TL_ERR_USAGE, "%s line %zu: unknown setting '%s'", path, lineno, k);
        if (*v == '\0')
            return tl_fail(d, TL_ERR_USAGE, "%s line %zu: '%s' needs a value", path, lineno, k);
        if (!set[i].value)
            set[i].value = v;
    }
    return TL_OK;
}

static tl_err number(const setting *s, unsigned *out, unsigned min, unsigned max, tl_diag *d)
{
    if (!s->value)
        return TL_OK;
    uint64_t v = 0;
    if (tl_parse_u64(&v, s->value, strlen(s->value)) != TL_OK || v < min || v > max)
        return tl_fail(d, TL_ERR_USAGE, "%s must be a number from %u to %u (got '%s')", s->name,
                       min, max, s->value);
    *out = (unsigned)v;
    return TL_OK;
}

int cmd_serve(int argc, char **argv)
{
    setting set[S_COUNT] = {
        [S_DIR] = {"dir", NULL, "log directory"},
        [S_LISTEN] = {"listen", NULL, "HOST:PORT"},
        [S_BATCH_MS] = {"batch-ms", NULL, "integration interval"},
        [S_MAX_BATCH] = {"max-batch", NULL, "entries per batch"},
        [S_MAX_BODY] = {"max-body", NULL, "largest POST body"},
        [S_MAX_CONN] = {"max-connections", NULL, "concurrent connections"},
        [S_JOURNAL_LIMIT] = {"journal-limit", NULL, "accepted, unintegrated entries"},
        [S_WAIT_TIMEOUT] = {"wait-timeout-ms", NULL, "how long /add waits"},
        [S_CONN_TIMEOUT] = {"conn-timeout", NULL, "idle connection timeout, s"},
        [S_THREADS] = {"threads", NULL, "HTTP threads"},
        [S_ACCESS_LOG] = {"access-log", NULL, "file, or - for stderr"},
        [S_WITNESS_POLICY] = {"witness-policy", NULL, "tlog-policy file: witnesses, quorum"},
        [S_WITNESS_INTERVAL] = {"witness-interval-ms", NULL, "re-ask witnesses this often"},
        [S_WITNESS_TIMEOUT] = {"witness-timeout-ms", NULL, "per witness request"},
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
    tl_err e = config ? read_config(config, set, &cfgbuf, &d) : TL_OK;
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
    if (e == TL_OK && set[S_ACCESS_LOG].value) {
        if (strcmp(set[S_ACCESS_LOG].value, "-") == 0) {
            hc.access_log = stderr;
        } else {
            alog = fopen(set[S_ACCESS_LOG].value, "a");
            if (!alog)
                e = tl_fail(&d, TL_ERR_IO, "access log %s: %s", set[S_ACCESS_LOG].value,
                            strerror(errno));
            hc.access_log = alog;
        }
    }
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
    e = tl_seq_open(&seq, set[S_DIR].value, &sc, &d);
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
    fprintf(stderr, "treatylog serve: log %s (size %llu) on http://%.*s:%u\n", set[S_DIR].value,
            (unsigned long long)size, hl, host, tl_server_port(srv));
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "treatylog serve: %s: integrating what was accepted, then exiting\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    tl_server_quiesce(srv);
    tl_gather_stop(gather);
    tl_seq_close(seq); /* answers every waiter, publishes, joins its threads */
    tl_server_stop(srv);
    free(policy);
    if (alog)
        fclose(alog);
    free(cfgbuf);
    return 0;
}
