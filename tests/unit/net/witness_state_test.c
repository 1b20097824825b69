/* witness_state_test.c - the witness state directory (witness_state.c): layout, the one-process
 * lock, the key binding, compare-and-swap, group commit under concurrency, the journal's torn
 * tail (cut at every offset of the last frame, with and without garbage after it) and damage,
 * compaction under load (with readers, and with injected failures), import of the old
 * one-file-per-origin layout, evidence files, and the durability contract under injected
 * write, sync, fsync and rename failures: acknowledged records survive every reopen,
 * unacknowledged ones never appear; a failure that cannot be undone makes the store refuse
 * writes until reopened. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/witness_state.h"
#include "testutil.h"
#include "treatylog/hash.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define W_VKEY                                                                                     \
    "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o"

/* Fault injection: fail the next call of one kind (errno given), counted from arming. Only the
 * test's main thread arms them; the committer reads them (hence atomics). */
static _Atomic int fail_write, fail_syncfs, fail_rename, fail_fsync; /* errno, or 0 */
static _Atomic long write_budget = -1; /* bytes before writes fail with ENOSPC; -1: no limit */
static _Atomic int fail_tmp_write;     /* errno for the next write to state.journal.tmp */
static _Atomic int tmp_fd = -1;        /* the last state.journal.tmp opened */
static _Atomic int fsync_skip;         /* fsyncs to let pass before fail_fsync applies */
static _Atomic int n_syncfs, n_fsync, n_rename;

static int f_open(const char *p, int flags, mode_t mode)
{
    int fd = open(p, flags, mode);
    size_t n = strlen(p);
    if (fd >= 0 && n >= 17 && strcmp(p + n - 17, "state.journal.tmp") == 0)
        tmp_fd = fd;
    return fd;
}
static ssize_t f_write(int fd, const void *b, size_t n)
{
    int e = atomic_exchange(&fail_write, 0);
    if (!e && fd == tmp_fd)
        e = atomic_exchange(&fail_tmp_write, 0);
    if (e) {
        errno = e;
        return -1;
    }
    long budget = write_budget;
    if (budget >= 0) {
        if (budget == 0) {
            errno = ENOSPC;
            return -1;
        }
        if ((long)n > budget)
            n = (size_t)budget;
        write_budget = budget - (long)n;
    }
    return write(fd, b, n);
}
static int f_fsync(int fd)
{
    n_fsync++;
    int e = 0;
    if (fail_fsync && fsync_skip > 0)
        fsync_skip--;
    else
        e = atomic_exchange(&fail_fsync, 0);
    if (e) {
        errno = e;
        return -1;
    }
    return fsync(fd);
}
static int f_syncfs(int fd)
{
    n_syncfs++;
    int e = atomic_exchange(&fail_syncfs, 0);
    if (e) {
        errno = e;
        return -1;
    }
    return fdatasync(fd);
}
static int f_rename(const char *a, const char *b)
{
    n_rename++;
    int e = atomic_exchange(&fail_rename, 0);
    if (e) {
        errno = e;
        return -1;
    }
    tmp_fd = -1; /* the temp file's descriptor is the journal's now */
    return rename(a, b);
}
static const tl_sys faulty = {f_open, f_write, f_fsync, f_syncfs, f_rename, close, NULL};

/* Disarms every fault (a failed test must not leave one armed for the next). */
static int reset_faults(void **state)
{
    (void)state;
    fail_write = fail_syncfs = fail_rename = fail_fsync = fail_tmp_write = fsync_skip = 0;
    write_budget = -1;
    return 0;
}

typedef struct fixture {
    char dir[256];
    tl_vkey wv;
} fixture;

