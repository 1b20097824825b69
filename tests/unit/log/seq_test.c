/* seq_test.c - the sequencer with fault injection: a failing fsync (journal) or syncfs (tiles)
 * never yields an acknowledgement for something not durable; acknowledged entries survive a
 * restart (journal recovery); duplicates get the first answer; the journal limit pushes back. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/log.h"
#include "treatylog/receipt.h"
#include "treatylog/sequencer.h"
#include "treatylog/tlogproof.h"

/* Fault switches: test-only globals. */
static _Atomic int fail_fsync, fail_syncfs;

static int f_open(const char *p, int fl, mode_t m)
{
    return open(p, fl, m);
}
static int f_fsync(int fd)
{
    if (fail_fsync) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}
static int f_syncfs(int fd)
{
    if (fail_syncfs) {
        errno = EIO;
        return -1;
    }
    return syncfs(fd);
}
static const tl_sys faulty = {f_open, write, f_fsync, f_syncfs, rename, close, NULL};

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    tl_answer a;
} waiter;

static void on_answer(void *ctx, tl_answer *a)
{
    waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->a = *a;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wait_for(waiter *w)
{
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void waiter_init(waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static char dir[300];
static tl_skey key;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tl_init(), TL_OK);
    char base[] = "/tmp/tl-seq-test.XXXXXX";
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/log", base);
    uint8_t seed[32] = {9};
    assert_int_equal(tl_skey_from_seed(&key, "seq.example/log", 15, TL_KEY_ED25519, seed, NULL),
                     TL_OK);
    assert_int_equal(tl_log_create(dir, NULL, &key, NULL), TL_OK);
    fail_fsync = fail_syncfs = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    *strrchr(dir, '/') = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static tl_seq *open_seq(const tl_sys *sys)
{
    tl_seq_config c;
    tl_seq_config_default(&c);
    c.batch_ms = 5;
    c.wait_timeout_ms = 300;
    c.journal_limit = 64;
    c.sys = sys;
    tl_seq *s = NULL;
    tl_diag d;
    tl_err e = tl_seq_open(&s, dir, &c, &d);
    if (e != TL_OK)
        fail_msg("tl_seq_open: %s", d.msg);
    return s;
}

/* Submits "name" and waits for the answer. */
static tl_answer submit(tl_seq *s, const char *name, bool wait)
{
    waiter w;
    waiter_init(&w);
    tl_diag d;
    tl_err e = tl_seq_submit(s, (const uint8_t *)name, strlen(name), wait, on_answer, &w, &d);
    if (e != TL_OK) {
        tl_answer a = {.kind = TL_ANSWER_ERROR, .err = e};
        return a;
    }
    wait_for(&w);
    return w.a;
}

/* The entry `name` is in the log: its proof by hash verifies. */
static bool in_log(tl_seq *s, const char *name)
{
    uint8_t leaf[TL_HASH_LEN];
    tl_leaf_hash(leaf, name, strlen(name));
    char *body = NULL;
    size_t len = 0;
    tl_diag d;
    if (tl_seq_proof_by_hash(s, leaf, &body, &len, &d) != TL_OK)
        return false;
    tl_tlog_proof p;
    tl_policy pol;
    tl_policy_single_log(&pol, &key.vkey);
    bool ok = tl_tlog_proof_parse(&p, body, len, &d) == TL_OK &&
              tl_tlog_proof_verify(&p, leaf, &pol, NULL, &d) == TL_OK;
    free(body);
    return ok;
}

static void test_proofs_receipts_duplicates(void **state)
{
    (void)state;
    tl_seq *s = open_seq(NULL);
    tl_answer a = submit(s, "alpha", true);
    assert_int_equal(a.kind, TL_ANSWER_PROOF);
    assert_int_equal(a.index, 0);
    free(a.body);
    a = submit(s, "beta", false);
    assert_int_equal(a.kind, TL_ANSWER_RECEIPT);
    tl_receipt r;
    tl_diag d;
    assert_int_equal(tl_receipt_parse(&r, a.body, a.body_len, &d), TL_OK);
    uint8_t leaf[TL_HASH_LEN];
    tl_leaf_hash(leaf, "beta", 4);
    assert_int_equal(tl_receipt_verify(&r, leaf, &key.vkey, &d), TL_OK);
    tl_leaf_hash(leaf, "gamma", 5);
    assert_int_equal(tl_receipt_verify(&r, leaf, &key.vkey, &d), TL_ERR_PROOF);
    free(a.body);
    a = submit(s, "alpha", false); /* duplicate of an integrated entry: its proof */
    assert_int_equal(a.kind, TL_ANSWER_PROOF);
    assert_true(a.duplicate);
    assert_int_equal(a.index, 0);
    free(a.body);
    assert_true(in_log(s, "alpha"));
    usleep(50000);
    assert_true(in_log(s, "beta"));
    tl_seq_close(s);
}

static void test_journal_fsync_failure_acks_nothing(void **state)
{
    (void)state;
    tl_seq *s = open_seq(&faulty);
    fail_fsync = 1;
    tl_answer a = submit(s, "lost cause", false);
    assert_int_equal(a.kind, TL_ANSWER_ERROR);
    assert_int_equal(a.err, TL_ERR_IO);
    assert_non_null(strstr(a.msg, "journal"));
    tl_seq_stats st;
    tl_seq_stats_get(s, &st);
    assert_false(st.writable);
    fail_fsync = 0;
    a = submit(s, "after recovery", true);
    assert_int_equal(a.kind, TL_ANSWER_PROOF);
    free(a.body);
    tl_seq_stats_get(s, &st);
    assert_true(st.writable);
    assert_true(in_log(s, "after recovery"));
    tl_seq_close(s);
}

static void test_receipted_entries_survive_integration_failure_and_restart(void **state)
{
    (void)state;
    tl_seq *s = open_seq(&faulty);
    fail_syncfs = 1; /* journal works, publishing does not */
    const char *names[] = {"one", "two", "three", "four"};
    for (size_t i = 0; i < 4; i++) {
        tl_answer a = submit(s, names[i], false);
        assert_int_equal(a.kind, TL_ANSWER_RECEIPT);
        free(a.body);
    }
    /* A waiter is told the truth after its timeout: durable, not integrated. */
    tl_answer a = submit(s, "five", true);
    assert_int_equal(a.kind, TL_ANSWER_ERROR);
    assert_int_equal(a.err, TL_ERR_IO);
    assert_non_null(strstr(a.msg, "durable"));
    assert_false(in_log(s, "one"));
    tl_seq_close(s); /* gives up integrating; the journal keeps them */
    fail_syncfs = 0;
    s = open_seq(NULL); /* recovery: re-integrates the journal */
    for (size_t i = 0; i < 4; i++)
        assert_true(in_log(s, names[i]));
    assert_true(in_log(s, "five"));
    tl_seq_stats st;
    tl_seq_stats_get(s, &st);
    assert_int_equal(st.size, 5);
    tl_seq_close(s);
}

static void test_pushback(void **state)
{
    (void)state;
    tl_seq *s = open_seq(&faulty);
    fail_syncfs = 1; /* nothing integrates, so the journal fills up */
    waiter w[70];
    int accepted = 0, pushed = 0;
    for (int i = 0; i < 70; i++) {
        waiter_init(&w[i]);
        char name[32];
        snprintf(name, sizeof name, "fill %d", i);
        tl_diag d;
        tl_err e = tl_seq_submit(s, (const uint8_t *)name, strlen(name), false, on_answer, &w[i],
                                 &d);
        if (e == TL_OK)
            accepted++;
        else if (e == TL_ERR_PUSHBACK)
            pushed++;
        else
            fail_msg("unexpected %d", e);
    }
    assert_int_equal(accepted, 64);
    assert_int_equal(pushed, 6);
    for (int i = 0; i < 64; i++) {
        wait_for(&w[i]);
        free(w[i].a.body);
    }
    fail_syncfs = 0;
    tl_seq_close(s);
    s = open_seq(NULL);
    tl_seq_stats st;
    tl_seq_stats_get(s, &st);
    assert_int_equal(st.size, 64);
    tl_seq_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_proofs_receipts_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_fsync_failure_acks_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_receipted_entries_survive_integration_failure_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pushback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
