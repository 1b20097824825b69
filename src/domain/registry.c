/* registry.c - the party registry (DESIGN §3): treatylog/registry/v1 documents, strictly
 * parsed, and the state they build when applied in log order. Pure: no I/O.
 *
 *   OFFSET  SIZE  CONTENT
 *   0       22    "treatylog/registry/v1\n"
 *   22      n     one JSON object, '{' .. '}', no control character, valid UTF-8
 *   22+n    1     "\n" (end of the text; in a signed note the signature block follows)
 *
 * Applying is copy-on-write: the document is checked against a scratch copy of the state, and
 * the copy replaces the state only once every check has passed, so a failed apply changes
 * nothing.
 */
#include "treatylog/registry.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treatylog/hash.h"
#include "treatylog/note.h"
#include "treatylog/policy.h"
#include "treatylog/schema.h"

typedef enum action { ACT_GENESIS, ACT_ADD, ACT_REMOVE, ACT_ROTATE } action;

static const char *const action_names[] = {"genesis", "add", "remove", "rotate"};

/* A decoded document. Strings are copied out of the JSON but for policy and the rulesets'
 * texts, which are borrowed from the json_t it was decoded from. */
typedef struct regdoc {
    action act;
    size_t nparties;
    tl_party parties[TL_REGISTRY_PARTIES_MAX];
    const char *policy; /* NULL if absent */
    size_t policy_len;
    bool has_rulesets;
    size_t nrulesets;
    tl_registry_ruleset rulesets[TL_REGISTRY_RULESETS_MAX];
} regdoc;

tl_registry *tl_registry_new(void)
{
    return calloc(1, sizeof(tl_registry));
}

static void free_texts(tl_registry_ruleset *rs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rs[i].text);
        rs[i].text = NULL;
    }
}

void tl_registry_free(tl_registry *r)
{
    if (!r)
        return;
    free(r->witness_policy);
    free_texts(r->rulesets, r->nrulesets);
    free(r);
}

static char *dup_text(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

tl_registry *tl_registry_clone(const tl_registry *r)
{
    tl_registry *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    memcpy(c, r, sizeof *c);
    c->witness_policy = NULL;
    for (size_t i = 0; i < c->nrulesets; i++)
        c->rulesets[i].text = NULL;
    bool ok = true;
    if (r->witness_policy) {
        c->witness_policy = dup_text(r->witness_policy, r->witness_policy_len);
        ok = c->witness_policy != NULL;
    }
    for (size_t i = 0; ok && i < r->nrulesets; i++) {
        if (r->rulesets[i].text) {
            c->rulesets[i].text = dup_text(r->rulesets[i].text, r->rulesets[i].text_len);
            ok = c->rulesets[i].text != NULL;
        }
    }
    if (!ok) {
        tl_registry_free(c);
        return NULL;
    }
    return c;
}

/* ---------------------------------------------------------------------------------------
 * Decoding one document (no state).
 */

static bool role_ok(const char *s, size_t len)
{
    if (len < 1 || len > TL_REGISTRY_ROLE_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool ruleset_name_ok(const char *s, size_t len)
{
    if (len < 1 || len > TL_REGISTRY_RULESET_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 64 lower-case hex digits. */
static bool sha256_hex(uint8_t out[static TL_HASH_LEN], const char *s, size_t len)
{
    if (len != 2 * TL_HASH_LEN)
        return false;
    for (size_t i = 0; i < TL_HASH_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool field_allowed(action act, const char *key)
{
    if (strcmp(key, "code") == 0)
        return true;
    if (strcmp(key, "keys") == 0)
        return act != ACT_REMOVE;
    if (strcmp(key, "name") == 0 || strcmp(key, "roles") == 0)
        return act == ACT_GENESIS || act == ACT_ADD;
    return false;
}

static tl_err decode_keys(tl_party *p, size_t i, const json_t *keys, tl_diag *d)
{
    size_t n = json_array_size(keys);
    if (!json_is_array(keys) || n < 1 || n > TL_REGISTRY_KEYS_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].keys: must be an array of 1 to %d keys", i,
                       TL_REGISTRY_KEYS_MAX);
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(keys, k);
        if (!json_is_string(v))
            return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].keys[%zu]: must be a string", i, k);
        tl_vkey key;
        tl_err e = tl_vkey_parse(&key, json_string_value(v), json_string_length(v), d);
        if (e != TL_OK)
            return tl_diag_prefix(d, TL_ERR_FORMAT, "parties[%zu].keys[%zu]", i, k);
        if (key.type != TL_KEY_ED25519)
            return tl_fail(d, TL_ERR_FORMAT,
                           "parties[%zu].keys[%zu]: must be an Ed25519 key (type 0x01)", i, k);
        if (key.name_len != TL_PARTY_LEN || memcmp(key.name, p->code, TL_PARTY_LEN) != 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "parties[%zu].keys[%zu]: key name \"%.64s\" is not the party code %s", i,
                           k, key.name, p->code);
        for (size_t j = 0; j < k; j++)
            if (memcmp(p->keys[j].pub, key.pub, TL_PUBKEY_LEN) == 0 || p->keys[j].id == key.id)
                return tl_fail(d, TL_ERR_FORMAT,
                               "parties[%zu].keys[%zu]: same key (or key id) as keys[%zu]", i, k,
                               j);
        p->keys[k] = key;
    }
    p->nkeys = n;
    return TL_OK;
}

static tl_err decode_roles(tl_party *p, size_t i, const json_t *roles, tl_diag *d)
{
    size_t n = json_array_size(roles);
    if (!json_is_array(roles) || n > TL_REGISTRY_ROLES_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].roles: must be an array of at most %d roles",
                       i, TL_REGISTRY_ROLES_MAX);
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(roles, k);
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (!s || !role_ok(s, len))
            return tl_fail(d, TL_ERR_FORMAT,
                           "parties[%zu].roles[%zu]: must be a role name ([a-z][a-z0-9-]*, at "
                           "most %d bytes)",
                           i, k, TL_REGISTRY_ROLE_MAX);
        for (size_t j = 0; j < k; j++)
            if (strcmp(p->roles[j], s) == 0)
                return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].roles[%zu]: duplicate role %s", i, k,
                               s);
        memcpy(p->roles[k], s, len + 1);
    }
    p->nroles = n;
    return TL_OK;
}

