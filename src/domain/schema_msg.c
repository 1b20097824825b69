/* schema_msg.c - building the schema module's error messages: a truncating
 * string builder, quoting of instance text, instance paths
 * ("body.area.polygon[2][0]") and format phrases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

static const struct {
  const char *name;
  tl_fmt id;
  const char *phrase; /* completes "must be ..." */
} formats[] = {
    {"date", TL_FMT_DATE, "a date (YYYY-MM-DD)"},
    {"date-time", TL_FMT_DATETIME, "a UTC date-time (YYYY-MM-DDThh:mm:ssZ)"},
    {"party", TL_FMT_PARTY, "a party code (two upper-case letters)"},
    {"party-or-all", TL_FMT_PARTY_OR_ALL,
     "a party code (two upper-case letters) or \"*\""},
    {"leafhash", TL_FMT_LEAFHASH, "base64 of a 32-byte hash"},
    {"decimal-degrees", TL_FMT_DEGREES, "a decimal-degrees string"},
    {"latitude", TL_FMT_LATITUDE, "a decimal-degrees string"},
    {"longitude", TL_FMT_LONGITUDE, "a decimal-degrees string"},
    {"recipients", TL_FMT_RECIPIENTS, "a list of party codes, or [\"*\"]"},
};

tl_fmt tl_schema_fmt_lookup(const char *name) {
  for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++) {
    if (strcmp(formats[i].name, name) == 0)
      return formats[i].id;
  }
  return TL_FMT_NONE;
}

const char *tl_schema_fmt_phrase(tl_fmt f) {
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    if (formats[i].id == f)
      return formats[i].phrase;
  }
  return NULL;
}

void tl_sb_init(tl_sb *b, char *buf, size_t cap) {
  b->p = buf;
  b->cap = cap;
  b->len = 0;
  buf[0] = '\0';
}

static void sb_vadd(tl_sb *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void sb_vadd(tl_sb *b, const char *fmt, va_list ap) {
  if (b->len + 1 >= b->cap)
    return;
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  if (n < 0)
    return;
  b->len += (size_t)n;
  if (b->len >= b->cap)
    b->len = b->cap - 1;
}

void tl_sb_add(tl_sb *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sb_vadd(b, fmt, ap);
  va_end(ap);
}

/* Appends raw bytes (truncating). */
static void sb_put(tl_sb *b, const char *s, size_t n) {
  if (b->len + 1 >= b->cap)
    return;
  size_t room = b->cap - 1 - b->len;
  if (n > room)
    n = room;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void tl_sb_quote(tl_sb *b, const char *s, size_t len) {
  sb_put(b, "\"", 1);
  size_t i = 0;
  for (; i < len && i < 48; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      tl_sb_add(b, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      tl_sb_add(b, "\\u%04x", c);
    else
      sb_put(b, (const char *)&s[i], 1);
  }
  if (i < len) {
    /* Finish the UTF-8 sequence we are in, then mark the cut. */
    while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
      sb_put(b, &s[i++], 1);
    if (i < len)
      sb_put(b, "...", 3);
  }
  sb_put(b, "\"", 1);
}

void tl_sb_json(tl_sb *b, const json_t *v) {
  if (json_is_string(v)) {
    tl_sb_quote(b, json_string_value(v), json_string_length(v));
    return;
  }
  char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  tl_sb_add(b, "%s", txt ? txt : "?");
  free(txt);
}

static bool plain_key(const char *k, size_t len) {
  if (len == 0 || len > 64)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = k[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  }
  return true;
}

void tl_path_render(const tl_path *p, tl_sb *b) {
  tl_sb_add(b, "%s", p->root);
  bool empty = p->root[0] == '\0';
  size_t n = p->depth < TL_PATH_SEGS ? p->depth : TL_PATH_SEGS;
  for (size_t i = 0; i < n; i++) {
    const char *k = p->seg[i].key;
    size_t v = p->seg[i].len_or_index;
    if (!k) {
      tl_sb_add(b, "[%zu]", v);
    } else if (plain_key(k, v)) {
      if (!empty)
        sb_put(b, ".", 1);
      sb_put(b, k, v);
    } else {
      sb_put(b, "[", 1);
      tl_sb_quote(b, k, v);
      sb_put(b, "]", 1);
    }
    empty = false;
  }
  if (p->depth > TL_PATH_SEGS)
    sb_put(b, "...", 3);
}

tl_err tl_path_fail(const tl_path *p, tl_diag *d, const char *fmt, ...) {
  if (!d)
    return TL_ERR_FORMAT;
  tl_sb b;
  tl_sb_init(&b, d->msg, sizeof d->msg);
  tl_path_render(p, &b);
  if (b.len)
    sb_put(&b, ": ", 2);
  va_list ap;
  va_start(ap, fmt);
  sb_vadd(&b, fmt, ap);
  va_end(ap);
  return TL_ERR_FORMAT;
}
