/* Reading a trace CSV for arrival = trace (the format is in arrival.h). */
#include "arrival.h"

#include <string.h>

#include "sim_error.h"

/* "12.000000001" -> 12000000001 ns, exactly (a double would round past
 * 2^53 ns, about 104 days); or a duration with a unit. */
static gboolean parse_time(const char *text, SimTime *out)
{
    const char *p = text;
    if (!g_ascii_isdigit(*p) && *p != '.')
        return FALSE;
    gboolean has_unit = FALSE;
    for (const char *q = p; *q; q++)
        has_unit |= g_ascii_isalpha(*q);
    if (has_unit)
        return sim_parse_duration(text, out, NULL);
    SimTime whole = 0, frac = 0;
    int digits = 0;
    for (; g_ascii_isdigit(*p); p++) {
        if (whole > (INT64_MAX / SIM_S - 9) / 10)
            return FALSE;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; g_ascii_isdigit(*p); p++) {
            if (++digits > 9)
                return FALSE; /* finer than a nanosecond */
            frac = frac * 10 + (*p - '0');
        }
    }
    if (*p != '\0')
        return FALSE;
    for (; digits < 9; digits++)
        frac *= 10;
    *out = whole * SIM_S + frac;
    return TRUE;
}

GArray *ps_trace_csv_load(const char *path, GError **error)
{
    gchar *data = NULL;
    GError *io = NULL;
    if (!g_file_get_contents(path, &data, NULL, &io)) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "%s: cannot read the trace: %s", path,
                    io->message);
        g_error_free(io);
        return NULL;
    }
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(PsTraceRow));
    gchar **lines = g_strsplit(data, "\n", -1);
    g_free(data);
    gboolean seen_row = FALSE;
    for (guint i = 0; lines[i]; i++) {
        guint line = i + 1;
        char *text = g_strstrip(lines[i]);
        if (*text == '\0' || *text == '#')
            continue;
        if (!seen_row && rows->len == 0 && g_ascii_isalpha(*text)) {
            seen_row = TRUE; /* a header */
            continue;
        }
        seen_row = TRUE;
        gchar **f = g_strsplit(text, ",", -1);
        guint n = g_strv_length(f);
        for (guint k = 0; k < n; k++)
            g_strstrip(f[k]);
        PsTraceRow r = {.endpoint = -1, .hold = -1, .line = line};
        const char *bad = NULL;
        gint64 ep = 0;
        if (n > 3)
            bad = "too many fields (time[,destination[,hold]])";
        else if (!parse_time(f[0], &r.at))
            bad = "time: expected seconds (12.5, exact to 9 decimals) or a duration (250ms)";
        else if (n > 1 && *f[1] && (!sim_parse_int(f[1], &ep, NULL) || ep < 0 || ep > G_MAXINT32))
            bad = "destination: expected an index (0, 1, ...) into the target's endpoints";
        else if (n > 2 && *f[2] && !parse_time(f[2], &r.hold))
            bad = "hold: expected seconds or a duration";
        else if (rows->len > 0 && r.at < g_array_index(rows, PsTraceRow, rows->len - 1).at)
            bad = "times must not decrease";
        if (!bad && n > 1 && *f[1])
            r.endpoint = (gint32)ep;
        g_strfreev(f);
        if (bad) {
            g_set_error(error, SIM_ERROR, SIM_ERROR_INPUT, "%s:%u: %s", path, line, bad);
            g_strfreev(lines);
            g_array_free(rows, TRUE);
            return NULL;
        }
        g_array_append_val(rows, r);
    }
    g_strfreev(lines);
    return rows;
}
