/* witness_state.c - the witness's durable state directory: per-origin records replaced by
 * compare-and-swap in group commits, reference/c2sp-formats.md §7.5.
 *
 *   DIR/lock                      flock()ed by the one witness process using DIR
 *   DIR/witness.pub               the witness verifier key DIR belongs to (written once)
 *   DIR/cosigned/<hex>            per origin (hex = lower-case SHA-256 of the origin): the
 *                                 latest cosigned checkpoint, as GET <hex>/checkpoint serves it
 *   DIR/cosigned/<hex>.tmp        the next record, being written (between commits: the
 *                                 record before last, whose inode is reused)
 *   DIR/evidence/<time>-<hex>[-N] requests refused for inconsistency (docs/witness.md)
 *
 * One committer thread owns every write to cosigned/. A batch of replace() calls becomes:
 *   for each: read cosigned/<hex>, compare byte-for-byte with the caller's expected record
 *             (the CAS; a mismatch fails that call and writes nothing for it);
 *             write cosigned/<hex>.tmp in place (no O_TRUNC), truncate it to the length
 *   syncfs()                   every temp file durable, one journal commit for the batch
 *   for each: exchange <hex>.tmp and <hex> (renameat2 RENAME_EXCHANGE; the first record
 *             of an origin: rename)       THE COMMIT POINT of that origin
 *   fsync(cosigned/)           the renames durable; only now do the callers return TL_OK
 * The exchange recycles the old record's inode as the next temp file. That matters on ext4:
 * a fresh temp file per record costs a block allocation, and a rename over the old record
 * frees its block (a discard with -o discard): about 3x the I/O time of the exchange.
 * At any crash point <hex> names a complete record (old or new); .tmp is never read and is
 * removed when DIR is opened.
 * A failure before the renames changes nothing (the callers get TL_ERR_IO, the store stays
 * healthy: a full disk recovers). A failed rename or directory fsync leaves the on-disk state
 * unknown, so the store turns unhealthy and refuses every later replace until a restart
 * reloads it from disk, as the sequencer does at its commit point.
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
#include <sys/stat.h>
#include <unistd.h>

#define HEX_LEN     64
#define RECORD_MAX  (1u << 20)
#define PATH_MAX_TL 4096

typedef struct job {
    const char *hex;
    const char *expect;
    size_t elen;
    const char *rec;
    size_t len;
    tl_err err;
    tl_diag d;
    bool done, written, renamed;
    pthread_cond_t cv; /* signalled when done: one waiter each, no thundering herd */
    struct job *next;
} job;

struct tl_wstate {
    const tl_sys *sys;
    char dir[PATH_MAX_TL - 128]; /* leaves room for /cosigned/<hex>.tmp */
    int dirfd, cosfd, evfd, lockfd;
    pthread_t committer;
    bool started;
    /* mu guards everything below; the committer owns the files in cosigned/. */
    pthread_mutex_t mu;
    pthread_cond_t work;
    job *head, *tail;
    bool no_exchange; /* RENAME_EXCHANGE unsupported here: plain renames (committer only) */
    bool stop;
    tl_wstate_stats st;
};

static tl_err io_fail(tl_diag *d, const char *what, const char *path)
{
    int err = errno;
    return tl_fail(d, TL_ERR_IO, "%s %s: %s", what, path, strerror(err));
}

static bool hex_ok(const char *hex)
{
    for (size_t i = 0; i < HEX_LEN; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return hex[HEX_LEN] == '\0';
}

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
            break; /* shrank under us: the CAS compares what we got */
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
static tl_err replace_durable(tl_wstate *s, int dirfd, const char *dirpath, const char *name,
                              const char *buf, size_t len, tl_diag *d)
{
    char tmp[PATH_MAX_TL], dst[PATH_MAX_TL];
    int n1 = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dirpath, name);
    int n2 = snprintf(dst, sizeof dst, "%s/%s", dirpath, name);
    if (n1 < 0 || (size_t)n1 >= sizeof tmp || n2 < 0 || (size_t)n2 >= sizeof dst)
        return tl_fail(d, TL_ERR_USAGE, "path too long under %s", dirpath);
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
        (void)unlink(tmp); /* best effort; leftovers are removed at the next open */
        return e;
    }
    if (s->sys->fsync(dirfd) != 0)
        return io_fail(d, "fsync directory", dirpath);
    return TL_OK;
}

