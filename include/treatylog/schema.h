/* schema.h - the message catalogue as JSON schemas (reference/domain.md §2.4): loading a
 * schema directory, strict JSON parsing, and validation with precise error paths.
 *
 * A schema directory holds envelope.json (the notification envelope, DESIGN §3), common.json
 * (shared $defs) and one <type>.json per message type, the schema of that type's `body`.
 * Types are read at start-up: a new message type is a new file, no recompiling. The schema
 * language is a small subset of JSON Schema draft 2020-12 (docs/formats.md, "Notifications"):
 *
 *   type (a name or a list of names), properties, required, additionalProperties,
 *   propertyNames, items, prefixItems, minItems, maxItems, uniqueItems, enum, const,
 *   minimum, maximum, minLength, maxLength, anyOf (only of {"required": [...]} branches),
 *   format, $ref (to "#/..." in the same file or "<file>.json#/..."), $defs, and the
 *   annotations $schema, $id, title, description, $comment, examples, x-refs, x-from-role.
 *
 * No "pattern" (no regular expressions); instead our own formats: date, date-time, party,
 * party-or-all, leafhash, decimal-degrees, latitude, longitude (strings, see values.h) and
 * recipients (an array: party codes, or exactly ["*"]). Loading rejects any other keyword,
 * an unresolvable $ref, an unknown format, and a type file without a valid example.
 *
 * Errors are one line: "<path>: <what is wrong>", e.g. `body.troops: must be an integer >= 0`,
 * `body: missing required field "activity"`, `refs[0]: must be base64 of a 32-byte hash`.
 *
 * THREAD SAFETY: a loaded tl_schemas is read-only; any number of threads may validate against
 * it at once. Loading and freeing are single-threaded.
 */
#ifndef TREATYLOG_SCHEMA_H
#define TREATYLOG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "treatylog/err.h"

#define TL_SCHEMA_TYPE_MAX  64         /* longest message type id, bytes */
#define TL_SCHEMA_FILE_MAX  (1u << 20) /* largest schema file read, bytes */
#define TL_SCHEMA_DEPTH_MAX 64         /* deepest schema nesting followed while validating */

typedef struct tl_schemas tl_schemas;

/* One message type of a loaded directory. Pointers are owned by the tl_schemas. */
typedef struct tl_msgtype {
    const char *name;     /* e.g. "vd11.ch5.notification" (the file name less .json) */
    const json_t *schema; /* the parsed file: schema of the body, plus annotations */
    size_t refs_min;      /* x-refs.min: fewest refs an entry of this type carries */
    size_t nref_types;    /* x-refs.types: the types its refs may point at (0 = any) */
    const char *const *ref_types;
    const char *from_role; /* x-from-role: registry role the sender must hold, or NULL */
} tl_msgtype;

/* Loads every "*.json" file of dir (names starting with '.' are skipped): envelope.json and
 * common.json must be there; every other file is a message type named after the file (lower
 * case letters, digits, '.', '-'; at most TL_SCHEMA_TYPE_MAX bytes). Each file is parsed
 * strictly (duplicate keys are errors), checked against the subset above, its $refs resolved,
 * and the "examples" of envelope.json and of every type file (a non-empty array of whole
 * notification objects of that type) validated. On success *out is a new set (free with
 * tl_schemas_free). On error nothing is allocated and d names the file and the problem:
 * TL_ERR_IO / TL_ERR_NOTFOUND (reading), TL_ERR_FORMAT (content), TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_schemas_load(tl_schemas **out, const char *dir, tl_diag *d);

/* Frees a set loaded by tl_schemas_load. NULL-safe. */
void tl_schemas_free(tl_schemas *s);

/* Number of message types (envelope.json and common.json are not types). */
size_t tl_schemas_ntypes(const tl_schemas *s);

/* The i-th message type (0 <= i < tl_schemas_ntypes), in byte order of the names. */
const tl_msgtype *tl_schemas_type_at(const tl_schemas *s, size_t i);

/* The message type of that name, or NULL if the directory has none. */
const tl_msgtype *tl_schemas_find(const tl_schemas *s, const char *type);

/* The parsed file "<name>.json" of the set ("envelope", "common" or a type), or NULL. */
const json_t *tl_schemas_file(const tl_schemas *s, const char *name);

/* Validates v against the schema file `name` ("envelope" or a type name). path names v in
 * messages ("body", or "" for a whole document). Returns TL_OK, or TL_ERR_FORMAT with the
 * first problem in d; TL_ERR_NOTFOUND if there is no such schema. Does not modify v. */
TL_MUST_CHECK tl_err tl_schema_validate(const tl_schemas *s, const char *name, const json_t *v,
                                        const char *path, tl_diag *d);

/* Validates a whole notification object: the envelope (unknown fields are errors), the type
 * (`type: unknown message type "..."`), the body against the type's schema (paths start
 * with "body"), and the least number of refs the type requires (x-refs.min). That the refs
 * exist and have the right types, that `from` is registered and signed, and that `serial` is
 * new are for the caller, who has the log. TL_OK or TL_ERR_FORMAT with d set. */
TL_MUST_CHECK tl_err tl_schema_validate_notification(const tl_schemas *s, const json_t *doc,
                                                     tl_diag *d);

/* Parses buf[0..len) as strict JSON into a new object *out (caller json_decref()s it):
 * valid UTF-8, exactly one JSON object, duplicate keys rejected, no NUL, no NaN/Infinity, no
 * integer beyond 64 bits, nothing after it, and no control character (U+0000..U+001F,
 * U+007F..U+009F) in a key or string value, except LF written as the escape "\n" inside a
 * string value. If one_line, the whole of buf must also be that object on one line: it starts
 * with '{', ends with '}' and contains no raw control character at all (DESIGN §3). On error
 * *out is untouched and the result is TL_ERR_NOMEM or TL_ERR_FORMAT, whose message starts with
 * "JSON" for syntax and encoding ("JSON column 17: ..." if one_line, else "JSON byte 17: ...")
 * and with the path for a control character in a decoded string ("remarks: ..."). */
TL_MUST_CHECK tl_err tl_schema_parse_json(json_t **out, const char *buf, size_t len, bool one_line,
                                          tl_diag *d);

#endif
