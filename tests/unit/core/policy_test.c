/* policy_test.c - tlog-policy parsing and quorum evaluation (policy.c): the example of
 * c2sp-formats.md §9, the §6.4 policy of test-vectors.md, k-of-n / any / all and nested groups
 * over every subset of cosigners, and every parse error. */
#include "treatylog/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"

#define COSIG_TIME UINT64_C(1767139200)

/* test-vectors.md §6.1-§6.3 */
static const char LOG_VKEY[] =
    "treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0";
static const char WIT_VKEY[] =
    "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o";
static const char CP300_TEXT[] =
    "treatylog.example/test-log\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n";
static const char CP300_LOGSIG[] =
    "\xe2\x80\x94 treatylog.example/test-log syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW4e"
    "o0BwNMkvknZkWkymvouUAlsrWblus4pRTP+gTkA4=\n";
static const char CP300_WITSIG[] =
    "\xe2\x80\x94 treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087"
    "aq/VPyuKeK+BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n";

static int setup(void **state)
{
    (void)state;
    return tl_init() == TL_OK ? 0 : -1;
}

/* A text buffer built with printf-style appends. */
typedef struct sb {
    char *p;
    size_t len, cap;
} sb;

__attribute__((format(printf, 2, 3))) static void sb_printf(sb *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
}

