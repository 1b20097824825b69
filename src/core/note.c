/* note.c - C2SP signed-note v1.0.0 (https://c2sp.org/signed-note) strict parser, verifier and
 * signer, with tlog-cosignature v1.0.1 cosignature/v1 (https://c2sp.org/tlog-cosignature)
 * timestamped Ed25519 signatures; implements reference/c2sp-formats.md §3 and §5, matching
 * Go golang.org/x/mod/sumdb/note Open/Sign except where noted.
 *
 *   note    = text LF sigline{1,100}               at most TL_NOTE_MAX bytes in all
 *   text    = the bytes up to and including the LF before the last "\n\n"
 *   sigline = E2 80 94 20 <name> 20 <base64> 0A     name: no '+', no Unicode space
 *
 *   decoded base64, type 0x01 (68 bytes)       decoded base64, type 0x04 (76 bytes)
 *     0      4   key id, big-endian              0      4   key id, big-endian
 *     4     64   Ed25519(text)                   4      8   timestamp t, big-endian, <= 2^63-1
 *                                               12     64   Ed25519("cosignature/v1\n"
 *                                                                   "time <t>\n" || text)
 */
#include "treatylog/note.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "treatylog/text.h"

#define EMDASH_SP "\xe2\x80\x94 "
#define EMDASH_SP_LEN 4
#define SIG01_LEN (TL_KEYID_LEN + TL_SIG_LEN)     /* 68 */
#define SIG04_LEN (TL_KEYID_LEN + 8 + TL_SIG_LEN) /* 76 */
#define COSIG_LABEL "cosignature/v1\ntime "
#define COSIG_LABEL_LEN (sizeof COSIG_LABEL - 1)
#define COSIG_HDR_MAX (COSIG_LABEL_LEN + 20 + 1) /* label, decimal time, LF */
#define B64_CHUNK 256                            /* base64 chars validated per step */

/* Strictly validates base64 s[0..len) of any length (up to a whole note) in fixed-size
 * chunks, so no buffer is sized by input. Copies the first (up to) 4 decoded bytes to id4 and
 * the decoded length to *n. Every chunk but the last must decode to full 3-byte groups, so a
 * '=' can only sit in the final quantum. */
static bool b64_scan(uint8_t id4[TL_KEYID_LEN], size_t *n, const char *s, size_t len)
{
    if (len == 0 || len % 4 != 0)
        return false;
    uint8_t buf[B64_CHUNK / 4 * 3];
    size_t total = 0;
    for (size_t off = 0; off < len; off += B64_CHUNK) {
        size_t chunk = len - off < B64_CHUNK ? len - off : B64_CHUNK;
        size_t got = 0;
        if (tl_b64_decode(buf, sizeof buf, &got, s + off, chunk) != TL_OK)
            return false;
        if (off + chunk < len && got != chunk / 4 * 3)
            return false;
        if (off == 0)
            memcpy(id4, buf, got < TL_KEYID_LEN ? got : TL_KEYID_LEN);
        total += got;
    }
    *n = total;
    return true;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

/* First offset of a byte that makes s[0..len) invalid note text (for the diagnostic). */
static size_t first_bad_byte(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x20 && s[i] != '\n')
            return i;
        /* Grow the valid prefix one sequence at a time (at most 4 bytes). */
        size_t n = 1;
        while (n <= 4 && i + n <= len && !tl_utf8_valid(s + i, n))
            n++;
        if (n > 4 || i + n > len)
            return i;
        i += n;
    }
    return len;
}

