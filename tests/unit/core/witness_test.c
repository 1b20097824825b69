/* witness_test.c - the pure add-checkpoint decisions (witness.c): every row of the
 * test-vectors.md §6.3 scenario table with its exact status and byte-exact 200 bodies (clock
 * injected at 1767139200), then malformed bodies, the 63-line proof limit, bad base64, the
 * signature rows, the size-0 rows, the stored record and the configured-log set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/text.h"
#include "treatylog/witness.h"

#define T0       1767139200u
#define EM       "\xe2\x80\x94 "
#define ORIGIN   "treatylog.example/test-log"
#define LOG_VKEY "treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0"
#define LOG_SKEY                                                                                   \
    "PRIVATE+KEY+treatylog.example/test-log+b32a3142+AWoaEIOzETe0K5xRhKH6PIW0nXMrPqdZj03y1FNVllt5"
#define W_VKEY                                                                                     \
    "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o"
#define W_SKEY                                                                                     \
    "PRIVATE+KEY+treatylog.example/test-witness+6a9442cd+BMkdeZbK33ahbRpzsUlwRT0aLejTSOol1dEoHdKD" \
    "br9e"

#define ROOT256 "3JNJ+Xh+0Ahtptl/Z5xRpRmPmORW6Vsdh/o6vAEv7DE="
#define ROOT300 "gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU="
#define TEXT256 ORIGIN "\n256\n" ROOT256 "\n"
#define TEXT300 ORIGIN "\n300\n" ROOT300 "\n"
#define SIG256                                                                                     \
    EM "treatylog.example/test-log syoxQhHgnihAb9MUl08RRxVGQ2kKBvX+2KRPV/9DXI8a18d5vDXdTnx1LnhXz8" \
       "jueaXzx/M6K1MR3wxaMpviOAz3Ow8=\n"
#define SIG300                                                                                     \
    EM "treatylog.example/test-log syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW4eo0BwNMkvknZ" \
       "kWkymvouUAlsrWblus4pRTP+gTkA4=\n"
#define CP256 TEXT256 "\n" SIG256
#define CP300 TEXT300 "\n" SIG300
#define CPFORK                                                                                     \
    ORIGIN "\n300\nZVjcND4jnQRPr7u4Q2q9JjJFx+0XgH5M20jlRAGroAE=\n\n" EM                            \
           "treatylog.example/test-log syoxQm9WkaqZqPD/nPcLZ2y9nifx123e6SFhHYM8AYu8sO2UrMaUCMCIx"  \
           "wFZ0IFD2njoD3qikXo9e0JXtgHyug3xdwo=\n"
#define P1 "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8="
#define PF "LZyLHMeqJdyfbU5vjIh3SRPtzjfZ9aaRE3/Ttcs+ETc="

#define REQ0 "old 0\n\n" CP256
#define REQ1 "old 256\n" P1 "\n\n" CP300
#define COSIG0                                                                                     \
    EM "treatylog.example/test-witness apRCzQAAAABpVGeA0xRvHY7teXN9+zVuUgrYVoPUuTDRuEK1iTOWvT8rU3" \
       "rZXH5gw18YBvkn7YxumaQIdlX3h7Hq1iM460PiKst4Cw==\n"
#define COSIG1                                                                                     \
    EM "treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087aq/VPyuKeK+" \
       "BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n"

typedef struct fixture {
    tl_witness_logs *logs;
    tl_skey wkey, logkey;
    tl_vkey wvkey;
    tl_witness_req req;
    tl_witness_resp resp;
} fixture;

static int setup(void **state)
{
    if (tl_init() != TL_OK)
        return -1;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    tl_vkey lv;
    if (tl_vkey_parse(&lv, LOG_VKEY, strlen(LOG_VKEY), NULL) != TL_OK ||
        tl_skey_parse(&f->wkey, W_SKEY, strlen(W_SKEY), NULL) != TL_OK ||
        tl_skey_parse(&f->logkey, LOG_SKEY, strlen(LOG_SKEY), NULL) != TL_OK ||
        tl_vkey_parse(&f->wvkey, W_VKEY, strlen(W_VKEY), NULL) != TL_OK)
        return -1;
    f->logs = tl_witness_logs_new();
    if (!f->logs || tl_witness_logs_add(f->logs, ORIGIN, strlen(ORIGIN), &lv, NULL) != TL_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tl_witness_logs_free(f->logs);
    tl_skey_wipe(&f->wkey);
    tl_skey_wipe(&f->logkey);
    free(f);
    return 0;
}

static void state_of(tl_witness_state *st, uint64_t size, const char *root_b64)
{
    size_t n = 0;
    st->size = size;
    assert_int_equal(tl_b64_decode(st->root, TL_HASH_LEN, &n, root_b64, strlen(root_b64)), TL_OK);
    assert_int_equal(n, TL_HASH_LEN);
}

/* Runs one request against *st; on 200 the state advances as a server would store it. */
static unsigned run(fixture *f, tl_witness_state *st, const char *body, size_t len)
{
    tl_witness_resp_clear(&f->resp);
    tl_witness_add_checkpoint(&f->resp, &f->req, f->logs, st, T0, &f->wkey, body, len);
    assert_int_equal(strlen(f->resp.body), f->resp.body_len);
    assert_non_null(f->resp.content_type);
    if (f->resp.status == 200) {
        assert_non_null(f->resp.record);
        *st = f->resp.new_state;
    } else {
        assert_null(f->resp.record);
    }
    return f->resp.status;
}

