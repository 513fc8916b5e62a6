/* Fills the run template (report/templates/run.html, compiled in as a
 * GResource) with escaped fragments built from the run's summary. The page
 * structure lives in the template; this file only makes its pieces. */
#include <math.h>
#include <string.h>

#include "html.h"
#include "report.h"

static double num(JsonObject *o, const char *name)
{
    if (!json_object_has_member(o, name) || json_object_get_null_member(o, name))
        return NAN;
    return json_object_get_double_member(o, name);
}

static char *seconds_text(double s)
{
    return isnan(s) ? g_strdup("none") : ps_report_when(s);
}

static char *count(JsonObject *o, const char *name)
{
    return ps_report_count(json_object_get_int_member(o, name));
}

static char *reasons_text(JsonObject *o)
{
    JsonObject *reasons = json_object_get_object_member(o, "failures_by_reason");
    GString *s = g_string_new(NULL);
    GList *names = json_object_get_members(reasons);
    for (GList *l = names; l; l = l->next) {
        gint64 n = json_object_get_int_member(reasons, l->data);
        if (n > 0) {
            g_autofree char *c = ps_report_count(n);
            g_string_append_printf(s, "%s%s %s", s->len ? ", " : "", (const char *)l->data, c);
        }
    }
    g_list_free(names);
    if (s->len == 0)
        g_string_append(s, "0");
    return g_string_free(s, FALSE);
}

/* NAT boxes: their ports, peak use and the SYNs or queries they dropped. */
static void nat_table(GString *t, JsonObject *root)
{
    JsonArray *nats =
        json_object_has_member(root, "nats") ? json_object_get_array_member(root, "nats") : NULL;
    if (!nats || json_array_get_length(nats) == 0)
        return;
    g_string_append(t, "\n<table>\n<caption>NAT boxes: a SYN or query they cannot map is "
                       "dropped; the client retransmits and then times out.</caption>\n"
                       "<thead><tr>");
    const char *heads[] = {"NAT", "Addresses", "Ports", "Peak in use", "Peak entries in TIME_WAIT",
                           "First drop", "Drops (by reason)", "Reclaimed", "Client ETIMEDOUT",
                           "Late successes"};
    for (guint i = 0; i < G_N_ELEMENTS(heads); i++)
        g_string_append_printf(t, "<th scope=\"col\">%s</th>", heads[i]);
    g_string_append(t, "</tr></thead>\n<tbody>\n");
    for (guint i = 0; i < json_array_get_length(nats); i++) {
        JsonObject *n = json_array_get_object_element(nats, i);
        g_string_append(t, "<tr>");
        g_autofree char *name = ps_html_escape(json_object_get_string_member(n, "name"));
        g_string_append_printf(t, "<th scope=\"row\">%s</th>", name);
        GString *drops = g_string_new(NULL);
        g_autofree char *total = count(n, "drops");
        g_string_append(drops, total);
        JsonObject *reasons = json_object_get_object_member(n, "drops_by_reason");
        GList *names = json_object_get_members(reasons);
        for (GList *l = names; l; l = l->next)
            if (json_object_get_int_member(reasons, l->data) > 0) {
                g_autofree char *c = count(reasons, l->data);
                g_string_append_printf(drops, " %s %s", (const char *)l->data, c);
            }
        g_list_free(names);
        g_autofree char *addrs = count(n, "addresses");
        g_autofree char *cap = count(n, "capacity_ports");
        g_autofree char *peak = count(n, "peak_ports_in_use");
        g_autofree char *tw = count(n, "peak_time_wait");
        g_autofree char *first = seconds_text(num(n, "first_drop_s"));
        g_autofree char *rec = count(n, "reclaimed");
        g_autofree char *tmo = count(n, "client_etimedout");
        g_autofree char *late = count(n, "client_late_successes");
        g_autofree char *drops_s = g_string_free(drops, FALSE);
        const char *cells[] = {addrs, cap, peak, tw, first, drops_s, rec, tmo, late};
        for (guint k = 0; k < G_N_ELEMENTS(cells); k++)
            ps_html_cell(t, "td", cells[k]);
        g_string_append(t, "</tr>\n");
    }
    g_string_append(t, "</tbody>\n</table>");
}

