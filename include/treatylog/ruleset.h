/* ruleset.h - treatylog rulesets (DESIGN §6): the text files of rules/ parsed into rules whose
 * kinds are built in and whose parameters are data. Grammar and semantics: docs/rules.md.
 *
 *   treatylog/rules/v1
 *   # a comment
 *   rule vd11.ch3.reply-48h reply-deadline {
 *       on vd11.ch3.explanation-request
 *       reply vd11.ch3.explanation-reply
 *       party concerning
 *       hours 48          # C: Ukrainian MFA, 11 Feb 2022
 *       confidence C
 *   }
 *
 * Parsing is strict and pure (a buffer in, no I/O): unknown kinds, unknown or missing
 * parameters, bad values, duplicate rule ids, control characters and non-ASCII outside
 * comments are errors that name line and column ("vd11.rules:12:7: unknown rule kind ...").
 *
 * THREAD SAFETY: a parsed ruleset is read-only; any number of threads may read it at once.
 */
#ifndef TREATYLOG_RULESET_H
#define TREATYLOG_RULESET_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"

#define TL_RULESET_HEADER    "treatylog/rules/v1"
#define TL_RULESET_MAX       (1u << 20) /* largest ruleset text, bytes */
#define TL_RULESET_RULES_MAX 1024       /* rules in one ruleset */
#define TL_RULE_ID_MAX       64         /* a rule id, bytes */
#define TL_RULE_WORD_MAX     64         /* one parameter value, bytes */
#define TL_RULE_PARAMS_MAX   32         /* parameter lines in one rule */

typedef struct tl_ruleset tl_ruleset;
typedef struct tl_rule tl_rule;

/* Parses a ruleset text text[0..len). name (e.g. "vd11.rules", may be NULL) prefixes error
 * messages: "<name>:<line>:<column>: <what>" (without a name, "<line>:<column>: <what>").
 * On TL_OK *out is a new ruleset (free with tl_ruleset_free). On error *out is NULL, nothing
 * is allocated, and the result is TL_ERR_FORMAT, TL_ERR_TOOBIG (over TL_RULESET_MAX) or
 * TL_ERR_NOMEM, with the message in d. */
TL_MUST_CHECK tl_err tl_ruleset_parse(tl_ruleset **out, const char *name, const char *text,
                                      size_t len, tl_diag *d);

/* Frees a ruleset. NULL-safe. Rules obtained from it become invalid. */
void tl_ruleset_free(tl_ruleset *rs);

/* Number of rules, in file order. */
size_t tl_ruleset_count(const tl_ruleset *rs);

/* The i-th rule (0 <= i < tl_ruleset_count), or NULL past the end. */
const tl_rule *tl_ruleset_rule(const tl_ruleset *rs, size_t i);

/* The rule with this id, or NULL. */
const tl_rule *tl_ruleset_find(const tl_ruleset *rs, const char *id);

/* The rule's id ("vd11.ch3.reply-48h"), kind ("reply-deadline"), confidence mark ("C", "V",
 * "P" or "PC") and the line of its "rule" header. Never NULL. */
const char *tl_rule_id(const tl_rule *r);
const char *tl_rule_kind(const tl_rule *r);
const char *tl_rule_confidence(const tl_rule *r);
unsigned tl_rule_line(const tl_rule *r);

/* The rule's parameters as canonical JSON, the "params" member of a finding: an object with
 * the parameter keys in file order (confidence and severity left out); a key given once maps
 * to its value (an integer parameter as a JSON integer, anything else as a string, words of one
 * line joined by one space), a key given several times to an array of those. Never NULL. */
const char *tl_rule_params_json(const tl_rule *r);

/* How many times parameter `key` is given in the rule (0 if never). */
size_t tl_rule_param_count(const tl_rule *r, const char *key);

/* Word `word` (0-based) of the occurrence `occ` (0-based) of parameter `key`, NUL-terminated,
 * or NULL if there is no such occurrence or word. */
const char *tl_rule_param(const tl_rule *r, const char *key, size_t occ, size_t word);

/* The integer value of the first word of the first occurrence of `key` (integer parameters
 * are checked by the parser: decimal, no sign, no leading zero, at most 10^12), or dflt when
 * the parameter is absent. */
int64_t tl_rule_param_int(const tl_rule *r, const char *key, int64_t dflt);

#endif
