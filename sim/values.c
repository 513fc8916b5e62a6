/* Parsers for scenario values. Durations are parsed exactly in decimal (no
 * float round trip), so "9223372036.854775807s" is INT64_MAX ns to the unit. */
#include "values.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>

#include "sim_error.h"

/* Every failure here is bad input, hence one code. Returns FALSE so callers
 * can write `return sim_input_error(...)`. */

/* `error` must be in scope. */
#define FAIL(...) sim_input_error(error, __VA_ARGS__)

static const char DURATION_HELP[] = "expected a duration such as 60s, 250ms, 2m or 1h";
static const char RATE_HELP[] = "expected a rate such as 500/s, 30k/s or 120/m";
static const char INT_HELP[] = "expected an integer such as 64, -3 or 10k";
static const char FLOAT_HELP[] = "expected a number such as 0.5, 2 or 1e-3";
static const char RANGE_HELP[] = "expected a range such as 32768-60999 or a single number such as 443";
static const char ADDRESS_HELP[] = "expected an IPv4 or IPv6 address such as 10.0.0.1 or 2001:db8::1";
static const char DIST_HELP[] =
    "expected a distribution such as exp(200ms), lognormal(200ms, 1.0), uniform(1s, 500ms), "
    "const(1s) or a plain duration such as 100ms";
static const char SCHEDULE_HELP[] = "expected a schedule such as '0s 200/s, 10m 2000/s'";

/* A stripped private copy, so messages quote the text without padding. */
static char *strip_copy(const char *text)
{
    return g_strstrip(g_strdup(text ? text : ""));
}

/* The span of "[digits][.digits]" at p, with at least one digit. */
typedef struct {
    const char *int_digits;
    size_t int_len;
    const char *frac_digits;
    size_t frac_len;
    const char *end;
} Decimal;

static gboolean scan_decimal(const char *p, Decimal *d)
{
    d->int_digits = p;
    while (g_ascii_isdigit(*p))
        p++;
    d->int_len = (size_t)(p - d->int_digits);
    d->frac_digits = p;
    d->frac_len = 0;
    if (*p == '.') {
        d->frac_digits = ++p;
        while (g_ascii_isdigit(*p))
            p++;
        d->frac_len = (size_t)(p - d->frac_digits);
    }
    d->end = p;
    return d->int_len + d->frac_len > 0;
}

static gboolean decimal_is_zero(const Decimal *d)
{
    for (size_t i = 0; i < d->int_len; i++)
        if (d->int_digits[i] != '0')
            return FALSE;
    for (size_t i = 0; i < d->frac_len; i++)
        if (d->frac_digits[i] != '0')
            return FALSE;
    return TRUE;
}

static gboolean push_digit(uint64_t *v, char c)
{
    uint64_t digit = (uint64_t)(c - '0');
    if (*v > (UINT64_MAX - digit) / 10)
        return FALSE;
    *v = *v * 10 + digit;
    return TRUE;
}

/* d * 10^shift * base, rounded half up to an integer, exactly. Returns FALSE
 * when the result exceeds INT64_MAX. */
static gboolean decimal_scale(const Decimal *d, int shift, uint64_t base, int64_t *out)
{
    /* Moving the point `shift` places right turns leading fraction digits
     * into integer digits. */
    uint64_t whole = 0;
    for (size_t i = 0; i < d->int_len; i++)
        if (!push_digit(&whole, d->int_digits[i]))
            return FALSE;
    for (int i = 0; i < shift; i++)
        if (!push_digit(&whole, (size_t)i < d->frac_len ? d->frac_digits[i] : '0'))
            return FALSE;
    if (whole > (uint64_t)INT64_MAX / base)
        return FALSE;
    whole *= base;

    /* Multiply the remaining fraction digits by base right to left, like long
     * multiplication: the final carry is the integer part, and the first
     * product digit decides the rounding. Exact for any number of digits. */
    uint64_t carry = 0, first = 0;
    for (size_t i = d->frac_len; i > (size_t)shift; i--) {
        uint64_t v = (uint64_t)(d->frac_digits[i - 1] - '0') * base + carry;
        first = v % 10;
        carry = v / 10;
    }
    uint64_t extra = carry + (first >= 5 ? 1 : 0);
    if (whole > (uint64_t)INT64_MAX - extra)
        return FALSE;
    *out = (int64_t)(whole + extra);
    return TRUE;
}

