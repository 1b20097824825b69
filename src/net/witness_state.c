/* witness_state.c - the witness's durable state directory: per-origin records replaced by
 * compare-and-swap in group commits, reference/c2sp-formats.md §7.5.
 *
 *   DIR/lock                      flock()ed by the one witness process using DIR
 *   DIR/witness.pub               the witness verifier key DIR belongs to (written once)
 *   DIR/state.journal             every record, appended in group commits (layout below)
 *   DIR/state.journal.tmp         a snapshot being written (compaction); removed at open
 *   DIR/cosigned/                 the layout of older versions (one file per origin), kept as
 *                                 an import directory: a file cosigned/<hex> found at open
 *                                 is imported as the record of <hex>, then removed
 *   DIR/evidence/<time>-<hex>[-N] requests refused for inconsistency (docs/witness.md)
 *
 * hex = lower-case SHA-256 of the origin; key = those 32 bytes. A record is the latest
 * cosigned checkpoint, as GET <hex>/checkpoint serves it. Every record lives in memory (a hash
 * table key -> record, loaded at open); the journal is its durable form:
 *
 *   OFFSET  SIZE  the journal file
 *        0    16  "treatylog-wj/v1\n"
 *       16     *  frames, one per group commit (a snapshot: one per 16 MiB)
 *   frame:
 *        0     4  "TLWB"
 *        4     4  P, payload length, little-endian, 1 .. 64 MiB
 *        8     P  payload: records, each key (32) | length L (4, LE, <= 1 MiB) | L bytes
 *      8+P    32  SHA-256 of the frame's first 8+P bytes
 *
 * Replaying the frames in order gives the table (a later record of a key replaces the earlier).
 * One committer thread owns the journal. A batch of replace() calls becomes:
 *   for each: compare the table's record byte-for-byte with the caller's expected record
 *             (the CAS; a mismatch fails that call and writes nothing for it)
 *   one write() of one frame with every record that passed, at the journal's end
 *   fdatasync()               THE COMMIT POINT of the whole batch
 *   the table takes the new records (readers see them from now); the callers return TL_OK.
 * A frame is all or nothing: a crash during the write leaves a torn frame at the end, which
 * the next open cuts off (ftruncate + fsync) - none of its records was acknowledged. A damaged
 * frame with a complete valid frame after it is not a torn tail but damage: open refuses the
 * directory rather than drop acknowledged records (that would roll the witness back).
 * A failed write or fdatasync changes nothing: the journal is cut back to the end of the last
 * committed frame and fsynced, the callers get TL_ERR_IO and the store stays healthy (a full
 * disk recovers). If that cut-back fails too, the journal's content is unknown: the store turns
 * unhealthy and refuses every later replace until a restart reloads it from disk, as the
 * sequencer does at its commit point.
 *
 * Compaction, when the journal outgrows twice the live records plus 4 MiB (checked after a
 * batch, by the committer): the table is written as a snapshot to state.journal.tmp, fsynced,
 * renamed over state.journal (the compaction's commit point) and the directory fsynced. Before
 * the rename a failure only removes the temp file (the old journal goes on; retried 4 MiB
 * later); a failed rename or directory fsync makes the store unhealthy. At every crash point
 * state.journal names a complete journal holding every acknowledged record.
 *
 * Import (migration from the one-file-per-origin layout): at open, after the journal is loaded,
 * the files cosigned/<hex> are read and appended as frames (fdatasync), overriding the journal's
 * records of those keys; only then are they unlinked (with the old layout's temp files, <hex>.tmp),
 * and cosigned/ fsynced. A crash in between imports the same files again.
 * cosigned/ itself stays, empty. An older treatylog started on a migrated directory would find
 * it empty and start from the never-cosigned state: do not downgrade (docs/witness.md).
 *
 * The sync hook: tl_sys has no fdatasync. With the real table the batch's sync is fdatasync of
 * the journal; with a test table it is the table's syncfs on the journal's descriptor (what a
 * test fails is the batch's one sync either way).
 */
#include "witness_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "treatylog/hash.h"

#define HEX_LEN       64
#define RECORD_MAX    (1u << 20)
#define PATH_MAX_TL   4096
#define JOURNAL       "state.journal"
#define JOURNAL_TMP   "state.journal.tmp"
#define FILE_MAGIC    "treatylog-wj/v1\n"
#define FILE_HDR      16
#define FRAME_MAGIC   "TLWB"
#define FRAME_HDR     8
#define FRAME_SUM     TL_HASH_LEN
#define FRAME_MAX     (64u << 20) /* largest payload a reader accepts */
#define FRAME_TARGET  (16u << 20) /* a batch or snapshot frame stops growing past this */
#define REC_HDR       (TL_HASH_LEN + 4)
#define COMPACT_SLACK (4ull << 20)

typedef struct job {
    uint8_t key[TL_HASH_LEN];
    const char *hex;
    const char *expect;
    size_t elen;
    const char *rec;
    size_t len;
    char *copy; /* the record for the table, made before the commit (committer) */
    tl_err err;
    tl_diag d;
    bool done, staged;
    pthread_cond_t cv; /* signalled when done: one waiter each, no thundering herd */
    struct job *next;
} job;

