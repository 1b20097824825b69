/* ruleset.c - the treatylog/rules/v1 text format (docs/rules.md): a strict line-oriented
 * parser into rules of built-in kinds with typed, checked parameters. Pure: a buffer in.
 *
 *   file   = header LF { line LF }          header = "treatylog/rules/v1"
 *   line   = [ ws ] [ open | param | "}" ] [ ws ] [ "#" comment ]
 *   open   = "rule" ws rule-id ws kind ws "{"
 *   param  = key { ws word }
 */
#include "treatylog/ruleset.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/text.h"

/* Value types of parameter words (one letter each in the specs below):
 *   t message type   f body field path   i integer   c condition (3 words: field op int)
 *   m month-day MM-DD   p party spec (to | any | role:<role> | field)   w any words
 *   2 two fields   y a message type and a field   z a message type, optionally a field
 *   s severity word   k confidence mark
 *   r match (refs | activity)   g aggregate (activity | per_state)
 *   a anchor (logged | receipt [TYPE [FIELD]])   d month-day and an integer (MM-DD N)
 *   u a message type and two fields   n a message type, a field, a word and a field */
typedef struct keyspec {
    const char *key;
    char type;
    bool required;
    bool multi; /* may be given more than once */
} keyspec;

#define KEYS_MAX 24 /* parameter keys of one kind */

typedef struct kindspec {
    const char *kind;
    keyspec keys[KEYS_MAX];
} kindspec;

#define CONF                                                                                       \
    {                                                                                              \
        "confidence", 'k', true, false                                                             \
    }
#define SEV                                                                                        \
    {                                                                                              \
        "severity", 's', false, false                                                              \
    }