static int setup(void **state)
{
    if (tl_init() != TL_OK)
        return -1;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/tl-wstate.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    if (tl_vkey_parse(&f->wv, W_VKEY, strlen(W_VKEY), NULL) != TL_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* A fresh state directory under the fixture's, per test. */
static void sub(char *out, size_t cap, const fixture *f, const char *name)
{
    snprintf(out, cap, "%s/%s", f->dir, name);
}

static void assert_record(tl_wstate *s, const char *hex, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    tl_diag d;
    tl_err e = tl_wstate_read(s, hex, &buf, &len, &d);
    if (!want) {
        assert_int_equal(e, TL_ERR_NOTFOUND);
        return;
    }
    assert_int_equal(e, TL_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    assert_int_equal(buf[len], '\0');
    free(buf);
}

static long file_size(const char *dir, const char *name)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    return (long)sb.st_size;
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Reads DIR/name whole (malloc'd). */
static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void test_layout_lock_key(void **state)
{
    fixture *f = *state;
    char dir[300], path[400];
    sub(dir, sizeof dir, f, "layout");
    tl_wstate *s = NULL, *s2 = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    struct stat sb;
    const char *const want[] = {"lock", "witness.pub", "cosigned", "evidence", "state.journal"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, want[i]);
        assert_int_equal(stat(path, &sb), 0);
    }
    /* An empty journal is its 16-byte header. */
    assert_int_equal(file_size(dir, "state.journal"), 16);
    /* A second opener (even in this process: flock is per open file) is refused. */
    assert_int_equal(tl_wstate_open(&s2, dir, &f->wv, NULL, &d), TL_ERR_LOCKED);
    assert_non_null(strstr(d.msg, "in use"));
    tl_wstate_close(s);
    /* Reopening with the same key works; with another key it is refused. */
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    tl_wstate_close(s);
    tl_vkey other = f->wv;
    other.pub[0] ^= 1;
    assert_int_equal(tl_wstate_open(&s, dir, &other, NULL, &d), TL_ERR_USAGE);
    assert_non_null(strstr(d.msg, "another witness key"));
    /* A journal that is not one is refused, not overwritten. */
    write_file(dir, "state.journal", "treatylog-xx/v1\nxxxxxxxx", 24);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "not a witness state journal"));
    write_file(dir, "state.journal", "treatylog", 9);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_ERR_FORMAT);
    assert_int_equal(file_size(dir, "state.journal"), 9);
}

static void test_cas(void **state)
{
    fixture *f = *state;
    char dir[300];
    sub(dir, sizeof dir, f, "cas");
    tl_wstate *s = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_record(s, HEX_A, NULL);
    assert_int_equal(tl_wstate_replace(s, HEX_A, NULL, 0, "one\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "one\n");
    /* "must not exist" fails now; so does a wrong previous record. */
    assert_int_equal(tl_wstate_replace(s, HEX_A, NULL, 0, "two\n", 4, &d), TL_ERR_CONFLICT);
    assert_int_equal(tl_wstate_replace(s, HEX_A, "ONE\n", 4, "two\n", 4, &d), TL_ERR_CONFLICT);
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one", 3, "two\n", 4, &d), TL_ERR_CONFLICT);
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\nx", 5, "two\n", 4, &d), TL_ERR_CONFLICT);
    /* A record that does not exist cannot be expected to be anything. */
    assert_int_equal(tl_wstate_replace(s, HEX_C, "one\n", 4, "two\n", 4, &d), TL_ERR_CONFLICT);
    assert_non_null(strstr(d.msg, "does not exist"));
    assert_record(s, HEX_A, "one\n");
    assert_record(s, HEX_C, NULL);
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_int_equal(tl_wstate_replace(s, HEX_A, "two\n", 4, "3\n", 2, &d), TL_OK);
    assert_record(s, HEX_A, "3\n");
    assert_int_equal(tl_wstate_replace(s, HEX_A, "3\n", 2, "four four\n", 10, &d), TL_OK);
    assert_record(s, HEX_A, "four four\n");
    assert_int_equal(tl_wstate_replace(s, HEX_A, "four four\n", 10, "two\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    /* An empty record is a record; elen 0 matches it as it matches none (witness records are
     * never empty). */
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "", 0, &d), TL_OK);
    assert_record(s, HEX_B, "");
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "b\n", 2, &d), TL_OK);
    assert_record(s, HEX_B, "b\n");
    assert_int_equal(tl_wstate_replace(s, "../x", NULL, 0, "x", 1, &d), TL_ERR_USAGE);
    assert_int_equal(tl_wstate_replace(s, HEX_A "0", NULL, 0, "x", 1, &d), TL_ERR_USAGE);
    char upper[65];
    memcpy(upper, HEX_A, 65);
    upper[3] = 'A';
    assert_int_equal(tl_wstate_replace(s, upper, NULL, 0, "x", 1, &d), TL_ERR_USAGE);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(tl_wstate_read(s, upper, &buf, &len, &d), TL_ERR_USAGE);
    static char big[(1u << 20) + 1];
    assert_int_equal(tl_wstate_replace(s, HEX_C, NULL, 0, big, sizeof big, &d), TL_ERR_TOOBIG);
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.commits, 7);
    assert_int_equal(st.conflicts, 5);
    assert_int_equal(st.records, 2);
    assert_true(st.healthy);
    assert_int_equal((long)st.journal_bytes, file_size(dir, "state.journal"));
    tl_wstate_close(s);
    /* Durable across a reopen; leftovers of a crash (a compaction's temp file, the old
     * layout's temp file) are removed and never read. */
    write_file(dir, "state.journal.tmp", "half", 4);
    write_file(dir, "cosigned/" HEX_B ".tmp", "half", 4);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_record(s, HEX_B, "b\n");
    assert_record(s, HEX_C, NULL);
    assert_int_equal(file_size(dir, "state.journal.tmp"), -1);
    assert_int_equal(file_size(dir, "cosigned/" HEX_B ".tmp"), -1);
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(st.records, 2);
    tl_wstate_close(s);
}