static unsigned runs(fixture *f, tl_witness_state *st, const char *body)
{
    return run(f, st, body, strlen(body));
}

static void assert_body(const tl_witness_resp *r, const char *want)
{
    assert_int_equal(r->body_len, strlen(want));
    assert_memory_equal(r->body, want, strlen(want));
}

static void assert_409(const tl_witness_resp *r, const char *size_line)
{
    assert_int_equal(r->status, 409);
    assert_string_equal(r->content_type, "text/x.tlog.size");
    assert_body(r, size_line);
}

static void test_fixture_bytes(void **state)
{
    (void)state;
    uint8_t h[TL_HASH_LEN];
    assert_int_equal(strlen(REQ0), 208);
    tl_sha256(h, REQ0, strlen(REQ0));
    assert_hash_hex(h, "88a3e0fc09fe97cfb3ac8b28b247eb625bfd0bdc92c9ee7cdbc9141eb490ef24");
    assert_int_equal(strlen(REQ1), 255);
    tl_sha256(h, REQ1, strlen(REQ1));
    assert_hash_hex(h, "2984c3d106b75bb7a41e266e0f0fad9bb5db559f66572ce1554a1867279cf434");
    assert_int_equal(strlen(COSIG1), 140);
    tl_sha256(h, CPFORK, strlen(CPFORK));
    assert_hash_hex(h, "c4061891897577718c1e09fe616344e9acc7b16b7702c44674bed2ada636d874");
}

