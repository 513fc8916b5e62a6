/* Members of a JSON object under construction, one call each: what every
 * summary writer (summary.c, lb.c, nat.c, explain) needs. */
#ifndef PS_JSON_MEMBERS_H
#define PS_JSON_MEMBERS_H

#include <json-glib/json-glib.h>
#include <math.h>

#include "sim_time.h"

static inline void ps_json_int(JsonBuilder *b, const char *member, gint64 v)
{
    json_builder_set_member_name(b, member);
    json_builder_add_int_value(b, v);
}

/* NaN and infinities are not JSON: null stands for "no value". */
static inline void ps_json_double(JsonBuilder *b, const char *member, double v)
{
    json_builder_set_member_name(b, member);
    if (isfinite(v))
        json_builder_add_double_value(b, v);
    else
        json_builder_add_null_value(b);
}

static inline void ps_json_string(JsonBuilder *b, const char *member, const char *v)
{
    json_builder_set_member_name(b, member);
    json_builder_add_string_value(b, v);
}

/* Seconds, or null for SIM_TIME_NEVER. */
static inline void ps_json_time(JsonBuilder *b, const char *member, SimTime t)
{
    json_builder_set_member_name(b, member);
    if (t == SIM_TIME_NEVER)
        json_builder_add_null_value(b);
    else
        json_builder_add_double_value(b, sim_time_to_seconds(t));
}

#endif