static void test_faults(void **state)
{
    fixture *f = *state;
    char dir[300];
    sub(dir, sizeof dir, f, "faults");
    tl_wstate *s = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_int_equal(tl_wstate_replace(s, HEX_A, NULL, 0, "one\n", 4, &d), TL_OK);
    long good = file_size(dir, "state.journal");

    /* Disk full while writing the frame: nothing changes, the store stays healthy. */
    fail_write = ENOSPC;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "No space"));
    assert_record(s, HEX_A, "one\n");
    assert_int_equal(file_size(dir, "state.journal"), good);
    /* ...or after half of it: the half frame is cut off again. */
    write_budget = 20;
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "b is a longer record\n", 21, &d),
                     TL_ERR_IO);
    write_budget = -1;
    assert_record(s, HEX_B, NULL);
    assert_int_equal(file_size(dir, "state.journal"), good);
    /* The sync fails: the whole frame was written, and is cut off; still healthy. */
    fail_syncfs = EIO;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "fdatasync"));
    assert_record(s, HEX_A, "one\n");
    assert_int_equal(file_size(dir, "state.journal"), good);
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_true(st.healthy);
    assert_int_equal(st.io_errors, 3);
    /* It recovers; the next frame starts where the last good one ended. */
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "b\n", 2, &d), TL_OK);
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_record(s, HEX_B, "b\n");
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.torn_bytes, 0);

    /* The sync fails and so does the fsync undoing it: unknown, so unhealthy; every later
     * write is refused. */
    fail_syncfs = EIO;
    fail_fsync = EIO;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "two\n", 4, "three\n", 6, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "undoing"));
    assert_record(s, HEX_A, "two\n");
    tl_wstate_stats_get(s, &st);
    assert_false(st.healthy);
    assert_non_null(strstr(st.last_error, "fsync"));
    assert_int_equal(tl_wstate_replace(s, HEX_C, NULL, 0, "c\n", 2, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "restart"));
    assert_record(s, HEX_C, NULL);
    tl_wstate_close(s);
    /* Reopened: healthy again, with what was acknowledged and nothing else. */
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_record(s, HEX_B, "b\n");
    assert_record(s, HEX_C, NULL);
    tl_wstate_stats_get(s, &st);
    assert_true(st.healthy);
    assert_int_equal(tl_wstate_replace(s, HEX_A, "two\n", 4, "four\n", 5, &d), TL_OK);
    tl_wstate_close(s);
    /* A failure while opening (cutting off a torn tail needs an fsync) fails the open and
     * leaves the directory for the next. */
    size_t jl = 0;
    uint8_t *j = slurp(dir, "state.journal", &jl);
    write_file(dir, "state.journal", j, jl - 3);
    free(j);
    fail_fsync = EIO;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_ERR_IO);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_record(s, HEX_B, "b\n");
    tl_wstate_close(s);
}