typedef struct {
    const char *name;
    uint64_t base; /* nanoseconds per unit is base * 10^shift */
    int shift;
} DurationUnit;

static const DurationUnit duration_units[] = {
    {"ns", 1, 0}, {"us", 1, 3}, {"ms", 1, 6}, {"s", 1, 9},
    {"m", 60, 9}, {"h", 3600, 9}, {"d", 86400, 9},
};

static gboolean all_alpha(const char *p)
{
    if (!*p)
        return FALSE;
    for (; *p; p++)
        if (!g_ascii_isalpha(*p))
            return FALSE;
    return TRUE;
}

/* s is already stripped. */
static gboolean parse_duration_stripped(const char *s, SimTime *out, GError **error)
{
    if (s[0] == '-' && (g_ascii_isdigit(s[1]) || s[1] == '.'))
        return FAIL("durations cannot be negative, got '%s'", s);
    Decimal d;
    if (!scan_decimal(s, &d))
        return FAIL("%s, got '%s'", DURATION_HELP, s);
    const char *unit = d.end;
    if (*unit == '\0') {
        /* 0 is 0 in every unit; any other bare number is ambiguous. */
        if (decimal_is_zero(&d)) {
            *out = 0;
            return TRUE;
        }
        return FAIL("duration '%s' has no unit: add a unit, as in %ss or %sms", s, s, s);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(duration_units); i++) {
        const DurationUnit *u = &duration_units[i];
        if (strcmp(unit, u->name) != 0)
            continue;
        int64_t ns;
        if (!decimal_scale(&d, u->shift, u->base, &ns))
            return FAIL("duration '%s' is too long: the longest is 106751d (about 292 years)", s);
        *out = ns;
        return TRUE;
    }
    if (all_alpha(unit))
        return FAIL("unknown unit '%s' in '%s' (use ns, us, ms, s, m, h or d)", unit, s);
    return FAIL("%s, got '%s'", DURATION_HELP, s);
}

gboolean sim_parse_duration(const char *text, SimTime *out, GError **error)
{
    g_autofree char *s = strip_copy(text);
    return parse_duration_stripped(s, out, error);
}

/* Multipliers shared by rates and integers. */
static gboolean multiplier_for(char c, uint64_t *mult)
{
    switch (c) {
    case 'k': *mult = 1000; return TRUE;
    case 'M': *mult = 1000000; return TRUE;
    case 'G': *mult = 1000000000; return TRUE;
    default: return FALSE;
    }
}

static gboolean parse_rate_stripped(const char *s, double *per_second, GError **error)
{
    if (s[0] == '-' && (g_ascii_isdigit(s[1]) || s[1] == '.'))
        return FAIL("rates cannot be negative, got '%s'", s);
    Decimal d;
    if (!scan_decimal(s, &d))
        return FAIL("%s, got '%s'", RATE_HELP, s);
    const char *p = d.end;
    uint64_t mult = 1;
    if (*p != '/') {
        if (!multiplier_for(*p, &mult))
            return *p && g_ascii_isalpha(*p) && strchr(p, '/')
                       ? FAIL("unknown multiplier '%c' in '%s' (use k, M or G)", *p, s)
                       : FAIL("%s, got '%s'", RATE_HELP, s);
        p++;
        if (*p != '/')
            return FAIL("%s, got '%s'", RATE_HELP, s);
    }
    const char *unit = p + 1;
    double seconds;
    if (strcmp(unit, "s") == 0)
        seconds = 1;
    else if (strcmp(unit, "m") == 0)
        seconds = 60;
    else if (strcmp(unit, "h") == 0)
        seconds = 3600;
    else if (all_alpha(unit))
        return FAIL("unknown rate unit '%s' in '%s' (use s, m or h: per second, minute or hour)",
                    unit, s);
    else
        return FAIL("%s, got '%s'", RATE_HELP, s);

    g_autofree char *number = g_strndup(s, (gsize)(d.end - s));
    double v = g_ascii_strtod(number, NULL) * (double)mult / seconds;
    if (!isfinite(v))
        return FAIL("rate '%s' is too large", s);
    *per_second = v;
    return TRUE;
}

