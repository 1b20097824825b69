/* policy.c - C2SP tlog-policy (line format), implements https://c2sp.org/tlog-policy:
 * strict parsing and quorum evaluation over a cosigned checkpoint. See
 * reference/c2sp-formats.md §9.
 *
 *   file    = *( line LF )          bytes 0x09, 0x20-0x7E, 0x80-0xFF between the LFs
 *   line    = [ws] [ item *( ws item ) ] [ws]       ws = 1*( SP / TAB )
 *             | [ws] "#" <anything>                  (a comment)
 *   items   = "log" <vkey 0x01> [<url>]
 *           | "witness" <name> <vkey 0x04> [<url>]
 *           | "group" <name> ( "all" | "any" | <k> ) 1*<member name>
 *           | "quorum" ( <name> | "none" )
 *
 * Witnesses and groups share one namespace of opaque byte strings; members and the quorum
 * refer only to names defined on earlier lines, which rules out cycles, so a single pass in
 * definition order evaluates every group.
 */
#include "treatylog/policy.h"

#include <stdlib.h>
#include <string.h>

#include "treatylog/text.h"

#define ITEMS_MAX (3 + TL_POLICY_WITNESSES_MAX + TL_POLICY_GROUPS_MAX) /* a full group line */

typedef struct item {
    const char *p;
    size_t len;
} item;

tl_policy *tl_policy_new(void)
{
    return calloc(1, sizeof(tl_policy));
}

void tl_policy_single_log(tl_policy *out, const tl_vkey *logkey)
{
    memset(out, 0, sizeof *out);
    out->nlogs = 1;
    out->logs[0].key = *logkey;
    out->quorum_none = true;
}

static bool item_is(const item *it, const char *word)
{
    size_t n = strlen(word);
    return it->len == n && memcmp(it->p, word, n) == 0;
}

static bool allowed_byte(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x7e) || c >= 0x80;
}

/* Looks up a witness or group name defined so far; returns false if unknown. */
static bool lookup(const tl_policy *p, const item *name, int *ref)
{
    for (size_t i = 0; i < p->nwitnesses; i++) {
        if (strlen(p->witnesses[i].name) == name->len &&
            memcmp(p->witnesses[i].name, name->p, name->len) == 0) {
            *ref = -1 - (int)i;
            return true;
        }
    }
    for (size_t i = 0; i < p->ngroups; i++) {
        if (strlen(p->groups[i].name) == name->len &&
            memcmp(p->groups[i].name, name->p, name->len) == 0) {
            *ref = (int)i;
            return true;
        }
    }
    return false;
}

/* Checks a new witness or group name: length, not "none", not taken. */
static tl_err check_new_name(const tl_policy *p, const item *name, size_t line, tl_diag *d)
{
    if (name->len > TL_POLICY_NAME_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: name longer than %d bytes", line,
                       TL_POLICY_NAME_MAX);
    if (item_is(name, "none"))
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: \"none\" is a reserved name", line);
    int ref;
    if (lookup(p, name, &ref))
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: duplicate name %.*s", line,
                       (int)name->len, name->p);
    return TL_OK;
}

/* Checks a new key against every key already listed: no log or witness may share its
 * public key with another of its kind, and no two keys may share (name, id), which would
 * make signature lines ambiguous. */
static tl_err check_new_key(const tl_policy *p, const tl_vkey *k, bool is_log, size_t line,
                            tl_diag *d)
{
    for (size_t i = 0; i < p->nlogs + p->nwitnesses; i++) {
        bool other_log = i < p->nlogs;
        const tl_vkey *o = other_log ? &p->logs[i].key : &p->witnesses[i - p->nlogs].key;
        if (other_log == is_log && memcmp(o->pub, k->pub, TL_PUBKEY_LEN) == 0)
            return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: duplicate %s key %s+%08x", line,
                           is_log ? "log" : "witness", k->name, k->id);
        if (o->id == k->id && o->name_len == k->name_len &&
            memcmp(o->name, k->name, k->name_len) == 0)
            return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: key %s+%08x listed twice", line,
                           k->name, k->id);
    }
    return TL_OK;
}

static tl_err parse_key(tl_vkey *k, const item *it, uint8_t type, size_t line, tl_diag *d)
{
    tl_err e = tl_vkey_parse(k, it->p, it->len, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, TL_ERR_FORMAT, "policy line %zu", line);
    if (k->type != type)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: key %s+%08x has type 0x%02x, want 0x%02x",
                       line, k->name, k->id, k->type, type);
    return TL_OK;
}

