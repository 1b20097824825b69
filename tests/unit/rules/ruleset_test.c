/* ruleset_test.c - the treatylog/rules/v1 parser (src/rules/ruleset.c): the shipped rulesets,
 * accessors, canonical params, and malformed rulesets with their line:column errors. */
#include <stdbool.h>
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
    const char *must[] = {
        "vd11.ch1.aemi-due", "vd11.ch7.calendar-due", "vd11.ch7.not-in-calendar",
        "vd11.ch5.notice-lead", "vd11.ch5.snap-at-start", "vd11.ch5.near-threshold",
        "vd11.ch5.peak-from-stages", "vd11.ch5.declared-vs-observed", "vd11.ch8.large-per-3y",
        "vd11.ch8.three-over-25k", "vd11.ch8.three-at-once", "vd11.ch3.reply-content",
        "vd11.ch3.share-all", "vd11.ch3.meeting-48h", "vd11.ch3.attendance",
        "vd11.ch9.inspection-quota", "gen.serial-gap", "gen.sent-skew", "gen.operator-time",
        /* issue #6: every rule of domain.md §3.2 */
        "vd11.ch2.planning-due", "vd11.ch5.air-component", "vd11.ch5.linked-activities",
        "vd11.ch8.large-announced", "vd11.ch9.inspection-entry-36h", "vd11.ch9.report-due",
        "vd11.ch9.report-due.evaluation", "vd11.ch9.evaluation-quota", "vd11.ch9.quota-filled",
        "vd11.ch5.landing-threshold", "vd11.ch5.notify-threshold.calendar"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!tl_ruleset_find(rs, must[i]))
            fail_msg("vd11.rules lacks %s", must[i]);
    for (size_t i = 0; i < tl_ruleset_count(rs); i++) {
        const char *c = tl_rule_confidence(tl_ruleset_rule(rs, i));
        assert_true(!strcmp(c, "C") || !strcmp(c, "V") || !strcmp(c, "P") || !strcmp(c, "PC"));
    }
    /* Multinational activities: every threshold and cap on notifications chooses explicitly
     * (domain.md §3.3.3). */
    for (size_t i = 0; i < tl_ruleset_count(rs); i++) {
        const tl_rule *x = tl_ruleset_rule(rs, i);
        const char *k = tl_rule_kind(x);
        bool on_notif = false;
        for (size_t o = 0; o < tl_rule_param_count(x, "on"); o++)
            on_notif = on_notif || !strcmp(tl_rule_param(x, "on", o, 0), "vd11.ch5.notification");
        if (on_notif &&
            (!strcmp(k, "threshold") || !strcmp(k, "count-limit") || !strcmp(k, "concurrency")) &&
            tl_rule_param_count(x, "aggregate") != 1)
            fail_msg("%s does not choose aggregate activity or per_state", tl_rule_id(x));
    }
    r = tl_ruleset_find(rs, "vd11.ch9.evaluation-quota");
    assert_int_equal(tl_rule_param_int(r, "per-units", 0), 60);
    assert_int_equal(tl_rule_param_int(r, "per-year", 0), 15);
    assert_string_equal(tl_rule_param(r, "units-from", 0, 2), "valid_from");
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
    const char *more[] = {"os.window-96h", "os.plan-agree-8h", "os.late-arrival", "os.report-due"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (!tl_ruleset_find(rs, more[i]))
            fail_msg("open-skies.rules lacks %s", more[i]);
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
        {"treatylog/rules/v1\nrule a threshold {\n aggregate states\n",
         "x.rules:3:12: bad aggregate \"states\" (want activity or per_state)"},
        {"treatylog/rules/v1\nrule a reply-deadline {\n anchor received\n",
         "x.rules:3:9: bad anchor \"received\" (want logged or receipt)"},
        {"treatylog/rules/v1\nrule a reply-deadline {\n anchor logged x\n",
         "x.rules:3:16: anchor logged takes no further words"},
        {"treatylog/rules/v1\nrule a reply-deadline {\n anchor receipt Ack\n",
         "x.rules:3:17: bad message type \"Ack\""},
        {"treatylog/rules/v1\nrule a reply-deadline {\n on a\n reply b\n party to\n hours 1\n"
         " from start\n anchor receipt\n confidence P\n}\n",
         "x.rules:10:1: rule a: reply-deadline takes at most one of \"from\" and \"anchor "
         "receipt\""},
        {"treatylog/rules/v1\nrule a threshold {\n on a\n any x >= 1\n require b\n each list\n"
         " confidence P\n}\n",
         "x.rules:8:1: rule a: \"each\" needs \"match activity\" and takes no \"amended-by\""},
        {"treatylog/rules/v1\nrule a threshold {\n by-day 11-15 101\n",
         "x.rules:3:15: bad number of years \"101\" (0 to 100)"},
        {"treatylog/rules/v1\nrule a threshold {\n by-day 11-31 2\n",
         "x.rules:3:9: bad date \"11-31\" (want MM-DD)"},
        {"treatylog/rules/v1\nrule a quota {\n on a\n reply b\n accept-field x\n"
         " grounds-field g\n grounds-value quota\n per-year 3\n per-sender 1\n"
         " per-sender-divisor 5\n confidence V\n}\n",
         "x.rules:12:1: rule a: quota takes exactly one of \"per-sender\" and "
         "\"per-sender-divisor\""},
        {"treatylog/rules/v1\nrule a quota {\n units-from t units\n",
         "x.rules:3:15: parameter \"units-from\" takes 3 words"},
        {"treatylog/rules/v1\nrule a quota {\n notice t f v Year\n",
         "x.rules:3:15: bad field name \"Year\""},
        {"treatylog/rules/v1\nrule a linked {\n on a\n any x >= 1\n distance-km 300\n"
         " overlap-days 0\n start s\n end e\n area a\n confidence P\n}\n",
         "x.rules:11:1: rule a: \"overlap-days\" must be at least 1"},
        {"treatylog/rules/v1\nrule a field-span {\n on a\n from f\n to t\n confidence P\n}\n",
         "x.rules:7:1: rule a: field-span takes exactly one of \"max-hours\" and \"min-hours\""},
        {"treatylog/rules/v1\nrule a declared-vs-observed {\n on a\n declared b\n pair x y\n"
         " unreported above\n confidence P\n}\n",
         "x.rules:8:1: rule a: \"unreported\" takes the word below"},
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
