/* cmd_submit.c - treatylog submit: a party signs a notification with its key (and co-signers'
 * keys for a joint notification), POSTs it to a treaty-mode log, checks the answer (a
 * c2sp.org/tlog-proof@v1 whose extra line is the entry header, decision 0003) against its own
 * trust policy, and keeps the signed submission and the proof as receipts:
 *
 *   <receipts>/<from>-<serial>.note         the signed submission, as POSTed
 *   <receipts>/<from>-<serial>.tlog-proof   the log's answer
 *   <receipts>/<from>-<serial>.entry        the log entry (extra || submission), so that
 *                                           `treatylog verify-proof` re-checks it offline
 *
 * Also the pieces `treatylog registry` shares (cmd_registry.c): repeated options, signer keys,
 * multi-signature notes, and posting a submission and checking and keeping the answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cli.h"
#include "treatylog/entry.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"
#include "treatylog/submission.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"
#include "treatylog/tlogproof.h"
#include "treatylog/values.h"

#ifndef TL_SCHEMAS_DIR
#define TL_SCHEMAS_DIR "schemas"
#endif

#define SUBMIT_KEYS_MAX     16                /* --key options: a joint notification's signers */
#define SUBMIT_FILE_MAX     (4 * 65535)       /* an input file (pretty JSON is larger) */
#define SUBMIT_RESP_MAX     ((size_t)1 << 20) /* an answer; a tlog-proof is ~3 KiB */
#define SUBMIT_MSG_MAX      500               /* bytes of a refusal message printed */
#define SUBMIT_TIMEOUT_S    120L              /* POST /add waits for integration (and witnesses) */
#define SUBMIT_CONNECT_S    10L
#define SUBMIT_RECEIPTS_DEF "receipts"

static const char submit_usage[] =
    "usage: treatylog submit FILE --key KEY [--key KEY...] --server URL\n"
    "                        (--policy POLICY | --vkey VKEY) [--receipts DIR] [--schemas DIR]\n"
    "                        [--witness-wait SECONDS]\n"
    "       treatylog submit FILE --key KEY [--key KEY...] --sign-only [--schemas DIR]\n"
    "       treatylog submit SIGNED_NOTE [--key KEY...] --server URL (--policy POLICY | --vkey "
    "VKEY)";

/* ---- shared with cmd_registry.c (cli.h) ----------------------------------------------- */

int submit_take_repeated(const char *cmd, int *argc, char **argv, const char *name,
                         const char **vals, size_t max, size_t *n)
{
    *n = 0;
    int w = 1;
    bool done = false;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!done && strcmp(a, "--") == 0)
            done = true;
        if (!done && a[0] == '-' && a[1] == '-' && strcmp(a + 2, name) == 0) {
            if (i + 1 >= *argc)
                return cli_usage(cmd, "option %s needs a value", a);
            if (*n >= max)
                return cli_usage(cmd, "at most %zu --%s options", max, name);
            vals[(*n)++] = argv[++i];
            continue;
        }
        argv[w++] = argv[i];
    }
    *argc = w;
    return 0;
}

tl_err submit_append_sigs(char **note, size_t *nlen, const char *text, size_t tlen,
                          const tl_skey *keys, size_t nkeys, tl_diag *d)
{
    for (size_t i = 0; i < nkeys; i++) {
        char line[TL_SIGLINE_MAX];
        size_t ln = 0;
        tl_err e = tl_note_sigline(line, &ln, text, tlen, &keys[i], 0, d);
        if (e != TL_OK)
            return e;
        if (*nlen + ln > TL_NOTE_MAX)
            return tl_fail(d, TL_ERR_TOOBIG, "the signed note would exceed %d bytes", TL_NOTE_MAX);
        char *nb = realloc(*note, *nlen + ln + 1);
        if (!nb)
            return tl_fail(d, TL_ERR_NOMEM, "signing");
        memcpy(nb + *nlen, line, ln);
        *nlen += ln;
        nb[*nlen] = '\0';
        *note = nb;
    }
    return TL_OK;
}

/* The answer of POST /add, kept up to SUBMIT_RESP_MAX bytes (NUL-terminated). */
typedef struct resp_buf {
    char *buf;
    size_t len, cap;
    bool overflow, nomem;
} resp_buf;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    resp_buf *r = ud;
    size_t n = size * nmemb;
    if (n > SUBMIT_RESP_MAX - r->len) {
        r->overflow = true;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) {
            r->nomem = true;
            return 0;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return n;
}

