/* store.h - durable storage behind one interface. A store holds named objects (tile paths,
 * "checkpoint", "checkpoints/<size>", private files under ".treatylog/") and publishes the
 * checkpoint as the commit point. Backends: posix (a directory nginx can serve as it is),
 * http (read-only, libcurl).
 *
 * Durability contract (DESIGN §5): objects written with ops->stage() are durable only after
 * ops->sync() returned TL_OK; ops->commit() makes the checkpoint durable and visible
 * atomically, after which the state it names must be recoverable after kill -9 or power
 * loss. A failed call leaves what was already committed untouched.
 *
 * THREAD SAFETY: one writer owns a store; concurrent read() calls are safe.
 */
#ifndef TREATYLOG_STORE_H
#define TREATYLOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "treatylog/err.h"

/* System calls the posix store makes, routed through a table so tests can make the Nth
 * fsync or write fail (fault injection, as SQLite's os_unix.c does). */
typedef struct tl_sys {
    int (*open)(const char *path, int flags, mode_t mode);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    int (*fsync)(int fd);
    int (*syncfs)(int fd);
    int (*rename)(const char *from, const char *to);
    int (*close)(int fd);
    void *ctx; /* for test tables; unused by the default */
} tl_sys;

/* The real system calls. */
extern const tl_sys tl_sys_default;

typedef struct tl_store tl_store;

struct tl_store_ops {
    const char *name;
    /* Reads a whole object into a fresh malloc'd buffer (caller frees). TL_ERR_NOTFOUND if
     * it does not exist. */
    tl_err (*read)(tl_store *s, const char *path, uint8_t **buf, size_t *len, tl_diag *d);
    /* Writes (or replaces) an object, durable only after sync(). A reader never sees part
     * of an object at a path a published checkpoint implies (see the backend for how). */
    tl_err (*stage)(tl_store *s, const char *path, const uint8_t *buf, size_t len, tl_diag *d);
    /* Makes every staged object durable. */
    tl_err (*sync)(tl_store *s, tl_diag *d);
    /* The commit point: durably and atomically replaces "checkpoint". */
    tl_err (*commit)(tl_store *s, const uint8_t *checkpoint, size_t len, tl_diag *d);
    /* Lists the names in directory `dir` (relative, e.g. "tile/0/000.p" or "checkpoints"):
     * a fresh malloc'd array of malloc'd strings (free with tl_store_free_list). An absent
     * directory is an empty list. TL_ERR_USAGE if the backend cannot list (HTTP). */
    tl_err (*list)(tl_store *s, const char *dir, char ***names, size_t *n, tl_diag *d);
    /* Writes a small private object in place and fsyncs it (not atomic: readers must
     * validate its content). For markers such as ".treatylog/pending". */
    tl_err (*put_sync)(tl_store *s, const char *path, const uint8_t *buf, size_t len,
                       tl_diag *d);
    /* Removes an object; an absent one is not an error. Durable after the next sync(). */
    tl_err (*remove)(tl_store *s, const char *path, tl_diag *d);
    /* Releases everything (lock included). NULL-safe. */
    void (*close)(tl_store *s);
    /* Optional (NULL where a backend has none: callers then use read()). Reads up to cap
     * bytes of an object, from byte offset off, into the caller's buf, with no allocation:
     * *got is the number of bytes read, less than cap only where the object ends. For the
     * hot read paths (a tile into a cache slot, 512 bytes of a tile for a proof).
     * TL_ERR_NOTFOUND if the object does not exist; *got is 0 on error. Thread-safe like
     * read(). */
    tl_err (*read_at)(tl_store *s, const char *path, uint64_t off, uint8_t *buf, size_t cap,
                      size_t *got, tl_diag *d);
};

/* Every backend's struct starts with this. */
struct tl_store {
    const struct tl_store_ops *ops;
};

/* Frees a list returned by ops->list. */
void tl_store_free_list(char **names, size_t n);

/* Opens the log directory `dir`. With `writer`, takes the one-writer lock
 * (TL_ERR_LOCKED if another process holds it) and clears leftovers of a crashed write.
 * sys may be NULL (real system calls). TL_ERR_NOTFOUND if dir is not a treatylog log. */
TL_MUST_CHECK tl_err tl_store_posix_open(tl_store **out, const char *dir, bool writer,
                                         const tl_sys *sys, tl_diag *d);

/* Creates a new log directory (must not exist, or be empty) with its private area, and
 * opens it as writer. */
TL_MUST_CHECK tl_err tl_store_posix_create(tl_store **out, const char *dir, const tl_sys *sys,
                                           tl_diag *d);

/* True if `dir` looks like a directory of tiles (has a "checkpoint" file) without being a
 * treatylog-managed log (e.g. a log written by another implementation): readable, not
 * writable. */
bool tl_store_posix_is_tiles_dir(const char *dir);

/* Opens a read-only store over an HTTP(S) URL prefix (tlog-tiles read API). */
TL_MUST_CHECK tl_err tl_store_http_open(tl_store **out, const char *url, tl_diag *d);

/* Opens `loc` as a read-only store: an http(s):// URL or a directory. */
TL_MUST_CHECK tl_err tl_store_open_readonly(tl_store **out, const char *loc, tl_diag *d);

#endif
