/* ruleset_test.c - the treatylog/rules/v1 parser (src/rules/ruleset.c): the shipped rulesets,
 * accessors, canonical params, and malformed rulesets with their line:column errors. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "treatylog/ruleset.h"

static char *read_repo(const char *rel, size_t *len)
{
    char path[4096];
    const char *v = getenv("TL_VECTORS"); /* <repo>/tests/vectors */
    const char *vc = v ? strstr(v, "tests/vectors") : NULL;
    if (vc) {
        snprintf(path, sizeof path, "%.*s%s", (int)(vc - v), v, rel);
    } else {
        const char *f = __FILE__;
        const char *cut = strstr(f, "tests/unit/rules/");
        snprintf(path, sizeof path, "%.*s%s", cut ? (int)(cut - f) : 0, f, rel);
    }
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    b[n] = 0;
    fclose(fp);
    *len = (size_t)n;
    return b;
}

static void test_shipped_vd11(void **state)
{
    (void)state;
    size_t len;
    char *t = read_repo("rules/vd11.rules", &len);
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    if (tl_ruleset_parse(&rs, "vd11.rules", t, len, &d) != TL_OK)
        fail_msg("%s", d.msg);
    assert_true(tl_ruleset_count(rs) >= 25);
    /* The rules of the worked timeline and their parameters. */
    const tl_rule *r = tl_ruleset_find(rs, "vd11.ch3.reply-48h");
    assert_non_null(r);
    assert_string_equal(tl_rule_kind(r), "reply-deadline");
    assert_string_equal(tl_rule_confidence(r), "C");
    assert_int_equal(tl_rule_param_int(r, "hours", 0), 48);
    assert_string_equal(tl_rule_params_json(r),
                        "{\"on\":\"vd11.ch3.explanation-request\",\"reply\":"
                        "\"vd11.ch3.explanation-reply\",\"party\":\"concerning\",\"hours\":48}");
    r = tl_ruleset_find(rs, "vd11.ch6.observe-threshold");
    assert_non_null(r);
    assert_int_equal(tl_rule_param_count(r, "any"), 4);
    assert_string_equal(tl_rule_param(r, "any", 0, 0), "troops_peak");
    assert_string_equal(tl_rule_param(r, "any", 0, 1), ">=");
    assert_string_equal(tl_rule_param(r, "any", 0, 2), "13000");
    assert_null(tl_rule_param(r, "any", 4, 0));
    assert_null(tl_rule_param(r, "any", 0, 3));
    /* Multi-valued keys become arrays; conditions strings. */
    assert_non_null(strstr(tl_rule_params_json(r),
                           "\"any\":[\"troops_peak >= 13000\",\"battle_tanks >= 300\","));
    r = tl_ruleset_find(rs, "vd11.ch8.six-per-year");
    assert_non_null(strstr(tl_rule_params_json(r), "\"any\":[\"troops_peak > 13000\""));
    const char *must[] = {"vd11.ch1.aemi-due",
                          "vd11.ch7.calendar-due",
                          "vd11.ch7.not-in-calendar",
                          "vd11.ch5.notice-lead",
                          "vd11.ch5.snap-at-start",
                          "vd11.ch5.near-threshold",
                          "vd11.ch5.peak-from-stages",
                          "vd11.ch5.declared-vs-observed",
                          "vd11.ch8.large-per-3y",
                          "vd11.ch8.three-over-25k",
                          "vd11.ch8.three-at-once",
                          "vd11.ch3.reply-content",
                          "vd11.ch3.share-all",
                          "vd11.ch3.meeting-48h",
                          "vd11.ch3.attendance",
                          "vd11.ch9.inspection-quota",
                          "gen.serial-gap",
                          "gen.sent-skew",
                          "gen.operator-time"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!tl_ruleset_find(rs, must[i]))
            fail_msg("vd11.rules lacks %s", must[i]);
    for (size_t i = 0; i < tl_ruleset_count(rs); i++) {
        const char *c = tl_rule_confidence(tl_ruleset_rule(rs, i));
        assert_true(!strcmp(c, "C") || !strcmp(c, "V") || !strcmp(c, "P") || !strcmp(c, "PC"));
    }
    assert_null(tl_ruleset_rule(rs, tl_ruleset_count(rs)));
    tl_ruleset_free(rs);
    free(t);
}