static tl_err decode_party(regdoc *doc, size_t i, const json_t *obj, tl_diag *d)
{
    if (!json_is_object(obj))
        return tl_fail(d, TL_ERR_FORMAT, "parties[%zu]: must be an object", i);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        if (!field_allowed(doc->act, key))
            return tl_fail(d, TL_ERR_FORMAT, "parties[%zu]: unknown field \"%.64s\" in %s", i, key,
                           action_names[doc->act]);
    }
    tl_party *p = &doc->parties[i];
    memset(p, 0, sizeof *p);
    const json_t *code = json_object_get(obj, "code");
    if (!json_is_string(code))
        return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].code: required, a string", i);
    if (!tl_value_party(json_string_value(code), json_string_length(code)))
        return tl_fail(d, TL_ERR_FORMAT,
                       "parties[%zu].code: must be an ISO 3166-1 alpha-2 code (two upper-case "
                       "letters)",
                       i);
    memcpy(p->code, json_string_value(code), TL_PARTY_LEN + 1);
    for (size_t j = 0; j < i; j++)
        if (strcmp(doc->parties[j].code, p->code) == 0)
            return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].code: %s appears twice", i, p->code);

    if (doc->act == ACT_GENESIS || doc->act == ACT_ADD) {
        const json_t *name = json_object_get(obj, "name");
        size_t nlen = json_string_length(name);
        if (!json_is_string(name) || nlen < 1 || nlen > TL_REGISTRY_NAME_MAX)
            return tl_fail(d, TL_ERR_FORMAT,
                           "parties[%zu].name: required, a string of 1 to %d bytes", i,
                           TL_REGISTRY_NAME_MAX);
        memcpy(p->name, json_string_value(name), nlen + 1);
        const json_t *roles = json_object_get(obj, "roles");
        if (roles) {
            tl_err e = decode_roles(p, i, roles, d);
            if (e != TL_OK)
                return e;
        }
    }
    if (doc->act != ACT_REMOVE) {
        const json_t *keys = json_object_get(obj, "keys");
        if (!keys)
            return tl_fail(d, TL_ERR_FORMAT, "parties[%zu].keys: required", i);
        return decode_keys(p, i, keys, d);
    }
    return TL_OK;
}

