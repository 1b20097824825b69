/* notification.h - treatylog/notification/v1 documents (DESIGN §3): the text a party signs,
 *
 *   "treatylog/notification/v1" LF
 *   <one JSON object on one line: the envelope of domain.md §2.1, per-type fields in body> LF
 *
 * parsed strictly, validated against the schemas of schema.h, and decoded into a struct.
 * Also: the canonical text of an edited (e.g. pretty-printed) JSON file, the example
 * document of a message type, and a tl_validate_fn-compatible check of a signed submission.
 *
 * THREAD SAFETY: all functions are thread-safe given a loaded tl_schemas (read-only).
 */
#ifndef TREATYLOG_NOTIFICATION_H
#define TREATYLOG_NOTIFICATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/schema.h"
#include "treatylog/values.h"

#define TL_NOTIFICATION_HEADER     "treatylog/notification/v1\n"
#define TL_NOTIFICATION_HEADER_LEN 26
#define TL_NOTIFICATION_MAX        65535 /* largest notification text, bytes (an entry's limit) */

/* A decoded notification. Strings are NUL-terminated; the struct owns doc and the arrays. */
typedef struct tl_notification {
    char type[TL_SCHEMA_TYPE_MAX + 1]; /* e.g. "vd11.ch5.notification" */
    char from[TL_PARTY_LEN + 1];       /* sending party code */
    uint64_t serial;                   /* >= 1 */
    int64_t sent;                      /* Unix seconds (the sender's claim) */
    bool to_all;                       /* to is ["*"]; then nto == 0 */
    size_t nto;
    char (*to)[TL_PARTY_LEN + 1]; /* nto party codes, in document order */
    size_t nrefs;
    uint8_t (*refs)[TL_HASH_LEN]; /* nrefs leaf hashes, in document order */
    const char *treaty_ref;       /* borrowed from doc (or from strings) */
    const char *remarks;          /* borrowed from doc (or from strings); NULL if absent */
    json_t *body;                 /* borrowed from doc (or the reference in own_body) */
    json_t *doc;                  /* the whole object (one reference, owned); NULL with
                                     TL_NOTIFICATION_NO_DOC */
    json_t *own_body;             /* with TL_NOTIFICATION_NO_DOC: body's reference, owned */
    char *strings;                /* with TL_NOTIFICATION_NO_DOC: treaty_ref and remarks */
} tl_notification;

/* Flags of tl_notification_parse_ex. */
#define TL_NOTIFICATION_NO_DOC 1u /* no doc: only body is kept as JSON (own_body), treaty_ref
                                     and remarks are copied (strings); for readers of the
                                     decoded fields and the body, like the rules engine */

/* Parses and validates a notification text text[0..len): the header line, then one JSON object
 * on one line (tl_schema_parse_json with one_line), then a final LF and nothing more; at most
 * TL_NOTIFICATION_MAX bytes; then tl_schema_validate_notification. On TL_OK *out is filled
 * (free with tl_notification_free). On error *out is zeroed, nothing is allocated, and the
 * result is TL_ERR_FORMAT, TL_ERR_TOOBIG or TL_ERR_NOMEM with the reason in d. */
TL_MUST_CHECK tl_err tl_notification_parse(tl_notification *out, const tl_schemas *s,
                                           const char *text, size_t len, tl_diag *d);

/* tl_notification_parse with flags (TL_NOTIFICATION_*; 0 is tl_notification_parse): the
 * same checks, verdicts and messages. TL_NOTIFICATION_NO_DOC saves building the envelope
 * as JSON: n->doc is NULL, and body, treaty_ref and remarks are owned by *out. */
TL_MUST_CHECK tl_err tl_notification_parse_ex(tl_notification *out, const tl_schemas *s,
                                              const char *text, size_t len, unsigned flags,
                                              tl_diag *d);

/* Releases what a parsed notification owns and zeroes it. NULL-safe; safe on a zeroed one. */
void tl_notification_free(tl_notification *n);

/* The canonical notification text of a JSON object json[0..len) that may span lines (an
 * edited template): strictly parsed (tl_schema_parse_json without one_line), validated, and
 * re-serialised compactly on one line in the same key order (non-ASCII kept as UTF-8; reals,
 * if any are allowed by a schema, printed with 17 significant digits). *text gets a
 * malloc'd NUL-terminated copy of the text (caller frees), *len its length. TL_ERR_FORMAT,
 * TL_ERR_TOOBIG or TL_ERR_NOMEM otherwise, with *text untouched. */
TL_MUST_CHECK tl_err tl_notification_from_json(char **text, size_t *len, const tl_schemas *s,
                                               const char *json, size_t jlen, tl_diag *d);

/* The example document of a message type (the first of its schema file's "examples"), as a
 * notification text that tl_notification_parse accepts. *text is malloc'd (caller frees).
 * TL_ERR_NOTFOUND for an unknown type (d names it), TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_notification_template(char **text, size_t *len, const tl_schemas *s,
                                              const char *type, tl_diag *d);

/* A check of a submission for the sequencer's validation hook (tl_validate_fn, sequencer.h):
 * ctx is a const tl_schemas *, body[0..len) a signed note (tl_note_parse) whose text must be a
 * valid notification. Signatures are NOT verified and the registry is not consulted: the
 * treaty-mode hook calls this first, then checks signer, serial and refs against the log.
 * TL_OK, or TL_ERR_FORMAT (HTTP 400) / TL_ERR_TOOBIG / TL_ERR_NOMEM with the reason in d. */
TL_MUST_CHECK tl_err tl_notification_check_submission(void *ctx, const uint8_t *body, size_t len,
                                                      tl_diag *d);

#endif