typedef struct entry {
    uint8_t key[TL_HASH_LEN];
    char *rec; /* NUL-terminated; NULL: free slot */
    size_t len;
} entry;

/* Open addressing, linear probing, no deletion. */
typedef struct table {
    entry *e;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} table;

struct tl_wstate {
    const tl_sys *sys;
    char dir[PATH_MAX_TL - 128]; /* leaves room for /state.journal.tmp */
    int dirfd, cosfd, evfd, lockfd;
    int jfd;             /* the journal, positioned at its end (committer) */
    uint64_t end;        /* end of the last committed frame (committer) */
    uint64_t live;       /* bytes the table takes as a snapshot's records (committer) */
    uint64_t compact_at; /* do not try compacting before end reaches this (committer) */
    pthread_t committer;
    bool started;
    /* The table: written by the committer (or open) under the write lock, read by readers
     * under the read lock; the committer reads it without. */
    pthread_rwlock_t tmu;
    table t;
    /* mu guards everything below. */
    pthread_mutex_t mu;
    pthread_cond_t work;
    job *head, *tail;
    bool stop;
    tl_wstate_stats st;
};

static tl_err io_fail(tl_diag *d, const char *what, const char *path)
{
    int err = errno;
    return tl_fail(d, TL_ERR_IO, "%s %s: %s", what, path, strerror(err));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses exactly 64 lower-case hex digits (then NUL) into key. */
static bool hex_key(const char *hex, uint8_t key[TL_HASH_LEN])
{
    for (size_t i = 0; i < TL_HASH_LEN; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (lo < 0)
            return false;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[HEX_LEN] == '\0';
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- the table ---- */

static size_t key_slot(const uint8_t key[TL_HASH_LEN], size_t cap)
{
    /* Keys are SHA-256 outputs, but tests use patterned ones: mix every byte. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < TL_HASH_LEN; i++)
        h = (h ^ key[i]) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* The entry of key, or the free slot where it would go; NULL if the table has no slots. */
static entry *table_find(const table *t, const uint8_t key[TL_HASH_LEN])
{
    if (t->cap == 0)
        return NULL;
    for (size_t i = key_slot(key, t->cap);; i = (i + 1) & (t->cap - 1)) {
        entry *e = &t->e[i];
        if (!e->rec || memcmp(e->key, key, TL_HASH_LEN) == 0)
            return e;
    }
}

/* Makes room for `more` new keys (load at most 1/2) without touching what readers see until
 * the swap, done under the write lock. */
static tl_err table_reserve(tl_wstate *s, size_t more, tl_diag *d)
{
    table *t = &s->t;
    if ((t->n + more) * 2 <= t->cap)
        return TL_OK;
    size_t cap = t->cap ? t->cap : 64;
    while ((t->n + more) * 2 > cap)
        cap *= 2;
    entry *ne = calloc(cap, sizeof *ne);
    if (!ne)
        return tl_fail(d, TL_ERR_NOMEM, "witness state table of %zu slots", cap);
    table nt = {ne, cap, t->n};
    for (size_t i = 0; i < t->cap; i++)
        if (t->e[i].rec)
            *table_find(&nt, t->e[i].key) = t->e[i];
    pthread_rwlock_wrlock(&s->tmu);
    entry *old = t->e;
    *t = nt;
    pthread_rwlock_unlock(&s->tmu);
    free(old);
    return TL_OK;
}

/* Sets key's record to rec (taking it) under the write lock; room was reserved. */
static void table_set(tl_wstate *s, const uint8_t key[TL_HASH_LEN], char *rec, size_t len)
{
    pthread_rwlock_wrlock(&s->tmu);
    entry *e = table_find(&s->t, key);
    char *old = e->rec;
    if (old) {
        s->live -= REC_HDR + e->len;
    } else {
        memcpy(e->key, key, TL_HASH_LEN);
        s->t.n++;
    }
    e->rec = rec;
    e->len = len;
    s->live += REC_HDR + len;
    pthread_rwlock_unlock(&s->tmu);
    free(old);
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->e[i].rec);
    free(t->e);
    *t = (table){0};
}

/* ---- writing ---- */

static tl_err write_all(const tl_sys *sys, int fd, const void *buf, size_t len, const char *path,
                        tl_diag *d)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = sys->write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return io_fail(d, "write", path);
        }
        p += w;
        len -= (size_t)w;
    }
    return TL_OK;
}

/* The batch's one sync (see the header comment). */
static int sync_journal(const tl_wstate *s, int fd)
{
    if (s->sys == &tl_sys_default)
        return fdatasync(fd);
    return s->sys->syncfs(fd);
}

/* A frame being built: header, records, checksum. */
typedef struct frame {
    uint8_t *buf;
    size_t len, cap;
} frame;