static tl_err parse_url(char out[TL_POLICY_URL_MAX + 1], const item *items, size_t n, size_t at,
                        size_t line, tl_diag *d)
{
    out[0] = '\0';
    if (n <= at)
        return TL_OK;
    if (n > at + 1)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: unexpected item after the URL", line);
    if (items[at].len > TL_POLICY_URL_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: URL longer than %d bytes", line,
                       TL_POLICY_URL_MAX);
    memcpy(out, items[at].p, items[at].len);
    out[items[at].len] = '\0';
    return TL_OK;
}

static tl_err parse_log(tl_policy *p, const item *items, size_t n, size_t line, tl_diag *d)
{
    if (n < 2)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: log without a key", line);
    if (p->nlogs == TL_POLICY_LOGS_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: more than %d logs", line,
                       TL_POLICY_LOGS_MAX);
    tl_policy_log *l = &p->logs[p->nlogs];
    tl_err e = parse_key(&l->key, &items[1], TL_KEY_ED25519, line, d);
    if (e == TL_OK)
        e = check_new_key(p, &l->key, true, line, d);
    if (e == TL_OK)
        e = parse_url(l->url, items, n, 2, line, d);
    if (e != TL_OK)
        return e;
    p->nlogs++;
    return TL_OK;
}

static tl_err parse_witness(tl_policy *p, const item *items, size_t n, size_t line, tl_diag *d)
{
    if (n < 3)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: witness needs a name and a key",
                       line);
    if (p->nwitnesses == TL_POLICY_WITNESSES_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: more than %d witnesses", line,
                       TL_POLICY_WITNESSES_MAX);
    tl_err e = check_new_name(p, &items[1], line, d);
    if (e != TL_OK)
        return e;
    /* Keys are checked against logs and earlier witnesses only, so fill the slot first and
     * count it last: a failed line leaves the policy as it was. */
    tl_policy_witness *w = &p->witnesses[p->nwitnesses];
    e = parse_key(&w->key, &items[2], TL_KEY_COSIG_V1, line, d);
    if (e == TL_OK)
        e = check_new_key(p, &w->key, false, line, d);
    if (e == TL_OK)
        e = parse_url(w->url, items, n, 3, line, d);
    if (e != TL_OK)
        return e;
    memcpy(w->name, items[1].p, items[1].len);
    w->name[items[1].len] = '\0';
    p->nwitnesses++;
    return TL_OK;
}

static tl_err parse_group(tl_policy *p, const item *items, size_t n, size_t line, tl_diag *d)
{
    if (n < 3)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: group needs a name and a threshold",
                       line);
    const item *name = &items[1];
    tl_err e = check_new_name(p, name, line, d);
    if (e != TL_OK)
        return e;
    if (p->ngroups == TL_POLICY_GROUPS_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: more than %d groups", line,
                       TL_POLICY_GROUPS_MAX);
    size_t nmembers = n - 3;
    if (nmembers == 0)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: group %.*s has no members", line,
                       (int)name->len, name->p);
    tl_policy_group *g = &p->groups[p->ngroups];
    if (nmembers > sizeof g->members / sizeof g->members[0])
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: group %.*s has too many members",
                       line, (int)name->len, name->p);
    uint64_t k;
    if (item_is(&items[2], "all")) {
        k = nmembers;
    } else if (item_is(&items[2], "any")) {
        k = 1;
    } else if (tl_parse_u64(&k, items[2].p, items[2].len) != TL_OK) {
        return tl_fail(d, TL_ERR_FORMAT,
                       "policy line %zu: group %.*s: threshold is not all, any or a decimal",
                       line, (int)name->len, name->p);
    } else if (k < 1 || k > nmembers) {
        return tl_fail(d, TL_ERR_FORMAT,
                       "policy line %zu: group %.*s: threshold %llu not in 1..%zu", line,
                       (int)name->len, name->p, (unsigned long long)k, nmembers);
    }
    for (size_t i = 0; i < nmembers; i++) {
        const item *m = &items[3 + i];
        if (item_is(m, "none"))
            return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: group %.*s: none is not a member",
                           line, (int)name->len, name->p);
        int ref;
        if (!lookup(p, m, &ref))
            return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: group %.*s: unknown member %.*s",
                           line, (int)name->len, name->p, (int)m->len, m->p);
        for (size_t j = 0; j < i; j++) {
            if (g->members[j] == ref)
                return tl_fail(d, TL_ERR_FORMAT,
                               "policy line %zu: group %.*s: member %.*s listed twice", line,
                               (int)name->len, name->p, (int)m->len, m->p);
        }
        g->members[i] = ref;
    }
    memcpy(g->name, name->p, name->len);
    g->name[name->len] = '\0';
    g->k = (unsigned)k;
    g->nmembers = (unsigned)nmembers;
    p->ngroups++;
    return TL_OK;
}