static tl_err decode_policy(regdoc *doc, const json_t *v, tl_diag *d)
{
    if (!json_is_string(v))
        return tl_fail(d, TL_ERR_FORMAT, "witness_policy: must be a string");
    doc->policy = json_string_value(v);
    doc->policy_len = json_string_length(v);
    tl_policy *pol = tl_policy_new();
    if (!pol)
        return tl_fail(d, TL_ERR_NOMEM, "parsing the witness policy");
    tl_err e = tl_policy_parse(pol, doc->policy, doc->policy_len, d);
    free(pol);
    if (e != TL_OK)
        return tl_diag_prefix(d, e == TL_ERR_NOMEM ? e : TL_ERR_FORMAT, "witness_policy");
    return TL_OK;
}

static tl_err decode_rulesets(regdoc *doc, const json_t *v, tl_diag *d)
{
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n > TL_REGISTRY_RULESETS_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "rulesets: must be an array of at most %d rulesets",
                       TL_REGISTRY_RULESETS_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(v, i);
        if (!json_is_object(o))
            return tl_fail(d, TL_ERR_FORMAT, "rulesets[%zu]: must be an object", i);
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)o, key, val)
        {
            if (strcmp(key, "name") != 0 && strcmp(key, "sha256") != 0 && strcmp(key, "text") != 0)
                return tl_fail(d, TL_ERR_FORMAT, "rulesets[%zu]: unknown field \"%.64s\"", i, key);
        }
        tl_registry_ruleset *rs = &doc->rulesets[i];
        const json_t *name = json_object_get(o, "name");
        const json_t *hash = json_object_get(o, "sha256");
        if (!json_is_string(name) ||
            !ruleset_name_ok(json_string_value(name), json_string_length(name)))
            return tl_fail(d, TL_ERR_FORMAT,
                           "rulesets[%zu].name: required, [a-z0-9._-], 1 to %d bytes", i,
                           TL_REGISTRY_RULESET_NAME_MAX);
        memcpy(rs->name, json_string_value(name), json_string_length(name) + 1);
        if (!json_is_string(hash) ||
            !sha256_hex(rs->sha256, json_string_value(hash), json_string_length(hash)))
            return tl_fail(d, TL_ERR_FORMAT,
                           "rulesets[%zu].sha256: required, 64 lower-case hex digits", i);
        const json_t *text = json_object_get(o, "text");
        rs->text = NULL;
        rs->text_len = 0;
        if (text) {
            uint8_t h[TL_HASH_LEN];
            if (!json_is_string(text) || json_string_length(text) == 0)
                return tl_fail(d, TL_ERR_FORMAT,
                               "rulesets[%zu].text: must be the ruleset's text (a non-empty "
                               "string)",
                               i);
            tl_sha256(h, (const uint8_t *)json_string_value(text), json_string_length(text));
            if (memcmp(h, rs->sha256, TL_HASH_LEN) != 0)
                return tl_fail(d, TL_ERR_FORMAT,
                               "rulesets[%zu].text: its SHA-256 is not the sha256 given for %s", i,
                               rs->name);
            rs->text = (char *)json_string_value(text); /* borrowed, as the policy */
            rs->text_len = json_string_length(text);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(doc->rulesets[j].name, rs->name) == 0)
                return tl_fail(d, TL_ERR_FORMAT, "rulesets[%zu].name: %s appears twice", i,
                               rs->name);
    }
    doc->has_rulesets = true;
    doc->nrulesets = n;
    return TL_OK;
}

/* Fills doc from a strictly parsed JSON object (doc borrows the policy string from it). */
static tl_err decode(regdoc *doc, const json_t *obj, tl_diag *d)
{
    memset(doc, 0, sizeof *doc);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        if (strcmp(key, "action") != 0 && strcmp(key, "parties") != 0 &&
            strcmp(key, "witness_policy") != 0 && strcmp(key, "rulesets") != 0)
            return tl_fail(d, TL_ERR_FORMAT, "unknown field \"%.64s\"", key);
    }
    const char *act = json_string_value(json_object_get(obj, "action"));
    if (!act)
        return tl_fail(d, TL_ERR_FORMAT, "action: required, a string");
    size_t a = 0;
    while (a < 4 && strcmp(act, action_names[a]) != 0)
        a++;
    if (a == 4)
        return tl_fail(d, TL_ERR_FORMAT,
                       "action: must be \"genesis\", \"add\", \"remove\" or \"rotate\"");
    doc->act = (action)a;

    const json_t *pol = json_object_get(obj, "witness_policy");
    if (pol) {
        tl_err e = decode_policy(doc, pol, d);
        if (e != TL_OK)
            return e;
    }
    const json_t *rs = json_object_get(obj, "rulesets");
    if (rs) {
        tl_err e = decode_rulesets(doc, rs, d);
        if (e != TL_OK)
            return e;
    }
    const json_t *parties = json_object_get(obj, "parties");
    size_t n = json_array_size(parties);
    if (!json_is_array(parties) || n > TL_REGISTRY_PARTIES_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "parties: required, an array of at most %d parties",
                       TL_REGISTRY_PARTIES_MAX);
    for (size_t i = 0; i < n; i++) {
        tl_err e = decode_party(doc, i, json_array_get(parties, i), d);
        if (e != TL_OK)
            return e;
    }
    doc->nparties = n;

    if (doc->act == ACT_GENESIS) {
        if (n == 0)
            return tl_fail(d, TL_ERR_FORMAT, "parties: genesis needs at least one party");
        if (!doc->policy)
            return tl_fail(d, TL_ERR_FORMAT, "witness_policy: required in genesis");
        if (!doc->has_rulesets)
            return tl_fail(d, TL_ERR_FORMAT, "rulesets: required in genesis");
    } else if (n == 0 && !doc->policy && !doc->has_rulesets) {
        return tl_fail(d, TL_ERR_FORMAT, "parties: empty, and nothing else changes");
    }
    return TL_OK;
}