/* test-vectors.md §6.3, rows 1 to 14, in order. */
static void test_scenario_table(void **state)
{
    fixture *f = *state;
    tl_witness_resp *r = &f->resp;
    tl_witness_state st, want;
    tl_witness_state_init(&st);

    /* 1: never cosigned, REQ0 -> 200 with the published line; state (256, root256). */
    assert_int_equal(runs(f, &st, REQ0), 200);
    assert_string_equal(r->content_type, "text/plain; charset=utf-8");
    assert_body(r, COSIG0);
    assert_false(r->inconsistent);
    state_of(&want, 256, ROOT256);
    assert_int_equal(st.size, 256);
    assert_memory_equal(st.root, want.root, TL_HASH_LEN);

    /* 2: (256) REQ1 -> 200, the 140-byte line; state (300, root300). */
    assert_int_equal(runs(f, &st, REQ1), 200);
    assert_body(r, COSIG1);
    state_of(&want, 300, ROOT300);
    assert_int_equal(st.size, 300);
    assert_memory_equal(st.root, want.root, TL_HASH_LEN);
    tl_witness_state s300 = st;

    /* 3: REQ1 again -> 409 "300\n", text/x.tlog.size. A stale client, not misbehaviour. */
    assert_int_equal(runs(f, &st, REQ1), 409);
    assert_409(r, "300\n");
    assert_false(r->inconsistent);

    /* 4: old 0 + CP300 -> 409 "300\n". */
    assert_int_equal(runs(f, &st, "old 0\n\n" CP300), 409);
    assert_409(r, "300\n");
    assert_false(r->inconsistent);

    /* 5: old 300 + CP300 -> 200, the same line as #2 at the same time. */
    assert_int_equal(runs(f, &st, "old 300\n\n" CP300), 200);
    assert_body(r, COSIG1);

    /* 6: old 301 -> 400 (old > size). */
    assert_int_equal(runs(f, &st, "old 301\n\n" CP300), 400);
    assert_false(r->inconsistent);

    /* 7: old 300 + CPFORK -> 409 "300\n" (v1.0.0; main: 422), evidence. */
    assert_int_equal(runs(f, &st, "old 300\n\n" CPFORK), 409);
    assert_409(r, "300\n");
    assert_true(r->inconsistent);

    /* 8: old 300 + PF + CP300 -> 422 (non-empty proof with old == size). */
    assert_int_equal(runs(f, &st, "old 300\n" PF "\n\n" CP300), 422);
    assert_true(r->inconsistent);
    assert_int_equal(st.size, 300);
    assert_memory_equal(st.root, s300.root, TL_HASH_LEN);

    /* 9: reset to (256, root256); old 256 + PF + CP300 -> 422 (proof fails). */
    state_of(&st, 256, ROOT256);
    assert_int_equal(runs(f, &st, "old 256\n" PF "\n\n" CP300), 422);
    assert_true(r->inconsistent);

    /* 10: old 256, empty proof, CP300 -> 422. */
    assert_int_equal(runs(f, &st, "old 256\n\n" CP300), 422);

    /* 11: old 0 + P1 + CP256 -> 409 "256\n" (size check before the proof check). */
    assert_int_equal(runs(f, &st, "old 0\n" P1 "\n\n" CP256), 409);
    assert_409(r, "256\n");
    assert_int_equal(st.size, 256);

    /* 12: reset to never cosigned; old 0 + P1 + CP256 -> 422 (non-empty proof with old 0). */
    tl_witness_state_init(&st);
    assert_int_equal(runs(f, &st, "old 0\n" P1 "\n\n" CP256), 422);
    assert_int_equal(st.size, 0);

    /* 13: CP300 with another origin, old 0 -> 404 (before the signature check). */
    const char other[] = "old 0\n\ntreatylog.example/other-log\n300\n" ROOT300 "\n\n" SIG300;
    assert_int_equal(runs(f, &st, other), 404);

    /* 14: CP300 with gw31 -> gw32, old 0 -> 403 (the trusted key's signature fails). */
    char b[sizeof "old 0\n\n" CP300];
    memcpy(b, "old 0\n\n" CP300, sizeof b);
    char *g = strstr(b, "gw31");
    assert_non_null(g);
    g[3] = '2';
    assert_int_equal(runs(f, &st, b), 403);
    /* ...and in any state. */
    assert_int_equal(runs(f, &s300, b), 403);
    assert_int_equal(runs(f, &s300, other), 404);
    tl_witness_resp_clear(r);
}