gboolean sim_parse_rate(const char *text, double *per_second, GError **error)
{
    g_autofree char *s = strip_copy(text);
    return parse_rate_stripped(s, per_second, error);
}

typedef enum {
    INT_OK,
    INT_SYNTAX,
    INT_OVERFLOW,
} IntStatus;

/* "[+-]digits" plus an optional k/M/G when allowed; the whole string. */
static IntStatus scan_int(const char *s, gboolean allow_suffix, int64_t *out)
{
    const char *p = s;
    gboolean negative = FALSE;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    if (!g_ascii_isdigit(*p))
        return INT_SYNTAX;
    uint64_t mag = 0;
    gboolean overflow = FALSE;
    for (; g_ascii_isdigit(*p); p++)
        overflow = overflow || !push_digit(&mag, *p);
    uint64_t mult = 1;
    if (allow_suffix && multiplier_for(*p, &mult))
        p++;
    if (*p != '\0')
        return INT_SYNTAX;
    if (overflow || mag > UINT64_MAX / mult)
        return INT_OVERFLOW;
    mag *= mult;
    /* The negative side reaches one further than the positive side. */
    if (mag > (uint64_t)INT64_MAX + (negative ? 1u : 0u))
        return INT_OVERFLOW;
    if (negative)
        *out = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
    else
        *out = (int64_t)mag;
    return INT_OK;
}

gboolean sim_parse_int(const char *text, int64_t *out, GError **error)
{
    g_autofree char *s = strip_copy(text);
    int64_t v;
    switch (scan_int(s, TRUE, &v)) {
    case INT_OK:
        *out = v;
        return TRUE;
    case INT_OVERFLOW:
        return FAIL("integer '%s' is out of range (%" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")",
                    s, G_MININT64, G_MAXINT64);
    case INT_SYNTAX:
    default:
        return FAIL("%s, got '%s'", INT_HELP, s);
    }
}

gboolean sim_parse_float(const char *text, double *out, GError **error)
{
    g_autofree char *s = strip_copy(text);
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (s[0] == '\0' || end != s + strlen(s))
        return FAIL("%s, got '%s'", FLOAT_HELP, s);
    if (!isfinite(v))
        return FAIL(errno == ERANGE ? "number '%s' is too large"
                                    : "number '%s' is not finite (use an ordinary number such as 0.5)",
                    s);
    *out = v;
    return TRUE;
}

gboolean sim_parse_bool(const char *text, gboolean *out, GError **error)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    g_autofree char *s = strip_copy(text);
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) {
            *out = TRUE;
            return TRUE;
        }
        if (g_ascii_strcasecmp(s, no[i]) == 0) {
            *out = FALSE;
            return TRUE;
        }
    }
    return FAIL("expected true or false (or yes/no, on/off, 1/0), got '%s'", s);
}

static gboolean check_bound(const char *s, int64_t v, int64_t min, int64_t max, GError **error)
{
    if (v < min)
        return FAIL("%" G_GINT64_FORMAT " in '%s' is below the minimum of %" G_GINT64_FORMAT, v, s,
                    min);
    if (v > max)
        return FAIL("%" G_GINT64_FORMAT " in '%s' is above the maximum of %" G_GINT64_FORMAT, v, s,
                    max);
    return TRUE;
}

