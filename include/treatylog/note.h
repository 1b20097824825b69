/* note.h - C2SP signed-note v1.0.0: strict parsing, verification and signing, for both
 * Ed25519 note signatures (type 0x01) and Ed25519 cosignature/v1 timestamped cosignatures
 * (type 0x04, C2SP tlog-cosignature v1.0.1).
 *
 *   note    = text LF sigline+          text = 1*(line LF), the exact bytes that are signed
 *   sigline = E2 80 94 SP name SP base64(keyid[4] || sig) LF
 *   cosig/v1 sig bytes = u64be(timestamp) || ed25519( "cosignature/v1\ntime <t>\n" || text )
 *
 * A parsed tl_note points into the caller's buffer, which must outlive it. Thread-safe.
 */
#ifndef TREATYLOG_NOTE_H
#define TREATYLOG_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/key.h"

#define TL_NOTE_MAX 65536      /* largest note accepted, bytes */
#define TL_NOTE_SIGS_MAX 100   /* most signature lines accepted (Go x/mod's limit) */
#define TL_SIGLINE_MAX (4 + TL_KEYNAME_MAX + 1 + 104 + 1 + 1) /* our own lines, with NUL */
#define TL_COSIG_TIME_MAX INT64_MAX

typedef struct tl_note_sig {
    const char *name; /* points into the note; not NUL-terminated */
    size_t name_len;
    uint32_t id;        /* first 4 decoded bytes, big-endian */
    const char *b64;    /* the base64 field, not NUL-terminated */
    size_t b64_len;
} tl_note_sig;

typedef struct tl_note {
    const char *text; /* the signed text, ending in LF */
    size_t text_len;
    size_t nsigs;
    tl_note_sig sigs[TL_NOTE_SIGS_MAX];
} tl_note;

/* Result of checking one trusted key against a note. */
typedef struct tl_sigcheck {
    bool ok;       /* a line by this key verified */
    uint64_t time; /* cosignature/v1 timestamp (0 for type 0x01) */
} tl_sigcheck;

/* Parses msg[0..len) strictly (signed-note §3.6 of reference/c2sp-formats.md): valid UTF-8,
 * no control bytes but LF, split at the last "\n\n", 1..100 well-formed signature lines,
 * nothing after them, at most TL_NOTE_MAX bytes. Returns TL_OK, TL_ERR_FORMAT or
 * TL_ERR_TOOBIG. */
TL_MUST_CHECK tl_err tl_note_parse(tl_note *out, const char *msg, size_t len, tl_diag *d);

/* Verifies a parsed note against nkeys trusted keys (type 0x01 or 0x04; for 0x04 the
 * cosignature/v1 message is used and the 76-byte layout and time <= 2^63-1 enforced).
 * Lines whose (name, id) match no trusted key are ignored. A line that matches a trusted key
 * but fails to verify rejects the note (TL_ERR_SIGNATURE). Two trusted keys with the same
 * (name, id) are TL_ERR_USAGE ("ambiguous key"). If results is non-NULL it gets one entry
 * per key. Returns TL_OK if at least one trusted signature verified, else TL_ERR_SIGNATURE. */
TL_MUST_CHECK tl_err tl_note_verify(const tl_note *n, const tl_vkey *keys, size_t nkeys,
                                    tl_sigcheck *results, tl_diag *d);

/* Builds the signature line ("— name base64\n", NUL-terminated) for text[0..len) with key k.
 * For a type 0x04 key, `time` is the cosignature timestamp (<= 2^63-1); for 0x01 it is
 * ignored. text must itself be valid note text (non-empty, ends in LF). Returns the line
 * length via *outlen. TL_ERR_FORMAT for invalid text or time. */
TL_MUST_CHECK tl_err tl_note_sigline(char out[static TL_SIGLINE_MAX], size_t *outlen,
                                     const char *text, size_t len, const tl_skey *k,
                                     uint64_t time, tl_diag *d);

/* Signs text with k (type 0x01) and writes the whole note (text, LF, signature line) into a
 * fresh malloc'd NUL-terminated buffer *out (caller frees), its length in *outlen. */
TL_MUST_CHECK tl_err tl_note_sign(char **out, size_t *outlen, const char *text, size_t len,
                                  const tl_skey *k, tl_diag *d);

#endif
