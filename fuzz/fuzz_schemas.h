/* fuzz_schemas.h - what the fuzz targets that read notifications share (header-only, included
 * by one target each): a trap on a violated property, and the message schemas loaded once at
 * start-up from $TL_SCHEMAS, else from schemas/ of the source tree this file is in. A target
 * that cannot load them stops before fuzzing (a set-up error, not a finding). */
#ifndef TREATYLOG_FUZZ_SCHEMAS_H
#define TREATYLOG_FUZZ_SCHEMAS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/err.h"
#include "treatylog/hash.h" /* tl_init */
#include "treatylog/schema.h"

/* Traps (a crash libFuzzer reports with the input) unless ok. */
static inline void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

/* tl_init, then the schemas; `target` names the caller in the set-up error. */
static inline tl_schemas *fuzz_schemas(const char *target)
{
    check(tl_init() == TL_OK);
    char dir[4096];
    const char *env = getenv("TL_SCHEMAS");
    if (env && env[0]) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        const char *f = __FILE__;
        const char *cut = strstr(f, "fuzz/fuzz_schemas.h");
        snprintf(dir, sizeof dir, "%.*sschemas", (int)(cut ? cut - f : 0), f);
    }
    tl_schemas *s = NULL;
    tl_diag d = {{0}};
    if (tl_schemas_load(&s, dir, &d) != TL_OK) {
        fprintf(stderr, "%s: %s: %s\n", target, dir, d.msg);
        exit(2);
    }
    return s;
}

#endif