tl_err tl_note_parse(tl_note *out, const char *msg, size_t len, tl_diag *d)
{
    if (len > TL_NOTE_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "note: %zu bytes, more than the %d allowed", len,
                       TL_NOTE_MAX);
    const uint8_t *u = (const uint8_t *)msg;
    if (!tl_note_text_valid(u, len))
        return tl_fail(d, TL_ERR_FORMAT,
                       "note byte %zu: invalid UTF-8 or a control byte other than LF",
                       first_bad_byte(u, len));

    /* Split at the last "\n\n": text = msg[0..i], sigs = msg[i+2..len). */
    size_t i = len;
    while (i >= 2 && !(msg[i - 2] == '\n' && msg[i - 1] == '\n'))
        i--;
    if (i < 2)
        return tl_fail(d, TL_ERR_FORMAT, "note: no empty line before the signatures");
    size_t text_len = i - 1;
    const char *sigs = msg + i;
    size_t sigs_len = len - i;
    if (sigs_len == 0)
        return tl_fail(d, TL_ERR_FORMAT, "note: no signature lines");
    if (sigs[sigs_len - 1] != '\n')
        return tl_fail(d, TL_ERR_FORMAT, "note: last signature line does not end in LF");

    size_t lineno = 2; /* 1-based number of the first signature line */
    for (size_t k = 0; k < text_len; k++)
        lineno += msg[k] == '\n';

    size_t nsigs = 0;
    size_t pos = 0;
    while (pos < sigs_len) {
        const char *line = sigs + pos;
        const char *nl = memchr(line, '\n', sigs_len - pos);
        size_t line_len = (size_t)(nl - line); /* nl != NULL: sigs ends in LF */
        pos += line_len + 1;

        if (line_len < EMDASH_SP_LEN || memcmp(line, EMDASH_SP, EMDASH_SP_LEN) != 0)
            return tl_fail(d, TL_ERR_FORMAT, "note line %zu: not a signature line", lineno);
        const char *name = line + EMDASH_SP_LEN;
        size_t rest = line_len - EMDASH_SP_LEN;
        const char *sp = memchr(name, ' ', rest);
        size_t name_len = sp ? (size_t)(sp - name) : rest;
        const char *b64 = sp ? sp + 1 : name + rest;
        size_t b64_len = sp ? rest - name_len - 1 : 0;
        if (!tl_keyname_valid(name, name_len))
            return tl_fail(d, TL_ERR_FORMAT, "note line %zu: invalid key name", lineno);
        uint8_t id4[TL_KEYID_LEN] = {0};
        size_t declen = 0;
        if (!b64_scan(id4, &declen, b64, b64_len))
            return tl_fail(d, TL_ERR_FORMAT, "note line %zu: signature is not canonical base64",
                           lineno);
        if (declen < TL_KEYID_LEN + 1)
            return tl_fail(d, TL_ERR_FORMAT, "note line %zu: signature shorter than 5 bytes",
                           lineno);
        if (nsigs == TL_NOTE_SIGS_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "note line %zu: more than %d signatures", lineno,
                           TL_NOTE_SIGS_MAX);
        out->sigs[nsigs].name = name;
        out->sigs[nsigs].name_len = name_len;
        out->sigs[nsigs].id = be32(id4);
        out->sigs[nsigs].b64 = b64;
        out->sigs[nsigs].b64_len = b64_len;
        nsigs++;
        lineno++;
    }
    out->text = msg;
    out->text_len = text_len;
    out->nsigs = nsigs;
    return TL_OK;
}

static bool sig_matches(const tl_note_sig *s, const tl_vkey *k)
{
    return s->id == k->id && s->name_len == k->name_len &&
           memcmp(s->name, k->name, k->name_len) == 0;
}

/* Writes "cosignature/v1\ntime <t>\n" so that it ends exactly at end; returns its start. The
 * caller reserves COSIG_HDR_MAX bytes before end. */
static uint8_t *cosig_header(uint8_t *end, uint64_t t)
{
    char num[21];
    size_t nlen = tl_format_u64(num, t);
    uint8_t *p = end - (COSIG_LABEL_LEN + nlen + 1);
    memcpy(p, COSIG_LABEL, COSIG_LABEL_LEN);
    memcpy(p + COSIG_LABEL_LEN, num, nlen);
    p[COSIG_LABEL_LEN + nlen] = '\n';
    return p;
}

/* Verifies one line against its trusted key. *buf is a lazily allocated cosignature message
 * (COSIG_HDR_MAX bytes of room, then the text); the caller frees it. Returns TL_OK (and the
 * timestamp in *t), TL_ERR_SIGNATURE or TL_ERR_NOMEM. */
