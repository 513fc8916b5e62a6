/* report.html of `portsim compare`, from compare.json and its plots. */
#include <math.h>

#include "html.h"
#include "report.h"

static double num(JsonObject *o, const char *name)
{
    if (!json_object_has_member(o, name) || json_object_get_null_member(o, name))
        return NAN;
    return json_object_get_double_member(o, name);
}

static char *fmt(double v, const char *format)
{
    return isnan(v) ? g_strdup("none") : g_strdup_printf(format, v);
}

/* Which allocator lasts longest and which costs least. */
static char *verdict(JsonArray *rows, gboolean *failing)
{
    const char *latest = NULL, *cheapest = NULL;
    double latest_t = -1, cheapest_p = INFINITY, earliest_t = INFINITY;
    guint never = 0, n = json_array_get_length(rows);
    for (guint i = 0; i < n; i++) {
        JsonObject *r = json_array_get_object_element(rows, i);
        const char *name = json_object_get_string_member(r, "allocator");
        double t = num(r, "first_failure_s"), p = num(r, "mean_probes_per_allocation");
        if (isnan(t))
            never++;
        double key = isnan(t) ? INFINITY : t;
        earliest_t = MIN(earliest_t, key);
        if (key > latest_t) {
            latest_t = key;
            latest = name;
        }
        if (!isnan(p) && p < cheapest_p) {
            cheapest_p = p;
            cheapest = name;
        }
    }
    *failing = never < n;
    g_autofree char *last = isinf(latest_t) ? g_strdup("never fails")
                                            : ps_report_when(latest_t);
    if (never == n)
        return g_strdup_printf("No allocator failed; the cheapest was %s (%.1f probes per "
                               "allocation on average).",
                               cheapest ? cheapest : "-", cheapest_p);
    /* Within a millisecond: the pool's capacity, not the strategy, decides. */
    if (n > 1 && latest_t - earliest_t < 1e-3)
        return g_strdup_printf("Every allocator first fails at %s: capacity, not the strategy, "
                               "sets it. %s is the cheapest (%.1f probes per allocation on "
                               "average).",
                               last, cheapest ? cheapest : "-", cheapest_p);
    return g_strdup_printf("%s lasts longest (%s%s); %s is the cheapest (%.1f probes per "
                           "allocation on average).",
                           latest ? latest : "-", isinf(latest_t) ? "" : "first failure at ",
                           last, cheapest ? cheapest : "-", cheapest_p);
}

static char *table(JsonArray *rows)
{
    GString *t = g_string_new("<table>\n<thead><tr>");
    const char *heads[] = {"Allocator", "First failure", "Failure ratio", "Carried /s",
                           "Mean probes", "p99 probes", "Reuse median (s)",
                           "Reused within 60 s", "Predictable", "[expect]"};
    for (guint i = 0; i < G_N_ELEMENTS(heads); i++)
        g_string_append_printf(t, "<th scope=\"col\">%s</th>", heads[i]);
    g_string_append(t, "</tr></thead>\n<tbody>\n");
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *r = json_array_get_object_element(rows, i);
        g_autofree char *name = ps_html_escape(json_object_get_string_member(r, "allocator"));
        g_string_append_printf(t, "<tr><th scope=\"row\">%s</th>", name);
        double first = num(r, "first_failure_s");
        g_autofree char *c1 = isnan(first) ? g_strdup("none") : ps_report_when(first);
        g_autofree char *c2 = fmt(100 * num(r, "failure_ratio"), "%.3f%%");
        g_autofree char *c3 = fmt(num(r, "carried_per_s"), "%.2f");
        g_autofree char *c4 = fmt(num(r, "mean_probes_per_allocation"), "%.1f");
        g_autofree char *c5 = fmt(num(r, "p99_probes_per_allocation"), "%.0f");
        g_autofree char *c6 = fmt(num(r, "reuse_median_s"), "%.3f");
        g_autofree char *c7 = fmt(100 * num(r, "reuse_under_60s"), "%.1f%%");
        g_autofree char *c8 = fmt(100 * num(r, "predict_exact"), "%.1f%%");
        const char *c9 = json_object_has_member(r, "expect")
                             ? json_object_get_string_member(r, "expect")
                             : "-";
        const char *cells[] = {c1, c2, c3, c4, c5, c6, c7, c8, c9};
        for (guint c = 0; c < G_N_ELEMENTS(cells); c++)
            ps_html_cell(t, "td", cells[c]);
        g_string_append(t, "</tr>\n");
    }
    g_string_append(t, "</tbody>\n</table>");
    return g_string_free(t, FALSE);
}

static char *plots(const char *dir)
{
    static const struct {
        const char *file, *alt;
    } list[] = {
        {"failures-over-time.svg", "Failed attempts per second over time, one curve per "
                                   "allocator."},
        {"probes-vs-utilization.svg", "Mean probes per allocation against pool utilization, "
                                      "one curve per allocator: the cost of each strategy as "
                                      "the range fills."},
    };
    GString *html = g_string_new(NULL);
    for (guint i = 0; dir && i < G_N_ELEMENTS(list); i++) {
        g_autofree char *path = g_build_filename(dir, list[i].file, NULL);
        g_autofree char *svg = NULL;
        gsize len = 0;
        if (!g_file_get_contents(path, &svg, &len, NULL))
            continue;
        g_autofree char *fig = ps_html_figure(svg, len, list[i].alt);
        g_string_append(html, fig);
    }
    if (html->len == 0)
        g_string_append(html, "<p>No plot was rendered (run without --no-plots, with gnuplot "
                              "installed).</p>");
    return g_string_free(html, FALSE);
}

gboolean ps_report_write_compare(const char *path, const PsCompareReport *r, GError **error)
{
    JsonObject *root = json_node_get_object(r->compare);
    JsonArray *rows = json_object_get_array_member(root, "allocators");
    g_autofree char *base = g_path_get_basename(json_object_get_string_member(root, "scenario"));
    GHashTable *f = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_hash_table_insert(f, "title", ps_html_escape(base));
    g_hash_table_insert(f, "version", ps_html_escape(PORTSIM_VERSION));
    g_hash_table_insert(f, "style", ps_html_resource("style.css"));
    gboolean failing;
    g_autofree char *v = verdict(rows, &failing);
    g_hash_table_insert(f, "verdict", ps_html_escape(v));
    g_hash_table_insert(f, "verdict_class", g_strdup(failing ? "failing" : "healthy"));
    g_hash_table_insert(f, "allocator_table", table(rows));
    g_hash_table_insert(f, "plots", plots(r->plot_dir));
    g_hash_table_insert(f, "expect_first",
                        r->expect_broken ? ps_html_expect(r->expect_text, TRUE) : g_strdup(""));
    g_hash_table_insert(f, "expect_last",
                        r->expect_broken ? g_strdup("") : ps_html_expect(r->expect_text, FALSE));
    g_hash_table_insert(f, "command", ps_html_escape(r->command_line));
    return ps_html_write_page(path, "compare.html", f, error);
}
