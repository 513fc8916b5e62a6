/* Unit tests for sim/values.c: every parser's good and bad inputs, the
 * messages users see, round trips and the distributions' sampled moments. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "sim_error.h"
#include "test_util.h"
#include "values.h"

/* Asserts that err is a SIM_ERROR_INPUT whose message holds every string of
 * the NULL-terminated list, then frees it. */
static void check_error(GError **err, ...) G_GNUC_NULL_TERMINATED;

static void check_error(GError **err, ...)
{
    ck_assert_msg(*err != NULL, "expected an error");
    ck_assert_msg(g_error_matches(*err, SIM_ERROR, SIM_ERROR_INPUT), "wrong domain or code: %s",
                  (*err)->message);
    va_list args;
    va_start(args, err);
    for (const char *needle; (needle = va_arg(args, const char *));)
        ck_assert_msg(strstr((*err)->message, needle), "message \"%s\" lacks \"%s\"",
                      (*err)->message, needle);
    va_end(args);
    g_clear_error(err);
}

static SimTime duration(const char *text)
{
    GError *err = NULL;
    SimTime t = -1;
    ck_assert_msg(sim_parse_duration(text, &t, &err), "'%s': %s", text, err ? err->message : "");
    return t;
}

/* ---- durations ---- */

START_TEST(duration_units)
{
    ck_assert_int_eq(duration("100ns"), 100);
    ck_assert_int_eq(duration("500us"), 500 * SIM_US);
    ck_assert_int_eq(duration("250ms"), 250 * SIM_MS);
    ck_assert_int_eq(duration("60s"), 60 * SIM_S);
    ck_assert_int_eq(duration("2m"), 120 * SIM_S);
    ck_assert_int_eq(duration("1h"), 3600 * SIM_S);
    ck_assert_int_eq(duration("1d"), 86400 * SIM_S);
    ck_assert_int_eq(duration(" \t60s \n"), 60 * SIM_S);
    ck_assert_int_eq(duration("0s"), 0);
    ck_assert_int_eq(duration("0"), 0);
    ck_assert_int_eq(duration("007s"), 7 * SIM_S);
}
END_TEST

START_TEST(duration_decimals)
{
    ck_assert_int_eq(duration("1.5s"), 1500 * SIM_MS);
    ck_assert_int_eq(duration("0.1s"), 100 * SIM_MS);
    ck_assert_int_eq(duration(".5ms"), 500 * SIM_US);
    ck_assert_int_eq(duration("2.5m"), 150 * SIM_S);
    ck_assert_int_eq(duration("0.001d"), 86400 * SIM_MS);
    /* 2^53 + 1 ns: a parse through double would give 2^53. */
    ck_assert_int_eq(duration("9007199.254740993s"), 9007199254740993LL);
    /* Rounded to the nearest ns, halves up. */
    ck_assert_int_eq(duration("1.0000000005s"), 1000000001);
    ck_assert_int_eq(duration("1.0000000004999s"), 1000000000);
    ck_assert_int_eq(duration("0.5ns"), 1);
    ck_assert_int_eq(duration("0.49ns"), 0);
    /* A minute is not a power of ten of ns, so rounding near 0.5 ns needs
     * the exact product of every digit. */
    ck_assert_int_eq(duration("0.0000000000001m"), 0);   /* 0.006 ns */
    ck_assert_int_eq(duration("0.00000000001m"), 1);     /* 0.6 ns */
    ck_assert_int_eq(duration("0.000000000008333m"), 0); /* 0.49998 ns */
    ck_assert_int_eq(duration("0.000000000008334m"), 1); /* 0.50004 ns */
    ck_assert_int_eq(duration("1.00000000000000000000000000001h"), 3600 * SIM_S);
}
END_TEST

START_TEST(duration_limits)
{
    ck_assert_int_eq(duration("9223372036854775807ns"), INT64_MAX);
    ck_assert_int_eq(duration("9223372036.854775807s"), INT64_MAX);
    ck_assert_int_eq(duration("106751d"), 106751LL * 86400 * SIM_S);

    const char *too_long[] = {"9223372036854775808ns", "9223372036.8547758075s", "106752d",
                              "99999999999999999999999999s", "18446744073709551616ns"};
    for (size_t i = 0; i < G_N_ELEMENTS(too_long); i++) {
        GError *err = NULL;
        SimTime t = 42;
        ck_assert(!sim_parse_duration(too_long[i], &t, &err));
        ck_assert_int_eq(t, 42); /* untouched on failure */
        check_error(&err, "too long", too_long[i], "106751d", NULL);
    }
}
END_TEST

START_TEST(duration_errors)
{
    GError *err = NULL;
    SimTime t = 42;
    ck_assert(!sim_parse_duration("60 parsecs", &t, &err));
    check_error(&err, "expected a duration such as 60s, 250ms, 2m or 1h, got '60 parsecs'", NULL);
    ck_assert(!sim_parse_duration("5x", &t, &err));
    check_error(&err, "unknown unit 'x' in '5x' (use ns, us, ms, s, m, h or d)", NULL);
    ck_assert(!sim_parse_duration("5S", &t, &err)); /* units are case-sensitive */
    check_error(&err, "unknown unit 'S'", NULL);
    ck_assert(!sim_parse_duration("5sec", &t, &err));
    check_error(&err, "unknown unit 'sec'", NULL);
    ck_assert(!sim_parse_duration("-5s", &t, &err));
    check_error(&err, "negative", "'-5s'", NULL);
    ck_assert(!sim_parse_duration("60", &t, &err));
    check_error(&err, "add a unit", "'60'", NULL);
    ck_assert(!sim_parse_duration("0.5", &t, &err));
    check_error(&err, "add a unit", NULL);

    const char *bad[] = {"", "s", "1.5.s", "1e3s", "5 s", "1,5s", "+5s", "inf", "5s5"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_duration(bad[i], &t, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, quoted, NULL);
    }
    ck_assert_int_eq(t, 42);
}
END_TEST