static void sb_put(sb *b, const char *s, size_t n)
{
    if (!b->p || b->cap - b->len <= n) {
        b->cap = b->cap * 2 + n + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A deterministic cosigner: seed = SHA-256(name), type 0x04. */
typedef struct cosigner {
    tl_skey sk;
    char vkey[TL_VKEY_TEXT_MAX];
} cosigner;

static void make_cosigner(cosigner *c, const char *name, uint8_t type)
{
    uint8_t seed[TL_SEED_LEN];
    tl_sha256(seed, name, strlen(name));
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_from_seed(&c->sk, name, strlen(name), type, seed, &d), TL_OK);
    tl_vkey_format(c->vkey, &c->sk.vkey);
}

static void add_sig(sb *note, const cosigner *c, const char *text, size_t len)
{
    char line[TL_SIGLINE_MAX];
    size_t n = 0;
    tl_diag d = {{0}};
    assert_int_equal(tl_note_sigline(line, &n, text, len, &c->sk, COSIG_TIME, &d), TL_OK);
    sb_put(note, line, n);
}

static tl_policy *parse_ok(const char *text)
{
    tl_policy *p = tl_policy_new();
    assert_non_null(p);
    tl_diag d = {{0}};
    tl_err e = tl_policy_parse(p, text, strlen(text), &d);
    if (e != TL_OK)
        fail_msg("policy rejected: %s\n%s", d.msg, text);
    return p;
}

/* ---- parsing ---------------------------------------------------------------------------- */

static void test_parse_example(void **state)
{
    (void)state;
    cosigner x1, x2, x3, y1;
    make_cosigner(&x1, "x1.example", TL_KEY_COSIG_V1);
    make_cosigner(&x2, "x2.example", TL_KEY_COSIG_V1);
    make_cosigner(&x3, "x3.example", TL_KEY_COSIG_V1);
    make_cosigner(&y1, "y1.example", TL_KEY_COSIG_V1);
    sb t = {0};
    sb_printf(&t,
              "log %s\n"
              "witness X1 %s\n"
              "witness X2 %s\n"
              "witness X3 %s\n"
              "group X-witnesses 2 X1 X2 X3\n"
              "witness Y1 %s\n"
              "group Y-witnesses any Y1\n"
              "group X-and-Y all X-witnesses Y-witnesses\n"
              "quorum X-and-Y\n",
              LOG_VKEY, x1.vkey, x2.vkey, x3.vkey, y1.vkey);
    tl_policy *p = parse_ok(t.p);
    assert_int_equal(p->nlogs, 1);
    assert_string_equal(p->logs[0].key.name, "treatylog.example/test-log");
    assert_int_equal(p->logs[0].key.id, 0xb32a3142);
    assert_string_equal(p->logs[0].url, "");
    assert_int_equal(p->nwitnesses, 4);
    assert_string_equal(p->witnesses[0].name, "X1");
    assert_true(tl_vkey_equal(&p->witnesses[2].key, &x3.sk.vkey));
    assert_string_equal(p->witnesses[3].name, "Y1");
    assert_int_equal(p->ngroups, 3);
    assert_string_equal(p->groups[0].name, "X-witnesses");
    assert_int_equal(p->groups[0].k, 2);
    assert_int_equal(p->groups[0].nmembers, 3);
    assert_int_equal(p->groups[0].members[0], -1);
    assert_int_equal(p->groups[0].members[1], -2);
    assert_int_equal(p->groups[0].members[2], -3);
    assert_int_equal(p->groups[1].k, 1);
    assert_int_equal(p->groups[1].nmembers, 1);
    assert_int_equal(p->groups[1].members[0], -4);
    assert_string_equal(p->groups[2].name, "X-and-Y");
    assert_int_equal(p->groups[2].k, 2);
    assert_int_equal(p->groups[2].members[0], 0);
    assert_int_equal(p->groups[2].members[1], 1);
    assert_false(p->quorum_none);
    assert_int_equal(p->quorum, 2);
    free(p);
    free(t.p);
}

static void test_parse_layout(void **state)
{
    (void)state;
    cosigner k, kelvin;
    make_cosigner(&k, "k.example", TL_KEY_COSIG_V1);
    make_cosigner(&kelvin, "kelvin.example", TL_KEY_COSIG_V1);
    sb t = {0};
    sb_printf(&t,
              "# a comment line\n"
              "\n"
              "   \t \n"
              "\t# an indented comment: log witness group quorum \xff\n"
              "  log \t %s\thttps://log.example/prefix/  \n"
              "witness\tK %s https://w.example/\n"
              "witness \xe2\x84\xaa %s\n" /* KELVIN SIGN: a different name from K */
              "group\tG\t2\tK\t\xe2\x84\xaa\t\n"
              "\n"
              "quorum   \xe2\x84\xaa\n"
              "# trailing comment\n",
              LOG_VKEY, k.vkey, kelvin.vkey);
    tl_policy *p = parse_ok(t.p);
    assert_int_equal(p->nlogs, 1);
    assert_string_equal(p->logs[0].url, "https://log.example/prefix/");
    assert_int_equal(p->nwitnesses, 2);
    assert_string_equal(p->witnesses[0].name, "K");
    assert_string_equal(p->witnesses[0].url, "https://w.example/");
    assert_string_equal(p->witnesses[1].name, "\xe2\x84\xaa");
    assert_string_equal(p->witnesses[1].url, "");
    assert_int_equal(p->groups[0].k, 2);
    assert_int_equal(p->quorum, -2);
    free(p);

    /* quorum none, no witnesses, no logs: valid (only the quorum is mandatory) */
    p = parse_ok("quorum none\n");
    assert_true(p->quorum_none);
    assert_int_equal(p->nlogs, 0);
    free(p);
    free(t.p);
}

/* Limits: at least 32 of each are required; treatylog takes 64 and refuses the 65th. */
static void test_parse_limits(void **state)
{
    (void)state;
    static cosigner w[65];
    static cosigner l[65];
    for (int i = 0; i < 65; i++) {
        char name[32];
        snprintf(name, sizeof name, "w%d.example", i);
        make_cosigner(&w[i], name, TL_KEY_COSIG_V1);
        snprintf(name, sizeof name, "l%d.example", i);
        make_cosigner(&l[i], name, TL_KEY_ED25519);
    }
    for (int n = 64; n <= 65; n++) {
        sb t = {0};
        for (int i = 0; i < n; i++)
            sb_printf(&t, "log %s\nwitness W%d %s\ngroup G%d any W%d\n", l[i].vkey, i, w[i].vkey,
                      i, i);
        sb_printf(&t, "quorum W0\n");
        tl_policy *p = tl_policy_new();
        assert_non_null(p);
        tl_diag d = {{0}};
        tl_err e = tl_policy_parse(p, t.p, t.len, &d);
        if (n == 64) {
            assert_int_equal(e, TL_OK);
            assert_int_equal(p->nlogs, 64);
            assert_int_equal(p->nwitnesses, 64);
            assert_int_equal(p->ngroups, 64);
        } else {
            assert_int_equal(e, TL_ERR_FORMAT);
            assert_non_null(strstr(d.msg, "policy line 193: more than 64 logs"));
        }
        free(p);
        free(t.p);
    }
    /* one group with every witness and group as members: 128 members */
    sb t = {0};
    for (int i = 0; i < 64; i++)
        sb_printf(&t, "witness W%d %s\n", i, w[i].vkey);
    for (int i = 0; i < 63; i++)
        sb_printf(&t, "group G%d any W%d\n", i, i);
    sb_printf(&t, "group ALL all");
    for (int i = 0; i < 64; i++)
        sb_printf(&t, " W%d", i);
    for (int i = 0; i < 63; i++)
        sb_printf(&t, " G%d", i);
    sb_printf(&t, "\nquorum ALL\n");
    tl_policy *p = parse_ok(t.p);
    assert_int_equal(p->groups[63].nmembers, 127);
    assert_int_equal(p->groups[63].k, 127);
    free(p);
    free(t.p);
    /* the text size cap */
    size_t big = (size_t)TL_POLICY_TEXT_MAX + 1;
    char *txt = malloc(big);
    assert_non_null(txt);
    memset(txt, '\n', big);
    p = tl_policy_new();
    assert_int_equal(tl_policy_parse(p, txt, big, NULL), TL_ERR_FORMAT);
    memcpy(txt + big - 13, "quorum none\n", 12);
    assert_int_equal(tl_policy_parse(p, txt, big - 1, NULL), TL_OK);
    free(p);
    free(txt);
}

typedef struct bad_case {
    const char *text; /* {L} log vkey, {A} {B} witnesses, {A01} A's key as 0x01, {AR} A's key
                       * under another name, {OL} the log's key under another name */
    const char *msg;  /* expected diagnostic substring */
} bad_case;

/* Expands the {L} {A} {B} {A01} {AR} {OL} placeholders of a case with keys[0..5]. */
static void expand(sb *out, const char *tmpl, const char *const keys[6])
{
    static const char *const ph[6] = {"{L}", "{A}", "{B}", "{A01}", "{AR}", "{OL}"};
    const char *s = tmpl;
    while (*s) {
        size_t k = 0;
        while (k < 6 && strncmp(s, ph[k], strlen(ph[k])) != 0)
            k++;
        if (k < 6) {
            sb_put(out, keys[k], strlen(keys[k]));
            s += strlen(ph[k]);
        } else {
            sb_put(out, s, 1);
            s++;
        }
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    cosigner a, b, a_renamed, a_as_log, other_log;
    make_cosigner(&a, "a.example", TL_KEY_COSIG_V1);
    make_cosigner(&b, "b.example", TL_KEY_COSIG_V1);
    /* the same public key under another name (hence another id) */
    a_renamed = a;
    memcpy(a_renamed.sk.vkey.name, "renamed.example", 16);
    a_renamed.sk.vkey.name_len = 15;
    a_renamed.sk.vkey.id = tl_key_id("renamed.example", 15, TL_KEY_COSIG_V1, a.sk.vkey.pub);
    tl_vkey_format(a_renamed.vkey, &a_renamed.sk.vkey);
    /* a's key as a 0x01 log key; and the log key as another log name */
    a_as_log = a;
    a_as_log.sk.vkey.type = TL_KEY_ED25519;
    a_as_log.sk.vkey.id = tl_key_id("a.example", 9, TL_KEY_ED25519, a.sk.vkey.pub);
    tl_vkey_format(a_as_log.vkey, &a_as_log.sk.vkey);
    tl_vkey lk;
    assert_int_equal(tl_vkey_parse(&lk, LOG_VKEY, strlen(LOG_VKEY), NULL), TL_OK);
    other_log.sk.vkey = lk;
    memcpy(other_log.sk.vkey.name, "other.example/log", 18);
    other_log.sk.vkey.name_len = 17;
    other_log.sk.vkey.id = tl_key_id("other.example/log", 17, TL_KEY_ED25519, lk.pub);
    tl_vkey_format(other_log.vkey, &other_log.sk.vkey);

    static const bad_case cases[] = {
        /* structure */
        {"", "policy: no quorum line"},
        {"log {L}\n", "policy: no quorum line"},
        {"quorum none", "policy line 1: does not end in LF"},
        {"log {L}\nquorum none", "policy line 2: does not end in LF"},
        {"quorum none\nquorum none\n", "policy line 2: second quorum line (first on line 1)"},
        {"witness A {A}\nquorum A\nquorum none\n", "policy line 3: second quorum line"},
        {"quorum\n", "policy line 1: quorum takes exactly one name"},
        {"quorum none none\n", "policy line 1: quorum takes exactly one name"},
        {"quorum A\nwitness A {A}\n", "policy line 1: quorum: unknown name A"},
        {"quorum None\n", "policy line 1: quorum: unknown name None"},
        {"logs {L}\nquorum none\n", "policy line 1: unknown keyword logs"},
        {"Log {L}\nquorum none\n", "policy line 1: unknown keyword Log"},
        {"quorum none\n-\n", "policy line 2: unknown keyword -"},
        {"log\nquorum none\n", "policy line 1: log without a key"},
        {"log {L} https://a/ extra\nquorum none\n", "policy line 1: unexpected item after"},
        {"witness A\nquorum none\n", "policy line 1: witness needs a name and a key"},
        {"witness {A}\nquorum none\n", "policy line 1: witness needs a name and a key"},
        {"witness A {A} u extra\nquorum none\n", "policy line 1: unexpected item after"},
        /* keys */
        {"log {A}\nquorum none\n", "policy line 1: key a.example+"},
        {"witness A {A01}\nquorum none\n", "has type 0x01, want 0x04"},
        {"log x+00000000+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0\nquorum none\n",
         "policy line 1: verifier key"},
        {"witness A not-a-key\nquorum none\n", "policy line 1: verifier key"},
        {"log {L}\nlog {L}\nquorum none\n", "policy line 2: duplicate log key"},
        {"log {L}\nlog {OL}\nquorum none\n", "policy line 2: duplicate log key"},
        {"witness A {A}\nwitness B {A}\nquorum none\n", "policy line 2: duplicate witness key"},
        {"witness A {A}\nwitness B {AR}\nquorum none\n", "policy line 2: duplicate witness key"},
        /* names */
        {"witness A {A}\nwitness A {B}\nquorum none\n", "policy line 2: duplicate name A"},
        {"witness A {A}\ngroup A any A\nquorum none\n", "policy line 2: duplicate name A"},
        {"witness A {A}\ngroup G any A\ngroup G all A\nquorum none\n",
         "policy line 3: duplicate name G"},
        {"witness none {A}\nquorum none\n", "policy line 1: \"none\" is a reserved name"},
        {"witness A {A}\ngroup none any A\nquorum none\n", "\"none\" is a reserved name"},
        /* groups */
        {"group G any A\nwitness A {A}\nquorum G\n", "policy line 1: group G: unknown member A"},
        {"witness A {A}\ngroup G any A G\nquorum G\n", "policy line 2: group G: unknown member G"},
        {"witness A {A}\ngroup G any A none\nquorum G\n",
         "policy line 2: group G: none is not a member"},
        {"witness A {A}\ngroup G any A A\nquorum G\n", "policy line 2: group G: member A listed"},
        {"witness A {A}\nwitness B {B}\ngroup G 3 A B\nquorum G\n",
         "policy line 3: group G: threshold 3 not in 1..2"},
        {"witness A {A}\ngroup G 0 A\nquorum G\n", "group G: threshold 0 not in 1..1"},
        {"witness A {A}\ngroup G 01 A\nquorum G\n", "group G: threshold is not all, any"},
        {"witness A {A}\ngroup G +1 A\nquorum G\n", "group G: threshold is not all, any"},
        {"witness A {A}\ngroup G ALL A\nquorum G\n", "group G: threshold is not all, any"},
        {"witness A {A}\ngroup G 18446744073709551616 A\nquorum G\n", "threshold is not"},
        {"witness A {A}\ngroup G any\nquorum G\n", "policy line 2: group G has no members"},
        {"witness A {A}\ngroup G\nquorum G\n", "policy line 2: group needs a name and a thr"},
        /* bytes */
        {"quorum none\r\n", "policy line 1: byte 0x0d not allowed"},
        {"# comment \x01\nquorum none\n", "policy line 1: byte 0x01 not allowed"},
        {"quorum none\n#\x7f\n", "policy line 2: byte 0x7f not allowed"},
        {"quorum none\n\x0b\n", "policy line 2: byte 0x0b not allowed"},
        {"quorum none\n\x0c\n", "policy line 2: byte 0x0c not allowed"},
        {"quorum none\n\x1b[0m\n", "policy line 2: byte 0x1b not allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *keys[6] = {LOG_VKEY, a.vkey, b.vkey, a_as_log.vkey, a_renamed.vkey,
                               other_log.vkey};
        sb text = {0};
        expand(&text, cases[i].text, keys);
        tl_policy *p = tl_policy_new();
        assert_non_null(p);
        tl_diag d = {{0}};
        tl_err e = tl_policy_parse(p, text.p ? text.p : "", text.len, &d);
        free(text.p);
        if (e != TL_ERR_FORMAT || !strstr(d.msg, cases[i].msg))
            fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, e, d.msg, cases[i].msg);
        /* the output is zeroed on error */
        assert_int_equal(p->nlogs + p->nwitnesses + p->ngroups, 0);
        free(p);
    }
    /* A NUL byte is not allowed either (and does not end the text). */
    tl_policy *p = tl_policy_new();
    tl_diag d = {{0}};
    assert_int_equal(tl_policy_parse(p, "quorum none\n\0\n", 14, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "policy line 2: byte 0x00 not allowed"));
    /* Names and URLs at and over their limits. */
    char name[300], url[1100];
    memset(name, 'n', sizeof name);
    memset(url, 'u', sizeof url);
    char text[4096];
    int n = snprintf(text, sizeof text, "witness %.255s %s %.1024s\nquorum %.255s\n", name, a.vkey,
                     url, name);
    assert_int_equal(tl_policy_parse(p, text, (size_t)n, &d), TL_OK);
    assert_int_equal(strlen(p->witnesses[0].name), 255);
    assert_int_equal(strlen(p->witnesses[0].url), 1024);
    n = snprintf(text, sizeof text, "witness %.256s %s\nquorum none\n", name, a.vkey);
    assert_int_equal(tl_policy_parse(p, text, (size_t)n, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "policy line 1: name longer than 255 bytes"));
    n = snprintf(text, sizeof text, "log %s %.1025s\nquorum none\n", LOG_VKEY, url);
    assert_int_equal(tl_policy_parse(p, text, (size_t)n, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "policy line 1: URL longer than 1024 bytes"));
    free(p);
}

/* ---- evaluation ------------------------------------------------------------------------- */

static void cp300(sb *note)
{
    sb_put(note, CP300_TEXT, strlen(CP300_TEXT));
    sb_put(note, "\n", 1);
    sb_put(note, CP300_LOGSIG, strlen(CP300_LOGSIG));
}

static void test_check_vector(void **state)
{
    (void)state;
    sb pt = {0};
    sb_printf(&pt, "log %s\nwitness W1 %s\nquorum W1\n", LOG_VKEY, WIT_VKEY);
    tl_policy *p = parse_ok(pt.p);
    sb note = {0};
    cp300(&note);
    sb_put(&note, CP300_WITSIG, strlen(CP300_WITSIG));

    tl_checkpoint cp;
    uint64_t times[1] = {99};
    tl_diag d = {{0}};
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, times, &d), TL_OK);
    assert_string_equal(cp.origin, "treatylog.example/test-log");
    assert_int_equal(cp.size, 300);
    assert_hash_hex(cp.root, "830df5c90aea65909c10e3ebcd7f9ba72de727a4209e04ca9fc1b59b48badae5");
    assert_int_equal(times[0], COSIG_TIME);
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, NULL, &d), TL_OK);

    /* witness line removed: quorum not met */
    sb bare = {0};
    cp300(&bare);
    memset(&cp, 0x77, sizeof cp);
    times[0] = 99;
    assert_int_equal(tl_policy_check(p, bare.p, bare.len, &cp, times, &d), TL_ERR_QUORUM);
    assert_non_null(strstr(d.msg, "quorum W1 not met"));
    assert_int_equal(times[0], 99);
    assert_int_equal(cp.size, 0x7777777777777777);
    /* quorum none accepts it, so does tl_policy_single_log */
    free(pt.p);
    pt = (sb){0};
    sb_printf(&pt, "log %s\nwitness W1 %s\nquorum none\n", LOG_VKEY, WIT_VKEY);
    tl_policy *pn = parse_ok(pt.p);
    assert_int_equal(tl_policy_check(pn, bare.p, bare.len, &cp, times, &d), TL_OK);
    assert_int_equal(times[0], 0);
    assert_int_equal(tl_policy_check(pn, note.p, note.len, &cp, times, &d), TL_OK);
    assert_int_equal(times[0], COSIG_TIME);
    tl_policy_single_log(pn, &p->logs[0].key);
    assert_int_equal(tl_policy_check(pn, bare.p, bare.len, &cp, NULL, &d), TL_OK);
    assert_int_equal(cp.size, 300);

    /* a listed witness's bad line rejects the note, even with quorum none */
    sb badw = {0};
    sb_put(&badw, note.p, note.len);
    char *sig = strstr(badw.p, "apRCzQAAAABpVGeA");
    assert_non_null(sig);
    sig[20] = sig[20] == 'A' ? 'B' : 'A';
    assert_int_equal(tl_policy_check(p, badw.p, badw.len, &cp, NULL, &d), TL_ERR_SIGNATURE);
    free(pn);
    pn = parse_ok(pt.p);
    assert_int_equal(tl_policy_check(pn, badw.p, badw.len, &cp, NULL, &d), TL_ERR_SIGNATURE);
    /* ... but an unlisted cosigner's bad line is ignored */
    tl_policy_single_log(pn, &p->logs[0].key);
    assert_int_equal(tl_policy_check(pn, badw.p, badw.len, &cp, NULL, &d), TL_OK);

    /* the log's signature broken: the root changed */
    sb badl = {0};
    sb_put(&badl, note.p, note.len);
    memcpy(strstr(badl.p, "gw31"), "gw32", 4);
    assert_int_equal(tl_policy_check(p, badl.p, badl.len, &cp, NULL, &d), TL_ERR_SIGNATURE);
    /* no log listed / another log listed */
    free(pt.p);
    pt = (sb){0};
    sb_printf(&pt, "witness W1 %s\nquorum W1\n", WIT_VKEY);
    tl_policy *pw = parse_ok(pt.p);
    assert_int_equal(tl_policy_check(pw, note.p, note.len, &cp, NULL, &d), TL_ERR_SIGNATURE);
    free(pw);
    cosigner other;
    make_cosigner(&other, "treatylog.example/other-log", TL_KEY_ED25519);
    free(pt.p);
    pt = (sb){0};
    sb_printf(&pt, "log %s\nwitness W1 %s\nquorum W1\n", other.vkey, WIT_VKEY);
    pw = parse_ok(pt.p);
    assert_int_equal(tl_policy_check(pw, note.p, note.len, &cp, NULL, &d), TL_ERR_SIGNATURE);
    free(pw);

    /* malformed notes */
    assert_int_equal(tl_policy_check(p, CP300_TEXT, strlen(CP300_TEXT), &cp, NULL, &d),
                     TL_ERR_FORMAT);
    assert_int_equal(tl_policy_check(p, note.p, note.len - 1, &cp, NULL, &d), TL_ERR_FORMAT);
    assert_int_equal(tl_policy_check(p, "", 0, &cp, NULL, &d), TL_ERR_FORMAT);

    free(p);
    free(pn);
    free(pt.p);
    free(note.p);
    free(bare.p);
    free(badw.p);
    free(badl.p);
}