static gboolean parse_range_stripped(const char *s, int64_t min, int64_t max, int64_t *lo,
                                     int64_t *hi, GError **error)
{
    /* Skip index 0 so a negative low end ("-5-5") is not taken as the dash. */
    const char *dash = s[0] ? strchr(s + 1, '-') : NULL;
    g_autofree char *lo_text = dash ? g_strndup(s, (gsize)(dash - s)) : g_strdup(s);
    g_autofree char *hi_text = g_strdup(dash ? dash + 1 : s);
    g_strstrip(lo_text);
    g_strstrip(hi_text);
    int64_t a, b;
    IntStatus sa = scan_int(lo_text, FALSE, &a);
    IntStatus sb = scan_int(hi_text, FALSE, &b);
    if (sa == INT_SYNTAX || sb == INT_SYNTAX)
        return FAIL("%s, got '%s'", RANGE_HELP, s);
    if (sa == INT_OVERFLOW || sb == INT_OVERFLOW)
        return FAIL("'%s' is out of range (allowed %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")", s,
                    min, max);
    if (!check_bound(s, a, min, max, error) || !check_bound(s, b, min, max, error))
        return FALSE;
    if (a > b)
        return FAIL("range %s runs backwards (write the low end first, as in %" G_GINT64_FORMAT
                    "-%" G_GINT64_FORMAT ")",
                    s, b, a);
    *lo = a;
    *hi = b;
    return TRUE;
}

gboolean sim_parse_range(const char *text, int64_t min, int64_t max, int64_t *lo, int64_t *hi,
                         GError **error)
{
    g_autofree char *s = strip_copy(text);
    return parse_range_stripped(s, min, max, lo, hi, error);
}

/* Splits a comma list into stripped items; NULL (with an error) when an item
 * is empty, since a stray comma is more likely a typo than intent. */
static char **split_list(const char *s, GError **error)
{
    char **items = g_strsplit(s, ",", -1);
    for (char **it = items; *it; it++) {
        if (g_strstrip(*it)[0] == '\0') {
            g_strfreev(items);
            FAIL("empty item in list '%s' (look for a doubled or trailing comma)", s);
            return NULL;
        }
    }
    return items;
}

gboolean sim_parse_range_list(const char *text, int64_t min, int64_t max, GArray *out,
                              GError **error)
{
    g_return_val_if_fail(g_array_get_element_size(out) == sizeof(SimRange), FALSE);
    g_autofree char *s = strip_copy(text);
    if (s[0] == '\0')
        return TRUE;
    g_auto(GStrv) items = split_list(s, error);
    if (!items)
        return FALSE;
    guint old_len = out->len;
    for (char **it = items; *it; it++) {
        SimRange r;
        if (!parse_range_stripped(*it, min, max, &r.lo, &r.hi, error)) {
            g_array_set_size(out, old_len); /* all or nothing */
            return FALSE;
        }
        g_array_append_val(out, r);
    }
    return TRUE;
}

static gboolean parse_address_stripped(const char *s, SimAddress *out, GError **error)
{
    SimAddress a = {0};
    if (inet_pton(AF_INET, s, a.bytes) == 1)
        a.family = 4;
    else if (inet_pton(AF_INET6, s, a.bytes) == 1)
        a.family = 6;
    else
        return FAIL("%s, got '%s'", ADDRESS_HELP, s);
    *out = a;
    return TRUE;
}

gboolean sim_parse_address(const char *text, SimAddress *out, GError **error)
{
    g_autofree char *s = strip_copy(text);
    return parse_address_stripped(s, out, error);
}

const char *sim_address_format(const SimAddress *a, char *buf)
{
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
    if (af < 0 || !inet_ntop(af, a->bytes, buf, SIM_ADDRESS_STRLEN))
        g_strlcpy(buf, "(invalid address)", SIM_ADDRESS_STRLEN);
    return buf;
}