START_TEST(duration_format)
{
    struct {
        SimTime t;
        const char *text;
    } cases[] = {
        {0, "0s"},
        {60 * SIM_S, "1m"},
        {1500 * SIM_MS, "1500ms"},
        {90 * SIM_S, "90s"},
        {3600 * SIM_S, "1h"},
        {7200 * SIM_S, "2h"},
        {86400 * SIM_S, "1d"},
        {2 * 86400 * SIM_S + SIM_S, "172801s"},
        {7, "7ns"},
        {1001 * SIM_US, "1001us"},
        {250 * SIM_MS, "250ms"},
        {INT64_MAX, "9223372036854775807ns"},
        {-5 * SIM_S, "-5s"},
        {INT64_MIN, "-9223372036854775808ns"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *s = sim_duration_format(cases[i].t);
        ck_assert_str_eq(s, cases[i].text);
    }
}
END_TEST

START_TEST(duration_round_trip)
{
    SimRng rng;
    sim_rng_seed(&rng, 7, "duration_round_trip", 0);
    for (int i = 0; i < 10000; i++) {
        /* Mix magnitudes so every unit gets chosen. */
        SimTime t = (SimTime)(sim_rng_next(&rng) >> (1 + sim_rng_below(&rng, 63)));
        if (i % 3 == 0)
            t = (t % 1000) * (i % 2 ? 60 * SIM_S : SIM_MS);
        g_autofree char *s = sim_duration_format(t);
        ck_assert_int_eq(duration(s), t);
    }
}
END_TEST

/* ---- rates ---- */

static double rate(const char *text)
{
    GError *err = NULL;
    double r = -1;
    ck_assert_msg(sim_parse_rate(text, &r, &err), "'%s': %s", text, err ? err->message : "");
    return r;
}

START_TEST(rate_good)
{
    ck_assert_double_eq(rate("500/s"), 500);
    ck_assert_double_eq(rate("30k/s"), 30000);
    ck_assert_double_eq(rate("1.5k/s"), 1500);
    ck_assert_double_eq(rate("2M/s"), 2e6);
    ck_assert_double_eq(rate("1G/s"), 1e9);
    ck_assert_double_eq(rate("120/m"), 2);
    ck_assert_double_eq(rate("3600/h"), 1);
    ck_assert_double_eq(rate("0/s"), 0);
    ck_assert_double_eq(rate(".5/s"), 0.5);
    ck_assert_double_eq(rate("  250/s "), 250);
    ck_assert_double_eq_tol(rate("1k/m"), 1000.0 / 60, 1e-12);
}
END_TEST

START_TEST(rate_errors)
{
    GError *err = NULL;
    double r = 42;
    ck_assert(!sim_parse_rate("-5/s", &r, &err));
    check_error(&err, "negative", "'-5/s'", NULL);
    ck_assert(!sim_parse_rate("500", &r, &err));
    check_error(&err, "expected a rate such as 500/s", "'500'", NULL);
    ck_assert(!sim_parse_rate("500/ms", &r, &err));
    check_error(&err, "unknown rate unit 'ms' in '500/ms'", "s, m or h", NULL);
    ck_assert(!sim_parse_rate("5x/s", &r, &err));
    check_error(&err, "unknown multiplier 'x' in '5x/s'", "k, M or G", NULL);
    ck_assert(!sim_parse_rate("5K/s", &r, &err)); /* K is not k */
    check_error(&err, "'K'", NULL);

    const char *bad[] = {"", "/s", "500/", "5 /s", "5/ s", "abc", "5/s/s", "1e3/s", "5kk/s"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_rate(bad[i], &r, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, quoted, NULL);
    }

    /* 400 digits overflow a double. */
    g_autofree char *huge = g_strnfill(400, '9');
    g_autofree char *huge_rate = g_strconcat(huge, "/s", NULL);
    ck_assert(!sim_parse_rate(huge_rate, &r, &err));
    check_error(&err, "too large", NULL);
    ck_assert_double_eq(r, 42);
}
END_TEST

/* ---- integers, floats, booleans ---- */

START_TEST(int_good)
{
    struct {
        const char *text;
        int64_t value;
    } cases[] = {
        {"64", 64},
        {"-3", -3},
        {"+7", 7},
        {"0", 0},
        {"10k", 10000},
        {"-2k", -2000},
        {"2M", 2000000},
        {"3G", 3000000000LL},
        {" 12 ", 12},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"9223372036854775k", 9223372036854775000LL},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *err = NULL;
        int64_t v = 42;
        ck_assert_msg(sim_parse_int(cases[i].text, &v, &err), "'%s'", cases[i].text);
        ck_assert_int_eq(v, cases[i].value);
    }
}
END_TEST