/* POSTs body[0..len) to <server><path>, or GETs it if body is NULL; *status gets the HTTP
 * status, *resp the answer (caller frees resp->buf). TL_ERR_IO for a transport failure (d says
 * which). */
static tl_err http_request(const char *server, const char *path, const char *body, size_t len,
                           long *status, resp_buf *resp, tl_diag *d)
{
    const char *method = body ? "POST" : "GET";
    size_t n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    if (n == 0)
        return tl_fail(d, TL_ERR_USAGE, "--server: empty URL");
    size_t pl = strlen(path);
    char *url = malloc(n + pl + 1);
    if (!url)
        return tl_fail(d, TL_ERR_NOMEM, "%s", method);
    memcpy(url, server, n);
    memcpy(url + n, path, pl + 1);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    tl_err e = TL_OK;
    if (!c || !h2) {
        e = tl_fail(d, TL_ERR_NOMEM, "%s %s", method, url);
    } else {
        char errbuf[CURL_ERROR_SIZE] = "";
        h = h2;
        CURLcode rc = curl_easy_setopt(c, CURLOPT_URL, url);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, SUBMIT_CONNECT_S);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_TIMEOUT, SUBMIT_TIMEOUT_S);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "treatylog/0.1");
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        if (rc == CURLE_OK && body)
            rc = curl_easy_setopt(c, CURLOPT_POST, 1L);
        if (rc == CURLE_OK && body)
            rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (rc == CURLE_OK && body)
            rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        if (rc == CURLE_OK)
            rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
            rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        if (resp->nomem)
            e = tl_fail(d, TL_ERR_NOMEM, "%s %s: reading the answer", method, url);
        else if (resp->overflow)
            e = tl_fail(d, TL_ERR_TOOBIG, "%s %s: answer larger than %zu bytes", method, url,
                        SUBMIT_RESP_MAX);
        else if (rc != CURLE_OK)
            e = tl_fail(d, TL_ERR_IO, "%s %s: %s", method, url,
                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(url);
    return e;
}

/* The server's message (its "treatylog: " prefix and final newline dropped), printable ASCII
 * and UTF-8 only, at most SUBMIT_MSG_MAX bytes, into out (SUBMIT_MSG_MAX + 4 bytes). */
