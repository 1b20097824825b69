/* cmd_monitor.c - treatylog monitor: follow a log as a State's verification centre does.
 * Each poll fetches the checkpoint, checks it against the trust policy (log signature and
 * witness quorum), fetches the new entries, and extends the monitor's own verified tree with
 * them: the new checkpoint must be exactly that tree, which proves both that the entries are
 * the logged ones and that the log did not rewrite what was verified before. Findings are JSON
 * lines on stdout; a fork (two checkpoints that cannot both be true) exits 1 with both notes.
 *
 * State directory (kept across runs; one monitor per directory):
 *   state                "treatylog/monitor/v1", "size N", frontier lines "h <height> <b64>",
 *                        an empty line, then the last verified checkpoint note
 *   entries/<N>          copies of the verified full entry bundles; entries/partial the last
 *                        partial one
 *   checkpoints/<size>   every checkpoint verified
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "treatylog/merkle.h"
#include "treatylog/store.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"

typedef struct mon {
    const char *url;
    const char *dir;
    tl_policy *policy;
    tl_store *remote;
    tl_frontier f;     /* the verified tree */
    char *note;        /* its checkpoint */
    size_t note_len;
    uint8_t *partial;  /* the entries of the last partial bundle, encoded */
    size_t partial_len;
} mon;

static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        puts(s);
        fflush(stdout);
        free(s);
    }
    json_decref(o);
}

