/* witness_server.h - a C2SP tlog-witness v1.0.0 witness over HTTP (libmicrohttpd, one thread
 * per connection, keep-alive):
 *   POST <prefix>/add-checkpoint        the decisions of witness.h; 200 text/plain, 409
 *                                       text/x.tlog.size; the new state is durable before a
 *                                       cosignature leaves
 *   GET  <prefix>/<hex>/checkpoint      latest cosigned checkpoint of origin SHA-256 = hex
 *   GET  /healthz, GET /metrics
 * docs/witness.md has the state layout, the status table and the metrics.
 *
 * THREAD SAFETY: start and stop from one thread; the server runs its own threads.
 */
#ifndef TREATYLOG_WITNESS_SERVER_H
#define TREATYLOG_WITNESS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "treatylog/err.h"
#include "treatylog/key.h"
#include "treatylog/store.h"
#include "treatylog/witness.h"

typedef struct tl_witness_server_config {
    const char *dir;             /* state directory (created if missing) */
    const char *listen;          /* "HOST:PORT", "[V6]:PORT" or ":PORT"; port 0 = any */
    const char *prefix;          /* "" or "/path" (no trailing '/'): submission and monitoring */
    const tl_skey *key;          /* the witness key, type 0x04 (copied) */
    const tl_witness_logs *logs; /* configured logs (borrowed: must outlive the server) */
    unsigned max_connections;    /* most concurrent connections (one thread each) */
    unsigned conn_timeout_s;     /* idle or slow connections are closed after this */
    FILE *access_log;            /* one line per request, or NULL */
    FILE *alarm_log;             /* one line per request refused for inconsistency, or NULL */
    uint64_t fixed_time;         /* tests only: the cosignature time; 0 = the clock */
    const struct tl_clock *clock; /* NULL: the real clock (the demo's accelerated one) */
    const tl_sys *sys;           /* system calls for the state (NULL = real; tests inject) */
} tl_witness_server_config;

/* Defaults: listen 127.0.0.1:8421, prefix "", 1024 connections, 30 s, no logs. */
void tl_witness_server_config_default(tl_witness_server_config *c);

typedef struct tl_witness_server tl_witness_server;

/* Opens the state directory (lock, key binding), loads the record of every configured origin
 * (refusing to start on a record that does not parse, is for another origin or lacks a valid
 * cosignature by this key) and starts listening. TL_ERR_LOCKED if another process uses dir. */
TL_MUST_CHECK tl_err tl_witness_server_start(tl_witness_server **out,
                                             const tl_witness_server_config *cfg, tl_diag *d);

/* The port actually bound. */
unsigned tl_witness_server_port(const tl_witness_server *s);

/* Stops accepting new connections (in-flight requests go on). */
void tl_witness_server_quiesce(tl_witness_server *s);

/* Stops the server (waits for in-flight requests), releases the state directory and frees
 * the server. NULL-safe. */
void tl_witness_server_stop(tl_witness_server *s);

#endif