/* Writes three frames (A=a1, B=b1 | A=a2), then cuts the journal at every offset of the last
 * frame, with and without garbage after the cut: every reopen gives a1 and b1 (the last
 * complete frame) and cuts the journal back to where the last frame began. */
static void test_torn_tail(void **state)
{
    fixture *f = *state;
    char dir[300];
    sub(dir, sizeof dir, f, "torn");
    tl_wstate *s = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_int_equal(tl_wstate_replace(s, HEX_A, NULL, 0, "a1\n", 3, &d), TL_OK);
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "b1 and more\n", 12, &d), TL_OK);
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    size_t last = (size_t)st.journal_bytes;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "a1\n", 3, "a2 a2 a2\n", 9, &d), TL_OK);
    tl_wstate_close(s);
    size_t full = 0;
    uint8_t *j = slurp(dir, "state.journal", &full);
    /* The last frame: header 8, key 32, length 4, record 9, checksum 32. */
    assert_int_equal(full - last, 8 + 32 + 4 + 9 + 32);
    assert_memory_equal(j + last, "TLWB", 4);
    uint8_t garbage[300];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(i * 37 + 11);
    memcpy(garbage + 100, "TLWB\x10\x00\x00\x00", 8); /* a frame header with nothing valid */
    uint8_t *buf = malloc(full + sizeof garbage);
    assert_non_null(buf);
    for (size_t cut = last; cut <= full; cut++) {
        for (int junk = 0; junk < 2; junk++) {
            if (cut == full && !junk)
                continue; /* intact: nothing torn */
            size_t glen = junk ? 1 + (cut * 7) % sizeof garbage : 0;
            memcpy(buf, j, cut);
            memcpy(buf + cut, garbage, glen);
            write_file(dir, "state.journal", buf, cut + glen);
            assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
            assert_record(s, HEX_A, cut == full ? "a2 a2 a2\n" : "a1\n");
            assert_record(s, HEX_B, "b1 and more\n");
            tl_wstate_stats_get(s, &st);
            size_t kept = cut == full ? full : last;
            assert_int_equal(st.torn_bytes, cut + glen - kept);
            assert_int_equal(st.journal_bytes, kept);
            tl_wstate_close(s);
            assert_int_equal(file_size(dir, "state.journal"), (long)kept);
        }
    }
    /* After a cut, the journal goes on: a new frame, then reopen. */
    write_file(dir, "state.journal", j, last + 5);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_int_equal(tl_wstate_replace(s, HEX_A, "a1\n", 3, "a3\n", 3, &d), TL_OK);
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_record(s, HEX_A, "a3\n");
    assert_record(s, HEX_B, "b1 and more\n");
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.torn_bytes, 0);
    tl_wstate_close(s);

    /* Damage before the end, with a complete frame after it, is not a torn tail: refused,
     * and the journal left as it is (cutting would drop acknowledged records). */
    for (size_t at = 16; at < last; at += 7) {
        memcpy(buf, j, full);
        buf[at] ^= 0x40;
        write_file(dir, "state.journal", buf, full);
        assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_ERR_FORMAT);
        assert_true(strstr(d.msg, "damaged") || strstr(d.msg, "malformed"));
        assert_int_equal(file_size(dir, "state.journal"), (long)full);
    }
    free(buf);
    free(j);
}

typedef struct worker {
    tl_wstate *s;
    int id;
    int n;
    size_t size; /* record size (0: small) */
    int ok, conflicts, io;
    const char *expect; /* for the race: everyone replaces this */
    _Atomic bool *stop; /* for readers */
    int reads;
} worker;

