/* hashindex.c - leaf hash -> index map in SQLite (WAL mode, synchronous=NORMAL: the index can
 * lose its last transactions on power loss, never become inconsistent, and is re-derived
 * from the log past `covered` at start-up).
 *
 *   leaves(hash BLOB PRIMARY KEY, idx INTEGER) WITHOUT ROWID
 *   meta(k TEXT PRIMARY KEY, v INTEGER)        k = 'covered'
 *   witnessed(size INTEGER PRIMARY KEY, first BLOB, last BLOB)   witnessed checkpoints
 *
 * Lookups share one read transaction: the first tl_hashindex_get opens it and the following
 * ones reuse its snapshot until any other call (every write ends it first) or READ_SPAN_NS
 * have passed. A read transaction of its own per lookup costs SQLite's WAL read-lock dance
 * (fcntl locks on the -shm file) every time, the largest part of a dedup lookup. The snapshot
 * cannot miss this connection's own writes (they end it); another connection's writes show
 * within READ_SPAN_NS.
 */
#include "treatylog/hashindex.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

struct tl_hashindex {
    sqlite3 *db;
    sqlite3_stmt *ins, *get, *setcov, *begin, *commit;
    pthread_mutex_t mu; /* serialises the statements */
    uint64_t covered;
    bool reading;        /* a read transaction of lookups is open */
    uint64_t read_t0_ns; /* when it began */
};

#define READ_SPAN_NS 100000000u /* 100 ms */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Ends the lookups' read transaction, if one is open (under h->mu). */
static void end_read(tl_hashindex *h)
{
    if (!h->reading)
        return;
    h->reading = false;
    if (!sqlite3_get_autocommit(h->db)) {
        sqlite3_step(h->commit);
        sqlite3_reset(h->commit);
    }
}

static tl_err db_fail(tl_hashindex *h, tl_diag *d, const char *what)
{
    return tl_fail(d, TL_ERR_IO, "index database: %s: %s", what,
                   h->db ? sqlite3_errmsg(h->db) : "cannot open");
}