/* ---- the committer ---- */

enum { P_REC, P_TMP, P_OLD };

static void path_of(char *out, size_t cap, const tl_wstate *s, const char *hex, int which)
{
    static const char *const suffix[] = {"", ".tmp", ".old"};
    /* Cannot truncate: dir has at most PATH_MAX_TL - 129 bytes. */
    snprintf(out, cap, "%s/cosigned/%s%s", s->dir, hex, suffix[which]);
}

/* The CAS and the temp file of one job. The temp file is overwritten in place rather than
 * created: it is usually the record before last (see commit_job), so a record costs no
 * block allocation and no block free. Its old content is no longer referenced. */
static void stage_job(tl_wstate *s, job *j)
{
    char *cur = NULL;
    size_t clen = 0;
    tl_err e = read_at(s->cosfd, j->hex, RECORD_MAX, &cur, &clen, &j->d);
    if (e == TL_ERR_NOTFOUND) {
        e = TL_OK;
        if (j->elen != 0)
            e = tl_fail(&j->d, TL_ERR_CONFLICT, "record %s does not exist", j->hex);
    } else if (e == TL_OK && (clen != j->elen || memcmp(cur, j->expect, clen) != 0)) {
        e = tl_fail(&j->d, TL_ERR_CONFLICT, "record %s changed underneath", j->hex);
    }
    free(cur);
    if (e != TL_OK) {
        j->err = e;
        return;
    }
    char tmp[PATH_MAX_TL];
    path_of(tmp, sizeof tmp, s, j->hex, P_TMP);
    int fd = s->sys->open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        j->err = io_fail(&j->d, "open", tmp);
        return;
    }
    e = write_all(s->sys, fd, j->rec, j->len, tmp, &j->d);
    if (e == TL_OK && ftruncate(fd, (off_t)j->len) != 0)
        e = io_fail(&j->d, "truncate", tmp);
    if (s->sys->close(fd) != 0 && e == TL_OK)
        e = io_fail(&j->d, "close", tmp);
    if (e != TL_OK) {
        (void)unlink(tmp); /* never referenced: best effort */
        j->err = e;
        return;
    }
    j->written = true;
}

/* Marks the store unhealthy (mu held by no one; takes it). */
static void set_unhealthy(tl_wstate *s, const tl_diag *d)
{
    pthread_mutex_lock(&s->mu);
    s->st.healthy = false;
    snprintf(s->st.last_error, sizeof s->st.last_error, "%s", d->msg);
    pthread_mutex_unlock(&s->mu);
}

/* Commits one job's staged temp file. With the real system calls and a record to replace,
 * renameat2(RENAME_EXCHANGE) swaps <hex>.tmp and <hex> in one atomic step: <hex> names the
 * new record and <hex>.tmp the old one, to be overwritten by the next record. Otherwise
 * (first record, a file system without RENAME_EXCHANGE, or a test's system-call table) a
 * plain rename of <hex>.tmp over <hex>. Either is THE COMMIT POINT of this origin: before
 * it the old record stands, after it (once the directory fsync returns) the new one. */
