/* fuzz_note.c - libFuzzer target for the signed-note parser, verifier and signer (note.c).
 *
 * Properties (a violation traps):
 *   - whatever parses re-assembles from its parts (text, LF, "— name b64" LF ...) to exactly
 *     the input bytes, with 1..100 signature lines, a text ending in LF, valid key names and
 *     canonical base64 fields (decode + encode is the identity);
 *   - verifying against fixed 0x01 and 0x04 keys yields only OK or SIGNATURE, and OK means
 *     some key verified;
 *   - a parsed text signs (0x01 and 0x04) into a note that parses back to the same text and
 *     verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PETER_SKEY[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char WITNESS_SKEY[] = "PRIVATE+KEY+treatylog.example/test-witness+6a9442cd+"
                                   "BMkdeZbK33ahbRpzsUlwRT0aLejTSOol1dEoHdKDbr9e";
static const char WITNESS_VKEY[] =
    "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN";

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

/* A signature field is canonical base64: it decodes and re-encodes to itself, and its first
 * 4 bytes are the id. */
static void check_b64(const tl_note_sig *s)
{
    size_t cap = s->b64_len / 4 * 3;
    uint8_t *dec = malloc(cap);
    char *enc = malloc(s->b64_len + 1);
    check(dec != NULL && enc != NULL);
    size_t n = 0;
    check(tl_b64_decode(dec, cap, &n, s->b64, s->b64_len) == TL_OK && n >= 5);
    check(tl_b64_encode(enc, dec, n) == s->b64_len);
    check(memcmp(enc, s->b64, s->b64_len) == 0);
    check(s->id == ((uint32_t)dec[0] << 24 | (uint32_t)dec[1] << 16 | (uint32_t)dec[2] << 8 |
                    (uint32_t)dec[3]));
    free(dec);
    free(enc);
}

/* Rebuilds the note from its parsed parts and compares with the input. */
static void check_roundtrip(const tl_note *n, const char *msg, size_t len)
{
    check(n->text == msg);
    check(n->text_len >= 1 && n->text_len < len && msg[n->text_len - 1] == '\n');
    check(msg[n->text_len] == '\n');
    check(n->nsigs >= 1 && n->nsigs <= TL_NOTE_SIGS_MAX);
    size_t pos = n->text_len + 1;
    for (size_t i = 0; i < n->nsigs; i++) {
        const tl_note_sig *s = &n->sigs[i];
        check(tl_keyname_valid(s->name, s->name_len));
        check(pos + 4 <= len && memcmp(msg + pos, "\xe2\x80\x94 ", 4) == 0);
        pos += 4;
        check(s->name == msg + pos);
        pos += s->name_len;
        check(pos < len && msg[pos] == ' ');
        pos++;
        check(s->b64 == msg + pos && s->b64_len >= 8);
        check_b64(s);
        pos += s->b64_len;
        check(pos < len && msg[pos] == '\n');
        pos++;
    }
    check(pos == len);
}

static void sign_and_reopen(const tl_note *n, const tl_skey *peter, const tl_skey *witness)
{
    tl_vkey keys[2] = {peter->vkey, witness->vkey};
    char *out = NULL;
    size_t outlen = 0;
    tl_err e = tl_note_sign(&out, &outlen, n->text, n->text_len, peter, NULL);
    if (e == TL_ERR_TOOBIG)
        return;
    check(e == TL_OK);
    /* Append a cosignature line to the signed note. */
    char line[TL_SIGLINE_MAX];
    size_t line_len = 0;
    check(tl_note_sigline(line, &line_len, n->text, n->text_len, witness, 1767139200u, NULL) ==
          TL_OK);
    char *both = malloc(outlen + line_len);
    check(both != NULL);
    memcpy(both, out, outlen);
    memcpy(both + outlen, line, line_len);
    size_t both_len = outlen + line_len;

    tl_note *m = malloc(sizeof *m);
    check(m != NULL);
    e = tl_note_parse(m, both, both_len, NULL);
    if (both_len > TL_NOTE_MAX) {
        check(e == TL_ERR_TOOBIG);
    } else {
        check(e == TL_OK);
        check(m->text_len == n->text_len && memcmp(m->text, n->text, n->text_len) == 0);
        check(m->nsigs == 2);
        tl_sigcheck res[2];
        check(tl_note_verify(m, keys, 2, res, NULL) == TL_OK);
        check(res[0].ok && res[0].time == 0);
        check(res[1].ok && res[1].time == 1767139200u);
    }
    free(m);
    free(both);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    tl_skey peter, witness;
    check(tl_skey_parse(&peter, PETER_SKEY, sizeof PETER_SKEY - 1, NULL) == TL_OK);
    check(tl_skey_parse(&witness, WITNESS_SKEY, sizeof WITNESS_SKEY - 1, NULL) == TL_OK);
    tl_vkey wv;
    check(tl_vkey_parse(&wv, WITNESS_VKEY, sizeof WITNESS_VKEY - 1, NULL) == TL_OK);

    /* Copy into an exactly-sized buffer so ASan catches any read past the end. */
    char *msg = malloc(size ? size : 1);
    check(msg != NULL);
    if (size)
        memcpy(msg, data, size);
    tl_note *n = malloc(sizeof *n);
    check(n != NULL);
    tl_diag d;
    tl_err e = tl_note_parse(n, msg, size, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    check(e != TL_ERR_TOOBIG || size > TL_NOTE_MAX);
    if (e == TL_OK) {
        check(size <= TL_NOTE_MAX);
        check(tl_note_text_valid((const uint8_t *)msg, size));
        check_roundtrip(n, msg, size);
        tl_vkey keys[3] = {peter.vkey, witness.vkey, wv};
        tl_sigcheck res[3];
        e = tl_note_verify(n, keys, 3, res, &d);
        check(e == TL_OK || e == TL_ERR_SIGNATURE);
        if (e == TL_OK)
            check(res[0].ok || res[1].ok || res[2].ok);
        else
            check(!res[0].ok && !res[1].ok && !res[2].ok);
        sign_and_reopen(n, &peter, &witness);
    }
    free(n);
    free(msg);
    tl_skey_wipe(&peter);
    tl_skey_wipe(&witness);
    return 0;
}
