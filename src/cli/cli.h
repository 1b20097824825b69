/* cli.h - shared helpers of the treatylog command: argument scanning, file reading, error
 * reporting and the one mapping from tl_err to exit codes.
 *
 * Exit codes: 0 success, 1 verification failed, 2 usage or input error (also I/O).
 */
#ifndef TREATYLOG_CLI_H
#define TREATYLOG_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "treatylog/err.h"
#include "treatylog/key.h"
#include "treatylog/policy.h"

#define EXIT_VERIFY 1
#define EXIT_USAGE 2

/* Exit code for an error: 1 for a failed verification, 2 for everything else. */
int cli_exit_code(tl_err e);

/* Prints "treatylog CMD: message" to stderr and returns the exit code for e. */
int cli_fail(const char *cmd, tl_err e, const tl_diag *d);

/* Prints "treatylog CMD: <formatted>" and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file ("-" = stdin) into a malloc'd NUL-terminated buffer, at most max bytes
 * (TL_ERR_TOOBIG past that). */
TL_MUST_CHECK tl_err cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len,
                                   tl_diag *d);

/* A verifier key given as its text or as a file holding it. */
TL_MUST_CHECK tl_err cli_load_vkey(const char *arg, tl_vkey *out, tl_diag *d);

/* A signer key file of the given type (TL_KEY_ED25519: log and party keys; TL_KEY_COSIG_V1:
 * witness keys), parsed; the file's bytes are wiped. A key of the other type is TL_ERR_USAGE
 * with a hint how to make the right one. */
TL_MUST_CHECK tl_err cli_load_skey(const char *path, uint8_t type, tl_skey *k, tl_diag *d);

/* The log's verifier key: --vkey (vkey_arg, a key or a file) if given, else the log
 * directory's own .treatylog/log.vkey through the store (TL_ERR_USAGE over HTTP: give --vkey). */
struct tl_store;
TL_MUST_CHECK tl_err cli_log_key(struct tl_store *st, const char *vkey_arg, tl_vkey *k,
                                 tl_diag *d);

/* A trust policy: a tlog-policy file, or (policy_path NULL) a single log key. */
TL_MUST_CHECK tl_err cli_load_policy(const char *policy_path, const char *vkey_arg,
                                     tl_policy **out, tl_diag *d);

/* Strict decimal argument. */
TL_MUST_CHECK tl_err cli_parse_u64(const char *s, uint64_t *out, tl_diag *d);

/* Writes all of buf to stdout; false on a write error. */
bool cli_write_stdout(const void *buf, size_t len);

/* One command-line option: "--name VALUE" (value != NULL) or a bare "--name" (flag). */
typedef struct cli_opt {
    const char *name;
    const char **value;
    bool *flag;
} cli_opt;

/* Scans argv[1..argc) into options and up to maxpos positional arguments ("--" ends the
 * options). Returns 0, or prints the problem and returns EXIT_USAGE. */
int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts, size_t nopts,
              const char **pos, size_t maxpos, size_t *npos);

/* A setting that is both a flag (--name VALUE) and a config-file key. */
typedef struct cli_setting {
    const char *name;
    const char *value; /* NULL if not set */
} cli_setting;

/* Reads "key value" lines (# comments, blank lines) from path into the settings not already
 * set (flags win). Lines whose key is repeat_key (if non-NULL) go to on_repeat instead. The
 * values point into *buf (caller frees). Errors name the file and line. */
TL_MUST_CHECK tl_err cli_read_settings(const char *path, cli_setting *set, size_t n,
                                       const char *repeat_key,
                                       bool (*on_repeat)(void *ctx, const char *value),
                                       void *ctx, char **buf, tl_diag *d);

/* The setting as a number in [min, max] into *out (untouched if the setting is unset). */
TL_MUST_CHECK tl_err cli_setting_u64(const cli_setting *s, uint64_t *out, uint64_t min,
                                     uint64_t max, tl_diag *d);

/* Opens an access log for the `access-log` setting: "-" is stderr (*owned NULL), else the
 * file in append mode (*owned = it, for the caller to fclose). A NULL value opens nothing. */
TL_MUST_CHECK tl_err cli_open_access_log(const char *value, FILE **log, FILE **owned,
                                         tl_diag *d);

