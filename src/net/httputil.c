/* httputil.c - listen addresses and text buffers for the HTTP servers (see httputil.h). */
#include "httputil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "treatylog/text.h"

tl_err tl_http_parse_listen(const char *s, struct sockaddr_storage *ss, tl_diag *d)
{
    memset(ss, 0, sizeof *ss);
    const char *colon = strrchr(s, ':');
    if (!colon)
        return tl_fail(d, TL_ERR_USAGE, "listen address '%s' needs HOST:PORT", s);
    uint64_t port = 0;
    if (tl_parse_u64(&port, colon + 1, strlen(colon + 1)) != TL_OK || port > 65535)
        return tl_fail(d, TL_ERR_USAGE, "listen address '%s': bad port", s);
    char host[256];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof host)
        return tl_fail(d, TL_ERR_USAGE, "listen address '%s': host too long", s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            return tl_fail(d, TL_ERR_USAGE, "listen address '%s': bad IPv6 address", s);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return TL_OK;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    if (hl == 0 || strcmp(host, "*") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return tl_fail(d, TL_ERR_USAGE, "listen address '%s': bad IPv4 address", s);
    return TL_OK;
}

void tl_sbuf_printf(tl_sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

void tl_http_quiesce(struct MHD_Daemon *mhd)
{
    if (!mhd)
        return;
    MHD_socket fd = MHD_quiesce_daemon(mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}