/* Record i of worker id: "rec <id> <i>\n", padded with '.' to size if size > 0. */
static size_t make_rec(char *out, size_t cap, int id, int i, size_t size)
{
    int n = snprintf(out, cap, "rec %d %d\n", id, i);
    size_t len = (size_t)n;
    if (size > len) {
        memset(out + len, '.', size - len);
        len = size;
    }
    return len;
}

static void *distinct(void *arg)
{
    worker *w = arg;
    size_t cap = w->size > 64 ? w->size : 64;
    char hex[65], *prev = calloc(1, cap), *rec = calloc(1, cap);
    assert_non_null(prev);
    assert_non_null(rec);
    size_t plen = 0;
    snprintf(hex, sizeof hex, "%064x", w->id);
    char *cur = NULL;
    tl_diag d0;
    if (tl_wstate_read(w->s, hex, &cur, &plen, &d0) == TL_OK) {
        assert_true(plen <= cap);
        memcpy(prev, cur, plen);
        free(cur);
    }
    for (int i = 0; i < w->n; i++) {
        size_t n = make_rec(rec, cap, w->id, i, w->size);
        tl_diag d;
        tl_err e = tl_wstate_replace(w->s, hex, prev, plen, rec, n, &d);
        if (e == TL_OK) {
            w->ok++;
            memcpy(prev, rec, n);
            plen = n;
        } else {
            w->io++;
        }
    }
    free(prev);
    free(rec);
    return NULL;
}

/* Reads the workers' origins while they write: every record read is one they wrote. */
static void *reader(void *arg)
{
    worker *w = arg;
    while (!*w->stop) {
        for (int id = 1; id <= w->n; id++) {
            char hex[65], want[32];
            snprintf(hex, sizeof hex, "%064x", id);
            char *buf = NULL;
            size_t len = 0;
            tl_diag d;
            tl_err e = tl_wstate_read(w->s, hex, &buf, &len, &d);
            if (e == TL_ERR_NOTFOUND)
                continue;
            assert_int_equal(e, TL_OK);
            int n = snprintf(want, sizeof want, "rec %d ", id);
            assert_true(len >= (size_t)n);
            assert_memory_equal(buf, want, (size_t)n);
            assert_true(len == w->size || w->size == 0);
            free(buf);
            w->reads++;
        }
    }
    return NULL;
}

static void *race(void *arg)
{
    worker *w = arg;
    char rec[32];
    int n = snprintf(rec, sizeof rec, "winner %d\n", w->id);
    tl_diag d;
    tl_err e = tl_wstate_replace(w->s, HEX_B, w->expect, strlen(w->expect), rec, (size_t)n, &d);
    if (e == TL_OK)
        w->ok++;
    else if (e == TL_ERR_CONFLICT)
        w->conflicts++;
    return NULL;
}

static void test_group_commit_and_race(void **state)
{
    fixture *f = *state;
    char dir[300];
    sub(dir, sizeof dir, f, "group");
    tl_wstate *s = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    enum { W = 16, N = 40 };
    pthread_t t[W];
    worker w[W];
    int sync0 = n_syncfs;
    for (int i = 0; i < W; i++) {
        w[i] = (worker){.s = s, .id = i + 1, .n = N};
        assert_int_equal(pthread_create(&t[i], NULL, distinct, &w[i]), 0);
    }
    for (int i = 0; i < W; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, N);
    }
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.commits, W * N);
    /* Group commit: one sync per batch, fewer batches than records. */
    assert_int_equal((uint64_t)(n_syncfs - sync0), st.batches);
    assert_true(st.batches < st.commits);
    print_message("      %d records in %llu group commits\n", W * N,
                  (unsigned long long)st.batches);
    char hex[65];
    snprintf(hex, sizeof hex, "%064x", 7);
    assert_record(s, hex, "rec 7 39\n");

    /* The CAS race: W writers, one expected record, exactly one wins. */
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "base\n", 5, &d), TL_OK);
    for (int i = 0; i < W; i++) {
        w[i] = (worker){.s = s, .id = i, .expect = "base\n"};
        assert_int_equal(pthread_create(&t[i], NULL, race, &w[i]), 0);
    }
    int ok = 0, conflicts = 0, winner = -1;
    for (int i = 0; i < W; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        conflicts += w[i].conflicts;
        if (w[i].ok)
            winner = i;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(conflicts, W - 1);
    char want[32];
    snprintf(want, sizeof want, "winner %d\n", winner);
    assert_record(s, HEX_B, want);
    tl_wstate_close(s);
    /* Everything is there after a reopen. */
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    for (int i = 1; i <= W; i++) {
        char rec[32];
        snprintf(hex, sizeof hex, "%064x", i);
        make_rec(rec, sizeof rec, i, N - 1, 0);
        assert_record(s, hex, rec);
    }
    assert_record(s, HEX_B, want);
    tl_wstate_close(s);
}

