/* The verdict sentence, from summary.json's content. */
#include <math.h>
#include <string.h>

#include "report.h"

static double member_double(JsonObject *o, const char *name)
{
    if (!json_object_has_member(o, name) || json_object_get_null_member(o, name))
        return NAN;
    return json_object_get_double_member(o, name);
}

/* "10m09.0s", "59.8s": how long into the run. */
char *ps_report_when(double s)
{
    if (s < 60)
        return g_strdup_printf("%.1fs", s);
    if (s < 3600)
        return g_strdup_printf("%dm%04.1fs", (int)(s / 60), fmod(s, 60));
    return g_strdup_printf("%dh%02dm%02ds", (int)(s / 3600), (int)fmod(s / 60, 60),
                           (int)fmod(s, 60));
}

char *ps_report_count(gint64 n)
{
    char digits[32];
    g_snprintf(digits, sizeof digits, "%" G_GINT64_FORMAT, n < 0 ? -n : n);
    GString *out = g_string_new(n < 0 ? "-" : "");
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            g_string_append_c(out, ',');
        g_string_append_c(out, digits[i]);
    }
    return g_string_free(out, FALSE);
}

/* A NAT box that dropped SYNs before any host failed: the verdict names it
 * (the clients only see ETIMEDOUT later, after their retransmissions). */
static char *nat_verdict(JsonObject *root, double host_first)
{
    if (!json_object_has_member(root, "nats"))
        return NULL;
    JsonArray *nats = json_object_get_array_member(root, "nats");
    JsonObject *worst = NULL;
    double first = host_first;
    for (guint i = 0; i < json_array_get_length(nats); i++) {
        JsonObject *n = json_array_get_object_element(nats, i);
        double f = member_double(n, "first_drop_s");
        if (!isnan(f) && f <= first) {
            first = f;
            worst = n;
        }
    }
    if (!worst)
        return NULL;
    JsonObject *reasons = json_object_get_object_member(worst, "drops_by_reason");
    const char *reason = "no_free_port";
    gint64 most = -1;
    GList *names = json_object_get_members(reasons);
    for (GList *l = names; l; l = l->next)
        if (json_object_get_int_member(reasons, l->data) > most) {
            most = json_object_get_int_member(reasons, l->data);
            reason = l->data;
        }
    g_autofree char *reason_text = g_strdelimit(g_strdup(reason), "_", ' ');
    g_list_free(names);
    JsonObject *overall = json_object_get_object_member(root, "overall");
    g_autofree char *t = ps_report_when(first);
    g_autofree char *drops = ps_report_count(json_object_get_int_member(worst, "drops"));
    g_autofree char *attempts = ps_report_count(json_object_get_int_member(overall, "attempts"));
    g_autofree char *timedout =
        ps_report_count(json_object_get_int_member(worst, "client_etimedout"));
    g_autofree char *late =
        ps_report_count(json_object_get_int_member(worst, "client_late_successes"));
    return g_strdup_printf("NAT drops start at %s: NAT %s had no mapping to give a SYN or query (%s "
                           "mostly; %s drops, %s ETIMEDOUT at the clients, %s late successes "
                           "after a retransmission); %.2f%% of %s attempts failed.",
                           t, json_object_get_string_member(worst, "name"), reason_text, drops,
                           timedout, late, 100.0 * member_double(overall, "failure_ratio"),
                           attempts);
}

char *ps_report_verdict(JsonNode *summary)
{
    JsonObject *root = json_node_get_object(summary);
    JsonArray *hosts = json_object_get_array_member(root, "hosts");
    const char *worst_host = NULL, *worst_addr = NULL;
    double first = INFINITY, busiest = 0;
    gint64 capacity = 0, dests = 0;
    gboolean worst_out_of_ports = FALSE;
    for (guint h = 0; h < json_array_get_length(hosts); h++) {
        JsonObject *host = json_array_get_object_element(hosts, h);
        JsonArray *pools = json_object_get_array_member(host, "pools");
        for (guint p = 0; p < json_array_get_length(pools); p++) {
            JsonObject *pool = json_array_get_object_element(pools, p);
            double f = member_double(pool, "first_failure_s");
            double util = member_double(pool, "peak_port_utilization");
            if (!isnan(util) && util > busiest)
                busiest = util;
            /* A pool that ran out of ports explains a failure; one whose
             * failures were timeouts or refusals (a proxy's clients) is the
             * answer only when no pool ran out. */
            JsonObject *why = json_object_get_object_member(pool, "failures_by_reason");
            gboolean out_of_ports = json_object_get_int_member(why, "EADDRNOTAVAIL") +
                                        json_object_get_int_member(why, "EADDRINUSE") >
                                    0;
            if (!isnan(f) && (out_of_ports > worst_out_of_ports ||
                              (out_of_ports == worst_out_of_ports && f < first))) {
                worst_out_of_ports = out_of_ports;
                first = f;
                worst_host = json_object_get_string_member(host, "name");
                worst_addr = json_object_get_string_member(pool, "address");
                capacity = json_object_get_int_member(pool, "capacity_ports");
                dests = json_object_get_int_member(pool, "destinations");
            }
        }
    }
    JsonObject *overall = json_object_get_object_member(root, "overall");
    gint64 attempts = json_object_get_int_member(overall, "attempts");
    double ratio = member_double(overall, "failure_ratio");
    g_autofree char *attempts_s = ps_report_count(attempts);
    g_autofree char *cap_s = ps_report_count(capacity);
    char *nat = nat_verdict(root, first);
    if (nat)
        return nat;
    if (worst_host && !worst_out_of_ports) {
        g_autofree char *t = ps_report_when(first);
        return g_strdup_printf(
            "Connections start failing at %s: host %s (%s) had ports, but its connections timed "
            "out or were refused (ETIMEDOUT, ECONNREFUSED: see failures_by_reason); %.2f%% of "
            "%s attempts failed.",
            t, worst_host, worst_addr, 100.0 * ratio, attempts_s);
    }
    if (worst_host) {
        g_autofree char *t = ps_report_when(first);
        return g_strdup_printf(
            "Connections start failing at %s: host %s (%s) had no free port, its %s ports "
            "toward %" G_GINT64_FORMAT " destination%s all in use or in TIME_WAIT; %.2f%% of %s "
            "attempts failed.",
            t, worst_host, worst_addr, cap_s, dests, dests == 1 ? "" : "s", 100.0 * ratio,
            attempts_s);
    }
    return g_strdup_printf("No connection failed in %s attempts; the busiest pool peaked at "
                           "%.1f%% of its ports (%.1f%% headroom).",
                           attempts_s, 100.0 * busiest, 100.0 * (1.0 - busiest));
}
