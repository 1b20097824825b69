/* schema_int.h - internals shared by the schema module's files (not a public
 * header): the loaded set and its compiled schema nodes (schema_load.c),
 * message building and instance paths (schema_msg.c), used by the validator
 * (schema.c) and strict JSON (schema_json.c).
 */
#ifndef TREATYLOG_DOMAIN_SCHEMA_INT_H
#define TREATYLOG_DOMAIN_SCHEMA_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "treatylog/err.h"
#include "treatylog/schema.h"

/* ---- formats ---- */

typedef enum tl_fmt {
    TL_FMT_NONE = 0,
    TL_FMT_DATE,
    TL_FMT_DATETIME,
    TL_FMT_PARTY,
    TL_FMT_PARTY_OR_ALL,
    TL_FMT_LEAFHASH,
    TL_FMT_DEGREES,
    TL_FMT_LATITUDE,
    TL_FMT_LONGITUDE,
    TL_FMT_RECIPIENTS, /* on arrays */
} tl_fmt;

/* The format named by a schema's "format" keyword (TL_FMT_NONE if none or
 * unknown). */
tl_fmt tl_schema_fmt_lookup(const char *name);

/* What a value of that format is, completing "must be ..." (NULL for
 * TL_FMT_NONE). */
const char *tl_schema_fmt_phrase(tl_fmt f);

/* ---- compiled schemas ---- */

/* JSON types as bits, for "type". */
enum {
    TL_TM_NULL = 1u << 0,
    TL_TM_BOOLEAN = 1u << 1,
    TL_TM_OBJECT = 1u << 2,
    TL_TM_ARRAY = 1u << 3,
    TL_TM_NUMBER = 1u << 4,
    TL_TM_STRING = 1u << 5,
    TL_TM_INTEGER = 1u << 6,
};

typedef struct tl_snode tl_snode;

typedef struct tl_sprop {
    const char *name; /* borrowed from the schema JSON */
    size_t len;
    const tl_snode *node;
} tl_sprop;

/* One schema node with its keywords looked up once, at load. */
struct tl_snode {
    const json_t *src;  /* the schema JSON (messages read it) */
    bool always, never; /* the schemas true and false */
    unsigned types;     /* TL_TM_* bits; 0 = no "type" */
    tl_fmt fmt;
    const tl_snode *ref;     /* "$ref" target, or NULL */
    const json_t *cst, *enm; /* "const", "enum" */
    const json_t *minimum, *maximum;
    long long min_len, max_len, min_items, max_items; /* -1: absent */
    bool unique;
    size_t nreq;
    const char **req; /* "required" names, borrowed */
    long *req_prop;   /* index in props of each required name, or -1 */
    size_t nprops;
    tl_sprop *props;        /* "properties", sorted by (len, bytes) */
    const tl_snode *addl;   /* "additionalProperties" schema, or NULL */
    bool addl_false;        /* "additionalProperties": false */
    const tl_snode *pnames; /* "propertyNames" */
    const tl_snode *items;
    size_t nprefix;
    const tl_snode **prefix; /* "prefixItems" */
    const json_t *anyof;     /* "anyOf" (required-only branches) */
};

typedef struct tl_sfile {
    char *name; /* without ".json" */
    json_t *root;
    const tl_snode *node; /* compiled root */
} tl_sfile;

struct tl_schemas {
    tl_sfile *files; /* sorted by name */
    size_t nfiles;
    tl_msgtype *types;           /* sorted by name */
    const tl_snode **type_nodes; /* compiled body schema of types[i] */
    size_t ntypes;
    tl_snode **nodes; /* every compiled node, owned */
    size_t nnodes, capnodes;
    const tl_snode *envelope;
};

/* The index in n->props of the property named key[0..klen), or -1. */
long tl_schema_prop_index(const tl_snode *n, const char *key, size_t klen);

/* ---- strict JSON ---- */

/* The reference path of tl_schema_parse_json (schema_json.c): jansson plus the checks;
 * same contract as tl_schema_parse_json. */
TL_MUST_CHECK tl_err tl_schema_parse_json_ref(json_t **out, const char *buf, size_t len,
                                              bool one_line, tl_diag *d);

/* ---- the fast path (schema_tape.c) ---- */