/* A log key whose name is not the origin does not vouch for that origin. */
static void test_check_origin(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    cosigner renamed;
    make_cosigner(&renamed, "treatylog.example/renamed", TL_KEY_ED25519);
    /* CP300 signed by a log key named differently from its origin */
    sb note = {0};
    sb_put(&note, CP300_TEXT, strlen(CP300_TEXT));
    sb_put(&note, "\n", 1);
    add_sig(&note, &renamed, CP300_TEXT, strlen(CP300_TEXT));
    sb pt = {0};
    sb_printf(&pt, "log %s\nquorum none\n", renamed.vkey);
    tl_policy *p = parse_ok(pt.p);
    tl_checkpoint cp;
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, NULL, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "no listed log for origin treatylog.example/test-log"));
    /* with the real log's signature added and both listed, it passes */
    sb_put(&note, CP300_LOGSIG, strlen(CP300_LOGSIG));
    free(p);
    free(pt.p);
    pt = (sb){0};
    sb_printf(&pt, "log %s\nlog %s\nquorum none\n", renamed.vkey, LOG_VKEY);
    p = parse_ok(pt.p);
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, NULL, &d), TL_OK);
    free(p);
    free(pt.p);
    free(note.p);
}

/* The full example of the tlog-policy spec (X 2-of-3, Y any-of-3, X-and-Y all), and flat
 * any / all / k-of-n policies, over every subset of six cosigners. */
