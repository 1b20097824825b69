/* schema_json.c - strict JSON for notifications (DESIGN §3): jansson with
 * duplicate keys rejected, plus what JSON itself allows but treatylog does not:
 * anything but one object, control characters in keys and strings, and (for the
 * one-line form) raw control bytes. This is the reference path, which gives every
 * verdict its message; tl_schema_parse_json first tries the fast path of
 * schema_fastjson.c, which accepts a subset of the same texts with the same tree. */
#include <stdint.h>
#include <string.h>

#include "schema_int.h"
#include "treatylog/text.h"

/* Offset of the first control character of valid UTF-8 s[0..len):
 * U+0000..U+001F (LF excepted if allow_lf), U+007F, U+0080..U+009F (encoded
 * C2 80..C2 9F). *cp gets it. */
static bool find_control(const char *s, size_t len, bool allow_lf, uint32_t *cp, size_t *at)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != 0x7f && c != 0xc2)
            continue;
        if (c == 0xc2) {
            if (i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f) {
                *cp = u[i + 1];
                *at = i;
                return true;
            }
            continue;
        }
        if (allow_lf && c == '\n')
            continue;
        *cp = c;
        *at = i;
        return true;
    }
    return false;
}

/* Every key and string of a decoded document: no control characters (LF allowed
 * in string values only). Recursion is bounded by jansson's nesting limit
 * (2048). */
static tl_err check_controls(tl_path *p, const json_t *j, tl_diag *d)
{
    uint32_t cp;
    size_t at;
    if (json_is_string(j)) {
        if (find_control(json_string_value(j), json_string_length(j), true, &cp, &at))
            return tl_path_fail(p, d, "control character U+%04X in a string", (unsigned)cp);
        return TL_OK;
    }
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            tl_path_push_index(p, i);
            tl_err e = check_controls(p, json_array_get(j, i), d);
            tl_path_pop(p);
            if (e != TL_OK)
                return e;
        }
        return TL_OK;
    }
    if (!json_is_object(j))
        return TL_OK;
    json_t *o = (json_t *)j; /* jansson's iterator API is not const; nothing is changed */
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        tl_path_push_key(p, key, klen);
        tl_err e = TL_OK;
        if (find_control(key, klen, false, &cp, &at))
            e = tl_path_fail(p, d, "control character U+%04X in a key", (unsigned)cp);
        else
            e = check_controls(p, json_object_iter_value(it), d);
        tl_path_pop(p);
        if (e != TL_OK)
            return e;
    }
    return TL_OK;
}

tl_err tl_schema_parse_json(json_t **out, const char *buf, size_t len, bool one_line, tl_diag *d)
{
    json_t *j = tl_schema_fast_json(buf, len, one_line);
    if (j) {
        *out = j;
        return TL_OK;
    }
    return tl_schema_parse_json_ref(out, buf, len, one_line, d);
}

tl_err tl_schema_parse_json_ref(json_t **out, const char *buf, size_t len, bool one_line,
                                tl_diag *d)
{
    if (!tl_utf8_valid((const uint8_t *)buf, len))
        return tl_fail(d, TL_ERR_FORMAT, "JSON: not valid UTF-8");
    if (one_line) {
        uint32_t cp;
        size_t at;
        if (find_control(buf, len, false, &cp, &at)) {
            if (cp == '\n')
                return tl_fail(d, TL_ERR_FORMAT,
                               "JSON column %zu: line break (the object must be on one line)",
                               at + 1);
            return tl_fail(d, TL_ERR_FORMAT, "JSON column %zu: control character U+%04X", at + 1,
                           (unsigned)cp);
        }
        if (len == 0 || buf[0] != '{' || buf[len - 1] != '}')
            return tl_fail(d, TL_ERR_FORMAT,
                           "JSON: must be one object, from '{' to '}' with nothing around it");
    }
    json_error_t err;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        /* jansson quotes the input near the error: keep the message printable. */
        for (char *c = err.text; *c; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        }
        return tl_fail(d, TL_ERR_FORMAT, "JSON %s %d: %s", one_line ? "column" : "byte",
                       err.position, err.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return tl_fail(d, TL_ERR_FORMAT, "JSON: must be an object");
    }
    tl_path p = {.root = "", .depth = 0};
    tl_err e = check_controls(&p, j, d);
    if (e != TL_OK) {
        json_decref(j);
        return e;
    }
    *out = j;
    return TL_OK;
}
