/* journal_test.c - the submission journal: records survive a reopen (the preallocated zero
 * tail is not a record and is cut off), a torn record inside the preallocated region ends the
 * journal, a failed fdatasync or extension acknowledges nothing and leaves the earlier records
 * intact, and appends after a recovery land after the last good record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/journal.h"

static char dir[256];
static char jpath[300];

/* Fault switches: test-only globals. */
static int fail_fsync, fail_write;
static int n_fsync;

static int f_open(const char *p, int fl, mode_t m)
{
    return open(p, fl, m);
}
static ssize_t f_write(int fd, const void *b, size_t n)
{
    if (fail_write) {
        errno = ENOSPC;
        return -1;
    }
    return write(fd, b, n);
}
static int f_fsync(int fd)
{
    n_fsync++;
    if (fail_fsync) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}
static int f_syncfs(int fd)
{
    return syncfs(fd);
}
static const tl_sys faulty = {f_open, f_write, f_fsync, f_syncfs, rename, close, NULL};

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tl-journal-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    char sub[300];
    snprintf(sub, sizeof sub, "%s/.treatylog", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(jpath, sizeof jpath, "%s/.treatylog/journal", dir);
    fail_fsync = fail_write = 0;
    n_fsync = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static off_t file_size(void)
{
    struct stat sb;
    assert_int_equal(stat(jpath, &sb), 0);
    return sb.st_size;
}

/* Appends records "rec <first>" .. "rec <first+n-1>" (distinct lengths). */
static tl_err append_n(tl_journal *j, unsigned first, unsigned n, tl_diag *d)
{
    char bufs[64][32];
    const uint8_t *ents[64];
    size_t lens[64];
    assert_true(n <= 64);
    for (unsigned i = 0; i < n; i++) {
        int k = snprintf(bufs[i], sizeof bufs[i], "rec %u%.*s", first + i, (int)((first + i) % 7),
                         "xxxxxxx");
        ents[i] = (const uint8_t *)bufs[i];
        lens[i] = (size_t)k;
    }
    return tl_journal_append(j, ents, lens, n, 1000 + first, d);
}

static void check_recs(const tl_journal_rec *recs, size_t n, unsigned first)
{
    for (size_t i = 0; i < n; i++) {
        char want[32];
        int k = snprintf(want, sizeof want, "rec %u%.*s", first + (unsigned)i,
                         (int)((first + i) % 7), "xxxxxxx");
        assert_int_equal(recs[i].len, (size_t)k);
        assert_memory_equal(recs[i].entry, want, (size_t)k);
    }
}

static void test_reopen_recovers_records_and_cuts_zeros(void **state)
{
    (void)state;
    tl_journal *j = NULL;
    tl_journal_rec *recs = NULL;
    size_t n = 0;
    tl_diag d;
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 5, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(append_n(j, 0, 10, &d), TL_OK);
    assert_int_equal(append_n(j, 10, 3, &d), TL_OK);
    uint64_t bytes = tl_journal_bytes(j);
    assert_int_equal(tl_journal_next_index(j), 5 + 13);
    /* Preallocated: the file is longer than its records, and the tail is zeros. */
    assert_true((uint64_t)file_size() > bytes);
    tl_journal_close(j); /* as after kill -9: nothing cut at close */
    assert_true((uint64_t)file_size() > bytes);

    /* Log size 7: records 0 and 1 are integrated, 11 come back. */
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 7, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 11);
    check_recs(recs, n, 2);
    assert_int_equal(recs[0].accepted_ms, 1000);
    assert_int_equal(recs[10].accepted_ms, 1010);
    assert_int_equal(tl_journal_bytes(j), bytes);
    assert_int_equal((uint64_t)file_size(), bytes); /* the zero tail was cut off */
    /* Appends continue right after the last record. */
    assert_int_equal(append_n(j, 13, 2, &d), TL_OK);
    tl_journal_close(j);
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 5, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 15);
    check_recs(recs, n, 0);
    tl_journal_close(j);
}

