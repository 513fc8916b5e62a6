/* report.html of a sweep, from sweep.json and the sweep's plots. */
#include <math.h>

#include "html.h"
#include "report.h"

static double num(JsonObject *o, const char *name)
{
    if (!o || !json_object_has_member(o, name) || json_object_get_null_member(o, name))
        return NAN;
    return json_object_get_double_member(o, name);
}

static char *fmt(double v, const char *format)
{
    return isnan(v) ? g_strdup("-") : g_strdup_printf(format, v);
}

/* "crosses 0.1% at workload.w.rate = 3.03 (95% interval 2.53 to 3.14)" */
static char *knee_sentence(JsonObject *root, const char *key, gboolean *failing)
{
    JsonObject *knee = json_object_get_object_member(root, "knee");
    double threshold = num(knee, "threshold");
    JsonArray *curves = json_object_get_array_member(knee, "curves");
    GString *s = g_string_new(NULL);
    *failing = FALSE;
    for (guint c = 0; c < json_array_get_length(curves); c++) {
        JsonObject *k = json_array_get_object_element(curves, c);
        if (c > 0)
            g_string_append(s, " ");
        if (json_object_get_boolean_member(k, "above_at_first_point")) {
            *failing = TRUE;
            g_string_append_printf(s, "The failure ratio is above %g%% already at the first "
                                      "value of %s.",
                                   100 * threshold, key);
        } else if (json_object_get_boolean_member(k, "found")) {
            *failing = TRUE;
            double x = num(k, key), lo = num(k, "ci95_low"), hi = num(k, "ci95_high");
            if (isnan(x))
                g_string_append_printf(s, "The failure ratio crosses %g%% within the range of %s.",
                                       100 * threshold, key);
            else
                g_string_append_printf(s, "The failure ratio crosses %g%% at %s = %.4g "
                                          "(95%% interval %.4g to %.4g).",
                                       100 * threshold, key, x, lo, hi);
        } else {
            g_string_append_printf(s, "The failure ratio stays below %g%% at every value of %s.",
                                   100 * threshold, key);
        }
    }
    return g_string_free(s, FALSE);
}

static char *point_table(JsonObject *root)
{
    JsonArray *vary = json_object_get_array_member(root, "vary");
    gboolean erlang = json_object_get_boolean_member(root, "single_pool_loss_system");
    GString *t = g_string_new("<table>\n<caption>Means over replications, with the half-width "
                              "of their 95% interval.</caption>\n<thead><tr>");
    for (guint k = 0; k < json_array_get_length(vary); k++) {
        g_autofree char *key = ps_html_escape(json_array_get_string_element(vary, k));
        g_string_append_printf(t, "<th scope=\"col\">%s</th>", key);
    }
    const char *heads[] = {"Replications", "Failure ratio", "Erlang B", "First failure (s)",
                           "Peak use", "Carried /s", "Offered /s"};
    for (guint i = 0; i < G_N_ELEMENTS(heads); i++)
        if (i != 2 || erlang)
            g_string_append_printf(t, "<th scope=\"col\">%s</th>", heads[i]);
    g_string_append(t, "</tr></thead>\n<tbody>\n");
    JsonArray *points = json_object_get_array_member(root, "points");
    for (guint p = 0; p < json_array_get_length(points); p++) {
        JsonObject *pt = json_array_get_object_element(points, p);
        JsonObject *values = json_object_get_object_member(pt, "values");
        g_string_append(t, "<tr>");
        for (guint k = 0; k < json_array_get_length(vary); k++) {
            const char *key = json_array_get_string_element(vary, k);
            ps_html_cell(t, k == 0 ? "th" : "td", json_object_get_string_member(values, key));
        }
        g_autofree char *reps =
            g_strdup_printf("%" G_GINT64_FORMAT, json_object_get_int_member(pt, "replications"));
        JsonObject *fr = json_object_get_object_member(pt, "failure_ratio");
        g_autofree char *ratio = g_strdup_printf("%.4f%% ± %.4f%%", 100 * num(fr, "mean"),
                                                 100 * num(fr, "ci95"));
        g_autofree char *eb = fmt(100 * num(pt, "erlang_b"), "%.4f%%");
        g_autofree char *first = fmt(num(json_object_get_object_member(pt, "first_failure_s"),
                                         "mean"), "%.1f");
        g_autofree char *peak = fmt(
            100 * num(json_object_get_object_member(pt, "peak_utilization"), "mean"), "%.1f%%");
        g_autofree char *car =
            fmt(num(json_object_get_object_member(pt, "carried_per_s"), "mean"), "%.2f");
        g_autofree char *off =
            fmt(num(json_object_get_object_member(pt, "offered_per_s"), "mean"), "%.2f");
        ps_html_cell(t, "td", reps);
        ps_html_cell(t, "td", ratio);
        if (erlang)
            ps_html_cell(t, "td", eb);
        ps_html_cell(t, "td", first);
        ps_html_cell(t, "td", peak);
        ps_html_cell(t, "td", car);
        ps_html_cell(t, "td", off);
        g_string_append(t, "</tr>\n");
    }
    g_string_append(t, "</tbody>\n</table>");
    return g_string_free(t, FALSE);
}

