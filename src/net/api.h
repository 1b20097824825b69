/* api.h - the treaty query API of `serve` (decision 0003): GET /v1/entries, /v1/entries/<i>,
 * /v1/stats, /v1/findings, /v1/findings/<id>/evidence. Internal to the net layer: http.c
 * routes the requests here; the answers are built without libmicrohttpd, so they are testable
 * on their own.
 */
#ifndef TREATYLOG_NET_API_H
#define TREATYLOG_NET_API_H

#include <stdbool.h>
#include <stddef.h>

#include "treatylog/policy.h"
#include "treatylog/sequencer.h"
#include "treatylog/treaty.h"

/* A query parameter of the request, or NULL. */
typedef const char *(*tl_api_arg_fn)(void *ctx, const char *key);

/* Where findings come from (the rules layer plugs in here). Each returns an HTTP status and
 * a malloc'd JSON body. */
typedef struct tl_findings_src {
    unsigned (*list)(void *ctx, tl_api_arg_fn arg, void *argctx, char **body, size_t *len);
    unsigned (*evidence)(void *ctx, const char *id, char **body, size_t *len);
    /* {"breach":N,...}: open findings by state, as a malloc'd JSON object text */
    char *(*counts)(void *ctx);
    void *ctx;
} tl_findings_src;

typedef struct tl_api {
    tl_seq *seq;
    tl_treaty *treaty;
    const tl_policy *policy;          /* witness times of witnessed checkpoints; NULL: none */
    const tl_findings_src *findings;  /* NULL: no ruleset loaded */
} tl_api;

/* True if url is an endpoint of this API. */
bool tl_api_handles(const char *url);

/* Answers a GET of url: returns the HTTP status; *body (malloc'd, caller frees) and *len the
 * answer, *ctype its content type. */
unsigned tl_api_get(const tl_api *a, const char *url, tl_api_arg_fn arg, void *argctx,
                    char **body, size_t *len, const char **ctype);

/* The witness time (Unix seconds) of a witnessed checkpoint note under the policy: the latest
 * timestamp among the valid cosignatures of listed witnesses; false if the note does not meet
 * the policy. */
bool tl_api_witness_time(const tl_policy *p, const char *note, size_t len, uint64_t *time);

#endif
