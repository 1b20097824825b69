/* cmd_registry.c - treatylog registry add|remove|rotate: the operator changes the party registry
 * of a treaty-mode log by submitting a treatylog/registry/v1 document (registry.h) signed with
 * the log key, as `init --registry` signs the genesis; a rotation is signed by the party's
 * current key too. The answer is checked and kept as for `submit` (cmd_submit.c), the
 * receipts named registry-<index>.{note,tlog-proof,entry}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "treatylog/entry.h"
#include "treatylog/log.h"
#include "treatylog/note.h"
#include "treatylog/registry.h"
#include "treatylog/schema.h"
#include "treatylog/store.h"
#include "treatylog/values.h"

static const char registry_usage[] =
    "usage: treatylog registry add FILE --key OPERATOR_KEY --server URL [options]\n"
    "       treatylog registry remove CODE --key OPERATOR_KEY --server URL [options]\n"
    "       treatylog registry rotate CODE --new-key VKEY [--new-key VKEY...] --old-key "
    "PARTY_KEY\n"
    "                                 --key OPERATOR_KEY --server URL [options]\n"
    "options: --policy POLICY | --vkey VKEY (default: the operator key's verifier key),\n"
    "         --receipts DIR (default receipts), --witness-wait SECONDS (default 60),\n"
    "         --sign-only (print the signed document)\n"
    "       treatylog registry show DIR|URL [--vkey VKEY] [--size N]";

/* The add document of FILE: a registry document whose action is "add", or one party object
 * ({"code", "name", "keys", "roles"}) that becomes {"action":"add","parties":[party]}. */
static tl_err add_document(const char *path, json_t **out, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = cli_read_file(path, 1 << 20, &buf, &len, d);
    if (e != TL_OK)
        return e;
    json_t *doc = NULL;
    e = tl_schema_parse_json(&doc, (const char *)buf, len, false, d);
    free(buf);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "%s", path);
    const json_t *action = json_object_get(doc, "action");
    if (action) {
        if (!json_is_string(action) || strcmp(json_string_value(action), "add") != 0) {
            json_decref(doc);
            return tl_fail(d, TL_ERR_USAGE,
                           "%s: a registry document whose action is not \"add\" (use registry "
                           "remove or rotate)",
                           path);
        }
        *out = doc;
        return TL_OK;
    }
    if (!json_object_get(doc, "code")) {
        json_decref(doc);
        return tl_fail(d, TL_ERR_FORMAT,
                       "%s: neither a registry document (\"action\") nor a party (\"code\")", path);
    }
    json_t *w = json_pack("{s:s, s:[o]}", "action", "add", "parties", doc);
    if (!w)
        return tl_fail(d, TL_ERR_NOMEM, "registry document");
    *out = w;
    return TL_OK;
}

static tl_err code_arg(const char *code, tl_diag *d)
{
    if (!tl_value_party(code, strlen(code)))
        return tl_fail(d, TL_ERR_USAGE, "'%s' is not a party code (two upper-case letters)", code);
    return TL_OK;
}

