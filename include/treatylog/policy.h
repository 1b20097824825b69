/* policy.h - C2SP tlog-policy (line format): which logs and witnesses a client trusts and
 * which witness quorum a checkpoint must meet.
 *
 *   log <vkey> [<url>] | witness <name> <vkey> [<url>] | group <name> all|any|<k> <m>...
 *   quorum <name>|none | # comment
 *
 * tl_policy is caller-owned and fixed-size (large: allocate it with tl_policy_new()).
 * Thread-safe for concurrent reads once parsed.
 */
#ifndef TREATYLOG_POLICY_H
#define TREATYLOG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/checkpoint.h"
#include "treatylog/err.h"
#include "treatylog/key.h"
#include "treatylog/note.h"

#define TL_POLICY_LOGS_MAX 64
#define TL_POLICY_WITNESSES_MAX 64
#define TL_POLICY_GROUPS_MAX 64
#define TL_POLICY_NAME_MAX 255
#define TL_POLICY_URL_MAX 1024
#define TL_POLICY_TEXT_MAX (1 << 20)

typedef struct tl_policy_log {
    tl_vkey key;
    char url[TL_POLICY_URL_MAX + 1]; /* "" if none */
} tl_policy_log;

typedef struct tl_policy_witness {
    char name[TL_POLICY_NAME_MAX + 1];
    tl_vkey key; /* type TL_KEY_COSIG_V1 */
    char url[TL_POLICY_URL_MAX + 1];
} tl_policy_witness;

/* Members refer to earlier names: index < 0 is witness (-1 - i), index >= 0 is group i. */
typedef struct tl_policy_group {
    char name[TL_POLICY_NAME_MAX + 1];
    unsigned k;
    unsigned nmembers;
    int members[TL_POLICY_WITNESSES_MAX + TL_POLICY_GROUPS_MAX];
} tl_policy_group;

typedef struct tl_policy {
    size_t nlogs, nwitnesses, ngroups;
    tl_policy_log logs[TL_POLICY_LOGS_MAX];
    tl_policy_witness witnesses[TL_POLICY_WITNESSES_MAX];
    tl_policy_group groups[TL_POLICY_GROUPS_MAX];
    bool quorum_none; /* "quorum none" */
    int quorum;       /* same encoding as group members */
} tl_policy;

/* Allocates a zeroed policy (free with free()). NULL when out of memory. */
tl_policy *tl_policy_new(void);

/* Parses policy text strictly (allowed bytes, every line ends in LF, names defined before use,
 * no duplicate names or keys, exactly one quorum line, 1 <= k <= n). Errors name the line:
 * "policy line 4: group X-witnesses: unknown member X4". TL_OK or TL_ERR_FORMAT (then *out is
 * zeroed). Log keys must be type 0x01 and witness keys type 0x04; besides duplicate public
 * keys, two keys sharing (name, id) are rejected, as they would make signatures ambiguous. */
TL_MUST_CHECK tl_err tl_policy_parse(tl_policy *out, const char *text, size_t len, tl_diag *d);

/* Fills a policy that trusts one log key and requires no witnesses ("quorum none"). */
void tl_policy_single_log(tl_policy *out, const tl_vkey *logkey);

/* Checks a signed checkpoint note against the policy: a listed log's signature verifies, the
 * text parses as a checkpoint, and the quorum is satisfied by valid cosignatures of listed
 * witnesses (a listed witness's line that fails to verify rejects the note). A log's key
 * name must equal the checkpoint origin for its signature to count. On TL_OK, *cp holds the
 * checkpoint and, if times is non-NULL, times[i] the cosignature time of witness i (0 if
 * absent); neither is written on error. Returns TL_OK, TL_ERR_FORMAT, TL_ERR_SIGNATURE or
 * TL_ERR_QUORUM (TL_ERR_NOMEM if a 40 KiB key table cannot be allocated, TL_ERR_USAGE for a
 * hand-built policy with dangling references). */
TL_MUST_CHECK tl_err tl_policy_check(const tl_policy *p, const char *note, size_t len,
                                     tl_checkpoint *cp, uint64_t *times, tl_diag *d);

#endif