static tl_err write_atomic(const char *dir, const char *name, const void *buf, size_t len,
                           tl_diag *d)
{
    char tmp[4096], dst[4096];
    int a = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    int b = snprintf(dst, sizeof dst, "%s/%s", dir, name);
    if (a < 0 || b < 0 || (size_t)a >= sizeof tmp || (size_t)b >= sizeof dst)
        return tl_fail(d, TL_ERR_TOOBIG, "path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return tl_fail(d, TL_ERR_IO, "%s: %s", tmp, strerror(errno));
    tl_err e = TL_OK;
    if (write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0)
        e = tl_fail(d, TL_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && e == TL_OK)
        e = tl_fail(d, TL_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (e == TL_OK && rename(tmp, dst) != 0)
        e = tl_fail(d, TL_ERR_IO, "%s: %s", dst, strerror(errno));
    if (e == TL_OK) {
        char pdir[4096];
        snprintf(pdir, sizeof pdir, "%s", dst);
        *strrchr(pdir, '/') = '\0';
        int dfd = open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            e = tl_fail(d, TL_ERR_IO, "fsync %s: %s", pdir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
    }
    return e;
}

/* Saves the verified state (after the entries it covers were written). */
static tl_err save(mon *m, tl_diag *d)
{
    size_t cap = 128 + 64 * 64 + m->note_len;
    char *b = malloc(cap);
    if (!b)
        return tl_fail(d, TL_ERR_NOMEM, "state");
    int k = snprintf(b, cap, "treatylog/monitor/v1\nsize %llu\n", (unsigned long long)m->f.size);
    size_t at = (size_t)k;
    for (unsigned h = 0; h < 64; h++) {
        if (!(m->f.size >> h & 1))
            continue;
        at += (size_t)snprintf(b + at, cap - at, "h %u ", h);
        at += tl_b64_encode(b + at, m->f.h[h], TL_HASH_LEN);
        b[at++] = '\n';
    }
    b[at++] = '\n';
    memcpy(b + at, m->note, m->note_len);
    at += m->note_len;
    tl_err e = write_atomic(m->dir, "entries/partial", m->partial ? m->partial : (uint8_t *)"",
                            m->partial_len, d);
    if (e == TL_OK) {
        char name[64];
        snprintf(name, sizeof name, "checkpoints/%llu", (unsigned long long)m->f.size);
        e = write_atomic(m->dir, name, m->note, m->note_len, d);
    }
    if (e == TL_OK)
        e = write_atomic(m->dir, "state", b, at, d);
    free(b);
    return e;
}

/* Loads the state, if any. */
static tl_err load(mon *m, tl_diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/state", m->dir);
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, 1 << 20, &buf, &len, d);
    tl_frontier_init(&m->f);
    if (e == TL_ERR_NOTFOUND)
        return TL_OK;
    if (e != TL_OK)
        return e;
    char *s = (char *)buf, *end = s + len;
    uint64_t size = 0;
    char *nl = memchr(s, '\n', len);
    if (!nl || strncmp(s, "treatylog/monitor/v1\n", 21) != 0)
        e = tl_fail(d, TL_ERR_FORMAT, "%s: not a monitor state", path);
    s = nl ? nl + 1 : end;
    nl = e == TL_OK ? memchr(s, '\n', (size_t)(end - s)) : NULL;
    if (e == TL_OK && (!nl || strncmp(s, "size ", 5) != 0 ||
                       tl_parse_u64(&size, s + 5, (size_t)(nl - s - 5)) != TL_OK))
        e = tl_fail(d, TL_ERR_FORMAT, "%s: bad size line", path);
    s = nl ? nl + 1 : end;
    m->f.size = size;
    for (unsigned h = 0; h < 64 && e == TL_OK; h++) {
        if (!(size >> h & 1))
            continue;
        nl = memchr(s, '\n', (size_t)(end - s));
        char pre[16];
        int pl = snprintf(pre, sizeof pre, "h %u ", h);
        size_t got = 0;
        if (!nl || strncmp(s, pre, (size_t)pl) != 0 ||
            tl_b64_decode(m->f.h[h], TL_HASH_LEN, &got, s + pl, (size_t)(nl - s - pl)) !=
                TL_OK ||
            got != TL_HASH_LEN)
            e = tl_fail(d, TL_ERR_FORMAT, "%s: bad frontier line for height %u", path, h);
        s = nl ? nl + 1 : end;
    }
    if (e == TL_OK && (s >= end || *s != '\n'))
        e = tl_fail(d, TL_ERR_FORMAT, "%s: missing the checkpoint", path);
    if (e == TL_OK) {
        s++;
        m->note_len = (size_t)(end - s);
        m->note = malloc(m->note_len + 1);
        if (!m->note)
            e = tl_fail(d, TL_ERR_NOMEM, "state");
        else
            memcpy(m->note, s, m->note_len);
    }
    free(buf);
    if (e != TL_OK)
        return e;
    snprintf(path, sizeof path, "%s/entries/partial", m->dir);
    e = cli_read_file(path, 1 << 25, &m->partial, &m->partial_len, d);
    if (e == TL_ERR_NOTFOUND) {
        m->partial = NULL;
        m->partial_len = 0;
        e = TL_OK;
    }
    return e;
}

static void report_fork(mon *m, const char *presented, size_t plen, const char *why)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s%, s:s%}", "event", "fork", "url", m->url,
                          "reason", why, "verified", m->note ? m->note : "",
                          m->note ? m->note_len : 0, "presented", presented, plen);
    emit(o);
}

/* Root of the first n entries from the mirrored bundles (for a checkpoint older than ours). */
static tl_err mirrored_root(mon *m, uint64_t n, uint8_t root[TL_HASH_LEN], tl_diag *d)
{
    tl_frontier f;
    tl_frontier_init(&f);
    for (uint64_t b = 0; f.size < n; b++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        char path[4096];
        bool last = (b + 1) * TL_TILE_WIDTH > m->f.size;
        if (last) {
            buf = m->partial;
            len = m->partial_len;
        } else {
            snprintf(path, sizeof path, "%s/entries/%llu", m->dir, (unsigned long long)b);
            tl_err e = cli_read_file(path, 1 << 25, &buf, &len, d);
            if (e != TL_OK)
                return e;
        }
        size_t pos = 0;
        const uint8_t *ent;
        size_t elen;
        while (f.size < n && tl_bundle_next(buf, len, &pos, &ent, &elen) == TL_OK) {
            uint8_t leaf[TL_HASH_LEN];
            tl_leaf_hash(leaf, ent, elen);
            if (tl_frontier_append(&f, leaf, NULL, NULL) != TL_OK)
                break;
        }
        if (!last)
            free(buf);
        if (last)
            break;
    }
    if (f.size != n)
        return tl_fail(d, TL_ERR_NOTFOUND, "the mirror has %llu entries, need %llu",
                       (unsigned long long)f.size, (unsigned long long)n);
    tl_frontier_root(&f, root);
    return TL_OK;
}