static size_t address_len(const SimAddress *a)
{
    return a->family == 4 ? 4 : 16;
}

int sim_address_compare(const SimAddress *a, const SimAddress *b)
{
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, address_len(a));
    return (c > 0) - (c < 0);
}

gboolean sim_address_is_loopback(const SimAddress *a)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (a->family == 4)
        return a->bytes[0] == 127;
    return a->family == 6 && memcmp(a->bytes, v6_loopback, 16) == 0;
}

static void address_increment(SimAddress *a)
{
    for (size_t i = address_len(a); i-- > 0;)
        if (++a->bytes[i] != 0)
            break;
}

/* The address as a 128-bit big-endian number split in two halves. */
static void address_halves(const SimAddress *a, uint64_t *hi, uint64_t *lo)
{
    size_t n = address_len(a);
    uint64_t v[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        size_t pos = 16 - n + i; /* IPv4 fills the low half only */
        v[pos / 8] = (v[pos / 8] << 8) | a->bytes[i];
    }
    *hi = v[0];
    *lo = v[1];
}

/* One list item before expansion. count_huge means count >= 2^64, which no
 * guint64 max_count can allow. */
typedef struct {
    SimAddress first;
    guint64 count;
    gboolean count_huge;
} AddressItem;

static void refuse_count(const char *what, const char *item, const AddressItem *ai,
                         unsigned host_bits, guint64 max_count, GError **error)
{
    if (host_bits >= 64)
        FAIL("%s %s has 2^%u addresses, more than the %" G_GUINT64_FORMAT " allowed", what, item,
             host_bits, max_count);
    else if (ai->count_huge)
        FAIL("%s %s has 2^64 or more addresses, more than the %" G_GUINT64_FORMAT " allowed", what,
             item, max_count);
    else
        FAIL("%s %s has %" G_GUINT64_FORMAT " addresses, more than the %" G_GUINT64_FORMAT
             " allowed",
             what, item, ai->count, max_count);
}

