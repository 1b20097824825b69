/* cmd_audit.c - treatylog audit: recompute a whole log from its entries (a directory or an
 * HTTP prefix) and check it against its signed checkpoint and, optionally, an older one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "treatylog/log.h"

int cmd_audit(int argc, char **argv)
{
    const char *vkey_arg = NULL, *old_path = NULL, *policy_path = NULL;
    const cli_opt opts[] = {{"vkey", &vkey_arg, NULL},
                            {"from-checkpoint", &old_path, NULL},
                            {"policy", &policy_path, NULL}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("audit", argc, argv, opts, 3, pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || (!vkey_arg && !policy_path))
        return cli_usage("audit", "usage: treatylog audit DIR|URL --vkey VKEY "
                                  "[--from-checkpoint OLD] [--policy POLICY]");
    tl_diag d = {{0}};
    tl_policy *policy = NULL;
    tl_err e = cli_load_policy(policy_path, vkey_arg, &policy, &d);
    if (e != TL_OK)
        return cli_fail("audit", e, &d);
    tl_store *st = NULL;
    e = tl_store_open_readonly(&st, pos[0], &d);
    if (e != TL_OK) {
        free(policy);
        return cli_fail("audit", e, &d);
    }
    uint8_t *buf = NULL, *obuf = NULL;
    size_t len = 0, olen = 0;
    tl_checkpoint cp, old;
    e = st->ops->read(st, "checkpoint", &buf, &len, &d);
    if (e == TL_OK) {
        e = tl_policy_check(policy, (const char *)buf, len, &cp, NULL, &d);
        if (e != TL_OK)
            e = tl_diag_prefix(&d, e, "checkpoint");
    }
    if (e == TL_OK && old_path) {
        e = cli_read_file(old_path, 1 << 20, &obuf, &olen, &d);
        if (e == TL_OK) {
            /* The older checkpoint needs the log signature; witnesses may have moved on. */
            tl_policy *lp = tl_policy_new();
            if (!lp) {
                e = tl_fail(&d, TL_ERR_NOMEM, "policy");
            } else {
                memcpy(lp, policy, sizeof *lp);
                lp->quorum_none = true;
                e = tl_policy_check(lp, (const char *)obuf, olen, &old, NULL, &d);
                free(lp);
            }
            if (e != TL_OK)
                e = tl_diag_prefix(&d, e, "%s", old_path);
        }
        if (e == TL_OK && strcmp(old.origin, cp.origin) != 0)
            e = tl_fail(&d, TL_ERR_PROOF, "%s is for origin %s, the log is %s", old_path,
                        old.origin, cp.origin);
    }
    tl_audit_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (e == TL_OK) {
        /* Archived checkpoints are signed by one of the policy's logs: the first that signed
         * the current checkpoint is the one we use. */
        const tl_vkey *k = NULL;
        tl_note note;
        if (tl_note_parse(&note, (const char *)buf, len, NULL) == TL_OK) {
            for (size_t i = 0; i < policy->nlogs && !k; i++) {
                if (tl_note_verify(&note, &policy->logs[i].key, 1, NULL, NULL) == TL_OK)
                    k = &policy->logs[i].key;
            }
        }
        if (!k)
            e = tl_fail(&d, TL_ERR_INTERNAL, "no log key verified the checkpoint");
        else
            e = tl_audit(st, k, &cp, old_path ? &old : NULL, &res, &d);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(buf);
    free(obuf);
    free(policy);
    st->ops->close(st);
    if (e != TL_OK)
        return cli_fail("audit", e, &d);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("OK: %s size %llu: %llu entries, %llu hash tiles and %llu entry bundles match the "
           "checkpoint%s (%.2f s)\n",
           cp.origin, (unsigned long long)cp.size, (unsigned long long)res.entries,
           (unsigned long long)res.tiles, (unsigned long long)res.bundles,
           old_path ? " and the older checkpoint is a prefix" : "", secs);
    return 0;
}