static tl_err frame_add(frame *f, const uint8_t key[TL_HASH_LEN], const char *rec, size_t len,
                        tl_diag *d)
{
    size_t need = (f->len ? f->len : FRAME_HDR) + REC_HDR + len + FRAME_SUM;
    if (need > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(f->buf, cap);
        if (!nb)
            return tl_fail(d, TL_ERR_NOMEM, "journal frame of %zu bytes", need);
        f->buf = nb;
        f->cap = cap;
    }
    if (f->len == 0)
        f->len = FRAME_HDR;
    memcpy(f->buf + f->len, key, TL_HASH_LEN);
    put32(f->buf + f->len + TL_HASH_LEN, (uint32_t)len);
    if (len > 0)
        memcpy(f->buf + f->len + REC_HDR, rec, len);
    f->len += REC_HDR + len;
    return TL_OK;
}

/* Closes the frame (header and checksum); it is f->buf[0..f->len). */
static void frame_seal(frame *f)
{
    memcpy(f->buf, FRAME_MAGIC, 4);
    put32(f->buf + 4, (uint32_t)(f->len - FRAME_HDR));
    tl_sha256(f->buf + f->len, f->buf, f->len);
    f->len += FRAME_SUM;
}

/* Cuts the journal back to s->end after a failed append and makes that durable. False (and
 * the store must turn unhealthy) if that fails too. */
static bool rollback(tl_wstate *s, tl_diag *d)
{
    if (ftruncate(s->jfd, (off_t)s->end) != 0) {
        io_fail(d, "truncate", JOURNAL);
        return false;
    }
    if (lseek(s->jfd, (off_t)s->end, SEEK_SET) < 0) {
        io_fail(d, "seek", JOURNAL);
        return false;
    }
    if (s->sys->fsync(s->jfd) != 0) {
        io_fail(d, "fsync", JOURNAL);
        return false;
    }
    return true;
}

/* Marks the store unhealthy with d's message. */
static void set_unhealthy(tl_wstate *s, const tl_diag *d)
{
    pthread_mutex_lock(&s->mu);
    s->st.healthy = false;
    snprintf(s->st.last_error, sizeof s->st.last_error, "%s", d->msg);
    pthread_mutex_unlock(&s->mu);
}

/* Appends the sealed frame f and syncs it: the commit point. On failure the journal is cut
 * back (TL_ERR_IO, nothing changed); if that fails as well, *unknown is set. */
static tl_err append_frame(tl_wstate *s, const frame *f, bool *unknown, tl_diag *d)
{
    tl_err e = write_all(s->sys, s->jfd, f->buf, f->len, JOURNAL, d);
    if (e == TL_OK && sync_journal(s, s->jfd) != 0)
        e = io_fail(d, "fdatasync", JOURNAL);
    if (e == TL_OK) {
        s->end += f->len;
        return TL_OK;
    }
    tl_diag rd = {{0}};
    if (!rollback(s, &rd)) {
        char first[TL_DIAG_LEN] = "";
        if (d)
            memcpy(first, d->msg, sizeof first);
        *unknown = true;
        tl_fail(d, TL_ERR_IO, "%.300s; then undoing it: %.300s", first, rd.msg);
    }
    return TL_ERR_IO;
}

/* Writes the table as a fresh journal at DIR/state.journal.tmp and renames it over
 * DIR/state.journal; on success the new file is the journal (*fd, *end). A failure before the
 * rename returns TL_ERR_IO with nothing changed (*unknown false); after it, *unknown is set. */
static tl_err write_snapshot(tl_wstate *s, int *fd, uint64_t *end, bool *unknown, tl_diag *d)
{
    char tmp[PATH_MAX_TL], dst[PATH_MAX_TL];
    snprintf(tmp, sizeof tmp, "%s/" JOURNAL_TMP, s->dir);
    snprintf(dst, sizeof dst, "%s/" JOURNAL, s->dir);
    int nfd = s->sys->open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (nfd < 0)
        return io_fail(d, "open", tmp);
    uint64_t size = FILE_HDR;
    tl_err e = write_all(s->sys, nfd, FILE_MAGIC, FILE_HDR, tmp, d);
    frame f = {0};
    for (size_t i = 0; i <= s->t.cap && e == TL_OK; i++) {
        bool last = i == s->t.cap;
        if (!last && s->t.e[i].rec)
            e = frame_add(&f, s->t.e[i].key, s->t.e[i].rec, s->t.e[i].len, d);
        if (e == TL_OK && f.len > 0 && (last || f.len >= FRAME_TARGET)) {
            frame_seal(&f);
            e = write_all(s->sys, nfd, f.buf, f.len, tmp, d);
            size += f.len;
            f.len = 0;
        }
    }
    free(f.buf);
    if (e == TL_OK && s->sys->fsync(nfd) != 0)
        e = io_fail(d, "fsync", tmp);
    if (e == TL_OK && s->sys->rename(tmp, dst) != 0) {
        e = io_fail(d, "rename to", dst);
        *unknown = true;
    }
    if (e == TL_OK && s->sys->fsync(s->dirfd) != 0) {
        e = io_fail(d, "fsync directory", s->dir);
        *unknown = true;
    }
    if (e != TL_OK) {
        (void)s->sys->close(nfd);
        if (!*unknown)
            (void)unlinkat(s->dirfd, JOURNAL_TMP, 0); /* best effort; removed at open too */
        return e;
    }
    *fd = nfd; /* positioned at its end */
    *end = size;
    return TL_OK;
}