static tl_err exec(tl_hashindex *h, const char *sql, tl_diag *d)
{
    if (sqlite3_exec(h->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(h, d, sql);
    return TL_OK;
}

tl_err tl_hashindex_open(tl_hashindex **out, const char *path, tl_diag *d)
{
    tl_hashindex *h = calloc(1, sizeof *h);
    if (!h)
        return tl_fail(d, TL_ERR_NOMEM, "index");
    pthread_mutex_init(&h->mu, NULL);
    tl_err e = TL_OK;
    if (sqlite3_open_v2(path, &h->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        e = db_fail(h, d, path);
    if (e == TL_OK)
        e = exec(h,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                 "CREATE TABLE IF NOT EXISTS leaves(hash BLOB PRIMARY KEY, idx INTEGER NOT NULL)"
                 " WITHOUT ROWID;"
                 "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
                 "CREATE TABLE IF NOT EXISTS witnessed(size INTEGER PRIMARY KEY, first BLOB NOT "
                 "NULL, last BLOB NOT NULL);",
                 d);
    if (e == TL_OK &&
        (sqlite3_prepare_v2(h->db, "INSERT OR IGNORE INTO leaves(hash, idx) VALUES(?, ?)", -1,
                            &h->ins, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(h->db, "SELECT idx FROM leaves WHERE hash = ?", -1, &h->get,
                            NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO meta(k, v) VALUES('covered', ?)", -1,
                            &h->setcov, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(h->db, "BEGIN", -1, &h->begin, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(h->db, "COMMIT", -1, &h->commit, NULL) != SQLITE_OK))
        e = db_fail(h, d, "prepare");
    if (e == TL_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(h->db, "SELECT v FROM meta WHERE k = 'covered'", -1, &st,
                               NULL) != SQLITE_OK)
            e = db_fail(h, d, "prepare");
        else if (sqlite3_step(st) == SQLITE_ROW)
            h->covered = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    if (e != TL_OK) {
        tl_hashindex_close(h);
        return e;
    }
    *out = h;
    return TL_OK;
}

tl_err tl_hashindex_put(tl_hashindex *h, const uint8_t (*leaves)[TL_HASH_LEN], uint64_t first,
                        size_t n, uint64_t covered, tl_diag *d)
{
    return tl_hashindex_put_keyed(h, leaves, NULL, first, n, covered, d);
}

tl_err tl_hashindex_put_keyed(tl_hashindex *h, const uint8_t (*leaves)[TL_HASH_LEN],
                              const uint8_t (*keys)[TL_HASH_LEN], uint64_t first, size_t n,
                              uint64_t covered, tl_diag *d)
{
    pthread_mutex_lock(&h->mu);
    end_read(h);
    tl_err e = exec(h, "BEGIN", d);
    for (int pass = 0; pass < (keys ? 2 : 1); pass++) {
        const uint8_t(*hs)[TL_HASH_LEN] = pass ? keys : leaves;
        for (size_t i = 0; i < n && e == TL_OK; i++) {
            sqlite3_bind_blob(h->ins, 1, hs[i], TL_HASH_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(h->ins, 2, (sqlite3_int64)(first + i));
            if (sqlite3_step(h->ins) != SQLITE_DONE)
                e = db_fail(h, d, "insert");
            sqlite3_reset(h->ins);
        }
    }
    if (e == TL_OK) {
        sqlite3_bind_int64(h->setcov, 1, (sqlite3_int64)covered);
        if (sqlite3_step(h->setcov) != SQLITE_DONE)
            e = db_fail(h, d, "update");
        sqlite3_reset(h->setcov);
    }
    if (e == TL_OK)
        e = exec(h, "COMMIT", d);
    if (e != TL_OK) {
        tl_diag d2;
        (void)exec(h, "ROLLBACK", &d2);
    } else {
        h->covered = covered;
    }
    pthread_mutex_unlock(&h->mu);
    return e;
}

tl_err tl_hashindex_get(tl_hashindex *h, const uint8_t leaf[static TL_HASH_LEN], uint64_t *index,
                        tl_diag *d)
{
    pthread_mutex_lock(&h->mu);
    if (h->reading && mono_ns() - h->read_t0_ns > READ_SPAN_NS)
        end_read(h);
    if (!h->reading && sqlite3_get_autocommit(h->db)) {
        /* BEGIN is deferred: the snapshot is taken by the first lookup. */
        h->reading = sqlite3_step(h->begin) == SQLITE_DONE;
        sqlite3_reset(h->begin);
        h->read_t0_ns = mono_ns();
    }
    sqlite3_bind_blob(h->get, 1, leaf, TL_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(h->get);
    tl_err e = TL_OK;
    if (rc == SQLITE_ROW)
        *index = (uint64_t)sqlite3_column_int64(h->get, 0);
    else if (rc == SQLITE_DONE)
        e = TL_ERR_NOTFOUND;
    else
        e = db_fail(h, d, "lookup");
    sqlite3_reset(h->get);
    if (e != TL_OK && e != TL_ERR_NOTFOUND)
        end_read(h);
    pthread_mutex_unlock(&h->mu);
    return e;
}

uint64_t tl_hashindex_covered(tl_hashindex *h)
{
    pthread_mutex_lock(&h->mu);
    uint64_t c = h->covered;
    pthread_mutex_unlock(&h->mu);
    return c;
}

tl_err tl_hashindex_truncate(tl_hashindex *h, uint64_t size, tl_diag *d)
{
    pthread_mutex_lock(&h->mu);
    end_read(h);
    sqlite3_stmt *st = NULL;
    tl_err e = TL_OK;
    if (sqlite3_prepare_v2(h->db, "DELETE FROM leaves WHERE idx >= ?", -1, &st, NULL) !=
        SQLITE_OK)
        e = db_fail(h, d, "prepare");
    if (e == TL_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
        if (sqlite3_step(st) != SQLITE_DONE)
            e = db_fail(h, d, "delete");
    }
    sqlite3_finalize(st);
    if (e == TL_OK) {
        sqlite3_bind_int64(h->setcov, 1, (sqlite3_int64)size);
        if (sqlite3_step(h->setcov) != SQLITE_DONE)
            e = db_fail(h, d, "update");
        sqlite3_reset(h->setcov);
    }
    if (e == TL_OK)
        h->covered = size;
    pthread_mutex_unlock(&h->mu);
    return e;
}

tl_err tl_hashindex_put_witnessed(tl_hashindex *h, uint64_t size, const char *note, size_t len,
                                  tl_diag *d)
{
    pthread_mutex_lock(&h->mu);
    end_read(h);
    sqlite3_stmt *st = NULL;
    tl_err e = TL_OK;
    if (sqlite3_prepare_v2(h->db,
                           "INSERT INTO witnessed(size, first, last) VALUES(?1, ?2, ?2) "
                           "ON CONFLICT(size) DO UPDATE SET last = excluded.last",
                           -1, &st, NULL) != SQLITE_OK)
        e = db_fail(h, d, "prepare");
    if (e == TL_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
        sqlite3_bind_blob(st, 2, note, (int)len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            e = db_fail(h, d, "archive witnessed checkpoint");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&h->mu);
    return e;
}

static tl_err witnessed_query(tl_hashindex *h, const char *sql, uint64_t from, size_t max,
                              tl_witnessed_fn cb, void *ctx, tl_diag *d)
{
    pthread_mutex_lock(&h->mu);
    end_read(h);
    sqlite3_stmt *st = NULL;
    tl_err e = TL_OK;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
        e = db_fail(h, d, "prepare");
    if (e == TL_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        for (;;) {
            int rc = sqlite3_step(st);
            if (rc == SQLITE_DONE)
                break;
            if (rc != SQLITE_ROW) {
                e = db_fail(h, d, "list witnessed checkpoints");
                break;
            }
            cb(ctx, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
               (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_blob(st, 2),
               (size_t)sqlite3_column_bytes(st, 2));
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&h->mu);
    return e;
}

tl_err tl_hashindex_witnessed(tl_hashindex *h, uint64_t from, size_t max, tl_witnessed_fn cb,
                              void *ctx, tl_diag *d)
{
    return witnessed_query(
        h, "SELECT size, first, last FROM witnessed WHERE size >= ? ORDER BY size LIMIT ?", from,
        max, cb, ctx, d);
}

tl_err tl_hashindex_witnessed_latest(tl_hashindex *h, tl_witnessed_fn cb, void *ctx, tl_diag *d)
{
    return witnessed_query(
        h, "SELECT size, first, last FROM witnessed WHERE size >= ? ORDER BY size DESC LIMIT ?",
        0, 1, cb, ctx, d);
}

tl_err tl_hashindex_witnessed_below(tl_hashindex *h, uint64_t index, tl_witnessed_fn cb,
                                    void *ctx, tl_diag *d)
{
    /* size <= index, written as size < index + 1 to reuse the "from" parameter. */
    return witnessed_query(h,
                           "SELECT size, first, last FROM witnessed WHERE size < ? ORDER BY "
                           "size DESC LIMIT ?",
                           index + 1, 1, cb, ctx, d);
}

void tl_hashindex_close(tl_hashindex *h)
{
    if (!h)
        return;
    if (h->db)
        end_read(h);
    sqlite3_finalize(h->begin);
    sqlite3_finalize(h->commit);
    sqlite3_finalize(h->ins);
    sqlite3_finalize(h->get);
    sqlite3_finalize(h->setcov);
    if (h->db)
        sqlite3_close(h->db);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