static void test_torn_record_in_prealloc_ends_journal(void **state)
{
    (void)state;
    tl_journal *j = NULL;
    tl_journal_rec *recs = NULL;
    size_t n = 0;
    tl_diag d;
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(append_n(j, 0, 4, &d), TL_OK);
    uint64_t good = tl_journal_bytes(j);
    assert_int_equal(append_n(j, 4, 2, &d), TL_OK);
    tl_journal_close(j);
    /* A crash mid-write of the second batch: its second record half there, zeros after. */
    int fd = open(jpath, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t z[20] = {0};
    off_t rec5 = (off_t)good + 16 + 9; /* record 4 ("rec 4" and 4 x) is 16 + 9 bytes */
    assert_int_equal(pwrite(fd, z, sizeof z, rec5 + 6), (ssize_t)sizeof z);
    close(fd);
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 5);
    check_recs(recs, n, 0);
    assert_int_equal((uint64_t)file_size(), (uint64_t)rec5);
    /* The next append lands where the torn record was. */
    assert_int_equal(append_n(j, 5, 1, &d), TL_OK);
    tl_journal_close(j);
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 6);
    check_recs(recs, n, 0);
    tl_journal_close(j);
}

static void test_failed_sync_acknowledges_nothing(void **state)
{
    (void)state;
    tl_journal *j = NULL;
    tl_journal_rec *recs = NULL;
    size_t n = 0;
    tl_diag d;
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(append_n(j, 0, 3, &d), TL_OK);
    uint64_t bytes = tl_journal_bytes(j);
    fail_fsync = 1; /* the data sync of this batch fails */
    assert_int_equal(append_n(j, 3, 2, &d), TL_ERR_IO);
    fail_fsync = 0;
    assert_int_equal(tl_journal_bytes(j), bytes);
    assert_int_equal(tl_journal_next_index(j), 3);
    assert_int_equal((uint64_t)file_size(), bytes); /* cut back, prealloc dropped */
    /* The next batch extends again and lands after record 2. */
    assert_int_equal(append_n(j, 3, 1, &d), TL_OK);
    tl_journal_close(j);
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 4);
    check_recs(recs, n, 0);
    tl_journal_close(j);
}

static void test_failed_extension_acknowledges_nothing(void **state)
{
    (void)state;
    tl_journal *j = NULL;
    tl_journal_rec *recs = NULL;
    size_t n = 0;
    tl_diag d;
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(append_n(j, 0, 2, &d), TL_OK);
    uint64_t bytes = tl_journal_bytes(j);
    tl_journal_close(j);
    /* Reopen: the tail is cut, so the next append must extend; the disk is full. */
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 2);
    fail_write = 1;
    assert_int_equal(append_n(j, 2, 1, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, "No space left"));
    fail_write = 0;
    assert_int_equal((uint64_t)file_size(), bytes);
    /* The extension's fsync fails: nothing acknowledged either. */
    fail_fsync = 1;
    assert_int_equal(append_n(j, 2, 1, &d), TL_ERR_IO);
    fail_fsync = 0;
    assert_int_equal((uint64_t)file_size(), bytes);
    assert_int_equal(append_n(j, 2, 1, &d), TL_OK);
    tl_journal_close(j);
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 3);
    check_recs(recs, n, 0);
    tl_journal_close(j);
}

static void test_batches_need_no_fsync_once_extended(void **state)
{
    (void)state;
    tl_journal *j = NULL;
    tl_journal_rec *recs = NULL;
    size_t n = 0;
    tl_diag d;
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(append_n(j, 0, 1, &d), TL_OK); /* extends: one fsync, one data sync */
    int before = n_fsync;
    for (unsigned i = 1; i < 40; i++)
        assert_int_equal(append_n(j, i, 1, &d), TL_OK);
    /* The test table has no fdatasync: each batch's data sync goes through its fsync, and
     * no batch inside the preallocated region adds a second sync. */
    assert_int_equal(n_fsync - before, 39);
    tl_journal_close(j);
    /* A reset starts a fresh file (header only) and appends after it. */
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 0, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 40);
    assert_int_equal(tl_journal_reset(j, 40, &d), TL_OK);
    assert_int_equal(append_n(j, 40, 2, &d), TL_OK);
    tl_journal_close(j);
    assert_int_equal(tl_journal_open(&j, dir, &faulty, 40, &recs, &n, &d), TL_OK);
    assert_int_equal(n, 2);
    check_recs(recs, n, 40);
    tl_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_recovers_records_and_cuts_zeros, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_record_in_prealloc_ends_journal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_acknowledges_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_extension_acknowledges_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batches_need_no_fsync_once_extended, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