static bool print_registry(const tl_registry *r, const char *origin, uint64_t size)
{
    bool ok = printf("registry of %s at size %llu (last changed by entry %llu)\n", origin,
                     (unsigned long long)size, (unsigned long long)r->index) >= 0;
    for (size_t i = 0; ok && i < r->nparties; i++) {
        const tl_party *p = &r->parties[i];
        ok = printf("party %s \"%s\" since %llu", p->code, p->name, (unsigned long long)p->since) >=
             0;
        for (size_t j = 0; ok && j < p->nroles; j++)
            ok = printf("%s%s", j == 0 ? " roles " : ",", p->roles[j]) >= 0;
        ok = ok && putchar('\n') != EOF;
        for (size_t j = 0; ok && j < p->nkeys; j++) {
            char k[TL_VKEY_TEXT_MAX];
            tl_vkey_format(k, &p->keys[j]);
            ok = printf("  key %s\n", k) >= 0;
        }
    }
    for (size_t i = 0; ok && i < r->nrulesets; i++) {
        ok = printf("ruleset %s sha256 ", r->rulesets[i].name) >= 0;
        for (size_t j = 0; ok && j < TL_HASH_LEN; j++)
            ok = printf("%02x", r->rulesets[i].sha256[j]) >= 0;
        if (ok && r->rulesets[i].text)
            ok = printf(" (text logged, %zu bytes)", r->rulesets[i].text_len) >= 0;
        ok = ok && putchar('\n') != EOF;
    }
    const char *w = r->witness_policy ? r->witness_policy : "";
    size_t wl = r->witness_policy ? r->witness_policy_len : 0;
    ok = ok && printf("witness_policy:\n") >= 0;
    while (ok && wl > 0) {
        const char *nl = memchr(w, '\n', wl);
        size_t n = nl ? (size_t)(nl - w) : wl;
        ok = printf("  %.*s\n", (int)n, w) >= 0;
        n = nl ? n + 1 : n;
        w += n;
        wl -= n;
    }
    return ok && fflush(stdout) == 0;
}

/* treatylog registry show: the registry in force after the first N entries (default: all of
 * the verified checkpoint), rebuilt from the registry entries of the log, every entry read
 * checked against the tiles and the tiles against the checkpoint. */
static int registry_show(const char *loc, const char *vkey_arg, const char *size_s)
{
    tl_diag d = {{0}};
    uint64_t size = 0;
    tl_err e = size_s ? cli_parse_u64(size_s, &size, &d) : TL_OK;
    tl_store *st = NULL;
    if (e == TL_OK)
        e = tl_store_open_readonly(&st, loc, &d);
    if (e != TL_OK)
        return cli_fail("registry", e, &d);
    tl_vkey k;
    tl_checkpoint cp;
    tl_reader *r = NULL;
    tl_registry *reg = NULL;
    e = cli_log_key(st, vkey_arg, &k, &d);
    if (e == TL_OK)
        e = tl_read_checkpoint(st, &k, &cp, NULL, NULL, &d);
    if (e == TL_OK && !size_s)
        size = cp.size;
    if (e == TL_OK && size > cp.size)
        e = tl_fail(&d, TL_ERR_RANGE, "--size %llu: the log has %llu entries",
                    (unsigned long long)size, (unsigned long long)cp.size);
    if (e == TL_OK)
        e = tl_reader_new(&r, st, cp.size, &d);
    uint8_t root[TL_HASH_LEN];
    if (e == TL_OK)
        e = tl_reader_root(r, root, &d);
    if (e == TL_OK && memcmp(root, cp.root, TL_HASH_LEN) != 0)
        e = tl_fail(&d, TL_ERR_PROOF,
                    "the tiles do not match the checkpoint of size %llu: run 'treatylog audit'",
                    (unsigned long long)cp.size);
    if (e == TL_OK) {
        reg = tl_registry_new();
        if (!reg)
            e = tl_fail(&d, TL_ERR_NOMEM, "registry");
    }
    for (uint64_t i = 0; e == TL_OK && i < size; i++) {
        uint8_t *ent = NULL;
        size_t elen = 0;
        e = tl_reader_entry(r, i, &ent, &elen, &d);
        uint64_t logged = 0;
        const uint8_t *sub = NULL;
        size_t slen = 0;
        if (e == TL_OK)
            e = tl_entry_parse(ent, elen, &logged, &sub, &slen, &d);
        bool is_reg = e == TL_OK && slen >= TL_REGISTRY_HEADER_LEN &&
                      memcmp(sub, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) == 0;
        if (e == TL_OK && i == 0 && !is_reg)
            e = tl_fail(&d, TL_ERR_FORMAT, "not a registry genesis: not a treaty log");
        if (e == TL_OK && is_reg) {
            e = tl_registry_apply(reg, (const char *)sub, slen, &k, i, &d);
            if (e != TL_OK) /* the log holds a registry change that does not apply */
                e = e == TL_ERR_NOMEM ? e : TL_ERR_PROOF;
        }
        free(ent);
        if (e != TL_OK)
            tl_diag_prefix(&d, e, "entry %llu", (unsigned long long)i);
    }
    if (e == TL_OK && size == 0)
        e = tl_fail(&d, TL_ERR_RANGE, "no entries: no registry");
    if (e == TL_OK && !print_registry(reg, cp.origin, size))
        e = tl_fail(&d, TL_ERR_IO, "writing to stdout");
    tl_registry_free(reg);
    tl_reader_free(r);
    st->ops->close(st);
    return e == TL_OK ? 0 : cli_fail("registry", e, &d);
}