static void server_message(char *out, const resp_buf *r)
{
    const char *p = r->buf ? r->buf : "";
    size_t n = r->len;
    if (n >= 11 && memcmp(p, "treatylog: ", 11) == 0) {
        p += 11;
        n -= 11;
    }
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    size_t o = 0;
    for (size_t i = 0; i < n && o < SUBMIT_MSG_MAX; i++) {
        unsigned char ch = (unsigned char)p[i];
        out[o++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    if (o == SUBMIT_MSG_MAX)
        memcpy(out + o - 3, "...", 3);
    out[o] = '\0';
    if (o == 0)
        memcpy(out, "(no message)", sizeof "(no message)");
}

/* mkdir -p dir. */
static tl_err make_dirs(const char *dir, tl_diag *d)
{
    char *p = strdup(dir);
    if (!p)
        return tl_fail(d, TL_ERR_NOMEM, "%s", dir);
    tl_err e = TL_OK;
    for (char *s = p + 1; e == TL_OK; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            e = tl_fail(d, TL_ERR_IO, "creating %s: %s", p, strerror(errno));
        if (end)
            break;
        *s = '/';
    }
    free(p);
    struct stat st;
    if (e == TL_OK && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        e = tl_fail(d, TL_ERR_IO, "%s is not a directory", dir);
    return e;
}

/* 1 if path holds exactly buf[0..len), 0 if it does not exist, -1 if it holds other bytes. */
static int same_file(const char *path, const void *buf, size_t len)
{
    uint8_t *old = NULL;
    size_t olen = 0;
    tl_diag d;
    tl_err e = cli_read_file(path, TL_NOTE_MAX + SUBMIT_RESP_MAX, &old, &olen, &d);
    if (e == TL_ERR_NOTFOUND)
        return 0;
    int r = e == TL_OK && olen == len && memcmp(old, buf, len) == 0 ? 1 : -1;
    free(old);
    return r;
}

/* Writes path atomically (temporary file, fsync, rename). */
static tl_err write_file(const char *path, const void *buf, size_t len, tl_diag *d)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 32);
    if (!tmp)
        return tl_fail(d, TL_ERR_NOMEM, "%s", path);
    snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    tl_err e = fd < 0 ? tl_fail(d, TL_ERR_IO, "creating %s: %s", tmp, strerror(errno)) : TL_OK;
    const uint8_t *p = buf;
    size_t off = 0;
    while (e == TL_OK && off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            e = tl_fail(d, TL_ERR_IO, "writing %s: %s", tmp, strerror(errno));
        else
            off += (size_t)w;
    }
    if (e == TL_OK && fsync(fd) != 0)
        e = tl_fail(d, TL_ERR_IO, "fsync %s: %s", tmp, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && e == TL_OK)
        e = tl_fail(d, TL_ERR_IO, "closing %s: %s", tmp, strerror(errno));
    if (e == TL_OK && rename(tmp, path) != 0)
        e = tl_fail(d, TL_ERR_IO, "renaming %s: %s", tmp, strerror(errno));
    if (e != TL_OK && fd >= 0)
        unlink(tmp);
    free(tmp);
    return e;
}

/* Keeps the receipts <dir>/<stem>.{note,tlog-proof,entry}; an existing set for other bytes
 * (another log, a reset test log) is kept and the new one named <stem>-<index>. *used gets
 * the stem written (at least 64 + strlen(stem) bytes). */
static tl_err keep_receipts(const char *dir, const char *stem, uint64_t index, const char *note,
                            size_t nlen, const char *proof, size_t plen,
                            const tl_submission_proof *r, char *used, size_t usedcap, tl_diag *d)
{
    tl_err e = make_dirs(dir, d);
    if (e != TL_OK)
        return e;
    static const char *const ext[3] = {".note", ".tlog-proof", ".entry"};
    const void *bufs[3] = {note, proof, r->entry};
    size_t lens[3] = {nlen, plen, r->entry_len};
    size_t plen_max = strlen(dir) + usedcap + 16;
    char *path = malloc(plen_max);
    if (!path)
        return tl_fail(d, TL_ERR_NOMEM, "receipts");
    for (int attempt = 0; attempt < 2; attempt++) {
        int n = attempt == 0 ? snprintf(used, usedcap, "%s", stem)
                             : snprintf(used, usedcap, "%s-%llu", stem, (unsigned long long)index);
        if (n < 0 || (size_t)n >= usedcap) {
            free(path);
            return tl_fail(d, TL_ERR_INTERNAL, "receipt name too long");
        }
        bool clash = false;
        for (int i = 0; i < 3 && !clash; i++) {
            snprintf(path, plen_max, "%s/%s%s", dir, used, ext[i]);
            clash = same_file(path, bufs[i], lens[i]) < 0;
        }
        if (!clash)
            break;
        if (attempt == 1) {
            free(path);
            return tl_fail(d, TL_ERR_IO, "%s/%s.* exist with other content: not overwritten", dir,
                           used);
        }
        fprintf(stderr,
                "treatylog: %s/%s.* hold another submission's receipts: keeping them, writing "
                "%s-%llu.*\n",
                dir, stem, stem, (unsigned long long)index);
    }
    for (int i = 0; i < 3 && e == TL_OK; i++) {
        snprintf(path, plen_max, "%s/%s%s", dir, used, ext[i]);
        e = write_file(path, bufs[i], lens[i], d);
    }
    free(path);
    return e;
}

/* "2026-11-29T02:40:00.123Z" for Unix milliseconds (or the bare number if out of range). */
static void format_ms(char out[64], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms / 1000 > (uint64_t)253402300799 || !gmtime_r(&t, &tm) ||
        strftime(out, 64, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(out, 64, "%llu ms", (unsigned long long)ms);
        return;
    }
    size_t n = strlen(out);
    snprintf(out + n, 64 - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* Checks a proof from GET /v1/proof?hash= for the entry r describes: with an extra line, as a
 * whole answer that must rebuild the same entry; without, for r's leaf hash. On TL_OK r gets
 * the new checkpoint (and the new answer's fields). TL_ERR_PROOF if it proves another entry. */
static tl_err check_witnessed(tl_submission_proof *r, const char *buf, size_t len, const char *note,
                              size_t nlen, const tl_policy *policy, tl_diag *d)
{
    tl_tlog_proof *p = malloc(sizeof *p);
    if (!p)
        return tl_fail(d, TL_ERR_NOMEM, "tlog-proof");
    tl_err e = tl_tlog_proof_parse(p, buf, len, d);
    if (e == TL_OK && p->index != r->index)
        e = tl_fail(d, TL_ERR_PROOF, "the log's proof by hash puts entry %llu at %llu",
                    (unsigned long long)r->index, (unsigned long long)p->index);
    if (e == TL_OK && p->extra_b64) {
        tl_submission_proof w;
        e = tl_submission_proof_verify(&w, buf, len, (const uint8_t *)note, nlen, policy, d);
        if (e == TL_OK && memcmp(w.leaf, r->leaf, TL_HASH_LEN) != 0) {
            tl_submission_proof_free(&w);
            e = tl_fail(d, TL_ERR_PROOF, "the log's proof by hash is for another entry");
        }
        if (e == TL_OK) {
            tl_submission_proof_free(r);
            *r = w;
        }
    } else if (e == TL_OK) {
        tl_checkpoint cp;
        e = tl_tlog_proof_verify(p, r->leaf, policy, &cp, d);
        if (e == TL_OK)
            r->cp = cp;
    }
    free(p);
    return e;
}

/* After an answer whose proof is good but not witnessed enough (TL_ERR_QUORUM): checks it
 * against the policy's log keys alone, then polls GET /v1/proof?hash=<leaf> (the proof against
 * the newest witnessed checkpoint) until one meets the policy or wait_s seconds pass. On TL_OK
 * *r and *resp hold the best proof: the witnessed one, or (*unwitnessed set) the log's own. */
static tl_err witnessed_proof(const char *cmd, const char *server, const char *note, size_t nlen,
                              const tl_policy *policy, unsigned wait_s, resp_buf *resp,
                              tl_submission_proof *r, bool *unwitnessed, tl_diag *d)
{
    tl_policy *logs = tl_policy_new();
    if (!logs)
        return tl_fail(d, TL_ERR_NOMEM, "policy");
    memcpy(logs, policy, sizeof *logs);
    logs->quorum_none = true;
    tl_diag qd = *d; /* the quorum failure, in case no witnessed proof turns up */
    tl_err e = tl_submission_proof_verify(r, resp->buf ? resp->buf : "", resp->len,
                                          (const uint8_t *)note, nlen, logs, d);
    free(logs);
    if (e != TL_OK)
        return e;
    char path[32 + 2 * TL_HASH_LEN];
    memcpy(path, "/v1/proof?hash=", 16);
    sodium_bin2hex(path + 15, sizeof path - 15, r->leaf, TL_HASH_LEN);
    if (wait_s > 0)
        fprintf(stderr,
                "treatylog %s: entry %llu is logged; waiting up to %u s for a checkpoint "
                "that meets the witness quorum (%s)\n",
                cmd, (unsigned long long)r->index, wait_s, qd.msg);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((uint64_t)(now.tv_sec - t0.tv_sec) >= wait_s)
            break;
        struct timespec pause = {0, 250 * 1000 * 1000};
        nanosleep(&pause, NULL);
        long status = 0;
        resp_buf got = {0};
        tl_diag gd;
        e = http_request(server, path, NULL, 0, &status, &got, &gd);
        if (e == TL_OK && status == 200) {
            e = check_witnessed(r, got.buf ? got.buf : "", got.len, note, nlen, policy, &gd);
            if (e == TL_OK) {
                free(resp->buf);
                *resp = got;
                return TL_OK;
            }
            if (e == TL_ERR_PROOF) { /* a proof of another entry for these bytes: a lie */
                free(got.buf);
                *d = gd;
                return e;
            }
        }
        free(got.buf);
    }
    *unwitnessed = true;
    return TL_OK;
}

int submit_post(const char *cmd, const char *server, const char *note, size_t nlen,
                const tl_policy *policy, unsigned witness_wait_s, const char *receipts,
                const char *stem)
{
    tl_diag d = {{0}};
    long status = 0;
    resp_buf resp = {0};
    tl_err e = http_request(server, "/add", note, nlen, &status, &resp, &d);
    if (e != TL_OK) {
        free(resp.buf);
        return cli_fail(cmd, e, &d);
    }
    if (status != 200) {
        char msg[SUBMIT_MSG_MAX + 4];
        server_message(msg, &resp);
        free(resp.buf);
        const char *what = status == 400   ? "refused it as malformed"
                           : status == 403 ? "refused it as not authorised"
                           : status == 409 ? "refused it as conflicting with the log"
                           : status == 413 ? "refused it as too large"
                           : status == 429 || status == 503
                               ? "is busy; try again later (the same bytes are deduplicated)"
                               : "answered with an error";
        fprintf(stderr, "treatylog %s: the log %s (HTTP %ld): %s\n", cmd, what, status, msg);
        return EXIT_USAGE;
    }
    tl_submission_proof r;
    e = tl_submission_proof_verify(&r, resp.buf ? resp.buf : "", resp.len, (const uint8_t *)note,
                                   nlen, policy, &d);
    bool unwitnessed = false;
    if (e == TL_ERR_QUORUM)
        e = witnessed_proof(cmd, server, note, nlen, policy, witness_wait_s, &resp, &r,
                            &unwitnessed, &d);
    if (e != TL_OK) {
        fprintf(stderr, "treatylog %s: the log answered 200 but its proof does not verify: %s\n",
                cmd, d.msg[0] ? d.msg : tl_strerror(e));
        free(resp.buf);
        return EXIT_VERIFY;
    }
    char name[320];
    char fallback[40];
    if (!stem) {
        snprintf(fallback, sizeof fallback, "registry-%llu", (unsigned long long)r.index);
        stem = fallback;
    }
    e = keep_receipts(receipts, stem, r.index, note, nlen, resp.buf, resp.len, &r, name,
                      sizeof name, &d);
    char leaf[TL_HASH_LEN * 2], when[64];
    tl_b64_encode(leaf, r.leaf, TL_HASH_LEN);
    format_ms(when, r.logged_ms);
    int rc = 0;
    if (printf("index %llu leaf %s logged %s\n", (unsigned long long)r.index, leaf, when) < 0 ||
        fflush(stdout) != 0)
        rc = EXIT_USAGE;
    if (e != TL_OK) {
        fprintf(stderr,
                "treatylog %s: logged, but the receipts were not kept (%s); submitting the same "
                "note again fetches the proof again\n",
                cmd, d.msg[0] ? d.msg : tl_strerror(e));
        rc = EXIT_USAGE;
    } else {
        fprintf(stderr,
                "treatylog %s: entry %llu of %s (checkpoint size %llu); receipts "
                "%s/%s.{note,tlog-proof,entry}\n",
                cmd, (unsigned long long)r.index, r.cp.origin, (unsigned long long)r.cp.size,
                receipts, name);
    }
    if (unwitnessed) {
        char hex[2 * TL_HASH_LEN + 1];
        sodium_bin2hex(hex, sizeof hex, r.leaf, TL_HASH_LEN);
        fprintf(stderr,
                "treatylog %s: the log's own proof verifies, but no checkpoint containing entry "
                "%llu met the policy's witness quorum within %u s: the receipt is not "
                "witnessed; fetch a witnessed proof later from %s/v1/proof?hash=%s\n",
                cmd, (unsigned long long)r.index, witness_wait_s, server, hex);
        rc = EXIT_VERIFY;
    }
    tl_submission_proof_free(&r);
    free(resp.buf);
    return rc;
}

tl_err submit_witness_wait(const char *arg, unsigned *out, tl_diag *d)
{
    uint64_t v = SUBMIT_WITNESS_WAIT_DEFAULT;
    if (arg) {
        tl_err e = cli_parse_u64(arg, &v, d);
        if (e != TL_OK)
            return tl_diag_prefix(d, e, "--witness-wait");
        if (v > 3600)
            return tl_fail(d, TL_ERR_USAGE, "--witness-wait: at most 3600 seconds");
    }
    *out = (unsigned)v;
    return TL_OK;
}

/* ---- treatylog submit ----------------------------------------------------------------- */

/* --schemas, else $TREATYLOG_SCHEMAS, else the source tree's schemas/ (as notify does). */
static tl_err load_schemas(const char *arg, tl_schemas **out, tl_diag *d)
{
    const char *dir = arg;
    if (!dir) {
        const char *env = getenv("TREATYLOG_SCHEMAS");
        dir = env && env[0] ? env : TL_SCHEMAS_DIR;
    }
    return tl_schemas_load(out, dir, d);
}

/* The notification of FILE: its text (*text, malloc'd) and, if FILE was already a signed note,
 * that note (*signed_note, malloc'd, else NULL). */
static tl_err read_notification(const char *path, const tl_schemas *s, char **text, size_t *tlen,
                                char **signed_note, size_t *slen, tl_notification *n, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, SUBMIT_FILE_MAX, &buf, &len, d);
    if (e != TL_OK)
        return e;
    *signed_note = NULL;
    if (len >= TL_NOTIFICATION_HEADER_LEN &&
        memcmp(buf, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN) == 0) {
        const char *t = (const char *)buf;
        size_t tl = len;
        if (memmem(buf, len, "\n\n", 2) != NULL) {
            tl_note *note = malloc(sizeof *note);
            e = note ? tl_note_parse(note, (const char *)buf, len, d)
                     : tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
            if (e == TL_OK) {
                tl = note->text_len;
                *signed_note = (char *)buf;
                *slen = len;
            } else {
                e = tl_diag_prefix(d, e, "signed note");
            }
            free(note);
        }
        char *copy = e == TL_OK ? malloc(tl + 1) : NULL;
        if (e == TL_OK && !copy)
            e = tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
        if (e == TL_OK) {
            memcpy(copy, t, tl);
            copy[tl] = '\0';
            *text = copy;
            *tlen = tl;
        }
    } else {
        e = tl_notification_from_json(text, tlen, s, (const char *)buf, len, d);
    }
    if (!*signed_note)
        free(buf);
    if (e == TL_OK) {
        e = tl_notification_parse(n, s, *text, *tlen, d);
        if (e != TL_OK) {
            free(*text);
            *text = NULL;
        }
    }
    if (e != TL_OK) {
        free(*signed_note);
        *signed_note = NULL;
        return tl_diag_prefix(d, e, "%s", path);
    }
    return TL_OK;
}

/* Checks the signers: the first (already on the note, or the first --key) is the `from`
 * party's; every key is a party's (named by its code), Ed25519, and signs only once. */
static tl_err check_signers(const tl_notification *n, const char *first_name, size_t first_len,
                            const tl_skey *keys, const char *const *paths, size_t nkeys,
                            const tl_note *existing, tl_diag *d)
{
    if (first_len != strlen(n->from) || memcmp(first_name, n->from, first_len) != 0) {
        if (existing)
            return tl_fail(d, TL_ERR_USAGE,
                           "the note's first signature is by key \"%.*s\", but the "
                           "notification is from %s: the sending party signs first",
                           (int)first_len, first_name, n->from);
        return tl_fail(d, TL_ERR_USAGE,
                       "%s is the key of \"%.*s\", but the notification is from %s: the first "
                       "--key must be the sending party's (its key name is its party code)",
                       paths[0], (int)first_len, first_name, n->from);
    }
    for (size_t i = 0; i < nkeys; i++) {
        const tl_vkey *k = &keys[i].vkey;
        if (!tl_value_party(k->name, k->name_len))
            return tl_fail(d, TL_ERR_USAGE,
                           "%s is the key of \"%s\", not of a party (a party's key is named by "
                           "its two-letter code)",
                           paths[i], k->name);
        for (size_t j = 0; j < i; j++)
            if (tl_vkey_equal(k, &keys[j].vkey))
                return tl_fail(d, TL_ERR_USAGE, "%s: the same key is given twice", paths[i]);
        for (size_t j = 0; existing && j < existing->nsigs; j++)
            if (existing->sigs[j].name_len == k->name_len &&
                memcmp(existing->sigs[j].name, k->name, k->name_len) == 0 &&
                existing->sigs[j].id == k->id)
                return tl_fail(d, TL_ERR_USAGE, "%s: the note is already signed by this key",
                               paths[i]);
    }
    return TL_OK;
}

int cmd_submit(int argc, char **argv)
{
    const char *keypaths[SUBMIT_KEYS_MAX];
    size_t nkeys = 0;
    int rc = submit_take_repeated("submit", &argc, argv, "key", keypaths, SUBMIT_KEYS_MAX, &nkeys);
    if (rc)
        return rc;
    const char *server = NULL, *policy_path = NULL, *vkey_arg = NULL, *receipts = NULL,
               *schemas_arg = NULL, *wait_arg = NULL;
    bool sign_only = false;
    const cli_opt opts[] = {{"server", &server, NULL},       {"policy", &policy_path, NULL},
                            {"vkey", &vkey_arg, NULL},       {"receipts", &receipts, NULL},
                            {"schemas", &schemas_arg, NULL}, {"witness-wait", &wait_arg, NULL},
                            {"sign-only", NULL, &sign_only}};
    const char *pos[1];
    size_t npos = 0;
    rc = cli_parse("submit", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1)
        return cli_usage("submit", "%s", submit_usage);
    if (sign_only && (server || policy_path || vkey_arg || receipts || wait_arg))
        return cli_usage("submit", "--sign-only signs and prints; it takes no --server, "
                                   "--policy, --vkey, --receipts or --witness-wait");
    if (!sign_only && !server)
        return cli_usage("submit", "need --server URL (or --sign-only)");
    if (!sign_only && !policy_path && !vkey_arg)
        return cli_usage("submit", "need --policy POLICY or --vkey VKEY to check the log's proof");

    tl_diag d = {{0}};
    tl_policy *policy = NULL;
    tl_schemas *schemas = NULL;
    unsigned wait_s = 0;
    tl_err e = submit_witness_wait(wait_arg, &wait_s, &d);
    if (e == TL_OK && !sign_only)
        e = cli_load_policy(policy_path, vkey_arg, &policy, &d);
    if (e == TL_OK)
        e = load_schemas(schemas_arg, &schemas, &d);
    char *text = NULL, *presigned = NULL, *note = NULL;
    size_t tlen = 0, plen = 0, nlen = 0;
    tl_notification n = {0};
    if (e == TL_OK)
        e = read_notification(pos[0], schemas, &text, &tlen, &presigned, &plen, &n, &d);
    tl_skey *keys = calloc(SUBMIT_KEYS_MAX, sizeof *keys);
    if (e == TL_OK && !keys)
        e = tl_fail(&d, TL_ERR_NOMEM, "keys");
    for (size_t i = 0; e == TL_OK && i < nkeys; i++)
        e = cli_load_skey(keypaths[i], TL_KEY_ED25519, &keys[i], &d);
    if (e == TL_OK && nkeys == 0 && !presigned)
        e = tl_fail(&d, TL_ERR_USAGE, "need --key KEY: the sending party's signer key");
    tl_note *existing = NULL;
    if (e == TL_OK && presigned) {
        existing = malloc(sizeof *existing);
        e = existing ? tl_note_parse(existing, presigned, plen, &d)
                     : tl_fail(&d, TL_ERR_NOMEM, "note");
    }
    if (e == TL_OK) {
        const char *fname = existing ? existing->sigs[0].name : keys[0].vkey.name;
        size_t flen = existing ? existing->sigs[0].name_len : keys[0].vkey.name_len;
        e = check_signers(&n, fname, flen, keys, keypaths, nkeys, existing, &d);
    }
    if (e == TL_OK && presigned) {
        note = presigned;
        nlen = plen;
        presigned = NULL;
        e = submit_append_sigs(&note, &nlen, text, tlen, keys, nkeys, &d);
    } else if (e == TL_OK) {
        e = tl_note_sign(&note, &nlen, text, tlen, &keys[0], &d);
        if (e == TL_OK)
            e = submit_append_sigs(&note, &nlen, text, tlen, keys + 1, nkeys - 1, &d);
    }
    if (e == TL_OK && nlen + TL_ENTRY_HEAD_MAX > TL_ENTRY_MAX)
        e = tl_fail(&d, TL_ERR_TOOBIG,
                    "the signed notification is %zu bytes: with the entry header it may exceed "
                    "the %d-byte entry limit; split it into parts that reference each other",
                    nlen, TL_ENTRY_MAX);
    if (keys) {
        for (size_t i = 0; i < SUBMIT_KEYS_MAX; i++)
            tl_skey_wipe(&keys[i]);
        free(keys);
    }
    free(existing);
    free(presigned);
    free(text);
    char stem[TL_PARTY_LEN + 24];
    snprintf(stem, sizeof stem, "%s-%llu", n.from, (unsigned long long)n.serial);
    tl_notification_free(&n);
    tl_schemas_free(schemas);
    if (e != TL_OK) {
        free(note);
        free(policy);
        return cli_fail("submit", e, &d);
    }
    if (sign_only) {
        rc = cli_write_stdout(note, nlen) ? 0 : EXIT_USAGE;
    } else {
        rc = submit_post("submit", server, note, nlen, policy, wait_s,
                         receipts ? receipts : SUBMIT_RECEIPTS_DEF, stem);
    }
    free(note);
    free(policy);
    return rc;
}
