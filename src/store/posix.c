/* posix.c - the posix store: a log directory laid out exactly per C2SP tlog-tiles, so that
 * nginx (or any static file server) can serve it as it is.
 *
 *   DIR/checkpoint                   the latest published checkpoint (the commit point)
 *   DIR/checkpoints/<size>           every published checkpoint (archive)
 *   DIR/tile/<L>/<N>[.p/<W>]         hash tiles
 *   DIR/tile/entries/<N>[.p/<W>]     entry bundles
 *   DIR/.treatylog/                  private, mode 0700 (deny dotfiles in the web server):
 *          lock                      flock()ed by the one writer
 *          tmp/                      objects being written; emptied when a writer opens
 *          config, log.key, ...      written by the log layer
 *
 * Writes (see docs/decisions/0001-checkpoint-is-the-commit-point.md and
 * 0002-full-tiles-created-in-place.md):
 *   stage()  = a full tile or full bundle (tile/<L>/<N>, tile/entries/<N>): create_excl(),
 *              written in place; if a file is already there, or for any other object
 *              (partial tiles, archived checkpoints, private files): replace(), i.e. write
 *              DIR/.treatylog/tmp/<n> and rename it over the target (atomic per object)
 *   sync()   = one syncfs() on the log's filesystem: every staged object and rename durable
 *   commit() = write tmp, fsync, rename over DIR/checkpoint, fsync DIR
 * Objects staged but never followed by a commit are unreferenced: no checkpoint implies them,
 * and the next writer overwrites them. Directories are made only when a create or rename
 * finds its parent missing (ENOENT), so a stage costs no mkdir() in the steady state.
 */
#include "treatylog/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "treatylog/tile.h"

#define PRIV ".treatylog"

static int sys_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags, mode);
}

const tl_sys tl_sys_default = {
    .open = sys_open,
    .write = write,
    .fsync = fsync,
    .syncfs = syncfs,
    .rename = rename,
    .close = close,
    .ctx = NULL,
};

typedef struct posix_store {
    tl_store base; /* must be first */
    const tl_sys *sys;
    char *dir;
    int dirfd;
    int lockfd; /* -1 if not a writer */
    uint64_t tmpseq;
} posix_store;

static tl_err io_fail(tl_diag *d, const char *what, const char *path)
{
    int e = errno;
    return tl_fail(d, TL_ERR_IO, "%s %s: %s", what, path, strerror(e));
}

/* Joins dir and a relative path into buf. */
static tl_err join(char *buf, size_t cap, const char *dir, const char *rel, tl_diag *d)
{
    int n = snprintf(buf, cap, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= cap)
        return tl_fail(d, TL_ERR_TOOBIG, "path too long: %s/%s", dir, rel);
    return TL_OK;
}

/* A relative object path must not escape the directory. */
static bool path_ok(const char *p)
{
    if (!p[0] || p[0] == '/')
        return false;
    for (const char *s = p; *s; s++) {
        if (s[0] == '.' && s[1] == '.' && (s == p || s[-1] == '/') && (s[2] == '/' || !s[2]))
            return false;
    }
    return true;
}

/* mkdir -p of the parent directory of `path` (absolute). Called only after an ENOENT. */
static tl_err mkdirs(const char *path, tl_diag *d)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return tl_fail(d, TL_ERR_TOOBIG, "path too long: %s", path);
    memcpy(buf, path, n + 1);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf)
        return TL_OK;
    *slash = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return io_fail(d, "mkdir", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return io_fail(d, "mkdir", buf);
    return TL_OK;
}

static tl_err write_all(posix_store *s, int fd, const uint8_t *buf, size_t len, const char *path,
                        tl_diag *d)
{
    while (len > 0) {
        ssize_t w = s->sys->write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_fail(d, "write", path);
        }
        if (w == 0) {
            errno = EIO;
            return io_fail(d, "write", path);
        }
        buf += w;
        len -= (size_t)w;
    }
    return TL_OK;
}