/* Compacts the journal if it outgrew the live records (committer, between batches). */
static void maybe_compact(tl_wstate *s)
{
    uint64_t limit = 2 * (FILE_HDR + s->live) + COMPACT_SLACK;
    if (s->end <= limit || s->end < s->compact_at)
        return;
    tl_diag d = {{0}};
    bool unknown = false;
    int nfd = -1;
    uint64_t nend = 0;
    tl_err e = write_snapshot(s, &nfd, &nend, &unknown, &d);
    if (e == TL_OK) {
        (void)s->sys->close(s->jfd);
        s->jfd = nfd;
        s->end = nend;
        s->compact_at = 0;
    } else {
        s->compact_at = s->end + COMPACT_SLACK;
        if (unknown)
            set_unhealthy(s, &d);
    }
    pthread_mutex_lock(&s->mu);
    if (e == TL_OK) {
        s->st.compactions++;
    } else {
        s->st.io_errors++;
        if (!unknown)
            snprintf(s->st.last_error, sizeof s->st.last_error, "compaction: %.480s", d.msg);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- the committer ---- */

static void commit_batch(tl_wstate *s, job **b, size_t n)
{
    pthread_mutex_lock(&s->mu);
    bool healthy = s->st.healthy;
    char last[TL_DIAG_LEN];
    memcpy(last, s->st.last_error, sizeof last);
    pthread_mutex_unlock(&s->mu);
    if (!healthy) {
        for (size_t i = 0; i < n; i++)
            b[i]->err =
                tl_fail(&b[i]->d, TL_ERR_IO,
                        "the witness state failed earlier (%.400s); restart to reload it", last);
        return;
    }
    /* The CAS against the table (no lock: only this thread writes it), and the frame. */
    frame f = {0};
    size_t staged = 0, fresh = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = b[i];
        j->err = TL_OK;
        const entry *cur = table_find(&s->t, j->key);
        if (!cur || !cur->rec) {
            if (j->elen != 0)
                j->err = tl_fail(&j->d, TL_ERR_CONFLICT, "record %s does not exist", j->hex);
        } else if (cur->len != j->elen ||
                   (j->elen > 0 && memcmp(cur->rec, j->expect, j->elen) != 0)) {
            j->err = tl_fail(&j->d, TL_ERR_CONFLICT, "record %s changed underneath", j->hex);
        }
        if (j->err != TL_OK)
            continue;
        j->copy = malloc(j->len + 1);
        if (!j->copy) {
            j->err = tl_fail(&j->d, TL_ERR_NOMEM, "record of %zu bytes", j->len);
            continue;
        }
        if (j->len > 0)
            memcpy(j->copy, j->rec, j->len);
        j->copy[j->len] = '\0';
        j->err = frame_add(&f, j->key, j->rec, j->len, &j->d);
        if (j->err != TL_OK) {
            free(j->copy);
            j->copy = NULL;
            continue;
        }
        j->staged = true;
        staged++;
        fresh += !cur || !cur->rec;
    }
    tl_diag d = {{0}};
    tl_err e = TL_OK;
    if (staged > 0)
        e = table_reserve(s, fresh, &d);
    bool unknown = false;
    if (staged > 0 && e == TL_OK) {
        frame_seal(&f);
        e = append_frame(s, &f, &unknown, &d);
        if (unknown)
            set_unhealthy(s, &d);
    }
    free(f.buf);
    for (size_t i = 0; i < n; i++) {
        job *j = b[i];
        if (!j->staged)
            continue;
        if (e == TL_OK) {
            table_set(s, j->key, j->copy, j->len);
        } else {
            free(j->copy);
            j->err = e;
            j->d = d;
        }
        j->copy = NULL;
    }
}

static void *committer(void *arg)
{
    tl_wstate *s = arg;
    job *b[TL_WSTATE_BATCH_MAX];
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head)
            break; /* stopping, nothing queued */
        /* Take up to a batch (count and bytes), in order, at most one job per record; the
         * rest waits for the next batch. */
        size_t n = 0, bytes = 0;
        job **pp = &s->head;
        s->tail = NULL;
        while (*pp) {
            job *j = *pp;
            bool dup = false;
            for (size_t i = 0; i < n && !dup; i++)
                dup = memcmp(b[i]->key, j->key, TL_HASH_LEN) == 0;
            if (n < TL_WSTATE_BATCH_MAX && !dup && (n == 0 || bytes + j->len <= FRAME_TARGET)) {
                b[n++] = j;
                bytes += REC_HDR + j->len;
                *pp = j->next;
            } else {
                s->tail = j;
                pp = &j->next;
            }
        }
        pthread_mutex_unlock(&s->mu);
        commit_batch(s, b, n);
        pthread_mutex_lock(&s->mu);
        s->st.batches++;
        for (size_t i = 0; i < n; i++) {
            if (b[i]->err == TL_OK)
                s->st.commits++;
            else if (b[i]->err == TL_ERR_CONFLICT)
                s->st.conflicts++;
            else
                s->st.io_errors++;
            b[i]->done = true;
            pthread_cond_signal(&b[i]->cv);
        }
        s->st.journal_bytes = s->end;
        bool healthy = s->st.healthy;
        pthread_mutex_unlock(&s->mu);
        /* The callers are on their way; the next batch waits for a compaction. */
        if (healthy)
            maybe_compact(s);
        pthread_mutex_lock(&s->mu);
        s->st.journal_bytes = s->end;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

tl_err tl_wstate_replace(tl_wstate *s, const char *hex, const char *expect, size_t elen,
                         const char *rec, size_t len, tl_diag *d)
{
    job j = {.hex = hex, .expect = expect, .elen = elen, .rec = rec, .len = len};
    if (!hex_key(hex, j.key))
        return tl_fail(d, TL_ERR_USAGE, "bad record name");
    if (len > RECORD_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "record of %zu bytes", len);
    pthread_cond_init(&j.cv, NULL);
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        pthread_mutex_unlock(&s->mu);
        pthread_cond_destroy(&j.cv);
        return tl_fail(d, TL_ERR_IO, "the witness state is closing");
    }
    if (s->tail)
        s->tail->next = &j;
    else
        s->head = &j;
    s->tail = &j;
    pthread_cond_signal(&s->work);
    while (!j.done)
        pthread_cond_wait(&j.cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&j.cv);
    if (j.err != TL_OK && d)
        *d = j.d;
    return j.err;
}

