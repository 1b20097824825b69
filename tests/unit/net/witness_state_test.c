/* witness_state_test.c - the witness state directory (witness_state.c): layout, the one-process
 * lock, the key binding, compare-and-swap, group commit under concurrency, leftover temp files,
 * evidence files, and the durability contract under injected write, syncfs, rename and
 * directory-fsync failures (nothing changes before the commit point; after a failure at it the
 * store refuses writes until reopened). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#define W_VKEY                                                                                     \
    "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o"

/* Fault injection: fail the next call of one kind (errno given), counted from arming. */
static int fail_write, fail_syncfs, fail_rename, fail_fsync; /* errno to fail with, or 0 */
static int n_syncfs, n_fsync;

static int f_open(const char *p, int flags, mode_t mode)
{
    return open(p, flags, mode);
}
static ssize_t f_write(int fd, const void *b, size_t n)
{
    if (fail_write) {
        errno = fail_write;
        fail_write = 0;
        return -1;
    }
    return write(fd, b, n);
}
static int f_fsync(int fd)
{
    n_fsync++;
    if (fail_fsync) {
        errno = fail_fsync;
        fail_fsync = 0;
        return -1;
    }
    return fsync(fd);
}
static int f_syncfs(int fd)
{
    n_syncfs++;
    if (fail_syncfs) {
        errno = fail_syncfs;
        fail_syncfs = 0;
        return -1;
    }
    return syncfs(fd);
}
static int f_rename(const char *a, const char *b)
{
    if (fail_rename) {
        errno = fail_rename;
        fail_rename = 0;
        return -1;
    }
    return rename(a, b);
}
static const tl_sys faulty = {f_open, f_write, f_fsync, f_syncfs, f_rename, close, NULL};

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
    free(buf);
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
    const char *const want[] = {"lock", "witness.pub", "cosigned", "evidence"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, want[i]);
        assert_int_equal(stat(path, &sb), 0);
    }
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
    assert_record(s, HEX_A, "one\n");
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    /* The real system calls exchange the two names: the old record is the next temp file. */
    char spare[400];
    snprintf(spare, sizeof spare, "%s/cosigned/%s.tmp", dir, HEX_A);
    FILE *sp = fopen(spare, "r");
    assert_non_null(sp);
    char got[16] = {0};
    assert_int_equal(fread(got, 1, sizeof got, sp), 4);
    fclose(sp);
    assert_string_equal(got, "one\n");
    /* ...overwritten in place by a shorter and a longer record. */
    assert_int_equal(tl_wstate_replace(s, HEX_A, "two\n", 4, "3\n", 2, &d), TL_OK);
    assert_record(s, HEX_A, "3\n");
    assert_int_equal(tl_wstate_replace(s, HEX_A, "3\n", 2, "four four\n", 10, &d), TL_OK);
    assert_record(s, HEX_A, "four four\n");
    assert_int_equal(tl_wstate_replace(s, HEX_A, "four four\n", 10, "two\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_int_equal(tl_wstate_replace(s, "../x", NULL, 0, "x", 1, &d), TL_ERR_USAGE);
    assert_int_equal(tl_wstate_replace(s, HEX_A "0", NULL, 0, "x", 1, &d), TL_ERR_USAGE);
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_int_equal(st.commits, 5);
    assert_int_equal(st.conflicts, 3);
    assert_true(st.healthy);
    tl_wstate_close(s);
    /* Durable across a reopen; a leftover temp file (a crash mid-write) is removed. */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/cosigned/%s.tmp", dir, HEX_B);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fputs("half", fp);
    fclose(fp);
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, NULL, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");
    assert_record(s, HEX_B, NULL);
    struct stat sb;
    assert_int_not_equal(stat(tmp, &sb), 0);
    assert_int_not_equal(stat(spare, &sb), 0);
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

    /* Disk full while writing the temp file: nothing changes, the store stays healthy. */
    fail_write = ENOSPC;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "No space"));
    assert_record(s, HEX_A, "one\n");
    /* syncfs fails: nothing was renamed, nothing changes, still healthy. */
    fail_syncfs = EIO;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_ERR_IO);
    assert_record(s, HEX_A, "one\n");
    tl_wstate_stats st;
    tl_wstate_stats_get(s, &st);
    assert_true(st.healthy);
    assert_int_equal(st.io_errors, 2);
    /* It recovers. */
    assert_int_equal(tl_wstate_replace(s, HEX_A, "one\n", 4, "two\n", 4, &d), TL_OK);
    assert_record(s, HEX_A, "two\n");

    /* The rename (the commit point) fails: unhealthy, every later write refused. */
    fail_rename = EIO;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "two\n", 4, "three\n", 6, &d), TL_ERR_IO);
    assert_record(s, HEX_A, "two\n");
    tl_wstate_stats_get(s, &st);
    assert_false(st.healthy);
    assert_non_null(strstr(st.last_error, "rename"));
    assert_int_equal(tl_wstate_replace(s, HEX_B, NULL, 0, "b\n", 2, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "restart"));
    assert_record(s, HEX_B, NULL);
    tl_wstate_close(s);

    /* Reopened: healthy again. The directory fsync after the rename fails: unknown outcome
     * (the caller got no OK, so no cosignature left), unhealthy. */
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    int before = n_fsync;
    fail_fsync = EIO;
    assert_int_equal(tl_wstate_replace(s, HEX_A, "two\n", 4, "four\n", 5, &d), TL_ERR_IO);
    assert_int_equal(n_fsync, before + 1);
    tl_wstate_stats_get(s, &st);
    assert_false(st.healthy);
    tl_wstate_close(s);
    /* Whatever the rename left is what a restart sees: here the new record. */
    assert_int_equal(tl_wstate_open(&s, dir, &f->wv, &faulty, &d), TL_OK);
    assert_record(s, HEX_A, "four\n");
    tl_wstate_close(s);
}

typedef struct worker {
    tl_wstate *s;
    int id;
    int n;
    int ok, conflicts;
    const char *expect; /* for the race: everyone replaces this */
} worker;

static void *distinct(void *arg)
{
    worker *w = arg;
    char hex[65], prev[32] = "", rec[32];
    snprintf(hex, sizeof hex, "%064x", w->id);
    for (int i = 0; i < w->n; i++) {
        int n = snprintf(rec, sizeof rec, "rec %d %d\n", w->id, i);
        tl_diag d;
        if (tl_wstate_replace(w->s, hex, prev, strlen(prev), rec, (size_t)n, &d) == TL_OK)
            w->ok++;
        memcpy(prev, rec, sizeof rec);
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
    /* Group commit: fewer syncs than records (one per batch). */
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
    int ok = 0, conflicts = 0;
    for (int i = 0; i < W; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        conflicts += w[i].conflicts;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(conflicts, W - 1);
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
        cmocka_unit_test(test_layout_lock_key), cmocka_unit_test(test_cas),
        cmocka_unit_test(test_faults),          cmocka_unit_test(test_group_commit_and_race),
        cmocka_unit_test(test_evidence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