/* What a 200 leaves to store: the re-encoded text, the verified log line, the cosignature. */
static void test_record(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    tl_witness_state_init(&st);
    /* An unknown signer's line in front of the log's line is not stored. */
    const char req[] = "old 0\n\n" TEXT256 "\n" EM "someone.else AAAAAAAAAAAAAA==\n" SIG256;
    assert_int_equal(runs(f, &st, req), 200);
    const char want[] = TEXT256 "\n" SIG256 COSIG0;
    assert_int_equal(f->resp.record_len, strlen(want));
    assert_memory_equal(f->resp.record, want, strlen(want));
    tl_witness_state back;
    tl_checkpoint cp;
    tl_diag d;
    assert_int_equal(
        tl_witness_record_parse(&back, &cp, f->resp.record, f->resp.record_len, &f->wvkey, &d),
        TL_OK);
    assert_int_equal(back.size, 256);
    assert_memory_equal(back.root, st.root, TL_HASH_LEN);
    assert_string_equal(cp.origin, ORIGIN);
    /* The same record under another witness key is refused. */
    tl_vkey other = f->wvkey;
    other.pub[0] ^= 1;
    assert_int_not_equal(
        tl_witness_record_parse(&back, &cp, f->resp.record, f->resp.record_len, &other, &d), TL_OK);
    /* A record without the cosignature is refused too. */
    assert_int_not_equal(tl_witness_record_parse(&back, &cp, CP256, strlen(CP256), &f->wvkey, &d),
                         TL_OK);
    /* The response line verifies as a cosignature on the checkpoint. */
    char note[sizeof CP256 + TL_SIGLINE_MAX];
    size_t n = (size_t)snprintf(note, sizeof note, "%s%s", CP256, f->resp.body);
    tl_note parsed;
    tl_sigcheck chk;
    assert_int_equal(tl_note_parse(&parsed, note, n, &d), TL_OK);
    assert_int_equal(tl_note_verify(&parsed, &f->wvkey, 1, &chk, &d), TL_OK);
    assert_true(chk.ok);
    assert_int_equal(chk.time, T0);
    tl_witness_resp_clear(&f->resp);
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    tl_witness_state_init(&st);
    static const char *const bad[] = {
        "",
        "old 0\n" CP256,                                     /* no empty line before the note */
        "\n\n" CP256,                                        /* no old line */
        "old\n\n" CP256,                                     /* no number */
        "old \n\n" CP256,                                    /* empty number */
        "old 01\n\n" CP256,                                  /* leading zero */
        "old -1\n\n" CP256,                                  /* sign */
        "old +1\n\n" CP256,                                  /* sign */
        "old  0\n\n" CP256,                                  /* two spaces */
        "old 0 \n\n" CP256,                                  /* trailing space */
        "Old 0\n\n" CP256,                                   /* case */
        "old\t0\n\n" CP256,                                  /* tab */
        "old 0\r\n\r\n" CP256,                               /* CR */
        "old 18446744073709551616\n\n" CP256,                /* overflow */
        "old 0\n\n",                                         /* no note */
        "old 0\n\n" TEXT256,                                 /* a note without signatures */
        "old 0\n\n" TEXT256 "\n",                            /* blank line, no signatures */
        "old 0\n\n" CP256 "trailing junk\n",                 /* junk after the signatures */
        "old 0\n\n" CP256 "\n",                              /* an empty line after them */
        "old 0\n\n" ORIGIN "\n0256\n" ROOT256 "\n\n" SIG256, /* size leading zero */
        "old 0\n\n" ORIGIN "\n256\n" ROOT256 "x\n\n" SIG256, /* root not base64 */
        "old 0\n\n" ORIGIN "\n256\n\n" SIG256,               /* two lines */
        "old 0\n\n" TEXT256 "extension line\n\n" SIG256,     /* an extension line */
        "old 0\n\n"
        "\n256\n" ROOT256 "\n\n" SIG256, /* empty origin */
        "old 0\n\nold 0\n\n" CP256,      /* split at the FIRST \n\n: head is "old 0" */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned s = runs(f, &st, bad[i]);
        if (s != 400)
            fail_msg("malformed body %zu: status %u, want 400 (%s)", i, s, f->resp.body);
        assert_string_equal(f->resp.content_type, "text/plain; charset=utf-8");
        assert_memory_equal(f->resp.body, "treatylog: ", 11);
        assert_false(f->resp.inconsistent);
    }
    /* An extension line is refused even with a valid log signature over it. */
    char *note = NULL;
    size_t nlen = 0;
    const char ext[] = TEXT256 "ext\n";
    assert_int_equal(tl_note_sign(&note, &nlen, ext, strlen(ext), &f->logkey, NULL), TL_OK);
    char body[1024];
    int n = snprintf(body, sizeof body, "old 0\n\n%s", note);
    free(note);
    assert_int_equal(run(f, &st, body, (size_t)n), 400);
    assert_non_null(strstr(f->resp.body, "extension"));
    assert_int_equal(st.size, 0);
    tl_witness_resp_clear(&f->resp);
}

static void test_bad_base64(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    state_of(&st, 256, ROOT256);
    static const char *const bad[] = {
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8",         /* unpadded */
        "uwaa_GEGqF4PM03Df-GfKIyZ5-fHBsK9y3f1tqCMyf8=",        /* URL-safe alphabet */
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf9=",        /* non-zero trailing bits */
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyQ==",        /* 31 bytes */
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=AAAA",    /* 35 bytes */
        " uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=",       /* leading space */
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8= ",       /* trailing space */
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqC=yf8=",        /* '=' inside */
        "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8==",       /* extra '=' */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3\xa9", /* non-ASCII */
    };
    char body[1024];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(body, sizeof body, "old 256\n%s\n\n%s", bad[i], CP300);
        unsigned s = run(f, &st, body, (size_t)n);
        if (s != 400)
            fail_msg("bad base64 %zu: status %u, want 400", i, s);
        assert_non_null(strstr(f->resp.body, "line 2"));
    }
    /* Good base64 in the second proof position, bad in the third. */
    int n = snprintf(body, sizeof body, "old 256\n%s\n%s\nnot base64\n\n%s", P1, P1, CP300);
    assert_int_equal(run(f, &st, body, (size_t)n), 400);
    assert_non_null(strstr(f->resp.body, "line 4"));
    assert_int_equal(st.size, 256);
    tl_witness_resp_clear(&f->resp);
}