/* ---- reads, evidence, stats ---- */

tl_err tl_wstate_read(tl_wstate *s, const char *hex, char **buf, size_t *len, tl_diag *d)
{
    uint8_t key[TL_HASH_LEN];
    if (!hex_key(hex, key))
        return tl_fail(d, TL_ERR_USAGE, "bad record name");
    pthread_rwlock_rdlock(&s->tmu);
    const entry *e = table_find(&s->t, key);
    tl_err err = TL_OK;
    char *out = NULL;
    size_t n = 0;
    if (!e || !e->rec) {
        err = tl_fail(d, TL_ERR_NOTFOUND, "%s: no record", hex);
    } else {
        n = e->len;
        out = malloc(n + 1);
        if (out)
            memcpy(out, e->rec, n + 1);
        else
            err = tl_fail(d, TL_ERR_NOMEM, "reading record %s", hex);
    }
    pthread_rwlock_unlock(&s->tmu);
    if (err == TL_OK) {
        *buf = out;
        *len = n;
    }
    return err;
}

tl_err tl_wstate_evidence(tl_wstate *s, const char *hex, uint64_t now, const char *origin,
                          unsigned status, const char *reason, const char *stored, size_t slen,
                          const char *body, size_t blen, char *name, tl_diag *d)
{
    uint8_t key[TL_HASH_LEN];
    if (!hex_key(hex, key))
        return tl_fail(d, TL_ERR_USAGE, "bad record name");
    char fname[96];
    int fd = -1;
    for (unsigned k = 0; k < 1000 && fd < 0; k++) {
        if (k == 0)
            snprintf(fname, sizeof fname, "%llu-%s", (unsigned long long)now, hex);
        else
            snprintf(fname, sizeof fname, "%llu-%s-%u", (unsigned long long)now, hex, k);
        fd = openat(s->evfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return io_fail(d, "create evidence", fname);
    }
    if (fd < 0)
        return tl_fail(d, TL_ERR_IO, "too much evidence for %s at %llu", hex,
                       (unsigned long long)now);
    /* The reason is one line; never let a request's bytes break the header. */
    char why[TL_DIAG_LEN];
    size_t wl = 0;
    for (const char *p = reason; *p && wl + 1 < sizeof why; p++)
        why[wl++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    why[wl] = '\0';
    char head[TL_DIAG_LEN + 512];
    int hn = snprintf(head, sizeof head,
                      "treatylog-witness-evidence/v1\ntime %llu\norigin %s\nstatus %u\n"
                      "reason %s\nstored %zu\n",
                      (unsigned long long)now, origin, status, why, slen);
    if (hn < 0 || (size_t)hn >= sizeof head) {
        close(fd);
        return tl_fail(d, TL_ERR_INTERNAL, "evidence header too long");
    }
    char mid[64];
    int mn = snprintf(mid, sizeof mid, "\nrequest %zu\n", blen);
    tl_err e = write_all(s->sys, fd, head, (size_t)hn, fname, d);
    if (e == TL_OK)
        e = write_all(s->sys, fd, stored, slen, fname, d);
    if (e == TL_OK)
        e = write_all(s->sys, fd, mid, (size_t)mn, fname, d);
    if (e == TL_OK)
        e = write_all(s->sys, fd, body, blen, fname, d);
    if (e == TL_OK)
        e = write_all(s->sys, fd, "\n", 1, fname, d);
    if (e == TL_OK && s->sys->fsync(fd) != 0)
        e = io_fail(d, "fsync", fname);
    if (s->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(d, "close", fname);
    if (e == TL_OK && s->sys->fsync(s->evfd) != 0)
        e = io_fail(d, "fsync directory", "evidence");
    if (e == TL_OK && name)
        memcpy(name, fname, strlen(fname) + 1);
    pthread_mutex_lock(&s->mu);
    if (e == TL_OK)
        s->st.evidence++;
    else
        s->st.io_errors++;
    pthread_mutex_unlock(&s->mu);
    return e;
}

void tl_wstate_stats_get(tl_wstate *s, tl_wstate_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_rdlock(&s->tmu);
    out->records = s->t.n;
    pthread_rwlock_unlock(&s->tmu);
}

/* ---- open and close ---- */

/* Reads file name under dirfd (at most max bytes) into a malloc'd NUL-terminated buffer. */
static tl_err read_at(int dirfd, const char *name, size_t max, char **out, size_t *outlen,
                      tl_diag *d)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return tl_fail(d, TL_ERR_NOTFOUND, "%s: no such file", name);
        return io_fail(d, "open", name);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        tl_err e = io_fail(d, "stat", name);
        close(fd);
        return e;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > max) {
        close(fd);
        return tl_fail(d, TL_ERR_TOOBIG, "%s: larger than %zu bytes", name, max);
    }
    size_t cap = (size_t)sb.st_size;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return tl_fail(d, TL_ERR_NOMEM, "reading %s", name);
    }
    size_t n = 0;
    tl_err e = TL_OK;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = io_fail(d, "read", name);
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (e != TL_OK) {
        free(buf);
        return e;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return TL_OK;
}

/* Writes a small file durably: temp, fsync, rename, fsync the directory. */
static tl_err replace_durable(tl_wstate *s, const char *name, const char *buf, size_t len,
                              tl_diag *d)
{
    char tmp[PATH_MAX_TL], dst[PATH_MAX_TL];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", s->dir, name);
    snprintf(dst, sizeof dst, "%s/%s", s->dir, name);
    int fd = s->sys->open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_fail(d, "open", tmp);
    tl_err e = write_all(s->sys, fd, buf, len, tmp, d);
    if (e == TL_OK && s->sys->fsync(fd) != 0)
        e = io_fail(d, "fsync", tmp);
    if (s->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(d, "close", tmp);
    if (e == TL_OK && s->sys->rename(tmp, dst) != 0)
        e = io_fail(d, "rename to", dst);
    if (e != TL_OK) {
        (void)unlink(tmp); /* best effort */
        return e;
    }
    if (s->sys->fsync(s->dirfd) != 0)
        return io_fail(d, "fsync directory", s->dir);
    return TL_OK;
}

static tl_err mkdir_at(int dirfd, const char *name, const char *dirpath, tl_diag *d)
{
    if (mkdirat(dirfd, name, 0755) == 0) {
        if (fsync(dirfd) != 0)
            return io_fail(d, "fsync directory", dirpath);
        return TL_OK;
    }
    if (errno == EEXIST)
        return TL_OK;
    return io_fail(d, "mkdir", name);
}

/* Checks DIR/witness.pub against the key, or writes it the first time. */
static tl_err bind_key(tl_wstate *s, const tl_vkey *witness, tl_diag *d)
{
    char want[TL_VKEY_TEXT_MAX + 1];
    size_t wn = tl_vkey_format(want, witness);
    want[wn++] = '\n';
    want[wn] = '\0';
    char *have = NULL;
    size_t hn = 0;
    tl_err e = read_at(s->dirfd, "witness.pub", 4096, &have, &hn, d);
    if (e == TL_ERR_NOTFOUND)
        return replace_durable(s, "witness.pub", want, wn, d);
    if (e != TL_OK)
        return e;
    bool same = hn == wn && memcmp(have, want, wn) == 0;
    free(have);
    if (!same)
        return tl_fail(d, TL_ERR_USAGE,
                       "%s/witness.pub names another witness key: a state directory belongs "
                       "to one witness key (use a new --dir for a new key)",
                       s->dir);
    return TL_OK;
}

/* The length of the valid frame at p[0..avail), or 0 if there is none (torn or damaged). */
static size_t frame_at(const uint8_t *p, size_t avail)
{
    if (avail < FRAME_HDR + FRAME_SUM || memcmp(p, FRAME_MAGIC, 4) != 0)
        return 0;
    uint32_t plen = get32(p + 4);
    if (plen == 0 || plen > FRAME_MAX || avail - FRAME_HDR - FRAME_SUM < plen)
        return 0;
    uint8_t sum[TL_HASH_LEN];
    tl_sha256(sum, p, FRAME_HDR + plen);
    if (memcmp(sum, p + FRAME_HDR + plen, FRAME_SUM) != 0)
        return 0;
    return FRAME_HDR + plen + FRAME_SUM;
}

/* Replays the records of a valid frame into the table. */
static tl_err replay_frame(tl_wstate *s, const uint8_t *p, size_t flen, uint64_t off, tl_diag *d)
{
    size_t pos = FRAME_HDR, stop = flen - FRAME_SUM;
    while (pos < stop) {
        uint32_t len = stop - pos >= REC_HDR ? get32(p + pos + TL_HASH_LEN) : 0;
        if (stop - pos < REC_HDR || len > RECORD_MAX || stop - pos - REC_HDR < len)
            return tl_fail(d, TL_ERR_FORMAT,
                           "%s/" JOURNAL ": the frame at offset %llu is malformed", s->dir,
                           (unsigned long long)off);
        char *rec = malloc((size_t)len + 1);
        tl_err e = rec ? table_reserve(s, 1, d) : tl_fail(d, TL_ERR_NOMEM, "loading the journal");
        if (e != TL_OK) {
            free(rec);
            return e;
        }
        memcpy(rec, p + pos + REC_HDR, len);
        rec[len] = '\0';
        table_set(s, p + pos, rec, len);
        pos += REC_HDR + len;
    }
    return TL_OK;
}

/* Loads DIR/state.journal (s->jfd) into the table; cuts a torn tail off. */
static tl_err load_journal(tl_wstate *s, tl_diag *d)
{
    struct stat sb;
    if (fstat(s->jfd, &sb) != 0)
        return io_fail(d, "stat", JOURNAL);
    size_t size = (size_t)sb.st_size;
    if (size < FILE_HDR)
        return tl_fail(d, TL_ERR_FORMAT, "%s/" JOURNAL ": shorter than its header", s->dir);
    const uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, s->jfd, 0);
    if (m == MAP_FAILED)
        return io_fail(d, "mmap", JOURNAL);
    tl_err e = TL_OK;
    if (memcmp(m, FILE_MAGIC, FILE_HDR) != 0)
        e = tl_fail(d, TL_ERR_FORMAT, "%s/" JOURNAL ": not a witness state journal", s->dir);
    size_t off = FILE_HDR;
    while (e == TL_OK && off < size) {
        size_t flen = frame_at(m + off, size - off);
        if (flen == 0)
            break;
        e = replay_frame(s, m + off, flen, off, d);
        off += flen;
    }
    /* What is left is a torn tail, unless a valid frame follows: then it is damage. */
    for (size_t q = off + 1; e == TL_OK && q + FRAME_HDR + FRAME_SUM <= size; q++) {
        const uint8_t *hit = memmem(m + q, size - q, FRAME_MAGIC, 4);
        if (!hit)
            break;
        q = (size_t)(hit - m);
        if (frame_at(hit, size - q) > 0)
            e = tl_fail(d, TL_ERR_FORMAT,
                        "%s/" JOURNAL ": damaged at offset %zu with valid records after it "
                        "(offset %zu); refusing to drop acknowledged state: restore the "
                        "directory from a copy",
                        s->dir, off, q);
    }
    munmap((void *)m, size);
    if (e != TL_OK)
        return e;
    if (off < size) {
        if (ftruncate(s->jfd, (off_t)off) != 0)
            return io_fail(d, "truncate", JOURNAL);
        if (s->sys->fsync(s->jfd) != 0)
            return io_fail(d, "fsync", JOURNAL);
        s->st.torn_bytes = size - off;
    }
    if (lseek(s->jfd, (off_t)off, SEEK_SET) < 0)
        return io_fail(d, "seek", JOURNAL);
    s->end = off;
    return TL_OK;
}

/* Imports the files cosigned/<hex> (see the header comment). */
static tl_err import_cosigned(tl_wstate *s, tl_diag *d)
{
    int fd = dup(s->cosfd);
    if (fd < 0)
        return io_fail(d, "dup", s->dir);
    DIR *dh = fdopendir(fd);
    if (!dh) {
        tl_err e = io_fail(d, "opendir", "cosigned");
        close(fd);
        return e;
    }
    rewinddir(dh);
    char(*names)[HEX_LEN + 8] = NULL;
    size_t n = 0, cap = 0;
    frame f = {0};
    tl_err e = TL_OK;
    for (struct dirent *de = readdir(dh); de && e == TL_OK; de = readdir(dh)) {
        size_t nl = strlen(de->d_name);
        uint8_t key[TL_HASH_LEN];
        bool rec = hex_key(de->d_name, key);
        bool tmp = nl > 4 && nl <= HEX_LEN + 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0;
        if (!rec && !tmp)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            void *nn = realloc(names, cap * sizeof *names);
            if (!nn) {
                e = tl_fail(d, TL_ERR_NOMEM, "importing cosigned/");
                break;
            }
            names = nn;
        }
        memcpy(names[n++], de->d_name, nl + 1);
        if (!rec)
            continue;
        char *buf = NULL;
        size_t len = 0;
        e = read_at(s->cosfd, de->d_name, RECORD_MAX, &buf, &len, d);
        if (e == TL_OK)
            e = table_reserve(s, 1, d);
        if (e == TL_OK)
            e = frame_add(&f, key, buf, len, d);
        if (e == TL_OK) {
            table_set(s, key, buf, len);
            buf = NULL;
        }
        free(buf);
        if (e == TL_OK && f.len >= FRAME_TARGET) {
            bool unknown = false;
            frame_seal(&f);
            e = append_frame(s, &f, &unknown, d);
            f.len = 0;
        }
    }
    closedir(dh);
    if (e == TL_OK && f.len > 0) {
        bool unknown = false;
        frame_seal(&f);
        e = append_frame(s, &f, &unknown, d);
    }
    free(f.buf);
    /* Durable in the journal: the files can go. */
    for (size_t i = 0; i < n && e == TL_OK; i++)
        if (unlinkat(s->cosfd, names[i], 0) != 0 && errno != ENOENT)
            e = io_fail(d, "unlink cosigned/", names[i]);
    if (e == TL_OK && n > 0 && s->sys->fsync(s->cosfd) != 0)
        e = io_fail(d, "fsync directory", "cosigned");
    free(names);
    return e;
}