/* Runs W writers (records of `size` bytes, N each) and a reader; returns the stats. */
static void load(tl_wstate *s, int W, int N, size_t size, tl_wstate_stats *st, int *io)
{
    pthread_t t[16], rt;
    worker w[16];
    _Atomic bool stop = false;
    worker r = {.s = s, .n = W, .size = size, .stop = &stop};
    assert_int_equal(pthread_create(&rt, NULL, reader, &r), 0);
    for (int i = 0; i < W; i++) {
        w[i] = (worker){.s = s, .id = i + 1, .n = N, .size = size};
        assert_int_equal(pthread_create(&t[i], NULL, distinct, &w[i]), 0);
    }
    *io = 0;
    for (int i = 0; i < W; i++) {
        pthread_join(t[i], NULL);
        *io += w[i].io;
    }
    stop = true;
    pthread_join(rt, NULL);
    assert_true(r.reads > 0);
    /* The committer compacts after it answers a batch: a refused replace queued now is
     * answered only after that compaction, so the stats and files read below are settled. */
    tl_diag d;
    tl_err e =
        tl_wstate_replace(s, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                          "none", 4, "x", 1, &d);
    assert_true(e == TL_ERR_CONFLICT || e == TL_ERR_IO);
    tl_wstate_stats_get(s, st);
}

/* The last record each of W workers got acknowledged is what a reopen shows. */
static void assert_latest(tl_wstate *s, int W, size_t size, const int *last)
{
    char *rec = malloc(size + 64);
    assert_non_null(rec);
    for (int i = 1; i <= W; i++) {
        char hex[65];
        snprintf(hex, sizeof hex, "%064x", i);
        size_t n = make_rec(rec, size + 64, i, last[i - 1], size);
        rec[n] = '\0';
        assert_record(s, hex, rec);
    }
    free(rec);
}