static char *pool_table(JsonObject *root)
{
    GString *t = g_string_new("<table>\n<caption>Each source address has its own pool of "
                              "ephemeral ports.</caption>\n<thead><tr>");
    const char *heads[] = {"Host", "Address", "Capacity (ports)", "Destinations", "Peak in use",
                           "Peak use", "First failure", "Failures", "Offered /s", "Carried /s",
                           "Mean probes"};
    for (guint i = 0; i < G_N_ELEMENTS(heads); i++)
        g_string_append_printf(t, "<th scope=\"col\">%s</th>", heads[i]);
    g_string_append(t, "</tr></thead>\n<tbody>\n");
    JsonArray *hosts = json_object_get_array_member(root, "hosts");
    for (guint h = 0; h < json_array_get_length(hosts); h++) {
        JsonObject *host = json_array_get_object_element(hosts, h);
        JsonArray *pools = json_object_get_array_member(host, "pools");
        for (guint p = 0; p < json_array_get_length(pools); p++) {
            JsonObject *pool = json_array_get_object_element(pools, p);
            g_string_append(t, "<tr>");
            g_autofree char *name = ps_html_escape(json_object_get_string_member(host, "name"));
            g_string_append_printf(t, "<th scope=\"row\">%s</th>", name);
            ps_html_cell(t, "td", json_object_get_string_member(pool, "address"));
            g_autofree char *cap = count(pool, "capacity_ports");
            g_autofree char *dst = count(pool, "destinations");
            g_autofree char *peak = count(pool, "peak_ports_in_use");
            g_autofree char *util = g_strdup_printf("%.1f%%", 100 * num(pool, "peak_port_utilization"));
            g_autofree char *first = seconds_text(num(pool, "first_failure_s"));
            g_autofree char *fails = reasons_text(pool);
            g_autofree char *off = g_strdup_printf("%.1f", num(pool, "offered_per_s"));
            g_autofree char *car = g_strdup_printf("%.1f", num(pool, "carried_per_s"));
            double probes = num(pool, "mean_probes_per_allocation");
            g_autofree char *pr = isnan(probes) ? g_strdup("-") : g_strdup_printf("%.1f", probes);
            const char *cells[] = {cap, dst, peak, util, first, fails, off, car, pr};
            for (guint i = 0; i < G_N_ELEMENTS(cells); i++)
                ps_html_cell(t, "td", cells[i]);
            g_string_append(t, "</tr>\n");
        }
    }
    g_string_append(t, "</tbody>\n</table>");
    nat_table(t, root);
    return g_string_free(t, FALSE);
}

static char *workload_table(JsonObject *root)
{
    GString *t = g_string_new("<table>\n<thead><tr>");
    const char *heads[] = {"Workload", "Host", "Target", "Attempts", "Successes", "Failures",
                           "Failure ratio", "First failure", "Offered /s", "Carried /s"};
    for (guint i = 0; i < G_N_ELEMENTS(heads); i++)
        g_string_append_printf(t, "<th scope=\"col\">%s</th>", heads[i]);
    g_string_append(t, "</tr></thead>\n<tbody>\n");
    JsonArray *wls = json_object_get_array_member(root, "workloads");
    for (guint i = 0; i < json_array_get_length(wls); i++) {
        JsonObject *w = json_array_get_object_element(wls, i);
        g_autofree char *name = ps_html_escape(json_object_get_string_member(w, "name"));
        g_string_append_printf(t, "<tr><th scope=\"row\">%s</th>", name);
        ps_html_cell(t, "td", json_object_get_string_member(w, "host"));
        ps_html_cell(t, "td", json_object_get_string_member(w, "target"));
        const char *counts[] = {"attempts", "successes", "failures"};
        for (guint c = 0; c < G_N_ELEMENTS(counts); c++) {
            g_autofree char *v = count(w, counts[c]);
            ps_html_cell(t, "td", v);
        }
        g_autofree char *ratio = g_strdup_printf("%.4f%%", 100 * num(w, "failure_ratio"));
        g_autofree char *first = seconds_text(num(w, "first_failure_s"));
        g_autofree char *off = g_strdup_printf("%.1f", num(w, "offered_per_s"));
        g_autofree char *car = g_strdup_printf("%.1f", num(w, "carried_per_s"));
        ps_html_cell(t, "td", ratio);
        ps_html_cell(t, "td", first);
        ps_html_cell(t, "td", off);
        ps_html_cell(t, "td", car);
        g_string_append(t, "</tr>\n");
    }
    g_string_append(t, "</tbody>\n</table>");
    return g_string_free(t, FALSE);
}

