/* journal.c - the submission journal with group commit; layout in include/treatylog/journal.h.
 *
 *   OFFSET  SIZE  DESCRIPTION
 *      0      8   magic "TLJRNL01"
 *      8      8   base: log index of record 0, big-endian
 *     16      -   records: u32be len, u64be accepted_ms, entry, u32be crc32 of the 12+len
 *                 bytes before it (zlib crc32)
 *      -      -   zeros: the preallocated tail (see below)
 *
 * Preallocation: the file is extended with zeros PREALLOC bytes at a time, and the extension
 * made durable with fsync (data, size, block map) before any record is written into it.
 * Appends then overwrite blocks that are already allocated and part of the file, so one
 * fdatasync per batch makes the batch durable without writing the inode or the block bitmaps
 * (on ext4 without a journal an fsync of a growing file is three synchronous writes: data,
 * inode, bitmaps). Recovery is unchanged: the zeros after the last record do not parse as a
 * record (the CRC of a zero header is not zero), so they end the journal like a torn tail and
 * are cut off at open.
 */
#include "treatylog/journal.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "treatylog/tile.h"

#define MAGIC "TLJRNL01"
#define HDR 16
#define REC_OVERHEAD 16
#define PREALLOC (256u << 10)

struct tl_journal {
    const tl_sys *sys;
    char path[4096];
    char tmp[4096];
    char dir[4096];
    int fd;
    uint64_t base;
    uint64_t nrecs;
    uint64_t bytes;
    uint64_t alloc_end; /* file length: bytes .. alloc_end are durable zeros */
    uint8_t *buf; /* recovery buffer, then the write buffer */
    size_t cap;
    tl_journal_rec *recs;
    bool broken; /* a failed batch could not be cut off: no more appends until reopened */
};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0L, p, (uInt)n);
}

static tl_err io_fail(tl_diag *d, const char *what, const char *path)
{
    int e = errno;
    return tl_fail(d, TL_ERR_IO, "%s %s: %s", what, path, strerror(e));
}

static tl_err write_all(tl_journal *j, int fd, const uint8_t *p, size_t n, tl_diag *d)
{
    while (n > 0) {
        ssize_t w = j->sys->write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return io_fail(d, "write", j->path);
        }
        p += w;
        n -= (size_t)w;
    }
    return TL_OK;
}

static tl_err reserve(tl_journal *j, size_t n, tl_diag *d)
{
    if (n <= j->cap)
        return TL_OK;
    size_t cap = j->cap ? j->cap : 65536;
    while (cap < n)
        cap *= 2;
    uint8_t *nb = realloc(j->buf, cap);
    if (!nb)
        return tl_fail(d, TL_ERR_NOMEM, "journal buffer");
    j->buf = nb;
    j->cap = cap;
    return TL_OK;
}

/* Writes a fresh journal with header `base` to tmp, fsyncs it, renames it over the journal
 * and fsyncs the directory; then opens it for appending. */
static tl_err create_fresh(tl_journal *j, uint64_t base, tl_diag *d)
{
    uint8_t hdr[HDR];
    memcpy(hdr, MAGIC, 8);
    put64(hdr + 8, base);
    int fd = j->sys->open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail(d, "open", j->tmp);
    tl_err e = write_all(j, fd, hdr, sizeof hdr, d);
    if (e == TL_OK && j->sys->fsync(fd) != 0)
        e = io_fail(d, "fsync", j->tmp);
    if (j->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(d, "close", j->tmp);
    if (e == TL_OK && j->sys->rename(j->tmp, j->path) != 0)
        e = io_fail(d, "rename to", j->path);
    if (e == TL_OK) {
        int dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || j->sys->fsync(dfd) != 0)
            e = io_fail(d, "fsync", j->dir);
        if (dfd >= 0)
            close(dfd);
    }
    if (e != TL_OK)
        return e;
    if (j->fd >= 0)
        j->sys->close(j->fd);
    j->fd = j->sys->open(j->path, O_WRONLY | O_CLOEXEC, 0600);
    if (j->fd < 0)
        return io_fail(d, "open", j->path);
    if (lseek(j->fd, HDR, SEEK_SET) != (off_t)HDR)
        return io_fail(d, "seek", j->path);
    j->base = base;
    j->nrecs = 0;
    j->bytes = HDR;
    j->alloc_end = HDR;
    return TL_OK;
}