/* Writes buf to a fresh temp file; optionally fsyncs it. Returns its path in tmp. */
static tl_err write_tmp(posix_store *s, char *tmp, size_t cap, const uint8_t *buf, size_t len,
                        bool durable, tl_diag *d)
{
    int n = snprintf(tmp, cap, "%s/" PRIV "/tmp/%llu", s->dir, (unsigned long long)s->tmpseq++);
    if (n < 0 || (size_t)n >= cap)
        return tl_fail(d, TL_ERR_TOOBIG, "path too long under %s", s->dir);
    int fd = s->sys->open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_fail(d, "open", tmp);
    tl_err e = write_all(s, fd, buf, len, tmp, d);
    if (e == TL_OK && durable && s->sys->fsync(fd) != 0)
        e = io_fail(d, "fsync", tmp);
    if (s->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(d, "close", tmp);
    if (e != TL_OK)
        (void)unlink(tmp); /* best effort: the next writer empties tmp/ anyway */
    return e;
}

static tl_err posix_read(tl_store *st, const char *path, uint8_t **out, size_t *outlen,
                         tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    if (!path_ok(path))
        return tl_fail(d, TL_ERR_USAGE, "bad object path %s", path);
    /* O_NONBLOCK: a FIFO planted in the directory must not hang the reader in open(). */
    int fd = openat(s->dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return tl_fail(d, TL_ERR_NOTFOUND, "%s/%s: no such file", s->dir, path);
        return io_fail(d, "open", path);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        tl_err e = io_fail(d, "stat", path);
        close(fd);
        return e;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return tl_fail(d, TL_ERR_NOTFOUND, "%s/%s: not a regular file", s->dir, path);
    }
    if (sb.st_size > (off_t)(64 << 20)) {
        close(fd);
        return tl_fail(d, TL_ERR_TOOBIG, "%s/%s: %lld bytes, larger than any log object",
                       s->dir, path, (long long)sb.st_size);
    }
    size_t cap = (size_t)sb.st_size;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        close(fd);
        return tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != cap) {
        free(buf);
        return tl_fail(d, TL_ERR_IO, "%s/%s: short read (%zu of %zu bytes)", s->dir, path, got,
                       cap);
    }
    *out = buf;
    *outlen = got;
    return TL_OK;
}

/* pread(2) of an object: no fstat, no allocation (see read_at in store.h). Opening is
 * still one open/close pair per call (about 3.5 us of the 4.5 us this takes on the benchmark
 * VM); files are not kept open, since a log has more tiles than a process has descriptors. */
static tl_err posix_read_at(tl_store *st, const char *path, uint64_t off, uint8_t *buf,
                            size_t cap, size_t *got, tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    *got = 0;
    if (!path_ok(path))
        return tl_fail(d, TL_ERR_USAGE, "bad object path %s", path);
    if (off > (uint64_t)INT64_MAX - cap)
        return tl_fail(d, TL_ERR_RANGE, "%s/%s: offset %llu out of range", s->dir, path,
                       (unsigned long long)off);
    int fd = openat(s->dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return tl_fail(d, TL_ERR_NOTFOUND, "%s/%s: no such file", s->dir, path);
        return io_fail(d, "open", path);
    }
    size_t n = 0;
    tl_err e = TL_OK;
    while (n < cap) {
        ssize_t r = pread(fd, buf + n, cap - n, (off_t)(off + n));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno == EISDIR
                    ? tl_fail(d, TL_ERR_NOTFOUND, "%s/%s: not a regular file", s->dir, path)
                    : io_fail(d, "read", path);
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd); /* read-only: close reports nothing a reader must act on */
    if (e == TL_OK)
        *got = n;
    return e;
}

/* An immutable object of tlog-tiles: a full hash tile or a full entry bundle
 * (tile/<L>/<N>, tile/entries/<N>). Its bytes are a function of the log's first entries, so
 * once a checkpoint implies it, it never changes. */
static bool full_tile_path(const char *path)
{
    tl_tile t;
    return strncmp(path, "tile/", 5) == 0 &&
           tl_tile_path_parse(&t, path, strlen(path), NULL) == TL_OK &&
           t.width == TL_TILE_WIDTH;
}

