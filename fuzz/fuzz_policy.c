/* fuzz_policy.c - libFuzzer target for the tlog-policy parser and quorum evaluation
 * (policy.c).
 *
 * Properties (a violation traps):
 *   - parsing returns OK or FORMAT, and a failed parse leaves the policy zeroed;
 *   - a parsed policy is well-formed: counts within the limits, 1 <= k <= n for every group,
 *     members and the quorum refer only to earlier definitions, no member twice, names
 *     NUL-free and unique, log keys 0x01 and witness keys 0x04;
 *   - checking a fixed cosigned checkpoint against it returns OK, SIGNATURE or QUORUM only,
 *     and OK means a listed log named after the origin is present.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* test-vectors.md §6.3: CP300 with the log signature and the witness cosignature. */
static const char NOTE[] =
    "treatylog.example/test-log\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n\n"
    "\xe2\x80\x94 treatylog.example/test-log syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW4eo0"
    "BwNMkvknZkWkymvouUAlsrWblus4pRTP+gTkA4=\n"
    "\xe2\x80\x94 treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087aq"
    "/VPyuKeK+BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n";

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

/* A zeroed policy to compare against (memcmp: the per-byte loop is slow under coverage). */
static const tl_policy ZERO;

static void check_wellformed(const tl_policy *p)
{
    check(p->nlogs <= TL_POLICY_LOGS_MAX && p->nwitnesses <= TL_POLICY_WITNESSES_MAX &&
          p->ngroups <= TL_POLICY_GROUPS_MAX);
    for (size_t i = 0; i < p->nlogs; i++)
        check(p->logs[i].key.type == TL_KEY_ED25519);
    for (size_t i = 0; i < p->nwitnesses; i++) {
        check(p->witnesses[i].key.type == TL_KEY_COSIG_V1);
        size_t n = strlen(p->witnesses[i].name);
        check(n >= 1 && n <= TL_POLICY_NAME_MAX && strcmp(p->witnesses[i].name, "none") != 0);
        for (size_t j = 0; j < i; j++)
            check(strcmp(p->witnesses[i].name, p->witnesses[j].name) != 0);
    }
    for (size_t g = 0; g < p->ngroups; g++) {
        const tl_policy_group *grp = &p->groups[g];
        size_t n = strlen(grp->name);
        check(n >= 1 && n <= TL_POLICY_NAME_MAX && strcmp(grp->name, "none") != 0);
        for (size_t i = 0; i < p->nwitnesses; i++)
            check(strcmp(grp->name, p->witnesses[i].name) != 0);
        for (size_t j = 0; j < g; j++)
            check(strcmp(grp->name, p->groups[j].name) != 0);
        check(grp->nmembers >= 1 && grp->k >= 1 && grp->k <= grp->nmembers);
        for (unsigned i = 0; i < grp->nmembers; i++) {
            int m = grp->members[i];
            check(m < 0 ? (size_t)(-1 - (long)m) < p->nwitnesses : (size_t)m < g);
            for (unsigned j = 0; j < i; j++)
                check(grp->members[j] != m);
        }
    }
    if (!p->quorum_none) {
        int q = p->quorum;
        check(q < 0 ? (size_t)(-1 - (long)q) < p->nwitnesses : (size_t)q < p->ngroups);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    if (size > TL_POLICY_TEXT_MAX + 1)
        return 0;
    /* Exactly-sized copy so ASan sees any over-read. */
    char *s = malloc(size ? size : 1);
    check(s != NULL);
    if (size)
        memcpy(s, data, size);
    tl_policy *p = tl_policy_new();
    check(p != NULL);
    tl_diag d;
    tl_err e = tl_policy_parse(p, s, size, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT);
    if (e != TL_OK) {
        check(memcmp(p, &ZERO, sizeof *p) == 0);
    } else {
        check_wellformed(p);
        tl_checkpoint cp;
        uint64_t times[TL_POLICY_WITNESSES_MAX];
        e = tl_policy_check(p, NOTE, sizeof NOTE - 1, &cp, times, &d);
        check(e == TL_OK || e == TL_ERR_SIGNATURE || e == TL_ERR_QUORUM);
        if (e == TL_OK) {
            check(cp.size == 300);
            int named = 0;
            for (size_t i = 0; i < p->nlogs; i++)
                named |= strcmp(p->logs[i].key.name, "treatylog.example/test-log") == 0;
            check(named);
        }
    }
    free(p);
    free(s);
    return 0;
}