tl_err tl_journal_open(tl_journal **out, const char *dir, const tl_sys *sys, uint64_t log_size,
                       tl_journal_rec **recs, size_t *nrecs, tl_diag *d)
{
    *recs = NULL;
    *nrecs = 0;
    tl_journal *j = calloc(1, sizeof *j);
    if (!j)
        return tl_fail(d, TL_ERR_NOMEM, "journal");
    j->sys = sys ? sys : &tl_sys_default;
    j->fd = -1;
    int n1 = snprintf(j->path, sizeof j->path, "%s/.treatylog/journal", dir);
    int n2 = snprintf(j->tmp, sizeof j->tmp, "%s/.treatylog/journal.tmp", dir);
    int n3 = snprintf(j->dir, sizeof j->dir, "%s/.treatylog", dir);
    if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n2 >= sizeof j->tmp) {
        free(j);
        return tl_fail(d, TL_ERR_TOOBIG, "path too long: %s", dir);
    }
    /* Read what is there. */
    tl_err e = TL_OK;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        e = io_fail(d, "open", j->path);
    } else if (fd < 0) {
        e = create_fresh(j, log_size, d);
    } else {
        struct stat sb;
        if (fstat(fd, &sb) != 0)
            e = io_fail(d, "stat", j->path);
        size_t size = e == TL_OK ? (size_t)sb.st_size : 0;
        if (e == TL_OK)
            e = reserve(j, size + 1, d);
        size_t got = 0;
        while (e == TL_OK && got < size) {
            ssize_t r = read(fd, j->buf + got, size - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                e = io_fail(d, "read", j->path);
                break;
            }
            got += (size_t)r;
        }
        close(fd);
        if (e == TL_OK && (size < HDR || memcmp(j->buf, MAGIC, 8) != 0)) {
            /* A header is written and fsynced before the rename that makes it the journal,
             * so a short or foreign file is not ours to interpret. */
            e = tl_fail(d, TL_ERR_FORMAT, "%s: not a treatylog journal", j->path);
        }
        if (e == TL_OK) {
            j->base = get64(j->buf + 8);
            size_t pos = HDR, cnt = 0, cap = 0;
            while (e == TL_OK && pos + REC_OVERHEAD <= size) {
                uint32_t len = get32(j->buf + pos);
                if (len > TL_ENTRY_MAX || pos + REC_OVERHEAD + len > size)
                    break; /* torn tail */
                if (crc(j->buf + pos, 12 + (size_t)len) != get32(j->buf + pos + 12 + len))
                    break; /* torn or corrupt tail */
                if (cnt == cap) {
                    cap = cap ? 2 * cap : 256;
                    tl_journal_rec *nr = realloc(j->recs, cap * sizeof *nr);
                    if (!nr) {
                        e = tl_fail(d, TL_ERR_NOMEM, "journal records");
                        break;
                    }
                    j->recs = nr;
                }
                j->recs[cnt].entry = j->buf + pos + 12;
                j->recs[cnt].len = len;
                j->recs[cnt].accepted_ms = get64(j->buf + pos + 4);
                cnt++;
                pos += REC_OVERHEAD + len;
            }
            if (e == TL_OK && j->base > log_size)
                e = tl_fail(d, TL_ERR_CONFLICT,
                            "%s starts at index %llu but the log has only %llu entries: the "
                            "log lost integrated entries; refusing to start",
                            j->path, (unsigned long long)j->base, (unsigned long long)log_size);
            if (e == TL_OK) {
                j->nrecs = cnt;
                j->bytes = pos;
                /* Cut a torn tail off, then append after the last good record. */
                j->fd = j->sys->open(j->path, O_WRONLY | O_CLOEXEC, 0600);
                if (j->fd < 0)
                    e = io_fail(d, "open", j->path);
                else if (pos < size && (ftruncate(j->fd, (off_t)pos) != 0 ||
                                        j->sys->fsync(j->fd) != 0))
                    e = io_fail(d, "truncate", j->path);
                else if (lseek(j->fd, (off_t)pos, SEEK_SET) != (off_t)pos)
                    e = io_fail(d, "seek", j->path);
                j->alloc_end = pos;
                uint64_t done = log_size - j->base; /* records already integrated */
                if (e == TL_OK && done < cnt) {
                    *recs = j->recs + done;
                    *nrecs = cnt - (size_t)done;
                }
            }
        }
    }
    if (e != TL_OK) {
        tl_journal_close(j);
        return e;
    }
    *out = j;
    return TL_OK;
}

/* fdatasync for the real system calls; a test table's fsync otherwise (fault injection). */
static int sync_data(tl_journal *j)
{
    if (j->sys == &tl_sys_default)
        return fdatasync(j->fd);
    return j->sys->fsync(j->fd);
}