START_TEST(int_errors)
{
    GError *err = NULL;
    int64_t v = 42;
    const char *overflow[] = {"9223372036854775808", "-9223372036854775809", "9223372036854776k",
                              "10000000000G", "99999999999999999999999"};
    for (size_t i = 0; i < G_N_ELEMENTS(overflow); i++) {
        ck_assert_msg(!sim_parse_int(overflow[i], &v, &err), "'%s' accepted", overflow[i]);
        check_error(&err, "out of range", overflow[i], NULL);
    }
    const char *bad[] = {"", "k", "1.5", "10K", "12abc", "--1", "1 000", "0x10", "- 1"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_int(bad[i], &v, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, "expected an integer such as", quoted, NULL);
    }
    ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(float_good_and_bad)
{
    GError *err = NULL;
    double v = 42;
    ck_assert(sim_parse_float("0.5", &v, &err));
    ck_assert_double_eq(v, 0.5);
    ck_assert(sim_parse_float(" -2 ", &v, &err));
    ck_assert_double_eq(v, -2);
    ck_assert(sim_parse_float("1e-3", &v, &err));
    ck_assert_double_eq(v, 1e-3);
    ck_assert(sim_parse_float("3.25", &v, &err));
    ck_assert_double_eq(v, 3.25);

    v = 42;
    const char *not_finite[] = {"inf", "-infinity", "nan", "NaN"};
    for (size_t i = 0; i < G_N_ELEMENTS(not_finite); i++) {
        ck_assert_msg(!sim_parse_float(not_finite[i], &v, &err), "'%s' accepted", not_finite[i]);
        check_error(&err, "not finite", not_finite[i], NULL);
    }
    ck_assert(!sim_parse_float("1e999", &v, &err));
    check_error(&err, "too large", "'1e999'", NULL);
    const char *bad[] = {"", "abc", "1.5x", "1,5", "0.5 0.5"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_float(bad[i], &v, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, "expected a number such as", quoted, NULL);
    }
    ck_assert_double_eq(v, 42);
}
END_TEST

START_TEST(bool_good_and_bad)
{
    const char *yes[] = {"true", "TRUE", "yes", "Yes", "on", "ON", "1", " true "};
    const char *no[] = {"false", "False", "no", "NO", "off", "oFf", "0"};
    GError *err = NULL;
    gboolean b;
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        b = FALSE;
        ck_assert_msg(sim_parse_bool(yes[i], &b, &err) && b, "'%s'", yes[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
        b = TRUE;
        ck_assert_msg(sim_parse_bool(no[i], &b, &err) && !b, "'%s'", no[i]);
    }
    const char *bad[] = {"maybe", "", "2", "truee", "y", "t"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        b = 7;
        ck_assert_msg(!sim_parse_bool(bad[i], &b, &err), "'%s' accepted", bad[i]);
        ck_assert_int_eq(b, 7);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, "expected true or false", quoted, NULL);
    }
}
END_TEST

/* ---- ranges ---- */

START_TEST(range_good)
{
    GError *err = NULL;
    int64_t lo = -1, hi = -1;
    ck_assert(sim_parse_range("32768-60999", 0, 65535, &lo, &hi, &err));
    ck_assert_int_eq(lo, 32768);
    ck_assert_int_eq(hi, 60999);
    ck_assert(sim_parse_range("443", 0, 65535, &lo, &hi, &err));
    ck_assert_int_eq(lo, 443);
    ck_assert_int_eq(hi, 443);
    ck_assert(sim_parse_range(" 1024 - 2048 ", 0, 65535, &lo, &hi, &err));
    ck_assert_int_eq(lo, 1024);
    ck_assert_int_eq(hi, 2048);
    /* Both bounds are inclusive. */
    ck_assert(sim_parse_range("0-65535", 0, 65535, &lo, &hi, &err));
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 65535);
    ck_assert(sim_parse_range("1-1", 1, 1, &lo, &hi, &err));
    ck_assert_int_eq(lo, 1);
    ck_assert_int_eq(hi, 1);
    /* A leading minus is a sign, not the separator. */
    ck_assert(sim_parse_range("-5--3", -10, 10, &lo, &hi, &err));
    ck_assert_int_eq(lo, -5);
    ck_assert_int_eq(hi, -3);
    ck_assert(sim_parse_range("-5", -10, 10, &lo, &hi, &err));
    ck_assert_int_eq(lo, -5);
    ck_assert_int_eq(hi, -5);
}
END_TEST

START_TEST(range_errors)
{
    GError *err = NULL;
    int64_t lo = 42, hi = 42;
    ck_assert(!sim_parse_range("0", 1, 65535, &lo, &hi, &err));
    check_error(&err, "0 in '0' is below the minimum of 1", NULL);
    ck_assert(!sim_parse_range("65536", 0, 65535, &lo, &hi, &err));
    check_error(&err, "65536", "above the maximum of 65535", NULL);
    ck_assert(!sim_parse_range("32768-70000", 0, 65535, &lo, &hi, &err));
    check_error(&err, "70000", "'32768-70000'", "above the maximum of 65535", NULL);
    ck_assert(!sim_parse_range("61000-32768", 0, 65535, &lo, &hi, &err));
    check_error(&err, "range 61000-32768 runs backwards", "32768-61000", NULL);
    ck_assert(!sim_parse_range("99999999999999999999", 0, 65535, &lo, &hi, &err));
    check_error(&err, "out of range", NULL);

    const char *bad[] = {"", "-", "5-", "-5-", "1-2-3", "a-b", "10k", "1.5-2", "1 2"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_range(bad[i], 0, 65535, &lo, &hi, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, "expected a range such as", quoted, NULL);
    }
    ck_assert_int_eq(lo, 42);
    ck_assert_int_eq(hi, 42);
}
END_TEST

START_TEST(range_list)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimRange));
    ck_assert(sim_parse_range_list("443, 8443, 9000-9010", 1, 65535, a, &err));
    ck_assert_uint_eq(a->len, 3);
    ck_assert_int_eq(g_array_index(a, SimRange, 0).lo, 443);
    ck_assert_int_eq(g_array_index(a, SimRange, 0).hi, 443);
    ck_assert_int_eq(g_array_index(a, SimRange, 1).lo, 8443);
    ck_assert_int_eq(g_array_index(a, SimRange, 2).lo, 9000);
    ck_assert_int_eq(g_array_index(a, SimRange, 2).hi, 9010);

    /* Appends; empty text adds nothing. */
    ck_assert(sim_parse_range_list("80", 1, 65535, a, &err));
    ck_assert_uint_eq(a->len, 4);
    ck_assert_int_eq(g_array_index(a, SimRange, 3).lo, 80);
    ck_assert(sim_parse_range_list("", 1, 65535, a, &err));
    ck_assert(sim_parse_range_list("   ", 1, 65535, a, &err));
    ck_assert_uint_eq(a->len, 4);

    /* Failures leave the array as it was, even after good items. */
    ck_assert(!sim_parse_range_list("443,,8443", 1, 65535, a, &err));
    check_error(&err, "empty item", "'443,,8443'", NULL);
    ck_assert(!sim_parse_range_list("443,", 1, 65535, a, &err));
    check_error(&err, "empty item", NULL);
    ck_assert(!sim_parse_range_list("443, 70000", 1, 65535, a, &err));
    check_error(&err, "70000", "above the maximum of 65535", NULL);
    ck_assert(!sim_parse_range_list("443, 9010-9000", 1, 65535, a, &err));
    check_error(&err, "9010-9000 runs backwards", NULL);
    ck_assert_uint_eq(a->len, 4);
}
END_TEST