/* Opens (creating if needed) and loads the journal, then imports cosigned/. */
static tl_err open_journal(tl_wstate *s, tl_diag *d)
{
    if (unlinkat(s->dirfd, JOURNAL_TMP, 0) != 0 && errno != ENOENT)
        return io_fail(d, "unlink", JOURNAL_TMP);
    char path[PATH_MAX_TL];
    snprintf(path, sizeof path, "%s/" JOURNAL, s->dir);
    s->jfd = s->sys->open(path, O_RDWR | O_CLOEXEC, 0644);
    if (s->jfd < 0 && errno == ENOENT) {
        bool unknown = false;
        tl_err e = write_snapshot(s, &s->jfd, &s->end, &unknown, d); /* the empty table */
        if (e != TL_OK)
            return e;
    } else if (s->jfd < 0) {
        return io_fail(d, "open", path);
    } else {
        tl_err e = load_journal(s, d);
        if (e != TL_OK)
            return e;
    }
    return import_cosigned(s, d);
}

tl_err tl_wstate_open(tl_wstate **out, const char *dir, const tl_vkey *witness, const tl_sys *sys,
                      tl_diag *d)
{
    if (strlen(dir) >= PATH_MAX_TL - 128)
        return tl_fail(d, TL_ERR_USAGE, "state directory path too long");
    tl_wstate *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "witness state");
    s->sys = sys ? sys : &tl_sys_default;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->dirfd = s->cosfd = s->evfd = s->lockfd = s->jfd = -1;
    s->st.healthy = true;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_rwlock_init(&s->tmu, NULL);
    tl_err e = TL_OK;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        e = io_fail(d, "mkdir", dir);
    if (e == TL_OK) {
        s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0)
            e = io_fail(d, "open", dir);
    }
    if (e == TL_OK) {
        s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (s->lockfd < 0)
            e = io_fail(d, "open", "lock");
    }
    if (e == TL_OK && flock(s->lockfd, LOCK_EX | LOCK_NB) != 0)
        e = errno == EWOULDBLOCK
                ? tl_fail(d, TL_ERR_LOCKED,
                          "%s is in use by another witness process (lock %s/lock held)", dir, dir)
                : io_fail(d, "flock", "lock");
    if (e == TL_OK)
        e = bind_key(s, witness, d);
    if (e == TL_OK)
        e = mkdir_at(s->dirfd, "cosigned", dir, d);
    if (e == TL_OK)
        e = mkdir_at(s->dirfd, "evidence", dir, d);
    if (e == TL_OK) {
        s->cosfd = openat(s->dirfd, "cosigned", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        s->evfd = openat(s->dirfd, "evidence", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->cosfd < 0 || s->evfd < 0)
            e = io_fail(d, "open", "cosigned/ or evidence/");
    }
    if (e == TL_OK)
        e = open_journal(s, d);
    if (e == TL_OK) {
        s->st.journal_bytes = s->end;
        if (pthread_create(&s->committer, NULL, committer, s) != 0)
            e = tl_fail(d, TL_ERR_INTERNAL, "cannot start the committer thread");
        else
            s->started = true;
    }
    if (e != TL_OK) {
        tl_wstate_close(s);
        return e;
    }
    *out = s;
    return TL_OK;
}

void tl_wstate_close(tl_wstate *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->committer, NULL);
    }
    if (s->jfd >= 0)
        (void)s->sys->close(s->jfd);
    if (s->cosfd >= 0)
        close(s->cosfd);
    if (s->evfd >= 0)
        close(s->evfd);
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the flock */
    if (s->dirfd >= 0)
        close(s->dirfd);
    table_free(&s->t);
    pthread_rwlock_destroy(&s->tmu);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