static void test_compaction(void **state)
{
    fixture *f = *state;
    char dir[300];
    sub(dir, sizeof dir, f, "compact");
    tl_wstate *s = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    /* 8 origins of 32 KiB live (256 KiB): past 2 x that + 4 MiB the journal is compacted. */
    enum { W = 8, N = 60 };
    const size_t size = 32 << 10;
    tl_wstate_stats st;
    int io = 0;
    load(s, W, N, size, &st, &io);
    assert_int_equal(io, 0);
    assert_int_equal(st.commits, W * N);
    assert_true(st.compactions >= 2);
    assert_true(st.journal_bytes <= 2 * (16 + W * (size + 36)) + (4 << 20) + W * (size + 100));
    assert_int_equal((long)st.journal_bytes, file_size(dir, "state.journal"));
    assert_int_equal(file_size(dir, "state.journal.tmp"), -1);
    int last[W];
    for (int i = 0; i < W; i++)
        last[i] = N - 1;
    assert_latest(s, W, size, last);
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_latest(s, W, size, last);
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.records, W);
    assert_int_equal(st.torn_bytes, 0);
    uint64_t c0 = st.compactions, e0 = st.io_errors;

    /* Failures before a compaction's rename leave the old journal in use (healthy, retried
     * later): the snapshot's write, its fsync, its open... */
    int renames = n_rename;
    fail_tmp_write = ENOSPC;
    load(s, W, N, size, &st, &io);
    assert_int_equal(io, 0);
    assert_true(st.healthy);
    assert_true(st.io_errors >= e0 + 1);
    assert_non_null(strstr(st.last_error, "compaction"));
    assert_true(st.compactions >= c0 + 1); /* the retry 4 MiB later worked */
    assert_true(n_rename > renames);
    assert_int_equal(file_size(dir, "state.journal.tmp"), -1);
    assert_latest(s, W, size, last); /* each worker went on from its record to rec <id> N-1 */
    /* ...the fsync of the snapshot (no batch calls fsync: the next one is compaction's). */
    e0 = st.io_errors;
    c0 = st.compactions;
    fail_fsync = EIO;
    load(s, W, N, size, &st, &io);
    assert_int_equal(io, 0);
    assert_true(st.healthy);
    assert_int_equal(fail_fsync, 0);
    assert_true(st.io_errors >= e0 + 1);
    assert_int_equal(file_size(dir, "state.journal.tmp"), -1);
    assert_latest(s, W, size, last);
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_latest(s, W, size, last);

    /* The rename fails (the compaction's commit point): unknown, unhealthy; every later
     * write is refused. After a reopen each origin has a complete record: the last one
     * acknowledged (the journal the name points to holds every acknowledged frame). */
    fail_rename = EIO;
    load(s, W, N, size, &st, &io);
    assert_false(st.healthy);
    assert_int_equal(fail_rename, 0);
    assert_non_null(strstr(st.last_error, "rename"));
    assert_true(io > 0);
    assert_int_equal(st.commits + (uint64_t)io, (uint64_t)W * N);
    char **acked = calloc(W, sizeof *acked);
    assert_non_null(acked);
    for (int i = 1; i <= W; i++) {
        char hex[65];
        size_t len = 0;
        snprintf(hex, sizeof hex, "%064x", i);
        assert_int_equal(tl_wstate_read(s, hex, &acked[i - 1], &len, &d), TL_OK);
    }
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    tl_wstate_stats_get(s, &st);
    assert_true(st.healthy);
    for (int i = 1; i <= W; i++) {
        char hex[65];
        snprintf(hex, sizeof hex, "%064x", i);
        assert_record(s, hex, acked[i - 1]);
        free(acked[i - 1]);
    }

    /* The directory fsync after the rename fails: unhealthy too, and nothing is lost. */
    fsync_skip = 1;
    fail_fsync = EIO;
    load(s, W, N, size, &st, &io);
    assert_false(st.healthy);
    assert_int_equal(fail_fsync, 0);
    assert_non_null(strstr(st.last_error, "fsync directory"));
    assert_true(io > 0);
    for (int i = 1; i <= W; i++) {
        char hex[65];
        size_t len = 0;
        snprintf(hex, sizeof hex, "%064x", i);
        assert_int_equal(tl_wstate_read(s, hex, &acked[i - 1], &len, &d), TL_OK);
    }
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    for (int i = 1; i <= W; i++) {
        char hex[65];
        snprintf(hex, sizeof hex, "%064x", i);
        assert_record(s, hex, acked[i - 1]);
        free(acked[i - 1]);
    }
    free(acked);
    tl_wstate_close(s);
}

