/* cmd_log.c - treatylog init and append: create a log, append entries (one per file or one
 * per line) and publish one checkpoint per call. Every input is read and checked before the
 * first byte is staged, so a bad input writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "treatylog/log.h"
#include "treatylog/note.h"
#include "treatylog/registry.h"
#include "treatylog/schema.h"
#include "treatylog/entry.h"
#include "treatylog/tile.h"
#include "treatylog/values.h"

/* The genesis entry of a treaty log (DESIGN §3): the registry document, signed by the
 * operator, as entry 0 in the treatylog/entry/v1 layout
 *   "treatylog/entry/v1" LF "logged" SP <unix ms> LF LF <signed registry note>
 * Checked by applying it to an empty registry before anything is written. */
static tl_err genesis_entry(const char *path, const tl_skey *k, uint64_t logged_ms,
                            uint8_t **entry, size_t *elen, tl_diag *d)
{
    uint8_t *json = NULL;
    size_t jlen = 0;
    tl_err e = cli_read_file(path, 1 << 20, &json, &jlen, d);
    if (e != TL_OK)
        return e;
    char *text = NULL, *note = NULL;
    size_t tlen = 0, nlen = 0;
    /* The rulesets' texts go into the log with it (DESIGN §3). A file that does not parse is
     * left to tl_registry_from_json, which says why. */
    json_t *doc = NULL;
    tl_diag pd;
    if (tl_schema_parse_json(&doc, (const char *)json, jlen, false, &pd) == TL_OK) {
        cli_embed_ruleset_texts(doc, "init");
        char *js = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!js) {
            free(json);
            return tl_fail(d, TL_ERR_NOMEM, "registry");
        }
        free(json);
        json = (uint8_t *)js;
        jlen = strlen(js);
    }
    e = tl_registry_from_json(&text, &tlen, (const char *)json, jlen, true, d);
    free(json);
    if (e == TL_OK)
        e = tl_note_sign(&note, &nlen, text, tlen, k, d);
    free(text);
    tl_registry *reg = e == TL_OK ? tl_registry_new() : NULL;
    if (e == TL_OK && !reg)
        e = tl_fail(d, TL_ERR_NOMEM, "registry");
    if (e == TL_OK)
        e = tl_registry_apply(reg, note, nlen, &k->vkey, 0, d);
    tl_registry_free(reg);
    if (e != TL_OK) {
        free(note);
        return tl_diag_prefix(d, e, "%s", path);
    }
    if (logged_ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        logged_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    }
    char head[TL_ENTRY_HEAD_MAX];
    int hn = (int)tl_entry_head(head, logged_ms);
    size_t n = (size_t)hn + nlen;
    if (n > TL_ENTRY_MAX) {
        free(note);
        return tl_fail(d, TL_ERR_TOOBIG, "%s: the signed registry is %zu bytes, over the %d-byte "
                                         "entry limit", path, n, TL_ENTRY_MAX);
    }
    uint8_t *buf = malloc(n);
    if (!buf) {
        free(note);
        return tl_fail(d, TL_ERR_NOMEM, "genesis entry");
    }
    memcpy(buf, head, (size_t)hn);
    memcpy(buf + hn, note, nlen);
    free(note);
    *entry = buf;
    *elen = n;
    return TL_OK;
}

int cmd_init(int argc, char **argv)
{
    const char *keyfile = NULL, *origin = NULL, *registry = NULL, *when = NULL;
    const cli_opt opts[] = {{"key", &keyfile, NULL},
                            {"origin", &origin, NULL},
                            {"registry", &registry, NULL},
                            {"time", &when, NULL}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("init", argc, argv, opts, 4, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || !keyfile)
        return cli_usage("init", "usage: treatylog init DIR --key KEYFILE [--origin ORIGIN] "
                                 "[--registry FILE [--time DATETIME]]");
    tl_diag d = {{0}};
    int64_t when_s = 0;
    if (when && !registry)
        return cli_usage("init", "--time is the logged time of the genesis registry: it needs "
                                 "--registry");
    if (when && (tl_value_datetime(when, strlen(when), &when_s) != TL_OK || when_s <= 0))
        return cli_usage("init", "--time: a UTC date-time such as 2021-07-01T00:00:00Z");
    tl_skey k;
    tl_err e = cli_load_skey(keyfile, TL_KEY_ED25519, &k, &d);
    if (e != TL_OK)
        return cli_fail("init", e, &d);
    uint8_t *genesis = NULL;
    size_t glen = 0;
    if (registry) {
        e = genesis_entry(registry, &k, (uint64_t)when_s * 1000u, &genesis, &glen, &d);
        if (e != TL_OK) {
            tl_skey_wipe(&k);
            return cli_fail("init", e, &d);
        }
    }
    e = tl_log_create(pos[0], origin, &k, &d);
    if (e == TL_OK && genesis) {
        tl_log *l = NULL;
        e = tl_log_open(&l, pos[0], NULL, &d);
        if (e == TL_OK)
            e = tl_log_add(l, genesis, glen, NULL, &d);
        if (e == TL_OK)
            e = tl_log_publish(l, &d);
        tl_log_close(l);
    }
    free(genesis);
    char vkey[TL_VKEY_TEXT_MAX + 1];
    size_t vn = tl_vkey_format(vkey, &k.vkey);
    char name[TL_KEYNAME_MAX + 1];
    memcpy(name, k.vkey.name, k.vkey.name_len + 1);
    tl_skey_wipe(&k);
    if (e != TL_OK)
        return cli_fail("init", e, &d);
    fprintf(stderr, "treatylog init: created log %s (origin %s)\n", pos[0],
            origin ? origin : name);
    vkey[vn++] = '\n';
    return cli_write_stdout(vkey, vn) ? 0 : EXIT_USAGE;
}

typedef struct input {
    uint8_t **bufs; /* owned buffers */
    size_t nbufs;
    const uint8_t **ents;
    size_t *lens;
    size_t n, cap;
} input;

static tl_err push(input *in, const uint8_t *p, size_t len, tl_diag *d)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 1024;
        const uint8_t **ne = realloc(in->ents, cap * sizeof *ne);
        if (!ne)
            return tl_fail(d, TL_ERR_NOMEM, "entry list");
        in->ents = ne;
        size_t *nl = realloc(in->lens, cap * sizeof *nl);
        if (!nl)
            return tl_fail(d, TL_ERR_NOMEM, "entry list");
        in->lens = nl;
        in->cap = cap;
    }
    in->ents[in->n] = p;
    in->lens[in->n] = len;
    in->n++;
    return TL_OK;
}