static gboolean parse_cidr(const char *item, const char *slash, guint64 max_count,
                           AddressItem *ai, GError **error)
{
    g_autofree char *prefix = g_strstrip(g_strndup(item, (gsize)(slash - item)));
    g_autofree char *len_text = g_strstrip(g_strdup(slash + 1));
    if (!parse_address_stripped(prefix, &ai->first, NULL))
        return FAIL("expected a CIDR block such as 10.0.0.0/29 or 2001:db8::/64, got '%s'", item);
    unsigned bits = ai->first.family == 4 ? 32 : 128;
    int64_t len;
    if (len_text[0] == '+' || len_text[0] == '-' || scan_int(len_text, FALSE, &len) != INT_OK)
        return FAIL("expected a prefix length 0-%u after '/' in '%s'", bits, item);
    if (len > (int64_t)bits)
        return FAIL("prefix length %" G_GINT64_FORMAT " in '%s' is above %u, the IPv%d maximum",
                    len, item, bits, ai->first.family);

    /* A set host bit usually means a typo; name the block they likely meant. */
    SimAddress net = ai->first;
    size_t n = address_len(&net);
    for (size_t i = 0; i < n; i++) {
        int keep = (int)len - (int)(8 * i); /* network bits in this byte */
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        net.bytes[i] &= mask;
    }
    if (memcmp(net.bytes, ai->first.bytes, n) != 0) {
        char buf[SIM_ADDRESS_STRLEN];
        return FAIL("CIDR block '%s' has host bits set; did you mean %s/%" G_GINT64_FORMAT "?",
                    item, sim_address_format(&net, buf), len);
    }

    unsigned host_bits = bits - (unsigned)len;
    ai->count_huge = host_bits >= 64;
    ai->count = ai->count_huge ? G_MAXUINT64 : (guint64)1 << host_bits;
    if (ai->count_huge || ai->count > max_count) {
        refuse_count("CIDR block", item, ai, host_bits, max_count, error);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_address_range(const char *item, const char *dash, guint64 max_count,
                                    AddressItem *ai, GError **error)
{
    g_autofree char *a_text = g_strstrip(g_strndup(item, (gsize)(dash - item)));
    g_autofree char *b_text = g_strstrip(g_strdup(dash + 1));
    SimAddress a, b;
    if (!parse_address_stripped(a_text, &a, NULL) || !parse_address_stripped(b_text, &b, NULL))
        return FAIL("expected an address range such as 10.0.0.1-10.0.0.8, got '%s'", item);
    if (a.family != b.family)
        return FAIL("address range '%s' mixes IPv4 and IPv6", item);
    if (sim_address_compare(&a, &b) > 0)
        return FAIL("address range '%s' runs backwards (write the lower address first)", item);

    uint64_t ahi, alo, bhi, blo;
    address_halves(&a, &ahi, &alo);
    address_halves(&b, &bhi, &blo);
    uint64_t diff_lo = blo - alo;
    uint64_t diff_hi = bhi - ahi - (blo < alo ? 1 : 0);
    ai->first = a;
    /* count = diff + 1, which reaches 2^64 when diff_lo is all ones. */
    ai->count_huge = diff_hi != 0 || diff_lo == UINT64_MAX;
    ai->count = ai->count_huge ? G_MAXUINT64 : diff_lo + 1;
    if (ai->count_huge || ai->count > max_count) {
        refuse_count("address range", item, ai, 0, max_count, error);
        return FALSE;
    }
    return TRUE;
}

gboolean sim_parse_address_list(const char *text, guint64 max_count, GArray *out, GError **error)
{
    g_return_val_if_fail(g_array_get_element_size(out) == sizeof(SimAddress), FALSE);
    g_autofree char *s = strip_copy(text);
    if (s[0] == '\0')
        return TRUE;
    g_auto(GStrv) items = split_list(s, error);
    if (!items)
        return FALSE;

    /* A GArray length is a guint, so that is a hard limit too. */
    guint64 limit = MIN(max_count, (guint64)G_MAXUINT);
    guint n_items = g_strv_length(items);
    g_autofree AddressItem *parsed = g_new0(AddressItem, n_items);
    guint64 total = out->len;
    for (guint i = 0; i < n_items; i++) {
        const char *item = items[i];
        AddressItem *ai = &parsed[i];
        const char *slash = strchr(item, '/');
        const char *dash = strchr(item, '-');
        gboolean ok;
        if (slash)
            ok = parse_cidr(item, slash, limit, ai, error);
        else if (dash)
            ok = parse_address_range(item, dash, limit, ai, error);
        else {
            ok = parse_address_stripped(item, &ai->first, error);
            ai->count = 1;
        }
        if (!ok)
            return FALSE;
        /* Each count is <= limit <= G_MAXUINT, so the sum cannot wrap. */
        total += ai->count;
        if (total > limit)
            return FAIL("'%s' would make the list at least %" G_GUINT64_FORMAT
                        " addresses long, more than the %" G_GUINT64_FORMAT " allowed",
                        s, total, limit);
    }

    guint pos = out->len;
    g_array_set_size(out, (guint)total);
    for (guint i = 0; i < n_items; i++) {
        SimAddress a = parsed[i].first;
        for (guint64 k = 0; k < parsed[i].count; k++) {
            g_array_index(out, SimAddress, pos++) = a;
            address_increment(&a);
        }
    }
    return TRUE;
}

typedef struct {
    const char *name;
    SimDistKind kind;
    guint n_params;
    const char *params; /* for messages */
} DistInfo;

static const DistInfo dist_infos[] = {
    {"const", SIM_DIST_CONST, 1, "mean"},
    {"exp", SIM_DIST_EXP, 1, "mean"},
    {"lognormal", SIM_DIST_LOGNORMAL, 2, "mean, sigma"},
    {"uniform", SIM_DIST_UNIFORM, 2, "mean, spread"},
};

gboolean sim_parse_distribution(const char *text, SimDist *out, GError **error)
{
    g_autofree char *s = strip_copy(text);
    SimDist d = {.kind = SIM_DIST_CONST};
    const char *open = strchr(s, '(');
    if (!open) {
        /* Text that starts like a number is meant as a duration, so its
         * specific complaint (missing unit, ...) helps more. */
        if (!g_ascii_isdigit(s[0]) && s[0] != '.' && s[0] != '-')
            return FAIL("%s, got '%s'", DIST_HELP, s);
        if (!parse_duration_stripped(s, &d.mean, error))
            return FALSE;
        *out = d;
        return TRUE;
    }
    size_t len = strlen(s);
    if (s[len - 1] != ')' || strchr(open + 1, '(') || strchr(open + 1, ')') != s + len - 1)
        return FAIL("%s, got '%s'", DIST_HELP, s);

    g_autofree char *name = g_strstrip(g_strndup(s, (gsize)(open - s)));
    const DistInfo *info = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(dist_infos); i++)
        if (strcmp(name, dist_infos[i].name) == 0)
            info = &dist_infos[i];
    if (!info)
        return FAIL("unknown distribution '%s' in '%s' (use const, exp, lognormal or uniform)",
                    name, s);

    g_autofree char *inner = g_strstrip(g_strndup(open + 1, (gsize)(s + len - 1 - (open + 1))));
    g_auto(GStrv) params = inner[0] ? g_strsplit(inner, ",", -1) : g_new0(char *, 1);
    guint n = g_strv_length(params);
    if (n != info->n_params)
        return FAIL("%s needs %u parameter%s (%s), got %u in '%s'", info->name, info->n_params,
                    info->n_params == 1 ? "" : "s", info->params, n, s);
    for (guint i = 0; i < n; i++)
        g_strstrip(params[i]);

    d.kind = info->kind;
    if (!parse_duration_stripped(params[0], &d.mean, error)) {
        g_prefix_error(error, "mean of '%s': ", s);
        return FALSE;
    }
    if (d.kind == SIM_DIST_LOGNORMAL) {
        if (!sim_parse_float(params[1], &d.sigma, error)) {
            g_prefix_error(error, "sigma of '%s': ", s);
            return FALSE;
        }
        if (d.sigma < 0)
            return FAIL("sigma of '%s' must be 0 or more, got %s", s, params[1]);
    } else if (d.kind == SIM_DIST_UNIFORM) {
        if (!parse_duration_stripped(params[1], &d.spread, error)) {
            g_prefix_error(error, "spread of '%s': ", s);
            return FALSE;
        }
        if (d.spread > d.mean)
            return FAIL("spread %s of '%s' exceeds the mean %s, so values would go negative",
                        params[1], s, params[0]);
    }
    *out = d;
    return TRUE;
}

/* Nearest whole nanosecond, clamped to [0, SIM_TIME_NEVER]; NaN gives 0. */
static SimTime round_ns(double ns)
{
    if (!(ns > 0))
        return 0;
    if (ns >= 9.2e18)
        return SIM_TIME_NEVER;
    return (SimTime)(ns + 0.5);
}

SimTime sim_dist_sample(const SimDist *d, SimRng *rng)
{
    double mean = (double)d->mean;
    switch (d->kind) {
    case SIM_DIST_EXP:
        return round_ns(sim_rng_exponential(rng, mean));
    case SIM_DIST_LOGNORMAL: {
        /* E[exp(mu + sigma Z)] = exp(mu + sigma^2/2), so this mu makes the
         * configured value the mean rather than the median. */
        double mu = log(mean) - d->sigma * d->sigma / 2;
        return round_ns(exp(mu + d->sigma * sim_rng_normal(rng)));
    }
    case SIM_DIST_UNIFORM:
        return round_ns(mean + (double)d->spread * (2 * sim_rng_uniform(rng) - 1));
    case SIM_DIST_CONST:
    default:
        return d->mean < 0 ? 0 : d->mean;
    }
}

/* The shortest %g text that reads back as the same double. */
static void format_double(double v, char *buf, size_t size)
{
    for (int digits = 1; digits <= 17; digits++) {
        char fmt[8];
        g_snprintf(fmt, sizeof fmt, "%%.%dg", digits);
        g_ascii_formatd(buf, (int)size, fmt, v);
        if (g_ascii_strtod(buf, NULL) == v)
            return;
    }
}

char *sim_dist_format(const SimDist *d)
{
    g_autofree char *mean = sim_duration_format(d->mean);
    switch (d->kind) {
    case SIM_DIST_CONST:
        return g_strdup_printf("const(%s)", mean);
    case SIM_DIST_EXP:
        return g_strdup_printf("exp(%s)", mean);
    case SIM_DIST_LOGNORMAL: {
        char sigma[G_ASCII_DTOSTR_BUF_SIZE];
        format_double(d->sigma, sigma, sizeof sigma);
        return g_strdup_printf("lognormal(%s, %s)", mean, sigma);
    }
    case SIM_DIST_UNIFORM: {
        g_autofree char *spread = sim_duration_format(d->spread);
        return g_strdup_printf("uniform(%s, %s)", mean, spread);
    }
    default:
        return g_strdup_printf("unknown(%s)", mean);
    }
}

char *sim_duration_format(SimTime t)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"d", 86400 * (uint64_t)SIM_S}, {"h", 3600 * (uint64_t)SIM_S}, {"m", 60 * (uint64_t)SIM_S},
        {"s", SIM_S}, {"ms", SIM_MS}, {"us", SIM_US},
    };
    if (t == 0)
        return g_strdup("0s");
    /* Work on the magnitude as unsigned so INT64_MIN does not overflow. */
    uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    const char *sign = t < 0 ? "-" : "";
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
        if (mag % units[i].ns == 0)
            return g_strdup_printf("%s%" G_GUINT64_FORMAT "%s", sign, mag / units[i].ns,
                                   units[i].name);
    return g_strdup_printf("%s%" G_GUINT64_FORMAT "ns", sign, mag);
}

