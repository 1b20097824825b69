/* qindex.c - the query index in SQLite (qindex.h; decision 0003, "Query API"). WAL mode,
 * synchronous=NORMAL: a power loss can lose the last transactions, never make the index
 * inconsistent, and `covered` says where to resume.
 *
 *   entries(idx INTEGER PRIMARY KEY, leaf BLOB, subkey BLOB, logged INTEGER, kind INTEGER,
 *           type TEXT, party TEXT, serial INTEGER, sent TEXT, recips TEXT, refs TEXT,
 *           activity TEXT, start TEXT, end_ TEXT, troops INTEGER, signers TEXT,
 *           applied INTEGER, sub BLOB)
 *       kind 0 other, 1 notification, 2 registry (party 'operator'); recips, refs, signers
 *       are JSON arrays as text; applied: registry entries only, 1/0 (NULL: no operator key);
 *       sub: the submission (signed note), NULL for a raw entry; logged NULL for a raw entry
 *   refs(ref BLOB, idx INTEGER, PRIMARY KEY(ref, idx)) WITHOUT ROWID   what answers what
 *   days(day INTEGER PRIMARY KEY, n INTEGER)      entries per UTC day of logged
 *   parties(code TEXT PRIMARY KEY, n INTEGER)     notifications per sender
 *   meta(k TEXT PRIMARY KEY, v INTEGER)           covered, mono (logged never decreased),
 *                                                 last (largest logged so far)
 *   indexes (party, type, logged, ... every column a listing row reads), (party, logged),
 *   (type, logged), (logged), (leaf), (party, serial) for notifications; user_version =
 *   TL_QSCHEMA (2; a schema 1 index gets the covering index when first opened writable).
 *
 * Query plan: the rows come in ascending index. Since `logged` never decreases along the log
 * (decision 0003; tracked in meta.mono), a filtered query orders by (logged, idx), which the
 * (party, type, logged) and (type, logged) indexes deliver without sorting, and `after` adds
 * the bound logged >= logged(after). Should a log ever break that order, queries fall back to
 * ORDER BY idx.
 */
#include "treatylog/qindex.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "treatylog/entry.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/registry.h"
#include "treatylog/text.h"

#define TL_QSCHEMA 2

enum { KIND_OTHER = 0, KIND_NOTIFICATION = 1, KIND_REGISTRY = 2 };

static const char *const kind_names[] = {"other", "notification", "registry"};

/* Filter bits: one prepared statement per combination. */
enum {
    F_PARTY = 1 << 0,
    F_TYPE = 1 << 1,   /* exact */
    F_PREFIX = 1 << 2, /* type range [lo, hi) */
    F_SINCE = 1 << 3,
    F_UNTIL = 1 << 4,
    F_REF = 1 << 5,
    F_AFTER = 1 << 6,
    F_AFTERLOG = 1 << 7, /* logged >= logged(after) */
    F_MONO = 1 << 8,     /* order by (logged, idx) */
    F_SENT = 1 << 9,     /* since/until on `sent`, not `logged` */
    F_ACTIVE = 1 << 10,  /* since/until: the activity's [start, end] overlaps them */
    F_COMBOS = 1 << 11,
};

enum {
    S_INS,
    S_REF,
    S_DAY,
    S_PARTY,
    S_COV,
    S_META,
    S_ROW1,
    S_SERIAL,
    S_LEAF,
    S_REG,
    S_LOGAT,
    S_NSTMT,
};

static const char *const stmt_sql[S_NSTMT] = {
    [S_INS] = "INSERT INTO entries(idx, leaf, subkey, logged, kind, type, party, serial, sent, "
              "recips, refs, activity, start, end_, troops, signers, applied, sub) "
              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
              "?17, ?18)",
    [S_REF] = "INSERT OR IGNORE INTO refs(ref, idx) VALUES(?1, ?2)",
    [S_DAY] = "INSERT INTO days(day, n) VALUES(?1, ?2) ON CONFLICT(day) DO UPDATE SET n = n + ?2",
    [S_PARTY] = "INSERT INTO parties(code, n) VALUES(?1, ?2) "
                "ON CONFLICT(code) DO UPDATE SET n = n + ?2",
    [S_COV] = "INSERT OR REPLACE INTO meta(k, v) VALUES('covered', ?1), ('mono', ?2), "
              "('last', ?3)",
    [S_META] = "SELECT k, v FROM meta",
    [S_ROW1] = "SELECT idx, leaf, logged, kind, type, party, serial, sent, recips, refs, "
               "activity, start, end_, troops, signers, sub FROM entries WHERE idx = ?1",
    [S_SERIAL] = "SELECT subkey FROM entries WHERE kind = 1 AND party = ?1 AND serial = ?2 "
                 "ORDER BY idx LIMIT 1",
    [S_LEAF] = "SELECT idx, type FROM entries WHERE leaf = ?1 ORDER BY idx LIMIT 1",
    [S_REG] = "SELECT idx, sub FROM entries WHERE kind = 2 AND applied IS NOT 0 ORDER BY idx",
    [S_LOGAT] = "SELECT logged FROM entries WHERE idx <= ?1 AND logged IS NOT NULL "
                "ORDER BY idx DESC LIMIT 1",
};

struct tl_qindex {
    sqlite3 *db;
    bool readonly;
    pthread_mutex_t mu; /* serialises everything below */
    sqlite3_stmt *st[S_NSTMT];
    sqlite3_stmt *q[F_COMBOS]; /* query statements, prepared on first use */
    uint64_t covered;
    bool mono;        /* logged never decreased so far */
    int64_t last;     /* largest logged so far (-1: none) */
    tl_registry *reg; /* registry as of `covered`, NULL until the first put with a key */
    tl_note note;     /* scratch for put (large) */
    /* The (party, serial) pairs of the indexed notifications (writable handles), under smu
     * (taken after mu when both are held): NULL until loaded, and again after a failure. */
    pthread_mutex_t smu;
    struct serialset *serials;
    bool serials_tried; /* the first lookup tried to load them (it does so once) */
};

/* ---- the serial set ---------------------------------------------------------------------- */

/* An open-addressing table of 64-serial blocks per party: a slot holds (party, serial / 64)
 * and a bit per serial of the block, so a party's consecutive or strided serials cost a few
 * bits each. */
typedef struct sslot {
    uint64_t block; /* serial >> 6 */
    uint64_t bits;  /* bit (serial & 63): used */
    uint16_t party; /* the two code bytes; 0: empty slot */
} sslot;

typedef struct serialset {
    sslot *slot;
    size_t cap, used; /* cap a power of two */
} serialset;

static uint16_t party16(const char *party)
{
    return (uint16_t)((unsigned char)party[0] << 8 | (unsigned char)party[1]);
}