/* create_excl(): writes a new object in place, O_CREAT|O_EXCL, with no temp file and no
 * rename. Sets *exists (writing nothing) if a file is already at dst. A failed write removes
 * the new file (best effort; a leftover would be replaced like any other, see posix_stage).
 *
 * Only for full tiles and bundles (see posix_stage for why that is safe). */
static tl_err create_excl(posix_store *s, const char *dst, const uint8_t *buf, size_t len,
                          bool *exists, tl_diag *d)
{
    *exists = false;
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    int fd = s->sys->open(dst, flags, 0644);
    if (fd < 0 && errno == ENOENT) {
        tl_err e = mkdirs(dst, d);
        if (e != TL_OK)
            return e;
        fd = s->sys->open(dst, flags, 0644);
    }
    if (fd < 0) {
        if (errno == EEXIST) {
            *exists = true;
            return TL_OK;
        }
        return io_fail(d, "create", dst);
    }
    tl_err e = write_all(s, fd, buf, len, dst, d);
    if (s->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(d, "close", dst);
    if (e != TL_OK)
        (void)unlink(dst); /* best effort; see above */
    return e;
}

/* replace(): writes a temp file and renames it over dst, atomic for readers of dst. */
static tl_err replace(posix_store *s, const char *dst, const uint8_t *buf, size_t len,
                      tl_diag *d)
{
    char tmp[4096];
    tl_err e = write_tmp(s, tmp, sizeof tmp, buf, len, false, d);
    if (e != TL_OK)
        return e;
    int rc = s->sys->rename(tmp, dst);
    if (rc != 0 && errno == ENOENT) { /* the target's directory is new */
        e = mkdirs(dst, d);
        if (e == TL_OK)
            rc = s->sys->rename(tmp, dst);
    }
    if (e == TL_OK && rc != 0)
        e = io_fail(d, "rename to", dst);
    if (e != TL_OK)
        (void)unlink(tmp);
    return e;
}

/* Staging, and why a full tile may be written in place
 * (docs/decisions/0002-full-tiles-created-in-place.md):
 *
 * - A reader must never see part of an object at a path that a published checkpoint implies.
 *   The writer stages a full tile or bundle only when the tree it is building completes it,
 *   i.e. for an index the published checkpoint does not cover as full; the checkpoint that
 *   will imply it is committed only after sync() has returned, and so after this write
 *   finished and became durable. While it is written in place, no checkpoint implies it and
 *   no client asks for it (tlog-tiles clients fetch only what a verified checkpoint implies;
 *   `serve` answers 404 past the published size).
 * - A file may already be at that path: a writer killed (or failed) before its commit left it,
 *   whole or torn, and possibly with other bytes (other entries were staged after the
 *   restart). It is not implied by any checkpoint either, and it must be replaced, so on
 *   EEXIST we fall back to temp + rename. The invariant "after stage() returns, the path holds
 *   exactly these bytes" is the same as with temp + rename, so crash recovery is unchanged.
 * - Everything else keeps temp + rename: partial tiles and bundles can be staged again at a
 *   path the published checkpoint implies (an upper level whose width did not change), and
 *   archived checkpoints and private files may be read at any time.
 */
static tl_err posix_stage(tl_store *st, const char *path, const uint8_t *buf, size_t len,
                          tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    if (s->lockfd < 0)
        return tl_fail(d, TL_ERR_USAGE, "store opened read-only");
    if (!path_ok(path))
        return tl_fail(d, TL_ERR_USAGE, "bad object path %s", path);
    char dst[4096];
    tl_err e = join(dst, sizeof dst, s->dir, path, d);
    if (e != TL_OK)
        return e;
    if (full_tile_path(path)) {
        bool exists = false;
        e = create_excl(s, dst, buf, len, &exists, d);
        if (e != TL_OK || !exists)
            return e;
    }
    return replace(s, dst, buf, len, d);
}

static tl_err posix_sync(tl_store *st, tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    if (s->sys->syncfs(s->dirfd) != 0)
        return io_fail(d, "syncfs", s->dir);
    return TL_OK;
}

static tl_err posix_commit(tl_store *st, const uint8_t *cp, size_t len, tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    if (s->lockfd < 0)
        return tl_fail(d, TL_ERR_USAGE, "store opened read-only");
    char tmp[4096], dst[4096];
    tl_err e = join(dst, sizeof dst, s->dir, "checkpoint", d);
    if (e == TL_OK)
        e = write_tmp(s, tmp, sizeof tmp, cp, len, true, d);
    if (e != TL_OK)
        return e;
    /* THE COMMIT POINT. Before this rename the old checkpoint is published and the new tiles
     * are unreferenced; after it (once the directory fsync below returns) the new one is. If
     * the rename or the directory fsync fails we cannot know which checkpoint a crash would
     * leave, so the caller must stop writing (the log layer treats this as fatal). */
    if (s->sys->rename(tmp, dst) != 0) {
        e = io_fail(d, "rename to", dst);
        (void)unlink(tmp);
        return e;
    }
    if (s->sys->fsync(s->dirfd) != 0)
        return io_fail(d, "fsync directory", s->dir);
    return TL_OK;
}

static tl_err posix_put_sync(tl_store *st, const char *path, const uint8_t *buf, size_t len,
                             tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    if (s->lockfd < 0)
        return tl_fail(d, TL_ERR_USAGE, "store opened read-only");
    char dst[4096];
    tl_err e = path_ok(path) ? join(dst, sizeof dst, s->dir, path, d)
                             : tl_fail(d, TL_ERR_USAGE, "bad object path %s", path);
    if (e != TL_OK)
        return e;
    int fd = s->sys->open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail(d, "open", dst);
    e = write_all(s, fd, buf, len, dst, d);
    if (e == TL_OK && s->sys->fsync(fd) != 0)
        e = io_fail(d, "fsync", dst);
    if (s->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(d, "close", dst);
    return e;
}

static tl_err posix_remove(tl_store *st, const char *path, tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    if (s->lockfd < 0)
        return tl_fail(d, TL_ERR_USAGE, "store opened read-only");
    if (!path_ok(path))
        return tl_fail(d, TL_ERR_USAGE, "bad object path %s", path);
    if (unlinkat(s->dirfd, path, 0) != 0 && errno != ENOENT)
        return io_fail(d, "unlink", path);
    return TL_OK;
}

void tl_store_free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static tl_err posix_list(tl_store *st, const char *dir, char ***names, size_t *count,
                         tl_diag *d)
{
    posix_store *s = (posix_store *)st;
    *names = NULL;
    *count = 0;
    if (!path_ok(dir))
        return tl_fail(d, TL_ERR_USAGE, "bad directory path %s", dir);
    int fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return TL_OK;
        return io_fail(d, "open", dir);
    }
    DIR *dh = fdopendir(fd);
    if (!dh) {
        tl_err e = io_fail(d, "opendir", dir);
        close(fd);
        return e;
    }
    char **v = NULL;
    size_t n = 0, cap = 0;
    tl_err e = TL_OK;
    for (struct dirent *de = readdir(dh); de; de = readdir(dh)) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                e = tl_fail(d, TL_ERR_NOMEM, "listing %s", dir);
                break;
            }
            v = nv;
        }
        v[n] = strdup(de->d_name);
        if (!v[n]) {
            e = tl_fail(d, TL_ERR_NOMEM, "listing %s", dir);
            break;
        }
        n++;
    }
    closedir(dh);
    if (e != TL_OK) {
        tl_store_free_list(v, n);
        return e;
    }
    *names = v;
    *count = n;
    return TL_OK;
}

