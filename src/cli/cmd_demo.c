/* cmd_demo.c - treatylog demo: a treaty log with seven parties and three witnesses on
 * loopback, a scenario built from public events played on an accelerated clock (the clock
 * jumps to each event's date, so `logged` times and witness cosignature times move through
 * 2021-2023 together), each finding printed as it appears, evidence files for all of them,
 * then the server keeps running for the dashboard.
 *
 * Everything the demo does goes through the real paths: signed submissions over HTTP
 * (submit_post verifies each answer against the witness policy), the sequencer, the
 * witnesses' cosignatures, the rules engine fed by the server as entries integrate.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "../net/findings.h"
#include "cli.h"
#include "treatylog/clock.h"
#include "treatylog/entry.h"
#include "treatylog/follow.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"
#include "treatylog/sequencer.h"
#include "treatylog/text.h"
#include "treatylog/values.h"
#include "treatylog/witness.h"
#include "treatylog/witness_server.h"

#ifndef TL_RULES_DIR
#define TL_RULES_DIR "rules"
#endif

#define NPARTIES  7
#define NWITNESS  3
#define MAX_STEPS 32

static const struct {
    const char *code, *name, *role;
} parties[NPARTIES] = {
    {"UA", "Ukraine", NULL},
    {"RU", "Russian Federation", NULL},
    {"BY", "Belarus", NULL},
    {"PL", "Poland (2022 OSCE Chairmanship)", "chair"},
    {"LT", "Lithuania", NULL},
    {"EE", "Estonia", NULL},
    {"US", "United States of America", NULL},
};

/* One scenario step: at `when` (UTC), `from` sends `type` to `to` (JSON array text), with
 * refs to earlier steps by label, the body = the type's template body updated with `body`. */
typedef struct step {
    const char *label, *when, *from, *type, *to;
    const char *refs[3];
    const char *body;
    const char *note; /* what the step shows, printed before it */
} step;