/* Subcommands: argv[0] is the subcommand name. Each returns the process exit code. */
int cmd_keygen(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_append(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* Loads the message schemas of dir, else $TREATYLOG_SCHEMAS, else the source tree's schemas/
 * (set at build time). */
struct tl_schemas;
TL_MUST_CHECK tl_err cli_load_schemas(const char *dir, struct tl_schemas **out, tl_diag *d);

/* A ruleset and what names it (rulesfile.c). */
struct tl_ruleset;
struct tl_registry;
typedef struct cli_ruleset {
    struct tl_ruleset *rs;
    char name[128];      /* file name, e.g. "vd11.rules" */
    uint8_t sha256[32];  /* of the text */
    char *text;
    size_t len;
} cli_ruleset;

/* --ruleset FILE if given, else the ruleset the registry names, found by name in the rules
 * directory and checked against the registered SHA-256. */
TL_MUST_CHECK tl_err cli_load_ruleset(const char *file, const struct tl_registry *reg,
                                      cli_ruleset *r, tl_diag *d);
void cli_ruleset_free(cli_ruleset *r);

/* Gives each item of a registry document's "rulesets" that has no "text" the text of the file
 * of its name in the rules directory, if that file's SHA-256 is the item's sha256 (DESIGN §3:
 * a ruleset's text is logged with the registry); says on stderr, as `treatylog WHAT`, which
 * ones it could not. Leaves the texts out if the document would then not fit in an entry. */
struct json_t;
void cli_embed_ruleset_texts(struct json_t *doc, const char *what);

/* GET base+path (e.g. "/v1/checkpoints?from=0") from a treatylog server and parse the JSON
 * object it answers (*out: json_decref it). A non-200 status quotes the server's message:
 * TL_ERR_NOTFOUND (404), TL_ERR_FORMAT (400 or not JSON), TL_ERR_IO otherwise. */
struct json_t;
TL_MUST_CHECK tl_err cli_http_json(const char *base, const char *path, struct json_t **out,
                                   tl_diag *d);

/* A running `serve` (cmd_serve.c), also started in-process by `demo`. */
#define CLI_SERVE_SETTINGS 17
typedef struct cli_serve cli_serve;
struct tl_clock;
struct tl_seq;
struct tl_live_findings;
/* Fills the settings table of serve (names; values NULL). */
void cli_serve_settings(cli_setting set[CLI_SERVE_SETTINGS]);
/* Opens the log and starts serving it as the settings say; clock: NULL = the real one. */
TL_MUST_CHECK tl_err cli_serve_open(cli_serve **out, cli_setting *set,
                                    const struct tl_clock *clock, tl_diag *d);
/* Its URL ("http://127.0.0.1:PORT"). */
const char *cli_serve_url(const cli_serve *rt);
struct tl_seq *cli_serve_seq(cli_serve *rt);
struct tl_live_findings *cli_serve_findings(cli_serve *rt);
/* Integrates what was accepted, stops and frees. NULL-safe. */
void cli_serve_close(cli_serve *rt);
/* Blocks SIGINT and SIGTERM in this and later threads (take them with sigwait). */
void cli_block_signals(sigset_t *sigs);

int cmd_check(int argc, char **argv);
int cmd_verify_evidence(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_verify_receipt(int argc, char **argv);
int cmd_witness(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_notify(int argc, char **argv);
int cmd_reindex(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_registry(int argc, char **argv);

/* Shared by submit and registry (cmd_submit.c). */

/* Takes every "--name VALUE" out of argv[1..*argc) (before "--") into vals (at most max; *n
 * gets their number) and closes the gaps. Returns 0, or prints the problem and EXIT_USAGE. */
int submit_take_repeated(const char *cmd, int *argc, char **argv, const char *name,
                         const char **vals, size_t max, size_t *n);



/* Appends a signature line by each of keys[0..nkeys) over text to the signed note *note
 * (malloc'd, realloc'd; NUL-terminated). */
TL_MUST_CHECK tl_err submit_append_sigs(char **note, size_t *nlen, const char *text, size_t tlen,
                                        const tl_skey *keys, size_t nkeys, tl_diag *d);

/* POSTs the signed note to <server>/add, verifies the treaty-mode answer against policy (if
 * only the witness quorum is missing, waits up to witness_wait_s seconds for a witnessed proof
 * from GET /v1/proof), keeps <receipts>/<stem>.{note,tlog-proof,entry} (stem NULL:
 * "registry-<index>") and prints "index N leaf B64 logged TIME". Returns the exit code: 2 for
 * a refusal (the server's message is printed) or a transport error, 1 for an answer that does
 * not verify or stays unwitnessed. */
int submit_post(const char *cmd, const char *server, const char *note, size_t nlen,
                const tl_policy *policy, unsigned witness_wait_s, const char *receipts,
                const char *stem);

/* --witness-wait SECONDS (at most 3600; default SUBMIT_WITNESS_WAIT_DEFAULT when NULL). */
TL_MUST_CHECK tl_err submit_witness_wait(const char *arg, unsigned *out, tl_diag *d);
#define SUBMIT_WITNESS_WAIT_DEFAULT 60

#endif