static const kindspec KINDS[] = {
    {"reply-deadline",
     {{"on", 't', true, true},
      {"reply", 't', true, true},
      {"party", 'p', true, false},
      {"hours", 'i', true, false},
      {"met-by", 'f', false, false},
      {"schedule", 'y', false, false},
      {"anchor", 'a', false, false},
      {"from", 'f', false, false},
      {"only-if", 'f', false, false},
      {"unless", 'f', false, false},
      {"when", 'w', false, true},
      {"accept-field", 'f', false, false},
      SEV,
      CONF}},
    {"advance-notice",
     {{"on", 't', true, true},
      {"field", 'f', true, false},
      {"days", 'i', false, false},
      {"grace-hours", 'i', false, false},
      {"hours-before", 'i', false, false},
      {"only-if", 'f', false, false},
      {"unless", 'f', false, false},
      {"when", 'w', false, true},
      SEV,
      CONF}},
    {"threshold",
     {{"on", 't', true, true},
      {"any", 'c', true, true},
      {"require", 't', true, true},
      {"match", 'r', false, false},
      {"by", 'f', false, false},
      {"hours", 'i', false, false},
      {"longer-than-hours", 'i', false, false},
      {"when", 'w', false, true},
      {"only-if", 'f', false, false},
      {"unless", 'f', false, false},
      {"amended-by", 'z', false, true},
      {"aggregate", 'g', false, false},
      {"by-state", 'f', false, false},
      {"by-day", 'd', false, false},
      {"each", 'f', false, false},
      SEV,
      CONF}},
    {"due-date",
     {{"on", 't', true, true},
      {"due", 'm', true, false},
      {"window-days", 'i', false, false},
      SEV,
      CONF}},
    {"quota",
     {{"on", 't', true, false},
      {"reply", 't', true, false},
      {"accept-field", 'f', true, false},
      {"grounds-field", 'f', true, false},
      {"grounds-value", 'w', true, false},
      {"per-year", 'i', true, false},
      {"per-sender", 'i', false, false},
      {"per-sender-divisor", 'i', false, false},
      {"units-from", 'u', false, false},
      {"per-units", 'i', false, false},
      {"unit-field", 'f', false, false},
      {"per-unit", 'i', false, false},
      {"per-unit-sender", 'i', false, false},
      {"beyond", 's', false, false},
      {"notice", 'n', false, false},
      SEV,
      CONF}},
    {"count-limit",
     {{"on", 't', true, true},
      {"any", 'c', true, true},
      {"unless-any", 'c', false, true},
      {"max", 'i', true, false},
      {"years", 'i', false, false},
      {"field", 'f', true, false},
      {"aggregate", 'g', false, false},
      {"by-state", 'f', false, false},
      SEV,
      CONF}},
    {"concurrency",
     {{"on", 't', true, true},
      {"any", 'c', true, true},
      {"max", 'i', true, false},
      {"start", 'f', true, false},
      {"end", 'f', true, false},
      {"aggregate", 'g', false, false},
      {"by-state", 'f', false, false},
      SEV,
      CONF}},
    {"calendar",
     {{"on", 't', true, true},
      {"calendar", 't', true, false},
      {"activities", 'f', true, false},
      {"year", 'f', true, false},
      {"field", 'f', true, false},
      {"flag", 'f', false, false},
      SEV,
      CONF}},
    {"declared-vs-observed",
     {{"on", 't', true, true},
      {"declared", 't', true, true},
      {"pair", '2', true, true},
      {"tolerance-percent", 'i', false, false},
      {"threshold", 'c', false, true},
      {"unreported", 'w', false, false},
      CONF}},
    {"near-threshold",
     {{"on", 't', true, true},
      {"field", 'f', true, false},
      {"threshold", 'i', true, false},
      {"margin-percent", 'i', true, false},
      SEV,
      CONF}},
    {"serial", {SEV, CONF}},
    {"sent-skew", {{"tolerance-seconds", 'i', true, false}, SEV, CONF}},
    {"share-all", {{"on", 't', true, true}, SEV, CONF}},
    {"reply-content",
     {{"on", 't', true, true},
      {"request", 't', true, true},
      {"questions", 'f', true, false},
      {"answers", 'f', true, false},
      SEV,
      CONF}},
    {"absent", {{"on", 't', true, true}, {"list", 'f', true, false}, SEV, CONF}},
    {"peak-from-stages",
     {{"on", 't', true, true},
      {"field", 'f', true, false},
      {"stages", 'f', true, false},
      {"count", 'f', true, false},
      SEV,
      CONF}},
    {"operator-time", {{"tolerance-seconds", 'i', false, false}, CONF}},
    {"field-span",
     {{"on", 't', true, true},
      {"from", 'f', true, false},
      {"to", 'f', true, false},
      {"max-hours", 'i', false, false},
      {"min-hours", 'i', false, false},
      {"from-in", 't', false, false},
      {"when", 'w', false, true},
      SEV,
      CONF}},
    {"limit",
     {{"on", 't', true, true}, {"any", 'c', true, true}, {"when", 'w', false, true}, SEV, CONF}},
    {"withdrawal", {{"on", 't', true, true}, {"when", 'w', false, true}, CONF}},
    {"linked",
     {{"on", 't', true, true},
      {"any", 'c', true, true},
      {"distance-km", 'i', true, false},
      {"overlap-days", 'i', false, false},
      {"start", 'f', true, false},
      {"end", 'f', true, false},
      {"area", 'f', true, false},
      {"only-if", 'f', false, false},
      {"unless", 'f', false, false},
      SEV,
      CONF}},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

#define MAX_WORDS     8
#define INT_MAX_PARAM 1000000000000LL

typedef struct param {
    const keyspec *spec;
    unsigned line;
    size_t nwords;
    char words[MAX_WORDS][TL_RULE_WORD_MAX + 1];
} param;

struct tl_rule {
    char id[TL_RULE_ID_MAX + 1];
    const kindspec *kind;
    unsigned line;
    char confidence[3];
    size_t nparams;
    param params[TL_RULE_PARAMS_MAX];
    char *params_json;
};

struct tl_ruleset {
    size_t nrules;
    tl_rule *rules;
};

/* ---------------------------------------------------------------------------------------
 * Word checks.
 */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9.-]* : rule ids and message types. */
static bool valid_id(const char *s)
{
    if (!is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; s[i]; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* name ("." name)*, name = [a-z_][a-z0-9_]* */
static bool valid_field(const char *s)
{
    bool start = true;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (start) {
            if (!((c >= 'a' && c <= 'z') || c == '_'))
                return false;
            start = false;
        } else if (c == '.') {
            start = true;
        } else if (!is_lower_alnum(c) && c != '_') {
            return false;
        }
    }
    return !start;
}

static bool parse_int(const char *s, int64_t *out)
{
    if (!s[0] || (s[0] == '0' && s[1]))
        return false;
    int64_t v = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > INT_MAX_PARAM)
            return false;
    }
    *out = v;
    return true;
}

static bool valid_mmdd(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 5 || s[2] != '-')
        return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int m = (s[0] - '0') * 10 + (s[1] - '0');
    int dd = (s[3] - '0') * 10 + (s[4] - '0');
    return m >= 1 && m <= 12 && dd >= 1 && dd <= mdays[m - 1];
}

/* ---------------------------------------------------------------------------------------
 * Tokenising one line.
 */

typedef struct tok {
    const char *s;
    size_t len;
    unsigned col;
} tok;

typedef struct pctx {
    const char *name;
    tl_diag *d;
} pctx;