/* The old layout: one file per origin under cosigned/, imported at open. */
static void test_import(void **state)
{
    fixture *f = *state;
    char dir[300];
    sub(dir, sizeof dir, f, "import");
    tl_wstate *s = NULL;
    tl_diag d;
    /* A directory as an older treatylog leaves it: witness.pub, cosigned/<hex>, a temp file,
     * evidence/, no journal. */
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    tl_wstate_close(s);
    char path[400];
    snprintf(path, sizeof path, "%s/state.journal", dir);
    assert_int_equal(unlink(path), 0);
    enum { K = 300 };
    for (int i = 0; i < K; i++) {
        char name[80], rec[64];
        snprintf(name, sizeof name, "cosigned/%064x", i + 1);
        int n = snprintf(rec, sizeof rec, "old record %d\n", i + 1);
        write_file(dir, name, rec, (size_t)n);
    }
    write_file(dir, "cosigned/" HEX_A ".tmp", "spare", 5);
    write_file(dir, "cosigned/README", "not a record", 12);
    /* The import's sync fails: the open fails and the files stay for the next. */
    fail_syncfs = EIO;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_ERR_IO);
    assert_int_equal(fail_syncfs, 0);
    snprintf(path, sizeof path, "cosigned/%064x", 5);
    assert_true(file_size(dir, path) > 0);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.records, K);
    for (int i = 0; i < K; i++) {
        char hex[65], rec[64];
        snprintf(hex, sizeof hex, "%064x", i + 1);
        snprintf(rec, sizeof rec, "old record %d\n", i + 1);
        assert_record(s, hex, rec);
    }
    /* The files are gone (not the unrelated one), and the records go on in the journal. */
    assert_int_equal(file_size(dir, path), -1);
    assert_int_equal(file_size(dir, "cosigned/" HEX_A ".tmp"), -1);
    assert_int_equal(file_size(dir, "cosigned/README"), 12);
    char hex5[65];
    snprintf(hex5, sizeof hex5, "%064x", 5);
    assert_int_equal(tl_wstate_replace(s, hex5, "old record 5\n", 13, "new 5\n", 6, &d), TL_OK);
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.records, K);
    assert_record(s, hex5, "new 5\n");
    char hex6[65];
    snprintf(hex6, sizeof hex6, "%064x", 6);
    assert_record(s, hex6, "old record 6\n");
    tl_wstate_close(s);
    /* A crash after the import's sync, before the files were removed: they are imported
     * again (the same records), nothing else changes. A file there overrides the journal. */
    write_file(dir,
               "cosigned/"
               "0000000000000000000000000000000000000000000000000000000000000006",
               "old record 6\n", 13);
    write_file(dir, "cosigned/" HEX_C, "dropped in\n", 11);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_record(s, hex6, "old record 6\n");
    assert_record(s, hex5, "new 5\n");
    assert_record(s, HEX_C, "dropped in\n");
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.records, K + 1);
    tl_wstate_close(s);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_record(s, HEX_C, "dropped in\n");
    tl_wstate_close(s);
}

static void test_evidence(void **state)
{
    fixture *f = *state;
    char dir[300], path[500];
    sub(dir, sizeof dir, f, "evidence");
    tl_wstate *s = NULL;
    tl_diag d;
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    char name[96], name2[96];
    assert_int_equal(tl_wstate_evidence(s, HEX_A, 1767139200, "o.example/log", 409,
                                        "same size\nother root", "STORED\n", 7, "BODY", 4, name,
                                        &d),
                     TL_OK);
    assert_string_equal(name, "1767139200-" HEX_A);
    assert_int_equal(tl_wstate_evidence(s, HEX_A, 1767139200, "o.example/log", 422, "proof", "", 0,
                                        "B2", 2, name2, &d),
                     TL_OK);
    assert_string_equal(name2, "1767139200-" HEX_A "-1");
    snprintf(path, sizeof path, "%s/evidence/%s", dir, name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    assert_string_equal(buf, "treatylog-witness-evidence/v1\ntime 1767139200\norigin "
                             "o.example/log\nstatus 409\nreason same size other root\n"
                             "stored 7\nSTORED\n\nrequest 4\nBODY\n");
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.evidence, 2);
    tl_wstate_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_layout_lock_key, reset_faults),
        cmocka_unit_test_setup(test_cas, reset_faults),
        cmocka_unit_test_setup(test_faults, reset_faults),
        cmocka_unit_test_setup(test_torn_tail, reset_faults),
        cmocka_unit_test_setup(test_group_commit_and_race, reset_faults),
        cmocka_unit_test_setup(test_compaction, reset_faults),
        cmocka_unit_test_setup(test_import, reset_faults),
        cmocka_unit_test_setup(test_evidence, reset_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