static tl_err parse_quorum(tl_policy *p, const item *items, size_t n, size_t line,
                           size_t *quorum_line, tl_diag *d)
{
    if (*quorum_line != 0)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: second quorum line (first on line %zu)",
                       line, *quorum_line);
    if (n != 2)
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: quorum takes exactly one name", line);
    if (item_is(&items[1], "none")) {
        p->quorum_none = true;
        p->quorum = 0;
    } else if (!lookup(p, &items[1], &p->quorum)) {
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: quorum: unknown name %.*s", line,
                       (int)items[1].len, items[1].p);
    }
    *quorum_line = line;
    return TL_OK;
}

/* Splits a line into SP/TAB-separated items; false if there are more than ITEMS_MAX. */
static bool split(item *items, size_t *n, const char *s, size_t len)
{
    size_t cnt = 0, i = 0;
    for (;;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t')
            i++;
        if (cnt == ITEMS_MAX)
            return false;
        items[cnt++] = (item){.p = s + start, .len = i - start};
    }
    *n = cnt;
    return true;
}

static tl_err parse_line(tl_policy *p, const char *s, size_t len, size_t line,
                         size_t *quorum_line, tl_diag *d)
{
    for (size_t i = 0; i < len; i++) {
        if (!allowed_byte((unsigned char)s[i]))
            return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: byte 0x%02x not allowed", line,
                           (unsigned char)s[i]);
    }
    item items[ITEMS_MAX];
    size_t n = 0;
    if (!split(items, &n, s, len))
        return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: too many items", line);
    if (n == 0 || items[0].p[0] == '#')
        return TL_OK; /* empty or comment */
    if (item_is(&items[0], "log"))
        return parse_log(p, items, n, line, d);
    if (item_is(&items[0], "witness"))
        return parse_witness(p, items, n, line, d);
    if (item_is(&items[0], "group"))
        return parse_group(p, items, n, line, d);
    if (item_is(&items[0], "quorum"))
        return parse_quorum(p, items, n, line, quorum_line, d);
    return tl_fail(d, TL_ERR_FORMAT, "policy line %zu: unknown keyword %.*s", line,
                   (int)(items[0].len > 32 ? 32 : items[0].len), items[0].p);
}

tl_err tl_policy_parse(tl_policy *out, const char *text, size_t len, tl_diag *d)
{
    memset(out, 0, sizeof *out);
    if (len > TL_POLICY_TEXT_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "policy: %zu bytes, more than the %d allowed", len,
                       TL_POLICY_TEXT_MAX);
    size_t pos = 0, line = 0, quorum_line = 0;
    tl_err e = TL_OK;
    while (pos < len && e == TL_OK) {
        line++;
        const char *lf = memchr(text + pos, '\n', len - pos);
        if (!lf) {
            e = tl_fail(d, TL_ERR_FORMAT, "policy line %zu: does not end in LF", line);
            break;
        }
        size_t end = (size_t)(lf - text);
        e = parse_line(out, text + pos, end - pos, line, &quorum_line, d);
        pos = end + 1;
    }
    if (e == TL_OK && quorum_line == 0)
        e = tl_fail(d, TL_ERR_FORMAT, "policy: no quorum line");
    if (e != TL_OK)
        memset(out, 0, sizeof *out);
    return e;
}

/* Evaluates the quorum over which witnesses cosigned. TL_ERR_USAGE for a hand-built policy
 * whose references point forwards or out of range. */
