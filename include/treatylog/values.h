/* values.h - the value conventions of reference/domain.md §2.3 as strict parsers: RFC 3339
 * dates and UTC date-times, party codes, base64 leaf hashes and decimal-degree strings.
 *
 * These back the "format" keywords of the notification schemas (schema.h) and let later
 * stages (query index, rules) read the same values the same way. Each parser takes a byte
 * range (no NUL needed), accepts exactly one spelling per value where the convention allows
 * it, and leaves its output untouched on error. Pure functions; thread-safe.
 */
#ifndef TREATYLOG_VALUES_H
#define TREATYLOG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"

#define TL_PARTY_LEN        2         /* a party code: ISO 3166-1 alpha-2 */
#define TL_DATE_LEN         10        /* YYYY-MM-DD */
#define TL_DATETIME_LEN     20        /* YYYY-MM-DDThh:mm:ssZ */
#define TL_MICRODEG_LAT_MAX 90000000  /* latitude bound, micro-degrees */
#define TL_MICRODEG_LON_MAX 180000000 /* longitude bound, micro-degrees */

/* An RFC 3339 full-date "YYYY-MM-DD" (year 0000..9999, a real calendar day, proleptic
 * Gregorian). *days gets the day number relative to 1970-01-01 (negative before it).
 * TL_ERR_FORMAT otherwise. */
TL_MUST_CHECK tl_err tl_value_date(const char *s, size_t len, int64_t *days);

/* An RFC 3339 date-time in UTC with whole seconds, exactly "YYYY-MM-DDThh:mm:ssZ" (upper-case
 * T and Z; no fraction, no offset, no leap second 60). *unix_s gets the Unix time.
 * TL_ERR_FORMAT otherwise. */
TL_MUST_CHECK tl_err tl_value_datetime(const char *s, size_t len, int64_t *unix_s);

/* True if s[0..len) is a party code: two ASCII upper-case letters. Whether the code is
 * assigned or registered is for the registry, not for this check. */
bool tl_value_party(const char *s, size_t len);

/* A leaf hash (or any SHA-256 value) as canonical padded standard base64 of exactly 32
 * bytes (44 characters). TL_ERR_FORMAT otherwise. */
TL_MUST_CHECK tl_err tl_value_leafhash(const char *s, size_t len, uint8_t out[static TL_HASH_LEN]);

/* A decimal-degree string: ["-"] ("0" | 1-9 followed by at most 2 digits) ["." 1*6DIGIT], so
 * at most 6 decimals, no "+", no leading zero, no exponent, no negative zero, and an absolute
 * value of at most 180. *micro gets the value in integer micro-degrees. TL_ERR_FORMAT for the
 * syntax, TL_ERR_RANGE past 180 degrees (callers check the tighter latitude bound). */
TL_MUST_CHECK tl_err tl_value_degrees(const char *s, size_t len, int32_t *micro);

#endif