/* Public events (domain.md §4 and the sources it cites); hours marked there as assumed. */
static const step scenario[] = {
    {"zapad",
     "2021-07-01T09:00:00Z",
     "BY",
     "vd11.ch5.notification",
     "[\"*\"]",
     {NULL},
     "{\"activity\":\"BY-2021-ZAPAD\",\"designation\":\"ZAPAD-2021\",\"purpose\":\"joint "
     "strategic exercise\",\"participants\":[\"BY\",\"RU\"],\"start\":\"2021-09-10\",\"end\":"
     "\"2021-09-16\",\"troops_peak\":12700,\"troops_total\":12700,\"battle_tanks\":240,\"acv\":"
     "450,\"artillery\":200,\"aircraft_sorties\":120,\"by_state\":{\"BY\":{\"troops_peak\":"
     "10200},\"RU\":{\"troops_peak\":2500}},\"stages\":[{\"from\":\"2021-09-10\",\"to\":"
     "\"2021-09-16\",\"troops\":12700}],\"in_calendar\":false}",
     "Belarus notifies ZAPAD-2021 at 12,700 troops: just under the 13,000 observation threshold"},
    {"zapad-inv",
     "2021-07-05T09:00:00Z",
     "BY",
     "vd11.ch6.observation-invitation",
     "[\"*\"]",
     {"zapad"},
     "{\"activity\":\"BY-2021-ZAPAD\",\"arrival\":{\"time\":\"2021-09-12T08:00:00Z\",\"place\":"
     "\"Minsk\"},\"reply_by\":\"2021-08-10T00:00:00Z\"}",
     "Belarus invites observers anyway (voluntary below the threshold)"},
    {"zapad-acc",
     "2021-07-20T09:00:00Z",
     "LT",
     "vd11.ch6.observation-reply",
     "[\"BY\"]",
     {"zapad-inv"},
     "{\"accept\":true,\"observers\":2}",
     "Lithuania accepts"},
    {"late",
     "2021-08-20T09:00:00Z",
     "RU",
     "vd11.ch5.notification",
     "[\"*\"]",
     {NULL},
     "{\"activity\":\"RU-2021-SOUTH\",\"designation\":\"SOUTHERN SHIELD\",\"purpose\":\"field "
     "training\",\"participants\":[\"RU\"],\"start\":\"2021-09-20\",\"end\":\"2021-09-26\","
     "\"troops_peak\":9500,\"troops_total\":9500,\"battle_tanks\":120,\"acv\":300,\"artillery\":"
     "90,\"aircraft_sorties\":40,\"by_state\":{},\"stages\":[{\"from\":\"2021-09-20\",\"to\":"
     "\"2021-09-26\",\"troops\":9500}],\"in_calendar\":false}",
     "Russia notifies a 9,500-troop exercise 31 days ahead (42 are due): a late prior "
     "notification"},
    {"snap",
     "2021-09-12T06:00:00Z",
     "RU",
     "vd11.ch5.notification",
     "[\"*\"]",
     {NULL},
     "{\"activity\":\"RU-2021-SNAP1\",\"designation\":\"READINESS CHECK\",\"purpose\":\"snap "
     "combat readiness inspection\",\"participants\":[\"RU\"],\"without_advance_notice\":true,"
     "\"start\":\"2021-09-12\",\"end\":\"2021-09-18\",\"troops_peak\":14000,\"troops_total\":"
     "14000,\"battle_tanks\":310,\"acv\":520,\"artillery\":160,\"aircraft_sorties\":60,"
     "\"by_state\":{},\"stages\":[{\"from\":\"2021-09-12\",\"to\":\"2021-09-18\",\"troops\":"
     "14000}],\"in_calendar\":false}",
     "Russia notifies a snap exercise as it starts: 14,000 troops for six days, no observers "
     "invited"},
    {"zapad-rep",
     "2021-09-17T12:00:00Z",
     "LT",
     "vd11.ch6.observation-report",
     "[\"*\"]",
     {"zapad-inv", "zapad-acc"},
     "{\"activity\":\"BY-2021-ZAPAD\",\"observed_from\":\"2021-09-12T08:00:00Z\","
     "\"observed_to\":\"2021-09-14T18:00:00Z\",\"observed\":{\"troops\":15500,\"battle_tanks\":"
     "250}}",
     "Lithuania's observers report about 15,500 troops in ZAPAD-2021: more than declared, "
     "over the threshold"},
    {"req",
     "2022-02-11T12:00:00Z",
     "UA",
     "vd11.ch3.explanation-request",
     "[\"*\"]",
     {NULL},
     "{\"concerning\":\"RU\"}",
     "11 Feb 2022: Ukraine asks Russia to explain unusual military activity (48 hours)"},
    {"ack",
     "2022-02-12T09:00:00Z",
     "EE",
     "generic.acknowledgement",
     "[\"UA\"]",
     {"req"},
     "{\"received\":\"2022-02-12T08:55:00Z\"}",
     "Other traffic: Estonia acknowledges"},
    {"tick",
     "2022-02-13T12:30:00Z",
     "LT",
     "generic.acknowledgement",
     "[\"UA\"]",
     {"req"},
     "{\"received\":\"2022-02-13T12:20:00Z\"}",
     "13 Feb, 12:30: the 48 hours have run out; no reply from Russia"},
    {"meet",
     "2022-02-13T18:00:00Z",
     "UA",
     "vd11.ch3.meeting-request",
     "[\"*\"]",
     {"req"},
     "{\"kind\":\"all-states\",\"with\":\"RU\"}",
     "Ukraine requests a meeting with Russia and all participating States within 48 hours"},
    {"notice",
     "2022-02-14T10:00:00Z",
     "PL",
     "vd11.ch3.meeting-notice",
     "[\"*\"]",
     {"meet"},
     "{\"start\":\"2022-02-15T15:00:00Z\"}",
     "The Chairmanship (Poland) convenes it"},
    {"record",
     "2022-02-15T17:30:00Z",
     "PL",
     "vd11.ch3.meeting-record",
     "[\"*\"]",
     {"notice", "meet"},
     "{\"held_start\":\"2022-02-15T15:00:00Z\",\"held_end\":\"2022-02-15T16:40:00Z\","
     "\"present\":[\"UA\",\"PL\",\"EE\",\"LT\",\"US\"],\"absent\":[\"RU\"]}",
     "15 Feb: the meeting is held; Russia is absent"},
    {"reply",
     "2022-02-17T09:00:00Z",
     "RU",
     "vd11.ch3.explanation-reply",
     "[\"UA\",\"PL\"]",
     {"req"},
     "{\"answers\":{},\"statement\":\"planned combat training; no notification "
     "required\"}",
     "17 Feb: Russia's note arrives, to Ukraine and the Chair only, answering no question"},
    {"incident",
     "2023-03-14T12:00:00Z",
     "US",
     "vd11.ch3.hazardous-incident",
     "[\"*\"]",
     {NULL},
     "{\"occurred\":\"2023-03-14T07:03:00Z\",\"area\":{\"text\":\"international air space over "
     "the Black Sea\"},\"involved\":[{\"party\":\"US\",\"platform\":\"MQ-9 unmanned "
     "aircraft\"},{\"party\":\"RU\",\"platform\":\"two Su-27 aircraft\"}],\"description\":"
     "\"fuel dumped in front of the aircraft; a collision with its propeller\",\"severity\":"
     "\"high-risk\"}",
     "14 Mar 2023: the United States reports a hazardous incident over the Black Sea"},
};
#define NSTEPS (sizeof scenario / sizeof scenario[0])

