/* registry.h - the party registry (DESIGN §3): treatylog/registry/v1 documents, signed by the
 * operator, and the state they build when applied in log order.
 *
 *   "treatylog/registry/v1" LF
 *   <one JSON object on one line> LF
 *
 *   {"action": "genesis" | "add" | "remove" | "rotate",
 *    "parties": [ {"code": "XA", "name": "...", "keys": ["<vkey>", ...], "roles": [...]} ],
 *    "witness_policy": "<tlog-policy text>",
 *    "rulesets": [ {"name": "vd11.rules", "sha256": "<64 lower-case hex>", "text": "..."} ]}
 *
 * genesis: every party (code, name, keys, optional roles), witness_policy and rulesets required;
 * add: the new parties (same fields); remove: [{"code"}]; rotate: [{"code", "keys"}] (the new
 * key set replaces the old one). After genesis, witness_policy and rulesets are optional and
 * replace the current ones when present; "parties" may then be empty only if one of them is.
 * A ruleset's optional "text" is the ruleset file itself, logged with the registry (DESIGN §3):
 * its SHA-256 must be the sha256 given; a later list naming the same sha256 without text keeps
 * it. Keys are verifier keys of type 0x01 whose name is the party code. A rotate document must be
 * signed by the operator AND by one of the party's current keys (a second signature line).
 *
 * The registry at any log index is a pure function of the registry entries up to it: start
 * from tl_registry_new() and tl_registry_apply() each one in order. No I/O here.
 *
 * THREAD SAFETY: a tl_registry has one owner; concurrent const reads are safe while nobody
 * applies.
 */
#ifndef TREATYLOG_REGISTRY_H
#define TREATYLOG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/values.h"

#define TL_REGISTRY_HEADER           "treatylog/registry/v1\n"
#define TL_REGISTRY_HEADER_LEN       22
#define TL_REGISTRY_MAX              65535 /* largest registry text, bytes (an entry's limit) */
#define TL_REGISTRY_PARTIES_MAX      256   /* parties in the registry (and in one document) */
#define TL_REGISTRY_KEYS_MAX         4     /* current keys per party */
#define TL_REGISTRY_ROLES_MAX        8     /* roles per party */
#define TL_REGISTRY_ROLE_MAX         32    /* a role: [a-z][a-z0-9-]*, bytes */
#define TL_REGISTRY_NAME_MAX         200   /* a party's display name, bytes of UTF-8 */
#define TL_REGISTRY_RULESETS_MAX     16
#define TL_REGISTRY_RULESET_NAME_MAX 64 /* a ruleset name: [a-z0-9._-]+, bytes */

typedef struct tl_party {
    char code[TL_PARTY_LEN + 1];         /* ISO 3166-1 alpha-2 form, NUL-terminated */
    char name[TL_REGISTRY_NAME_MAX + 1]; /* NUL-terminated */
    size_t nkeys;                        /* 1..TL_REGISTRY_KEYS_MAX */
    tl_vkey keys[TL_REGISTRY_KEYS_MAX];  /* current keys: type 0x01, name == code */
    size_t nroles;
    char roles[TL_REGISTRY_ROLES_MAX][TL_REGISTRY_ROLE_MAX + 1];
    uint64_t since; /* index of the entry that last changed this party */
} tl_party;

typedef struct tl_registry_ruleset {
    char name[TL_REGISTRY_RULESET_NAME_MAX + 1];
    uint8_t sha256[TL_HASH_LEN];
    /* The ruleset's text, when a registry entry carried it ("text", whose SHA-256 is sha256),
     * or an earlier one did for the same sha256; NULL otherwise. In a tl_registry it is
     * malloc'd, NUL-terminated and owned by the registry. */
    char *text;
    size_t text_len;
} tl_registry_ruleset;

/* The state. Large (about 400 KiB): allocate with tl_registry_new(). Parties are kept in the
 * order they were added (a removal closes the gap). */
typedef struct tl_registry {
    bool genesis;   /* a genesis document has been applied */
    uint64_t index; /* index of the entry that last changed the registry */
    size_t nparties;
    tl_party parties[TL_REGISTRY_PARTIES_MAX];
    char *witness_policy; /* tlog-policy text (malloc'd, owned), NULL before genesis */
    size_t witness_policy_len;
    size_t nrulesets;
    tl_registry_ruleset rulesets[TL_REGISTRY_RULESETS_MAX];
} tl_registry;

/* An empty registry (no genesis yet). NULL when out of memory. */
tl_registry *tl_registry_new(void);

/* Frees a registry and what it owns. NULL-safe. */
void tl_registry_free(tl_registry *r);

/* A deep copy of r (a snapshot to keep while r moves on; a plain memcpy would share
 * witness_policy). Free with tl_registry_free(). NULL when out of memory. */
tl_registry *tl_registry_clone(const tl_registry *r);

/* Applies the registry entry at log index `index`: note[0..len) is a signed note
 * (tl_note_parse) that must carry a valid signature by operator_key, whose text is a valid
 * registry document (tl_registry_check_text), and whose action fits the current state:
 * genesis only on an empty registry; add only of unknown codes; remove and rotate only of
 * registered ones (rotate also needs a valid signature by one of the party's current keys);
 * after genesis, index must exceed the index of the last applied entry.
 * Atomic: on error the registry is unchanged. Returns TL_OK, TL_ERR_FORMAT or TL_ERR_TOOBIG
 * (malformed), TL_ERR_SIGNATURE (operator or rotation signature missing or bad),
 * TL_ERR_CONFLICT (action does not fit the state, or index not increasing), TL_ERR_NOMEM;
 * the reason in d. */
TL_MUST_CHECK tl_err tl_registry_apply(tl_registry *r, const char *note, size_t len,
                                       const tl_vkey *operator_key, uint64_t index, tl_diag *d);

/* Checks that text[0..len) is a well-formed registry document on its own (header, one JSON line,
 * fields, codes, keys, policy, rulesets), without signatures or state. TL_OK, TL_ERR_FORMAT,
 * TL_ERR_TOOBIG or TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_registry_check_text(const char *text, size_t len, tl_diag *d);

/* The registered party with this code (code[0..2), NUL not needed), or NULL. */
const tl_party *tl_registry_party(const tl_registry *r, const char *code);

/* The current keys of a party, for verifying its submissions (tl_note_verify): a pointer into
 * the registry (valid until the next apply or free) and their number in *nkeys; NULL (and
 * *nkeys = 0) for an unknown code. */
const tl_vkey *tl_registry_party_keys(const tl_registry *r, const char *code, size_t *nkeys);

/* True if the party is registered and holds the role (NUL-terminated, e.g. "chair"). */
bool tl_registry_has_role(const tl_registry *r, const char *code, const char *role);

/* The canonical registry text of a JSON object json[0..len) that may span lines (a human-edited
 * registry file): strictly parsed, checked as tl_registry_check_text does, and re-serialised
 * compactly on one line in the same key order behind the header. *text gets a malloc'd
 * NUL-terminated copy (caller frees), *len its length; sign it with tl_note_sign. With
 * genesis_only, any action but "genesis" is refused (for `treatylog init`). TL_ERR_FORMAT,
 * TL_ERR_TOOBIG or TL_ERR_NOMEM otherwise, with *text untouched. */
TL_MUST_CHECK tl_err tl_registry_from_json(char **text, size_t *len, const char *json, size_t jlen,
                                           bool genesis_only, tl_diag *d);

#endif
