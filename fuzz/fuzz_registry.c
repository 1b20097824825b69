/* fuzz_registry.c - libFuzzer target for registry documents (registry.c): the strict parser,
 * apply on a fresh registry with a fixed operator key, and the canonical form.
 *
 * The input is read both as a signed note (applied as is: it only passes if it carries the
 * fixed operator key's signature, as the seed corpus's signed genesis does) and as a registry
 * text, which the target signs with the operator key itself so that apply is reached.
 *
 * Properties (a violation traps):
 *   - tl_registry_check_text returns only OK, FORMAT or TOOBIG, and error messages are one
 *     printable line;
 *   - on a fresh registry, a failed apply leaves it fresh; a text check_text accepts, signed
 *     by the operator, fails only as a CONFLICT (not a genesis); a successful apply came from
 *     a text check_text accepts, and leaves a genesis state whose parties have valid, unique codes,
 *     1..4 type-0x01 keys named by their code, valid roles, a witness policy, index 0, and
 *     rulesets whose logged text (if any) hashes to their sha256;
 *   - applying the same signed text again at a later index is a CONFLICT and changes nothing;
 *   - tl_registry_from_json returns OK, FORMAT or TOOBIG; what it returns passes check_text
 *     and is a fixed point (canonical of canonical is itself).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/policy.h"
#include "treatylog/registry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OPERATOR "treatylog.example/fuzz-operator"

/* Made once by LLVMFuzzerInitialize (seed 32 x 0x01), read-only afterwards. */
static tl_skey op;

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
    uint8_t seed[TL_SEED_LEN];
    memset(seed, 1, sizeof seed);
    check(tl_skey_from_seed(&op, FUZZ_OPERATOR, strlen(FUZZ_OPERATOR), TL_KEY_ED25519, seed,
                            NULL) == TL_OK);
    return 0;
}

static void check_diag(const tl_diag *d)
{
    size_t n = strnlen(d->msg, sizeof d->msg);
    check(n > 0 && n < sizeof d->msg);
    for (size_t i = 0; i < n; i++)
        check((unsigned char)d->msg[i] >= 0x20 && d->msg[i] != 0x7f);
}

static void check_fresh(const tl_registry *r)
{
    check(!r->genesis && r->index == 0 && r->nparties == 0 && r->nrulesets == 0 &&
          r->witness_policy == NULL);
}

static void check_state(const tl_registry *r)
{
    check(r->genesis && r->index == 0);
    check(r->nparties >= 1 && r->nparties <= TL_REGISTRY_PARTIES_MAX);
    check(r->nrulesets <= TL_REGISTRY_RULESETS_MAX);
    for (size_t i = 0; i < r->nrulesets; i++) { /* a logged text is the one named by hash */
        const tl_registry_ruleset *rs = &r->rulesets[i];
        if (rs->text) {
            uint8_t h[TL_HASH_LEN];
            tl_sha256(h, rs->text, rs->text_len);
            check(rs->text_len > 0 && rs->text[rs->text_len] == '\0' &&
                  memcmp(h, rs->sha256, TL_HASH_LEN) == 0);
        }
    }
    for (size_t i = 0; i < r->nparties; i++) {
        const tl_party *p = &r->parties[i];
        check(tl_value_party(p->code, strlen(p->code)));
        check(tl_registry_party(r, p->code) == p);
        check(p->since == 0);
        size_t nn = strlen(p->name);
        check(nn >= 1 && nn <= TL_REGISTRY_NAME_MAX);
        check(p->nkeys >= 1 && p->nkeys <= TL_REGISTRY_KEYS_MAX);
        for (size_t k = 0; k < p->nkeys; k++) {
            check(p->keys[k].type == TL_KEY_ED25519);
            check(p->keys[k].name_len == TL_PARTY_LEN &&
                  memcmp(p->keys[k].name, p->code, TL_PARTY_LEN) == 0);
        }
        check(p->nroles <= TL_REGISTRY_ROLES_MAX);
        for (size_t k = 0; k < p->nroles; k++) {
            size_t rl = strlen(p->roles[k]);
            check(rl >= 1 && rl <= TL_REGISTRY_ROLE_MAX);
            check(tl_registry_has_role(r, p->code, p->roles[k]));
        }
    }
    check(r->witness_policy != NULL && strlen(r->witness_policy) == r->witness_policy_len);
    tl_policy *pol = tl_policy_new();
    check(pol != NULL);
    check(tl_policy_parse(pol, r->witness_policy, r->witness_policy_len, NULL) == TL_OK);
    free(pol);
}

/* Applies note on a fresh registry; checks the properties; returns the result. */
static tl_err apply_fresh(const char *note, size_t len, bool signed_by_us, tl_err text_result)
{
    tl_registry *r = tl_registry_new();
    check(r != NULL);
    tl_diag d = {{0}};
    tl_err e = tl_registry_apply(r, note, len, &op.vkey, 0, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG || e == TL_ERR_SIGNATURE ||
          e == TL_ERR_CONFLICT);
    if (e != TL_OK) {
        check_diag(&d);
        check_fresh(r);
        /* A text we signed fails as the text check failed, or for the action (conflict). */
        if (signed_by_us && text_result == TL_OK)
            check(e == TL_ERR_CONFLICT || (e == TL_ERR_TOOBIG && len > TL_NOTE_MAX));
        else if (signed_by_us)
            check(e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    } else {
        if (signed_by_us)
            check(text_result == TL_OK);
        check_state(r);
        size_t n = r->nparties;
        e = tl_registry_apply(r, note, len, &op.vkey, 1, &d);
        check(e == TL_ERR_CONFLICT);
        check(r->nparties == n && r->index == 0);
        check_state(r);
        e = TL_OK;
    }
    tl_registry_free(r);
    return e;
}

static void check_canonical(const char *buf, size_t size)
{
    char *c1 = NULL, *c2 = NULL;
    size_t l1 = 0, l2 = 0;
    tl_diag d = {{0}};
    tl_err e = tl_registry_from_json(&c1, &l1, buf, size, false, &d);
    check(e == TL_OK || e == TL_ERR_FORMAT || e == TL_ERR_TOOBIG);
    if (e != TL_OK) {
        check(c1 == NULL);
        check_diag(&d);
        return;
    }
    check(tl_registry_check_text(c1, l1, &d) == TL_OK);
    check(tl_registry_from_json(&c2, &l2, c1 + TL_REGISTRY_HEADER_LEN,
                                l1 - TL_REGISTRY_HEADER_LEN - 1, false, &d) == TL_OK);
    check(l1 == l2 && memcmp(c1, c2, l1) == 0);
    free(c1);
    free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly-sized copy so ASan catches any read past the end. */
    char *buf = malloc(size ? size : 1);
    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);

    tl_diag d = {{0}};
    tl_err te = tl_registry_check_text(buf, size, &d);
    check(te == TL_OK || te == TL_ERR_FORMAT || te == TL_ERR_TOOBIG);
    check(te != TL_ERR_TOOBIG || size > TL_REGISTRY_MAX);
    if (te != TL_OK)
        check_diag(&d);

    /* The input as a signed note. */
    (void)apply_fresh(buf, size, false, TL_OK);

    /* The input as a text, signed here (tl_note_sign refuses what is not note text). */
    char *note = NULL;
    size_t nlen = 0;
    if (size <= TL_REGISTRY_MAX && tl_note_sign(&note, &nlen, buf, size, &op, &d) == TL_OK) {
        (void)apply_fresh(note, nlen, true, te);
        free(note);
    }

    check_canonical(buf, size);
    free(buf);
    return 0;
}