/* 63 proof lines parse (and then fail the proof check); 64 are a 400. */
static void test_proof_line_limit(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    state_of(&st, 256, ROOT256);
    char *body = malloc(8192);
    assert_non_null(body);
    for (size_t lines = 62; lines <= 65; lines++) {
        size_t o = (size_t)sprintf(body, "old 256\n");
        for (size_t i = 0; i < lines; i++)
            o += (size_t)sprintf(body + o, "%s\n", P1);
        o += (size_t)sprintf(body + o, "\n%s", CP300);
        unsigned s = run(f, &st, body, o);
        assert_int_equal(s, lines <= TL_WITNESS_PROOF_MAX ? 422 : 400);
        if (lines <= TL_WITNESS_PROOF_MAX)
            assert_int_equal(f->req.nproof, lines);
        else
            assert_non_null(strstr(f->resp.body, "more than 63"));
    }
    free(body);
    tl_witness_resp_clear(&f->resp);
}

static void test_body_limit(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    tl_witness_state_init(&st);
    size_t len = TL_WITNESS_BODY_MAX + 1;
    char *body = malloc(len);
    assert_non_null(body);
    memset(body, 'A', len);
    memcpy(body, REQ0, strlen(REQ0));
    assert_int_equal(run(f, &st, body, len), 413);
    /* At the limit it is parsed (and malformed: a huge signature line, over the note cap). */
    assert_int_equal(run(f, &st, body, len - 1), 400);
    free(body);
    tl_witness_resp_clear(&f->resp);
}

/* Rows 3 and 3b: no trusted signature, or a trusted key's line that fails. */
static void test_signatures(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    tl_witness_state_init(&st);
    /* Signed only by a key the witness does not trust (same name, other id). */
    tl_skey other;
    uint8_t seed[TL_SEED_LEN] = {1};
    assert_int_equal(tl_skey_from_seed(&other, ORIGIN, strlen(ORIGIN), TL_KEY_ED25519, seed, NULL),
                     TL_OK);
    char *note = NULL;
    size_t nlen = 0;
    assert_int_equal(tl_note_sign(&note, &nlen, TEXT256, strlen(TEXT256), &other, NULL), TL_OK);
    char body[2048];
    int n = snprintf(body, sizeof body, "old 0\n\n%s", note);
    assert_int_equal(run(f, &st, body, (size_t)n), 403);
    assert_false(f->resp.inconsistent);
    /* The untrusted line first, then the trusted one: accepted, and only the latter stored. */
    n = snprintf(body, sizeof body, "old 0\n\n%s%s", note, SIG256);
    assert_int_equal(run(f, &st, body, (size_t)n), 200);
    assert_null(strstr(f->resp.record, note + strlen(TEXT256) + 1));
    free(note);
    /* Trusted line, then a second (unverified, bad) line by the same key: as Go, only the
     * first is checked; the record keeps the first only. */
    tl_witness_state_init(&st);
    n = snprintf(body, sizeof body, "old 0\n\n%s" EM "treatylog.example/test-log syoxQgAA\n",
                 CP256);
    assert_int_equal(run(f, &st, body, (size_t)n), 200);
    const char want[] = TEXT256 "\n" SIG256 COSIG0;
    assert_memory_equal(f->resp.record, want, strlen(want));
    /* A trusted key's line that is too short to be a signature: 403. */
    tl_witness_state_init(&st);
    n = snprintf(body, sizeof body,
                 "old 0\n\n" TEXT256 "\n" EM "treatylog.example/test-log "
                 "syoxQgAA\n" SIG256);
    assert_int_equal(run(f, &st, body, (size_t)n), 403);
    /* A cosignature/v1 line by the witness itself does not authenticate the log. */
    n = snprintf(body, sizeof body, "old 0\n\n" TEXT256 "\n%s", COSIG0);
    assert_int_equal(run(f, &st, body, (size_t)n), 403);
    tl_skey_wipe(&other);
    tl_witness_resp_clear(&f->resp);
}

