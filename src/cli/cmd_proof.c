/* cmd_proof.c - treatylog prove (C2SP tlog-proof files and RFC 6962 consistency proofs,
 * generated from the tiles) and treatylog verify-proof (offline check of a tlog-proof). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "treatylog/log.h"
#include "treatylog/receipt.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"
#include "treatylog/tlogproof.h"

/* The checkpoint of size `size` (the current one, or checkpoints/<size>), verified. */
static tl_err checkpoint_at(tl_store *st, const tl_vkey *k, bool have_size, uint64_t size,
                            tl_checkpoint *cp, char **note, size_t *nlen, tl_diag *d)
{
    tl_err e = tl_read_checkpoint(st, k, cp, note, nlen, d);
    if (e != TL_OK || !have_size || size == cp->size)
        return e;
    char origin[TL_ORIGIN_MAX + 1];
    memcpy(origin, cp->origin, cp->origin_len + 1);
    uint64_t latest = cp->size;
    free(*note);
    *note = NULL;
    if (size > latest)
        return tl_fail(d, TL_ERR_RANGE, "--size %llu is larger than the log (size %llu)",
                       (unsigned long long)size, (unsigned long long)latest);
    char path[64];
    snprintf(path, sizeof path, "checkpoints/%llu", (unsigned long long)size);
    uint8_t *buf = NULL;
    size_t len = 0;
    e = st->ops->read(st, path, &buf, &len, d);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, e, "the log published no checkpoint of size %llu (%s is missing)",
                       (unsigned long long)size, path);
    if (e != TL_OK)
        return e;
    e = tl_checkpoint_open(cp, NULL, (const char *)buf, len, k, d);
    if (e == TL_OK && (cp->size != size || strcmp(cp->origin, origin) != 0))
        e = tl_fail(d, TL_ERR_PROOF, "%s is not a checkpoint of size %llu of this log", path,
                    (unsigned long long)size);
    if (e != TL_OK) {
        free(buf);
        return tl_diag_prefix(d, e, "%s", path);
    }
    char *s = realloc(buf, len + 1);
    if (!s) {
        free(buf);
        return tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
    }
    s[len] = '\0';
    *note = s;
    *nlen = len;
    return TL_OK;
}