/* ---- addresses ---- */

static SimAddress address(const char *text)
{
    GError *err = NULL;
    SimAddress a;
    memset(&a, 0xAA, sizeof a); /* proves the parser clears unused bytes */
    ck_assert_msg(sim_parse_address(text, &a, &err), "'%s': %s", text, err ? err->message : "");
    return a;
}

static void assert_address(const SimAddress *a, const char *expected)
{
    char buf[SIM_ADDRESS_STRLEN];
    ck_assert_str_eq(sim_address_format(a, buf), expected);
}

START_TEST(address_parse_and_format)
{
    SimAddress a = address("10.1.2.3");
    ck_assert_uint_eq(a.family, 4);
    static const uint8_t v4[16] = {10, 1, 2, 3};
    ck_assert_mem_eq(a.bytes, v4, 16);
    assert_address(&a, "10.1.2.3");

    a = address(" 2001:db8::1 ");
    ck_assert_uint_eq(a.family, 6);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    ck_assert_mem_eq(a.bytes, v6, 16);

    /* Formatting is canonical, whatever the input spelling. */
    a = address("2001:0DB8:0000:0000:0000:0000:0000:0001");
    assert_address(&a, "2001:db8::1");
    a = address("::ffff:10.0.0.1");
    ck_assert_uint_eq(a.family, 6);
    assert_address(&a, "::ffff:10.0.0.1");
    a = address("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
    assert_address(&a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    GError *err = NULL;
    const char *bad[] = {"", "10.0.0.256", "10.0.0", "10.0.0.1.2", "hello", "::1%lo", "[::1]",
                         "10.0.0.1/32", "2001:db8:::1"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_address(bad[i], &a, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, "expected an IPv4 or IPv6 address such as", quoted, NULL);
    }
}
END_TEST

START_TEST(address_compare_and_loopback)
{
    SimAddress a = address("10.0.0.2"), b = address("10.0.1.0"), c = address("::1");
    SimAddress d = address("10.0.0.2"), e = address("0.0.0.0");
    ck_assert_int_lt(sim_address_compare(&a, &b), 0);
    ck_assert_int_gt(sim_address_compare(&b, &a), 0);
    ck_assert_int_eq(sim_address_compare(&a, &d), 0);
    /* Family first: even 0.0.0.0 sorts before any IPv6 address. */
    ck_assert_int_lt(sim_address_compare(&e, &c), 0);
    ck_assert_int_gt(sim_address_compare(&c, &b), 0);
    SimAddress f = address("255.0.0.0"), g = address("1.255.255.255");
    ck_assert_int_gt(sim_address_compare(&f, &g), 0); /* big-endian order */

    const char *loopback[] = {"127.0.0.1", "127.0.0.0", "127.255.255.255", "::1"};
    const char *not_loopback[] = {"126.255.255.255", "128.0.0.1", "10.0.0.1", "::", "::2",
                                  "::ffff:127.0.0.1", "1::1"};
    for (size_t i = 0; i < G_N_ELEMENTS(loopback); i++) {
        SimAddress x = address(loopback[i]);
        ck_assert_msg(sim_address_is_loopback(&x), "%s", loopback[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(not_loopback); i++) {
        SimAddress x = address(not_loopback[i]);
        ck_assert_msg(!sim_address_is_loopback(&x), "%s", not_loopback[i]);
    }
}
END_TEST

/* Parses a list into a fresh array and checks it equals `expected`. */
static void check_address_list(const char *text, guint64 max_count, const char *const *expected,
                               guint n)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimAddress));
    ck_assert_msg(sim_parse_address_list(text, max_count, a, &err), "'%s': %s", text,
                  err ? err->message : "");
    ck_assert_uint_eq(a->len, n);
    for (guint i = 0; i < n; i++)
        assert_address(&g_array_index(a, SimAddress, i), expected[i]);
}

START_TEST(address_list_good)
{
    const char *pair[] = {"10.0.0.1", "2001:db8::1"};
    check_address_list("10.0.0.1, 2001:db8::1", 10, pair, 2);
    const char *range8[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4",
                            "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"};
    check_address_list("10.0.0.1-10.0.0.8", 8, range8, 8);
    check_address_list("10.0.0.1 - 10.0.0.1", 1, range8, 1);
    const char *carry[] = {"10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"};
    check_address_list("10.0.0.254-10.0.1.1", 4, carry, 4);
    const char *cidr29[] = {"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3",
                            "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"};
    check_address_list("10.0.0.0/29", 8, cidr29, 8);
    check_address_list("10.0.0.0/32", 1, cidr29, 1);
    check_address_list("10.0.0.0/31", 2, cidr29, 2);
    const char *top[] = {"255.255.255.254", "255.255.255.255"};
    check_address_list("255.255.255.254/31", 2, top, 2);
    check_address_list("255.255.255.254-255.255.255.255", 2, top, 2);

    /* IPv6 arithmetic is 128-bit: carries cross byte and word boundaries. */
    const char *v6byte[] = {"2001:db8::fe", "2001:db8::ff", "2001:db8::100", "2001:db8::101"};
    check_address_list("2001:db8::fe-2001:db8::101", 4, v6byte, 4);
    const char *v6word[] = {"2001:db8::ffff", "2001:db8::1:0", "2001:db8::1:1"};
    check_address_list("2001:db8::ffff-2001:db8::1:1", 3, v6word, 3);
    const char *v6half[] = {"::ffff:ffff:ffff:ffff", "0:0:0:1::"};
    check_address_list("::ffff:ffff:ffff:ffff-0:0:0:1::", 2, v6half, 2);
    const char *v6cidr[] = {"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"};
    check_address_list("2001:db8::/126", 4, v6cidr, 4);
    check_address_list("2001:db8::/127", 2, v6cidr, 2);
    check_address_list("2001:db8::/128", 1, v6cidr, 1);
}
END_TEST

START_TEST(address_list_partial_byte_block)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimAddress));
    ck_assert(sim_parse_address_list("10.0.0.128/25, 10.0.2.0/23", 1000, a, &err));
    ck_assert_uint_eq(a->len, 128 + 512);
    assert_address(&g_array_index(a, SimAddress, 0), "10.0.0.128");
    assert_address(&g_array_index(a, SimAddress, 127), "10.0.0.255");
    assert_address(&g_array_index(a, SimAddress, 128), "10.0.2.0");
    assert_address(&g_array_index(a, SimAddress, 639), "10.0.3.255");
}
END_TEST