/* Rows 4 and 5 for size 0: the empty-tree root is cosigned; any other root is a signed lie. */
static void test_size_zero(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    tl_witness_state_init(&st);
    char text[256];
    char body[1024];
    char *note = NULL;
    size_t nlen = 0;
    int tl = snprintf(text, sizeof text, ORIGIN "\n0\n" ROOT300 "\n");
    assert_int_equal(tl_note_sign(&note, &nlen, text, (size_t)tl, &f->logkey, NULL), TL_OK);
    int n = snprintf(body, sizeof body, "old 0\n\n%s", note);
    assert_int_equal(run(f, &st, body, (size_t)n), 422);
    assert_true(f->resp.inconsistent);
    n = snprintf(body, sizeof body, "old 1\n\n%s", note); /* row 4 comes first */
    assert_int_equal(run(f, &st, body, (size_t)n), 400);
    /* Unsigned (untrusted) size-0 lie: the signature row comes first, and it is no evidence. */
    n = snprintf(body, sizeof body, "old 0\n\n%s\n" EM "x.example AAAAAAAA\n", text);
    assert_int_equal(run(f, &st, body, (size_t)n), 403);
    assert_false(f->resp.inconsistent);
    free(note);

    tl = snprintf(text, sizeof text, ORIGIN "\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    assert_int_equal(tl_note_sign(&note, &nlen, text, (size_t)tl, &f->logkey, NULL), TL_OK);
    n = snprintf(body, sizeof body, "old 0\n\n%s", note);
    assert_int_equal(run(f, &st, body, (size_t)n), 200);
    assert_int_equal(st.size, 0);
    assert_memory_equal(st.root, TL_EMPTY_ROOT, TL_HASH_LEN);
    /* ...and then growing from it with old 0 and an empty proof. */
    assert_int_equal(runs(f, &st, REQ0), 200);
    assert_int_equal(st.size, 256);
    /* Once at 256, a size-0 checkpoint with old 0 is a 409, not a rollback. */
    assert_int_equal(run(f, &st, body, (size_t)n), 409);
    assert_409(&f->resp, "256\n");
    free(note);
    tl_witness_resp_clear(&f->resp);
}

/* A fork at the stored size submitted with a stale old is a 409, and still evidence. */
static void test_fork_with_other_old(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    state_of(&st, 300, ROOT300);
    assert_int_equal(runs(f, &st, "old 0\n\n" CPFORK), 409);
    assert_409(&f->resp, "300\n");
    assert_true(f->resp.inconsistent);
    assert_int_equal(runs(f, &st, "old 256\n" PF "\n\n" CPFORK), 409);
    assert_true(f->resp.inconsistent);
    /* From 256, the real proof does not prove the fork... */
    state_of(&st, 256, ROOT256);
    assert_int_equal(runs(f, &st, "old 256\n" P1 "\n\n" CPFORK), 422);
    assert_true(f->resp.inconsistent);
    assert_int_equal(st.size, 256);
    /* ...but the fork's own proof does (the first 256 leaves are shared): a witness that has
     * seen only 256 cosigns the fork, and from then on refuses the real CP300. */
    assert_int_equal(runs(f, &st, "old 256\n" PF "\n\n" CPFORK), 200);
    assert_int_equal(st.size, 300);
    assert_int_equal(runs(f, &st, REQ1), 409);
    assert_409(&f->resp, "300\n");
    assert_int_equal(runs(f, &st, "old 300\n\n" CP300), 409);
    assert_true(f->resp.inconsistent);
    state_of(&st, 256, ROOT256);
    assert_int_equal(st.size, 256);
    tl_witness_resp_clear(&f->resp);
}

static void test_bad_clock_and_key(void **state)
{
    fixture *f = *state;
    tl_witness_state st;
    tl_witness_state_init(&st);
    tl_witness_resp_clear(&f->resp);
    tl_witness_add_checkpoint(&f->resp, &f->req, f->logs, &st, (uint64_t)INT64_MAX + 1, &f->wkey,
                              REQ0, strlen(REQ0));
    assert_int_equal(f->resp.status, 500);
    assert_null(f->resp.record);
    tl_witness_resp_clear(&f->resp);
}

static void test_logs_set(void **state)
{
    fixture *f = *state;
    tl_witness_logs *s = tl_witness_logs_new();
    assert_non_null(s);
    tl_vkey lv;
    assert_int_equal(tl_vkey_parse(&lv, LOG_VKEY, strlen(LOG_VKEY), NULL), TL_OK);
    tl_diag d;
    /* Empty, control characters, too long. */
    assert_int_equal(tl_witness_logs_add(s, "", 0, &lv, &d), TL_ERR_USAGE);
    assert_int_equal(tl_witness_logs_add(s, "a\nb", 3, &lv, &d), TL_ERR_USAGE);
    char longo[TL_ORIGIN_MAX + 2];
    memset(longo, 'o', sizeof longo);
    assert_int_equal(tl_witness_logs_add(s, longo, TL_ORIGIN_MAX + 1, &lv, &d), TL_ERR_USAGE);
    assert_int_equal(tl_witness_logs_add(s, longo, TL_ORIGIN_MAX, &lv, &d), TL_OK);
    /* A witness key is no log key. */
    assert_int_equal(tl_witness_logs_add(s, "x", 1, &f->wvkey, &d), TL_ERR_USAGE);
    assert_int_equal(tl_witness_logs_count(s), 1);
    /* Same key twice: one key. Same (name, id), other key: ambiguous. */
    assert_int_equal(tl_witness_logs_add(s, ORIGIN, strlen(ORIGIN), &lv, &d), TL_OK);
    assert_int_equal(tl_witness_logs_add(s, ORIGIN, strlen(ORIGIN), &lv, &d), TL_OK);
    tl_vkey amb = lv;
    amb.pub[5] ^= 1;
    assert_int_equal(tl_witness_logs_add(s, ORIGIN, strlen(ORIGIN), &amb, &d), TL_ERR_USAGE);
    const tl_witness_log *l = tl_witness_logs_find(s, ORIGIN, strlen(ORIGIN));
    assert_non_null(l);
    assert_int_equal(l->nkeys, 1);
    assert_int_equal(l->index, 1);
    /* Up to TL_WITNESS_LOG_KEYS_MAX keys per origin. */
    for (int i = 1; i < TL_WITNESS_LOG_KEYS_MAX; i++) {
        tl_skey k;
        uint8_t seed[TL_SEED_LEN] = {(uint8_t)i};
        assert_int_equal(tl_skey_from_seed(&k, "k", 1, TL_KEY_ED25519, seed, NULL), TL_OK);
        assert_int_equal(tl_witness_logs_add(s, ORIGIN, strlen(ORIGIN), &k.vkey, &d), TL_OK);
    }
    tl_skey k9;
    uint8_t seed9[TL_SEED_LEN] = {99};
    assert_int_equal(tl_skey_from_seed(&k9, "k", 1, TL_KEY_ED25519, seed9, NULL), TL_OK);
    assert_int_equal(tl_witness_logs_add(s, ORIGIN, strlen(ORIGIN), &k9.vkey, &d), TL_ERR_USAGE);
    assert_int_equal(l->nkeys, TL_WITNESS_LOG_KEYS_MAX);
    /* Many origins: every one found at its index, through several rehashes. */
    char o[64];
    for (size_t i = 0; i < 20000; i++) {
        int n = snprintf(o, sizeof o, "log%zu.example", i);
        assert_int_equal(tl_witness_logs_add(s, o, (size_t)n, &lv, &d), TL_OK);
    }
    assert_int_equal(tl_witness_logs_count(s), 20002);
    for (size_t i = 0; i < 20000; i++) {
        int n = snprintf(o, sizeof o, "log%zu.example", i);
        const tl_witness_log *x = tl_witness_logs_find(s, o, (size_t)n);
        assert_non_null(x);
        assert_int_equal(x->index, i + 2);
        assert_ptr_equal(tl_witness_logs_at(s, i + 2), x);
    }
    assert_null(tl_witness_logs_find(s, "log20000.example", 16));
    assert_null(tl_witness_logs_find(s, "log1.exampl", 11));
    assert_null(tl_witness_logs_at(s, 20002));
    tl_witness_logs_free(s);
}

static void test_origin_hex(void **state)
{
    (void)state;
    char hex[65];
    tl_witness_origin_hex(hex, "rome2026h1.example.org", 22);
    assert_string_equal(hex, "000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_bytes),
        cmocka_unit_test(test_scenario_table),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_base64),
        cmocka_unit_test(test_proof_line_limit),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_size_zero),
        cmocka_unit_test(test_fork_with_other_old),
        cmocka_unit_test(test_bad_clock_and_key),
        cmocka_unit_test(test_logs_set),
        cmocka_unit_test(test_origin_hex),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