static void test_shipped_open_skies(void **state)
{
    (void)state;
    size_t len;
    char *t = read_repo("rules/open-skies.rules", &len);
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    if (tl_ruleset_parse(&rs, "open-skies.rules", t, len, &d) != TL_OK)
        fail_msg("%s", d.msg);
    const tl_rule *r = tl_ruleset_find(rs, "os.notice-72h");
    assert_non_null(r);
    assert_int_equal(tl_rule_param_int(r, "hours-before", 0), 72);
    assert_non_null(tl_ruleset_find(rs, "os.ack-24h"));
    assert_non_null(tl_ruleset_find(rs, "os.notify-all"));
    tl_ruleset_free(rs);
    free(t);
}

/* Each malformed ruleset and the exact error it gives. */
static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "x.rules:1:1: empty ruleset (the first line must be \"treatylog/rules/v1\")"},
        {"treatylog/rules/v2\n", "x.rules:1:1: the first line must be \"treatylog/rules/v1\""},
        {"treatylog/rules/v1", "x.rules:1:19: missing LF at the end of the file"},
        {"treatylog/rules/v1\nrule a.b dedline {\n}\n",
         "x.rules:2:10: unknown rule kind \"dedline\""},
        {"treatylog/rules/v1\n\n  rule A reply-deadline {\n",
         "x.rules:3:8: bad rule id \"A\" (want [a-z0-9][a-z0-9.-]*)"},
        {"treatylog/rules/v1\nrule a serial\n", "x.rules:2:14: expected \"{\" after the rule kind"},
        {"treatylog/rules/v1\nrule a serial { x\n", "x.rules:2:17: text after \"{\""},
        {"treatylog/rules/v1\nrule a serial {\n  confidence X\n}\n",
         "x.rules:3:14: bad confidence \"X\" (want C, V, P or PC)"},
        {"treatylog/rules/v1\nrule a serial {\n  hours 4\n}\n",
         "x.rules:3:3: unknown parameter \"hours\" for kind serial"},
        {"treatylog/rules/v1\nrule a sent-skew {\n confidence P\n}\n",
         "x.rules:4:1: rule a: missing parameter \"tolerance-seconds\""},
        {"treatylog/rules/v1\nrule a sent-skew {\n tolerance-seconds 060\n",
         "x.rules:3:20: bad integer \"060\" (decimal, no sign or leading zero, at most 10^12)"},
        {"treatylog/rules/v1\nrule a sent-skew {\n tolerance-seconds -1\n",
         "x.rules:3:20: bad integer \"-1\" (decimal, no sign or leading zero, at most 10^12)"},
        {"treatylog/rules/v1\nrule a sent-skew {\n tolerance-seconds 1 2\n",
         "x.rules:3:22: parameter \"tolerance-seconds\" takes 1 word"},
        {"treatylog/rules/v1\nrule a count-limit {\n years 101\n",
         "x.rules:3:8: years 101 is more than 100"},
        {"treatylog/rules/v1\nrule a reply-deadline {\n hours 876001\n",
         "x.rules:3:8: hours 876001 is more than 876000"},
        {"treatylog/rules/v1\nrule a threshold {\n any troops_peak => 5\n",
         "x.rules:3:18: bad comparison \"=>\" (want >= or >)"},
        {"treatylog/rules/v1\nrule a due-date {\n due 02-30\n",
         "x.rules:3:6: bad date \"02-30\" (want MM-DD)"},
        {"treatylog/rules/v1\nrule a serial {\n confidence P\n confidence V\n",
         "x.rules:4:2: parameter \"confidence\" given twice"},
        {"treatylog/rules/v1\nrule a serial {\n confidence P\n}\nrule a serial {\n",
         "x.rules:5:6: duplicate rule id \"a\""},
        {"treatylog/rules/v1\nrule a serial {\n confidence P\n",
         "x.rules:4:1: end of file inside rule a (missing \"}\")"},
        {"treatylog/rules/v1\nrule a serial {\n confidence P\nrule b serial {\n",
         "x.rules:4:1: unexpected \"rule\" inside a rule (missing \"}\"?)"},
        {"treatylog/rules/v1\nrule a serial {\r\n",
         "x.rules:2:16: carriage return (lines end with LF only)"},
        {"treatylog/rules/v1\nrule a serial { # ok \x01\n",
         "x.rules:2:22: control character in a comment"},
        {"treatylog/rules/v1\nrule a serial { # caf\xc3\n",
         "x.rules:2:17: comment is not valid UTF-8"},
        {"treatylog/rules/v1\nrule a serial {\n confidence \"P\"\n",
         "x.rules:3:13: quotes are not part of the syntax"},
        {"treatylog/rules/v1\nrule a serial {\n confidence P\n} }\n",
         "x.rules:4:3: text after \"}\""},
        {"treatylog/rules/v1\nserial\n", "x.rules:2:1: expected \"rule\", found \"serial\""},
        {"treatylog/rules/v1\nrule a advance-notice {\n on x\n field start\n days 1\n"
         " grace-hours 2\n confidence P\n}\n",
         "x.rules:8:1: rule a: advance-notice takes exactly one of \"days\", \"hours-before\" and "
         "\"grace-hours\""},
        {"treatylog/rules/v1\nrule a reply-deadline {\n on X.y\n",
         "x.rules:3:5: bad message type \"X.y\""},
        {"treatylog/rules/v1\nrule a reply-deadline {\n party role:\n",
         "x.rules:3:8: bad party \"role:\" (want to, any, role:<role> or a body field)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tl_ruleset *rs = (tl_ruleset *)1;
        tl_diag d = {{0}};
        tl_err e = tl_ruleset_parse(&rs, "x.rules", cases[i].text, strlen(cases[i].text), &d);
        if (e != TL_ERR_FORMAT)
            fail_msg("case %zu: want TL_ERR_FORMAT, got %d", i, e);
        assert_null(rs);
        if (strcmp(d.msg, cases[i].want) != 0)
            fail_msg("case %zu:\n want %s\n got  %s", i, cases[i].want, d.msg);
    }
    /* Without a name: "line:col: ...". */
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    const char *t = "treatylog/rules/v1\nrule a b {\n";
    assert_int_equal(tl_ruleset_parse(&rs, NULL, t, strlen(t), &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "2:8: unknown rule kind \"b\"");
    /* A NUL byte. */
    const char nul[] = "treatylog/rules/v1\nru\0le\n";
    assert_int_equal(tl_ruleset_parse(&rs, NULL, nul, sizeof nul - 1, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "2:3: NUL byte");
}

static void test_comments_and_blank_lines(void **state)
{
    (void)state;
    const char *t = "treatylog/rules/v1\n# a comment, UTF-8 allowed: § é\n\n"
                    "rule gen.s serial {   # trailing comment\n\t confidence P # P: policy\n}\n";
    tl_ruleset *rs = NULL;
    tl_diag d = {{0}};
    if (tl_ruleset_parse(&rs, "c.rules", t, strlen(t), &d) != TL_OK)
        fail_msg("%s", d.msg);
    assert_int_equal(tl_ruleset_count(rs), 1);
    const tl_rule *r = tl_ruleset_rule(rs, 0);
    assert_string_equal(tl_rule_id(r), "gen.s");
    assert_int_equal(tl_rule_line(r), 4);
    assert_string_equal(tl_rule_params_json(r), "{}");
    assert_int_equal(tl_rule_param_int(r, "nothing", -7), -7);
    tl_ruleset_free(rs);
    tl_ruleset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_vd11),
        cmocka_unit_test(test_shipped_open_skies),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_comments_and_blank_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