/* SVGs go in as data: URIs: the page stays one file, and several gnuplot
 * SVGs cannot clash over element ids. */
static char *plots_html(const PsRunReport *r, GError **error)
{
    GString *html = g_string_new(NULL);
    for (guint i = 0; i < r->n_plots; i++) {
        g_autofree char *svg = NULL;
        gsize len = 0;
        if (!g_file_get_contents(r->plots[i].path, &svg, &len, NULL))
            continue; /* a plot gnuplot could not render is reported elsewhere */
        g_autofree char *figure = ps_html_figure(svg, len, r->plots[i].alt_text);
        g_string_append(html, figure);
    }
    if (html->len == 0)
        g_string_append(html, "<p>No plot was rendered (run without --no-plots, with gnuplot "
                              "installed).</p>");
    (void)error;
    return g_string_free(html, FALSE);
}

gboolean ps_report_write_run(const char *path, const PsRunReport *r, GError **error)
{
    JsonObject *root = json_node_get_object(r->summary);
    GHashTable *f = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    const char *scenario = json_object_get_string_member(root, "scenario");
    g_hash_table_insert(f, "title", ps_html_escape(scenario));
    g_hash_table_insert(f, "version", ps_html_escape(json_object_get_string_member(root, "portsim_version")));
    g_hash_table_insert(f, "style", ps_html_resource("style.css"));
    if (r->description) {
        g_autofree char *d = ps_html_escape(r->description);
        g_hash_table_insert(f, "description", g_strdup_printf("<p class=\"description\">%s</p>", d));
    } else {
        g_hash_table_insert(f, "description", g_strdup(""));
    }
    g_autofree char *verdict = ps_report_verdict(r->summary);
    gboolean failing = json_object_get_int_member(json_object_get_object_member(root, "overall"),
                                                  "failures") > 0;
    g_hash_table_insert(f, "verdict", ps_html_escape(verdict));
    g_hash_table_insert(f, "verdict_class", g_strdup(failing ? "failing" : "healthy"));
    g_hash_table_insert(f, "pool_table", pool_table(root));
    g_hash_table_insert(f, "workload_table", workload_table(root));
    g_hash_table_insert(f, "plots", plots_html(r, error));
    if (r->limits_text) {
        g_autofree char *l = ps_html_escape(r->limits_text);
        g_hash_table_insert(f, "limits",
                            g_strdup_printf("<section aria-labelledby=\"h-limits\"><h2 "
                                            "id=\"h-limits\">Closed-form limits (portsim explain), beside the "
                                            "simulated figures above</h2><pre>%s</pre>"
                                            "</section>",
                                            l));
    } else {
        g_hash_table_insert(f, "limits", g_strdup(""));
    }
    g_hash_table_insert(f, "expect_first", r->expect_broken
                                               ? ps_html_expect(r->expect_text, TRUE)
                                               : g_strdup(""));
    g_hash_table_insert(f, "expect_last", r->expect_broken
                                              ? g_strdup("")
                                              : ps_html_expect(r->expect_text, FALSE));
    g_hash_table_insert(f, "scenario", ps_html_escape(r->effective_ini));
    g_hash_table_insert(f, "command", ps_html_escape(r->command_line));
    g_hash_table_insert(f, "seed", g_strdup_printf("%" G_GINT64_FORMAT,
                                                   json_object_get_int_member(root, "seed")));
    return ps_html_write_page(path, "run.html", f, error);
}