static tl_err perr(const pctx *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static tl_err perr(const pctx *p, unsigned line, unsigned col, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->name)
        return tl_fail(p->d, TL_ERR_FORMAT, "%s:%u:%u: %s", p->name, line, col, what);
    return tl_fail(p->d, TL_ERR_FORMAT, "%u:%u: %s", line, col, what);
}

/* A printable quote of a token for messages (cut to 64 bytes). */
static const char *quote(char buf[80], const tok *t)
{
    size_t n = t->len > 64 ? 64 : t->len;
    memcpy(buf, t->s, n);
    buf[n] = 0;
    return buf;
}

#define MAX_TOKS 12

/* Splits line[0..len) into tokens; checks characters. Returns TL_OK or an error. */
static tl_err tokenize(const pctx *p, unsigned lineno, const char *line, size_t len, tok *toks,
                       size_t *ntoks)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)line[i];
        if (c == ' ' || c == '\t') {
            i++;
            continue;
        }
        if (c == '#') {
            /* Comment: any UTF-8 text; no control characters but tab. */
            for (size_t j = i; j < len; j++) {
                unsigned char cj = (unsigned char)line[j];
                if ((cj < 0x20 && cj != '\t') || cj == 0x7f)
                    return perr(p, lineno, (unsigned)(j + 1), "control character in a comment");
            }
            if (!tl_utf8_valid((const uint8_t *)line + i, len - i))
                return perr(p, lineno, (unsigned)(i + 1), "comment is not valid UTF-8");
            break;
        }
        if (c == '\r')
            return perr(p, lineno, (unsigned)(i + 1), "carriage return (lines end with LF only)");
        if (c < 0x20 || c >= 0x7f)
            return perr(p, lineno, (unsigned)(i + 1),
                        "control or non-ASCII character outside a comment");
        if (c == '"')
            return perr(p, lineno, (unsigned)(i + 1), "quotes are not part of the syntax");
        size_t start = i;
        if (c == '{' || c == '}') {
            i++;
        } else {
            while (i < len) {
                unsigned char cc = (unsigned char)line[i];
                if (cc <= ' ' || cc >= 0x7f || cc == '#' || cc == '{' || cc == '}' || cc == '"')
                    break;
                i++;
            }
        }
        if (n == MAX_TOKS)
            return perr(p, lineno, (unsigned)(start + 1), "too many words on one line");
        toks[n].s = line + start;
        toks[n].len = i - start;
        toks[n].col = (unsigned)(start + 1);
        n++;
    }
    *ntoks = n;
    return TL_OK;
}

static bool tok_is(const tok *t, const char *s)
{
    return strlen(s) == t->len && memcmp(t->s, s, t->len) == 0;
}

/* ---------------------------------------------------------------------------------------
 * Rules.
 */

static const keyspec *find_key(const kindspec *k, const tok *t)
{
    for (size_t i = 0; i < KEYS_MAX && k->keys[i].key; i++)
        if (tok_is(t, k->keys[i].key))
            return &k->keys[i];
    return NULL;
}

/* The largest value of an integer parameter: time spans at most 100 years, so that no
 * deadline arithmetic can overflow and no ruleset can make the engine loop for long. */