gboolean sim_parse_schedule(const char *text, GArray *out, GError **error)
{
    g_return_val_if_fail(g_array_get_element_size(out) == sizeof(SimSchedulePoint), FALSE);
    g_autofree char *s = strip_copy(text);
    if (s[0] == '\0')
        return FAIL("%s, got '' (a schedule needs at least one point)", SCHEDULE_HELP);
    g_auto(GStrv) items = split_list(s, error);
    if (!items)
        return FALSE;

    guint old_len = out->len;
    SimTime previous = 0;
    for (char **it = items; *it; it++) {
        g_auto(GStrv) raw = g_strsplit_set(*it, " \t\r\n\v\f", -1);
        const char *tokens[2];
        guint n = 0;
        for (char **r = raw; *r; r++)
            if (**r && n++ < 2)
                tokens[n - 1] = *r;
        SimSchedulePoint p;
        gboolean ok = FALSE;
        if (n != 2)
            FAIL("expected a schedule point 'TIME RATE' such as '10m 2000/s', got '%s'", *it);
        else if (!parse_duration_stripped(tokens[0], &p.at, error) ||
                 !parse_rate_stripped(tokens[1], &p.rate, error))
            g_prefix_error(error, "schedule point '%s': ", *it);
        else if (it == items && p.at != 0)
            FAIL("a schedule must start at 0s, but its first point is '%s'", *it);
        else if (p.at < previous) {
            g_autofree char *prev_text = sim_duration_format(previous);
            FAIL("schedule times must not go backwards: '%s' comes after a point at %s", *it,
                 prev_text);
        } else
            ok = TRUE;
        if (!ok) {
            g_array_set_size(out, old_len);
            return FALSE;
        }
        previous = p.at;
        g_array_append_val(out, p);
    }
    return TRUE;
}