/* Header, one JSON line, LF: *obj gets the parsed object (caller json_decref()s it). */
static tl_err parse_text(json_t **obj, const char *text, size_t len, tl_diag *d)
{
    if (len > TL_REGISTRY_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "registry: %zu bytes, more than %d", len, TL_REGISTRY_MAX);
    if (len < TL_REGISTRY_HEADER_LEN ||
        memcmp(text, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "line 1: must be \"treatylog/registry/v1\"");
    const char *line = text + TL_REGISTRY_HEADER_LEN;
    size_t rest = len - TL_REGISTRY_HEADER_LEN;
    const char *lf = memchr(line, '\n', rest);
    if (!lf)
        return tl_fail(d, TL_ERR_FORMAT, "line 2: must end with a line feed");
    size_t llen = (size_t)(lf - line);
    if (llen + 1 != rest)
        return tl_fail(d, TL_ERR_FORMAT,
                       "line 3: unexpected text after the JSON line (the object must be on "
                       "one line)");
    tl_err e = tl_schema_parse_json(obj, line, llen, true, d);
    if (e != TL_OK && d && strncmp(d->msg, "JSON", 4) == 0)
        return tl_diag_prefix(d, e, "line 2");
    return e;
}

tl_err tl_registry_check_text(const char *text, size_t len, tl_diag *d)
{
    json_t *obj = NULL;
    tl_err e = parse_text(&obj, text, len, d);
    if (e != TL_OK)
        return e;
    regdoc *doc = malloc(sizeof *doc);
    if (!doc) {
        json_decref(obj);
        return tl_fail(d, TL_ERR_NOMEM, "checking a registry document");
    }
    e = decode(doc, obj, d);
    free(doc);
    json_decref(obj);
    return e;
}

/* ---------------------------------------------------------------------------------------
 * State.
 */

static size_t find(const tl_registry *r, const char *code)
{
    for (size_t i = 0; i < r->nparties; i++)
        if (memcmp(r->parties[i].code, code, TL_PARTY_LEN) == 0)
            return i;
    return SIZE_MAX;
}

const tl_party *tl_registry_party(const tl_registry *r, const char *code)
{
    size_t i = find(r, code);
    return i == SIZE_MAX ? NULL : &r->parties[i];
}

const tl_vkey *tl_registry_party_keys(const tl_registry *r, const char *code, size_t *nkeys)
{
    const tl_party *p = tl_registry_party(r, code);
    *nkeys = p ? p->nkeys : 0;
    return p ? p->keys : NULL;
}

bool tl_registry_has_role(const tl_registry *r, const char *code, const char *role)
{
    const tl_party *p = tl_registry_party(r, code);
    if (!p)
        return false;
    for (size_t i = 0; i < p->nroles; i++)
        if (strcmp(p->roles[i], role) == 0)
            return true;
    return false;
}

/* Applies doc to s (a scratch copy); n is the note, for rotation signatures. s->witness_policy
 * is not touched here. */
static tl_err apply_doc(tl_registry *s, const regdoc *doc, const tl_note *n, uint64_t index,
                        tl_diag *d)
{
    if (doc->act == ACT_GENESIS) {
        if (s->genesis)
            return tl_fail(d, TL_ERR_CONFLICT, "genesis: the registry already has one (entry %llu)",
                           (unsigned long long)s->index);
    } else {
        if (!s->genesis)
            return tl_fail(d, TL_ERR_CONFLICT, "%s: the registry has no genesis yet",
                           action_names[doc->act]);
        if (index <= s->index)
            return tl_fail(d, TL_ERR_CONFLICT, "entry %llu: not after the last registry entry %llu",
                           (unsigned long long)index, (unsigned long long)s->index);
    }
    for (size_t i = 0; i < doc->nparties; i++) {
        const tl_party *p = &doc->parties[i];
        size_t at = find(s, p->code);
        switch (doc->act) {
        case ACT_GENESIS:
        case ACT_ADD:
            if (at != SIZE_MAX)
                return tl_fail(d, TL_ERR_CONFLICT, "parties[%zu]: %s is already registered", i,
                               p->code);
            if (s->nparties == TL_REGISTRY_PARTIES_MAX)
                return tl_fail(d, TL_ERR_CONFLICT, "parties[%zu]: registry full (%d parties)", i,
                               TL_REGISTRY_PARTIES_MAX);
            s->parties[s->nparties] = *p;
            s->parties[s->nparties].since = index;
            s->nparties++;
            break;
        case ACT_REMOVE:
            if (at == SIZE_MAX)
                return tl_fail(d, TL_ERR_CONFLICT, "parties[%zu]: %s is not registered", i,
                               p->code);
            memmove(&s->parties[at], &s->parties[at + 1],
                    (s->nparties - at - 1) * sizeof s->parties[0]);
            s->nparties--;
            break;
        case ACT_ROTATE: {
            if (at == SIZE_MAX)
                return tl_fail(d, TL_ERR_CONFLICT, "parties[%zu]: %s is not registered", i,
                               p->code);
            tl_party *cur = &s->parties[at];
            tl_diag vd;
            tl_err e = tl_note_verify(n, cur->keys, cur->nkeys, NULL, &vd);
            if (e == TL_ERR_NOMEM)
                return tl_fail(d, e, "verifying a rotation");
            if (e != TL_OK)
                return tl_fail(d, TL_ERR_SIGNATURE,
                               "parties[%zu]: rotation of %s not signed by a current key of %s "
                               "(%.200s)",
                               i, p->code, p->code, vd.msg);
            memcpy(cur->keys, p->keys, sizeof cur->keys);
            cur->nkeys = p->nkeys;
            cur->since = index;
            break;
        }
        }
    }
    if (doc->act == ACT_GENESIS || doc->has_rulesets) {
        memcpy(s->rulesets, doc->rulesets, sizeof s->rulesets);
        s->nrulesets = doc->nrulesets;
    }
    s->genesis = true;
    s->index = index;
    return TL_OK;
}

tl_err tl_registry_apply(tl_registry *r, const char *note, size_t len, const tl_vkey *operator_key,
                         uint64_t index, tl_diag *d)
{
    if (!r || !operator_key || operator_key->type != TL_KEY_ED25519)
        return tl_fail(d, TL_ERR_USAGE, "registry: need a registry and an Ed25519 operator key");
    tl_note *n = malloc(sizeof *n);
    regdoc *doc = malloc(sizeof *doc);
    tl_registry *s = malloc(sizeof *s);
    json_t *obj = NULL;
    char *policy = NULL;
    char *texts[TL_REGISTRY_RULESETS_MAX] = {0};
    bool replace = false;
    tl_err e = TL_OK;
    if (!n || !doc || !s) {
        e = tl_fail(d, TL_ERR_NOMEM, "applying a registry entry");
        goto out;
    }
    e = tl_note_parse(n, note, len, d);
    if (e != TL_OK) {
        e = tl_diag_prefix(d, e, "signed note");
        goto out;
    }
    tl_diag vd;
    e = tl_note_verify(n, operator_key, 1, NULL, &vd);
    if (e != TL_OK) {
        e = e == TL_ERR_NOMEM ? e : TL_ERR_SIGNATURE;
        e = tl_fail(d, e, "registry entry not signed by the operator key %.64s (%.200s)",
                    operator_key->name, vd.msg);
        goto out;
    }
    e = parse_text(&obj, n->text, n->text_len, d);
    if (e != TL_OK)
        goto out;
    e = decode(doc, obj, d);
    if (e != TL_OK)
        goto out;
    if (doc->policy) {
        policy = malloc(doc->policy_len + 1);
        if (!policy) {
            e = tl_fail(d, TL_ERR_NOMEM, "applying a registry entry");
            goto out;
        }
        memcpy(policy, doc->policy, doc->policy_len);
        policy[doc->policy_len] = '\0';
    }
    memcpy(s, r, sizeof *s);
    e = apply_doc(s, doc, n, index, d);
    if (e != TL_OK)
        goto out;
    /* A new ruleset list: owned copies of its texts, each from the document or else from the
     * current list by sha256 (the same bytes). */
    replace = doc->act == ACT_GENESIS || doc->has_rulesets;
    for (size_t i = 0; replace && i < doc->nrulesets; i++) {
        const tl_registry_ruleset *src = doc->rulesets[i].text ? &doc->rulesets[i] : NULL;
        for (size_t j = 0; !src && j < r->nrulesets; j++)
            if (r->rulesets[j].text &&
                memcmp(r->rulesets[j].sha256, doc->rulesets[i].sha256, TL_HASH_LEN) == 0)
                src = &r->rulesets[j];
        s->rulesets[i].text = NULL;
        s->rulesets[i].text_len = 0;
        if (src) {
            texts[i] = dup_text(src->text, src->text_len);
            if (!texts[i]) {
                e = tl_fail(d, TL_ERR_NOMEM, "applying a registry entry");
                goto out;
            }
            s->rulesets[i].text_len = src->text_len;
        }
    }
    /* Commit: nothing below can fail. */
    if (policy) {
        free(s->witness_policy);
        s->witness_policy = policy;
        s->witness_policy_len = doc->policy_len;
        policy = NULL;
    }
    if (replace) {
        free_texts(r->rulesets, r->nrulesets);
        for (size_t i = 0; i < doc->nrulesets; i++) {
            s->rulesets[i].text = texts[i];
            texts[i] = NULL;
        }
    }
    memcpy(r, s, sizeof *r);
out:
    for (size_t i = 0; i < TL_REGISTRY_RULESETS_MAX; i++)
        free(texts[i]);
    free(policy);
    json_decref(obj);
    free(s);
    free(doc);
    free(n);
    return e;
}

/* ---------------------------------------------------------------------------------------
 * Canonical text.
 */

tl_err tl_registry_from_json(char **text, size_t *len, const char *json, size_t jlen,
                             bool genesis_only, tl_diag *d)
{
    if (jlen > (size_t)TL_REGISTRY_MAX * 4)
        return tl_fail(d, TL_ERR_TOOBIG, "JSON: %zu bytes, far more than a registry text holds",
                       jlen);
    json_t *obj = NULL;
    tl_err e = tl_schema_parse_json(&obj, json, jlen, false, d);
    if (e != TL_OK)
        return e;
    regdoc *doc = malloc(sizeof *doc);
    char *js = NULL;
    char *out = NULL;
    if (!doc) {
        e = tl_fail(d, TL_ERR_NOMEM, "reading a registry file");
        goto done;
    }
    e = decode(doc, obj, d);
    if (e != TL_OK)
        goto done;
    if (genesis_only && doc->act != ACT_GENESIS) {
        e = tl_fail(d, TL_ERR_FORMAT, "action: must be \"genesis\" here");
        goto done;
    }
    js = json_dumps(obj, JSON_COMPACT);
    if (!js) {
        e = tl_fail(d, TL_ERR_NOMEM, "serialising a registry document");
        goto done;
    }
    size_t jl = strlen(js);
    size_t n = TL_REGISTRY_HEADER_LEN + jl + 1;
    if (n > TL_REGISTRY_MAX) {
        e = tl_fail(d, TL_ERR_TOOBIG, "registry: %zu bytes, more than %d", n, TL_REGISTRY_MAX);
        goto done;
    }
    out = malloc(n + 1);
    if (!out) {
        e = tl_fail(d, TL_ERR_NOMEM, "serialising a registry document");
        goto done;
    }
    memcpy(out, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN);
    memcpy(out + TL_REGISTRY_HEADER_LEN, js, jl);
    out[n - 1] = '\n';
    out[n] = '\0';
    /* Belt and braces: what we write must read back. */
    e = tl_registry_check_text(out, n, d);
    if (e != TL_OK) {
        e = tl_diag_prefix(d, e == TL_ERR_NOMEM ? e : TL_ERR_INTERNAL, "canonical registry text");
        goto done;
    }
    *text = out;
    *len = n;
    out = NULL;
done:
    free(out);
    free(js);
    free(doc);
    json_decref(obj);
    return e;
}