static int64_t int_cap(const char *key)
{
    static const struct {
        const char *key;
        int64_t cap;
    } caps[] = {
        {"hours", 876000},
        {"grace-hours", 876000},
        {"hours-before", 876000},
        {"longer-than-hours", 876000},
        {"days", 36500},
        {"window-days", 36500},
        {"years", 100},
        {"tolerance-seconds", 3153600000LL},
        {"tolerance-percent", 1000},
        {"margin-percent", 100},
        {"max-hours", 876000},
        {"min-hours", 876000},
        {"per-sender-divisor", 1000},
        {"distance-km", 40000},
        {"overlap-days", 36500},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (!strcmp(caps[i].key, key))
            return caps[i].cap;
    return INT_MAX_PARAM;
}

/* Checks the words of one parameter line against its type. */
static tl_err check_words(const pctx *p, unsigned lineno, const keyspec *ks, const tok *w,
                          size_t nw)
{
    char q[80];
    size_t want = 1;
    if (ks->type == 'c' || ks->type == 'u')
        want = 3;
    else if (ks->type == '2' || ks->type == 'y' || ks->type == 'd')
        want = 2;
    else if (ks->type == 'n')
        want = 4;
    if (ks->type == 'a' && (nw < 1 || nw > 3)) {
        unsigned col = nw > 3 ? w[3].col : (nw ? w[nw - 1].col : 1);
        return perr(p, lineno, col,
                    "parameter \"%s\" takes logged, or receipt and an optional message type and "
                    "field",
                    ks->key);
    }
    if (ks->type == 'z' && (nw < 1 || nw > 2)) {
        unsigned col = nw > 2 ? w[2].col : (nw ? w[nw - 1].col : 1);
        return perr(p, lineno, col, "parameter \"%s\" takes a message type and an optional field",
                    ks->key);
    }
    if (ks->type == 'a') {
        /* checked above */
    } else if (ks->type == 'w' || ks->type == 'z') {
        if (nw < 1 || nw > MAX_WORDS)
            return perr(p, lineno, w[0].col - 1, "parameter \"%s\" takes 1 to 8 words", ks->key);
    } else if (nw != want) {
        char what[120];
        snprintf(what, sizeof what, "parameter \"%s\" takes %zu word%s", ks->key, want,
                 want == 1 ? "" : "s");
        unsigned col = nw > want ? w[want].col : (nw ? w[nw - 1].col : 1);
        return perr(p, lineno, col, "%s", what);
    }
    for (size_t i = 0; i < nw; i++) {
        if (w[i].len > TL_RULE_WORD_MAX)
            return perr(p, lineno, w[i].col, "word longer than 64 bytes");
        if (w[i].s[0] == '{' || w[i].s[0] == '}')
            return perr(p, lineno, w[i].col, "unexpected \"%s\"", quote(q, &w[i]));
    }
    char s[TL_RULE_WORD_MAX + 1];
    memcpy(s, w[0].s, w[0].len);
    s[w[0].len] = 0;
    int64_t v;
    switch (ks->type) {
    case 't':
        if (!valid_id(s))
            return perr(p, lineno, w[0].col, "bad message type \"%s\"", s);
        break;
    case 'f':
        if (!valid_field(s))
            return perr(p, lineno, w[0].col, "bad field name \"%s\"", s);
        break;
    case 'i':
        if (!parse_int(s, &v))
            return perr(p, lineno, w[0].col,
                        "bad integer \"%s\" (decimal, no sign or leading zero, at most 10^12)", s);
        if (v > int_cap(ks->key))
            return perr(p, lineno, w[0].col, "%s %s is more than %lld", ks->key, s,
                        (long long)int_cap(ks->key));
        break;
    case 'm':
        if (!valid_mmdd(s))
            return perr(p, lineno, w[0].col, "bad date \"%s\" (want MM-DD)", s);
        break;
    case 'p':
        if (strcmp(s, "to") && strcmp(s, "any") &&
            !(strncmp(s, "role:", 5) == 0 && s[5] && valid_id(s + 5)) && !valid_field(s))
            return perr(p, lineno, w[0].col,
                        "bad party \"%s\" (want to, any, role:<role> or a body field)", s);
        break;
    case 's':
        if (strcmp(s, "breach") && strcmp(s, "advisory") && strcmp(s, "missed") &&
            strcmp(s, "late"))
            return perr(p, lineno, w[0].col,
                        "bad severity \"%s\" (want breach, advisory, missed or late)", s);
        break;
    case 'k':
        if (strcmp(s, "C") && strcmp(s, "V") && strcmp(s, "P") && strcmp(s, "PC"))
            return perr(p, lineno, w[0].col, "bad confidence \"%s\" (want C, V, P or PC)", s);
        break;
    case 'r':
        if (strcmp(s, "refs") && strcmp(s, "activity"))
            return perr(p, lineno, w[0].col, "bad match \"%s\" (want refs or activity)", s);
        break;
    case 'c': {
        if (!valid_field(s))
            return perr(p, lineno, w[0].col, "bad field name \"%s\"", s);
        if (!tok_is(&w[1], ">=") && !tok_is(&w[1], ">"))
            return perr(p, lineno, w[1].col, "bad comparison \"%s\" (want >= or >)",
                        quote(q, &w[1]));
        char s2[TL_RULE_WORD_MAX + 1];
        memcpy(s2, w[2].s, w[2].len);
        s2[w[2].len] = 0;
        if (!parse_int(s2, &v))
            return perr(p, lineno, w[2].col, "bad integer \"%s\"", s2);
        break;
    }
    case 'g':
        if (strcmp(s, "activity") && strcmp(s, "per_state"))
            return perr(p, lineno, w[0].col, "bad aggregate \"%s\" (want activity or per_state)",
                        s);
        break;
    case 'a': {
        if (!strcmp(s, "logged")) {
            if (nw > 1)
                return perr(p, lineno, w[1].col, "anchor logged takes no further words");
            break;
        }
        if (strcmp(s, "receipt"))
            return perr(p, lineno, w[0].col, "bad anchor \"%s\" (want logged or receipt)", s);
        for (size_t i = 1; i < nw; i++) {
            char s2[TL_RULE_WORD_MAX + 1];
            memcpy(s2, w[i].s, w[i].len);
            s2[w[i].len] = 0;
            if (i == 1 && !valid_id(s2))
                return perr(p, lineno, w[i].col, "bad message type \"%s\"", s2);
            if (i == 2 && !valid_field(s2))
                return perr(p, lineno, w[i].col, "bad field name \"%s\"", s2);
        }
        break;
    }
    case 'd': {
        if (!valid_mmdd(s))
            return perr(p, lineno, w[0].col, "bad date \"%s\" (want MM-DD)", s);
        char s2[TL_RULE_WORD_MAX + 1];
        memcpy(s2, w[1].s, w[1].len);
        s2[w[1].len] = 0;
        if (!parse_int(s2, &v) || v > 100)
            return perr(p, lineno, w[1].col, "bad number of years \"%s\" (0 to 100)", s2);
        break;
    }
    case 'u':
    case 'n':
        if (!valid_id(s))
            return perr(p, lineno, w[0].col, "bad message type \"%s\"", s);
        for (size_t i = 1; i < nw; i++) {
            if (ks->type == 'n' && i == 2)
                continue; /* a value: any word */
            char s2[TL_RULE_WORD_MAX + 1];
            memcpy(s2, w[i].s, w[i].len);
            s2[w[i].len] = 0;
            if (!valid_field(s2))
                return perr(p, lineno, w[i].col, "bad field name \"%s\"", s2);
        }
        break;
    case 'z':
        if (!valid_id(s))
            return perr(p, lineno, w[0].col, "bad message type \"%s\"", s);
        if (nw == 2) {
            char s2[TL_RULE_WORD_MAX + 1];
            memcpy(s2, w[1].s, w[1].len);
            s2[w[1].len] = 0;
            if (!valid_field(s2))
                return perr(p, lineno, w[1].col, "bad field name \"%s\"", s2);
        }
        break;
    case 'y': {
        if (!valid_id(s))
            return perr(p, lineno, w[0].col, "bad message type \"%s\"", s);
        char s2[TL_RULE_WORD_MAX + 1];
        memcpy(s2, w[1].s, w[1].len);
        s2[w[1].len] = 0;
        if (!valid_field(s2))
            return perr(p, lineno, w[1].col, "bad field name \"%s\"", s2);
        break;
    }
    case '2':
        for (size_t i = 0; i < 2; i++) {
            char s2[TL_RULE_WORD_MAX + 1];
            memcpy(s2, w[i].s, w[i].len);
            s2[w[i].len] = 0;
            if (!valid_field(s2))
                return perr(p, lineno, w[i].col, "bad field name \"%s\"", s2);
        }
        break;
    default:
        break;
    }
    return TL_OK;
}

/* Appends the JSON string of s to the buffer. */
static bool jb_add(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap + n + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return false;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return true;
}

/* Words never contain '"' or '\\' or controls (tokenize), so they are JSON-safe as they are. */
static bool jb_value(char **b, size_t *l, size_t *c, const param *pm)
{
    if (pm->spec->type == 'i')
        return jb_add(b, l, c, pm->words[0]);
    if (!jb_add(b, l, c, "\""))
        return false;
    for (size_t i = 0; i < pm->nwords; i++)
        if ((i && !jb_add(b, l, c, " ")) || !jb_add(b, l, c, pm->words[i]))
            return false;
    return jb_add(b, l, c, "\"");
}

static tl_err build_params_json(tl_rule *r)
{
    char *b = NULL;
    size_t l = 0, c = 0;
    bool ok = jb_add(&b, &l, &c, "{");
    bool first = true;
    for (size_t i = 0; ok && i < r->nparams; i++) {
        const param *pm = &r->params[i];
        if (!strcmp(pm->spec->key, "confidence") || !strcmp(pm->spec->key, "severity"))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || r->params[j].spec == pm->spec;
        if (seen)
            continue;
        size_t count = 0;
        for (size_t j = i; j < r->nparams; j++)
            count += r->params[j].spec == pm->spec;
        ok = ok && (first || jb_add(&b, &l, &c, ",")) && jb_add(&b, &l, &c, "\"") &&
             jb_add(&b, &l, &c, pm->spec->key) && jb_add(&b, &l, &c, "\":");
        first = false;
        if (count > 1)
            ok = ok && jb_add(&b, &l, &c, "[");
        bool f2 = true;
        for (size_t j = i; ok && j < r->nparams; j++) {
            if (r->params[j].spec != pm->spec)
                continue;
            ok = (f2 || jb_add(&b, &l, &c, ",")) && jb_value(&b, &l, &c, &r->params[j]);
            f2 = false;
        }
        if (count > 1)
            ok = ok && jb_add(&b, &l, &c, "]");
    }
    ok = ok && jb_add(&b, &l, &c, "}");
    if (!ok) {
        free(b);
        return TL_ERR_NOMEM;
    }
    r->params_json = b;
    return TL_OK;
}

/* Checks a finished rule: required keys, single keys, kind-specific combinations. */
static tl_err finish_rule(const pctx *p, tl_rule *r, unsigned close_line, unsigned close_col)
{
    const kindspec *k = r->kind;
    for (size_t i = 0; i < KEYS_MAX && k->keys[i].key; i++) {
        size_t count = tl_rule_param_count(r, k->keys[i].key);
        if (k->keys[i].required && count == 0) {
            char what[160];
            snprintf(what, sizeof what, "rule %s: missing parameter \"%s\"", r->id, k->keys[i].key);
            return perr(p, close_line, close_col, "%s", what);
        }
    }
    const char *kind = k->kind;
    if (!strcmp(kind, "advance-notice") &&
        (tl_rule_param_count(r, "days") + tl_rule_param_count(r, "grace-hours") +
         tl_rule_param_count(r, "hours-before")) != 1)
        return perr(p, close_line, close_col,
                    "rule %s: advance-notice takes exactly one of \"days\", \"hours-before\" "
                    "and \"grace-hours\"",
                    r->id);
    if (!strcmp(kind, "threshold") && tl_rule_param_count(r, "by") &&
        tl_rule_param_count(r, "hours"))
        return perr(p, close_line, close_col,
                    "rule %s: threshold takes at most one of \"by\" and \"hours\"", r->id);
    const char *anc = tl_rule_param(r, "anchor", 0, 0);
    if (!strcmp(kind, "reply-deadline") && anc && !strcmp(anc, "receipt") &&
        tl_rule_param_count(r, "from"))
        return perr(p, close_line, close_col,
                    "rule %s: reply-deadline takes at most one of \"from\" and \"anchor receipt\"",
                    r->id);
    const char *mt = tl_rule_param(r, "match", 0, 0);
    if (!strcmp(kind, "threshold") && tl_rule_param_count(r, "each") &&
        (!mt || strcmp(mt, "activity") || tl_rule_param_count(r, "amended-by")))
        return perr(p, close_line, close_col,
                    "rule %s: \"each\" needs \"match activity\" and takes no \"amended-by\"",
                    r->id);
    if (!strcmp(kind, "threshold") && tl_rule_param_count(r, "by-day") &&
        !tl_rule_param_count(r, "by"))
        return perr(p, close_line, close_col, "rule %s: \"by-day\" needs \"by\"", r->id);
    if (!strcmp(kind, "quota")) {
        if (tl_rule_param_count(r, "per-sender") + tl_rule_param_count(r, "per-sender-divisor") !=
            1)
            return perr(p, close_line, close_col,
                        "rule %s: quota takes exactly one of \"per-sender\" and "
                        "\"per-sender-divisor\"",
                        r->id);
        if (tl_rule_param_int(r, "per-sender-divisor", 1) < 1 ||
            tl_rule_param_int(r, "per-units", 1) < 1)
            return perr(p, close_line, close_col,
                        "rule %s: \"per-sender-divisor\" and \"per-units\" must be at least 1",
                        r->id);
        if (tl_rule_param_count(r, "per-units") != tl_rule_param_count(r, "units-from"))
            return perr(p, close_line, close_col,
                        "rule %s: \"per-units\" and \"units-from\" go together", r->id);
        if ((tl_rule_param_count(r, "per-unit") || tl_rule_param_count(r, "per-unit-sender")) &&
            !tl_rule_param_count(r, "unit-field"))
            return perr(p, close_line, close_col,
                        "rule %s: \"per-unit\" and \"per-unit-sender\" need \"unit-field\"", r->id);
    }
    const char *unrep = tl_rule_param(r, "unreported", 0, 0);
    if (unrep && (strcmp(unrep, "below") || tl_rule_param(r, "unreported", 0, 1)))
        return perr(p, close_line, close_col, "rule %s: \"unreported\" takes the word below",
                    r->id);
    if (!strcmp(kind, "field-span") &&
        tl_rule_param_count(r, "max-hours") + tl_rule_param_count(r, "min-hours") != 1)
        return perr(p, close_line, close_col,
                    "rule %s: field-span takes exactly one of \"max-hours\" and \"min-hours\"",
                    r->id);
    if (!strcmp(kind, "linked") && tl_rule_param_int(r, "overlap-days", 1) < 1)
        return perr(p, close_line, close_col, "rule %s: \"overlap-days\" must be at least 1",
                    r->id);
    if (!strcmp(kind, "count-limit") && tl_rule_param_int(r, "years", 1) < 1)
        return perr(p, close_line, close_col, "rule %s: \"years\" must be at least 1", r->id);
    const char *conf = tl_rule_param(r, "confidence", 0, 0);
    snprintf(r->confidence, sizeof r->confidence, "%s", conf ? conf : "P");
    tl_err e = build_params_json(r);
    if (e != TL_OK)
        return tl_fail(p->d, e, "out of memory");
    return TL_OK;
}

void tl_ruleset_free(tl_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nrules; i++)
        free(rs->rules[i].params_json);
    free(rs->rules);
    free(rs);
}