int cmd_prove(int argc, char **argv)
{
    const char *index_s = NULL, *old_s = NULL, *size_s = NULL, *vkey_arg = NULL;
    const cli_opt opts[] = {{"index", &index_s, NULL},
                            {"old", &old_s, NULL},
                            {"size", &size_s, NULL},
                            {"vkey", &vkey_arg, NULL}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("prove", argc, argv, opts, 4, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || (!index_s) == (!old_s))
        return cli_usage("prove", "usage: treatylog prove DIR|URL (--index N | --old M) "
                                  "[--size S] [--vkey VKEY]");
    tl_diag d = {{0}};
    uint64_t index = 0, old = 0, size = 0;
    tl_err e = TL_OK;
    if (index_s)
        e = cli_parse_u64(index_s, &index, &d);
    if (e == TL_OK && old_s)
        e = cli_parse_u64(old_s, &old, &d);
    if (e == TL_OK && size_s)
        e = cli_parse_u64(size_s, &size, &d);
    if (e != TL_OK)
        return cli_fail("prove", e, &d);
    tl_store *st = NULL;
    e = tl_store_open_readonly(&st, pos[0], &d);
    if (e != TL_OK)
        return cli_fail("prove", e, &d);
    tl_vkey k;
    tl_checkpoint cp;
    char *note = NULL;
    size_t nlen = 0;
    tl_reader *r = NULL;
    e = cli_log_key(st, vkey_arg, &k, &d);
    if (e == TL_OK)
        e = checkpoint_at(st, &k, size_s != NULL, size, &cp, &note, &nlen, &d);
    if (e == TL_OK)
        e = tl_reader_new(&r, st, cp.size, &d);
    uint8_t root[TL_HASH_LEN];
    if (e == TL_OK)
        e = tl_reader_root(r, root, &d);
    if (e == TL_OK && memcmp(root, cp.root, TL_HASH_LEN) != 0)
        e = tl_fail(&d, TL_ERR_PROOF,
                    "the tiles do not match the checkpoint of size %llu: run 'treatylog audit'",
                    (unsigned long long)cp.size);
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    if (e == TL_OK && index_s) {
        if (index >= cp.size)
            e = tl_fail(&d, TL_ERR_RANGE, "--index %llu is not in a log of size %llu",
                        (unsigned long long)index, (unsigned long long)cp.size);
        if (e == TL_OK && tl_merkle_inclusion_proof(proof, &np, index, cp.size, tl_reader_hash,
                                                    r) != TL_OK)
            e = tl_fail(&d, TL_ERR_NOTFOUND, "%s", tl_reader_error(r));
        char *out = NULL;
        size_t olen = 0;
        if (e == TL_OK)
            e = tl_tlog_proof_format(&out, &olen, index, (const uint8_t(*)[TL_HASH_LEN])proof,
                                     np, NULL, 0, note, nlen, &d);
        if (e == TL_OK && !cli_write_stdout(out, olen))
            e = tl_fail(&d, TL_ERR_IO, "writing to stdout");
        free(out);
    } else if (e == TL_OK) {
        if (old > cp.size)
            e = tl_fail(&d, TL_ERR_RANGE, "--old %llu is larger than the log (size %llu)",
                        (unsigned long long)old, (unsigned long long)cp.size);
        if (e == TL_OK && tl_merkle_consistency_proof(proof, &np, old, cp.size, tl_reader_hash,
                                                      r) != TL_OK)
            e = tl_fail(&d, TL_ERR_NOTFOUND, "%s", tl_reader_error(r));
        for (size_t i = 0; i < np && e == TL_OK; i++) {
            char b64[64];
            size_t bl = tl_b64_encode(b64, proof[i], TL_HASH_LEN);
            b64[bl++] = '\n';
            if (!cli_write_stdout(b64, bl))
                e = tl_fail(&d, TL_ERR_IO, "writing to stdout");
        }
    }
    tl_reader_free(r);
    free(note);
    st->ops->close(st);
    return e == TL_OK ? 0 : cli_fail("prove", e, &d);
}

int cmd_verify_proof(int argc, char **argv)
{
    const char *vkey_arg = NULL, *policy_path = NULL;
    const cli_opt opts[] = {{"vkey", &vkey_arg, NULL}, {"policy", &policy_path, NULL}};
    const char *pos[2];
    size_t npos = 0;
    int rc = cli_parse("verify-proof", argc, argv, opts, 2, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos != 2 || (!vkey_arg && !policy_path))
        return cli_usage("verify-proof", "usage: treatylog verify-proof --vkey VKEY [--policy "
                                         "POLICY] PROOF ENTRY_FILE");
    tl_diag d = {{0}};
    tl_policy *policy = NULL;
    uint8_t *pbuf = NULL, *ebuf = NULL;
    size_t plen = 0, elen = 0;
    tl_err e = cli_load_policy(policy_path, vkey_arg, &policy, &d);
    if (e == TL_OK)
        e = cli_read_file(pos[0], 1 << 20, &pbuf, &plen, &d);
    if (e == TL_OK)
        e = cli_read_file(pos[1], TL_ENTRY_MAX, &ebuf, &elen, &d);
    tl_tlog_proof p;
    if (e == TL_OK) {
        e = tl_tlog_proof_parse(&p, (const char *)pbuf, plen, &d);
        if (e != TL_OK)
            e = tl_diag_prefix(&d, e, "%s", pos[0]);
    }
    tl_checkpoint cp;
    if (e == TL_OK) {
        uint8_t leaf[TL_HASH_LEN];
        tl_leaf_hash(leaf, ebuf, elen);
        e = tl_tlog_proof_verify(&p, leaf, policy, &cp, &d);
    }
    if (e == TL_OK)
        printf("OK: %s is entry %llu of %s (checkpoint size %llu)\n", pos[1],
               (unsigned long long)p.index, cp.origin, (unsigned long long)cp.size);
    free(pbuf);
    free(ebuf);
    free(policy);
    return e == TL_OK ? 0 : cli_fail("verify-proof", e, &d);
}

int cmd_verify_receipt(int argc, char **argv)
{
    const char *vkey_arg = NULL;
    const cli_opt opts[] = {{"vkey", &vkey_arg, NULL}};
    const char *pos[2];
    size_t npos = 0;
    int rc = cli_parse("verify-receipt", argc, argv, opts, 1, pos, 2, &npos);
    if (rc)
        return rc;
    if (npos != 2 || !vkey_arg)
        return cli_usage("verify-receipt",
                         "usage: treatylog verify-receipt --vkey VKEY RECEIPT ENTRY_FILE");
    tl_diag d = {{0}};
    tl_vkey k;
    uint8_t *rbuf = NULL, *ebuf = NULL;
    size_t rlen = 0, elen = 0;
    tl_err e = cli_load_vkey(vkey_arg, &k, &d);
    if (e == TL_OK)
        e = cli_read_file(pos[0], 1 << 20, &rbuf, &rlen, &d);
    if (e == TL_OK)
        e = cli_read_file(pos[1], TL_ENTRY_MAX, &ebuf, &elen, &d);
    tl_receipt r;
    if (e == TL_OK) {
        e = tl_receipt_parse(&r, (const char *)rbuf, rlen, &d);
        if (e != TL_OK)
            e = tl_diag_prefix(&d, e, "%s", pos[0]);
    }
    if (e == TL_OK) {
        uint8_t leaf[TL_HASH_LEN];
        tl_leaf_hash(leaf, ebuf, elen);
        e = tl_receipt_verify(&r, leaf, &k, &d);
    }
    if (e == TL_OK)
        printf("OK: %s was accepted by %s at %llu ms (Unix time), durable, to be integrated "
               "by %llu ms (entry %llu of a batch of %llu)\n",
               pos[1], r.origin, (unsigned long long)r.accepted_ms,
               (unsigned long long)r.promise_ms, (unsigned long long)r.position,
               (unsigned long long)r.count);
    free(rbuf);
    free(ebuf);
    return e == TL_OK ? 0 : cli_fail("verify-receipt", e, &d);
}