static tl_err keep(input *in, uint8_t *buf, tl_diag *d)
{
    uint8_t **nb = realloc(in->bufs, (in->nbufs + 1) * sizeof *nb);
    if (!nb) {
        free(buf);
        return tl_fail(d, TL_ERR_NOMEM, "input buffers");
    }
    in->bufs = nb;
    in->bufs[in->nbufs++] = buf;
    return TL_OK;
}

static void input_free(input *in)
{
    for (size_t i = 0; i < in->nbufs; i++)
        free(in->bufs[i]);
    free(in->bufs);
    free(in->ents);
    free(in->lens);
}

/* Splits buf into lines (the bytes before each LF; a last line without LF counts). */
static tl_err split_lines(input *in, const char *name, const uint8_t *buf, size_t len,
                          tl_diag *d)
{
    size_t start = 0, line = 1;
    while (start < len) {
        const uint8_t *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len;
        if (end - start > TL_ENTRY_MAX)
            return tl_fail(d, TL_ERR_TOOBIG,
                           "%s line %zu: %zu bytes, over the %d-byte entry limit; nothing was "
                           "appended",
                           name, line, end - start, TL_ENTRY_MAX);
        tl_err e = push(in, buf + start, end - start, d);
        if (e != TL_OK)
            return e;
        start = end + 1;
        line++;
    }
    return TL_OK;
}

int cmd_append(int argc, char **argv)
{
    bool lines = false;
    const cli_opt opts[] = {{"lines", NULL, &lines}};
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos)
        return cli_usage("append", "out of memory");
    size_t npos = 0;
    int rc = cli_parse("append", argc, argv, opts, 1, pos, (size_t)argc, &npos);
    if (rc) {
        free(pos);
        return rc;
    }
    if (npos < 1 || (lines && npos > 2) || (!lines && npos < 2)) {
        free(pos);
        return cli_usage("append", "usage: treatylog append DIR FILE... | treatylog append DIR "
                                   "--lines [FILE]");
    }
    const char *dir = pos[0];
    tl_diag d = {{0}};
    input in = {0};
    tl_err e = TL_OK;
    if (lines) {
        const char *name = npos == 2 ? pos[1] : "-";
        uint8_t *buf = NULL;
        size_t len = 0;
        e = cli_read_file(name, (size_t)1 << 34, &buf, &len, &d);
        if (e == TL_OK)
            e = keep(&in, buf, &d);
        if (e == TL_OK)
            e = split_lines(&in, strcmp(name, "-") == 0 ? "stdin" : name, buf, len, &d);
    } else {
        for (size_t i = 1; i < npos && e == TL_OK; i++) {
            uint8_t *buf = NULL;
            size_t len = 0;
            e = cli_read_file(pos[i], TL_ENTRY_MAX, &buf, &len, &d);
            if (e == TL_ERR_TOOBIG)
                e = tl_fail(&d, e,
                            "%s: over the %d-byte entry limit (larger documents must be split "
                            "into parts); nothing was appended",
                            pos[i], TL_ENTRY_MAX);
            if (e == TL_OK)
                e = keep(&in, buf, &d);
            if (e == TL_OK)
                e = push(&in, buf, len, &d);
        }
    }
    free(pos);
    tl_log *l = NULL;
    if (e == TL_OK)
        e = tl_log_open(&l, dir, NULL, &d);
    uint64_t first = l ? tl_log_size(l) : 0;
    for (size_t i = 0; i < in.n && e == TL_OK; i++)
        e = tl_log_add(l, in.ents[i], in.lens[i], NULL, &d);
    if (e == TL_OK)
        e = tl_log_publish(l, &d);
    size_t n = in.n;
    input_free(&in);
    if (e != TL_OK) {
        tl_log_close(l);
        return cli_fail("append", e, &d);
    }
    size_t cplen = 0;
    const char *cp = tl_log_checkpoint(l, &cplen);
    if (n == 0)
        fprintf(stderr, "treatylog append: no entries; log unchanged at size %llu\n",
                (unsigned long long)first);
    else
        fprintf(stderr, "treatylog append: appended %zu entries (index %llu to %llu)\n", n,
                (unsigned long long)first, (unsigned long long)(first + n - 1));
    bool ok = cli_write_stdout(cp, cplen);
    tl_log_close(l);
    return ok ? 0 : EXIT_USAGE;
}