tl_err tl_ruleset_parse(tl_ruleset **out, const char *name, const char *text, size_t len,
                        tl_diag *d)
{
    *out = NULL;
    pctx p = {name, d};
    if (len > TL_RULESET_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "%s%sruleset larger than %u bytes", name ? name : "",
                       name ? ": " : "", TL_RULESET_MAX);
    tl_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return tl_fail(d, TL_ERR_NOMEM, "out of memory");
    size_t cap = 0;
    tl_rule *cur = NULL;
    unsigned lineno = 0;
    size_t pos = 0;
    bool header = false;
    tl_err e = TL_OK;
    char q[80];
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl) {
            e = perr(&p, lineno, (unsigned)(len - pos + 1), "missing LF at the end of the file");
            goto fail;
        }
        const char *line = text + pos;
        size_t ll = (size_t)(nl - line);
        pos += ll + 1;
        if (memchr(line, 0, ll)) {
            e = perr(&p, lineno, (unsigned)((const char *)memchr(line, 0, ll) - line + 1),
                     "NUL byte");
            goto fail;
        }
        if (!header) {
            if (ll != strlen(TL_RULESET_HEADER) || memcmp(line, TL_RULESET_HEADER, ll) != 0) {
                e = perr(&p, lineno, 1, "the first line must be \"%s\"", TL_RULESET_HEADER);
                goto fail;
            }
            header = true;
            continue;
        }
        tok t[MAX_TOKS];
        size_t nt = 0;
        e = tokenize(&p, lineno, line, ll, t, &nt);
        if (e != TL_OK)
            goto fail;
        if (nt == 0)
            continue;
        if (!cur) {
            if (!tok_is(&t[0], "rule")) {
                e = perr(&p, lineno, t[0].col, "expected \"rule\", found \"%s\"", quote(q, &t[0]));
                goto fail;
            }
            if (nt < 2 || t[1].len > TL_RULE_ID_MAX) {
                e = perr(&p, lineno, nt < 2 ? t[0].col + 4 : t[1].col,
                         nt < 2 ? "expected a rule id" : "rule id longer than 64 bytes");
                goto fail;
            }
            char id[TL_RULE_ID_MAX + 1];
            memcpy(id, t[1].s, t[1].len);
            id[t[1].len] = 0;
            if (!valid_id(id)) {
                e = perr(&p, lineno, t[1].col, "bad rule id \"%s\" (want [a-z0-9][a-z0-9.-]*)", id);
                goto fail;
            }
            if (tl_ruleset_find(rs, id)) {
                e = perr(&p, lineno, t[1].col, "duplicate rule id \"%s\"", id);
                goto fail;
            }
            if (nt < 3) {
                e = perr(&p, lineno, t[1].col + (unsigned)t[1].len, "expected a rule kind");
                goto fail;
            }
            const kindspec *k = NULL;
            for (size_t i = 0; i < NKINDS; i++)
                if (tok_is(&t[2], KINDS[i].kind))
                    k = &KINDS[i];
            if (!k) {
                e = perr(&p, lineno, t[2].col, "unknown rule kind \"%s\"", quote(q, &t[2]));
                goto fail;
            }
            if (nt < 4 || !tok_is(&t[3], "{")) {
                e = perr(&p, lineno, nt < 4 ? t[2].col + (unsigned)t[2].len : t[3].col,
                         "expected \"{\" after the rule kind");
                goto fail;
            }
            if (nt > 4) {
                e = perr(&p, lineno, t[4].col, "text after \"{\"");
                goto fail;
            }
            if (rs->nrules == TL_RULESET_RULES_MAX) {
                e = perr(&p, lineno, 1, "more than 1024 rules");
                goto fail;
            }
            if (rs->nrules == cap) {
                size_t nc = cap ? cap * 2 : 16;
                tl_rule *nr = realloc(rs->rules, nc * sizeof *nr);
                if (!nr) {
                    e = tl_fail(d, TL_ERR_NOMEM, "out of memory");
                    goto fail;
                }
                rs->rules = nr;
                cap = nc;
            }
            cur = &rs->rules[rs->nrules];
            memset(cur, 0, sizeof *cur);
            memcpy(cur->id, id, sizeof id);
            cur->kind = k;
            cur->line = lineno;
            continue;
        }
        /* Inside a rule. */
        if (tok_is(&t[0], "}")) {
            if (nt > 1) {
                e = perr(&p, lineno, t[1].col, "text after \"}\"");
                goto fail;
            }
            rs->nrules++; /* so that a failure frees its params_json */
            e = finish_rule(&p, cur, lineno, t[0].col);
            if (e != TL_OK)
                goto fail;
            cur = NULL;
            continue;
        }
        if (tok_is(&t[0], "rule") || tok_is(&t[0], "{")) {
            e = perr(&p, lineno, t[0].col, "unexpected \"%s\" inside a rule (missing \"}\"?)",
                     quote(q, &t[0]));
            goto fail;
        }
        const keyspec *ks = find_key(cur->kind, &t[0]);
        if (!ks) {
            char what[200];
            snprintf(what, sizeof what, "unknown parameter \"%s\" for kind %s", quote(q, &t[0]),
                     cur->kind->kind);
            e = perr(&p, lineno, t[0].col, "%s", what);
            goto fail;
        }
        if (!ks->multi && tl_rule_param_count(cur, ks->key) > 0) {
            e = perr(&p, lineno, t[0].col, "parameter \"%s\" given twice", ks->key);
            goto fail;
        }
        if (cur->nparams == TL_RULE_PARAMS_MAX) {
            e = perr(&p, lineno, t[0].col, "more than 32 parameters in one rule");
            goto fail;
        }
        if (nt == 1) {
            e = perr(&p, lineno, t[0].col + (unsigned)t[0].len, "parameter \"%s\" needs a value",
                     ks->key);
            goto fail;
        }
        e = check_words(&p, lineno, ks, t + 1, nt - 1);
        if (e != TL_OK)
            goto fail;
        param *pm = &cur->params[cur->nparams++];
        pm->spec = ks;
        pm->line = lineno;
        pm->nwords = nt - 1;
        for (size_t i = 1; i < nt; i++) {
            memcpy(pm->words[i - 1], t[i].s, t[i].len);
            pm->words[i - 1][t[i].len] = 0;
        }
    }
    if (!header) {
        e = perr(&p, 1, 1, "empty ruleset (the first line must be \"%s\")", TL_RULESET_HEADER);
        goto fail;
    }
    if (cur) {
        e = perr(&p, lineno + 1, 1, "end of file inside rule %s (missing \"}\")", cur->id);
        goto fail;
    }
    *out = rs;
    return TL_OK;
