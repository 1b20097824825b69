/* fuzz_witness_req.c - libFuzzer target for the add-checkpoint request parser and decisions
 * (core/witness.c).
 *
 * Properties (a violation traps):
 *   - parsing returns OK, FORMAT or TOOBIG; a parsed request has at most 63 proof hashes, a
 *     note that ends the input, no extension lines, and (unless it is the size-0 case of row
 *     5) a checkpoint text that re-encodes to itself;
 *   - deciding against the test-vectors §6.1 log, from the never-cosigned state and from
 *     (256, root256), answers only 200, 400, 403, 404, 409, 413 or 422, never 500;
 *   - 409 carries text/x.tlog.size and the stored size; 200 carries one cosignature line that
 *     verifies under the witness key over the submitted checkpoint, a new state no smaller
 *     than the stored one, and a record that reads back to that state.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/text.h"
#include "treatylog/witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOG_VKEY "treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0"
#define W_SKEY                                                                                     \
    "PRIVATE+KEY+treatylog.example/test-witness+6a9442cd+BMkdeZbK33ahbRpzsUlwRT0aLejTSOol1dEoHdKD" \
    "br9e"
#define ROOT256 "3JNJ+Xh+0Ahtptl/Z5xRpRmPmORW6Vsdh/o6vAEv7DE="

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static tl_witness_logs *logs;
static tl_skey wkey;

static void init_once(void)
{
    if (logs)
        return;
    check(tl_init() == TL_OK);
    tl_vkey lv;
    check(tl_vkey_parse(&lv, LOG_VKEY, sizeof LOG_VKEY - 1, NULL) == TL_OK);
    check(tl_skey_parse(&wkey, W_SKEY, sizeof W_SKEY - 1, NULL) == TL_OK);
    logs = tl_witness_logs_new();
    check(logs != NULL);
    check(tl_witness_logs_add(logs, "treatylog.example/test-log", 26, &lv, NULL) == TL_OK);
}

static void decide(const char *s, size_t size, const tl_witness_state *st, tl_witness_req *req)
{
    tl_witness_resp resp;
    tl_witness_add_checkpoint(&resp, req, logs, st, 1767139200, &wkey, s, size);
    unsigned c = resp.status;
    check(c == 200 || c == 400 || c == 403 || c == 404 || c == 409 || c == 413 || c == 422);
    check(resp.body_len == strlen(resp.body));
    if (c == 409) {
        char want[24];
        size_t n = tl_format_u64(want, st->size);
        want[n++] = '\n';
        check(resp.body_len == n && memcmp(resp.body, want, n) == 0);
        check(strcmp(resp.content_type, TL_WITNESS_CTYPE_SIZE) == 0);
    }
    if (c != 200) {
        check(resp.record == NULL);
        return;
    }
    check(resp.new_state.size >= st->size);
    /* The cosignature verifies over the submitted text. */
    char *note = malloc(req->parsed.text_len + 1 + resp.body_len);
    check(note != NULL);
    memcpy(note, req->parsed.text, req->parsed.text_len);
    note[req->parsed.text_len] = '\n';
    memcpy(note + req->parsed.text_len + 1, resp.body, resp.body_len);
    tl_note *n = malloc(sizeof *n);
    check(n != NULL);
    check(tl_note_parse(n, note, req->parsed.text_len + 1 + resp.body_len, NULL) == TL_OK);
    check(tl_note_verify(n, &wkey.vkey, 1, NULL, NULL) == TL_OK);
    free(n);
    free(note);
    /* The record reads back to the new state. */
    tl_witness_state back;
    tl_checkpoint cp;
    check(tl_witness_record_parse(&back, &cp, resp.record, resp.record_len, &wkey.vkey, NULL) ==
          TL_OK);
    check(back.size == resp.new_state.size &&
          memcmp(back.root, resp.new_state.root, TL_HASH_LEN) == 0);
    tl_witness_resp_clear(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    /* Exactly-sized copy so ASan sees any over-read. */
    char *s = malloc(size ? size : 1);
    check(s != NULL);
    if (size)
        memcpy(s, data, size);
    tl_witness_req *req = malloc(sizeof *req);
    check(req != NULL);
    tl_err e = tl_witness_req_parse(req, s, size, NULL);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    if (e == TL_OK) {
        check(req->nproof <= TL_WITNESS_PROOF_MAX);
        check(req->note > s && req->note + req->note_len == s + size);
        check(req->cp.ext_lines == 0);
        if (!req->empty_root_mismatch) {
            char text[TL_CHECKPOINT_TEXT_MAX];
            size_t n = tl_checkpoint_format(text, &req->cp);
            check(n == req->parsed.text_len && memcmp(text, req->parsed.text, n) == 0);
        } else {
            check(req->cp.size == 0 && memcmp(req->cp.root, TL_EMPTY_ROOT, TL_HASH_LEN) != 0);
        }
    }
    tl_witness_state st;
    tl_witness_state_init(&st);
    decide(s, size, &st, req);
    size_t got = 0;
    st.size = 256;
    check(tl_b64_decode(st.root, TL_HASH_LEN, &got, ROOT256, sizeof ROOT256 - 1) == TL_OK);
    decide(s, size, &st, req);
    free(req);
    free(s);
    return 0;
}
