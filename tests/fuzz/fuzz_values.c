/* libFuzzer target: every value parser of sim/values.h. The first byte
 * picks the parser, the rest is the text. Parsers must accept or refuse
 * with a message, never crash; accepted values must keep their documented
 * bounds, and formatted durations and distributions must parse back to the
 * same value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused(GError *error)
{
    if (!error || !error->message || !error->message[0])
        abort();
    g_error_free(error);
}

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "broken: %s on '%s'\n", #cond, text);       \
            abort();                                                     \
        }                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = g_strndup((const char *)data + 1, size - 1);
    GError *error = NULL;
    switch (data[0] % 11) {
    case 0: {
        SimTime t;
        if (!sim_parse_duration(text, &t, &error)) {
            refused(error);
            break;
        }
        CHECK(t >= 0);
        char *f = sim_duration_format(t);
        SimTime back = -1;
        CHECK(sim_parse_duration(f, &back, NULL) && back == t);
        g_free(f);
        break;
    }
    case 1: {
        double r;
        if (sim_parse_rate(text, &r, &error))
            CHECK(r >= 0 && r == r);
        else
            refused(error);
        break;
    }
    case 2: {
        int64_t v;
        if (!sim_parse_int(text, &v, &error))
            refused(error);
        break;
    }
    case 3: {
        double v;
        if (!sim_parse_float(text, &v, &error))
            refused(error);
        break;
    }
    case 4: {
        gboolean b;
        if (!sim_parse_bool(text, &b, &error))
            refused(error);
        break;
    }
    case 5: {
        int64_t lo, hi;
        if (sim_parse_range(text, 1, 65535, &lo, &hi, &error))
            CHECK(1 <= lo && lo <= hi && hi <= 65535);
        else
            refused(error);
        break;
    }
    case 6: {
        GArray *a = g_array_new(FALSE, FALSE, sizeof(SimRange));
        if (sim_parse_range_list(text, 1, 65535, a, &error)) {
            for (guint i = 0; i < a->len; i++) {
                SimRange r = g_array_index(a, SimRange, i);
                CHECK(1 <= r.lo && r.lo <= r.hi && r.hi <= 65535);
            }
        } else {
            refused(error);
        }
        g_array_free(a, TRUE);
        break;
    }
    case 7: {
        SimAddress a;
        if (sim_parse_address(text, &a, &error)) {
            char buf[SIM_ADDRESS_STRLEN];
            SimAddress back;
            CHECK(sim_parse_address(sim_address_format(&a, buf), &back, NULL) &&
                  sim_address_compare(&a, &back) == 0);
        } else {
            refused(error);
        }
        break;
    }
    case 8: {
        GArray *a = g_array_new(FALSE, FALSE, sizeof(SimAddress));
        if (sim_parse_address_list(text, 65536, a, &error))
            CHECK(a->len <= 65536);
        else
            refused(error);
        g_array_free(a, TRUE);
        break;
    }
    case 9: {
        SimDist d;
        if (!sim_parse_distribution(text, &d, &error)) {
            refused(error);
            break;
        }
        CHECK(d.mean >= 0);
        char *f = sim_dist_format(&d);
        SimDist back;
        GError *e2 = NULL;
        if (!sim_parse_distribution(f, &back, &e2)) {
            fprintf(stderr, "'%s' formats as '%s', which does not parse: %s\n", text, f,
                    e2->message);
            abort();
        }
        CHECK(back.kind == d.kind && back.mean == d.mean);
        g_free(f);
        break;
    }
    case 10: {
        GArray *a = g_array_new(FALSE, FALSE, sizeof(SimSchedulePoint));
        if (sim_parse_schedule(text, a, &error)) {
            for (guint i = 0; i < a->len; i++) {
                const SimSchedulePoint *p = &g_array_index(a, SimSchedulePoint, i);
                CHECK(p->at >= 0 && p->rate >= 0);
                CHECK(i == 0 || p->at >= g_array_index(a, SimSchedulePoint, i - 1).at);
            }
        } else {
            refused(error);
        }
        g_array_free(a, TRUE);
        break;
    }
    }
    g_free(text);
    return 0;
}
