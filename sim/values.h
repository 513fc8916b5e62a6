/* Parsers for the value syntax of scenario files (see DESIGN.md, "Units").
 *
 * Every parser accepts surrounding white space, rejects trailing garbage, and
 * on failure sets a SIM_ERROR_INPUT error whose message says what was
 * expected with an example, e.g. "expected a duration such as 60s, 250ms,
 * 2m or 1h, got '60 parsecs'". Messages never name file, line or key: the
 * caller prefixes those. */
#ifndef SIM_VALUES_H
#define SIM_VALUES_H

#include <glib.h>
#include <stdint.h>
#include "rng.h"
#include "sim_time.h"

/* "60s", "250ms", "2m", "1h", "1d", "500us", "100ns", "1.5s", "0".
 * A bare number other than 0 is refused (units are mandatory). >= 0. */
gboolean sim_parse_duration(const char *text, SimTime *out, GError **error);

/* "500/s", "30k/s", "1.5k/s", "2M/s", "120/m", "3600/h", "0/s"; per second. */
gboolean sim_parse_rate(const char *text, double *per_second, GError **error);

/* Signed 64-bit integer with an optional k, M or G suffix (x1e3, x1e6, x1e9),
 * e.g. "64", "10k". */
gboolean sim_parse_int(const char *text, int64_t *out, GError **error);
gboolean sim_parse_float(const char *text, double *out, GError **error);
/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
gboolean sim_parse_bool(const char *text, gboolean *out, GError **error);

/* "32768-60999" or a single "443" (lo == hi); lo <= hi, both within
 * [min, max]. */
gboolean sim_parse_range(const char *text, int64_t min, int64_t max, int64_t *lo, int64_t *hi,
                         GError **error);

typedef struct {
    int64_t lo, hi;
} SimRange;

/* Comma-separated ranges, "443, 8443, 9000-9010" -> GArray of SimRange,
 * each within [min, max]. An empty text gives an empty array. */
gboolean sim_parse_range_list(const char *text, int64_t min, int64_t max, GArray *out,
                              GError **error);

/* An IPv4 or IPv6 address in network byte order. */
typedef struct {
    uint8_t family; /* 4 or 6 */
    uint8_t bytes[16];
} SimAddress;

#define SIM_ADDRESS_STRLEN 46

gboolean sim_parse_address(const char *text, SimAddress *out, GError **error);
/* Writes the canonical text form into buf (SIM_ADDRESS_STRLEN bytes). */
const char *sim_address_format(const SimAddress *a, char *buf);
int sim_address_compare(const SimAddress *a, const SimAddress *b);
/* Loopback: 127.0.0.0/8 or ::1. */
gboolean sim_address_is_loopback(const SimAddress *a);

/* Comma-separated items, each an address, a range "10.0.0.1-10.0.0.8" or a
 * CIDR block "10.0.0.0/29" (every address of the block, network and
 * broadcast included). Appends SimAddress values to out. Refuses, before
 * allocating, anything that would make the list longer than max_count. */
gboolean sim_parse_address_list(const char *text, guint64 max_count, GArray *out,
                                GError **error);

/* Distributions. The first parameter is always the mean, so planners can
 * reason in means: const(1s), exp(200ms), lognormal(200ms, 1.0) (sigma of
 * the underlying normal), uniform(1s, 500ms) (mean 1 s, values spread
 * +-500 ms around it; the spread may not exceed the mean). A bare duration
 * "100ms" means const(100ms). */
typedef enum {
    SIM_DIST_CONST,
    SIM_DIST_EXP,
    SIM_DIST_LOGNORMAL,
    SIM_DIST_UNIFORM,
} SimDistKind;

typedef struct {
    SimDistKind kind;
    SimTime mean;
    double sigma;   /* lognormal */
    SimTime spread; /* uniform half-width */
} SimDist;

gboolean sim_parse_distribution(const char *text, SimDist *out, GError **error);
/* A draw, rounded to whole nanoseconds, never negative. */
SimTime sim_dist_sample(const SimDist *d, SimRng *rng);
/* Canonical text, e.g. "lognormal(200ms, 1)"; caller frees. */
char *sim_dist_format(const SimDist *d);

/* Format a duration compactly ("60s", "250ms", "1m30s" is NOT produced:
 * the largest unit that divides it exactly is used, else ns). Caller frees. */
char *sim_duration_format(SimTime t);

/* A piecewise-linear rate over time: "0s 200/s, 10m 200/s, 10m 2000/s".
 * Points are (time, rate) with non-decreasing times (equal times make a step)
 * and the first time 0. Appends SimSchedulePoint values to out. */
typedef struct {
    SimTime at;
    double rate; /* per second */
} SimSchedulePoint;

gboolean sim_parse_schedule(const char *text, GArray *out, GError **error);

#endif