static size_t ss_hash(uint16_t party, uint64_t block)
{
    uint64_t k = (block ^ ((uint64_t)party << 48)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(k ^ (k >> 29));
}

static sslot *ss_find(const serialset *ss, uint16_t party, uint64_t block)
{
    for (size_t i = ss_hash(party, block) & (ss->cap - 1);; i = (i + 1) & (ss->cap - 1)) {
        sslot *sl = &ss->slot[i];
        if (sl->party == 0 || (sl->party == party && sl->block == block))
            return sl;
    }
}

static void ss_free(serialset *ss)
{
    if (ss)
        free(ss->slot);
    free(ss);
}

static bool ss_has(const serialset *ss, const char *party, uint64_t serial)
{
    if (ss->cap == 0)
        return false;
    const sslot *sl = ss_find(ss, party16(party), serial >> 6);
    return sl->party != 0 && (sl->bits >> (serial & 63) & 1);
}

/* Adds a pair; false when out of memory (the set is then unchanged). */
static bool ss_add(serialset *ss, const char *party, uint64_t serial)
{
    uint16_t p = party16(party);
    if (p == 0)
        return false;
    if ((ss->used + 1) * 2 > ss->cap) {
        size_t ncap = ss->cap ? ss->cap * 2 : 1024;
        sslot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return false;
        serialset grown = {ns, ncap, 0};
        for (size_t i = 0; i < ss->cap; i++)
            if (ss->slot[i].party) {
                *ss_find(&grown, ss->slot[i].party, ss->slot[i].block) = ss->slot[i];
                grown.used++;
            }
        free(ss->slot);
        *ss = grown;
    }
    sslot *sl = ss_find(ss, p, serial >> 6);
    if (sl->party == 0) {
        sl->party = p;
        sl->block = serial >> 6;
        ss->used++;
    }
    sl->bits |= 1ull << (serial & 63);
    return true;
}

static tl_err db_fail(const tl_qindex *q, tl_diag *d, const char *what)
{
    return tl_fail(d, TL_ERR_IO, "query index: %s: %s", what,
                   q->db ? sqlite3_errmsg(q->db) : "cannot open");
}

static tl_err exec(tl_qindex *q, const char *sql, tl_diag *d)
{
    if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(q, d, sql);
    return TL_OK;
}

/* The index for the query by party, type and time (issue 5's goal): it covers every column
 * a listing row reads, so a page of rows is a few contiguous index pages rather than one
 * table page per row (which a cold page cache pays as ~100 random reads). Schema 2. */
#define E_PARTY_TYPE_COLS                                                                          \
    "party, type, logged, idx, leaf, kind, serial, sent, recips, refs, activity, start, end_, "    \
    "troops"

/* Schema 1 -> 2: the covering (party, type, logged, ...) index. */
static const char upgrade_1_2_sql[] = "BEGIN; DROP INDEX IF EXISTS e_party_type;"
                                      "CREATE INDEX e_party_type ON entries(" E_PARTY_TYPE_COLS ");"
                                      "PRAGMA user_version=2; COMMIT;";

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS entries(idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, subkey "
    "BLOB, logged INTEGER, kind INTEGER NOT NULL, type TEXT, party TEXT, serial INTEGER, sent "
    "TEXT, recips TEXT, refs TEXT, activity TEXT, start TEXT, end_ TEXT, troops INTEGER, "
    "signers TEXT, applied INTEGER, sub BLOB);"
    "CREATE TABLE IF NOT EXISTS refs(ref BLOB NOT NULL, idx INTEGER NOT NULL, "
    "PRIMARY KEY(ref, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS days(day INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS parties(code TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS e_party_type ON entries(" E_PARTY_TYPE_COLS ");"
    "CREATE INDEX IF NOT EXISTS e_party ON entries(party, logged);"
    "CREATE INDEX IF NOT EXISTS e_type ON entries(type, logged);"
    "CREATE INDEX IF NOT EXISTS e_logged ON entries(logged);"
    "CREATE INDEX IF NOT EXISTS e_leaf ON entries(leaf);"
    "CREATE INDEX IF NOT EXISTS e_serial ON entries(party, serial) WHERE kind = 1;";

static tl_err load_meta(tl_qindex *q, tl_diag *d)
{
    sqlite3_stmt *st = q->st[S_META];
    q->covered = 0;
    q->mono = true;
    q->last = -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        sqlite3_int64 v = sqlite3_column_int64(st, 1);
        if (!k)
            continue;
        if (strcmp(k, "covered") == 0)
            q->covered = (uint64_t)v;
        else if (strcmp(k, "mono") == 0)
            q->mono = v != 0;
        else if (strcmp(k, "last") == 0)
            q->last = v;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? TL_OK : db_fail(q, d, "reading meta");
}

/* A read-only handle sees another connection's writes: it re-reads covered and mono before
 * each use (three rows; the writer's own handle keeps them in memory). Lock held. */
static tl_err refresh(tl_qindex *q, tl_diag *d)
{
    return q->readonly ? load_meta(q, d) : TL_OK;
}

tl_err tl_qindex_open(tl_qindex **out, const char *path, bool readonly, tl_diag *d)
{
    tl_qindex *q = calloc(1, sizeof *q);
    if (!q)
        return tl_fail(d, TL_ERR_NOMEM, "query index");
    pthread_mutex_init(&q->mu, NULL);
    pthread_mutex_init(&q->smu, NULL);
    q->readonly = readonly;
    tl_err e = TL_OK;
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK)
        e = readonly && rc == SQLITE_CANTOPEN
                ? tl_fail(d, TL_ERR_NOTFOUND, "query index %s does not exist", path)
                : db_fail(q, d, path);
    if (e == TL_OK)
        sqlite3_busy_timeout(q->db, 5000);
    int version = 0;
    if (e == TL_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
            e = db_fail(q, d, path);
        else
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (e == TL_OK && !readonly && version == 0)
        e = exec(q,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; BEGIN;"
                 "PRAGMA user_version=2;",
                 d);
    if (e == TL_OK && !readonly && version == 0) {
        e = exec(q, schema_sql, d);
        if (e == TL_OK)
            e = exec(q, "COMMIT", d);
        version = TL_QSCHEMA;
    } else if (e == TL_OK && !readonly) {
        e = exec(q, "PRAGMA synchronous=NORMAL", d);
        if (e == TL_OK && version == 1) { /* once: builds the index from the table */
            e = exec(q, upgrade_1_2_sql, d);
            if (e == TL_OK)
                version = 2;
            else
                (void)sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    /* Read-only, a schema 1 index answers the same queries, without the covering index. */
    if (e == TL_OK && readonly && version == 1)
        version = TL_QSCHEMA;
    if (e == TL_OK && version != TL_QSCHEMA)
        e = tl_fail(d, TL_ERR_FORMAT,
                    "query index %s has schema version %d, not %d: rebuild it (treatylog "
                    "reindex)",
                    path, version, TL_QSCHEMA);
    for (int i = 0; i < S_NSTMT && e == TL_OK; i++)
        if (sqlite3_prepare_v3(q->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i],
                               NULL) != SQLITE_OK)
            e = db_fail(q, d, "prepare");
    if (e == TL_OK)
        e = load_meta(q, d);
    if (e != TL_OK) {
        tl_qindex_close(q);
        return e;
    }
    *out = q;
    return TL_OK;
}

void tl_qindex_close(tl_qindex *q)
{
    if (!q)
        return;
    for (int i = 0; i < S_NSTMT; i++)
        sqlite3_finalize(q->st[i]);
    for (int i = 0; i < F_COMBOS; i++)
        sqlite3_finalize(q->q[i]);
    sqlite3_close(q->db);
    tl_registry_free(q->reg);
    ss_free(q->serials);
    pthread_mutex_destroy(&q->smu);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

uint64_t tl_qindex_covered(tl_qindex *q)
{
    pthread_mutex_lock(&q->mu);
    if (refresh(q, NULL) != TL_OK)
        q->covered = 0; /* unreadable: nothing is known to be indexed */
    uint64_t c = q->covered;
    pthread_mutex_unlock(&q->mu);
    return c;
}

/* ---- put ------------------------------------------------------------------------------- */

/* What one entry contributes, decoded. */
typedef struct row {
    uint8_t leaf[TL_HASH_LEN], subkey[TL_HASH_LEN];
    bool has_sub, has_logged;
    int64_t logged;
    int kind;
    char type[TL_QINDEX_TYPE_MAX + 1];
    const char *party;
    bool has_serial;
    uint64_t serial;
    char sent[TL_DATETIME_LEN + 1];
    char *recips, *refs, *signers; /* JSON text, malloc'd (NULL = SQL NULL) */
    const char *activity, *start, *end;
    bool has_troops;
    int64_t troops;
    int applied; /* -1 NULL, 0, 1 */
    tl_notification n;          /* parsed here (unless handed over) */
    const tl_notification *np; /* the notification of a kind-1 row: &n or the caller's */
} row;

static void row_free(row *r)
{
    free(r->recips);
    free(r->refs);
    free(r->signers);
    tl_notification_free(&r->n);
}

static char *dump_compact(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

/* Whether keys[0..nkeys) verify the note as tl_note_verify(note, keys) would say (TL_OK),
 * decided from a verification handed over in k when it covers these keys: every key among
 * k's checked keys, no two with the same (name, id). *decided false: verify. */
static bool signed_by_known(const tl_qindex_known *k, const char *code, const tl_vkey *keys,
                            size_t nkeys, bool *decided)
{
    *decided = false;
    if (!k || k->nkeys == 0 || strcmp(k->party, code) != 0)
        return false;
    bool any = false;
    for (size_t i = 0; i < nkeys; i++) {
        for (size_t j = i + 1; j < nkeys; j++)
            if (keys[i].id == keys[j].id && keys[i].name_len == keys[j].name_len &&
                memcmp(keys[i].name, keys[j].name, keys[i].name_len) == 0)
                return false;
        size_t m = 0;
        while (m < k->nkeys && !tl_vkey_equal(&keys[i], &k->keys[m]))
            m++;
        if (m == k->nkeys)
            return false; /* a key the hand-over did not check */
        any = any || k->results[m].ok;
    }
    *decided = true;
    return any;
}

/* The parties whose current key (in q->reg) signed the note: a JSON array text. k (may be
 * NULL) hands over a verification already made of this very note. */
static char *signers_of(tl_qindex *q, const tl_note *note, const tl_qindex_known *k)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < note->nsigs; i++) {
        const tl_note_sig *s = &note->sigs[i];
        if (s->name_len != TL_PARTY_LEN)
            continue;
        char code[TL_PARTY_LEN + 1];
        memcpy(code, s->name, TL_PARTY_LEN);
        code[TL_PARTY_LEN] = '\0';
        bool seen = false;
        for (size_t j = 0; j < json_array_size(a) && !seen; j++)
            seen = strcmp(json_string_value(json_array_get(a, j)), code) == 0;
        size_t nkeys = 0;
        const tl_vkey *keys = seen ? NULL : tl_registry_party_keys(q->reg, code, &nkeys);
        if (!keys || nkeys == 0)
            continue;
        bool decided = false;
        bool ok = signed_by_known(k, code, keys, nkeys, &decided);
        if (!decided)
            ok = tl_note_verify(note, keys, nkeys, NULL, NULL) == TL_OK;
        if (ok)
            json_array_append_new(a, json_string(code));
    }
    return dump_compact(a);
}

static const char *body_string(const json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

/* Decodes one entry into r (kind other when it is not a valid treaty document). */
static tl_err decode(tl_qindex *q, row *r, uint64_t idx, const uint8_t *e, size_t len,
                     const tl_qindex_known *k, const tl_vkey *opkey, const tl_schemas *schemas,
                     tl_diag *d)
{
    memset(r, 0, sizeof *r);
    r->applied = -1;
    tl_leaf_hash(r->leaf, e, len);
    if (k && memcmp(k->leaf, r->leaf, TL_HASH_LEN) != 0)
        k = NULL; /* a hint for another entry: ignore it */
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    uint64_t logged = 0;
    if (tl_entry_parse(e, len, &logged, &sub, &sublen, NULL) != TL_OK || logged > INT64_MAX)
        return TL_OK;
    r->has_logged = true;
    r->logged = (int64_t)logged;
    r->has_sub = true;
    tl_submission_key(r->subkey, sub, sublen);
    tl_note *note = &q->note;
    if (tl_note_parse(note, (const char *)sub, sublen, NULL) != TL_OK)
        return TL_OK;
    if (note->text_len >= TL_NOTIFICATION_HEADER_LEN &&
        memcmp(note->text, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN) == 0) {
        if (k && k->n && k->n->doc)
            r->np = k->n; /* this very text, parsed and validated by the caller */
        else if (tl_notification_parse(&r->n, schemas, note->text, note->text_len, NULL) == TL_OK)
            r->np = &r->n;
        else
            return TL_OK;
        const tl_notification *n = r->np;
        r->kind = KIND_NOTIFICATION;
        snprintf(r->type, sizeof r->type, "%s", n->type);
        r->party = n->from;
        r->has_serial = true;
        r->serial = n->serial;
        time_t t = (time_t)n->sent;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(r->sent, sizeof r->sent, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *to = json_object_get(n->doc, "to");
        r->recips = json_dumps(to, JSON_COMPACT | JSON_ENCODE_ANY);
        r->refs = json_dumps(json_object_get(n->doc, "refs"), JSON_COMPACT | JSON_ENCODE_ANY);
        r->activity = body_string(n->body, "activity");
        r->start = body_string(n->body, "start");
        r->end = body_string(n->body, "end");
        json_t *troops = json_object_get(n->body, "troops_peak");
        if (json_is_integer(troops)) {
            r->has_troops = true;
            r->troops = (int64_t)json_integer_value(troops);
        }
        if (!r->recips || !r->refs)
            return tl_fail(d, TL_ERR_NOMEM, "query index: entry %llu", (unsigned long long)idx);
    } else if (note->text_len >= TL_REGISTRY_HEADER_LEN &&
               memcmp(note->text, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) == 0) {
        if (tl_registry_check_text(note->text, note->text_len, NULL) != TL_OK)
            return TL_OK;
        json_t *doc = json_loadb(note->text + TL_REGISTRY_HEADER_LEN,
                                 note->text_len - TL_REGISTRY_HEADER_LEN - 1, 0, NULL);
        const char *action = json_string_value(json_object_get(doc, "action"));
        if (action)
            snprintf(r->type, sizeof r->type, "registry.%s", action);
        json_decref(doc);
        if (!action)
            return TL_OK;
        r->kind = KIND_REGISTRY;
        r->party = "operator";
        r->recips = strdup("[\"*\"]");
        r->refs = strdup("[]");
        if (!r->recips || !r->refs)
            return tl_fail(d, TL_ERR_NOMEM, "query index: entry %llu", (unsigned long long)idx);
    } else {
        return TL_OK;
    }
    if (opkey && q->reg) {
        r->signers = signers_of(q, note, r->kind == KIND_NOTIFICATION ? k : NULL);
        if (!r->signers)
            return tl_fail(d, TL_ERR_NOMEM, "query index: entry %llu", (unsigned long long)idx);
        if (r->kind == KIND_REGISTRY)
            r->applied =
                tl_registry_apply(q->reg, (const char *)sub, sublen, opkey, idx, NULL) == TL_OK ? 1
                                                                                                : 0;
    }
    return TL_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static tl_err store_row(tl_qindex *q, const row *r, uint64_t idx, const uint8_t *e, size_t len,
                        tl_diag *d)
{
    sqlite3_stmt *st = q->st[S_INS];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
    sqlite3_bind_blob(st, 2, r->leaf, TL_HASH_LEN, SQLITE_STATIC);
    if (r->has_sub)
        sqlite3_bind_blob(st, 3, r->subkey, TL_HASH_LEN, SQLITE_STATIC);
    if (r->has_logged)
        sqlite3_bind_int64(st, 4, r->logged);
    sqlite3_bind_int(st, 5, r->kind);
    bind_text(st, 6, r->kind != KIND_OTHER ? r->type : NULL);
    bind_text(st, 7, r->party);
    if (r->has_serial)
        sqlite3_bind_int64(st, 8, (sqlite3_int64)r->serial);
    bind_text(st, 9, r->sent[0] ? r->sent : NULL);
    bind_text(st, 10, r->recips);
    bind_text(st, 11, r->refs);
    bind_text(st, 12, r->activity);
    bind_text(st, 13, r->start);
    bind_text(st, 14, r->end);
    if (r->has_troops)
        sqlite3_bind_int64(st, 15, r->troops);
    bind_text(st, 16, r->signers);
    if (r->applied >= 0)
        sqlite3_bind_int(st, 17, r->applied);
    if (r->has_sub) {
        /* The submission is the entry past its header. */
        size_t off = len;
        const uint8_t *p = memmem(e, len, "\n\n", 2);
        if (p)
            off = (size_t)(p - e) + 2;
        sqlite3_bind_blob(st, 18, e + off, (int)(len - off), SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return db_fail(q, d, "insert");
    if (r->kind == KIND_NOTIFICATION) {
        for (size_t i = 0; i < r->np->nrefs; i++) {
            sqlite3_stmt *rs = q->st[S_REF];
            sqlite3_bind_blob(rs, 1, r->np->refs[i], TL_HASH_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(rs, 2, (sqlite3_int64)idx);
            rc = sqlite3_step(rs);
            sqlite3_reset(rs);
            sqlite3_clear_bindings(rs);
            if (rc != SQLITE_DONE)
                return db_fail(q, d, "insert ref");
        }
    }
    return TL_OK;
}

/* The per-day and per-party counts of a batch, added to the days and parties tables once per
 * distinct key at the end of the batch (the same sums as one upsert per row). */
typedef struct tally {
    char code[TL_PARTY_LEN + 1]; /* parties; "" for a day */
    int64_t day;
    int64_t n;
} tally;

static void tally_add(tally *t, size_t *nt, const char *code, int64_t day)
{
    for (size_t i = 0; i < *nt; i++)
        if (t[i].day == day && strcmp(t[i].code, code) == 0) {
            t[i].n++;
            return;
        }
    snprintf(t[*nt].code, sizeof t[*nt].code, "%s", code);
    t[*nt].day = day;
    t[(*nt)++].n = 1;
}

static tl_err tally_store(tl_qindex *q, const tally *t, size_t nt, tl_diag *d)
{
    for (size_t i = 0; i < nt; i++) {
        sqlite3_stmt *st = q->st[t[i].code[0] ? S_PARTY : S_DAY];
        if (t[i].code[0])
            sqlite3_bind_text(st, 1, t[i].code, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, 1, t[i].day);
        sqlite3_bind_int64(st, 2, t[i].n);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE)
            return db_fail(q, d, t[i].code[0] ? "count party" : "count day");
    }
    return TL_OK;
}

/* Forgets the serial set (lookups use SQLite until it is loaded again). */
static void serials_drop(tl_qindex *q)
{
    pthread_mutex_lock(&q->smu);
    ss_free(q->serials);
    q->serials = NULL;
    pthread_mutex_unlock(&q->smu);
}

/* Rebuilds q->reg from the stored registry entries (called with the lock held). */
static tl_err load_registry(tl_qindex *q, const tl_vkey *opkey, tl_diag *d)
{
    q->reg = tl_registry_new();
    if (!q->reg)
        return tl_fail(d, TL_ERR_NOMEM, "query index: registry");
    sqlite3_stmt *st = q->st[S_REG];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t idx = (uint64_t)sqlite3_column_int64(st, 0);
        const char *sub = sqlite3_column_blob(st, 1);
        int n = sqlite3_column_bytes(st, 1);
        /* Entries that failed to apply when indexed fail again; their rows say so. */
        if (sub && n > 0 && tl_registry_apply(q->reg, sub, (size_t)n, opkey, idx, NULL) != TL_OK)
            continue;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        tl_registry_free(q->reg);
        q->reg = NULL;
        return db_fail(q, d, "reading registry entries");
    }
    return TL_OK;
}

tl_err tl_qindex_put(tl_qindex *q, uint64_t first, const uint8_t *const *entries,
                     const size_t *lens, size_t n, const tl_vkey *operator_key,
                     const tl_schemas *schemas, tl_diag *d)
{
    return tl_qindex_put_known(q, first, entries, lens, NULL, n, operator_key, schemas, d);
}

/* The (party, serial) of a notification row, kept until the commit. */
typedef struct pserial {
    char party[TL_PARTY_LEN + 1];
    uint64_t serial;
} pserial;

tl_err tl_qindex_put_known(tl_qindex *q, uint64_t first, const uint8_t *const *entries,
                           const size_t *lens, const tl_qindex_known *const *known, size_t n,
                           const tl_vkey *operator_key, const tl_schemas *schemas, tl_diag *d)
{
    if (q->readonly)
        return tl_fail(d, TL_ERR_USAGE, "query index: opened read-only");
    if (!schemas)
        return tl_fail(d, TL_ERR_USAGE, "query index: no schemas");
    pthread_mutex_lock(&q->mu);
    tl_err e = TL_OK;
    if (first > q->covered)
        e = tl_fail(d, TL_ERR_RANGE,
                    "query index: entries from %llu, but the index covers only %llu (a gap)",
                    (unsigned long long)first, (unsigned long long)q->covered);
    size_t skip = e == TL_OK && first < q->covered
                      ? (q->covered - first >= n ? n : (size_t)(q->covered - first))
                      : 0;
    if (e != TL_OK || skip == n) {
        pthread_mutex_unlock(&q->mu);
        return e;
    }
    if (operator_key && !q->reg)
        e = load_registry(q, operator_key, d);
    bool mono = q->mono;
    int64_t last = q->last;
    /* The serial set follows the index (only once loaded); a failure here unloads it. */
    pthread_mutex_lock(&q->smu);
    bool track = q->serials != NULL;
    pthread_mutex_unlock(&q->smu);
    pserial *ps = NULL;
    size_t nps = 0;
    if (track && !(ps = malloc((n - skip) * sizeof *ps)))
        track = false;
    if (!track)
        serials_drop(q);
    size_t nt = 0;
    tally *tl = malloc(2 * (n - skip) * sizeof *tl); /* a party and a day per row at most */
    if (!tl && e == TL_OK)
        e = tl_fail(d, TL_ERR_NOMEM, "query index: batch of %zu", n - skip);
    if (e == TL_OK)
        e = exec(q, "BEGIN", d);
    for (size_t i = skip; i < n && e == TL_OK; i++) {
        uint64_t idx = first + i;
        row r;
        e = decode(q, &r, idx, entries[i], lens[i], known ? known[i] : NULL, operator_key,
                   schemas, d);
        if (e == TL_OK)
            e = store_row(q, &r, idx, entries[i], lens[i], d);
        if (e == TL_OK && track && r.kind == KIND_NOTIFICATION) {
            memcpy(ps[nps].party, r.np->from, sizeof ps[nps].party);
            ps[nps++].serial = r.serial;
        }
        if (e == TL_OK && r.kind == KIND_NOTIFICATION)
            tally_add(tl, &nt, r.party, 0);
        if (e == TL_OK && r.has_logged)
            tally_add(tl, &nt, "", r.logged / 86400000);
        if (e == TL_OK && r.has_logged) {
            if (r.logged < last)
                mono = false;
            else
                last = r.logged;
        }
        row_free(&r);
    }
    if (e == TL_OK)
        e = tally_store(q, tl, nt, d);
    if (e == TL_OK) {
        sqlite3_stmt *st = q->st[S_COV];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(first + n));
        sqlite3_bind_int(st, 2, mono ? 1 : 0);
        sqlite3_bind_int64(st, 3, last);
        if (sqlite3_step(st) != SQLITE_DONE)
            e = db_fail(q, d, "update covered");
        sqlite3_reset(st);
    }
    if (e == TL_OK)
        e = exec(q, "COMMIT", d);
    if (e == TL_OK) {
        q->covered = first + n;
        q->mono = mono;
        q->last = last;
        if (track) {
            pthread_mutex_lock(&q->smu);
            for (size_t i = 0; i < nps && q->serials; i++)
                if (!ss_add(q->serials, ps[i].party, ps[i].serial)) {
                    ss_free(q->serials); /* out of memory: back to SQLite lookups */
                    q->serials = NULL;
                }
            pthread_mutex_unlock(&q->smu);
        }
    } else {
        (void)exec(q, "ROLLBACK", NULL);
        /* The registry may have moved on with the rolled-back entries: rebuild it later. */
        tl_registry_free(q->reg);
        q->reg = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    free(ps);
    free(tl);
    return e;
}

/* ---- rows as JSON ----------------------------------------------------------------------- */

void tl_qindex_format_ms(char out[static 32], int64_t ms)
{
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t frac = ms - s * 1000;
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 32, "?");
        return;
    }
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", day, (int)frac);
}

static json_t *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? json_string(s) : json_null();
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    if (!s)
        return json_null();
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

static json_t *col_int(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    return json_integer((json_int_t)sqlite3_column_int64(st, i));
}

/* The ROW of decision 0003 from a statement whose first 14 columns are idx, leaf, logged,
 * kind, type, party, serial, sent, recips, refs, activity, start, end_, troops. */
static json_t *row_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "index", json_integer(sqlite3_column_int64(st, 0)));
    char b64[64];
    if (sqlite3_column_bytes(st, 1) == TL_HASH_LEN) {
        tl_b64_encode(b64, sqlite3_column_blob(st, 1), TL_HASH_LEN);
        json_object_set_new(o, "leaf", json_string(b64));
    } else {
        json_object_set_new(o, "leaf", json_null());
    }
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
        char ts[32];
        tl_qindex_format_ms(ts, sqlite3_column_int64(st, 2));
        json_object_set_new(o, "logged", json_string(ts));
    } else {
        json_object_set_new(o, "logged", json_null());
    }
    json_object_set_new(o, "logged_ms", col_int(st, 2));
    int kind = sqlite3_column_int(st, 3);
    json_object_set_new(o, "kind",
                        json_string(kind >= 0 && kind <= 2 ? kind_names[kind] : "other"));
    json_object_set_new(o, "type", col_text(st, 4));
    json_object_set_new(o, "from", col_text(st, 5));
    json_object_set_new(o, "serial", col_int(st, 6));
    json_object_set_new(o, "sent", col_text(st, 7));
    json_t *to = col_json(st, 8);
    json_object_set_new(o, "to", json_is_null(to) ? json_array() : to);
    json_t *refs = col_json(st, 9);
    json_object_set_new(o, "refs", json_is_null(refs) ? json_array() : refs);
    json_object_set_new(o, "activity", col_text(st, 10));
    json_object_set_new(o, "start", col_text(st, 11));
    json_object_set_new(o, "end", col_text(st, 12));
    json_object_set_new(o, "troops", col_int(st, 13));
    return o;
}

/* ---- queries ---------------------------------------------------------------------------- */

typedef struct qargs {
    unsigned mask;
    const char *party;
    char type_lo[TL_QINDEX_TYPE_MAX + 2], type_hi[TL_QINDEX_TYPE_MAX + 2];
    int64_t since, until, afterlog;
    char since_s[TL_DATETIME_LEN + 1], until_s[TL_DATETIME_LEN + 1]; /* as text: sent, dates */
    uint8_t ref[TL_HASH_LEN];
    uint64_t after, limit;
} qargs;

/* An RFC 3339 date (midnight UTC) or UTC date-time, as Unix ms. */
static bool parse_time(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    int64_t v = 0;
    if (len == TL_DATE_LEN && tl_value_date(s, len, &v) == TL_OK) {
        *ms = v * 86400000;
        return true;
    }
    if (len == TL_DATETIME_LEN && tl_value_datetime(s, len, &v) == TL_OK) {
        *ms = v * 1000;
        return true;
    }
    return false;
}

static bool type_chars_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static tl_err parse_filter(const tl_qfilter *f, qargs *a, tl_diag *d)
{
    memset(a, 0, sizeof *a);
    a->limit = TL_QINDEX_LIMIT_DEFAULT;
    if (f->party) {
        size_t len = strlen(f->party);
        if (!tl_value_party(f->party, len) && strcmp(f->party, "operator") != 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "party: must be a party code (two capital letters, e.g. XA) or "
                           "\"operator\"");
        a->party = f->party;
        a->mask |= F_PARTY;
    }
    if (f->type) {
        size_t len = strlen(f->type);
        bool prefix = len > 0 && f->type[len - 1] == '*';
        size_t plen = prefix ? len - 1 : len;
        if ((!prefix && len == 0) || plen > TL_QINDEX_TYPE_MAX || !type_chars_ok(f->type, plen))
            return tl_fail(d, TL_ERR_FORMAT,
                           "type: must be a message type (a-z, 0-9, '.', '-'), or a prefix "
                           "ending in '*' (e.g. vd11.ch3.*)");
        memcpy(a->type_lo, f->type, plen);
        a->type_lo[plen] = '\0';
        if (!prefix) {
            a->mask |= F_TYPE;
        } else if (plen > 0) {
            /* [p, p with its last byte + 1): every string that starts with p. */
            memcpy(a->type_hi, f->type, plen);
            a->type_hi[plen - 1] = (char)(a->type_hi[plen - 1] + 1);
            a->type_hi[plen] = '\0';
            a->mask |= F_PREFIX;
        }
    }
    if (f->since) {
        if (!parse_time(f->since, &a->since))
            return tl_fail(d, TL_ERR_FORMAT,
                           "since: must be an RFC 3339 date (2022-02-11) or UTC date-time "
                           "(2022-02-11T12:00:00Z)");
        a->mask |= F_SINCE;
    }
    if (f->until) {
        if (!parse_time(f->until, &a->until))
            return tl_fail(d, TL_ERR_FORMAT,
                           "until: must be an RFC 3339 date (2022-02-11) or UTC date-time "
                           "(2022-02-11T12:00:00Z)");
        a->mask |= F_UNTIL;
    }
    if (f->time && strcmp(f->time, "logged") != 0) {
        if (strcmp(f->time, "sent") == 0)
            a->mask |= F_SENT;
        else if (strcmp(f->time, "activity") == 0)
            a->mask |= F_ACTIVE;
        else
            return tl_fail(d, TL_ERR_FORMAT,
                           "time: must be logged (the default), sent or activity");
        if (!(a->mask & (F_SINCE | F_UNTIL)))
            return tl_fail(d, TL_ERR_FORMAT, "time: needs since or until");
        /* Text bounds, compared with the stored RFC 3339 text: UTC date-times sort as
         * text, and a date compares as its midnight ("2022-02-11" < "2022-02-11T..."). */
        time_t t = (time_t)(a->since / 1000);
        struct tm tm;
        if (a->mask & F_SINCE)
            strftime(a->since_s, sizeof a->since_s, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        t = (time_t)(a->until / 1000);
        if (a->mask & F_UNTIL)
            strftime(a->until_s, sizeof a->until_s, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    }
    if (f->ref) {
        if (tl_value_leafhash(f->ref, strlen(f->ref), a->ref) != TL_OK)
            return tl_fail(d, TL_ERR_FORMAT, "ref: must be the base64 of a 32-byte leaf hash");
        a->mask |= F_REF;
    }
    if (f->after) {
        if (tl_parse_u64(&a->after, f->after, strlen(f->after)) != TL_OK || a->after > INT64_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "after: must be an entry index (a decimal number)");
        a->mask |= F_AFTER;
    }
    if (f->limit) {
        if (tl_parse_u64(&a->limit, f->limit, strlen(f->limit)) != TL_OK || a->limit < 1 ||
            a->limit > TL_QINDEX_LIMIT_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "limit: must be a number from 1 to %d",
                           TL_QINDEX_LIMIT_MAX);
    }
    return TL_OK;
}

/* The SQL of one filter combination. */
static tl_err query_sql(char *out, size_t cap, unsigned m)
{
    static const char cols[] = "e.idx, e.leaf, e.logged, e.kind, e.type, e.party, e.serial, "
                               "e.sent, e.recips, e.refs, e.activity, e.start, e.end_, e.troops";
    /* The time filters: on logged (ms), on sent (text), or an activity overlapping them:
     * it ends on or after `since` and starts before `until` (dates or date-times as text). */
    const char *since = m & F_SENT     ? " AND e.sent >= ?9"
                        : m & F_ACTIVE ? " AND e.end_ IS NOT NULL AND substr(e.end_, 1, 10) >= "
                                         "substr(?9, 1, 10)"
                                       : " AND e.logged >= ?4";
    const char *until = m & F_SENT     ? " AND e.sent < ?10"
                        : m & F_ACTIVE ? " AND e.start IS NOT NULL AND substr(e.start, 1, 10) < "
                                         "substr(?10, 1, 10)"
                                       : " AND e.logged < ?5";
    int n =
        snprintf(out, cap, "SELECT %s FROM %s WHERE 1%s%s%s%s%s%s%s%s ORDER BY %s LIMIT ?20", cols,
                 m & F_REF ? "refs r JOIN entries e ON e.idx = r.idx" : "entries e",
                 m & F_REF ? " AND r.ref = ?6" : "", m & F_PARTY ? " AND e.party = ?1" : "",
                 m & F_TYPE ? " AND e.type = ?2" : "",
                 m & F_PREFIX ? " AND e.type >= ?2 AND e.type < ?3" : "", m & F_SINCE ? since : "",
                 m & F_UNTIL ? until : "", m & F_AFTERLOG ? " AND e.logged >= ?8" : "",
                 m & F_AFTER ? " AND e.idx > ?7" : "", m & F_MONO ? "e.logged, e.idx" : "e.idx");
    return n > 0 && (size_t)n < cap ? TL_OK : TL_ERR_INTERNAL;
}

tl_err tl_qindex_query(tl_qindex *q, const tl_qfilter *f, uint64_t size, json_t **out, tl_diag *d)
{
    qargs a;
    tl_err e = parse_filter(f, &a, d);
    if (e != TL_OK)
        return e;
    pthread_mutex_lock(&q->mu);
    e = refresh(q, d);
    bool filtered = a.mask & (F_PARTY | F_TYPE | F_PREFIX | F_SINCE | F_UNTIL);
    if (e == TL_OK && q->mono && filtered && !(a.mask & (F_REF | F_SENT | F_ACTIVE))) {
        a.mask |= F_MONO;
        if (a.mask & F_AFTER) {
            /* idx > after implies logged >= the logged of the last entry up to after. */
            sqlite3_stmt *la = q->st[S_LOGAT];
            sqlite3_bind_int64(la, 1, (sqlite3_int64)a.after);
            int rc = sqlite3_step(la);
            if (rc == SQLITE_ROW) {
                a.afterlog = sqlite3_column_int64(la, 0);
                a.mask |= F_AFTERLOG;
            } else if (rc != SQLITE_DONE) {
                e = db_fail(q, d, "query");
            }
            sqlite3_reset(la);
        }
    }
    sqlite3_stmt *st = e == TL_OK ? q->q[a.mask] : NULL;
    if (e == TL_OK && !st) {
        char sql[1024];
        e = query_sql(sql, sizeof sql, a.mask);
        if (e != TL_OK)
            e = tl_fail(d, e, "query index: query too long");
        else if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q->q[a.mask],
                                    NULL) != SQLITE_OK)
            e = db_fail(q, d, "prepare query");
        st = q->q[a.mask];
    }
    json_t *rows = json_array();
    if (e == TL_OK && !rows)
        e = tl_fail(d, TL_ERR_NOMEM, "query");
    json_t *next = json_null();
    if (e == TL_OK) {
        if (a.mask & F_PARTY)
            sqlite3_bind_text(st, 1, a.party, -1, SQLITE_STATIC);
        if (a.mask & (F_TYPE | F_PREFIX))
            sqlite3_bind_text(st, 2, a.type_lo, -1, SQLITE_STATIC);
        if (a.mask & F_PREFIX)
            sqlite3_bind_text(st, 3, a.type_hi, -1, SQLITE_STATIC);
        if ((a.mask & F_SINCE) && (a.mask & (F_SENT | F_ACTIVE)))
            sqlite3_bind_text(st, 9, a.since_s, -1, SQLITE_STATIC);
        else if (a.mask & F_SINCE)
            sqlite3_bind_int64(st, 4, a.since);
        if ((a.mask & F_UNTIL) && (a.mask & (F_SENT | F_ACTIVE)))
            sqlite3_bind_text(st, 10, a.until_s, -1, SQLITE_STATIC);
        else if (a.mask & F_UNTIL)
            sqlite3_bind_int64(st, 5, a.until);
        if (a.mask & F_REF)
            sqlite3_bind_blob(st, 6, a.ref, TL_HASH_LEN, SQLITE_STATIC);
        if (a.mask & F_AFTER)
            sqlite3_bind_int64(st, 7, (sqlite3_int64)a.after);
        if (a.mask & F_AFTERLOG)
            sqlite3_bind_int64(st, 8, a.afterlog);
        sqlite3_bind_int64(st, 20, (sqlite3_int64)(a.limit + 1));
        int rc;
        uint64_t got = 0, lastidx = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (got == a.limit) {
                next = json_integer((json_int_t)lastidx);
                break;
            }
            json_t *r = row_json(st);
            if (!r || json_array_append_new(rows, r) != 0) {
                e = tl_fail(d, TL_ERR_NOMEM, "query");
                break;
            }
            lastidx = (uint64_t)sqlite3_column_int64(st, 0);
            got++;
        }
        if (e == TL_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = db_fail(q, d, "query");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    pthread_mutex_unlock(&q->mu);
    if (e == TL_OK) {
        *out =
            json_pack("{s:o, s:o, s:I}", "entries", rows, "next", next, "size", (json_int_t)size);
        if (!*out)
            e = tl_fail(d, TL_ERR_NOMEM, "query");
    } else {
        json_decref(rows);
        json_decref(next);
    }
    return e;
}

/* The JSON object of a document text (header line, JSON line, LF) in a signed note. */
static json_t *document_of(const char *sub, size_t len)
{
    tl_note *note = malloc(sizeof *note);
    json_t *v = NULL;
    if (note && tl_note_parse(note, sub, len, NULL) == TL_OK) {
        const char *nl = memchr(note->text, '\n', note->text_len);
        if (nl) {
            size_t off = (size_t)(nl - note->text) + 1;
            if (off < note->text_len)
                v = json_loadb(note->text + off, note->text_len - off - 1, 0, NULL);
        }
    }
    free(note);
    return v ? v : json_null();
}

tl_err tl_qindex_entry(tl_qindex *q, uint64_t index, json_t **out, tl_diag *d)
{
    pthread_mutex_lock(&q->mu);
    json_t *o = NULL;
    tl_err e = refresh(q, d);
    if (e != TL_OK) {
        /* d says why */
    } else if (index >= q->covered || index > INT64_MAX) {
        e = tl_fail(d, TL_ERR_NOTFOUND, "entry %llu is not indexed (the index covers %llu)",
                    (unsigned long long)index, (unsigned long long)q->covered);
    } else {
        sqlite3_stmt *st = q->st[S_ROW1];
        sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            o = row_json(st);
            const char *sub = sqlite3_column_blob(st, 15);
            int n = sqlite3_column_bytes(st, 15);
            int kind = sqlite3_column_int(st, 3);
            if (o) {
                json_object_set_new(o, "notification",
                                    kind != KIND_OTHER && sub ? document_of(sub, (size_t)n)
                                                              : json_null());
                json_object_set_new(o, "signers", col_json(st, 14));
                json_object_set_new(o, "submission",
                                    sub ? json_stringn(sub, (size_t)n) : json_null());
            } else {
                e = tl_fail(d, TL_ERR_NOMEM, "entry");
            }
        } else if (rc == SQLITE_DONE) {
            e = tl_fail(d, TL_ERR_NOTFOUND, "entry %llu is not in the query index",
                        (unsigned long long)index);
        } else {
            e = db_fail(q, d, "entry");
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&q->mu);
    if (e == TL_OK)
        *out = o;
    else
        json_decref(o);
    return e;
}

/* ---- lookups ---------------------------------------------------------------------------- */

tl_err tl_qindex_serials_load(tl_qindex *q, tl_diag *d)
{
    if (q->readonly)
        return tl_fail(d, TL_ERR_USAGE, "query index: opened read-only");
    pthread_mutex_lock(&q->mu);
    pthread_mutex_lock(&q->smu);
    bool have = q->serials != NULL;
    pthread_mutex_unlock(&q->smu);
    tl_err e = TL_OK;
    serialset *ss = have ? NULL : calloc(1, sizeof *ss);
    if (!have && !ss)
        e = tl_fail(d, TL_ERR_NOMEM, "query index: serials");
    sqlite3_stmt *st = NULL;
    if (ss && sqlite3_prepare_v2(q->db, "SELECT party, serial FROM entries WHERE kind = 1", -1,
                                 &st, NULL) != SQLITE_OK)
        e = db_fail(q, d, "loading serials");
    int rc = SQLITE_DONE;
    while (st && e == TL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        sqlite3_int64 v = sqlite3_column_int64(st, 1);
        if (p && sqlite3_column_bytes(st, 0) == TL_PARTY_LEN && v >= 0 &&
            !ss_add(ss, p, (uint64_t)v))
            e = tl_fail(d, TL_ERR_NOMEM, "query index: serials");
    }
    if (st && e == TL_OK && rc != SQLITE_DONE)
        e = db_fail(q, d, "loading serials");
    sqlite3_finalize(st);
    if (e == TL_OK && ss) {
        pthread_mutex_lock(&q->smu);
        q->serials = ss;
        ss = NULL;
        pthread_mutex_unlock(&q->smu);
    }
    ss_free(ss);
    pthread_mutex_unlock(&q->mu);
    return e;
}

tl_err tl_qindex_serial_used(tl_qindex *q, const char *party, uint64_t serial,
                             uint8_t key_out[static TL_HASH_LEN], tl_diag *d)
{
    if (serial > INT64_MAX)
        return TL_ERR_NOTFOUND;
    if (!q->readonly) {
        pthread_mutex_lock(&q->smu);
        bool have = q->serials != NULL;
        bool used = have && ss_has(q->serials, party, serial);
        bool load = !have && !q->serials_tried;
        q->serials_tried = true;
        pthread_mutex_unlock(&q->smu);
        if (load && tl_qindex_serials_load(q, NULL) == TL_OK) {
            pthread_mutex_lock(&q->smu);
            have = q->serials != NULL;
            used = have && ss_has(q->serials, party, serial);
            pthread_mutex_unlock(&q->smu);
        }
        if (have && !used)
            return TL_ERR_NOTFOUND;
    }
    pthread_mutex_lock(&q->mu);
    sqlite3_stmt *st = q->st[S_SERIAL];
    sqlite3_bind_text(st, 1, party, TL_PARTY_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)serial);
    int rc = sqlite3_step(st);
    tl_err e = TL_OK;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == TL_HASH_LEN)
        memcpy(key_out, sqlite3_column_blob(st, 0), TL_HASH_LEN);
    else if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        e = TL_ERR_NOTFOUND;
    else
        e = db_fail(q, d, "serial lookup");
    sqlite3_reset(st);
    pthread_mutex_unlock(&q->mu);
    return e;
}

tl_err tl_qindex_leaf_type(tl_qindex *q, const uint8_t leaf[static TL_HASH_LEN], uint64_t *index,
                           char type[static TL_QINDEX_TYPE_MAX + 1], tl_diag *d)
{
    pthread_mutex_lock(&q->mu);
    sqlite3_stmt *st = q->st[S_LEAF];
    sqlite3_bind_blob(st, 1, leaf, TL_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    tl_err e = TL_OK;
    if (rc == SQLITE_ROW) {
        *index = (uint64_t)sqlite3_column_int64(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 1);
        snprintf(type, TL_QINDEX_TYPE_MAX + 1, "%s", t ? t : "");
    } else if (rc == SQLITE_DONE) {
        e = TL_ERR_NOTFOUND;
    } else {
        e = db_fail(q, d, "leaf lookup");
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&q->mu);
    return e;
}

tl_err tl_qindex_registry_entries(tl_qindex *q, bool (*cb)(void *ctx, uint64_t index), void *ctx,
                                  tl_diag *d)
{
    pthread_mutex_lock(&q->mu);
    sqlite3_stmt *st = q->st[S_REG];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!cb(ctx, (uint64_t)sqlite3_column_int64(st, 0))) {
            rc = SQLITE_DONE;
            break;
        }
    sqlite3_reset(st);
    tl_err e = rc == SQLITE_DONE ? TL_OK : db_fail(q, d, "registry entries");
    pthread_mutex_unlock(&q->mu);
    return e;
}

tl_err tl_qindex_stats(tl_qindex *q, json_t **out, tl_diag *d)
{
    json_t *days = json_array(), *parties = json_array();
    tl_err e = days && parties ? TL_OK : tl_fail(d, TL_ERR_NOMEM, "stats");
    pthread_mutex_lock(&q->mu);
    sqlite3_stmt *st = NULL;
    if (e == TL_OK && sqlite3_prepare_v2(q->db, "SELECT day, n FROM days ORDER BY day", -1, &st,
                                         NULL) != SQLITE_OK)
        e = db_fail(q, d, "stats");
    int rc = SQLITE_DONE;
    while (e == TL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char ts[32];
        tl_qindex_format_ms(ts, sqlite3_column_int64(st, 0) * 86400000);
        ts[TL_DATE_LEN] = '\0';
        json_array_append_new(days,
                              json_pack("[s, I]", ts, (json_int_t)sqlite3_column_int64(st, 1)));
    }
    if (e == TL_OK && rc != SQLITE_DONE)
        e = db_fail(q, d, "stats");
    sqlite3_finalize(st);
    st = NULL;
    if (e == TL_OK && sqlite3_prepare_v2(q->db, "SELECT code FROM parties ORDER BY code", -1, &st,
                                         NULL) != SQLITE_OK)
        e = db_fail(q, d, "stats");
    while (e == TL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(parties, col_text(st, 0));
    if (e == TL_OK && rc != SQLITE_DONE)
        e = db_fail(q, d, "stats");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&q->mu);
    if (e == TL_OK) {
        *out = json_pack("{s:o, s:o}", "per_day", days, "parties", parties);
        if (!*out)
            e = tl_fail(d, TL_ERR_NOMEM, "stats");
    } else {
        json_decref(days);
        json_decref(parties);
    }
    return e;
}