int cmd_registry(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("registry", "%s", registry_usage);
    const char *sub = argv[1];
    bool add = strcmp(sub, "add") == 0, remove = strcmp(sub, "remove") == 0,
         rotate = strcmp(sub, "rotate") == 0;
    if (strcmp(sub, "show") == 0) {
        const char *vkey_arg = NULL, *size_s = NULL;
        const cli_opt sopts[] = {{"vkey", &vkey_arg, NULL}, {"size", &size_s, NULL}};
        const char *spos[1];
        size_t snpos = 0;
        int src = cli_parse("registry", argc - 1, argv + 1, sopts, 2, spos, 1, &snpos);
        if (src)
            return src;
        if (snpos != 1)
            return cli_usage("registry", "%s", registry_usage);
        return registry_show(spos[0], vkey_arg, size_s);
    }
    if (!add && !remove && !rotate)
        return cli_usage("registry", "unknown subcommand '%s'\n%s", sub, registry_usage);
    argc--;
    argv++;
    const char *newkeys[TL_REGISTRY_KEYS_MAX];
    size_t nnew = 0;
    int rc = submit_take_repeated("registry", &argc, argv, "new-key", newkeys, TL_REGISTRY_KEYS_MAX,
                                  &nnew);
    if (rc)
        return rc;
    const char *keypath = NULL, *oldkey = NULL, *server = NULL, *policy_path = NULL,
               *vkey_arg = NULL, *receipts = NULL, *wait_arg = NULL;
    bool sign_only = false;
    const cli_opt opts[] = {{"key", &keypath, NULL},           {"old-key", &oldkey, NULL},
                            {"server", &server, NULL},         {"policy", &policy_path, NULL},
                            {"vkey", &vkey_arg, NULL},         {"receipts", &receipts, NULL},
                            {"witness-wait", &wait_arg, NULL}, {"sign-only", NULL, &sign_only}};
    const char *pos[1];
    size_t npos = 0;
    rc = cli_parse("registry", argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos);
    if (rc)
        return rc;
    if (npos != 1 || !keypath)
        return cli_usage("registry", "%s", registry_usage);
    if (rotate != (nnew > 0) || rotate != (oldkey != NULL))
        return cli_usage("registry", rotate ? "rotate needs --new-key VKEY and --old-key KEY"
                                            : "--new-key and --old-key are for rotate only");
    if (sign_only && (server || policy_path || vkey_arg || receipts || wait_arg))
        return cli_usage("registry", "--sign-only signs and prints; it takes no --server, "
                                     "--policy, --vkey or --receipts");
    if (!sign_only && !server)
        return cli_usage("registry", "need --server URL (or --sign-only)");

    tl_diag d = {{0}};
    unsigned wait_s = 0;
    tl_err e = submit_witness_wait(wait_arg, &wait_s, &d);
    if (e != TL_OK)
        return cli_fail("registry", e, &d);
    tl_skey op, party;
    memset(&party, 0, sizeof party);
    e = cli_load_skey(keypath, TL_KEY_ED25519, &op, &d);
    if (e != TL_OK)
        return cli_fail("registry", e, &d);
    json_t *doc = NULL;
    if (add) {
        e = add_document(pos[0], &doc, &d);
    } else {
        e = code_arg(pos[0], &d);
        json_t *p = e == TL_OK ? json_pack("{s:s}", "code", pos[0]) : NULL;
        if (e == TL_OK && !p)
            e = tl_fail(&d, TL_ERR_NOMEM, "registry document");
        json_t *keys = rotate && p ? json_array() : NULL;
        for (size_t i = 0; e == TL_OK && keys && i < nnew; i++) {
            tl_vkey k;
            e = cli_load_vkey(newkeys[i], &k, &d);
            char text[TL_VKEY_TEXT_MAX];
            if (e == TL_OK)
                tl_vkey_format(text, &k);
            if (e == TL_OK && strcmp(k.name, pos[0]) != 0)
                e = tl_fail(&d, TL_ERR_USAGE,
                            "--new-key %s is a key of \"%s\", not of %s (a party's key is named "
                            "by its code)",
                            newkeys[i], k.name, pos[0]);
            if (e == TL_OK && json_array_append_new(keys, json_string(text)) != 0)
                e = tl_fail(&d, TL_ERR_NOMEM, "registry document");
        }
        if (e == TL_OK && rotate && (!keys || json_object_set_new(p, "keys", keys) != 0))
            e = tl_fail(&d, TL_ERR_NOMEM, "registry document");
        else if (e != TL_OK)
            json_decref(keys);
        if (e == TL_OK) {
            doc = json_pack("{s:s, s:[o]}", "action", remove ? "remove" : "rotate", "parties", p);
            if (!doc)
                e = tl_fail(&d, TL_ERR_NOMEM, "registry document");
        } else {
            json_decref(p);
        }
    }
    if (e == TL_OK && rotate) {
        e = cli_load_skey(oldkey, TL_KEY_ED25519, &party, &d);
        if (e == TL_OK && strcmp(party.vkey.name, pos[0]) != 0)
            e = tl_fail(&d, TL_ERR_USAGE,
                        "--old-key %s is a key of \"%s\", not of %s: a rotation is signed by "
                        "the party's current key",
                        oldkey, party.vkey.name, pos[0]);
    }
    char *json = NULL;
    if (e == TL_OK && add)
        cli_embed_ruleset_texts(doc, "registry");
    if (e == TL_OK) {
        json = json_dumps(doc, JSON_COMPACT);
        if (!json)
            e = tl_fail(&d, TL_ERR_NOMEM, "registry document");
    }
    json_decref(doc);
    char *text = NULL, *note = NULL;
    size_t tlen = 0, nlen = 0;
    if (e == TL_OK)
        e = tl_registry_from_json(&text, &tlen, json, strlen(json), false, &d);
    free(json);
    if (e == TL_OK)
        e = tl_note_sign(&note, &nlen, text, tlen, &op, &d);
    if (e == TL_OK && rotate)
        e = submit_append_sigs(&note, &nlen, text, tlen, &party, 1, &d);
    free(text);
    tl_policy *policy = NULL;
    if (e == TL_OK && !sign_only) {
        if (policy_path || vkey_arg) {
            e = cli_load_policy(policy_path, vkey_arg, &policy, &d);
        } else {
            policy = tl_policy_new();
            if (policy)
                tl_policy_single_log(policy, &op.vkey);
            else
                e = tl_fail(&d, TL_ERR_NOMEM, "policy");
        }
    }
    tl_skey_wipe(&op);
    tl_skey_wipe(&party);
    if (e != TL_OK) {
        free(note);
        free(policy);
        return cli_fail("registry", e, &d);
    }
    if (sign_only)
        rc = cli_write_stdout(note, nlen) ? 0 : EXIT_USAGE;
    else
        rc = submit_post("registry", server, note, nlen, policy, wait_s,
                         receipts ? receipts : "receipts", NULL);
    free(note);
    free(policy);
    return rc;
}