/* One poll. Returns TL_OK, TL_ERR_CONFLICT on a fork, or another error (reported). */
static tl_err poll_once(mon *m, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = m->remote->ops->read(m->remote, "checkpoint", &buf, &len, d);
    if (e != TL_OK)
        return e;
    tl_checkpoint cp;
    e = tl_policy_check(m->policy, (const char *)buf, len, &cp, NULL, d);
    if (e != TL_OK) {
        emit(json_pack("{s:s, s:s, s:s}", "event", "bad_checkpoint", "url", m->url, "reason",
                       d->msg));
        free(buf);
        return e;
    }
    uint8_t root[TL_HASH_LEN];
    tl_frontier_root(&m->f, root);
    uint64_t have = m->f.size;
    if (cp.size == have) {
        if (memcmp(root, cp.root, TL_HASH_LEN) != 0 && m->note) {
            report_fork(m, (const char *)buf, len,
                        "same size, different root: the log shows two histories");
            free(buf);
            return tl_fail(d, TL_ERR_CONFLICT, "fork at size %llu", (unsigned long long)have);
        }
        free(buf);
        return TL_OK;
    }
    if (cp.size < have) {
        uint8_t old[TL_HASH_LEN];
        e = mirrored_root(m, cp.size, old, d);
        if (e == TL_OK && memcmp(old, cp.root, TL_HASH_LEN) != 0) {
            report_fork(m, (const char *)buf, len,
                        "an older checkpoint whose root is not the root of the verified "
                        "entries at that size");
            free(buf);
            return tl_fail(d, TL_ERR_CONFLICT, "fork at size %llu",
                           (unsigned long long)cp.size);
        }
        emit(json_pack("{s:s, s:s, s:I, s:I}", "event", "rollback", "url", m->url, "size",
                       (json_int_t)cp.size, "verified_size", (json_int_t)have));
        free(buf);
        return e;
    }
    /* New entries [have, cp.size): fetch the bundles, extend the verified tree. */
    tl_frontier f = m->f;
    uint8_t *partial = NULL;
    size_t partial_len = 0;
    uint64_t first_bundle = have / TL_TILE_WIDTH;
    for (uint64_t b = first_bundle; b * TL_TILE_WIDTH < cp.size && e == TL_OK; b++) {
        tl_tile t;
        (void)tl_tile_for_size(&t, true, 0, b, cp.size);
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, &t);
        uint8_t *bb = NULL;
        size_t bl = 0;
        e = m->remote->ops->read(m->remote, path, &bb, &bl, d);
        if (e != TL_OK)
            break;
        size_t pos = 0;
        const uint8_t *ent;
        size_t elen;
        for (unsigned i = 0; i < t.width && e == TL_OK; i++) {
            if (tl_bundle_next(bb, bl, &pos, &ent, &elen) != TL_OK) {
                e = tl_fail(d, TL_ERR_FORMAT, "%s: fewer than %u entries", path, t.width);
                break;
            }
            uint64_t idx = b * TL_TILE_WIDTH + i;
            if (idx < have)
                continue; /* verified before */
            uint8_t leaf[TL_HASH_LEN];
            tl_leaf_hash(leaf, ent, elen);
            e = tl_frontier_append(&f, leaf, NULL, NULL);
        }
        if (e == TL_OK && t.width == TL_TILE_WIDTH) {
            char name[64];
            snprintf(name, sizeof name, "entries/%llu", (unsigned long long)b);
            e = write_atomic(m->dir, name, bb, bl, d);
            free(bb);
        } else if (e == TL_OK) {
            partial = bb;
            partial_len = pos;
        } else {
            free(bb);
        }
    }
    if (e != TL_OK) {
        free(partial);
        free(buf);
        return e;
    }
    tl_frontier_root(&f, root);
    if (memcmp(root, cp.root, TL_HASH_LEN) != 0) {
        report_fork(m, (const char *)buf, len,
                    "the checkpoint is not the verified tree extended by the new entries: "
                    "history was rewritten, or the entries served are not the logged ones");
        free(partial);
        free(buf);
        return tl_fail(d, TL_ERR_CONFLICT, "inconsistent checkpoint of size %llu",
                       (unsigned long long)cp.size);
    }
    m->f = f;
    free(m->note);
    m->note = (char *)buf;
    m->note_len = len;
    free(m->partial);
    m->partial = partial;
    m->partial_len = partial_len;
    e = save(m, d);
    if (e == TL_OK)
        emit(json_pack("{s:s, s:s, s:I, s:I}", "event", "verified", "url", m->url, "size",
                       (json_int_t)cp.size, "new_entries", (json_int_t)(cp.size - have)));
    return e;
}