static tl_err quorum_met(bool *met, const tl_policy *p, const tl_sigcheck *wres, tl_diag *d)
{
    if (p->quorum_none) {
        *met = true;
        return TL_OK;
    }
    bool gsat[TL_POLICY_GROUPS_MAX];
    if (p->ngroups > TL_POLICY_GROUPS_MAX || p->nwitnesses > TL_POLICY_WITNESSES_MAX)
        return tl_fail(d, TL_ERR_USAGE, "policy: too many groups or witnesses");
    for (size_t g = 0; g < p->ngroups; g++) {
        const tl_policy_group *grp = &p->groups[g];
        if (grp->nmembers > sizeof grp->members / sizeof grp->members[0])
            return tl_fail(d, TL_ERR_USAGE, "policy: group %zu has too many members", g);
        unsigned ok = 0;
        for (unsigned i = 0; i < grp->nmembers; i++) {
            int m = grp->members[i];
            if (m < 0 && (size_t)(-1 - (long)m) < p->nwitnesses)
                ok += wres[-1 - m].ok;
            else if (m >= 0 && (size_t)m < g)
                ok += gsat[m];
            else
                return tl_fail(d, TL_ERR_USAGE, "policy: group %zu has a bad member", g);
        }
        gsat[g] = ok >= grp->k;
    }
    int q = p->quorum;
    if (q < 0 && (size_t)(-1 - (long)q) < p->nwitnesses)
        *met = wres[-1 - q].ok;
    else if (q >= 0 && (size_t)q < p->ngroups)
        *met = gsat[q];
    else
        return tl_fail(d, TL_ERR_USAGE, "policy: quorum refers to nothing");
    return TL_OK;
}

tl_err tl_policy_check(const tl_policy *p, const char *note, size_t len, tl_checkpoint *cp,
                       uint64_t *times, tl_diag *d)
{
    tl_note n;
    tl_err e = tl_note_parse(&n, note, len, d);
    if (e == TL_ERR_TOOBIG)
        e = TL_ERR_FORMAT; /* an oversized note is just a malformed checkpoint here */
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "checkpoint");
    if (p->nlogs == 0)
        return tl_fail(d, TL_ERR_SIGNATURE, "checkpoint: the policy lists no logs");
    if (p->nlogs > TL_POLICY_LOGS_MAX || p->nwitnesses > TL_POLICY_WITNESSES_MAX)
        return tl_fail(d, TL_ERR_USAGE, "policy: too many logs or witnesses");

    /* One verification over logs and witnesses together: a listed key's line that fails
     * rejects the note, whichever kind it is. The key array is ~40 KiB, so not on the stack
     * of a server thread. */
    size_t nkeys = p->nlogs + p->nwitnesses;
    tl_vkey *keys = malloc(nkeys * sizeof *keys);
    tl_sigcheck *res = malloc(nkeys * sizeof *res);
    if (!keys || !res) {
        free(keys);
        free(res);
        return tl_fail(d, TL_ERR_NOMEM, "checkpoint: out of memory checking the policy");
    }
    for (size_t i = 0; i < p->nlogs; i++)
        keys[i] = p->logs[i].key;
    for (size_t i = 0; i < p->nwitnesses; i++)
        keys[p->nlogs + i] = p->witnesses[i].key;
    e = tl_note_verify(&n, keys, nkeys, res, d);
    if (e != TL_OK) {
        e = tl_diag_prefix(d, e, "checkpoint");
        goto out;
    }

    tl_checkpoint c;
    e = tl_checkpoint_parse(&c, n.text, n.text_len, d);
    if (e != TL_OK)
        goto out;
    /* A log's key name is its origin: a listed log's signature counts only for its own. */
    bool logged = false;
    for (size_t i = 0; i < p->nlogs && !logged; i++) {
        const tl_vkey *k = &p->logs[i].key;
        logged = res[i].ok && k->name_len == c.origin_len &&
                 memcmp(k->name, c.origin, c.origin_len) == 0;
    }
    if (!logged) {
        e = tl_fail(d, TL_ERR_SIGNATURE, "checkpoint: no listed log for origin %s signed it",
                    c.origin);
        goto out;
    }
    bool met = false;
    e = quorum_met(&met, p, res + p->nlogs, d);
    if (e != TL_OK)
        goto out;
    if (!met) {
        e = tl_fail(d, TL_ERR_QUORUM, "checkpoint: witness quorum %s not met",
                    p->quorum < 0 ? p->witnesses[-1 - p->quorum].name : p->groups[p->quorum].name);
        goto out;
    }
    *cp = c;
    if (times) {
        for (size_t i = 0; i < p->nwitnesses; i++)
            times[i] = res[p->nlogs + i].ok ? res[p->nlogs + i].time : 0;
    }
out:
    free(keys);
    free(res);
    return e;
}
