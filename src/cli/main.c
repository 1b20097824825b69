/* main.c - the treatylog command: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"
#include "treatylog/hash.h"

static const char usage[] =
    "usage: treatylog <command> [arguments]\n"
    "\n"
    "keys and logs:\n"
    "  keygen NAME --out PREFIX [--witness] [--seed HEX64]\n"
    "                       write PREFIX.key (secret, 0600) and PREFIX.pub (verifier key)\n"
    "  init DIR --key KEYFILE [--origin ORIGIN] [--registry FILE [--time DATETIME]]\n"
    "                       create a log in DIR, signed with KEYFILE; with a registry\n"
    "                       (parties, keys, witnesses, rulesets) as its genesis entry,\n"
    "                       logged now or at DATETIME\n"
    "  append DIR FILE...   append one entry per file, publish one checkpoint\n"
    "  append DIR --lines [FILE]\n"
    "                       append one entry per line of FILE (stdin if none)\n"
    "service:\n"
    "  serve --dir DIR [--listen ADDR] [--config FILE] [--SETTING VALUE...]\n"
    "                       serve the log over HTTP: tlog-tiles, POST /add, proofs\n"
    "                       (settings and defaults: docs/operations.md)\n"
    "  witness serve --dir STATE --key KEY --log ORIGIN=VKEY [--log ...] [--listen ADDR]\n"
    "       [--config FILE] [--SETTING VALUE...]\n"
    "                       a C2SP tlog-witness: cosign checkpoints of the configured logs\n"
    "                       (settings and state: docs/witness.md)\n"
    "proofs and audits:\n";

/* The usage text is two strings: ISO C caps one string literal at 4095 bytes. */
static const char usage2[] =
    "  prove DIR|URL --index N [--size S] [--vkey VKEY]\n"
    "                       print a c2sp.org/tlog-proof@v1 for entry N\n"
    "  prove DIR|URL --old M [--size S] [--vkey VKEY]\n"
    "                       print the consistency proof from size M (base64, one a line)\n"
    "  verify-proof --vkey VKEY [--policy POLICY] PROOF ENTRY_FILE\n"
    "                       check a tlog-proof for the entry in ENTRY_FILE\n"
    "  verify-receipt --vkey VKEY RECEIPT ENTRY_FILE\n"
    "                       check a receipt (POST /add?wait=0) for the entry\n"
    "  audit DIR|URL --vkey VKEY [--from-checkpoint OLD] [--policy POLICY]\n"
    "                       recompute every tile from the entries and check the checkpoint\n"
    "  monitor URL --policy FILE --state DIR [--interval-ms MS] [--polls N | --once]\n"
    "                       follow a log: verify every checkpoint (signature, quorum,\n"
    "                       consistency) and entry; JSON lines; exit 1 on a fork\n"
    "notifications:\n"
    "  notify types [--schemas DIR]\n"
    "                       list the message types of the schema directory\n"
    "  notify template TYPE [--text] [--schemas DIR]\n"
    "                       print an example document of TYPE to edit (--text: the exact\n"
    "                       treatylog/notification/v1 text that gets signed)\n"
    "  notify check FILE [--schemas DIR]\n"
    "                       validate a notification (text, signed note or JSON) against\n"
    "                       its schema; prints OK or the first error (exit 2)\n"
    "  submit FILE --key KEY [--key KEY...] --server URL (--policy POLICY | --vkey VKEY)\n"
    "       [--receipts DIR] [--schemas DIR] [--sign-only]\n"
    "                       sign a notification (JSON or text) as its sending party, POST\n"
    "                       it to a treaty-mode log, check the proof, keep receipts\n"
    "  registry add FILE | remove CODE | rotate CODE --new-key VKEY --old-key KEY\n"
    "       --key OPERATOR_KEY --server URL [--policy POLICY | --vkey VKEY]\n"
    "                       change the party registry of a treaty-mode log (operator)\n"
    "  registry show DIR|URL [--vkey VKEY] [--size N]\n"
    "                       the registry in force, rebuilt from the log's registry entries\n"
    "queries:\n"
    "  reindex DIR [--vkey VKEY] [--schemas DIR]\n"
    "                       rebuild the query index DIR/.treatylog/query.db from the log\n"
    "  list DIR|URL [--party P] [--type T|PREFIX*] [--since D] [--until D]\n"
    "       [--time logged|sent|activity] [--ref B64]\n"
    "       [--after N] [--limit N] [--all] [--json]\n"
    "                       entries from the query index (a URL: GET /v1/entries)\n"
    "  show DIR|URL INDEX [--json]\n"
    "                       one entry with its document, signers and signed note\n"
    "demo:\n"
    "  demo [--dir DIR] [--listen ADDR] [--no-wait]\n"
    "                       a live treaty log, 3 witnesses, a scenario of public events,\n"
    "                       its findings and evidence; then serves the dashboard\n"
    "rules:\n"
    "  check DIR|URL [--policy POLICY] [--ruleset FILE] [--at TIME] [--json]\n"
    "       [--evidence OUTDIR] [--schemas DIR]\n"
    "                       re-derive the findings of a treaty log (as of its newest\n"
    "                       witnessed checkpoint, or TIME); evidence files into OUTDIR\n"
    "  verify-evidence FILE --policy POLICY [--ruleset FILE] [--schemas DIR]\n"
    "                       check an evidence file offline and re-derive its finding\n"
    "testing:\n"
    "  load URL --rate R --duration S [--size B] [--connections C] [--wait 0|1]\n"
    "       [--verify VKEY] [--json] [--sign KEYFILE... [--type T] [--first-serial N]]\n"
    "                       open-loop POST URL/add load on a loopback server (--sign:\n"
    "                       signed notifications for a treaty log); reports\n"
    "                       statuses, throughput and latency percentiles\n"
    "\n"
    "VKEY is a verifier key (name+id+key) or a file holding one. Exit status: 0 ok,\n"
    "1 verification failed, 2 usage or input error.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"keygen", cmd_keygen},   {"init", cmd_init},
    {"append", cmd_append},   {"prove", cmd_prove},
    {"verify-proof", cmd_verify_proof}, {"audit", cmd_audit},
    {"load", cmd_load},       {"serve", cmd_serve},
    {"verify-receipt", cmd_verify_receipt}, {"monitor", cmd_monitor},
    {"notify", cmd_notify},
    {"reindex", cmd_reindex}, {"list", cmd_list}, {"show", cmd_show},
    {"check", cmd_check},     {"verify-evidence", cmd_verify_evidence},
    {"demo", cmd_demo},
    {"submit", cmd_submit},   {"registry", cmd_registry},
    {"witness", cmd_witness},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        fputs(usage2, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        fputs(usage2, stdout);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        puts("treatylog 0.1.0");
        return 0;
    }
    if (tl_init() != TL_OK) {
        fprintf(stderr, "treatylog: cannot initialise libsodium/libcrypto\n");
        return EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "treatylog: cannot initialise libcurl\n");
        return EXIT_USAGE;
    }
    int rc = -1;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            rc = commands[i].run(argc - 1, argv + 1);
            break;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "treatylog: unknown command '%s'\n\n%s%s", argv[1], usage, usage2);
        rc = EXIT_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
