/* rules_int.h - internals shared by the rules engine's files (src/rules/): hash maps, a growable
 * byte buffer, UTC calendar arithmetic, the engine and finding structs. Not a public API. */
#ifndef TREATYLOG_RULES_INT_H
#define TREATYLOG_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "treatylog/registry.h"
#include "treatylog/rules.h"
#include "treatylog/ruleset.h"

#define NONE        UINT64_MAX
#define NO_TIME     INT64_MIN
#define DAY_MS      86400000LL
#define HOUR_MS     3600000LL
#define MAX_TYPES   8                 /* message types in one parameter list of a compiled rule */
#define TIME_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z: the last time handled */

/* u64 -> u64 open-addressing map; the key UINT64_MAX is reserved. */
typedef struct u64map {
    uint64_t *keys;
    uint64_t *vals;
    size_t cap, n;
} u64map;

bool u64map_get(const u64map *m, uint64_t key, uint64_t *val);
bool u64map_put(u64map *m, uint64_t key, uint64_t val); /* false: out of memory */
void u64map_free(u64map *m);

/* string -> u64 map; keys copied into an arena. */
typedef struct strmap {
    uint64_t *hashes; /* 0 = empty slot */
    uint32_t *koff, *klen;
    uint64_t *vals;
    size_t cap, n;
    char *arena;
    size_t alen, acap;
} strmap;

bool strmap_get(const strmap *m, const char *k, size_t kl, uint64_t *val);
bool strmap_put(strmap *m, const char *k, size_t kl, uint64_t val);
void strmap_free(strmap *m);

/* leaf hash -> log index. */
typedef struct leafmap {
    uint32_t *slots; /* 0 = empty, else position + 1 */
    size_t cap, n;
    uint8_t (*leaves)[32];
    uint64_t *idx;
} leafmap;

bool leafmap_get(const leafmap *m, const uint8_t leaf[32], uint64_t *index);
bool leafmap_put(leafmap *m, const uint8_t leaf[32], uint64_t index);
void leafmap_free(leafmap *m);

/* A growable array with room for element n: p itself if n < *cap, else p reallocated to
 * twice *cap (first when empty) and *cap updated. NULL when out of memory (p untouched, still
 * the caller's to free). */
void *grow_array(void *p, size_t *cap, size_t n, size_t elem, size_t first);

/* Growable text. ok turns false at the first allocation failure. */
typedef struct buf {
    char *p;
    size_t len, cap;
    bool ok;
} buf;

void buf_add(buf *b, const char *s, size_t n);
void buf_str(buf *b, const char *s);
void buf_fmt(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_json_str(buf *b, const char *s); /* a JSON string literal of s */
void buf_time(buf *b, int64_t ms);        /* RFC 3339 UTC, ".mmm" only if ms % 1000 != 0 */

/* Days since 1970-01-01 of a civil date, and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
int64_t year_of_ms(int64_t ms);

/* Body field access by dotted path; NULL if absent. */
const json_t *body_get(const json_t *body, const char *path);
/* A count field: true and *v if it is a JSON integer >= 0; values above COUNT_MAX read as
 * COUNT_MAX. */
#define COUNT_MAX 1000000000000000LL
bool body_int(const json_t *body, const char *path, int64_t *v);
/* A date or date-time field as Unix ms (a date is its 00:00:00 UTC); *is_date set. */
bool body_time(const json_t *body, const char *path, int64_t *ms, bool *is_date);
/* A boolean field: true and *v if it is a JSON boolean. */
bool body_bool(const json_t *body, const char *path, bool *v);

/* ---------------------------------------------------------------------------------------
 * The engine.
 */

enum fkind { FK_STATIC, FK_DEADLINE };

enum party_mode { PM_FIELD, PM_TO, PM_ANY, PM_ROLE, PM_SELF, PM_REFS };

typedef struct cond {
    char field[TL_RULE_WORD_MAX + 1];
    bool gt; /* ">" (else ">=") */
    int64_t value;
} cond;

typedef struct finding {
    uint32_t rule;
    uint32_t n; /* sub id, 0 = none */
    uint64_t trigger;
    uint64_t created; /* smallest view size in which the finding exists */
    uint64_t reply;   /* deadline: the entry that answers it, or NONE */
    uint64_t voided;  /* index of the withdrawal, or NONE */
    uint64_t next_trig, next_key;
    uint64_t range_from; /* NONE: the trigger */
    int64_t due_ms;
    int64_t reply_ms; /* met-by time of the reply, or NO_TIME: the reply's logged with bounds */
    int64_t aux_ms;   /* advance-notice: the body time the deadline counts from */
    uint64_t anchor;  /* reply-deadline "anchor receipt": the acknowledgement, or NONE */
    int64_t anchor_due_ms; /* the deadline counted from that acknowledgement's receipt */
    uint8_t kind;
    uint8_t state;     /* FK_STATIC */
    uint8_t void_kind; /* 0: withdrawn, 1: amended so that the rule no longer applies,
                          2: refused (reply-deadline "accept-field") */
    uint8_t nparties;
    char parties[TL_FINDING_PARTIES_MAX][TL_PARTY_LEN + 1];
    uint32_t nent;
    uint64_t *ent; /* further entries, ascending */
    char *why;     /* static: the why; deadline: the description of what is awaited; NULL: derived
                      from the rule and the trigger when listed (rules_desc) */
} finding;

typedef struct entry {
    int64_t logged_ms;
    uint64_t serial;
    char from[2];
    uint16_t type; /* interned, 0 = a type no rule names */
} entry;

typedef struct crule crule; /* a compiled rule (engine.c) */

typedef struct checkpoint {
    uint64_t size;
    int64_t time_s;
    int64_t max_s; /* running maximum of time_s */
} checkpoint;

struct tl_engine {
    const tl_ruleset *rs;
    size_t nrules;
    crule *rules;
    uint32_t *rank; /* rule index -> rank in id order */
    tl_registry *reg;
    strmap types; /* type name -> id (1..) */
    entry *ents;
    uint64_t n;
    size_t ecap;
    leafmap leaves;
    finding *f;
    uint64_t nf;
    size_t fcap;
    u64map trig_head; /* trigger index -> newest finding id with that trigger */
    u64map withdrawn; /* trigger index -> withdrawal index */
    checkpoint *cps;
    size_t ncps, cpcap;
    uint16_t correction_type;
    char **type_names; /* id - 1 -> name */
    /* The rules an entry of type t can concern, in rule order: disp[disp_off[t] ..
     * disp_off[t + 1]) (t = 0: a type no rule names). */
    uint32_t *disp_off, *disp;
};

/* engine.c, for findings.c */
uint64_t rules_first_after(const tl_engine *e, uint64_t from, int64_t ms);
const char *rules_rule_id(const tl_engine *e, uint32_t ri);
const char *rules_rule_severity(const tl_engine *e, uint32_t ri);
const tl_rule *rules_rule(const tl_engine *e, uint32_t ri);
bool rules_rule_met_by(const tl_engine *e, uint32_t ri);
/* The description of a finding whose why is NULL. */
void rules_desc(const tl_engine *e, const finding *f, buf *b);

#endif
