/* fuzz_evidence.c - libFuzzer target for evidence files (evidence.c, follow.c and the rules
 * engine behind them), as `treatylog verify-evidence` reads them from anyone.
 *
 * Input: a witness policy, a line "--", then the evidence file (so a seed from a demo run
 * carries the keys its checkpoints are signed with). The ruleset is the shipped
 * rules/vd11.rules, the schemas the shipped schemas/ ($TL_SOURCE overrides the tree).
 *
 * Properties (a violation traps): verifying returns OK or one of FORMAT, SIGNATURE, QUORUM,
 * PROOF, CONFLICT, RANGE, TOOBIG, USAGE (never IO or INTERNAL), with a message on error; on OK
 * the re-derived finding is a JSON line whose id is the file's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treatylog/evidence.h"
#include "treatylog/hash.h"
#include "treatylog/policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tl_schemas *schemas;
static char *rules;
static size_t rules_len;

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    check(tl_init() == TL_OK);
    char root[4096], path[4200];
    const char *env = getenv("TL_SOURCE");
    if (env && env[0]) {
        snprintf(root, sizeof root, "%s/", env);
    } else {
        const char *f = __FILE__;
        const char *cut = strstr(f, "fuzz/fuzz_evidence.c");
        snprintf(root, sizeof root, "%.*s", (int)(cut ? cut - f : 0), f);
    }
    snprintf(path, sizeof path, "%sschemas", root);
    tl_diag d = {{0}};
    if (tl_schemas_load(&schemas, path, &d) != TL_OK) {
        fprintf(stderr, "fuzz_evidence: %s: %s\n", path, d.msg);
        abort();
    }
    snprintf(path, sizeof path, "%srules/vd11.rules", root);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_evidence: cannot read %s\n", path);
        abort();
    }
    rules = malloc(1u << 20);
    check(rules != NULL);
    rules_len = fread(rules, 1, 1u << 20, f);
    fclose(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *sep = NULL;
    for (size_t i = 0; i + 4 <= size && !sep; i++)
        if (memcmp(in + i, "\n--\n", 4) == 0)
            sep = in + i;
    if (!sep)
        return 0;
    tl_policy *p = tl_policy_new();
    check(p != NULL);
    tl_diag d = {{0}};
    if (tl_policy_parse(p, in, (size_t)(sep - in) + 1, &d) != TL_OK || p->nlogs == 0) {
        free(p);
        return 0;
    }
    const char *ev = sep + 4;
    size_t evlen = size - (size_t)(ev - in);
    char *finding = NULL;
    tl_err e = tl_evidence_verify(ev, evlen, p, rules, rules_len, schemas, &finding, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_SIGNATURE || e == TL_ERR_QUORUM ||
          e == TL_ERR_PROOF || e == TL_ERR_CONFLICT || e == TL_ERR_RANGE ||
          e == TL_ERR_TOOBIG || e == TL_ERR_USAGE || e == TL_ERR_NOMEM);
    if (e != TL_OK) {
        check(d.msg[0] != '\0');
    } else {
        check(finding != NULL);
        json_t *j = json_loads(finding, 0, NULL);
        check(j != NULL && json_is_string(json_object_get(j, "id")));
        json_decref(j);
    }
    free(finding);
    free(p);
    return 0;
}