static tl_err verify_line(uint64_t *t, uint8_t **buf, const tl_note *n, const tl_note_sig *s,
                          const tl_vkey *k)
{
    uint8_t dec[SIG04_LEN];
    size_t dlen = 0;
    /* The parser validated the base64; a longer field than 76 bytes comes back TOOBIG. */
    if (tl_b64_decode(dec, sizeof dec, &dlen, s->b64, s->b64_len) != TL_OK)
        return TL_ERR_SIGNATURE;
    const uint8_t *text = (const uint8_t *)n->text;
    if (k->type == TL_KEY_ED25519) {
        if (dlen != SIG01_LEN)
            return TL_ERR_SIGNATURE;
        if (crypto_sign_verify_detached(dec + TL_KEYID_LEN, text, n->text_len, k->pub) != 0)
            return TL_ERR_SIGNATURE;
        *t = 0;
        return TL_OK;
    }
    if (dlen != SIG04_LEN)
        return TL_ERR_SIGNATURE;
    uint64_t ts = be64(dec + TL_KEYID_LEN);
    if (ts > (uint64_t)TL_COSIG_TIME_MAX)
        return TL_ERR_SIGNATURE;
    if (!*buf) {
        uint8_t *p = malloc(COSIG_HDR_MAX + n->text_len);
        if (!p)
            return TL_ERR_NOMEM;
        memcpy(p + COSIG_HDR_MAX, text, n->text_len);
        *buf = p;
    }
    uint8_t *msg = cosig_header(*buf + COSIG_HDR_MAX, ts);
    size_t mlen = (size_t)(*buf + COSIG_HDR_MAX - msg) + n->text_len;
    if (crypto_sign_verify_detached(dec + TL_KEYID_LEN + 8, msg, mlen, k->pub) != 0)
        return TL_ERR_SIGNATURE;
    *t = ts;
    return TL_OK;
}

tl_err tl_note_verify(const tl_note *n, const tl_vkey *keys, size_t nkeys,
                      tl_sigcheck *results, tl_diag *d)
{
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i].type != TL_KEY_ED25519 && keys[i].type != TL_KEY_COSIG_V1)
            return tl_fail(d, TL_ERR_USAGE, "key %s+%08x: unsupported type 0x%02x",
                           keys[i].name, keys[i].id, keys[i].type);
        for (size_t j = i + 1; j < nkeys; j++) {
            if (keys[i].id == keys[j].id && keys[i].name_len == keys[j].name_len &&
                memcmp(keys[i].name, keys[j].name, keys[i].name_len) == 0)
                return tl_fail(d, TL_ERR_USAGE, "ambiguous key %s+%08x", keys[i].name,
                               keys[i].id);
        }
    }
    if (results) {
        for (size_t i = 0; i < nkeys; i++)
            results[i] = (tl_sigcheck){.ok = false, .time = 0};
    }

    /* As Go's note.Open: walk the lines in order; a line by no trusted key is ignored; only
     * the first line per trusted (name, id) is verified, later repeats are skipped. */
    uint8_t *buf = NULL;
    size_t verified = 0;
    tl_err e = TL_OK;
    for (size_t i = 0; i < n->nsigs && e == TL_OK; i++) {
        const tl_note_sig *s = &n->sigs[i];
        size_t k = 0;
        while (k < nkeys && !sig_matches(s, &keys[k]))
            k++;
        if (k == nkeys)
            continue;
        bool repeat = false;
        for (size_t j = 0; j < i && !repeat; j++)
            repeat = sig_matches(&n->sigs[j], &keys[k]);
        if (repeat)
            continue;
        uint64_t t = 0;
        e = verify_line(&t, &buf, n, s, &keys[k]);
        if (e == TL_ERR_NOMEM) {
            tl_fail(d, e, "note: out of memory verifying a cosignature");
        } else if (e != TL_OK) {
            tl_fail(d, e, "note signature %zu: invalid signature for key %s+%08x", i + 1,
                    keys[k].name, keys[k].id);
        } else {
            verified++;
            if (results)
                results[k] = (tl_sigcheck){.ok = true, .time = t};
        }
    }
    free(buf);
    if (e != TL_OK) {
        if (results) {
            for (size_t i = 0; i < nkeys; i++)
                results[i] = (tl_sigcheck){.ok = false, .time = 0};
        }
        return e;
    }
    if (verified == 0)
        return tl_fail(d, TL_ERR_SIGNATURE, "note has no verifiable signatures");
    return TL_OK;
}

