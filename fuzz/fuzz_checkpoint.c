/* fuzz_checkpoint.c - libFuzzer target for the checkpoint parser, formatter and opener
 * (checkpoint.c), fed both as bare note text and as a whole signed note.
 *
 * Properties (a violation traps):
 *   - a text that parses obeys the limits (origin 1..255 bytes, size <= 2^63-1, size 0 only
 *     with the empty root) and formats back to the input's first three lines exactly, or to
 *     the whole input when it has no extension lines; the formatted text parses to the same
 *     checkpoint;
 *   - opening under a fixed log key returns only OK, FORMAT or SIGNATURE, and an opened
 *     checkpoint equals the parse of the note's text; re-signing that text with the log key
 *     opens again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/checkpoint.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char LOG_SKEY[] =
    "PRIVATE+KEY+treatylog.example/test-log+b32a3142+AWoaEIOzETe0K5xRhKH6PIW0nXMrPqdZj03y1FNVllt5";

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_text(const char *s, size_t len)
{
    tl_checkpoint cp;
    tl_err e = tl_checkpoint_parse(&cp, s, len, NULL);
    check(e == TL_OK || e == TL_ERR_FORMAT);
    if (e != TL_OK)
        return;
    check(cp.origin_len >= 1 && cp.origin_len <= TL_ORIGIN_MAX);
    check(strlen(cp.origin) == cp.origin_len);
    check(cp.size <= (uint64_t)INT64_MAX);
    if (cp.size == 0)
        check(memcmp(cp.root, TL_EMPTY_ROOT, TL_HASH_LEN) == 0);
    char out[TL_CHECKPOINT_TEXT_MAX];
    size_t n = tl_checkpoint_format(out, &cp);
    check(n < TL_CHECKPOINT_TEXT_MAX && out[n] == '\0');
    check(n <= len && memcmp(out, s, n) == 0);
    check((cp.ext_lines == 0) == (n == len));
    tl_checkpoint again;
    check(tl_checkpoint_parse(&again, out, n, NULL) == TL_OK);
    check(again.ext_lines == 0);
    again.ext_lines = cp.ext_lines;
    check(memcmp(&again, &cp, sizeof cp) == 0);
}

static void check_open(const char *s, size_t len, const tl_skey *logkey)
{
    tl_checkpoint cp;
    tl_note *n = malloc(sizeof *n);
    check(n != NULL);
    tl_err e = tl_checkpoint_open(&cp, n, s, len, &logkey->vkey, NULL);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_SIGNATURE);
    if (e == TL_OK) {
        tl_checkpoint direct;
        check(tl_checkpoint_parse(&direct, n->text, n->text_len, NULL) == TL_OK);
        check(memcmp(&direct, &cp, sizeof cp) == 0);
    } else {
        /* Whatever the note, its text may still be a checkpoint: re-sign and open it. */
        tl_note *m = malloc(sizeof *m);
        check(m != NULL);
        if (tl_note_parse(m, s, len, NULL) == TL_OK &&
            tl_checkpoint_parse(&cp, m->text, m->text_len, NULL) == TL_OK) {
            char *signed_note = NULL;
            size_t slen = 0;
            e = tl_note_sign(&signed_note, &slen, m->text, m->text_len, logkey, NULL);
            check(e == TL_OK || e == TL_ERR_TOOBIG);
            if (e == TL_OK) {
                tl_checkpoint back;
                check(tl_checkpoint_open(&back, NULL, signed_note, slen, &logkey->vkey, NULL) ==
                      TL_OK);
                check(memcmp(&back, &cp, sizeof cp) == 0);
                free(signed_note);
            }
        }
        free(m);
    }
    free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    tl_skey logkey;
    check(tl_skey_parse(&logkey, LOG_SKEY, sizeof LOG_SKEY - 1, NULL) == TL_OK);
    /* Exactly-sized copy so ASan sees any over-read. */
    char *s = malloc(size ? size : 1);
    check(s != NULL);
    if (size)
        memcpy(s, data, size);
    check_text(s, size);
    check_open(s, size, &logkey);
    free(s);
    tl_skey_wipe(&logkey);
    return 0;
}