typedef struct demo {
    const char *dir;
    tl_clock clock;
    tl_skey op, party[NPARTIES], wit[NWITNESS];
    tl_witness_logs *wlogs;
    tl_witness_server *ws[NWITNESS];
    tl_schemas *schemas;
    tl_policy *policy;
    cli_serve *rt;
    uint8_t leaf[NSTEPS][TL_HASH_LEN];
    uint64_t serial[NPARTIES];
    size_t nfindings;
} demo;

static tl_err write_file(const char *path, const char *text, size_t len, mode_t mode, tl_diag *d)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return tl_fail(d, TL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (ok && chmod(path, mode) != 0)
        ok = false;
    return ok ? TL_OK : tl_fail(d, TL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
}

/* Makes a key and writes DIR/keys/<file>.key and .pub. */
static tl_err make_key(demo *m, const char *name, uint8_t type, const char *file, tl_skey *k,
                       tl_diag *d)
{
    tl_err e = tl_skey_generate(k, name, strlen(name), type, d);
    char path[4096], text[TL_SKEY_TEXT_MAX + 2];
    if (e == TL_OK) {
        size_t n = tl_skey_format(text, k);
        text[n++] = '\n';
        snprintf(path, sizeof path, "%s/keys/%s.key", m->dir, file);
        e = write_file(path, text, n, 0600, d);
    }
    if (e == TL_OK) {
        char vt[TL_VKEY_TEXT_MAX + 2];
        size_t n = tl_vkey_format(vt, &k->vkey);
        vt[n++] = '\n';
        snprintf(path, sizeof path, "%s/keys/%s.pub", m->dir, file);
        e = write_file(path, vt, n, 0644, d);
    }
    return e;
}

static int64_t when_ms(const char *when)
{
    int64_t s = 0;
    if (tl_value_datetime(when, strlen(when), &s) != TL_OK)
        return 0;
    return s * 1000;
}

/* Keys, witnesses, policy, registry, the log. */
static tl_err setup(demo *m, const char *listen, tl_diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/keys", m->dir);
    if (mkdir(m->dir, 0755) != 0)
        return tl_fail(d, TL_ERR_IO, "cannot create %s: %s (remove it or give --dir)", m->dir,
                       strerror(errno));
    if (mkdir(path, 0700) != 0)
        return tl_fail(d, TL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    const char *origin = "demo.treatylog.example/vd11";
    tl_clock_start_at(&m->clock, when_ms("2021-06-01T00:00:00Z"));
    tl_err e = make_key(m, origin, TL_KEY_ED25519, "operator", &m->op, d);
    for (size_t i = 0; i < NPARTIES && e == TL_OK; i++)
        e = make_key(m, parties[i].code, TL_KEY_ED25519, parties[i].code, &m->party[i], d);
    /* Three witnesses, each with its own state, on the demo's clock. */
    m->wlogs = tl_witness_logs_new();
    if (e == TL_OK && !m->wlogs)
        e = tl_fail(d, TL_ERR_NOMEM, "witness logs");
    if (e == TL_OK)
        e = tl_witness_logs_add(m->wlogs, origin, strlen(origin), &m->op.vkey, d);
    char wdir[NWITNESS][4096];
    for (size_t i = 0; i < NWITNESS && e == TL_OK; i++) {
        char name[64], file[16];
        snprintf(name, sizeof name, "witness%zu.demo.example", i + 1);
        snprintf(file, sizeof file, "witness%zu", i + 1);
        e = make_key(m, name, TL_KEY_COSIG_V1, file, &m->wit[i], d);
        snprintf(wdir[i], sizeof wdir[i], "%s/witness%zu", m->dir, i + 1);
        tl_witness_server_config wc;
        tl_witness_server_config_default(&wc);
        wc.dir = wdir[i];
        wc.listen = "127.0.0.1:0";
        wc.key = &m->wit[i];
        wc.logs = m->wlogs;
        wc.clock = &m->clock;
        if (e == TL_OK)
            e = tl_witness_server_start(&m->ws[i], &wc, d);
    }
    /* The witness policy: 2 of 3. */
    char pol[4096];
    size_t pl = 0;
    char vk[TL_VKEY_TEXT_MAX + 1];
    if (e == TL_OK) {
        tl_vkey_format(vk, &m->op.vkey);
        pl += (size_t)snprintf(pol + pl, sizeof pol - pl, "log %s\n", vk);
        for (size_t i = 0; i < NWITNESS; i++) {
            tl_vkey_format(vk, &m->wit[i].vkey);
            pl +=
                (size_t)snprintf(pol + pl, sizeof pol - pl, "witness W%zu %s http://127.0.0.1:%u\n",
                                 i + 1, vk, tl_witness_server_port(m->ws[i]));
        }
        pl += (size_t)snprintf(pol + pl, sizeof pol - pl,
                               "group demo-witnesses 2 W1 W2 W3\n"
                               "quorum demo-witnesses\n");
        snprintf(path, sizeof path, "%s/policy", m->dir);
        e = write_file(path, pol, pl, 0644, d);
    }
    if (e == TL_OK) {
        m->policy = tl_policy_new();
        e = m->policy ? tl_policy_parse(m->policy, pol, pl, d) : TL_ERR_NOMEM;
    }
    /* The ruleset, named by hash in the registry. */
    uint8_t *rules = NULL;
    size_t rlen = 0;
    char rpath[4096];
    const char *env = getenv("TREATYLOG_RULES");
    snprintf(rpath, sizeof rpath, "%s/vd11.rules", env && env[0] ? env : TL_RULES_DIR);
    if (e == TL_OK)
        e = cli_read_file(rpath, 1u << 20, &rules, &rlen, d);
    uint8_t sha[32];
    char hex[65];
    if (e == TL_OK) {
        SHA256(rules, rlen, sha);
        for (size_t i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", sha[i]);
    }
    free(rules);
    /* The registry. */
    if (e == TL_OK) {
        json_t *reg = json_object();
        json_object_set_new(reg, "action", json_string("genesis"));
        json_t *ps = json_array();
        for (size_t i = 0; i < NPARTIES; i++) {
            tl_vkey_format(vk, &m->party[i].vkey);
            json_t *p = json_object();
            json_object_set_new(p, "code", json_string(parties[i].code));
            json_object_set_new(p, "name", json_string(parties[i].name));
            json_object_set_new(p, "keys", json_pack("[s]", vk));
            json_object_set_new(p, "roles",
                                parties[i].role ? json_pack("[s]", parties[i].role) : json_array());
            json_array_append_new(ps, p);
        }
        json_object_set_new(reg, "parties", ps);
        json_object_set_new(reg, "witness_policy", json_stringn(pol, pl));
        json_object_set_new(reg, "rulesets",
                            json_pack("[{s:s,s:s}]", "name", "vd11.rules", "sha256", hex));
        char *txt = json_dumps(reg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(reg);
        snprintf(path, sizeof path, "%s/registry.json", m->dir);
        e = txt ? write_file(path, txt, strlen(txt), 0644, d) : TL_ERR_NOMEM;
        free(txt);
    }
    if (e == TL_OK) {
        tl_clock_start_at(&m->clock, when_ms("2021-06-01T00:00:00Z"));
        char logdir[4096], key[4096], reg[4096], when[32];
        snprintf(logdir, sizeof logdir, "%s/log", m->dir);
        snprintf(key, sizeof key, "%s/keys/operator.key", m->dir);
        snprintf(reg, sizeof reg, "%s/registry.json", m->dir);
        snprintf(when, sizeof when, "2021-06-01T00:00:00Z");
        char *argv[] = {"init", logdir,     "--key",        key, "--registry", reg, "--time",
                        when,   "--origin", (char *)origin, NULL};
        int saved = dup(1);
        FILE *nul = fopen("/dev/null", "w");
        if (nul) { /* init prints the key: not part of the demo's output */
            fflush(stdout);
            dup2(fileno(nul), 1);
        }
        int rc = cmd_init(10, argv);
        fflush(stdout);
        if (nul) {
            dup2(saved, 1);
            fclose(nul);
        }
        close(saved);
        if (rc != 0)
            e = tl_fail(d, TL_ERR_IO, "creating the demo log failed");
    }
    /* The server, in this process, on the same clock. */
    if (e == TL_OK) {
        cli_setting set[CLI_SERVE_SETTINGS];
        cli_serve_settings(set);
        char logdir[4096], policy[4096];
        snprintf(logdir, sizeof logdir, "%s/log", m->dir);
        snprintf(policy, sizeof policy, "%s/policy", m->dir);
        for (size_t i = 0; i < CLI_SERVE_SETTINGS; i++) {
            if (strcmp(set[i].name, "dir") == 0)
                set[i].value = logdir;
            else if (strcmp(set[i].name, "listen") == 0)
                set[i].value = listen;
            else if (strcmp(set[i].name, "witness-policy") == 0)
                set[i].value = policy;
            else if (strcmp(set[i].name, "witness-interval-ms") == 0)
                set[i].value = "100";
            else if (strcmp(set[i].name, "batch-ms") == 0)
                set[i].value = "20";
        }
        e = cli_serve_open(&m->rt, set, &m->clock, d);
    }
    if (e == TL_OK)
        e = cli_load_schemas(NULL, &m->schemas, d);
    return e;
}

static size_t party_index(const char *code)
{
    for (size_t i = 0; i < NPARTIES; i++)
        if (strcmp(parties[i].code, code) == 0)
            return i;
    return 0;
}

static size_t step_index(const char *label)
{
    for (size_t i = 0; i < NSTEPS; i++)
        if (strcmp(scenario[i].label, label) == 0)
            return i;
    return 0;
}

/* Builds, signs and submits step i; keeps its leaf hash. */
static tl_err play(demo *m, size_t i, tl_diag *d)
{
    const step *s = &scenario[i];
    size_t p = party_index(s->from);
    char *tmpl = NULL;
    size_t tlen = 0;
    tl_err e = tl_notification_template(&tmpl, &tlen, m->schemas, s->type, d);
    if (e != TL_OK)
        return e;
    json_t *doc = json_loads(tmpl + TL_NOTIFICATION_HEADER_LEN, 0, NULL);
    free(tmpl);
    json_t *over = json_loads(s->body, 0, NULL);
    json_t *to = json_loads(s->to, 0, NULL);
    if (!doc || !over || !to) {
        json_decref(doc);
        json_decref(over);
        json_decref(to);
        return tl_fail(d, TL_ERR_INTERNAL, "demo step %s: bad JSON", s->label);
    }
    json_object_set_new(doc, "from", json_string(s->from));
    json_object_set_new(doc, "serial", json_integer((json_int_t)++m->serial[p]));
    json_object_set_new(doc, "sent", json_string(s->when));
    json_object_set_new(doc, "to", to);
    json_t *refs = json_array();
    for (size_t k = 0; k < 3 && s->refs[k]; k++) {
        char b64[45];
        tl_b64_encode(b64, m->leaf[step_index(s->refs[k])], TL_HASH_LEN);
        b64[44] = '\0';
        json_array_append_new(refs, json_string(b64));
    }
    json_object_set_new(doc, "refs", refs);
    json_object_update(json_object_get(doc, "body"), over);
    json_decref(over);
    char *js = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    char *text = NULL, *note = NULL;
    size_t len = 0, nlen = 0;
    e = js ? tl_notification_from_json(&text, &len, m->schemas, js, strlen(js), d) : TL_ERR_NOMEM;
    free(js);
    if (e == TL_OK)
        e = tl_note_sign(&note, &nlen, text, len, &m->party[p], d);
    free(text);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "demo step %s", s->label);
    char receipts[4096], stem[64];
    snprintf(receipts, sizeof receipts, "%s/receipts", m->dir);
    snprintf(stem, sizeof stem, "%s-%llu", s->from, (unsigned long long)m->serial[p]);
    printf("\n%.16s  %s/%llu  %s\n  %s\n  ", s->when, s->from, (unsigned long long)m->serial[p],
           s->type, s->note);
    fflush(stdout);
    int rc = submit_post("demo", cli_serve_url(m->rt), note, nlen, m->policy, 10, receipts, stem);
    free(note);
    if (rc != 0)
        return tl_fail(d, TL_ERR_IO, "demo step %s: the submission failed", s->label);
    /* Its leaf hash, from the entry the answer rebuilt. */
    char path[4096 + 128];
    snprintf(path, sizeof path, "%s/%s.entry", receipts, stem);
    uint8_t *ent = NULL;
    size_t elen = 0;
    e = cli_read_file(path, 1u << 17, &ent, &elen, d);
    if (e == TL_OK)
        tl_leaf_hash(m->leaf[i], ent, elen);
    free(ent);
    return e;
}

/* Waits until the entries so far are in a witnessed checkpoint the rules have seen. */
static tl_err settle(demo *m, tl_diag *d)
{
    tl_seq *seq = cli_serve_seq(m->rt);
    uint64_t want = tl_seq_size(seq);
    for (int i = 0; i < 300; i++) {
        char *note = NULL;
        size_t len = 0;
        uint64_t size = 0;
        tl_diag wd;
        if (tl_seq_witnessed(seq, &note, &len, &size, &wd) == TL_OK) {
            free(note);
            if (size >= want && tl_live_findings_witnessed_size(cli_serve_findings(m->rt)) >= want)
                return TL_OK;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return tl_fail(d, TL_ERR_IO, "no witnessed checkpoint of size %llu after 15 s",
                   (unsigned long long)want);
}

/* The findings that appeared at a step, collected, then printed: several of one rule and
 * state at once (a yearly due date missed by every party) as one line. */
typedef struct news {
    json_t *list;
} news;

static void collect_finding(void *ctx, const char *line)
{
    news *n = ctx;
    json_t *j = json_loads(line, 0, NULL);
    if (j)
        json_array_append_new(n->list, j);
}

static void print_one(const json_t *j)
{
    const char *state = json_string_value(json_object_get(j, "state"));
    const char *rule = json_string_value(json_object_get(j, "rule"));
    const char *why = json_string_value(json_object_get(j, "why"));
    printf("  >> %-9s %-30s %s\n", state ? state : "?", rule ? rule : "?", why ? why : "");
}

static void print_news(demo *m, news *n)
{
    size_t cnt = json_array_size(n->list);
    bool *done = calloc(cnt ? cnt : 1, sizeof *done);
    size_t *group = calloc(cnt ? cnt : 1, sizeof *group);
    for (size_t i = 0; done && group && i < cnt; i++) {
        if (done[i])
            continue;
        json_t *j = json_array_get(n->list, i);
        size_t ng = 0;
        for (size_t k = i; k < cnt; k++) { /* same rule, state and due date */
            json_t *o = json_array_get(n->list, k);
            if (!done[k] && json_equal(json_object_get(o, "rule"), json_object_get(j, "rule")) &&
                json_equal(json_object_get(o, "state"), json_object_get(j, "state")) &&
                json_equal(json_object_get(o, "due"), json_object_get(j, "due")))
                group[ng++] = k;
        }
        if (ng <= 2) {
            print_one(j);
            done[i] = true;
            m->nfindings++;
            continue;
        }
        char who[128] = "";
        for (size_t g = 0; g < ng; g++) {
            json_t *o = json_array_get(n->list, group[g]);
            const char *p = json_string_value(json_array_get(json_object_get(o, "parties"), 0));
            size_t l = strlen(who);
            if (p && l + 4 < sizeof who)
                snprintf(who + l, sizeof who - l, "%s%s", l ? " " : "", p);
            done[group[g]] = true;
        }
        const char *state = json_string_value(json_object_get(j, "state"));
        const char *rule = json_string_value(json_object_get(j, "rule"));
        const char *why = json_string_value(json_object_get(j, "why"));
        printf("  >> %-9s %-30s %zu parties (%s), e.g.: %s\n", state ? state : "?",
               rule ? rule : "?", ng, who, why ? why : "");
        m->nfindings += ng;
    }
    free(done);
    free(group);
    json_array_clear(n->list);
}

typedef struct ev_ctx {
    demo *m;
    size_t n, failed;
} ev_ctx;

static void write_evidence(void *ctx, const char *line)
{
    ev_ctx *c = ctx;
    json_t *j = json_loads(line, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    const tl_findings_src *src = tl_live_findings_src(cli_serve_findings(c->m->rt));
    char *body = NULL;
    size_t len = 0;
    unsigned st = id ? src->evidence(src->ctx, id, &body, &len) : 0;
    if (st != 200 && c->failed == 0)
        fprintf(stderr, "treatylog demo: evidence of %s: HTTP %u %.*s\n", id ? id : "?", st,
                (int)(len > 300 ? 300 : len), body ? body : "");
    if (st == 200) {
        char file[256], path[4096];
        snprintf(file, sizeof file, "%s", id);
        for (char *p = file; *p; p++)
            if (*p == '/')
                *p = '_';
        snprintf(path, sizeof path, "%s/evidence/%s.json", c->m->dir, file);
        tl_diag d;
        if (write_file(path, body, len, 0644, &d) == TL_OK)
            c->n++;
        else
            c->failed++;
    } else {
        c->failed++;
    }
    free(body);
    json_decref(j);
}

int cmd_demo(int argc, char **argv)
{
    const char *dir = NULL, *listen = "127.0.0.1:8420";
    bool no_wait = false;
    cli_opt opts[] = {
        {"dir", &dir, NULL},
        {"listen", &listen, NULL},
        {"no-wait", NULL, &no_wait},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("demo", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 0, &npos);
    if (rc)
        return rc;
    demo *m = calloc(1, sizeof *m);
    if (!m)
        return EXIT_USAGE;
    m->dir = dir ? dir : "treatylog-demo";
    sigset_t sigs;
    cli_block_signals(&sigs);
    tl_diag d = {{0}};
    printf("treatylog demo: a Vienna Document 2011 ledger with %d parties and %d witnesses\n"
           "(2 of 3 must cosign), replaying public events of 2021-2023 on an accelerated "
           "clock.\nFiles: %s/ (keys, policy, registry, log, receipts, evidence)\n",
           NPARTIES, NWITNESS, m->dir);
    tl_err e = setup(m, listen, &d);
    if (e == TL_OK)
        e = settle(m, &d);
    for (size_t i = 0; i < NSTEPS && e == TL_OK; i++) {
        tl_clock_advance_to(&m->clock, when_ms(scenario[i].when));
        e = play(m, i, &d);
        if (e == TL_OK)
            e = settle(m, &d);
        if (e == TL_OK) {
            news n = {json_array()};
            tl_live_findings_news(cli_serve_findings(m->rt), collect_finding, &n);
            print_news(m, &n);
            json_decref(n.list);
        }
        fflush(stdout);
    }
    /* Six quiet days: no entry, but the witnesses keep cosigning the same checkpoint, so the
     * incident's deadline passes all the same. */
    if (e == TL_OK) {
        const char *quiet = "2023-03-20T09:00:00Z";
        tl_clock_advance_to(&m->clock, when_ms(quiet));
        printf("\n%.16s  (no traffic)\n  Six quiet days, no clarification of the incident: the "
               "witnesses cosign the same checkpoint again, and the 72 hours run out all the "
               "same\n",
               quiet);
        tl_live_findings *lf = cli_serve_findings(m->rt);
        int i = 0;
        for (; i < 300 && tl_live_findings_witnessed_time(lf) * 1000 < when_ms(quiet); i++) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (i == 300)
            e = tl_fail(&d, TL_ERR_IO, "no checkpoint was cosigned again within 15 s");
        news n = {json_array()};
        tl_live_findings_news(lf, collect_finding, &n);
        print_news(m, &n);
        json_decref(n.list);
    }
    ev_ctx ev = {m, 0, 0};
    if (e == TL_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/evidence", m->dir);
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            e = tl_fail(&d, TL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    if (e == TL_OK) {
        tl_live_findings_all(cli_serve_findings(m->rt), write_evidence, &ev);
        if (ev.failed)
            e = tl_fail(&d, TL_ERR_IO, "%zu evidence files could not be built", ev.failed);
    }
    if (e == TL_OK) {
        printf("\n%zu findings appeared or changed state; the %zu in force now each have an "
               "evidence file in %s/evidence/. Check one offline (the ruleset's text is in "
               "the file's registry entries):\n"
               "  treatylog verify-evidence %s/evidence/<file> --policy %s/policy\n"
               "Re-derive every finding from the log alone:\n"
               "  treatylog check %s --policy %s/policy\n\n"
               "Dashboard and API: %s/\n",
               m->nfindings, ev.n, m->dir, m->dir, m->dir, cli_serve_url(m->rt), m->dir,
               cli_serve_url(m->rt));
        fflush(stdout);
        if (!no_wait) {
            printf("(the log keeps running: Ctrl-C to stop)\n");
            fflush(stdout);
            int sig = 0;
            sigwait(&sigs, &sig);
        }
    }
    cli_serve_close(m->rt);
    for (size_t i = 0; i < NWITNESS; i++) {
        if (m->ws[i]) {
            tl_witness_server_quiesce(m->ws[i]);
            tl_witness_server_stop(m->ws[i]);
        }
    }
    tl_witness_logs_free(m->wlogs);
    tl_schemas_free(m->schemas);
    free(m->policy);
    tl_skey_wipe(&m->op);
    for (size_t i = 0; i < NPARTIES; i++)
        tl_skey_wipe(&m->party[i]);
    for (size_t i = 0; i < NWITNESS; i++)
        tl_skey_wipe(&m->wit[i]);
    free(m);
    if (e != TL_OK)
        return cli_fail("demo", e, &d);
    return 0;
}