/* Token kinds of a tape. */
enum {
    TL_TK_OBJ = 1,
    TL_TK_ARR,
    TL_TK_STR,
    TL_TK_INT,
    TL_TK_TRUE,
    TL_TK_FALSE,
    TL_TK_NULL,
};

/* One value of a parsed document. An object is followed by its members, each a key
 * (a TL_TK_STR token) and the key's value; an array by its items. */
typedef struct tl_tok {
    uint32_t kind;
    uint32_t n;   /* object: members; array: items; string: bytes */
    uint32_t end; /* index of the token after this value and all it holds */
    union {
        const char *s; /* string bytes (in the text, or the tape's sbuf), no NUL */
        json_int_t i;
    } v;
} tl_tok;

/* A strict JSON text as tokens (the root object is token 0). Lives on the caller's stack;
 * small documents need no allocation. */
typedef struct tl_tape {
    tl_tok *t;
    size_t n, cap;
    char *sbuf; /* decoded strings that had escapes */
    size_t slen, scap;
    tl_tok small[192];
    char ssmall[512];
} tl_tape;

void tl_tape_init(tl_tape *tp);
void tl_tape_free(tl_tape *tp); /* and re-initialises it */

/* Lexes buf[0..len) into tp. True only if tl_schema_parse_json_ref accepts the text (then
 * tl_tape_build(tp, 0) is the tree it builds); false if it refuses it, or if the text is
 * unusual (a real number, deep nesting...) or memory ran out. */
bool tl_tape_parse(tl_tape *tp, const char *buf, size_t len, bool one_line);

/* The value token of member key[0..klen) of the object at token obj, or 0 if none. */
uint32_t tl_tape_member(const tl_tape *tp, uint32_t obj, const char *key, size_t klen);

/* A new jansson tree of the value at token i; NULL if out of memory. */
json_t *tl_tape_build(const tl_tape *tp, uint32_t i);

/* The fast path of tl_schema_parse_json: tl_tape_parse and tl_tape_build, NULL when the tape
 * says no (then the reference path gives the verdict and the message). */
json_t *tl_schema_fast_json(const char *buf, size_t len, bool one_line);

/* True only if tl_schema_validate_notification accepts the document of the tape; *type then
 * gets its message type. False if it refuses it or if the tape cannot decide cheaply. */
bool tl_tape_valid_notification(const tl_schemas *s, const tl_tape *tp, const tl_msgtype **type);

/* ---- messages ---- */

/* A string builder over a caller's buffer: truncates, never fails. cap >= 1. */
typedef struct tl_sb {
    char *p;
    size_t cap, len;
} tl_sb;

void tl_sb_init(tl_sb *b, char *buf, size_t cap);
void tl_sb_add(tl_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0..len) in double quotes: '"' and '\' escaped, control bytes as \u00XX, cut
 * after 48 bytes (at a UTF-8 boundary) with "...". */
void tl_sb_quote(tl_sb *b, const char *s, size_t len);
/* A JSON value, compactly (strings quoted as tl_sb_quote does). */
void tl_sb_json(tl_sb *b, const json_t *v);

#define TL_PATH_SEGS 48 /* path segments kept; deeper ones show as "..." */

/* Where the validator is in the instance, kept as segments and only rendered
 * for a message. */
typedef struct tl_path {
    const char *root; /* "" (a whole document) or e.g. "body" */
    size_t depth;
    struct {
        const char *key; /* NULL: an array index */
        size_t len_or_index;
    } seg[TL_PATH_SEGS];
} tl_path;

static inline void tl_path_push_key(tl_path *p, const char *key, size_t len)
{
    if (p->depth < TL_PATH_SEGS) {
        p->seg[p->depth].key = key;
        p->seg[p->depth].len_or_index = len;
    }
    p->depth++;
}

static inline void tl_path_push_index(tl_path *p, size_t i)
{
    if (p->depth < TL_PATH_SEGS) {
        p->seg[p->depth].key = NULL;
        p->seg[p->depth].len_or_index = i;
    }
    p->depth++;
}

static inline void tl_path_pop(tl_path *p)
{
    p->depth--;
}

/* Renders the path: root, ".name" or "[\"odd key\"]" per key, "[i]" per index.
 */
void tl_path_render(const tl_path *p, tl_sb *b);

/* "<path>: <message>" (only the message when the path is empty) into d;
 * TL_ERR_FORMAT. */
tl_err tl_path_fail(const tl_path *p, tl_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
