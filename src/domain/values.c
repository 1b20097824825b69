/* values.c - strict parsers for the value conventions of reference/domain.md §2.3 (dates,
 * date-times, party codes, leaf hashes, decimal degrees). See values.h. */
#include "treatylog/values.h"

#include "treatylog/text.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n digits at s as a number; false if any is not a digit. */
static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

tl_err tl_value_date(const char *s, size_t len, int64_t *days)
{
    int y, m, d;
    if (len != TL_DATE_LEN || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
        !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
        return TL_ERR_FORMAT;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return TL_ERR_FORMAT;
    *days = days_from_civil(y, m, d);
    return TL_OK;
}

tl_err tl_value_datetime(const char *s, size_t len, int64_t *unix_s)
{
    int64_t days;
    int hh, mm, ss;
    if (len != TL_DATETIME_LEN || tl_value_date(s, TL_DATE_LEN, &days) != TL_OK)
        return TL_ERR_FORMAT;
    if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' || !digits(s + 11, 2, &hh) ||
        !digits(s + 14, 2, &mm) || !digits(s + 17, 2, &ss))
        return TL_ERR_FORMAT;
    if (hh > 23 || mm > 59 || ss > 59)
        return TL_ERR_FORMAT;
    *unix_s = days * 86400 + hh * 3600 + mm * 60 + ss;
    return TL_OK;
}

bool tl_value_party(const char *s, size_t len)
{
    return len == TL_PARTY_LEN && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

tl_err tl_value_leafhash(const char *s, size_t len, uint8_t out[static TL_HASH_LEN])
{
    uint8_t buf[TL_HASH_LEN];
    size_t n = 0;
    if (len != 44 || tl_b64_decode(buf, sizeof buf, &n, s, len) != TL_OK || n != TL_HASH_LEN)
        return TL_ERR_FORMAT;
    for (size_t i = 0; i < TL_HASH_LEN; i++)
        out[i] = buf[i];
    return TL_OK;
}

tl_err tl_value_degrees(const char *s, size_t len, int32_t *micro)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    /* Whole degrees: "0", or 1..3 digits without a leading zero. */
    size_t start = i;
    while (i < len && is_digit(s[i]) && i - start < 4)
        i++;
    size_t nint = i - start;
    if (nint == 0 || nint > 3 || (nint > 1 && s[start] == '0'))
        return TL_ERR_FORMAT;
    int whole = 0;
    (void)digits(s + start, nint, &whole); /* all digits: checked by the loop */
    int frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t fstart = i;
        while (i < len && is_digit(s[i]))
            i++;
        size_t nfrac = i - fstart;
        if (nfrac == 0 || nfrac > 6)
            return TL_ERR_FORMAT;
        (void)digits(s + fstart, nfrac, &frac);
        for (size_t k = nfrac; k < 6; k++)
            frac *= 10;
    }
    if (i != len)
        return TL_ERR_FORMAT;
    int64_t v = (int64_t)whole * 1000000 + frac;
    if (neg && v == 0)
        return TL_ERR_FORMAT; /* "-0", "-0.0": one spelling per value */
    if (v > TL_MICRODEG_LON_MAX)
        return TL_ERR_RANGE;
    *micro = (int32_t)(neg ? -v : v);
    return TL_OK;
}