fail:
    tl_ruleset_free(rs);
    return e;
}

size_t tl_ruleset_count(const tl_ruleset *rs)
{
    return rs->nrules;
}

const tl_rule *tl_ruleset_rule(const tl_ruleset *rs, size_t i)
{
    return i < rs->nrules ? &rs->rules[i] : NULL;
}

const tl_rule *tl_ruleset_find(const tl_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->nrules; i++)
        if (!strcmp(rs->rules[i].id, id))
            return &rs->rules[i];
    return NULL;
}

const char *tl_rule_id(const tl_rule *r)
{
    return r->id;
}

const char *tl_rule_kind(const tl_rule *r)
{
    return r->kind->kind;
}

const char *tl_rule_confidence(const tl_rule *r)
{
    return r->confidence;
}

unsigned tl_rule_line(const tl_rule *r)
{
    return r->line;
}

const char *tl_rule_params_json(const tl_rule *r)
{
    return r->params_json ? r->params_json : "{}";
}

size_t tl_rule_param_count(const tl_rule *r, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nparams; i++)
        n += strcmp(r->params[i].spec->key, key) == 0;
    return n;
}

const char *tl_rule_param(const tl_rule *r, const char *key, size_t occ, size_t word)
{
    for (size_t i = 0; i < r->nparams; i++) {
        if (strcmp(r->params[i].spec->key, key) != 0)
            continue;
        if (occ-- > 0)
            continue;
        return word < r->params[i].nwords ? r->params[i].words[word] : NULL;
    }
    return NULL;
}

int64_t tl_rule_param_int(const tl_rule *r, const char *key, int64_t dflt)
{
    const char *s = tl_rule_param(r, key, 0, 0);
    int64_t v;
    if (!s || !parse_int(s, &v))
        return dflt;
    return v;
}
