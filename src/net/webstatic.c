/* webstatic.c - the dashboard's static files, resolved under one root without ever leaving it
 * (see include/treatylog/webstatic.h). Every component is opened with openat(O_NOFOLLOW) from
 * the previous directory's fd: a symlink anywhere below the root fails with ELOOP, and "..",
 * "." and hidden names are refused before any system call. */
#include "treatylog/webstatic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATH  1024 /* bytes of URL path */
#define MAX_DEPTH 16   /* components */

struct tl_webstatic {
    int dirfd;
};

tl_err tl_webstatic_open(const char *root, tl_webstatic **out, tl_diag *d)
{
    *out = NULL;
    if (!root || !*root)
        return tl_fail(d, TL_ERR_USAGE, "web root: empty path");
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tl_fail(d, TL_ERR_IO, "web root %s: %s", root, strerror(errno));
    tl_webstatic *w = malloc(sizeof *w);
    if (!w) {
        close(fd);
        return tl_fail(d, TL_ERR_NOMEM, "web root: out of memory");
    }
    w->dirfd = fd;
    *out = w;
    return TL_OK;
}

void tl_webstatic_close(tl_webstatic *w)
{
    if (!w)
        return;
    close(w->dirfd);
    free(w);
}

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *tl_webstatic_content_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static bool prefix_or_equal(const char *p, const char *name)
{
    size_t n = strlen(name);
    return strncmp(p, name, n) == 0 && (p[n] == '\0' || p[n] == '/' || p[n] == '?');
}

bool tl_webstatic_is_api_path(const char *p)
{
    return prefix_or_equal(p, "/v1") || prefix_or_equal(p, "/tile") ||
           prefix_or_equal(p, "/checkpoint") || prefix_or_equal(p, "/add") ||
           prefix_or_equal(p, "/healthz") || prefix_or_equal(p, "/metrics");
}

/* Splits the path into components in buf (NUL-separated); refuses anything unsafe. */
static tl_err split(const char *url, char *buf, const char **comp, size_t *ncomp, tl_diag *d)
{
    size_t n = strcspn(url, "?#");
    if (n == 0 || url[0] != '/')
        return tl_fail(d, TL_ERR_FORMAT, "web path must start with '/'");
    if (n >= MAX_PATH)
        return tl_fail(d, TL_ERR_FORMAT, "web path too long");
    memcpy(buf, url + 1, n - 1);
    buf[n - 1] = '\0';
    *ncomp = 0;
    if (n == 1)
        return TL_OK; /* "/" */
    char *s = buf;
    for (;;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (*s == '\0') {
            if (!slash) /* a trailing '/': a directory, never served */
                return tl_fail(d, TL_ERR_NOTFOUND, "web path names a directory");
            return tl_fail(d, TL_ERR_FORMAT, "web path has an empty component");
        }
        if (s[0] == '.')
            return tl_fail(d, TL_ERR_FORMAT, "web path has a '.', '..' or hidden component");
        for (const char *c = s; *c; c++)
            if (*c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
                return tl_fail(d, TL_ERR_FORMAT, "web path has a backslash or control byte");
        if (*ncomp == MAX_DEPTH)
            return tl_fail(d, TL_ERR_FORMAT, "web path too deep");
        comp[(*ncomp)++] = s;
        if (!slash)
            return TL_OK;
        s = slash + 1;
    }
}

/* Opens comp[0..n) under dirfd, every component without following symlinks. */
static tl_err open_beneath(int dirfd, const char **comp, size_t n, int *out, tl_diag *d)
{
    int cur = dirfd;
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n;
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        if (!last)
            flags |= O_DIRECTORY;
        int fd = openat(cur, comp[i], flags);
        int err = errno;
        if (cur != dirfd)
            close(cur);
        if (fd < 0) {
            if (err == ENOENT || err == ENOTDIR || err == ELOOP || err == EACCES ||
                err == ENAMETOOLONG)
                return tl_fail(d, TL_ERR_NOTFOUND, "web path: no such file");
            return tl_fail(d, TL_ERR_IO, "web path: %s", strerror(err));
        }
        cur = fd;
    }
    *out = cur;
    return TL_OK;
}

static tl_err open_file(const tl_webstatic *w, const char **comp, size_t n, const char *type,
                        tl_webstatic_file *out, tl_diag *d)
{
    int fd = -1;
    tl_err e = open_beneath(w->dirfd, comp, n, &fd, d);
    if (e != TL_OK)
        return e;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return tl_fail(d, TL_ERR_IO, "web path: %s", strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tl_fail(d, TL_ERR_NOTFOUND, "web path: not a regular file");
    }
    if ((uint64_t)st.st_size > TL_WEBSTATIC_MAX_FILE) {
        close(fd);
        return tl_fail(d, TL_ERR_TOOBIG, "web path: file over %u bytes", TL_WEBSTATIC_MAX_FILE);
    }
    /* Back to blocking reads (O_NONBLOCK only kept a FIFO from hanging the open). */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    out->fd = fd;
    out->size = (uint64_t)st.st_size;
    out->content_type = type;
    return TL_OK;
}

tl_err tl_webstatic_get(const tl_webstatic *w, const char *url_path, tl_webstatic_file *out,
                        tl_diag *d)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (!w || !url_path)
        return tl_fail(d, TL_ERR_USAGE, "web path: no root or path");
    char buf[MAX_PATH];
    const char *comp[MAX_DEPTH];
    size_t n = 0;
    tl_err e = split(url_path, buf, comp, &n, d);
    if (e != TL_OK)
        return e;
    static const char *index_comp[] = {"index.html"};
    const char *index_type = tl_webstatic_content_type("index.html");
    if (n == 0)
        return open_file(w, index_comp, 1, index_type, out, d);
    if (tl_webstatic_is_api_path(url_path))
        return tl_fail(d, TL_ERR_NOTFOUND, "web path: an API path");
    const char *type = tl_webstatic_content_type(comp[n - 1]);
    if (type) {
        e = open_file(w, comp, n, type, out, d);
        if (e == TL_OK)
            out->immutable = n > 1 && strcmp(comp[0], "assets") == 0;
        return e;
    }
    if (strchr(comp[n - 1], '.'))
        return tl_fail(d, TL_ERR_NOTFOUND, "web path: unsupported file type");
    /* No extension: a client-side route, answered with the page itself. */
    e = open_file(w, index_comp, 1, index_type, out, d);
    if (e == TL_OK)
        out->fallback = true;
    return e;
}

tl_err tl_webstatic_read(const tl_webstatic *w, const char *url_path, uint8_t **buf, size_t *len,
                         tl_webstatic_file *info, tl_diag *d)
{
    *buf = NULL;
    *len = 0;
    tl_webstatic_file f;
    tl_err e = tl_webstatic_get(w, url_path, &f, d);
    if (e != TL_OK)
        return e;
    size_t size = (size_t)f.size;
    uint8_t *b = malloc(size ? size : 1);
    if (!b) {
        close(f.fd);
        return tl_fail(d, TL_ERR_NOMEM, "web path: out of memory");
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(f.fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int err = r < 0 ? errno : EIO;
            close(f.fd);
            free(b);
            return tl_fail(d, TL_ERR_IO, "web path: read: %s",
                           r < 0 ? strerror(err) : "file shrank");
        }
        got += (size_t)r;
    }
    close(f.fd);
    f.fd = -1;
    if (info)
        *info = f;
    *buf = b;
    *len = size;
    return TL_OK;
}
