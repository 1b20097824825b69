/* err.c - error code names and the diagnostic buffer helpers. */
#include "treatylog/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tl_strerror(tl_err e)
{
    /* A switch with no default: -Wall flags any code missing here. */
    switch (e) {
    case TL_OK:
        return "no error";
    case TL_ERR_NOMEM:
        return "out of memory";
    case TL_ERR_IO:
        return "I/O error";
    case TL_ERR_FORMAT:
        return "malformed input";
    case TL_ERR_SIGNATURE:
        return "signature verification failed";
    case TL_ERR_CONFLICT:
        return "conflict";
    case TL_ERR_PUSHBACK:
        return "overloaded, try again later";
    case TL_ERR_INTERNAL:
        return "internal error";
    case TL_ERR_NOTFOUND:
        return "not found";
    case TL_ERR_RANGE:
        return "out of range";
    case TL_ERR_USAGE:
        return "invalid argument";
    case TL_ERR_LOCKED:
        return "locked by another process";
    case TL_ERR_PROOF:
        return "proof verification failed";
    case TL_ERR_QUORUM:
        return "witness quorum not met";
    case TL_ERR_TOOBIG:
        return "input too large";
    }
    return "unknown error";
}

tl_err tl_fail(tl_diag *d, tl_err e, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
        if (n < 0)
            d->msg[0] = '\0';
    }
    return e;
}

tl_err tl_diag_prefix(tl_diag *d, tl_err e, const char *fmt, ...)
{
    if (!d)
        return e;
    char old[TL_DIAG_LEN];
    memcpy(old, d->msg, sizeof old);
    old[TL_DIAG_LEN - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    size_t at = n < 0 ? 0 : (size_t)n;
    if (at > sizeof d->msg - 1)
        at = sizeof d->msg - 1;
    /* Append ": " and the old message, truncating the diagnostic if it must. */
    const char *parts[2] = {": ", old};
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(parts[i]);
        size_t room = sizeof d->msg - 1 - at;
        if (len > room)
            len = room;
        memcpy(d->msg + at, parts[i], len);
        at += len;
    }
    d->msg[at] = '\0';
    return e;
}