static char *plots_html(const PsSweepReport *r, const char *key, gboolean erlang)
{
    static const struct {
        const char *file, *what;
    } plots[] = {
        {"failure_ratio.svg", "Failure ratio"},
        {"first_failure_s.svg", "Time of the first failure"},
        {"peak_utilization.svg", "Peak port utilization"},
    };
    GString *html = g_string_new(NULL);
    for (guint i = 0; r->plot_dir && i < G_N_ELEMENTS(plots); i++) {
        g_autofree char *path = g_build_filename(r->plot_dir, plots[i].file, NULL);
        g_autofree char *svg = NULL;
        gsize len = 0;
        if (!g_file_get_contents(path, &svg, &len, NULL))
            continue;
        g_autofree char *alt = g_strdup_printf(
            "%s against %s: mean over replications with 95%% interval bars%s.", plots[i].what,
            key, i == 0 ? (erlang ? ", the Erlang B curve and the knee" : " and the knee") : "");
        g_autofree char *figure = ps_html_figure(svg, len, alt);
        g_string_append(html, figure);
    }
    if (html->len == 0)
        g_string_append(html, "<p>No plot was rendered (run without --no-plots, with gnuplot "
                              "installed).</p>");
    return g_string_free(html, FALSE);
}

gboolean ps_report_write_sweep(const char *path, const PsSweepReport *r, GError **error)
{
    JsonObject *root = json_node_get_object(r->sweep);
    JsonArray *vary = json_object_get_array_member(root, "vary");
    const char *key = json_array_get_length(vary) ? json_array_get_string_element(vary, 0) : "";
    gboolean erlang = json_object_get_boolean_member(root, "single_pool_loss_system");
    GHashTable *f = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_hash_table_insert(f, "title", ps_html_escape(json_object_get_string_member(root, "scenario")));
    g_hash_table_insert(f, "version", ps_html_escape(PORTSIM_VERSION));
    g_hash_table_insert(f, "style", ps_html_resource("style.css"));
    GString *sub = g_string_new("Varied: ");
    for (guint k = 0; k < json_array_get_length(vary); k++)
        g_string_append_printf(sub, "%s%s", k ? ", " : "", json_array_get_string_element(vary, k));
    g_string_append_printf(sub, "; %u points; %s.", json_array_get_length(json_object_get_array_member(root, "points")),
                           json_object_get_string_member(root, "confidence"));
    g_hash_table_insert(f, "subtitle", ps_html_escape(sub->str));
    g_string_free(sub, TRUE);
    gboolean failing;
    g_autofree char *verdict = knee_sentence(root, key, &failing);
    g_hash_table_insert(f, "verdict", ps_html_escape(verdict));
    g_hash_table_insert(f, "verdict_class", g_strdup(failing ? "failing" : "healthy"));
    g_hash_table_insert(f, "plots", plots_html(r, key, erlang));
    g_hash_table_insert(f, "point_table", point_table(root));
    g_hash_table_insert(f, "expect_first",
                        r->expect_broken ? ps_html_expect(r->expect_text, TRUE) : g_strdup(""));
    g_hash_table_insert(f, "expect_last",
                        r->expect_broken ? g_strdup("") : ps_html_expect(r->expect_text, FALSE));
    g_hash_table_insert(f, "command", ps_html_escape(r->command_line));
    g_hash_table_insert(f, "seed", g_strdup_printf("%" G_GINT64_FORMAT,
                                                   json_object_get_int_member(root, "seed")));
    return ps_html_write_page(path, "sweep.html", f, error);
}