/* Extends the file with zeros to cover at least `need` bytes (PREALLOC at a time) and makes
 * the extension durable (fsync: size and block map); the file position is left at j->bytes.
 * On error the file is cut back to j->bytes. */
static tl_err extend(tl_journal *j, uint64_t need, tl_diag *d)
{
    uint64_t end = (need + PREALLOC - 1) / PREALLOC * PREALLOC;
    uint8_t *zero = calloc(1, 65536);
    if (!zero)
        return tl_fail(d, TL_ERR_NOMEM, "journal preallocation");
    tl_err e = TL_OK;
    if (lseek(j->fd, (off_t)j->alloc_end, SEEK_SET) != (off_t)j->alloc_end)
        e = io_fail(d, "seek", j->path);
    for (uint64_t at = j->alloc_end; e == TL_OK && at < end;) {
        size_t n = end - at < 65536 ? (size_t)(end - at) : 65536;
        e = write_all(j, j->fd, zero, n, d);
        at += n;
    }
    free(zero);
    if (e == TL_OK && j->sys->fsync(j->fd) != 0)
        e = io_fail(d, "fsync", j->path);
    if (e == TL_OK)
        j->alloc_end = end;
    else if (ftruncate(j->fd, (off_t)j->bytes) == 0)
        j->alloc_end = j->bytes;
    if (lseek(j->fd, (off_t)j->bytes, SEEK_SET) != (off_t)j->bytes && e == TL_OK)
        e = io_fail(d, "seek", j->path);
    return e;
}

tl_err tl_journal_append(tl_journal *j, const uint8_t *const *entries, const size_t *lens,
                         size_t n, uint64_t accepted_ms, tl_diag *d)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > TL_ENTRY_MAX)
            return tl_fail(d, TL_ERR_TOOBIG, "entry of %zu bytes", lens[i]);
        total += REC_OVERHEAD + lens[i];
    }
    if (j->broken)
        return tl_fail(d, TL_ERR_IO, "%s: a failed write could not be undone; restart the "
                                     "server to recover the journal", j->path);
    /* The recovery records point into buf: they are consumed before the first append. */
    free(j->recs);
    j->recs = NULL;
    tl_err e = reserve(j, total, d);
    if (e != TL_OK)
        return e;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = j->buf + pos;
        put32(p, (uint32_t)lens[i]);
        put64(p + 4, accepted_ms);
        memcpy(p + 12, entries[i], lens[i]);
        put32(p + 12 + lens[i], crc(p, 12 + lens[i]));
        pos += REC_OVERHEAD + lens[i];
    }
    e = j->bytes + total > j->alloc_end ? extend(j, j->bytes + total, d) : TL_OK;
    if (e == TL_OK)
        e = write_all(j, j->fd, j->buf, total, d);
    if (e == TL_OK && sync_data(j) != 0)
        e = io_fail(d, "fdatasync", j->path);
    if (e != TL_OK) {
        /* Nothing of this batch is acknowledged: cut it off so the file holds only what was
         * durable before. If even that fails, recovery stops at the first bad CRC anyway;
         * a record whose CRC happens to check out was fully written, and its submitter was
         * told it failed: a later duplicate submission is then deduplicated to it. */
        if (ftruncate(j->fd, (off_t)j->bytes) != 0 ||
            lseek(j->fd, (off_t)j->bytes, SEEK_SET) != (off_t)j->bytes)
            j->broken = true; /* appending after garbage would hide later records */
        else
            (void)j->sys->fsync(j->fd); /* best effort; see above */
        j->alloc_end = j->bytes; /* the next append extends (and fsyncs) again */
        return e;
    }
    j->nrecs += n;
    j->bytes += total;
    return TL_OK;
}

tl_err tl_journal_reset(tl_journal *j, uint64_t log_size, tl_diag *d)
{
    if (j->base + j->nrecs != log_size)
        return tl_fail(d, TL_ERR_INTERNAL,
                       "journal reset at %llu with records up to %llu not integrated",
                       (unsigned long long)log_size, (unsigned long long)(j->base + j->nrecs));
    tl_err e = create_fresh(j, log_size, d);
    if (e == TL_OK)
        j->broken = false;
    return e;
}

uint64_t tl_journal_next_index(const tl_journal *j)
{
    return j->base + j->nrecs;
}

uint64_t tl_journal_bytes(const tl_journal *j)
{
    return j->bytes;
}

void tl_journal_close(tl_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        j->sys->close(j->fd);
    free(j->buf);
    free(j->recs);
    free(j);
}
