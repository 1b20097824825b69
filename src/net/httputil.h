/* httputil.h - small helpers shared by the HTTP servers in src/net (private to the layer):
 * listen-address parsing and a growing text buffer for /metrics pages. */
#ifndef TREATYLOG_NET_HTTPUTIL_H
#define TREATYLOG_NET_HTTPUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "treatylog/err.h"

/* Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" (any), "localhost:PORT" into *ss.
 * TL_OK or TL_ERR_USAGE with the reason. */
TL_MUST_CHECK tl_err tl_http_parse_listen(const char *s, struct sockaddr_storage *ss,
                                          tl_diag *d);

/* Each connection's libmicrohttpd memory pool (MHD_OPTION_CONNECTION_MEMORY_LIMIT): request
 * line, headers, read buffer, response headers; bodies go through upload_data and our own
 * buffers. libmicrohttpd clears the pool between the requests of a keep-alive connection, so
 * its size is paid on every request: the default 32 KiB was 6 % of the server's CPU under
 * POST /add load. 16 KiB holds any sane request head; a larger head gets 431. */
#define TL_HTTP_CONN_MEMORY (16u * 1024u)

struct MHD_Daemon;

/* Stops a libmicrohttpd daemon from accepting connections (in-flight requests go on). */
void tl_http_quiesce(struct MHD_Daemon *mhd);

/* A growing NUL-terminated text buffer; oom is set (and later appends ignored) when memory
 * runs out. Free p when done. */
typedef struct tl_sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} tl_sbuf;

/* Appends printf output. */
void tl_sbuf_printf(tl_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