static void posix_close(tl_store *st)
{
    posix_store *s = (posix_store *)st;
    if (!s)
        return;
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the flock */
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->dir);
    free(s);
}

static const struct tl_store_ops posix_ops = {
    .name = "posix",
    .read = posix_read,
    .stage = posix_stage,
    .sync = posix_sync,
    .commit = posix_commit,
    .list = posix_list,
    .put_sync = posix_put_sync,
    .remove = posix_remove,
    .close = posix_close,
    .read_at = posix_read_at,
};

/* Empties DIR/.treatylog/tmp (leftovers of a crashed writer). */
static tl_err clear_tmp(posix_store *s, tl_diag *d)
{
    char path[4096];
    tl_err e = join(path, sizeof path, s->dir, PRIV "/tmp", d);
    if (e != TL_OK)
        return e;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return io_fail(d, "mkdir", path);
    DIR *dh = opendir(path);
    if (!dh)
        return io_fail(d, "opendir", path);
    int dfd = dirfd(dh);
    for (struct dirent *de = readdir(dh); de; de = readdir(dh)) {
        if (de->d_name[0] == '.')
            continue;
        if (unlinkat(dfd, de->d_name, 0) != 0 && errno != ENOENT) {
            e = io_fail(d, "unlink leftover", de->d_name);
            break;
        }
    }
    closedir(dh);
    return e;
}