static tl_err commit_job(tl_wstate *s, job *j, tl_diag *d)
{
    char rec[PATH_MAX_TL], tmp[PATH_MAX_TL];
    path_of(rec, sizeof rec, s, j->hex, P_REC);
    path_of(tmp, sizeof tmp, s, j->hex, P_TMP);
    if (j->elen > 0 && s->sys == &tl_sys_default && !s->no_exchange) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, rec, RENAME_EXCHANGE) == 0)
            return TL_OK;
        if (errno != EINVAL && errno != ENOSYS)
            return io_fail(d, "exchange with", rec);
        s->no_exchange = true;
    }
    if (s->sys->rename(tmp, rec) != 0)
        return io_fail(d, "rename to", rec);
    return TL_OK;
}

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
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        b[i]->err = TL_OK;
        stage_job(s, b[i]);
        written += b[i]->written;
    }
    if (written == 0)
        return;
    tl_diag d = {{0}};
    tl_err e = TL_OK;
    if (s->sys->syncfs(s->cosfd) != 0)
        e = io_fail(&d, "syncfs", s->dir);
    for (size_t i = 0; i < n && e == TL_OK; i++) {
        if (!b[i]->written)
            continue;
        e = commit_job(s, b[i], &d);
        if (e != TL_OK)
            set_unhealthy(s, &d);
        else
            b[i]->renamed = true;
    }
    bool any_renamed = false;
    for (size_t i = 0; i < n; i++)
        any_renamed = any_renamed || b[i]->renamed;
    if (e == TL_OK && any_renamed && s->sys->fsync(s->cosfd) != 0) {
        e = io_fail(&d, "fsync directory", s->dir);
        set_unhealthy(s, &d);
    }
    if (e == TL_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!b[i]->written)
            continue;
        b[i]->err = TL_ERR_IO;
        b[i]->d = d;
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
        /* Take up to a batch, in order, at most one job per record; the rest waits. */
        size_t n = 0;
        job **pp = &s->head;
        s->tail = NULL;
        while (*pp) {
            job *j = *pp;
            bool dup = false;
            for (size_t i = 0; i < n && !dup; i++)
                dup = strcmp(b[i]->hex, j->hex) == 0;
            if (n < TL_WSTATE_BATCH_MAX && !dup) {
                b[n++] = j;
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
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

tl_err tl_wstate_replace(tl_wstate *s, const char *hex, const char *expect, size_t elen,
                         const char *rec, size_t len, tl_diag *d)
{
    if (!hex_ok(hex))
        return tl_fail(d, TL_ERR_USAGE, "bad record name");
    if (len > RECORD_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "record of %zu bytes", len);
    job j = {.hex = hex, .expect = expect, .elen = elen, .rec = rec, .len = len};
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
    if (!hex_ok(hex))
        return tl_fail(d, TL_ERR_USAGE, "bad record name");
    return read_at(s->cosfd, hex, RECORD_MAX, buf, len, d);
}

tl_err tl_wstate_evidence(tl_wstate *s, const char *hex, uint64_t now, const char *origin,
                          unsigned status, const char *reason, const char *stored, size_t slen,
                          const char *body, size_t blen, char *name, tl_diag *d)
{
    if (!hex_ok(hex))
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
}

/* ---- open and close ---- */

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
        return replace_durable(s, s->dirfd, s->dir, "witness.pub", want, wn, d);
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

/* Removes cosigned/<x>.tmp (spares, or leftovers of a crash: never committed). */
static tl_err clear_tmp(tl_wstate *s, tl_diag *d)
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
    tl_err e = TL_OK;
    for (struct dirent *de = readdir(dh); de && e == TL_OK; de = readdir(dh)) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0 &&
            unlinkat(s->cosfd, de->d_name, 0) != 0 && errno != ENOENT)
            e = io_fail(d, "unlink", de->d_name);
    }
    closedir(dh);
    return e;
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
    s->dirfd = s->cosfd = s->evfd = s->lockfd = -1;
    s->st.healthy = true;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
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
        e = clear_tmp(s, d);
    if (e == TL_OK) {
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
    if (s->cosfd >= 0)
        close(s->cosfd);
    if (s->evfd >= 0)
        close(s->evfd);
    if (s->lockfd >= 0)
        close(s->lockfd); /* releases the flock */
    if (s->dirfd >= 0)
        close(s->dirfd);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