static void test_check_quorum_subsets(void **state)
{
    (void)state;
    cosigner w[6];
    const char *names[6] = {"x1.example", "x2.example", "x3.example",
                            "y1.example", "y2.example", "y3.example"};
    for (int i = 0; i < 6; i++)
        make_cosigner(&w[i], names[i], TL_KEY_COSIG_V1);
    enum { NESTED, ANY, ALL, TWO_OF_SIX, FIVE_OF_SIX, DEEP, NPOL };
    tl_policy *pol[NPOL];
    for (int k = 0; k < NPOL; k++) {
        sb t = {0};
        sb_printf(&t, "log %s\n", LOG_VKEY);
        for (int i = 0; i < 6; i++)
            sb_printf(&t, "witness %c%d %s\n", i < 3 ? 'X' : 'Y', i % 3 + 1, w[i].vkey);
        switch (k) {
        case NESTED:
            sb_printf(&t, "group X-witnesses 2 X1 X2 X3\ngroup Y-witnesses any Y1 Y2 Y3\n"
                          "group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n");
            break;
        case ANY:
            sb_printf(&t, "group G any X1 X2 X3 Y1 Y2 Y3\nquorum G\n");
            break;
        case ALL:
            sb_printf(&t, "group G all Y3 Y2 Y1 X3 X2 X1\nquorum G\n");
            break;
        case TWO_OF_SIX:
            sb_printf(&t, "group G 2 X1 X2 X3 Y1 Y2 Y3\nquorum G\n");
            break;
        case FIVE_OF_SIX:
            sb_printf(&t, "group G 5 X1 X2 X3 Y1 Y2 Y3\nquorum G\n");
            break;
        case DEEP: /* (X1 or X2) and (Y3), or X3 alone: groups of groups of groups */
            sb_printf(&t, "group A any X1 X2\ngroup B all A Y3\ngroup C any B X3\n"
                          "group D 1 C\nquorum D\n");
            break;
        }
        pol[k] = parse_ok(t.p);
        free(t.p);
    }
    for (unsigned set = 0; set < 64; set++) {
        sb note = {0};
        cp300(&note);
        for (int i = 0; i < 6; i++)
            if (set & (1u << i))
                add_sig(&note, &w[i], CP300_TEXT, strlen(CP300_TEXT));
        unsigned nx = (unsigned)__builtin_popcount(set & 7);
        unsigned ny = (unsigned)__builtin_popcount(set >> 3);
        bool has[6];
        for (int i = 0; i < 6; i++)
            has[i] = set & (1u << i);
        bool want[NPOL] = {
            [NESTED] = nx >= 2 && ny >= 1,
            [ANY] = set != 0,
            [ALL] = set == 63,
            [TWO_OF_SIX] = nx + ny >= 2,
            [FIVE_OF_SIX] = nx + ny >= 5,
            [DEEP] = ((has[0] || has[1]) && has[5]) || has[2],
        };
        for (int k = 0; k < NPOL; k++) {
            tl_checkpoint cp;
            uint64_t times[6];
            tl_diag d = {{0}};
            tl_err e = tl_policy_check(pol[k], note.p, note.len, &cp, times, &d);
            if (e != (want[k] ? TL_OK : TL_ERR_QUORUM))
                fail_msg("policy %d, cosigners 0x%02x: got %d (%s)", k, set, e, d.msg);
            if (e == TL_OK) {
                for (int i = 0; i < 6; i++)
                    assert_int_equal(times[i], has[i] ? COSIG_TIME : 0);
            }
        }
        free(note.p);
    }
    for (int k = 0; k < NPOL; k++)
        free(pol[k]);
}

