#include "terminal_summary.h"

#include "report.h"

#include <math.h>
#include <string.h>

/* One formatting for the terminal and the report. */
char *cli_format_seconds(double s) { return ps_report_when(s); }

char *cli_format_count(gint64 n) { return ps_report_count(n); }

static gint64 member_int(JsonObject *o, const char *name)
{
    return json_object_has_member(o, name) ? json_object_get_int_member(o, name) : 0;
}

static double member_double(JsonObject *o, const char *name)
{
    if (!json_object_has_member(o, name) || json_object_get_null_member(o, name))
        return NAN;
    return json_object_get_double_member(o, name);
}

/* "512,345 EADDRNOTAVAIL" or "0". */
static char *failures_text(JsonObject *o)
{
    gint64 failures = member_int(o, "failures");
    g_autofree char *count = cli_format_count(failures);
    if (failures == 0)
        return g_strdup("0");
    JsonObject *reasons = json_object_get_object_member(o, "failures_by_reason");
    GString *s = g_string_new(count);
    GList *names = json_object_get_members(reasons);
    const char *sep = " ";
    for (GList *l = names; l; l = l->next)
        if (json_object_get_int_member(reasons, l->data) > 0) {
            g_string_append_printf(s, "%s%s", sep, (const char *)l->data);
            sep = "+";
        }
    g_list_free(names);
    return g_string_free(s, FALSE);
}

GString *cli_terminal_summary(JsonNode *summary)
{
    JsonObject *root = json_node_get_object(summary);
    GString *out = g_string_new(NULL);
    double duration = member_double(root, "duration_s");
    g_autofree char *dur = cli_format_seconds(duration);
    g_autofree char *events = cli_format_count(member_int(root, "events"));
    g_string_append_printf(out, "%s: %s simulated, seed %lld, %s events%s\n\n",
                           json_object_get_string_member(root, "scenario"), dur,
                           (long long)member_int(root, "seed"), events,
                           json_object_get_boolean_member(root, "complete")
                               ? ""
                               : " (INTERRUPTED: partial results)");
    g_string_append_printf(out, "  %-28s %9s %17s %13s %26s %10s %10s\n", "host pool", "capacity",
                           "peak ports in use", "first failure", "failed attempts", "offered/s",
                           "carried/s");

    JsonArray *hosts = json_object_get_array_member(root, "hosts");
    for (guint h = 0; h < json_array_get_length(hosts); h++) {
        JsonObject *host = json_array_get_object_element(hosts, h);
        JsonArray *pools = json_object_get_array_member(host, "pools");
        for (guint p = 0; p < json_array_get_length(pools); p++) {
            JsonObject *pool = json_array_get_object_element(pools, p);
            g_autofree char *label = g_strdup_printf(
                "%s %s", json_object_get_string_member(host, "name"),
                json_object_get_string_member(pool, "address"));
            gint64 capacity = member_int(pool, "capacity_ports");
            gint64 peak = member_int(pool, "peak_ports_in_use");
            double util = member_double(pool, "peak_port_utilization");
            double first = member_double(pool, "first_failure_s");
            g_autofree char *cap_s = cli_format_count(capacity);
            g_autofree char *peak_s = cli_format_count(peak);
            g_autofree char *peak_col = g_strdup_printf("%s (%.1f%%)", peak_s, 100.0 * util);
            g_autofree char *first_s = isnan(first) ? g_strdup("none") : cli_format_seconds(first);
            g_autofree char *fail_s = failures_text(pool);
            g_string_append_printf(out, "  %-28s %9s %17s %13s %26s %10.1f %10.1f\n", label,
                                   cap_s, peak_col, first_s, fail_s,
                                   member_double(pool, "offered_per_s"),
                                   member_double(pool, "carried_per_s"));
        }
    }

    /* NAT boxes: their external ports, and the SYNs they dropped. */
    JsonArray *nats = json_object_has_member(root, "nats")
                          ? json_object_get_array_member(root, "nats")
                          : NULL;
    if (nats && json_array_get_length(nats) > 0)
        g_string_append_printf(out, "\n  %-28s %9s %17s %13s %26s %10s %10s\n", "nat",
                               "ports", "peak ports in use", "first drop", "dropped SYNs/queries",
                               "ETIMEDOUT", "late ok");
    for (guint i = 0; nats && i < json_array_get_length(nats); i++) {
        JsonObject *n = json_array_get_object_element(nats, i);
        gint64 cap = member_int(n, "capacity_ports"), peak = member_int(n, "peak_ports_in_use");
        g_autofree char *cap_s = cli_format_count(cap);
        g_autofree char *peak_s = cli_format_count(peak);
        g_autofree char *peak_col =
            g_strdup_printf("%s (%.1f%%)", peak_s, cap > 0 ? 100.0 * peak / cap : 0.0);
        double first = member_double(n, "first_drop_s");
        g_autofree char *first_s = isnan(first) ? g_strdup("none") : cli_format_seconds(first);
        /* The drop count and its main reason. */
        JsonObject *reasons = json_object_get_object_member(n, "drops_by_reason");
        const char *main_reason = NULL;
        gint64 most = 0;
        GList *names = json_object_get_members(reasons);
        for (GList *l = names; l; l = l->next)
            if (json_object_get_int_member(reasons, l->data) > most) {
                most = json_object_get_int_member(reasons, l->data);
                main_reason = l->data;
            }
        g_autofree char *drops = cli_format_count(member_int(n, "drops"));
        g_autofree char *drop_col =
            main_reason ? g_strdup_printf("%s %s", drops, main_reason) : g_strdup(drops);
        g_list_free(names);
        g_autofree char *label = g_strdup_printf("%s (%" G_GINT64_FORMAT " address%s)",
                                                 json_object_get_string_member(n, "name"),
                                                 member_int(n, "addresses"),
                                                 member_int(n, "addresses") == 1 ? "" : "es");
        g_autofree char *tmo = cli_format_count(member_int(n, "client_etimedout"));
        g_autofree char *late = cli_format_count(member_int(n, "client_late_successes"));
        g_string_append_printf(out, "  %-28s %9s %17s %13s %26s %10s %10s\n", label, cap_s,
                               peak_col, first_s, drop_col, tmo, late);
    }

    /* The same sentence as report.html's. */
    g_autofree char *verdict = ps_report_verdict(summary);
    g_string_append_printf(out, "\nVerdict: %s\n", verdict);
    return out;
}