START_TEST(address_list_limits)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimAddress));
    ck_assert(!sim_parse_address_list("10.0.0.0/8", 65536, a, &err));
    check_error(&err, "CIDR block 10.0.0.0/8 has 16777216 addresses, more than the 65536 allowed",
                NULL);
    ck_assert(!sim_parse_address_list("0.0.0.0/0", 65536, a, &err));
    check_error(&err, "4294967296 addresses", NULL);
    /* Counts beyond 64 bits must not wrap into something small. */
    ck_assert(!sim_parse_address_list("::/0", 65536, a, &err));
    check_error(&err, "::/0 has 2^128 addresses", NULL);
    ck_assert(!sim_parse_address_list("2001:db8::/64", G_MAXUINT64, a, &err));
    check_error(&err, "2^64 addresses", NULL);
    ck_assert(!sim_parse_address_list("::-ffff::", 65536, a, &err));
    check_error(&err, "2^64 or more addresses", NULL);
    ck_assert(!sim_parse_address_list("::-::ffff:ffff:ffff:ffff", 65536, a, &err));
    check_error(&err, "2^64 or more addresses", NULL);
    ck_assert(!sim_parse_address_list("2001:db8::1-2001:db8::1:0", 65535, a, &err));
    check_error(&err, "65536 addresses, more than the 65535 allowed", NULL);
    ck_assert_uint_eq(a->len, 0);

    /* Exactly max_count is fine, one more is not. */
    ck_assert(sim_parse_address_list("10.0.0.0/24", 256, a, &err));
    ck_assert_uint_eq(a->len, 256);
    g_array_set_size(a, 0);
    ck_assert(!sim_parse_address_list("10.0.0.0/24", 255, a, &err));
    check_error(&err, "256 addresses, more than the 255 allowed", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.0-10.0.0.255", 255, a, &err));
    check_error(&err, "256 addresses", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.1", 0, a, &err));
    check_error(&err, "more than the 0 allowed", NULL);

    /* The limit covers the whole list, including what is already there. */
    ck_assert(!sim_parse_address_list("10.0.0.0/31, 10.0.0.4/31", 3, a, &err));
    check_error(&err, "more than the 3 allowed", NULL);
    ck_assert_uint_eq(a->len, 0);
    ck_assert(sim_parse_address_list("10.0.0.0/31, 10.0.0.4/31", 4, a, &err));
    ck_assert_uint_eq(a->len, 4);
    ck_assert(!sim_parse_address_list("10.0.0.8", 4, a, &err));
    check_error(&err, "more than the 4 allowed", NULL);
    ck_assert(sim_parse_address_list("10.0.0.8", 5, a, &err));
    ck_assert_uint_eq(a->len, 5);
    assert_address(&g_array_index(a, SimAddress, 4), "10.0.0.8");
}
END_TEST

START_TEST(address_list_errors)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimAddress));
    ck_assert(sim_parse_address_list("", 10, a, &err));
    ck_assert(sim_parse_address_list("  ", 10, a, &err));
    ck_assert_uint_eq(a->len, 0);
    ck_assert(sim_parse_address_list("10.0.0.1", 10, a, &err));

    ck_assert(!sim_parse_address_list("10.0.0.8-10.0.0.1", 10, a, &err));
    check_error(&err, "'10.0.0.8-10.0.0.1' runs backwards", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.1-::1", 10, a, &err));
    check_error(&err, "mixes IPv4 and IPv6", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.0/33", 10, a, &err));
    check_error(&err, "prefix length 33", "'10.0.0.0/33'", "32", NULL);
    ck_assert(!sim_parse_address_list("::/129", 10, a, &err));
    check_error(&err, "prefix length 129", "128", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.5/29", 10, a, &err));
    check_error(&err, "host bits", "did you mean 10.0.0.0/29?", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.64/25", 200, a, &err));
    check_error(&err, "did you mean 10.0.0.0/25?", NULL);
    ck_assert(!sim_parse_address_list("2001:db8::1/64", 10, a, &err));
    check_error(&err, "did you mean 2001:db8::/64?", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.0/x", 10, a, &err));
    check_error(&err, "prefix length", "'10.0.0.0/x'", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.0/-1", 10, a, &err));
    check_error(&err, "prefix length", NULL);
    ck_assert(!sim_parse_address_list("nope/8", 10, a, &err));
    check_error(&err, "CIDR block such as", "'nope/8'", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.1-x", 10, a, &err));
    check_error(&err, "address range such as", "'10.0.0.1-x'", NULL);
    ck_assert(!sim_parse_address_list("10.0.0.1,,10.0.0.2", 10, a, &err));
    check_error(&err, "empty item", NULL);
    /* A bad item late in the list leaves the array untouched. */
    ck_assert(!sim_parse_address_list("10.0.0.2, 10.0.0.3, bogus", 10, a, &err));
    check_error(&err, "'bogus'", NULL);
    ck_assert_uint_eq(a->len, 1);
}
END_TEST

/* ---- distributions ---- */

static SimDist dist(const char *text)
{
    GError *err = NULL;
    SimDist d;
    memset(&d, 0xAA, sizeof d);
    ck_assert_msg(sim_parse_distribution(text, &d, &err), "'%s': %s", text,
                  err ? err->message : "");
    return d;
}

START_TEST(dist_parse_good)
{
    SimDist d = dist("const(1s)");
    ck_assert_int_eq(d.kind, SIM_DIST_CONST);
    ck_assert_int_eq(d.mean, SIM_S);
    d = dist("exp(200ms)");
    ck_assert_int_eq(d.kind, SIM_DIST_EXP);
    ck_assert_int_eq(d.mean, 200 * SIM_MS);
    ck_assert_double_eq(d.sigma, 0);
    ck_assert_int_eq(d.spread, 0);
    d = dist("lognormal(200ms, 1.0)");
    ck_assert_int_eq(d.kind, SIM_DIST_LOGNORMAL);
    ck_assert_int_eq(d.mean, 200 * SIM_MS);
    ck_assert_double_eq(d.sigma, 1.0);
    d = dist("uniform(1s, 500ms)");
    ck_assert_int_eq(d.kind, SIM_DIST_UNIFORM);
    ck_assert_int_eq(d.mean, SIM_S);
    ck_assert_int_eq(d.spread, 500 * SIM_MS);
    d = dist("uniform(1s,1s)"); /* spread == mean is allowed */
    ck_assert_int_eq(d.spread, SIM_S);
    d = dist("100ms");
    ck_assert_int_eq(d.kind, SIM_DIST_CONST);
    ck_assert_int_eq(d.mean, 100 * SIM_MS);
    d = dist("  lognormal ( 1.5s ,\t0.25 )  ");
    ck_assert_int_eq(d.kind, SIM_DIST_LOGNORMAL);
    ck_assert_int_eq(d.mean, 1500 * SIM_MS);
    ck_assert_double_eq(d.sigma, 0.25);
    d = dist("lognormal(1s, 0)");
    ck_assert_double_eq(d.sigma, 0);
}
END_TEST

START_TEST(dist_parse_errors)
{
    GError *err = NULL;
    SimDist d = {.kind = SIM_DIST_EXP, .mean = 42};
    ck_assert(!sim_parse_distribution("gauss(1s)", &d, &err));
    check_error(&err, "unknown distribution 'gauss'", "const, exp, lognormal or uniform", NULL);
    ck_assert(!sim_parse_distribution("Exp(1s)", &d, &err)); /* names are case-sensitive */
    check_error(&err, "unknown distribution 'Exp'", NULL);
    ck_assert(!sim_parse_distribution("lognormal(200ms)", &d, &err));
    check_error(&err, "lognormal needs 2 parameters (mean, sigma), got 1", NULL);
    ck_assert(!sim_parse_distribution("uniform(1s)", &d, &err));
    check_error(&err, "uniform needs 2 parameters (mean, spread), got 1", NULL);
    ck_assert(!sim_parse_distribution("exp(1s, 2s)", &d, &err));
    check_error(&err, "exp needs 1 parameter (mean), got 2", NULL);
    ck_assert(!sim_parse_distribution("const()", &d, &err));
    check_error(&err, "const needs 1 parameter (mean), got 0", NULL);
    ck_assert(!sim_parse_distribution("exp(200)", &d, &err));
    check_error(&err, "mean of 'exp(200)'", "add a unit", NULL);
    ck_assert(!sim_parse_distribution("exp(-1s)", &d, &err));
    check_error(&err, "negative", NULL);
    ck_assert(!sim_parse_distribution("lognormal(200ms, x)", &d, &err));
    check_error(&err, "sigma of 'lognormal(200ms, x)'", "got 'x'", NULL);
    ck_assert(!sim_parse_distribution("lognormal(200ms, -1)", &d, &err));
    check_error(&err, "sigma", "-1", NULL);
    ck_assert(!sim_parse_distribution("lognormal(200ms, )", &d, &err));
    check_error(&err, "sigma", NULL);
    ck_assert(!sim_parse_distribution("uniform(1s, 2s)", &d, &err));
    check_error(&err, "spread 2s", "exceeds the mean 1s", NULL);
    ck_assert(!sim_parse_distribution("uniform(1s, 5)", &d, &err));
    check_error(&err, "spread of 'uniform(1s, 5)'", NULL);
    ck_assert(!sim_parse_distribution("100", &d, &err));
    check_error(&err, "add a unit", NULL);
    ck_assert(!sim_parse_distribution("5parsecs", &d, &err));
    check_error(&err, "unknown unit 'parsecs'", NULL);

    const char *bad[] = {"", "gauss", "exp(1s", "exp(1s))", "exp((1s))", "exp(1s)x", "exp)1s("};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!sim_parse_distribution(bad[i], &d, &err), "'%s' accepted", bad[i]);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        check_error(&err, "expected a distribution such as", quoted, NULL);
    }
    ck_assert_int_eq(d.kind, SIM_DIST_EXP);
    ck_assert_int_eq(d.mean, 42);
}
END_TEST

START_TEST(dist_format_round_trip)
{
    struct {
        const char *text, *canonical;
    } cases[] = {
        {"lognormal(200ms, 1.0)", "lognormal(200ms, 1)"},
        {"lognormal(0.2s,0.5)", "lognormal(200ms, 0.5)"},
        {"lognormal(1s, 1.2345678901234567)", "lognormal(1s, 1.2345678901234567)"},
        {"lognormal(1s, 0.1)", "lognormal(1s, 0.1)"},
        {"uniform(1s, 500ms)", "uniform(1s, 500ms)"},
        {"uniform(60s, 0s)", "uniform(1m, 0s)"},
        {"exp(200ms)", "exp(200ms)"},
        {"exp(0)", "exp(0s)"},
        {"const(60s)", "const(1m)"},
        {"1.5s", "const(1500ms)"},
        {"7ns", "const(7ns)"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        SimDist d = dist(cases[i].text);
        g_autofree char *s = sim_dist_format(&d);
        ck_assert_str_eq(s, cases[i].canonical);
        SimDist back = dist(s);
        ck_assert_int_eq(back.kind, d.kind);
        ck_assert_int_eq(back.mean, d.mean);
        ck_assert_double_eq(back.sigma, d.sigma);
        ck_assert_int_eq(back.spread, d.spread);
    }
    /* Any sigma survives the text form bit for bit. */
    SimRng rng;
    sim_rng_seed(&rng, 3, "dist_format_round_trip", 0);
    for (int i = 0; i < 1000; i++) {
        SimDist d = {.kind = SIM_DIST_LOGNORMAL,
                     .mean = (SimTime)sim_rng_below(&rng, 1000000000) + 1,
                     .sigma = sim_rng_uniform(&rng) * 3};
        g_autofree char *s = sim_dist_format(&d);
        SimDist back = dist(s);
        ck_assert_int_eq(back.mean, d.mean);
        ck_assert_msg(back.sigma == d.sigma, "%s: %.17g != %.17g", s, back.sigma, d.sigma);
    }
}
END_TEST

/* Draws per sampling test. With n = 200000 the standard error of a sample
 * mean is sd / 447; tolerances of 5 standard errors make a false failure
 * essentially impossible (p < 1e-6), while the mistakes they guard against
 * (using the median as the mean, a wrong mu, truncating instead of rounding)
 * shift the mean by far more than that. Seeds are fixed, so runs repeat. */
#define DRAWS 200000

typedef struct {
    double mean;
    SimTime min, max;
} Sampled;

static Sampled sample(const SimDist *d, const char *stream, double below, double *frac_below)
{
    SimRng rng;
    sim_rng_seed(&rng, 11, stream, 0);
    Sampled s = {0, INT64_MAX, INT64_MIN};
    long n_below = 0;
    for (int i = 0; i < DRAWS; i++) {
        SimTime t = sim_dist_sample(d, &rng);
        s.mean += (double)t;
        s.min = MIN(s.min, t);
        s.max = MAX(s.max, t);
        if ((double)t < below)
            n_below++;
    }
    s.mean /= DRAWS;
    if (frac_below)
        *frac_below = (double)n_below / DRAWS;
    return s;
}

/* 5 standard errors of a proportion p over DRAWS trials. */
static double prop_tol(double p)
{
    return 5 * sqrt(p * (1 - p) / DRAWS);
}

START_TEST(sample_const)
{
    SimDist d = dist("const(250ms)");
    Sampled s = sample(&d, "const", 0, NULL);
    ck_assert_int_eq(s.min, 250 * SIM_MS);
    ck_assert_int_eq(s.max, 250 * SIM_MS);
}
END_TEST

START_TEST(sample_exp)
{
    SimDist d = dist("exp(200ms)");
    double m = 200e6, frac;
    Sampled s = sample(&d, "exp", m, &frac);
    /* sd of an exponential equals its mean. */
    ck_assert_double_eq_tol(s.mean, m, 5 * m / sqrt(DRAWS));
    /* Shape: P(X < mean) = 1 - 1/e for an exponential (0.5 if symmetric). */
    ck_assert_double_eq_tol(frac, 1 - exp(-1), prop_tol(1 - exp(-1)));
    ck_assert_int_ge(s.min, 0);

    /* At 1 ns the rounding shows: E[round(X)] = sum_k P(X >= k - 1/2)
     * = e^(1/2) / (e - 1) ~ 0.9595, while truncation would give 1/(e - 1)
     * ~ 0.582. sd of round(X) is about 1.04; allow 5 * 1.1 / sqrt(n). */
    SimDist tiny = dist("exp(1ns)");
    Sampled t = sample(&tiny, "exp-1ns", 0, NULL);
    ck_assert_double_eq_tol(t.mean, exp(0.5) / (exp(1) - 1), 5 * 1.1 / sqrt(DRAWS));
}
END_TEST

START_TEST(sample_lognormal)
{
    const double sigmas[] = {0.5, 1.0};
    for (size_t i = 0; i < G_N_ELEMENTS(sigmas); i++) {
        double m = 200e6, sigma = sigmas[i], frac;
        SimDist d = {.kind = SIM_DIST_LOGNORMAL, .mean = 200 * SIM_MS, .sigma = sigma};
        /* The median of a lognormal with this mean is m * exp(-sigma^2/2). */
        double median = m * exp(-sigma * sigma / 2);
        Sampled s = sample(&d, "lognormal", median, &frac);
        /* sd = m * sqrt(exp(sigma^2) - 1). Treating m as the median would
         * give a mean of m * exp(sigma^2/2), 13% or 65% too high. */
        double sd = m * sqrt(exp(sigma * sigma) - 1);
        ck_assert_double_eq_tol(s.mean, m, 5 * sd / sqrt(DRAWS));
        ck_assert_double_eq_tol(frac, 0.5, prop_tol(0.5));
        ck_assert_int_gt(s.min, 0);
    }
    /* sigma 0 degenerates to the constant. */
    SimDist flat = dist("lognormal(300ms, 0)");
    Sampled f = sample(&flat, "lognormal0", 0, NULL);
    ck_assert_int_eq(f.min, 300 * SIM_MS);
    ck_assert_int_eq(f.max, 300 * SIM_MS);
    /* A zero mean gives zero, not NaN garbage. */
    SimDist zero = dist("lognormal(0s, 1)");
    Sampled z = sample(&zero, "lognormal-zero", 0, NULL);
    ck_assert_int_eq(z.min, 0);
    ck_assert_int_eq(z.max, 0);
}
END_TEST

START_TEST(sample_uniform)
{
    SimDist d = dist("uniform(1s, 500ms)");
    double frac;
    Sampled s = sample(&d, "uniform", 750e6, &frac);
    /* sd of a uniform of half-width w is w / sqrt(3). */
    ck_assert_double_eq_tol(s.mean, 1e9, 5 * (500e6 / sqrt(3)) / sqrt(DRAWS));
    ck_assert_int_ge(s.min, 500 * SIM_MS);
    ck_assert_int_le(s.max, 1500 * SIM_MS);
    /* Both ends are reached: P(no draw in a 1% edge) = 0.99^200000 ~ 0. */
    ck_assert_int_lt(s.min, 510 * SIM_MS);
    ck_assert_int_gt(s.max, 1490 * SIM_MS);
    /* Flat: a quarter of the mass lies below mean - w/2. */
    ck_assert_double_eq_tol(frac, 0.25, prop_tol(0.25));

    /* spread == mean reaches down to 0 but never below. */
    SimDist full = dist("uniform(10ns, 10ns)");
    Sampled f = sample(&full, "uniform-full", 0, NULL);
    ck_assert_int_eq(f.min, 0);
    ck_assert_int_eq(f.max, 20);
}
END_TEST

/* ---- schedules ---- */

START_TEST(schedule_good)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
    ck_assert(sim_parse_schedule("0s 200/s, 10m 200/s, 10m 2000/s, 15m 2000/s, 15m 200/s", a,
                                 &err));
    ck_assert_uint_eq(a->len, 5);
    const SimTime at[] = {0, 600 * SIM_S, 600 * SIM_S, 900 * SIM_S, 900 * SIM_S};
    const double rate_at[] = {200, 200, 2000, 2000, 200};
    for (guint i = 0; i < 5; i++) {
        ck_assert_int_eq(g_array_index(a, SimSchedulePoint, i).at, at[i]);
        ck_assert_double_eq(g_array_index(a, SimSchedulePoint, i).rate, rate_at[i]);
    }
    g_array_set_size(a, 0);
    ck_assert(sim_parse_schedule("  0\t 1.5k/m  ", a, &err));
    ck_assert_uint_eq(a->len, 1);
    ck_assert_int_eq(g_array_index(a, SimSchedulePoint, 0).at, 0);
    ck_assert_double_eq(g_array_index(a, SimSchedulePoint, 0).rate, 25);
}
END_TEST

START_TEST(schedule_errors)
{
    GError *err = NULL;
    g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
    ck_assert(sim_parse_schedule("0s 1/s", a, &err));

    ck_assert(!sim_parse_schedule("", a, &err));
    check_error(&err, "expected a schedule such as", "at least one point", NULL);
    ck_assert(!sim_parse_schedule("1m 200/s", a, &err));
    check_error(&err, "start at 0s", "'1m 200/s'", NULL);
    ck_assert(!sim_parse_schedule("0s 200/s, 10m 100/s, 5m 100/s", a, &err));
    check_error(&err, "backwards", "'5m 100/s'", "10m", NULL);
    ck_assert(!sim_parse_schedule("0s 200/s 5", a, &err));
    check_error(&err, "TIME RATE", "'0s 200/s 5'", NULL);
    ck_assert(!sim_parse_schedule("0s", a, &err));
    check_error(&err, "TIME RATE", NULL);
    ck_assert(!sim_parse_schedule("0s 200/s,", a, &err));
    check_error(&err, "empty item", NULL);
    ck_assert(!sim_parse_schedule("0s 200", a, &err));
    check_error(&err, "schedule point '0s 200'", "expected a rate", NULL);
    ck_assert(!sim_parse_schedule("0s 200/s, 5x 1/s", a, &err));
    check_error(&err, "schedule point '5x 1/s'", "unknown unit 'x'", NULL);
    ck_assert(!sim_parse_schedule("0s 200/s, 1m -1/s", a, &err));
    check_error(&err, "negative", NULL);
    /* Failures leave earlier content alone. */
    ck_assert_uint_eq(a->len, 1);
    ck_assert_double_eq(g_array_index(a, SimSchedulePoint, 0).rate, 1);
}
END_TEST

static Suite *values_suite(void)
{
    Suite *s = suite_create("values");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, duration_units);
    tcase_add_test(tc, duration_decimals);
    tcase_add_test(tc, duration_limits);
    tcase_add_test(tc, duration_errors);
    tcase_add_test(tc, duration_format);
    tcase_add_test(tc, duration_round_trip);
    tcase_add_test(tc, rate_good);
    tcase_add_test(tc, rate_errors);
    tcase_add_test(tc, int_good);
    tcase_add_test(tc, int_errors);
    tcase_add_test(tc, float_good_and_bad);
    tcase_add_test(tc, bool_good_and_bad);
    tcase_add_test(tc, range_good);
    tcase_add_test(tc, range_errors);
    tcase_add_test(tc, range_list);
    tcase_add_test(tc, address_parse_and_format);
    tcase_add_test(tc, address_compare_and_loopback);
    tcase_add_test(tc, address_list_good);
    tcase_add_test(tc, address_list_partial_byte_block);
    tcase_add_test(tc, address_list_limits);
    tcase_add_test(tc, address_list_errors);
    tcase_add_test(tc, dist_parse_good);
    tcase_add_test(tc, dist_parse_errors);
    tcase_add_test(tc, dist_format_round_trip);
    tcase_add_test(tc, schedule_good);
    tcase_add_test(tc, schedule_errors);
    suite_add_tcase(s, tc);

    TCase *sampling = tcase_create("sampling");
    tcase_add_test(sampling, sample_const);
    tcase_add_test(sampling, sample_exp);
    tcase_add_test(sampling, sample_lognormal);
    tcase_add_test(sampling, sample_uniform);
    suite_add_tcase(s, sampling);
    return s;
}

PS_TEST_MAIN(values_suite)