/* A hand-built policy with dangling references is a usage error, not a crash. */
static void test_check_handbuilt(void **state)
{
    (void)state;
    tl_policy *p = tl_policy_new();
    assert_non_null(p);
    tl_vkey lk;
    assert_int_equal(tl_vkey_parse(&lk, LOG_VKEY, strlen(LOG_VKEY), NULL), TL_OK);
    tl_policy_single_log(p, &lk);
    p->quorum_none = false;
    p->quorum = 3; /* no such group */
    sb note = {0};
    cp300(&note);
    tl_checkpoint cp;
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, NULL, NULL), TL_ERR_USAGE);
    p->ngroups = 1;
    p->quorum = 0;
    p->groups[0].k = 1;
    p->groups[0].nmembers = 1;
    p->groups[0].members[0] = 0; /* itself */
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, NULL, NULL), TL_ERR_USAGE);
    p->groups[0].members[0] = -5; /* no such witness */
    assert_int_equal(tl_policy_check(p, note.p, note.len, &cp, NULL, NULL), TL_ERR_USAGE);
    free(p);
    free(note.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),   cmocka_unit_test(test_parse_layout),
        cmocka_unit_test(test_parse_limits),    cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_check_vector),    cmocka_unit_test(test_check_origin),
        cmocka_unit_test(test_check_quorum_subsets), cmocka_unit_test(test_check_handbuilt),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