int cmd_monitor(int argc, char **argv)
{
    const char *policy_path = NULL, *state = NULL, *interval_s = NULL, *polls_s = NULL;
    bool once = false;
    const cli_opt opts[] = {{"policy", &policy_path, NULL},
                            {"state", &state, NULL},
                            {"interval-ms", &interval_s, NULL},
                            {"polls", &polls_s, NULL},
                            {"once", NULL, &once}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("monitor", argc, argv, opts, 5, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || !policy_path || !state)
        return cli_usage("monitor", "usage: treatylog monitor URL --policy FILE --state DIR "
                                    "[--interval-ms MS] [--polls N | --once]");
    tl_diag d = {{0}};
    uint64_t interval = 5000, polls = 0;
    tl_err e = TL_OK;
    if (interval_s)
        e = cli_parse_u64(interval_s, &interval, &d);
    if (e == TL_OK && polls_s)
        e = cli_parse_u64(polls_s, &polls, &d);
    if (once)
        polls = 1;
    mon m = {.url = pos[0], .dir = state};
    if (e == TL_OK)
        e = cli_load_policy(policy_path, NULL, &m.policy, &d);
    char path[4096];
    int lockfd = -1;
    if (e == TL_OK) {
        snprintf(path, sizeof path, "%s/entries", state);
        if ((mkdir(state, 0755) != 0 && errno != EEXIST) ||
            (mkdir(path, 0755) != 0 && errno != EEXIST))
            e = tl_fail(&d, TL_ERR_IO, "%s: %s", path, strerror(errno));
        snprintf(path, sizeof path, "%s/checkpoints", state);
        if (e == TL_OK && mkdir(path, 0755) != 0 && errno != EEXIST)
            e = tl_fail(&d, TL_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (e == TL_OK) {
        snprintf(path, sizeof path, "%s/lock", state);
        lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0)
            e = tl_fail(&d, TL_ERR_LOCKED, "%s is in use by another monitor", state);
    }
    if (e == TL_OK)
        e = load(&m, &d);
    if (e == TL_OK)
        e = tl_store_open_readonly(&m.remote, m.url, &d);
    if (e != TL_OK) {
        free(m.policy);
        if (lockfd >= 0)
            close(lockfd);
        return cli_fail("monitor", e, &d);
    }
    int exit_code = 0;
    for (uint64_t n = 0; polls == 0 || n < polls; n++) {
        if (n > 0) {
            struct timespec ts = {(time_t)(interval / 1000), (long)(interval % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        tl_diag pd = {{0}};
        tl_err pe = poll_once(&m, &pd);
        if (pe == TL_ERR_CONFLICT) {
            fprintf(stderr, "treatylog monitor: FORK: %s\n", pd.msg);
            exit_code = 1;
            break;
        }
        if (pe != TL_OK) {
            fprintf(stderr, "treatylog monitor: %s: %s\n", m.url, pd.msg);
            if (pe != TL_ERR_SIGNATURE && pe != TL_ERR_QUORUM && pe != TL_ERR_FORMAT)
                emit(json_pack("{s:s, s:s, s:s}", "event", "error", "url", m.url, "reason",
                               pd.msg));
            if (polls == 1)
                exit_code = cli_exit_code(pe);
        }
    }
    m.remote->ops->close(m.remote);
    free(m.policy);
    free(m.note);
    free(m.partial);
    close(lockfd);
    return exit_code;
}
