/* webstatic.h - the dashboard's static files (web/dist), resolved safely under one root.
 *
 * The HTTP server calls tl_webstatic_get() for every GET that no API route took. A URL path
 * maps to a regular file under the root: "/" is index.html, "/assets/app.js" is
 * <root>/assets/app.js. Resolution walks the path one component at a time with openat() and
 * O_NOFOLLOW from a directory fd opened once, so nothing outside the root is ever reached:
 * no "..", no ".", no empty or hidden (dot) components, no backslash, no symlink anywhere
 * (not even one pointing inside the root), only regular files, only the content types below.
 *
 * Single-page routing: the dashboard uses hash routes (#/findings/ID), so only "/" is needed,
 * but a path whose last component has no extension and names no file (e.g. "/findings")
 * falls back to index.html (fallback = true), except under the API prefixes
 * (tl_webstatic_is_api_path), which stay 404.
 */
#ifndef TREATYLOG_WEBSTATIC_H
#define TREATYLOG_WEBSTATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"

/* Files above this size are refused (TL_ERR_TOOBIG): the dashboard bundle is far smaller. */
#define TL_WEBSTATIC_MAX_FILE (32u * 1024u * 1024u)

typedef struct tl_webstatic tl_webstatic; /* an opened web root (holds a directory fd) */

typedef struct tl_webstatic_file {
    int fd;                   /* open read-only, positioned at 0; the caller closes it */
    uint64_t size;            /* bytes */
    const char *content_type; /* static string, e.g. "text/javascript; charset=utf-8" */
    bool fallback;            /* the path named no file: this is index.html (SPA routing) */
    bool immutable;           /* under /assets/ (content-hashed names): cache for a year */
} tl_webstatic_file;

/* Opens the web root directory (e.g. "web/dist"). It must be a directory; the root itself may
 * be reached through a symlink (it is the operator's choice), nothing below it may. */
TL_MUST_CHECK tl_err tl_webstatic_open(const char *root, tl_webstatic **out, tl_diag *d);
void tl_webstatic_close(tl_webstatic *w);

/* Resolves a decoded URL path (what libmicrohttpd passes as `url`; anything from '?' or '#'
 * on is ignored) to an open file. Errors: TL_ERR_FORMAT (an unsafe path: "..", ".", "//",
 * hidden component, backslash, not starting with '/', too long), TL_ERR_NOTFOUND (no such
 * file, a symlink or a directory or other non-regular file, an unsupported extension, an API
 * path), TL_ERR_TOOBIG, TL_ERR_IO. The server answers 404 for all of them except TL_ERR_IO
 * (500); 400 for TL_ERR_FORMAT is fine too. */
TL_MUST_CHECK tl_err tl_webstatic_get(const tl_webstatic *w, const char *url_path,
                                      tl_webstatic_file *out, tl_diag *d);

/* tl_webstatic_get, then reads the whole file: *buf (malloc'ed, caller frees) and *len. */
TL_MUST_CHECK tl_err tl_webstatic_read(const tl_webstatic *w, const char *url_path, uint8_t **buf,
                                       size_t *len, tl_webstatic_file *info, tl_diag *d);

/* The Content-Type for a file name by its extension (.html .js .mjs .css .svg .png .json .map
 * .ico .txt), or NULL if it is not one the dashboard serves. */
const char *tl_webstatic_content_type(const char *name);

/* True for paths the API owns (/v1/..., /checkpoint, /tile/..., /add, /healthz, /metrics):
 * never answered with index.html. */
bool tl_webstatic_is_api_path(const char *url_path);

#endif