/* Checks that text[0..len) can be signed: non-empty note text ending in LF. */
static tl_err check_text(const char *text, size_t len, tl_diag *d)
{
    if (len > TL_NOTE_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "note text: %zu bytes, more than the %d allowed", len,
                       TL_NOTE_MAX);
    if (len == 0 || text[len - 1] != '\n')
        return tl_fail(d, TL_ERR_FORMAT, "note text: empty or does not end in LF");
    if (!tl_note_text_valid((const uint8_t *)text, len))
        return tl_fail(d, TL_ERR_FORMAT,
                       "note text byte %zu: invalid UTF-8 or a control byte other than LF",
                       first_bad_byte((const uint8_t *)text, len));
    return TL_OK;
}

tl_err tl_note_sigline(char out[static TL_SIGLINE_MAX], size_t *outlen, const char *text,
                       size_t len, const tl_skey *k, uint64_t time, tl_diag *d)
{
    tl_err e = check_text(text, len, d);
    if (e != TL_OK)
        return e;
    const tl_vkey *v = &k->vkey;
    if (v->name_len > TL_KEYNAME_MAX || !tl_keyname_valid(v->name, v->name_len))
        return tl_fail(d, TL_ERR_USAGE, "signing key has an invalid name");

    uint8_t payload[SIG04_LEN];
    size_t plen;
    put_be32(payload, v->id);
    if (v->type == TL_KEY_ED25519) {
        crypto_sign_detached(payload + TL_KEYID_LEN, NULL, (const uint8_t *)text, len, k->sk);
        plen = SIG01_LEN;
    } else if (v->type == TL_KEY_COSIG_V1) {
        if (time > (uint64_t)TL_COSIG_TIME_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "cosignature time %llu above 2^63-1",
                           (unsigned long long)time);
        uint8_t *buf = malloc(COSIG_HDR_MAX + len);
        if (!buf)
            return tl_fail(d, TL_ERR_NOMEM, "out of memory signing a cosignature");
        memcpy(buf + COSIG_HDR_MAX, text, len);
        uint8_t *msg = cosig_header(buf + COSIG_HDR_MAX, time);
        size_t mlen = (size_t)(buf + COSIG_HDR_MAX - msg) + len;
        put_be64(payload + TL_KEYID_LEN, time);
        crypto_sign_detached(payload + TL_KEYID_LEN + 8, NULL, msg, mlen, k->sk);
        free(buf);
        plen = SIG04_LEN;
    } else {
        return tl_fail(d, TL_ERR_USAGE, "signing key has unsupported type 0x%02x", v->type);
    }

    /* "— " name " " base64 LF NUL: at most 4 + 255 + 1 + 104 + 1 + 1 = TL_SIGLINE_MAX. */
    size_t o = 0;
    memcpy(out, EMDASH_SP, EMDASH_SP_LEN);
    o += EMDASH_SP_LEN;
    memcpy(out + o, v->name, v->name_len);
    o += v->name_len;
    out[o++] = ' ';
    o += tl_b64_encode(out + o, payload, plen);
    out[o++] = '\n';
    out[o] = '\0';
    *outlen = o;
    return TL_OK;
}

tl_err tl_note_sign(char **out, size_t *outlen, const char *text, size_t len, const tl_skey *k,
                    tl_diag *d)
{
    if (k->vkey.type != TL_KEY_ED25519)
        return tl_fail(d, TL_ERR_USAGE, "tl_note_sign needs a type 0x01 key");
    char line[TL_SIGLINE_MAX];
    size_t line_len = 0;
    tl_err e = tl_note_sigline(line, &line_len, text, len, k, 0, d);
    if (e != TL_OK)
        return e;
    /* len <= TL_NOTE_MAX (checked above), so the sum cannot overflow. */
    size_t total = len + 1 + line_len;
    if (total > TL_NOTE_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "signed note would be %zu bytes, more than %d", total,
                       TL_NOTE_MAX);
    char *p = malloc(total + 1);
    if (!p)
        return tl_fail(d, TL_ERR_NOMEM, "out of memory signing a note");
    memcpy(p, text, len);
    p[len] = '\n';
    memcpy(p + len + 1, line, line_len + 1);
    *out = p;
    *outlen = total;
    return TL_OK;
}
