/* fuzz_tlogproof.c - libFuzzer target for the tlog-proof parser, formatter and verifier
 * (tlogproof.c).
 *
 * Properties (a violation traps):
 *   - parsing returns OK or FORMAT; a parsed proof has at most 63 hashes, an index up to
 *     2^63-1 and a non-empty note that ends the input;
 *   - formatting the parsed fields (extra decoded from its base64) gives the input back byte
 *     for byte, and parsing that gives the same fields;
 *   - verifying against the §6.4 policy returns OK, FORMAT, SIGNATURE, QUORUM or PROOF only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/policy.h"
#include "treatylog/text.h"
#include "treatylog/tlogproof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char POLICY[] =
    "log treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0\n"
    "witness W1 "
    "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o\n"
    "quorum W1\n";

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_same(const tl_tlog_proof *a, const tl_tlog_proof *b)
{
    check(a->index == b->index && a->nproof == b->nproof);
    check(a->nproof == 0 || memcmp(a->proof, b->proof, a->nproof * TL_HASH_LEN) == 0);
    check((a->extra_b64 == NULL) == (b->extra_b64 == NULL));
    check(a->extra_b64_len == b->extra_b64_len);
    check(!a->extra_b64 || memcmp(a->extra_b64, b->extra_b64, a->extra_b64_len) == 0);
    check(a->note_len == b->note_len && memcmp(a->note, b->note, a->note_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    /* Exactly-sized copy so ASan sees any over-read. */
    char *s = malloc(size ? size : 1);
    check(s != NULL);
    if (size)
        memcpy(s, data, size);
    tl_tlog_proof *p = malloc(sizeof *p);
    tl_tlog_proof *q = malloc(sizeof *q);
    check(p && q);
    tl_err e = tl_tlog_proof_parse(p, s, size, NULL);
    check(e == TL_OK || e == TL_ERR_FORMAT);
    if (e == TL_OK) {
        check(p->nproof <= TL_TLOG_PROOF_LINES_MAX && p->index <= (uint64_t)INT64_MAX);
        check(p->note_len > 0 && p->note + p->note_len == s + size);
        uint8_t *extra = NULL;
        size_t extra_len = 0;
        if (p->extra_b64) {
            extra = malloc(p->extra_b64_len);
            check(extra != NULL);
            check(tl_b64_decode(extra, p->extra_b64_len, &extra_len, p->extra_b64,
                                p->extra_b64_len) == TL_OK);
            check(extra_len > 0);
        }
        char *out = NULL;
        size_t outlen = 0;
        check(tl_tlog_proof_format(&out, &outlen, p->index,
                                   (const uint8_t(*)[TL_HASH_LEN])p->proof, p->nproof, extra,
                                   extra_len, p->note, p->note_len, NULL) == TL_OK);
        check(outlen == size && memcmp(out, s, size) == 0 && out[outlen] == '\0');
        check(tl_tlog_proof_parse(q, out, outlen, NULL) == TL_OK);
        /* q points into out, p into s: compare contents */
        check_same(p, q);

        tl_policy *pol = tl_policy_new();
        check(pol != NULL);
        check(tl_policy_parse(pol, POLICY, sizeof POLICY - 1, NULL) == TL_OK);
        uint8_t leaf[TL_HASH_LEN];
        tl_leaf_hash(leaf, "record 123", 10);
        tl_checkpoint cp;
        e = tl_tlog_proof_verify(p, leaf, pol, &cp, NULL);
        check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_SIGNATURE || e == TL_ERR_QUORUM ||
              e == TL_ERR_PROOF);
        if (e == TL_OK)
            check(p->index < cp.size);
        free(pol);
        free(out);
        free(extra);
    }
    free(p);
    free(q);
    free(s);
    return 0;
}