static tl_err open_common(posix_store **out, const char *dir, bool writer, const tl_sys *sys,
                          tl_diag *d)
{
    posix_store *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "opening %s", dir);
    s->base.ops = &posix_ops;
    s->sys = sys ? sys : &tl_sys_default;
    s->lockfd = -1;
    s->dirfd = -1;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    s->dir = strndup(dir, n);
    if (!s->dir) {
        free(s);
        return tl_fail(d, TL_ERR_NOMEM, "opening %s", dir);
    }
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        tl_err e = errno == ENOENT || errno == ENOTDIR
                       ? tl_fail(d, TL_ERR_NOTFOUND, "%s: no such directory", s->dir)
                       : io_fail(d, "open", s->dir);
        posix_close(&s->base);
        return e;
    }
    if (writer) {
        char lock[4096];
        tl_err e = join(lock, sizeof lock, s->dir, PRIV "/lock", d);
        if (e == TL_OK) {
            s->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
            if (s->lockfd < 0)
                e = errno == ENOENT
                        ? tl_fail(d, TL_ERR_NOTFOUND,
                                  "%s is not a treatylog log (no " PRIV "/; create one with "
                                  "'treatylog init')",
                                  s->dir)
                        : io_fail(d, "open", lock);
        }
        if (e == TL_OK && flock(s->lockfd, LOCK_EX | LOCK_NB) != 0)
            e = errno == EWOULDBLOCK
                    ? tl_fail(d, TL_ERR_LOCKED,
                              "%s is in use by another treatylog process (lock %s held)", s->dir,
                              lock)
                    : io_fail(d, "flock", lock);
        if (e == TL_OK)
            e = clear_tmp(s, d);
        if (e != TL_OK) {
            posix_close(&s->base);
            return e;
        }
    }
    *out = s;
    return TL_OK;
}

tl_err tl_store_posix_open(tl_store **out, const char *dir, bool writer, const tl_sys *sys,
                           tl_diag *d)
{
    posix_store *s = NULL;
    tl_err e = open_common(&s, dir, writer, sys, d);
    if (e != TL_OK)
        return e;
    *out = &s->base;
    return TL_OK;
}

tl_err tl_store_posix_create(tl_store **out, const char *dir, const tl_sys *sys, tl_diag *d)
{
    if (mkdir(dir, 0755) != 0) {
        if (errno != EEXIST)
            return io_fail(d, "mkdir", dir);
        DIR *dh = opendir(dir);
        if (!dh)
            return io_fail(d, "opendir", dir);
        bool empty = true;
        for (struct dirent *de = readdir(dh); de; de = readdir(dh)) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                empty = false;
                break;
            }
        }
        closedir(dh);
        if (!empty)
            return tl_fail(d, TL_ERR_USAGE,
                           "%s exists and is not empty; refusing to create a log there", dir);
    }
    char priv[4096];
    tl_err e = join(priv, sizeof priv, dir, PRIV, d);
    if (e != TL_OK)
        return e;
    if (mkdir(priv, 0700) != 0 && errno != EEXIST)
        return io_fail(d, "mkdir", priv);
    return tl_store_posix_open(out, dir, true, sys, d);
}

bool tl_store_posix_is_tiles_dir(const char *dir)
{
    char p[4096];
    int n = snprintf(p, sizeof p, "%s/checkpoint", dir);
    if (n < 0 || (size_t)n >= sizeof p)
        return false;
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}
