/* server.h - the HTTP front of a log (libmicrohttpd, epoll, keep-alive): the C2SP tlog-tiles
 * read API, POST /add, proofs, health and metrics. Endpoints are listed in docs/api.md.
 *
 * THREAD SAFETY: start and stop from one thread; the server runs its own thread pool.
 */
#ifndef TREATYLOG_SERVER_H
#define TREATYLOG_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "treatylog/err.h"
#include "treatylog/gather.h"
#include "treatylog/sequencer.h"

typedef struct tl_server_config {
    const char *listen;        /* "HOST:PORT", "[V6]:PORT" or ":PORT"; port 0 = any */
    unsigned threads;          /* HTTP worker threads (0 = number of CPUs) */
    unsigned max_connections;  /* most concurrent connections */
    unsigned conn_timeout_s;   /* idle or slow connections are closed after this */
    size_t max_body;           /* largest POST body accepted (<= 65535) */
    FILE *access_log;          /* one line per request, or NULL */
    tl_gather *gather;         /* witnessing: GET /checkpoint serves the newest checkpoint
                                  that met the quorum; NULL: the log-signed one */
    struct tl_treaty *treaty;  /* treaty mode: POST /add checks submissions, /v1/entries and
                                  /v1/stats answer; NULL: raw mode */
    const struct tl_policy *policy; /* witness policy (witness times in /v1/ answers) */
    const struct tl_findings_src *findings; /* /v1/findings; NULL: none */
    struct tl_webstatic *web;  /* the dashboard's files, served at /; NULL: none */
} tl_server_config;

/* Defaults: 127.0.0.1:8420, 0, 1024, 30, 65535, NULL. */
void tl_server_config_default(tl_server_config *c);

typedef struct tl_server tl_server;

/* Starts serving the sequencer's log. */
TL_MUST_CHECK tl_err tl_server_start(tl_server **out, tl_seq *seq, const tl_server_config *cfg,
                                     tl_diag *d);

/* The port actually bound. */
unsigned tl_server_port(const tl_server *s);

/* Stops accepting new connections (in-flight requests go on). */
void tl_server_quiesce(tl_server *s);

/* Stops the server and frees it (call after the sequencer has answered everything). */
void tl_server_stop(tl_server *s);

#endif
